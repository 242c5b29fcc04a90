"""The network map's feed: the lab's nodes and formation, lookups, and what the map asks for.

:class:`LabMapFeed` connects the :class:`~khgui.controller.NetworkController`
to the window's :class:`~khgui.map.panel.NetworkMapPanel`.  Into the map: the
lab's nodes with ours among them (:meth:`LabMapFeed.own_info`), each node
that changes, the formation's progress (also said in the status bar), the
lab's lookups, and our node's lookups, drained every MAP_LOOKUP_MS
(:meth:`LabMapFeed.drain_lookups`).  Out of it: what a user asks of a
node on the map (focus, kill, revive, add one, watch the lab's lookups),
each run by the controller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QTimer

from ..controller import NetworkController
from ..map.panel import NetworkMapPanel

if TYPE_CHECKING:
    from dht import LabNodeInfo

#: Milliseconds between two drains of our node's lookup events into the map.
MAP_LOOKUP_MS = 100


class LabMapFeed(QObject):
    """Feeds ``map_panel`` from ``controller``; ``show_message(text, ms)``: the status bar's."""

    def __init__(self, controller: NetworkController, map_panel: NetworkMapPanel,
                 show_message: Callable[[str, int], None], parent: QObject) -> None:
        super().__init__(parent)
        self.controller = controller
        self.map = map_panel
        self._show_message = show_message
        c = controller
        controller.lab_nodes.connect(self._lab_nodes)
        controller.lab_node_changed.connect(map_panel.model.update_node)
        controller.lab_progress.connect(self._lab_progress)
        controller.lab_lookups.connect(map_panel.lookup_events)
        map_panel.focus_requested.connect(lambda node_id: c.spawn(c.focus_node(node_id)))
        labs = controller.lab_control
        map_panel.kill_requested.connect(lambda node_id: c.spawn(labs.kill(node_id)))
        map_panel.revive_requested.connect(lambda node_id: c.spawn(labs.revive(node_id)))
        map_panel.add_requested.connect(lambda: c.spawn(labs.add()))
        map_panel.lab_lookups_toggled.connect(lambda on: c.spawn(labs.watch_lookups(on)))
        self._timer = QTimer(self)
        self._timer.setInterval(MAP_LOOKUP_MS)
        self._timer.timeout.connect(self.drain_lookups)
        self._timer.start()

    def _lab_nodes(self, infos: "list[LabNodeInfo]") -> None:
        self.map.set_nodes(infos, self.own_info())

    def own_info(self) -> "LabNodeInfo | None":
        """Our node as a map row (None when it does not run)."""
        from dht import LabNodeInfo

        node = self.controller.node
        if node is None or not node.running:
            return None
        table = node.routing_table()
        contacts = sum(len(b.contacts) for b in table)
        k = int(node.config.K)
        host, port = node.contact.address
        return LabNodeInfo(node.id, host, port, True, contacts, len(table), contacts / (len(table) * k) if table else 0.0)

    def _lab_progress(self, stage: str, done: int, total: int) -> None:
        self.map.set_progress(stage, done, total)
        if stage == "starting":
            self._show_message(f"forming the lab: {done:,} of {total:,} nodes listening", 5000)
        elif stage == "introducing":
            self._show_message(f"forming the lab: introductions {done * 100 // max(1, total)} %", 5000)
        else:
            self._show_message(f"lab of {total:,} nodes formed", 5000)

    def drain_lookups(self) -> None:
        items = self.controller.take_lookups()
        if items:
            self.map.lookup_events(items)
