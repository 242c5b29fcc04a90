"""The stored-data panel for the Mainline DHT: peers announced to the node and BEP 44 items it holds.

:class:`MainlineValuesPanel` takes the place of the Khashmir values panel
under ``--profile mainline``.  Two tabs: the peers announced to the node
shown (ours, or a lab node in focus) with their info-hash, address, seed
flag and expiry, and its BEP 44 items (target, mutable or immutable, seq,
a preview of the value, expiry).  It reads ``await node.stored_peers()``
and ``await node.stored_items()`` when the node changes, again when a batch
of events brings ``PeerAnnounced`` or ``ItemStored`` (at most once per
tick), and every :data:`RELOAD_TICKS` ticks (expired entries go); the
"expires in" columns tick once a second.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTabWidget, QTableView, QVBoxLayout, QWidget

from dht.events import ItemStored, PeerAnnounced

from ..common.table import SORT_ROLE, filter_box
from ..common.text import plural
from .mainline import StoredItemsModel, StoredPeersModel

log = logging.getLogger(__name__)
#: Ticks between two reloads when no event asked for one (expired entries disappear).
RELOAD_TICKS = 10


def _view(model: Any) -> QTableView:
    proxy = QSortFilterProxyModel(model)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setDynamicSortFilter(False)  # rows stay put while their clocks tick
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return view


class MainlineValuesPanel(QWidget):
    """A Mainline node's stored peers and BEP 44 items, with their expiry."""

    def __init__(self, controller: Any, bridge: Any, parent: QWidget | None = None, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.setObjectName("MainlineValuesPanel")
        self._controller = controller
        self._node: Any = None
        self._dirty = False
        self._ticks = 0
        self._task: asyncio.Task[Any] | None = None
        self._has_data = False
        self.loads = 0
        self.peers = StoredPeersModel(parent=self)
        self.items = StoredItemsModel(parent=self)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.peers_view = _view(self.peers)
        self.items_view = _view(self.items)
        self.filter_edit = filter_box([self.peers_view.model(), self.items_view.model()],
                                      "filter: info-hash, address, target or value\u2026")
        self.filter_edit.textChanged.connect(lambda _t: self._update_status())
        self.tabs = QTabWidget()
        self.tabs.addTab(self.peers_view, "Peers announced to us")
        self.tabs.addTab(self.items_view, "BEP 44 items")
        layout = QVBoxLayout(self)
        layout.addWidget(self.status_label)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tabs, 1)
        bridge.batch.connect(self.on_batch)
        controller.node_changed.connect(self.on_node_changed)
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.on_node_changed(getattr(controller, "node", None))

    # -- public -----------------------------------------------------------------------

    def has_data(self) -> bool:
        return self._has_data

    def on_node_changed(self, node: Any) -> None:
        self._node = node
        if node is None:
            self.peers.clear()
            self.items.clear()
            self._update_status()
            return
        self._reload()

    def on_batch(self, events: list[Any]) -> None:
        if self._node is not None and any(type(e) is PeerAnnounced or type(e) is ItemStored for e in events):
            self._dirty = True

    async def load_snapshot(self) -> int:
        """Read the node's peers and items into the tables; how many rows in all."""
        node = self._node
        if node is None:
            return 0
        peers = await node.stored_peers()
        items = await node.stored_items()
        if node is self._node:
            self.peers.set_snapshot(peers)
            self.items.set_snapshot(items)
            self.loads += 1
            if peers or items:
                self._has_data = True
            self._update_status()
        return self.peers.rowCount() + self.items.rowCount()

    def tick(self) -> None:
        """Once a second: the expiry columns; a reload if events brought news (or now and then)."""
        self.peers.tick()
        self.items.tick()
        self._ticks += 1
        if self._dirty or self._ticks % RELOAD_TICKS == 0:
            self._reload()

    # -- internals ----------------------------------------------------------------------

    def _reload(self) -> None:
        if self._task is not None and not self._task.done():
            return  # one read at a time; the next tick catches up
        self._dirty = False
        self._task = asyncio.ensure_future(self.load_snapshot())
        self._task.add_done_callback(self._loaded)

    def _loaded(self, task: "asyncio.Task[Any]") -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.debug("could not read the store: %s", exc)
            self.status_label.setText(f"Could not read the node's store: {exc}")

    def _update_status(self) -> None:
        if self._node is None:
            self.status_label.setText("Starting our node\u2026" if getattr(self._controller, "starting", False)
                                      else "No node running.")
            return
        whose = "This lab node holds" if getattr(self._node, "is_lab_node", False) else "Our node holds"
        self.status_label.setText(
            f"{whose} {plural(self.peers.rowCount(), 'peer')} of "
            f"{plural(self.peers.info_hash_count(), 'info-hash', 'info-hashes')} announced to it and "
            f"{plural(self.items.rowCount(), 'BEP 44 item')}.")
        def count(view: QTableView, model: Any) -> str:
            shown, total = view.model().rowCount(), model.rowCount()
            return f"{shown} of {total}" if shown != total else f"{total}"

        self.tabs.setTabText(0, f"Peers announced to us ({count(self.peers_view, self.peers)})")
        self.tabs.setTabText(1, f"BEP 44 items ({count(self.items_view, self.items)})")
