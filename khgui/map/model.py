"""The table behind the network map: one row per lab node (and ours).

:class:`NetworkMapModel` holds :class:`MapNode` rows -- a
:class:`dht.LabNodeInfo` and whether it is our own node -- with columns id,
address, state, contacts, buckets and table fill.  :meth:`set_nodes` takes
a whole overview (as ``LabThread.overview()`` returns it, once a second)
and keeps row identity: rows whose values changed get one ``dataChanged``
over the span they cover, new nodes are appended with one insert, and only
a node that disappeared resets the model.  The map view, and any list of
lab nodes, read it through :meth:`row_node` / :data:`NODE_ROLE`.

That overview is a poll (the controller's), and it stays: a lab node's
contacts, buckets and table fill have no event on the lab's bus, which
carries only ``LabNodeChanged`` and ``LabProgress`` -- per-node routing
events for thousands of nodes would cost the lab more than the map is worth.
``LabNodeChanged`` (a node added, killed or revived) reaches the model at
once through :meth:`update_node`, before the next overview.

A crawl's census (:meth:`set_crawl`, from the Crawl panel) adds the nodes
it found that are not lab nodes, on any network (the public one included):
a row each, ``crawled``, drawn alive if it answered and as silent (dead)
if not; the nodes of its suspicions, lab nodes too, are ``suspicious``
and drawn marked.  They stay until the next census (or :meth:`clear_crawl`).
A census of a large network holds more nodes than a ring can show (or the
window redraw at once): at most :data:`MAX_CRAWLED` are drawn, the
suspects first, then those that answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from PySide6.QtCore import Qt

from dht import Census, LabNodeInfo

from ..common.table import RIGHT, ROW_ROLE, SORT_ROLE, TableModel

#: A row's :class:`MapNode` (the tables' :data:`~khgui.common.table.ROW_ROLE`).
NODE_ROLE = ROW_ROLE
COLUMNS = ("id", "address", "state", "contacts", "buckets", "table fill")
#: The most nodes of a census the map draws (suspects first, then those that answered).
MAX_CRAWLED = 20_000


@dataclass(frozen=True, slots=True)
class MapNode:
    """A node on the map: what the lab says of it, and whether it is ours; or, ``crawled``,
    a node only a crawl found (its info: its id, address and whether it answered);
    ``suspicious``: part of a suspicion of the last crawl's census."""

    info: LabNodeInfo
    own: bool = False
    crawled: bool = False
    suspicious: bool = False

    @property
    def id(self) -> bytes:
        return self.info.id

    @property
    def position(self) -> float:
        """Where its id lies in the id space, from 0 (id 00...) to 1 (id ff...)."""
        return int.from_bytes(self.info.id, "big") / float(1 << 160)

    @property
    def state(self) -> str:
        if self.own:
            return "ours"
        if self.crawled:
            return "crawled" if self.info.alive else "silent"
        return "alive" if self.info.alive else "dead"


class NetworkMapModel(TableModel[MapNode]):
    """Lab nodes (and ours) as rows; see the module docstring."""

    columns = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._index: dict[bytes, int] = {}
        self._crawled: list[LabNodeInfo] = []  # the last census's nodes, as map rows
        self._suspects: frozenset[bytes] = frozenset()  # the ids of its suspicions

    # -- updates ---------------------------------------------------------------

    def set_nodes(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None = None) -> None:
        """Show these nodes (``own``: our node, drawn highlighted), and the last crawl's others."""
        rows = self._rows_of(infos, own)
        new_ids = {r.id for r in rows}
        if len(new_ids) != len(rows) or any(node_id not in new_ids for node_id in self._index):
            self._reset(rows)
            return
        changed: list[int] = []
        added: list[MapNode] = []
        for r in rows:
            at = self._index.get(r.id)
            if at is None:
                added.append(r)
            elif self._rows[at] != r:
                self._rows[at] = r
                changed.append(at)
        if changed:
            self.rows_changed(min(changed), max(changed))
        if added:
            first = len(self._rows)
            for offset, r in enumerate(added):
                self._index[r.id] = first + offset
            self.insert_rows(added)

    def _rows_of(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None) -> list[MapNode]:
        """The rows of these lab nodes, ours, then the last crawl's nodes that are neither."""
        suspects = self._suspects
        rows = [MapNode(i, suspicious=i.id in suspects) for i in infos]
        if own is not None:
            rows.append(MapNode(own, own=True))
        known = {r.id for r in rows}
        return rows + [MapNode(i, crawled=True, suspicious=i.id in suspects) for i in self._crawled if i.id not in known]

    def update_node(self, info: LabNodeInfo) -> None:
        """Change one node at once (e.g. killed from the map), before the next overview."""
        at = self._index.get(info.id)
        if at is None:
            self.set_nodes([r.info for r in self._rows if not r.own and not r.crawled] + [info], self.own_info())
            return
        row = self._rows[at]
        self._rows[at] = MapNode(info, row.own, suspicious=row.suspicious)
        self.rows_changed(at, at)

    def set_crawl(self, census: Census | None, limit: int = MAX_CRAWLED) -> None:
        """Draw the nodes of ``census`` (None: no crawl) beside the lab's, its suspects marked;
        at most ``limit`` of them, the suspects first, then those that answered."""
        self._suspects = frozenset(i for s in census.suspicions for i in s.ids) if census is not None else frozenset()
        nodes = list(census.nodes) if census is not None else []
        if len(nodes) > limit:
            nodes = sorted(nodes, key=lambda n: (n.id not in self._suspects, not n.answered))[:limit]
        self._crawled = [LabNodeInfo(n.id, n.address[0], n.address[1], n.answered, 0, 0, 0.0) for n in nodes]
        lab = [r.info for r in self._rows if not r.own and not r.crawled]
        self._reset(self._rows_of(lab, self.own_info()))  # rows change kind (crawled, suspicious): one reset

    def clear_crawl(self) -> None:
        """Forget the last crawl's nodes and marks (nothing happens when there are none)."""
        if self._crawled or self._suspects:
            self.set_crawl(None)

    def _reset(self, rows: list[MapNode]) -> None:
        self._index = {r.id: i for i, r in enumerate(rows)}
        self.reset_rows(rows)

    def clear(self) -> None:
        self._reset([])

    # -- reading -----------------------------------------------------------------

    def nodes(self) -> list[MapNode]:
        return self.rows()

    def row_node(self, row: int) -> MapNode | None:
        return self.row_at(row)

    def row_of(self, node_id: bytes) -> int:
        """The row of the node with this id, -1 if none."""
        return self._index.get(node_id, -1)

    def own_info(self) -> LabNodeInfo | None:
        for r in self._rows:
            if r.own:
                return r.info
        return None

    def counts(self) -> tuple[int, int]:
        """(lab nodes, of which alive): our own node and the nodes only a crawl found not counted."""
        lab = [r for r in self._rows if not r.own and not r.crawled]
        return len(lab), sum(1 for r in lab if r.info.alive)

    def crawl_counts(self) -> tuple[int, int]:
        """(nodes only the last crawl found, nodes marked suspicious)."""
        return sum(1 for r in self._rows if r.crawled), sum(1 for r in self._rows if r.suspicious)

    # -- cells ---------------------------------------------------------------------

    def cell(self, node: MapNode, column: int, role: int) -> Any:
        info = node.info
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return info.id.hex()[:12] + "\u2026"
            if column == 1:
                return f"{info.host}:{info.port}"
            if column == 2:
                return node.state
            if column == 3:
                return str(info.contacts)
            if column == 4:
                return str(info.buckets)
            if column == 5:
                return f"{info.fill * 100:.0f} %"
        if role == SORT_ROLE:
            return (info.id.hex(), f"{info.host}:{info.port:05d}", node.state, info.contacts, info.buckets,
                    info.fill)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return info.id.hex()
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 3:
            return RIGHT
        return None
