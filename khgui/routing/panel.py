"""The routing-table panel: trie of buckets, selected bucket's contacts, history.

:class:`RoutingPanel` is driven by the events the :class:`~khgui.bridge.EventBridge`
batches: it reads ``node.routing_table()`` (and ``node.stats()`` for the
network-size estimate, which the node derives from that table) when it is
attached to a node, and once for a batch that holds routing events (contacts
added, refreshed, failed, replaced or removed, buckets split or merged);
never per event, and never when nothing happened.  The events alone cannot
redraw the table: they carry no RTT, client or BEP 42 verdict, so one
snapshot per such batch stands for them all.  Splits and merges flash in the
trie and are plotted over time.

A timer ticks once a second without reading the node: the clocks move (the
buckets' Age, the contacts' Last seen, the history plot's time axis).  It
reads only the view of a lab node in focus, when the controller took a new
one of it (that view is taken on the lab's thread; no event says it
changed).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView, QButtonGroup, QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea, QSplitter, QTableView, QVBoxLayout, QWidget,
)

from dht import BEP42, CLIENT_VERSION
from dht import events as ev

from ..bridge import EventBridge
from ..controller import NetworkController
from ..common.onscreen import on_screen
from ..common.clients import ClientCensus
from ..common.export import Exporter, ExportResult, csv_writer
from ..common.files import app_settings, save_dialog
from ..common.plotting import EmptyNote
from ..common.theme import set_state
from ..common.text import plural
from .history import HistoryPlotView, SplitHistories, SplitHistory
from ..common.table import SORT_ROLE
from .model import CLIENT, ID_VALID, BucketListModel, ContactTableModel, bucket_rows
from .records import table_records
from .trie_view import BucketTrieView

log = logging.getLogger(__name__)

ROUTING_EVENTS = (
    ev.ContactAdded, ev.ContactRefreshed, ev.ContactFailed, ev.ContactReplaced, ev.ContactRemoved,
    ev.BucketSplit, ev.BucketsMerged,
)
STRUCTURE_EVENTS = (ev.ContactAdded, ev.ContactFailed, ev.ContactReplaced, ev.ContactRemoved,
                    ev.BucketSplit, ev.BucketsMerged)


class RoutingPanel(QWidget):
    """Our node's k-buckets, drawn as a binary trie, with contacts and history."""

    def __init__(self, controller: NetworkController, bridge: EventBridge, parent: QWidget | None = None,
                 tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.setObjectName("RoutingPanel")
        self._controller = controller
        self._node: Any = None
        self._k = 8
        self.refreshes = 0
        self.histories = SplitHistories()  # per node: ours outlives a lab node in focus
        self.history = SplitHistory(time.monotonic())

        self.summary = QLabel("not joined")
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.buckets = BucketListModel(self._k, self)
        self.census = ClientCensus()  # client codes, learnt from the v of messages received
        self.contacts = ContactTableModel(self, self.census)
        self.trie = BucketTrieView(self.buckets)
        scroll = QScrollArea()
        scroll.setWidget(self.trie)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.trie_scroll = scroll

        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self.contacts)
        self._proxy.setSortRole(SORT_ROLE)
        self.contact_table = QTableView()
        self.contact_table.setModel(self._proxy)
        self.contact_table.setSortingEnabled(True)
        self.contact_table.setAlternatingRowColors(True)
        self.contact_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.contact_table.verticalHeader().setVisible(False)
        self.contact_table.verticalHeader().setDefaultSectionSize(22)
        header = self.contact_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # a bucket has K rows at most
        header.setStretchLastSection(True)
        self.contact_title = QLabel("Select a bucket to list its contacts")
        self.export_button = QPushButton("Export table\u2026")
        self.export_button.setToolTip("Save every contact of every bucket as CSV (whole ids)")
        self.export_button.clicked.connect(self.export_dialog)
        self.exporter = Exporter(self)
        self.exporter.finished.connect(self._exported)
        self.export_note = QLabel()
        self.export_note.setWordWrap(True)
        self.export_note.hide()
        self.plot = HistoryPlotView()
        self.plot_note = EmptyNote(self.plot.getPlotItem(), "no node is running", y_range=(0.0, 8.0))

        table_box = QWidget()
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(0, 0, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(self.contact_title, 1)
        title_row.addWidget(self.export_button)
        tl.addLayout(title_row)
        tl.addWidget(self.export_note)
        tl.addWidget(self.contact_table)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(scroll)
        split.addWidget(table_box)
        split.addWidget(self.plot)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        split.setSizes([120, 260, 180])
        split.setChildrenCollapsible(False)
        self.splitter = split
        self._fitted_rows = -1  # the bucket count the trie's height was last fitted to
        self._user_sized = False  # the user moved the splitter: leave it where they put it
        split.splitterMoved.connect(self._splitter_moved)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        # A dual-stack node (BEP 32) has a table per family: a switch, each with its count.
        self.family = "IPv4"
        self.family_buttons: dict[str, QPushButton] = {}
        self.family_bar = QWidget()
        fl = QHBoxLayout(self.family_bar)
        fl.setContentsMargins(0, 0, 0, 0)
        group = QButtonGroup(self)
        group.setExclusive(True)
        for name in ("IPv4", "IPv6"):
            button = QPushButton(name)
            button.setCheckable(True)
            button.setObjectName(f"family{name}")
            button.setToolTip(f"Show the {name} routing table (BEP 32: one table per address family)")
            button.clicked.connect(lambda _checked=False, n=name: self.show_family(n))
            group.addButton(button)
            fl.addWidget(button)
            self.family_buttons[name] = button
        fl.addStretch(1)
        self.family_buttons["IPv4"].setChecked(True)
        self.family_bar.hide()
        layout.addWidget(self.family_bar)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        self._selected_key: tuple[int, int] | None = None
        self._user_selected = False
        self.trie.bucket_selected.connect(self._bucket_selected)
        self.trie.clicked_row.connect(self._user_click)
        bridge.batch.connect(self.on_batch)
        controller.node_changed.connect(self.set_node)
        self._view_shown: Any = None  # the view of a lab node in focus last read
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self.set_node(controller.node)

    # -- public ----------------------------------------------------------------

    def has_data(self) -> bool:
        """Whether the panel shows a routing table with contacts."""
        return self.buckets.rowCount() > 0 and self.buckets.contact_count() > 0

    def set_node(self, node: Any) -> None:
        if node is not self._node:
            self.census.clear()  # another node's peers
        self._node = node
        ours = self._controller.node  # a lab node in focus speaks our node's profile
        if ours is not None:
            self.show_profile_columns(ours.profile.features)
        own = self._controller.node
        self.histories.own = own.id if own is not None else None
        self.history = (self.histories.get(node.id, time.monotonic()) if node is not None
                        else SplitHistory(time.monotonic()))
        self.plot.show_history(self.history)
        if node is not None:
            self._k = int(node.config.K)
            self.buckets.k = self._k
        self.trie.set_own_id(node.id if node is not None else None)
        self.refresh()

    def show_family(self, family: str) -> None:
        """Show the routing table of ``family`` ("IPv4" or "IPv6") of a dual-stack node."""
        if family == self.family:
            return
        self.family = family
        self.family_buttons[family].setChecked(True)
        self._selected_key = None
        self._user_selected = False
        self.refresh()

    def _tables(self, node: Any) -> tuple[Any, bytes]:
        """The table shown (the family chosen, on a node of several) and whose id it is
        built around; the switch shows each family's contacts."""
        families = tuple(getattr(node, "families", ()) or ())
        if len(families) < 2:
            self.family_bar.hide()
            return node.routing_table(), node.id
        if self.family not in families:
            self.family = families[0]
            self.family_buttons[self.family].setChecked(True)
        for name, button in self.family_buttons.items():
            table = node.routing_table_of(name)
            button.setText(f"{name} \u00b7 {plural(sum(len(b.contacts) for b in table), 'contact')}")
            button.setVisible(name in families)
        self.family_bar.show()
        own = node.id_of(self.family) or node.id
        self.trie.set_own_id(own)
        return node.routing_table_of(self.family), own

    def show_profile_columns(self, features: frozenset[str]) -> None:
        """Show the Client and BEP 42 columns only where the wire carries them (not on Khashmir)."""
        self.contact_table.setColumnHidden(CLIENT, CLIENT_VERSION not in features)
        self.contact_table.setColumnHidden(ID_VALID, BEP42 not in features)

    def on_batch(self, events: list[Any]) -> None:
        """Handle one batch from the bridge: flash splits/merges, refresh once."""
        self.census.add_events(events)
        routing = False
        for e in events:
            if isinstance(e, ROUTING_EVENTS):
                routing = True
                if isinstance(e, ev.BucketSplit):
                    self.history.split(e.time, e.lo, e.hi)
                    self.trie.flash(e.lo, e.hi, "split")
                elif isinstance(e, ev.BucketsMerged):
                    self.history.merge(e.time, e.lo, e.hi)
                    self.trie.flash(e.lo, e.hi, "merge")
        if routing:
            self.refresh()

    def tick(self, now: float | None = None) -> None:
        """Once a second: the ages and the history's time axis move on, from what is shown (no
        read of the node but a lab node's newer view, see the module docstring)."""
        node = self._node
        if node is None or not node.running:
            if self.buckets.rowCount():
                self.refresh()  # the node stopped: show why
            else:
                self.summary.setText(self._idle_text())
            return
        if getattr(node, "is_lab_node", False) and node.view is not self._view_shown:
            self.refresh()
            return
        now = time.monotonic() if now is None else now
        self.buckets.tick(now)
        self.contacts.tick(now)
        self.history.observe(now, self.buckets.rowCount())
        if on_screen(self):  # not when tabbed behind the map
            self.plot.show_history(self.history)

    def refresh(self) -> None:
        """Read the routing table and statistics from the node."""
        node = self._node
        now = time.monotonic()
        if node is None or not node.running:
            self.buckets.set_buckets([], now)
            self._user_selected = False
            self.trie.select(-1)
            self._bucket_selected(-1)  # the contacts header too
            self.summary.setText(self._idle_text())
            self.plot_note.set_empty(True)
            return
        try:
            self._view_shown = getattr(node, "view", None)
            table, own = self._tables(node)
            stats = node.stats()
        except Exception as exc:  # the node stopped under us
            log.debug("routing refresh failed: %s", exc)
            return
        self.refreshes += 1
        rows = bucket_rows(table, own)
        self.buckets.set_buckets(rows, now)
        self.history.observe(now, len(rows))
        if on_screen(self):
            self.plot.show_history(self.history)
            self.plot_note.set_empty(False)
        self.fit_trie()
        self._restore_selection(rows, now)
        contacts = sum(len(r.contacts) for r in rows)
        self.summary.setText(
            f"{plural(contacts, 'contact')} \u00b7 {plural(len(rows), 'bucket')} \u00b7 "
            f"est. network size {stats.network_size:,} \u00b7 "
            f"{plural(self.history.splits, 'split')}, {plural(self.history.merges, 'merge')}"
        )

    def _idle_text(self) -> str:
        """Why no routing table is shown, and what starts one."""
        controller = self._controller
        if controller.starting:
            return "starting our node and the local lab\u2026"
        if controller.suspended:
            return "stopped while a capture is shown: File \u25b8 Close capture starts the lab and our node again"
        return "not running: Network \u25b8 Rejoin lab or Join starts a node"

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.on_shown()

    def on_shown(self) -> None:
        """Draw the history skipped while off screen (also when the dock's tab is selected)."""
        self.plot.show_history(self.history)
        self._fitted_rows = -1
        self.fit_trie()

    def fit_trie(self) -> None:
        """Give the bucket trie the height of its rows (no gap under a short table), at most
        45 % of the splitter; the contacts and the history share the rest.  Left alone once
        the user moved the splitter."""
        rows = self.buckets.rowCount()
        if self._user_sized or rows == self._fitted_rows or not self.isVisible():
            return
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total <= 0:
            return
        self._fitted_rows = rows
        want = self.trie.sizeHint().height() + 2 * self.trie_scroll.frameWidth() + 2
        trie = max(self.trie.minimumSizeHint().height(), min(want, int(total * 0.45)))
        rest = total - trie
        self.splitter.setSizes([trie, rest * 3 // 5, rest - rest * 3 // 5])

    def _splitter_moved(self, *args: Any) -> None:
        self._user_sized = True

    # -- export -----------------------------------------------------------------------

    def table_records(self) -> tuple[list[str], list[list[Any]]]:
        """Every contact of every bucket, whole ids: the routing table as CSV rows."""
        client = not self.contact_table.isColumnHidden(CLIENT)
        bep42 = not self.contact_table.isColumnHidden(ID_VALID)
        return table_records(self.buckets.rows(), self.buckets.now, self.contacts.client_text if client else None,
                             bep42)

    def export_table(self, path: str) -> bool:
        """Write the routing table to ``path`` as CSV, off the GUI thread; False if refused at once."""
        header, rows = self.table_records()
        return self.exporter.export(path, "contacts", csv_writer(header, rows))

    def export_dialog(self) -> None:
        self.file_dialog = save_dialog(self, app_settings(), "export", "Export the routing table",
                                       "routing-table.csv", "CSV files (*.csv);;All files (*)", "csv",
                                       self._export_chosen)

    def _export_chosen(self, path: str) -> None:
        self.export_table(path)  # its outcome, a refusal too, is the exporter's message

    def _exported(self, result: ExportResult) -> None:
        self.export_note.setText(result.message)
        set_state(self.export_note, "ok" if result.ok else "error")
        self.export_note.show()

    # -- selection -----------------------------------------------------------------

    def _restore_selection(self, rows: list[Any], now: float) -> None:
        if not rows:
            self.contacts.set_contacts([], now)
            return
        key = self._selected_key if self._user_selected else None
        row = -1
        if key is not None:
            row = next((i for i, r in enumerate(rows) if r.key == key), -1)
            if row < 0:
                row = self.buckets.find(key[0])
        if row < 0:
            row = next((i for i, r in enumerate(rows) if r.own), 0)
        if row != self.trie.selected():
            self.trie.select(row)  # emits bucket_selected -> _bucket_selected
        else:
            self._bucket_selected(row)

    def _user_click(self, row: int) -> None:
        self._user_selected = row >= 0

    def _bucket_selected(self, row: int) -> None:
        r = self.buckets.row_at(row)
        if r is None:
            self._selected_key = None
            self.contacts.set_contacts([])
            self.contact_title.setText("Select a bucket to list its contacts")
            return
        self._selected_key = r.key
        self.contacts.set_contacts(r.contacts, self.buckets.now)
        self.contact_title.setText(
            f"Bucket {r.prefix or '(all ids)'} \u2014 {plural(len(r.contacts), 'contact')}"
            + ("  \u2605 holds our id" if r.own else "")
        )
