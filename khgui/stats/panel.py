"""The statistics panel: plots over time, the per-method table and the defences.

:class:`StatsPanel` counts datagrams per method and direction, and keeps the
answers' round-trip times, from the events the bridge batches.  It still
samples ``node.stats()`` once a second into a bounded :class:`StatsHistory`
(default 600 samples), from which the plots and the tables are drawn: that
is a poll, and it stays, because its figures have no event.  The node
aggregates them itself -- bytes and packets in and out, the per-method
answered/failed counts and mean RTT, the defences' blocked sources and
drops by reason, the keys and values stored, the routing table's size,
the uptime -- and a time series wants one sample per second whether or not
anything happened (a quiet second is a zero on the rates plot).

The plots and the two tables share the panel by its shape (:meth:`StatsPanel.arrange`):
the tables under the plots, side by side, in a tall panel (the 720p layout, where
the statistics are a tab of the whole right-hand side); beside them, one above the
other, in a wide and short one (the 1400x900 window's dock under the look-up form),
where under the plots they were pushed below the dock's fold.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QSplitter, QTableView, QVBoxLayout, QWidget

from ..bridge import EventBridge
from ..common.labels import WrappedLabel
from ..common.onscreen import on_screen
from ..controller import NetworkController
from ..common.table import SORT_ROLE
from .model import DefenceStatsModel, MethodStatsModel
from .plots import StatsPlotsView
from .series import DEFAULT_MAXLEN, StatsHistory

log = logging.getLogger(__name__)


def _si(value: float) -> str:
    for unit in ("", "k", "M", "G"):
        if abs(value) < 1000:
            return f"{value:.0f}{unit}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1000.0
    return f"{value:.1f}T"


class StatsPanel(QWidget):
    """Traffic rates, RTT distribution, table size and per-method counts."""

    def __init__(
        self, controller: NetworkController, bridge: EventBridge, parent: QWidget | None = None,
        interval_ms: int = 1000, maxlen: int = DEFAULT_MAXLEN,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("StatsPanel")
        self._controller = controller
        self._node: Any = None
        self._maxlen = maxlen
        self.history = StatsHistory(time.monotonic(), maxlen)
        self.samples = 0
        self._unshown: Any = None  # the last snapshot not yet in the tables (taken off screen)
        self.summary = WrappedLabel("no statistics yet")  # wraps: one long line would widen the panel
        self.summary.setObjectName("summary")
        self.plots = StatsPlotsView()
        self.methods = MethodStatsModel(self)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.methods)
        proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()  # every header readable; a narrow dock scrolls the table
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.defences = DefenceStatsModel(self)
        self.defences_table = QTableView()
        self.defences_table.setObjectName("defences")
        self.defences_table.setModel(self.defences)
        self.defences_table.setAlternatingRowColors(True)
        self.defences_table.verticalHeader().setVisible(False)
        self.defences_table.verticalHeader().setDefaultSectionSize(22)
        self.defences_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.defences_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.defences.modelReset.connect(self._fit_defences)
        # Both tables show a few rows at least: never only their header.
        rows = 4
        for table in (self.table, self.defences_table):
            table.setMinimumHeight(table.horizontalHeader().sizeHint().height() + rows * 22 + 2 * table.frameWidth())
        tables = QSplitter(Qt.Orientation.Horizontal)
        self.tables = tables
        tables.addWidget(self.table)
        tables.addWidget(self.defences_table)
        tables.setStretchFactor(0, 3)
        tables.setStretchFactor(1, 0)
        tables.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.plots)
        split.addWidget(tables)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 170])
        split.setChildrenCollapsible(False)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        bridge.batch.connect(self.on_batch)
        controller.node_changed.connect(self.set_node)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.sample)
        self._timer.start()
        self.set_node(controller.node)

    def arrange(self) -> None:
        """Tables under the plots in a tall panel, beside them in a wide one (see the module docstring)."""
        # The room it is shown in: a dock's scroll viewport (the panel itself grows to its
        # minimum height there, which would make it look taller than its dock is).
        parent = self.parentWidget()
        room = parent.size() if parent is not None else self.size()
        wide = room.width() > 1.8 * room.height() and room.width() >= self.plots.minimumWidth() + 320
        main = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != main:
            self.splitter.setOrientation(main)
            self.tables.setOrientation(Qt.Orientation.Vertical if wide else Qt.Orientation.Horizontal)
            total = room.width() if wide else room.height()
            tables = max(total // 3, 320) if wide else total // 3
            self.splitter.setSizes([total - tables, tables])

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.arrange()

    def _fit_defences(self) -> None:
        """The defence table as wide as its labels ("dropped: rate limited"), never cut to "dropped: …"."""
        table = self.defences_table
        width = (table.sizeHintForColumn(0) + max(60, table.sizeHintForColumn(1)) + 2 * table.frameWidth()
                 + table.verticalScrollBar().sizeHint().width() + 8)
        table.setMinimumWidth(max(table.minimumWidth(), width))

    def has_data(self) -> bool:
        """Whether at least one sample with traffic was taken."""
        unshown = self._unshown  # taken while tabbed behind another panel: not in the tables yet
        return self.samples > 0 and (self.methods.rowCount() > 0 or bool(unshown is not None and unshown.methods))

    def set_node(self, node: Any) -> None:
        if node is not self._node:
            self._node = node
            self.history = StatsHistory(time.monotonic(), self._maxlen)
            self.samples = 0
            self._unshown = None
            self.methods.set_methods({})
            self.defences.set_snapshot(None)
            self.plots.show_empty("no node is running" if node is None else "collecting: one sample a second")

    def on_batch(self, events: list[Any]) -> None:
        self.history.add_events(events)

    def sample(self) -> None:
        """Take one sample from the node and redraw."""
        node = self._node
        snapshot = None
        if node is not None and getattr(node, "running", True):
            try:
                snapshot = node.stats()
            except Exception as exc:  # stopped under us
                log.debug("stats failed: %s", exc)
        if node is None:
            self.summary.setText("starting our node\u2026" if getattr(self._controller, "starting", False)
                                 else "not running")
            return
        self.history.sample(time.monotonic(), snapshot)
        self.samples += 1
        if snapshot is not None:
            self._unshown = snapshot  # the tables take it in now if on screen, else when shown
            if on_screen(self):
                self._show_tables()
            self.summary.setText(
                f"in {snapshot.packets_in:,} pkts / {_si(snapshot.bytes_in)}B \u00b7 "
                f"out {snapshot.packets_out:,} pkts / {_si(snapshot.bytes_out)}B \u00b7 "
                f"dropped {snapshot.dropped:,} ({snapshot.blocked_peers:,} sources blocked) \u00b7 {snapshot.keys:,} keys, {snapshot.values:,} values \u00b7 "
                f"up {snapshot.uptime:.0f} s"
            )
        if on_screen(self):  # not when tabbed behind another panel
            self.plots.show_history(self.history)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.on_shown()

    def on_shown(self) -> None:
        """Draw the history and tables skipped while off screen (also when the dock's tab is selected)."""
        self._show_tables()
        self.plots.show_history(self.history)

    def _show_tables(self) -> None:
        snapshot, self._unshown = self._unshown, None
        if snapshot is not None:
            self.methods.set_methods(dict(snapshot.methods))
            self.defences.set_snapshot(snapshot)
