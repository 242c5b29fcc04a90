"""The store and look up panel: a key/value form and the lookup drawn live.

:class:`LookupPanel` turns the key field into a key (40 hex digits, or the
text's SHA-1) and shows it as you type.  Store and Look up run through
``controller.run_lookup`` (so the window shows it is busy).  The panel
follows exactly the lookup its click started (:class:`~.call.LookupCall`):
only that lookup's requests fill the hops table and the plot
(:class:`~.results.LookupResults`, under the form).

The fields take any length (QLineEdit's default cap of 32,767 characters
is lifted): a value over MAX_VALUE_SIZE is refused with its size, and that
message goes away as soon as the value changes.  Problems (no network, bad
key, value too large, DHT errors) are shown inline, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from dht.events import LookupAnswered, LookupFinished, LookupQueried, LookupStarted

from ..common.export import Exporter, ExportResult, csv_writer, table_snapshot
from ..common.files import app_settings, save_dialog
from ..common.keys import KeyRegistry, default_registry, parse_key_text
from ..common.labels import WrappedLabel
from ..common.text import bytes_preview, format_size
from ..common.theme import set_state
from ..failures import describe_error
from .call import LookupCall
from .hops import HopsModel, StoreResultModel
from .results import LookupResults

log = logging.getLogger(__name__)
_KINDS = {"store": ("store_value",), "lookup": ("get_value",)}
#: QLineEdit's maximum length (its default, 32,767, would cut a paste silently).
NO_LIMIT = 2**31 - 1


class LookupPanel(QWidget):
    """Store a value or look one up, and watch the lookup converge."""

    def __init__(self, controller: Any, bridge: Any, parent: QWidget | None = None,
                 registry: KeyRegistry | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self.registry = registry if registry is not None else default_registry()
        self.hops = HopsModel(self)
        self.store_model = StoreResultModel(self)
        self._op: tuple[str, bytes, float] | None = None  # (kind, key, monotonic start)
        self._lookup_id: int | None = None
        self._message_about = ""  # the field the message is about: cleared when it changes
        self._running = False
        self._has_data = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last_values: list[bytes] = []
        self._build()
        bridge.batch.connect(self.on_batch)
        controller.joined_changed.connect(self._update_enabled)
        controller.node_changed.connect(self._update_enabled)
        self._update_key_preview(self.key_edit.text())
        self._update_enabled()

    def _buttons(self) -> list[QPushButton]:
        """The form's buttons: enabled only while joined and idle."""
        return [self.store_button, self.lookup_button]

    # -- construction -------------------------------------------------------------

    def _build(self) -> None:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.reason_label = QLabel()
        self.reason_label.setObjectName("notice")
        self.reason_label.setWordWrap(True)
        self.message_label = WrappedLabel()  # as tall as its text at the form's width
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form_widget = self._build_form(mono)
        self._build_results(mono)

    def _build_form(self, mono: Any) -> QWidget:
        """The Key and Value form (a subclass speaks another profile's form)."""
        self.key_edit = QLineEdit()
        self.key_edit.setMaxLength(NO_LIMIT)
        self.key_edit.setPlaceholderText("any text (hashed with SHA-1) or 40 hex digits")
        self.key_edit.textChanged.connect(self._update_key_preview)
        self.key_edit.returnPressed.connect(self._lookup_clicked)
        self.key_preview = QLabel()
        self.key_preview.setFont(mono)
        self.key_preview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.value_edit = QLineEdit()
        self.value_edit.setMaxLength(NO_LIMIT)
        self.value_edit.setPlaceholderText("the value to store (UTF-8 text)")
        self.value_edit.textChanged.connect(self._update_value_size)
        self.value_edit.returnPressed.connect(self._store_clicked)
        self.value_size = QLabel()
        set_state(self.value_size, "hint")
        self.store_button = QPushButton("Store")
        self.store_button.setToolTip("Store the value at the nodes closest to the key")
        self.store_button.clicked.connect(self._store_clicked)
        self.lookup_button = QPushButton("Look up")
        self.lookup_button.setToolTip("Find the values stored under the key")
        self.lookup_button.setDefault(True)
        self.lookup_button.clicked.connect(self._lookup_clicked)

        form = QFormLayout()
        form.addRow("Key", self.key_edit)
        form.addRow("", self.key_preview)
        value_row = QHBoxLayout()
        value_row.addWidget(self.value_edit, 1)
        value_row.addWidget(self.value_size)
        value_row.addWidget(self.store_button)
        value_row.addWidget(self.lookup_button)
        form.addRow("Value", value_row)
        form.addRow("", self.message_label)
        widget = QWidget()
        widget.setLayout(form)
        return widget

    def _build_results(self, mono: Any) -> None:
        """The lookup plot beside the Hops, Found and Stored at tabs, under the form."""
        self.results = LookupResults(self.hops, self.store_model, mono)
        self.results.export_button.clicked.connect(self.export_dialog)
        self.exporter = Exporter(self)
        self.exporter.finished.connect(self._exported)
        layout = QVBoxLayout(self)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.form_widget)
        layout.addWidget(self.results, 1)

    # -- public -------------------------------------------------------------------

    def has_data(self) -> bool:
        return self._has_data

    def focus_key(self) -> None:
        """Put the cursor in the Key field, its text selected (View ▸ Focus look-up, Ctrl+L)."""
        self.key_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.key_edit.selectAll()

    @property
    def lookup_id(self) -> int | None:
        """The id of the lookup the panel follows (None before its call started it)."""
        return self._lookup_id

    @property
    def running(self) -> bool:
        return self._running

    def disabled_reason(self) -> str:
        """Why the form is disabled ("" when it is enabled)."""
        if self._controller.node is None:
            if getattr(self._controller, "starting", False):
                return "Starting our node and the local lab\u2026"
            if getattr(self._controller, "suspended", False):
                return "Stopped while a capture is shown: File \u25b8 Close capture starts our node again."
            return "No node is running: start or join a network to store and look up values."
        if not self._controller.joined:
            return "Not joined to a network yet: join one to store and look up values."
        return ""

    async def store_from_form(self, key_text: str, value_text: str) -> Any | None:
        """Fill the form and store, as the Store button does; the StoreResult or None."""
        self.key_edit.setText(key_text)
        self.value_edit.setText(value_text)
        return await self._run_store()

    async def lookup_from_form(self, key_text: str) -> list[bytes]:
        """Fill the key field and look up, as the Look up button does; the values found."""
        self.key_edit.setText(key_text)
        return await self._run_lookup()

    def on_batch(self, events: list[Any]) -> None:
        """Follow our lookup's events (one hops update and one plot update per batch)."""
        lookup_id = self._lookup_id
        if self._op is None or lookup_id is None:
            return
        mine: list[Any] = []
        finished: LookupFinished | None = None
        for ev in events:
            t = type(ev)
            if t is LookupStarted:
                if ev.lookup == lookup_id:
                    self.hops.start(ev.time)
            elif (t is LookupQueried or t is LookupAnswered) and ev.lookup == lookup_id:
                mine.append(ev)
            elif t is LookupFinished and ev.lookup == lookup_id:
                finished = ev
        if mine:
            self.hops.add_events(mine)
            self.results.plot.set_points(self.hops.points())
            if self.results.plot.point_count():
                self._has_data = True
        if finished is not None:
            self.hops.finish()
            self.results.plot.set_points(self.hops.points())
            verb = {"store_value": "store", "get_value": "get", "get_peers": "get peers",
                    "announce_peer": "announce"}.get(finished.kind, finished.kind)
            self.results.plot.set_caption(f"{verb} {finished.target.hex()[:8]}\u2026: "
                                  f"{finished.queried} asked, {finished.elapsed:.2f} s")

    # -- running --------------------------------------------------------------------

    def _check(self, need_value: bool) -> tuple[Any, bytes, bytes] | None:
        """The node, key and value to use, or None after showing what is wrong."""
        reason = self.disabled_reason()
        if reason:
            self._say(reason, error=True)
            return None
        parsed = parse_key_text(self.key_edit.text())
        if parsed.key is None:
            self._say(parsed.message, error=True, about="key")
            return None
        node = self._controller.node
        value = self.value_edit.text().encode("utf-8")
        if need_value:
            limit = int(node.config.MAX_VALUE_SIZE)
            if not value:
                self._say("Type a value to store.", error=True, about="value")
                return None
            if len(value) > limit:
                self._say(f"The value is {len(value):,} bytes; the limit is {limit:,} "
                          f"bytes (MAX_VALUE_SIZE).", error=True, about="value")
                return None
        if self._running:
            self._say("A store or look-up is already running.", error=True)
            return None
        self.registry.remember_text(parsed.key, self.key_edit.text())
        return node, parsed.key, value

    def _begin(self, kind: str, key: bytes, kinds: tuple[str, ...] | None = None,
               doing: str | None = None) -> LookupCall:
        """Clear the plot and hops for a new call; ``kinds``: its LookupStarted kinds."""
        self._op = (kind, key, time.monotonic())
        self._lookup_id = None
        self.hops.start(time.monotonic())
        self.hops.self_id = self._controller.node.id
        doing = doing or ("storing" if kind == "store" else "looking up")
        self.results.plot.clear_points(f"{doing} {key.hex()[:8]}\u2026")
        self._set_running(True)
        self._say(f"{doing[0].upper()}{doing[1:]}\u2026")
        return LookupCall(self._controller.node, kinds or _KINDS[kind], key, self._follow)

    def _follow(self, lookup_id: int) -> None:
        self._lookup_id = lookup_id

    async def _run_store(self) -> Any | None:
        checked = self._check(need_value=True)
        if checked is None:
            return None
        node, key, value = checked
        call = self._begin("store", key)
        self.store_model.set_result(None)
        try:
            result = await call.run(lambda: self._controller.run_lookup(node.store_value(key, value)))
        except Exception as exc:
            self._say(f"Store failed: {describe_error(exc)}", error=True)
            return None
        finally:
            self._set_running(False)
        self.store_model.set_result(result)
        accepted, refused = self.store_model.counts()
        if accepted:
            self.registry.mark_published(key, value)
        self._has_data = True
        self.results.tabs.setCurrentWidget(self.results.store_view)
        text = f"Stored at {accepted} node{'s' if accepted != 1 else ''}"
        text += f"; {refused} refused." if refused else "."
        self._say(text, error=accepted == 0)
        self.results.summary_label.setText("The plot shows the find_node lookup for the closest nodes and the stores.")
        self.results.summary_label.show()
        return result

    async def _run_lookup(self) -> list[bytes]:
        checked = self._check(need_value=False)
        if checked is None:
            return []
        node, key, _value = checked
        call = self._begin("lookup", key)
        self.results.values_list.clear()
        try:
            values = await call.run(lambda: self._controller.run_lookup(node.get_value(key)))
        except Exception as exc:
            self._say(f"Look-up failed: {describe_error(exc)}", error=True)
            return []
        finally:
            self._set_running(False)
        values = list(values or [])
        self.last_values = values
        for value in values:
            self.results.values_list.addItem(f"{bytes_preview(value, 120)}   ({format_size(len(value))})")
        if not values:
            self.results.values_list.addItem("(no value found)")
        self._has_data = True
        self.results.tabs.setCurrentWidget(self.results.values_list)
        text = f"Found {len(values)} value{'s' if len(values) != 1 else ''}."
        self._say(text, state="ok" if values else "warn")  # nothing found is no success
        self.results.summary_label.hide()
        return values

    def export_hops(self, path: str) -> bool:
        """Write the hops table (as shown) to ``path`` as CSV, off the GUI thread; False if refused at once."""
        header, rows = table_snapshot(self.hops)
        return self.exporter.export(path, "hops", csv_writer(header, rows))

    def export_dialog(self) -> None:
        self.file_dialog = save_dialog(self, app_settings(), "export", "Export the look-up's hops", "hops.csv",
                                       "CSV files (*.csv);;All files (*)", "csv", self.export_hops)

    def _exported(self, result: ExportResult) -> None:
        self._say(result.message, error=not result.ok)

    def _set_running(self, running: bool) -> None:
        self._running = running
        self._update_enabled()

    # -- slots ------------------------------------------------------------------------

    def _store_clicked(self) -> None:
        self._spawn(self._run_store())

    def _lookup_clicked(self) -> None:
        self._spawn(self._run_lookup())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _update_enabled(self, *args: Any) -> None:
        reason = self.disabled_reason()
        self.reason_label.setText(reason)
        self.reason_label.setVisible(bool(reason))
        self.form_widget.setEnabled(not reason)
        for button in self._buttons():
            button.setEnabled(not reason and not self._running)

    def _update_key_preview(self, text: str) -> None:
        parsed = parse_key_text(text)
        self.key_preview.setText(parsed.message)
        set_state(self.key_preview, "hint" if parsed.ok or not text else "error")
        self._clear_about("key")

    def _update_value_size(self, text: str) -> None:
        size = len(text.encode("utf-8"))
        node = self._controller.node
        limit = int(node.config.MAX_VALUE_SIZE) if node is not None else None
        self.value_size.setText(f"{size:,} / {limit:,} bytes" if limit else f"{size:,} bytes")
        too_big = limit is not None and size > limit
        set_state(self.value_size, "error" if too_big else "hint")
        self._clear_about("value")

    def _say(self, text: str, error: bool = False, about: str = "", state: str = "") -> None:
        """Show ``text`` under the form; ``about`` (key or value): cleared when that field changes;
        ``state``: its colour (ok, warn, error or hint), else error or ok as ``error`` says."""
        self._message_about = about
        self.message_label.setText(text)
        set_state(self.message_label, state or ("error" if error else "ok"))

    def message_state(self) -> str:
        """The colour the message is shown in: ok, warn, error or hint."""
        return str(self.message_label.property("state") or "")

    def _clear_about(self, field: str) -> None:
        if self._message_about == field:
            self._say("")

    def message(self) -> str:
        """The inline message shown under the form (for tests and the self-test)."""
        return self.message_label.text()

