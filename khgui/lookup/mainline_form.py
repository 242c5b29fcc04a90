"""The Mainline look-up form: the Torrent and Item rows, and the hints they show as you type.

:class:`MainlineForm` builds the fields and buttons of
:class:`~khgui.lookup.mainline.MainlineLookupPanel` and lays them out:

* Torrent: the info-hash (40 hex digits or a magnet link, read back under
  the field as you type), the port to announce (0: implied), Get peers and
  Announce.
* Item (BEP 44): the value (its size bencoded against the 1000-byte limit
  beside it), Put item and Get item; Immutable or Mutable, the salt and the
  target; for a mutable item, the public key to get by (empty: ours) and
  where our key pair is (:meth:`MainlineForm.update_mutable`).

It shows and says nothing else: what the buttons and Enter do, and the
message under the form (the panel's label, placed here), are the panel's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtWidgets import (
    QButtonGroup, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton, QSpinBox, QWidget,
)

from ..common.bittorrent import MAX_ITEM_BYTES, bencoded_text_size, parse_info_hash
from ..common.labels import ElidedLabel, fit_placeholder, fit_width
from ..common.theme import set_state
from .panel import NO_LIMIT


class MainlineForm(QWidget):
    """The Torrent and Item rows; ``message_label`` goes under them; ``key_file``: where our key pair is."""

    def __init__(self, mono: Any, message_label: QLabel, key_file: Callable[[], Path | None]) -> None:
        super().__init__()
        self._key_file = key_file
        self.hash_edit = QLineEdit()
        self.hash_edit.setMaxLength(NO_LIMIT)
        self.hash_edit.setPlaceholderText("info-hash or magnet link")
        self.hash_edit.textChanged.connect(self.update_hash_preview)
        self.hash_preview = ElidedLabel()
        self.hash_preview.setFont(mono)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(0, 0xFFFF)
        self.port_spin.setSpecialValueText("implied")
        self.port_spin.setToolTip("The port to announce; implied: the port our node sends from (BEP 5)")
        self.get_peers_button = QPushButton("Get peers")
        self.get_peers_button.setToolTip("Find the peers announced for this info-hash, with a BEP 33 scrape")
        self.get_peers_button.setDefault(True)
        self.announce_button = QPushButton("Announce")
        self.announce_button.setToolTip("Announce that we are a peer of this info-hash to the closest nodes")

        self.item_edit = QLineEdit()
        self.item_edit.setMaxLength(NO_LIMIT)
        self.item_edit.setPlaceholderText("the item's value (UTF-8 text)")
        self.item_edit.setToolTip("The item's value: UTF-8 text, at most 1000 bytes bencoded (BEP 44)")
        self.item_edit.textChanged.connect(self.update_item_size)
        self.item_size = QLabel()
        set_state(self.item_size, "hint")
        self.immutable_radio = QRadioButton("Immutable")
        self.immutable_radio.setToolTip("Immutable: the target is SHA-1 of the bencoded value")
        self.mutable_radio = QRadioButton("Mutable")
        self.immutable_radio.setChecked(True)
        self.mutability = QButtonGroup(self)
        self.mutability.addButton(self.immutable_radio)
        self.mutability.addButton(self.mutable_radio)
        self.mutable_radio.toggled.connect(self.update_mutable)
        self.salt_edit = QLineEdit()
        self.salt_edit.setMaxLength(NO_LIMIT)
        self.salt_edit.setPlaceholderText("salt (optional)")
        self.salt_edit.setToolTip("A mutable item's salt (at most 64 bytes): one key pair, many items")
        self.target_edit = QLineEdit()
        self.target_edit.setFont(mono)
        self.target_edit.setMaxLength(NO_LIMIT)
        self.target_edit.setPlaceholderText("target (40 hex digits)")
        self.target_edit.setToolTip("The item's target, 40 hex digits: a Put fills it in; for a mutable item, "
                                    "made from the public key and the salt")
        self.pubkey_edit = QLineEdit()
        self.pubkey_edit.setFont(mono)
        self.pubkey_edit.setMaxLength(NO_LIMIT)
        self.pubkey_edit.setPlaceholderText("public key (empty: ours)")
        self.pubkey_edit.setToolTip("Get a mutable item signed by this public key (BEP 44); "
                                    "empty: our own key pair's. A Put always signs with ours.")
        self.key_label = ElidedLabel()
        set_state(self.key_label, "hint")
        self.put_button = QPushButton("Put item")
        self.put_button.setToolTip("Store the item at the nodes closest to its target (BEP 44)")
        self.get_button = QPushButton("Get item")
        self.get_button.setToolTip("Find the item under the target (mutable: our key and the salt)")

        for edit in (self.hash_edit, self.item_edit, self.salt_edit, self.target_edit, self.pubkey_edit):
            fit_placeholder(edit)  # never cut ("salt (optional, at …")
        form = QFormLayout()
        form.setVerticalSpacing(4)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        hash_row = QHBoxLayout()
        hash_row.setSpacing(6)
        hash_row.addWidget(self.hash_edit, 1)
        hash_row.addWidget(QLabel("port"))
        hash_row.addWidget(self.port_spin)
        hash_row.addWidget(self.get_peers_button)
        hash_row.addWidget(self.announce_button)
        form.addRow("Torrent", hash_row)
        form.addRow("", self.hash_preview)
        item_row = QHBoxLayout()
        item_row.setSpacing(6)
        item_row.addWidget(self.item_edit, 1)
        item_row.addWidget(self.item_size)
        item_row.addWidget(self.put_button)
        item_row.addWidget(self.get_button)
        form.addRow("Item", item_row)
        kind_row = QHBoxLayout()
        kind_row.setSpacing(6)
        kind_row.addWidget(self.immutable_radio)
        kind_row.addWidget(self.mutable_radio)
        kind_row.addWidget(self.salt_edit, 1)
        kind_row.addWidget(self.target_edit, 2)
        form.addRow("", kind_row)
        key_row = QHBoxLayout()
        key_row.setSpacing(6)
        key_row.addWidget(self.pubkey_edit, 2)
        key_row.addWidget(self.key_label, 3)
        self.key_row = QWidget()
        self.key_row.setLayout(key_row)
        key_row.setContentsMargins(0, 0, 0, 0)
        form.addRow("", self.key_row)
        fit_width(message_label)
        form.addRow("", message_label)
        self.setLayout(form)
        self.update_hash_preview("")
        self.update_item_size("")
        self.update_mutable()

    def update_hash_preview(self, text: str) -> None:
        parsed = parse_info_hash(text)
        if not text.strip():  # nothing typed yet: what to type, not an error
            self.hash_preview.setText("40 hex digits, or a magnet link (magnet:?xt=urn:btih:...)")
        else:
            self.hash_preview.setText(parsed.message)
        set_state(self.hash_preview, "hint" if parsed.ok or not text.strip() else "error")

    def update_item_size(self, text: str) -> None:
        size = bencoded_text_size(text)
        # BEP 44 limits the bencoded value ("5:hello" for "hello"); an empty field is no value yet.
        self.item_size.setText(f"{size:,} / {MAX_ITEM_BYTES:,} bytes" if text else "empty")
        self.item_size.setToolTip(f"The value's size bencoded: BEP 44 allows {MAX_ITEM_BYTES:,} bytes")
        set_state(self.item_size, "error" if size > MAX_ITEM_BYTES else "hint")

    def update_mutable(self, *args: Any) -> None:
        """Show what a mutable item needs (the salt, the key row), or an immutable one's target field."""
        mutable = self.mutable_radio.isChecked()
        self.salt_edit.setEnabled(mutable)
        self.target_edit.setReadOnly(mutable)
        path = self._key_file()
        self.key_row.setVisible(mutable)  # immutable: nothing to say, the plot gets the room
        if not mutable:
            self.key_label.setText("")
        elif path is None:
            self.key_label.setText("ours: the key pair in the data directory")
        elif path.exists():
            self.key_label.setText(f"ours: the key pair in {path}")
        else:
            self.key_label.setText(f"ours: the first Put creates a key pair in {path}")
