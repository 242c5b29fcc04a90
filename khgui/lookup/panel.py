"""The store and look up panel: a key/value form and the lookup drawn live.

:class:`LookupPanel` turns the key field into a key (40 hex digits, or the
text's SHA-1) and shows it as you type.  Store and Look up run through
``controller.run_lookup`` (so the window shows it is busy).  The panel
follows exactly the lookup its click started: :class:`LookupCall` listens
to the node while the call's first step runs -- the node emits the call's
``LookupStarted`` synchronously there -- and keeps that event's lookup id;
lookup ids are unique in the process (``Node.next_lookup_id``), so no
other lookup, before or after a Leave/Join, is mixed in.  Only that id's
requests fill the hops table and the plot.

The fields take any length (QLineEdit's default cap of 32,767 characters
is lifted): a value over MAX_VALUE_SIZE is refused with its size, and that
message goes away as soon as the value changes.  Problems (no network, bad
key, value too large, DHT errors) are shown inline, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView, QFormLayout, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
    QPushButton, QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget,
)

from dht.events import LookupAnswered, LookupFinished, LookupQueried, LookupStarted

from ..common.keys import KeyRegistry, default_registry, parse_key_text
from ..common.text import bytes_preview, format_size
from ..common.theme import set_state
from ..failures import describe_error
from .hops import HopsModel, LookupPlotView, StoreResultModel

log = logging.getLogger(__name__)
_KINDS = {"store": ("store_value",), "lookup": ("get_value",)}
#: QLineEdit's maximum length (its default, 32,767, would cut a paste silently).
NO_LIMIT = 2**31 - 1


class LookupCall:
    """Runs one node call and learns the id of the lookup it starts.

    ``node.get_value`` and ``node.store_value`` emit their ``LookupStarted``
    in the call's first, synchronous step; :meth:`run` listens to the node
    only until it has seen a ``LookupStarted`` of ``kinds`` for ``target`` (any
target when None: a call whose target it computes itself),
    so :attr:`lookup_id` is set before the bridge delivers any of that
    lookup's events.
    """

    def __init__(self, node: Any, kinds: tuple[str, ...], target: bytes | None,
                 on_id: Callable[[int], None] | None = None) -> None:
        self.node = node
        self.kinds = kinds
        self.target = target
        self.lookup_id: int | None = None
        self._on_id = on_id
        self._unsubscribe: Callable[[], None] | None = None

    def _catch(self, event: Any) -> None:
        if (self.lookup_id is None and type(event) is LookupStarted and event.kind in self.kinds
                and (self.target is None or event.target == self.target)):
            self.lookup_id = event.lookup
            self._stop()
            if self._on_id is not None:
                self._on_id(event.lookup)

    def _stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def run(self, start: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``start()`` (e.g. ``lambda: node.get_value(key)``), listening for its id."""
        self._unsubscribe = self.node.subscribe(self._catch)
        try:
            return await start()
        finally:
            self._stop()


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
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
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
        """The lookup plot beside the Hops, Found and Stored at tabs."""
        self.plot = LookupPlotView()
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.hide()
        self.values_list = QListWidget()
        self.values_list.setFont(mono)
        self.hops_view = self._table(self.hops, (190, 64, 76, 72, 64))
        self.store_view = self._table(self.store_model, (190, 76))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.hops_view, "Hops")
        self.tabs.addTab(self.values_list, "Found")
        self.tabs.addTab(self.store_view, "Stored at")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.summary_label)
        right_layout.addWidget(self.tabs, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])

        layout = QVBoxLayout(self)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.form_widget)
        layout.addWidget(splitter, 1)

    @staticmethod
    def _table(model: Any, widths: tuple[int, ...]) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.verticalHeader().setVisible(False)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        view.horizontalHeader().setStretchLastSection(True)
        header = view.horizontalHeader()
        for col, width in enumerate(widths):  # never narrower than its header's text
            view.setColumnWidth(col, max(width, header.sectionSizeFromContents(col).width()))
        return view

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
            self.plot.set_points(self.hops.points())
            if self.plot.point_count():
                self._has_data = True
        if finished is not None:
            self.hops.finish()
            self.plot.set_points(self.hops.points())
            verb = {"store_value": "store", "get_value": "get", "get_peers": "get peers",
                    "announce_peer": "announce"}.get(finished.kind, finished.kind)
            self.plot.set_caption(f"{verb} {finished.target.hex()[:8]}\u2026: "
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
        self.plot.clear_points(f"{doing} {key.hex()[:8]}\u2026")
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
        self.tabs.setCurrentWidget(self.store_view)
        text = f"Stored at {accepted} node{'s' if accepted != 1 else ''}"
        text += f"; {refused} refused." if refused else "."
        self._say(text, error=accepted == 0)
        self.summary_label.setText("The plot shows the find_node lookup for the closest nodes and the stores.")
        self.summary_label.show()
        return result

    async def _run_lookup(self) -> list[bytes]:
        checked = self._check(need_value=False)
        if checked is None:
            return []
        node, key, _value = checked
        call = self._begin("lookup", key)
        self.values_list.clear()
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
            self.values_list.addItem(f"{bytes_preview(value, 120)}   ({format_size(len(value))})")
        if not values:
            self.values_list.addItem("(no value found)")
        self._has_data = True
        self.tabs.setCurrentWidget(self.values_list)
        text = f"Found {len(values)} value{'s' if len(values) != 1 else ''}."
        self._say(text, error=False)
        self.summary_label.hide()
        return values

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

    def _say(self, text: str, error: bool = False, about: str = "") -> None:
        """Show ``text`` under the form; ``about`` (key or value): cleared when that field changes."""
        self._message_about = about
        self.message_label.setText(text)
        set_state(self.message_label, "error" if error else "ok")

    def _clear_about(self, field: str) -> None:
        if self._message_about == field:
            self._say("")

    def message(self) -> str:
        """The inline message shown under the form (for tests and the self-test)."""
        return self.message_label.text()

