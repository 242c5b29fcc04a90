"""The table behind the network map: one row per lab node (and ours).

:class:`NetworkMapModel` holds :class:`MapNode` rows -- a
:class:`dht.LabNodeInfo` and whether it is our own node -- with columns id,
address, state, contacts, buckets and table fill.  :meth:`set_nodes` takes
a whole overview (as ``LabThread.overview()`` returns it, once a second)
and keeps row identity: rows whose values changed get one ``dataChanged``
over the span they cover, new nodes are appended with one insert, and only
a node that disappeared resets the model.  The map view, and any list of
lab nodes, read it through :meth:`row_node` / :data:`NODE_ROLE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from dht import LabNodeInfo

NODE_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("id", "address", "state", "contacts", "buckets", "table fill")
_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class MapNode:
    """A node on the map: what the lab says of it, and whether it is ours."""

    info: LabNodeInfo
    own: bool = False

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
        return "alive" if self.info.alive else "dead"


class NetworkMapModel(QAbstractTableModel):
    """Lab nodes (and ours) as rows; see the module docstring."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[MapNode] = []
        self._index: dict[bytes, int] = {}

    # -- updates ---------------------------------------------------------------

    def set_nodes(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None = None) -> None:
        """Show these nodes (``own``: our node, drawn highlighted)."""
        rows = [MapNode(i) for i in infos]
        if own is not None:
            rows.append(MapNode(own, own=True))
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
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1))
        if added:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            for offset, r in enumerate(added):
                self._index[r.id] = first + offset
            self._rows.extend(added)
            self.endInsertRows()

    def update_node(self, info: LabNodeInfo) -> None:
        """Change one node at once (e.g. killed from the map), before the next overview."""
        at = self._index.get(info.id)
        if at is None:
            self.set_nodes([r.info for r in self._rows if not r.own] + [info], self.own_info())
            return
        self._rows[at] = MapNode(info, self._rows[at].own)
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(COLUMNS) - 1))

    def _reset(self, rows: list[MapNode]) -> None:
        self.beginResetModel()
        self._rows = rows
        self._index = {r.id: i for i, r in enumerate(rows)}
        self.endResetModel()

    def clear(self) -> None:
        self._reset([])

    # -- reading -----------------------------------------------------------------

    def nodes(self) -> list[MapNode]:
        return list(self._rows)

    def row_node(self, row: int) -> MapNode | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, node_id: bytes) -> int:
        """The row of the node with this id, -1 if none."""
        return self._index.get(node_id, -1)

    def own_info(self) -> LabNodeInfo | None:
        for r in self._rows:
            if r.own:
                return r.info
        return None

    def counts(self) -> tuple[int, int]:
        """(lab nodes, of which alive): our own node not counted."""
        lab = [r for r in self._rows if not r.own]
        return len(lab), sum(1 for r in lab if r.info.alive)

    # -- Qt ------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        node = self._rows[index.row()]
        info, column = node.info, index.column()
        if role == NODE_ROLE:
            return node
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
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
