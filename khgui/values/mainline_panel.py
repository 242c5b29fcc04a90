"""The stored-data panel for the Mainline DHT: peers announced to the node and BEP 44 items it holds.

:class:`MainlineValuesPanel` takes the place of the Khashmir values panel
under ``--profile mainline``.  Two tabs: the peers announced to the node
shown (ours, or a lab node in focus) with their info-hash, address, seed
flag and expiry, and its BEP 44 items (target, mutable or immutable, seq,
a preview of the value, expiry).

It is driven by the events the bridge batches: it reads ``await
node.stored_peers()`` and ``await node.stored_items()`` when the node
changes, and again for a batch of events that brings ``PeerAnnounced`` or
``ItemStored`` (one read at a time: events arriving meanwhile ask for one
more read once it is done).  Those events say what changed but not the row
to show (``PeerAnnounced`` has no ``expires``, and an announce may evict
another peer; ``ItemStored`` has neither the value, the key, the salt nor
the expiry), so one snapshot stands for the batch.  It never polls: the
"expires in" columns tick once a second from the rows shown, and a row
whose time is up leaves the table then, as it leaves the node's store
(no event says so).
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


def _view(model: Any) -> tuple[QTableView, QSortFilterProxyModel]:
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
    return view, proxy


class MainlineValuesPanel(QWidget):
    """A Mainline node's stored peers and BEP 44 items, with their expiry."""

    def __init__(self, controller: Any, bridge: Any, parent: QWidget | None = None, tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.setObjectName("MainlineValuesPanel")
        self._controller = controller
        self._node: Any = None
        self._dirty = False
        self._task: asyncio.Task[Any] | None = None
        self._has_data = False
        self.loads = 0
        self.peers = StoredPeersModel(parent=self)
        self.items = StoredItemsModel(parent=self)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.peers_view, peers_proxy = _view(self.peers)
        self.items_view, items_proxy = _view(self.items)
        self.filter_edit = filter_box([peers_proxy, items_proxy],
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
        self.on_node_changed(controller.node)

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
        """One batch from the bridge: one read of the store if it brings news of it."""
        if self._node is not None and any(type(e) is PeerAnnounced or type(e) is ItemStored for e in events):
            self._reload()

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
        """Once a second: the expiry columns, and the rows whose time is up leave (no read of the node)."""
        if self.peers.tick() + self.items.tick():
            self._update_status()

    # -- internals ----------------------------------------------------------------------

    def _reload(self) -> None:
        """Read the store now, or once the read under way is done."""
        if self._task is not None and not self._task.done():
            self._dirty = True
            return
        self._dirty = False
        self._task = asyncio.ensure_future(self.load_snapshot())
        self._task.add_done_callback(self._loaded)

    def _loaded(self, task: "asyncio.Task[Any]") -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.debug("could not read the store: %s", exc)
            self.status_label.setText(f"Could not read the node's store: {exc}")
        if self._dirty and self._node is not None:
            self._reload()  # events came during the read

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
