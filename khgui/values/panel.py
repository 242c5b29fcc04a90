"""The stored values panel: the local store, live, with republishing.

:class:`ValuesPanel` loads ``await node.stored_values()`` whenever the
controller's node changes (its one snapshot), then follows
``ValueStored``/``ValueExpired`` events from the bridge (one insert per
batch); it never polls the store.  One QTimer ticks every second without
reading the node: it refreshes the "expires in" column (one dataChanged)
and, when the toggle is on, republishes the values the user published once
they are 57/60 of KEY_EXPIRE old, through ``await node.store_value``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget,
)

from ..common.keys import KeyRegistry, default_registry
from ..common.table import SORT_ROLE, filter_box
from ..common.text import format_clock, plural
from .model import COLUMNS, VALUE, StoredValuesModel

log = logging.getLogger(__name__)
REPUBLISH_FRACTION = 57 / 60
_WIDTHS = (340, 120, 220, 60, 90, 90)


class ValuesPanel(QWidget):
    """Our node's stored values; the user's own are marked and kept alive."""

    def __init__(self, controller: Any, bridge: Any, parent: QWidget | None = None,
                 registry: KeyRegistry | None = None, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self._controller = controller
        self.registry = registry if registry is not None else default_registry()
        self.model = StoredValuesModel(self.registry, parent=self)
        self._node: Any = None
        self._has_data = False
        self._republishing: set[tuple[bytes, bytes]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.republished = 0
        """Values republished since the panel was created."""
        self._last_note = ""
        self._build()
        self.model.rowsInserted.connect(self._on_rows)
        self.model.rowsRemoved.connect(self._on_rows)
        self.model.modelReset.connect(self._on_rows)
        self.registry.changed.connect(self._update_status)
        bridge.batch.connect(self.on_batch)
        controller.node_changed.connect(self.on_node_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        if controller.node is not None:
            self.on_node_changed(controller.node)
        else:
            self._update_status()

    def _build(self) -> None:
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(False)  # rows stay put while their clocks tick
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate(_WIDTHS[: len(COLUMNS)]):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        self.republish_box = QCheckBox("Republish mine (\u2605)")
        self.republish_box.setChecked(True)
        self.republish_box.setToolTip("Republish my values (\u2605) before they expire: stores each value you "
                                      "published again once it is 57/60 of KEY_EXPIRE old, so the network "
                                      "keeps it")
        self.filter_edit = filter_box([self.proxy], "filter: key, text or value\u2026")
        self.filter_edit.textChanged.connect(self._update_status)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.empty_label = QLabel()
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)  # one long line made the panel wider than its dock
        self.empty_label.setObjectName("hint")
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.republish_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)

    # -- public ---------------------------------------------------------------------

    def has_data(self) -> bool:
        return self._has_data

    @property
    def republish_enabled(self) -> bool:
        return self.republish_box.isChecked()

    def on_batch(self, events: list[Any]) -> None:
        if self._node is not None:
            self.model.add_events(events)

    def on_node_changed(self, node: Any) -> None:
        self._node = node
        if node is None:
            self.model.clear()
            self._update_status()
            return
        self.model.set_key_expire(float(node.config.KEY_EXPIRE))
        self._start(self.load_snapshot())

    async def load_snapshot(self) -> int:
        """Replace the table with ``await node.stored_values()``; returns the row count."""
        node = self._node
        if node is None:
            return 0
        infos = await node.stored_values()
        if node is self._node:
            self.model.set_snapshot(infos)
        return self.model.rowCount()

    def tick(self) -> None:
        """Once a second: refresh the time columns and republish what is due."""
        self.model.tick()
        if self.republish_enabled:
            self.republish_due()

    def republish_due(self, now: float | None = None) -> int:
        """Start republishing the user's values that are due; returns how many started."""
        node = self._node
        if node is None or not getattr(self._controller, "joined", True):
            return 0
        now = time.time() if now is None else now
        period = float(node.config.KEY_EXPIRE) * REPUBLISH_FRACTION
        started = 0
        for pair in self.registry.due(now, period):
            if pair not in self._republishing:
                self._republishing.add(pair)
                self._start(self._republish(node, *pair))
                started += 1
        return started

    async def _republish(self, node: Any, key: bytes, value: bytes) -> None:
        try:
            result = await node.store_value(key, value)
        except Exception as exc:  # a DHT failure: tell the user, retry next tick
            self._last_note = f"republishing {key.hex()[:8]} failed: {exc}"
            log.info("%s", self._last_note)
        else:
            self.registry.mark_published(key, value)
            self.republished += 1
            self._last_note = (f"republished {key.hex()[:8]} at {format_clock(time.time())[:8]} "
                               f"({len(result.accepted)} nodes accepted)")
        finally:
            self._republishing.discard((key, value))
            self._update_status()

    # -- internals ----------------------------------------------------------------

    def _start(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: "asyncio.Task[Any]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self._last_note = f"could not read the store: {exc}"
            log.warning("values panel task failed", exc_info=exc)
            self._update_status()

    def _on_rows(self, *args: Any) -> None:
        if self.model.rowCount():
            self._has_data = True
        self._update_status()

    def _update_status(self, *args: Any) -> None:
        n = self.model.rowCount()
        local = self.model.local_count()
        elsewhere = n - local
        mine = sum(1 for pair in self.model.pairs() if self.registry.is_published(*pair))
        if self._node is None:
            text = "Starting our node\u2026" if getattr(self._controller, "starting", False) else "No node running."
        else:
            text = (f"{plural(local, 'value')} under {plural(self.model.key_count(), 'key')}"
                    + (f", {mine} published by you (\u2605"
                       + (f"; {elsewhere} held elsewhere only" if elsewhere else "") + ")" if mine else "")
                    + f"; values expire {self.model.key_expire:g} s after they were last stored")
        shown = self.proxy.rowCount()
        if self.filter_edit.text().strip():
            text += f" \u2014 {shown:,} of {n:,} rows match the filter"
        if self._last_note:
            text += f" \u2014 {self._last_note}"
        self.status_label.setText(text)
        self.empty_label.setVisible(n == 0)
        self.empty_label.setText("No node: join a network to see its store." if self._node is None
                                 else "Nothing stored here yet: store a value in the Store and look up panel; "
                                      "values land on the nodes closest to their key.")

