"""The look-up panel for the Mainline DHT: peers of a torrent and BEP 44 items.

:class:`MainlineLookupPanel` keeps :class:`~khgui.lookup.panel.LookupPanel`'s
plot, hops table and the way it follows exactly the lookup its click
started (:class:`~khgui.lookup.call.LookupCall`, matched on the
``LookupStarted`` kinds get_peers, announce_peer, get and put), and puts a
Mainline form in front of them (:class:`~khgui.lookup.mainline_form.MainlineForm`):

* Info-hash (40 hex digits or a magnet link): Get peers (with a BEP 33
  scrape, so the results show seed and peer estimates) and Announce (on a
  port, 0 meaning the port we send from).
* Item (BEP 44): a value, immutable or mutable; a mutable item is signed by
  the key pair in the data directory (created by the first Put) under a
  salt, and the seq it went out with, or was found with, is shown.  Get
  item reads the target field (an immutable item's target, filled in by its
  Put) or, for a mutable item, derives it from the public key (the Key
  field: 64 hex digits, as the CLI's ``get-item --key``; empty: ours) and
  the salt.

Enter runs the row's action, as on the Khashmir form: Get peers in the
Torrent field, Put item in the Item field (as Store in the Value field),
Get item in the target, salt and key fields.  The Peers / item tab shows
the last action's result only (a Put or an Announce replace what a Get
found).

Every bad input (a malformed info-hash or magnet link, a value over 1000
bytes, a salt over 64 bytes, a missing or unreadable key file) is a message
under the form saying what to do; DHT errors too.  Nothing is raised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

from dht import immutable_item_target, mutable_target, public_key_bytes

from ..common.bittorrent import KEY_FILE_NAME, KeyFileError, check_salt, check_value, mutable_key, parse_info_hash
from ..common.text import bytes_preview
from ..failures import describe_error
from .mainline_form import MainlineForm
from .panel import LookupPanel


def _value_text(value: Any) -> str:
    if isinstance(value, bytes):
        return bytes_preview(value, 200)
    return repr(value)[:200]


class MainlineLookupPanel(LookupPanel):
    """Get peers, announce, put and get BEP 44 items, and watch each lookup converge."""

    # -- construction -------------------------------------------------------------

    def _build_form(self, mono: Any) -> QWidget:
        self.form = form = MainlineForm(mono, self.message_label, self.key_file)
        form.hash_edit.textChanged.connect(lambda _t: self._clear_about("hash"))
        form.hash_edit.returnPressed.connect(self._get_peers_clicked)
        form.get_peers_button.clicked.connect(self._get_peers_clicked)
        form.announce_button.clicked.connect(self._announce_clicked)
        form.item_edit.textChanged.connect(lambda _t: self._clear_about("item"))
        form.item_edit.returnPressed.connect(self._put_clicked)
        form.mutable_radio.toggled.connect(lambda _on: self._clear_about("key"))
        for edit, about in ((form.salt_edit, "salt"), (form.target_edit, "target"), (form.pubkey_edit, "key")):
            edit.textChanged.connect(lambda _t, about=about: self._clear_about(about))
            edit.returnPressed.connect(self._get_clicked)
        form.put_button.clicked.connect(self._put_clicked)
        form.get_button.clicked.connect(self._get_clicked)
        # The Khashmir fields stay (hidden) so the base class's helpers keep working.
        self.key_edit = QLineEdit()
        self.value_edit = QLineEdit()
        self.key_preview = QLabel()
        self.value_size = QLabel()
        self.store_button = form.put_button
        self.lookup_button = form.get_peers_button
        return form

    def _build_results(self, mono: Any) -> None:
        super()._build_results(mono)
        self.results.tabs.setTabText(self.results.tabs.indexOf(self.results.values_list), "Peers / item")

    def _buttons(self) -> list[QPushButton]:
        return [self.form.get_peers_button, self.form.announce_button, self.form.put_button, self.form.get_button]

    # -- public ---------------------------------------------------------------------

    def key_file(self) -> Path | None:
        """The key pair of mutable items: in our node's data directory."""
        node = self._controller.node
        return Path(node.data_dir) / KEY_FILE_NAME if node is not None else None

    def focus_key(self) -> None:
        self.form.hash_edit.setFocus()
        self.form.hash_edit.selectAll()

    def disabled_reason(self) -> str:
        if self._controller.node is None:
            if getattr(self._controller, "starting", False):
                return "Starting our node and the local lab\u2026"
            if getattr(self._controller, "suspended", False):
                return "Stopped while a capture is shown: File \u25b8 Close capture starts our node again."
            return "No node is running: start or join a network to find peers and items."
        if not self._controller.joined:
            return "Not joined to a network yet: join one to find peers and items."
        return ""

    async def get_peers_from_form(self, text: str) -> Any | None:
        """Fill the info-hash field and Get peers, as the button does; the PeersFound or None."""
        self.form.hash_edit.setText(text)
        return await self._run_get_peers()

    async def announce_from_form(self, text: str, port: int = 0) -> int | None:
        """Fill the info-hash and port and Announce; how many nodes accepted, or None."""
        self.form.hash_edit.setText(text)
        self.form.port_spin.setValue(port)
        return await self._run_announce()

    async def put_from_form(self, value: str, mutable: bool = False, salt: str = "") -> Any | None:
        """Fill the item fields and Put; the target (immutable) or the MutablePut, or None."""
        self.form.item_edit.setText(value)
        (self.form.mutable_radio if mutable else self.form.immutable_radio).setChecked(True)
        self.form.salt_edit.setText(salt)
        return await self._run_put()

    async def get_from_form(self, target_hex: str = "", mutable: bool = False, salt: str = "",
                            public_key_hex: str = "") -> Any | None:
        """Fill the target (immutable) or salt and key (mutable; "": ours) and Get item; the FoundItem or None."""
        (self.form.mutable_radio if mutable else self.form.immutable_radio).setChecked(True)
        if not mutable:
            self.form.target_edit.setText(target_hex)
        self.form.salt_edit.setText(salt)
        self.form.pubkey_edit.setText(public_key_hex)
        return await self._run_get()

    # -- checks -----------------------------------------------------------------------

    def _ready(self) -> Any | None:
        reason = self.disabled_reason()
        if reason:
            self._say(reason, error=True)
            return None
        if self._running:
            self._say("A look-up is already running.", error=True)
            return None
        return self._controller.node

    def _info_hash(self) -> bytes | None:
        parsed = parse_info_hash(self.form.hash_edit.text())
        if parsed.info_hash is None:
            self._say(parsed.message, error=True, about="hash")
        return parsed.info_hash

    def _public_key(self) -> bytes | None:
        """The Key field's public key (None if empty or after saying what is wrong with it)."""
        text = self.form.pubkey_edit.text().strip()
        if not text:
            return None
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != 32:
            self._say("Type the item's public key as 64 hex digits, or leave the Key field empty "
                      "for our own key.", error=True, about="key")
            return None
        return key

    def _salt(self) -> bytes | None:
        problem = check_salt(self.form.salt_edit.text())
        if problem:
            self._say(problem, error=True, about="salt")
            return None
        return self.form.salt_edit.text().encode("utf-8")

    # -- running ----------------------------------------------------------------------

    async def _run_get_peers(self) -> Any | None:
        node = self._ready()
        info_hash = self._info_hash() if node is not None else None
        if node is None or info_hash is None:
            return None
        call = self._begin("get_peers", info_hash, ("get_peers",), "getting peers of")
        self.results.values_list.clear()
        try:
            found = await call.run(lambda: self._controller.run_lookup(node.get_peers(info_hash, scrape=True)))
        except Exception as exc:
            self._say(f"Get peers failed: {describe_error(exc)}", error=True)
            return None
        finally:
            self._set_running(False)
        for host, port in found.peers:
            self.results.values_list.addItem(f"{host}:{port}")
        if not found.peers:
            self.results.values_list.addItem("(no peer announced)")
        self._has_data = True
        self.results.tabs.setCurrentWidget(self.results.values_list)
        scrape = ""
        if found.seeds is not None or found.leechers is not None:
            scrape = f"; scrape: \u2248{found.seeds or 0:.0f} seeds, \u2248{found.leechers or 0:.0f} peers"
        n = len(found.peers)
        self._say(f"Found {n} peer{'s' if n != 1 else ''} from {found.queried} nodes{scrape}.")
        self.results.summary_label.hide()
        return found

    async def _run_announce(self) -> int | None:
        node = self._ready()
        info_hash = self._info_hash() if node is not None else None
        if node is None or info_hash is None:
            return None
        port = self.form.port_spin.value()
        call = self._begin("announce", info_hash, ("announce_peer",), "announcing")
        self.results.values_list.clear()  # the tab shows this action's result, not an earlier Get's
        try:
            accepted = await call.run(lambda: self._controller.run_lookup(node.announce_peer(info_hash, port)))
        except Exception as exc:
            self._say(f"Announce failed: {describe_error(exc)}", error=True)
            return None
        finally:
            self._set_running(False)
        self._has_data = True
        where = f"port {port}" if port else f"our port {node.address[1]} (implied)"
        said = f"Announced on {where} to {accepted} node{'s' if accepted != 1 else ''}."
        self.results.values_list.addItem(f"announced {info_hash.hex()} on {where} to {accepted} nodes")
        self._say(said, error=accepted == 0)
        self.results.summary_label.setText("The plot shows the get_peers lookup for tokens, then the announces.")
        self.results.summary_label.show()
        return int(accepted)

    def _key(self, create: bool) -> Any | None:
        """Our key pair, or None after saying what to do; ``create``: none yet is fine (Put makes it)."""
        path = self.key_file()
        if path is None:
            return None
        if create and not path.exists():
            return path  # put_mutable creates it (mode 0600)
        try:
            return mutable_key(path)
        except KeyFileError as exc:
            self._say(str(exc), error=True, about="key")
            return None

    async def _run_put(self) -> Any | None:
        node = self._ready()
        if node is None:
            return None
        text = self.form.item_edit.text()
        problem = check_value(text)
        if problem:
            self._say(problem, error=True, about="item")
            return None
        mutable = self.form.mutable_radio.isChecked()
        if mutable and self.form.pubkey_edit.text().strip():
            self._say("A Put signs with our own key pair: empty the Key field to put a mutable item.",
                      error=True, about="key")
            return None
        salt = self._salt() if mutable else b""
        key = self._key(create=True) if mutable and salt is not None else None
        if mutable and (salt is None or key is None):
            return None
        value = text.encode("utf-8")
        target: bytes | None
        if mutable:  # a key file the Put will create: its target is known only then
            target = (None if isinstance(key, Path) or key is None or salt is None  # None: refused above
                      else mutable_target(public_key_bytes(key), salt))
        else:
            target = immutable_item_target(value)
        call = self._begin("put", target or b"", ("put",), "putting")
        call.target = target
        self.results.values_list.clear()  # the tab shows this action's result, not an earlier Get's
        try:
            if mutable:
                result = await call.run(lambda: self._controller.run_lookup(node.put_mutable(key, value, salt)))
            else:
                result = await call.run(lambda: self._controller.run_lookup(node.put_immutable(value)))
        except Exception as exc:
            self._say(f"Put failed: {describe_error(exc)}", error=True)
            return None
        finally:
            self._set_running(False)
        self._has_data = True
        if mutable:
            self.form.target_edit.setText(result.target.hex())
            self.results.values_list.addItem(f"put mutable item {result.target.hex()}, seq {result.seq}, "
                                     f"at {result.stored} nodes")
            self._say(f"Put mutable item {result.target.hex()[:12]}\u2026 seq {result.seq} at {result.stored} "
                      f"node{'s' if result.stored != 1 else ''}.")
            self.form.update_mutable()
        else:
            self.form.target_edit.setText(result.hex())
            self.results.values_list.addItem(f"put immutable item {result.hex()}")
            self._say(f"Put immutable item {result.hex()[:12]}\u2026: Get item finds it by this target.")
        self.results.summary_label.setText("The plot shows the get lookup for tokens, then the puts.")
        self.results.summary_label.show()
        return result

    async def _run_get(self) -> Any | None:
        node = self._ready()
        if node is None:
            return None
        mutable = self.form.mutable_radio.isChecked()
        public_key: bytes | None = None
        salt = b""
        if mutable:
            salt_or_none = self._salt()
            if salt_or_none is None:
                return None
            salt = salt_or_none
            if self.form.pubkey_edit.text().strip():  # someone else's item
                public_key = self._public_key()
                if public_key is None:
                    return None
            else:
                key = self._key(create=False)
                if key is None:
                    return None
                public_key = public_key_bytes(key)
            target = mutable_target(public_key, salt)
            self.form.target_edit.setText(target.hex())
        else:
            text = self.form.target_edit.text().strip()
            try:
                target = bytes.fromhex(text)
            except ValueError:
                target = b""
            if len(target) != 20:
                self._say("Type the item's target, 40 hex digits (Put item fills it in).", error=True,
                          about="target")
                return None
        call = self._begin("get", target, ("get",), "getting item")
        self.results.values_list.clear()
        try:
            item = await call.run(lambda: self._controller.run_lookup(node.get_item(target, public_key, salt)))
        except Exception as exc:
            self._say(f"Get item failed: {describe_error(exc)}", error=True)
            return None
        finally:
            self._set_running(False)
        self._has_data = True
        self.results.tabs.setCurrentWidget(self.results.values_list)
        self.results.summary_label.hide()
        if item is None:
            self.results.values_list.addItem("(no node holds this item)")
            self._say(f"No node holds item {target.hex()[:12]}\u2026.", error=True)
            return None
        try:
            value = item.value
        except Exception:  # a value that does not decode: show its bytes
            value = item.v
        self.results.values_list.addItem(_value_text(value))
        if item.mutable:
            self.results.values_list.addItem(f"seq {item.seq}, key {item.public_key.hex()[:16]}\u2026, "
                                     f"salt {bytes_preview(item.salt, 40) if item.salt else '(none)'}")
            self._say(f"Found mutable item {target.hex()[:12]}\u2026 at seq {item.seq}.")
        else:
            self._say(f"Found immutable item {target.hex()[:12]}\u2026 ({len(item.v)} bytes bencoded).")
        return item

    # -- slots ------------------------------------------------------------------------

    def _get_peers_clicked(self) -> None:
        self._spawn(self._run_get_peers())

    def _announce_clicked(self) -> None:
        self._spawn(self._run_announce())

    def _put_clicked(self) -> None:
        self._spawn(self._run_put())

    def _get_clicked(self) -> None:
        self._spawn(self._run_get())

    def _update_key_preview(self, text: str) -> None:
        pass  # no Khashmir key field here

    def _update_value_size(self, text: str) -> None:
        pass
