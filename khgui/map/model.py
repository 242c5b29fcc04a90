"""The table behind the network map: one row per lab node (and ours).

:class:`NetworkMapModel` holds :class:`MapNode` rows -- a
:class:`dht.LabNodeInfo` and whether it is our own node -- with columns id,
address, state, contacts, buckets and table fill.  :meth:`set_nodes` takes
a whole overview (as ``LabThread.overview()`` returns it, once a second)
and keeps row identity: rows whose values changed get one ``dataChanged``
over the span they cover, new nodes are appended with one insert, and only
a node that disappeared resets the model.  The map view, and any list of
lab nodes, read it through :meth:`row_node` / :data:`NODE_ROLE`; the view,
the counts and the legend read :meth:`NetworkMapModel.node_columns` (numpy
columns of the rows, :mod:`khgui.map.columns`), which the model keeps in
step.  An overview of 10,000 nodes costs one pass over it: a new row is
made only for a node whose info changed.

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

from typing import Any, NamedTuple, Sequence

import numpy as np
from PySide6.QtCore import Qt

from dht import Census, LabNodeInfo

from ..common.table import RIGHT, ROW_ROLE, SORT_ROLE, TableModel
from .columns import NodeColumns

#: A row's :class:`MapNode` (the tables' :data:`~khgui.common.table.ROW_ROLE`).
NODE_ROLE = ROW_ROLE
COLUMNS = ("id", "address", "state", "contacts", "buckets", "table fill")
#: The most nodes of a census the map draws (suspects first, then those that answered).
MAX_CRAWLED = 20_000


class MapNode(NamedTuple):
    """A node on the map: what the lab says of it, and whether it is ours; or, ``crawled``,
    a node only a crawl found (its info: its id, address and whether it answered);
    ``suspicious``: part of a suspicion of the last crawl's census.  A named tuple (immutable,
    compared by value) rather than a frozen dataclass: an overview of 10,000 nodes makes
    thousands, and a tuple is made in a fifth of the time."""

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
        self._columns = NodeColumns()
        self._last_ids: list[bytes] | None = None  # the last overview's ids, in its order
        self._last_rows = np.zeros(0, dtype=np.intp)  # the row of each

    # -- updates ---------------------------------------------------------------

    def set_nodes(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None = None) -> None:
        """Show these nodes (``own``: our node, drawn highlighted), and the last crawl's others."""
        if self._set_same(infos, own):
            return
        if not self._rows:  # the first overview: one reset
            self._reset(self._rows_of(infos, own))
        elif not self._set_known(infos, own):
            self._set_any(infos, own)
        ids = [i.id for i in infos]
        self._last_ids = ids
        self._last_rows = np.fromiter((self._index[i] for i in ids), dtype=np.intp, count=len(ids))

    def _set_same(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None) -> bool:
        """The usual overview, vectorised: the last one's nodes in the same order (newcomers after
        them), ours the same node.  Rows are made only for the nodes that changed.  False (nothing
        done) if it is not that."""
        last = self._last_ids
        if last is None or len(infos) < len(last):
            return False
        n = len(last)
        ids = [i.id for i in infos]
        if ids[:n] != last:
            return False
        rows, columns = self._rows, self._columns
        own_row = columns.own_row()
        if (own is None) != (own_row < 0) or (own is not None and rows[own_row].id != own.id):
            return False
        tail = infos[n:]
        if tail and (len(set(ids[n:])) != len(tail) or any(i in self._index for i in ids[n:])):
            return False
        head = infos[:n] if tail else infos
        at_rows = self._last_rows
        values = NodeColumns.values_of(head)
        which = np.flatnonzero(columns.differ(at_rows, values))
        changed = at_rows[which].tolist()
        for k, at in zip(which.tolist(), changed):
            rows[at] = MapNode(head[k], suspicious=rows[at].suspicious)
        columns.assign(at_rows, values, which)
        if own is not None and rows[own_row].info != own:
            rows[own_row] = MapNode(own, own=True)
            columns.write([own_row], [rows[own_row]])
            changed.append(own_row)
        if changed:
            self.rows_changed(min(changed), max(changed))
        if tail:
            first = len(rows)
            self._add([MapNode(i, suspicious=i.id in self._suspects) for i in tail])
            self._last_ids = ids
            self._last_rows = np.concatenate([at_rows, np.arange(first, first + len(tail), dtype=np.intp)])
        return True

    def _set_known(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None) -> bool:
        """The common case, in one pass: every row shown is still there and keeps its kind (a lab
        node stays one, ours stays ours), some changed, some are new.  False (nothing done) if not."""
        rows, index = self._rows, self._index
        own_at = index.get(own.id, -1) if own is not None else -1
        if (own is not None and (own_at < 0 or not rows[own_at].own)) or (own is None and self._columns.own.any()):
            return False  # our node came, went or changed id: rare, the general way
        updates: list[tuple[int, MapNode]] = []
        added: list[MapNode] = []
        added_ids: set[bytes] = set()
        kept: set[int] = set()
        for info in infos:
            at = index.get(info.id)
            if at is None:
                if info.id in added_ids:
                    return False  # a node twice
                added_ids.add(info.id)
                added.append(MapNode(info, suspicious=info.id in self._suspects))
                continue
            row = rows[at]
            if row.own or row.crawled:
                return False  # a row changes kind
            kept.add(at)
            if row.info != info:
                updates.append((at, MapNode(info, suspicious=row.suspicious)))
        if own is not None:
            kept.add(own_at)
            if rows[own_at].info != own:
                updates.append((own_at, MapNode(own, own=True)))
        if len(kept) + self._columns.crawl_counts()[0] != len(rows) or len(kept) + len(added) != len(infos) + (own is not None):
            return False  # a node went, or one came twice
        if updates:
            for at, row in updates:
                rows[at] = row
            self._columns.write([at for at, _ in updates], [row for _, row in updates])
            self.rows_changed(min(at for at, _ in updates), max(at for at, _ in updates))
        if added:
            self._add(added)
        return True

    def _add(self, added: list[MapNode]) -> None:
        first = len(self._rows)
        for offset, r in enumerate(added):
            self._index[r.id] = first + offset
        self._columns.extend(added)
        self.insert_rows(added)

    def _set_any(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None) -> None:
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
            self._columns.write(changed, [self._rows[at] for at in changed])
            self.rows_changed(min(changed), max(changed))
        if added:
            self._add(added)

    def _rows_of(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None) -> list[MapNode]:
        """The rows of these lab nodes (each once), ours, then the last crawl's nodes that are neither."""
        suspects = self._suspects
        known: set[bytes] = set()
        rows: list[MapNode] = []
        for i in infos:
            if i.id not in known:  # a node listed twice: shown once
                known.add(i.id)
                rows.append(MapNode(i, suspicious=i.id in suspects))
        if own is not None:
            rows = [r for r in rows if r.id != own.id] + [MapNode(own, own=True)]
            known.add(own.id)
        return rows + [MapNode(i, crawled=True, suspicious=i.id in suspects) for i in self._crawled if i.id not in known]

    def update_node(self, info: LabNodeInfo) -> None:
        """Change one node at once (e.g. killed from the map), before the next overview."""
        at = self._index.get(info.id)
        if at is None:
            self.set_nodes([r.info for r in self._rows if not r.own and not r.crawled] + [info], self.own_info())
            return
        row = self._rows[at]
        self._rows[at] = MapNode(info, row.own, suspicious=row.suspicious)
        self._columns.write([at], [self._rows[at]])
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
        self._columns = NodeColumns(rows)
        self._last_ids = None  # rows moved: the next overview goes the general way
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

    def node_columns(self) -> NodeColumns:
        """The rows as numpy columns (kept in step with every change; read only)."""
        return self._columns

    def own_info(self) -> LabNodeInfo | None:
        row = self._columns.own_row()
        return self._rows[row].info if row >= 0 else None

    def counts(self) -> tuple[int, int]:
        """(lab nodes, of which alive): our own node and the nodes only a crawl found not counted."""
        return self._columns.counts()

    def crawl_counts(self) -> tuple[int, int]:
        """(nodes only the last crawl found, nodes marked suspicious)."""
        return self._columns.crawl_counts()

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
