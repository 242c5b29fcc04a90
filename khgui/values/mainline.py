"""What a Mainline node holds, as tables: the peers announced to it and its BEP 44 items.

:class:`StoredPeersModel` lists ``dht.StoredPeerInfo`` records (info-hash,
peer address, seed, expires in) and :class:`StoredItemsModel`
``dht.StoredItemInfo`` records (target, mutable or immutable, seq, a
preview of the value, expires in).  Both are fed whole snapshots
(``await node.stored_peers()`` / ``stored_items()``, or a lab node's
``NodeView``): one ``dataChanged`` when the rows are the same ones, else
one reset.  Their times are monotonic, as ``dht`` gives them;
:meth:`tick` refreshes the "expires in" column once a second (one
``dataChanged``).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush

from ..common.table import RIGHT, SORT_ROLE, TableModel
from ..common.text import bytes_preview, format_duration, format_peer
from ..common.theme import status_color

#: Under this many seconds left, "expires in" is drawn as a warning.
SOON = 60.0


class _SnapshotModel(TableModel[Any]):
    """Rows from a snapshot, identified by :meth:`key`; an "expires in" last column."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, parent: Any = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.now = clock()

    def key(self, row: Any) -> Any:
        raise NotImplementedError

    def set_snapshot(self, rows: Sequence[Any]) -> None:
        """Show ``rows``, sorted by key; a reset only when the set of rows changed."""
        self.now = self._clock()
        self.replace_rows(sorted(rows, key=self.key), key=self.key)

    def clear(self) -> None:
        self.set_snapshot([])

    def tick(self) -> int:
        """Refresh the "expires in" column (one dataChanged) and drop the rows whose time is up
        (the node drops them too, and no event says so); returns how many were dropped."""
        self.now = self._clock()
        expired = [i for i, row in enumerate(self._rows) if float(row.expires) <= self.now]
        self.remove_rows(expired)
        last = len(self.columns) - 1
        self.rows_changed(0, len(self._rows) - 1, last, last)
        return len(expired)

    def records(self) -> list[Any]:
        return self.rows()

    def expires_in(self, row: Any) -> float:
        return max(0.0, float(row.expires) - self.now)

    def cells(self, row: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def sort_keys(self, row: Any) -> tuple[Any, ...]:
        raise NotImplementedError

    def cell(self, row: Any, col: int, role: int) -> Any:
        last = len(self.columns) - 1
        if role == Qt.ItemDataRole.DisplayRole:
            return format_duration(self.expires_in(row)) if col == last else self.cells(row)[col]
        if role == SORT_ROLE:
            return self.expires_in(row) if col == last else self.sort_keys(row)[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == last:
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and col == last and self.expires_in(row) < SOON:
            return QBrush(status_color("error"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row)
        return None

    def tooltip(self, row: Any) -> str:
        return ""


PEER_COLUMNS = ("Info-hash", "Peer", "Seed", "Expires in")


class StoredPeersModel(_SnapshotModel):
    """Peers announced to the node (``StoredPeerInfo``), one row per info-hash and address."""

    columns = PEER_COLUMNS

    def key(self, row: Any) -> Any:
        return (row.info_hash, row.host, row.port)

    def cells(self, row: Any) -> tuple[Any, ...]:
        return (row.info_hash.hex(), format_peer((row.host, row.port)), "seed" if row.seed else "peer")

    def sort_keys(self, row: Any) -> tuple[Any, ...]:
        return (row.info_hash.hex(), f"{row.host}:{row.port:05d}", row.seed)

    def tooltip(self, row: Any) -> str:
        return (f"info-hash {row.info_hash.hex()}\n{format_peer((row.host, row.port))} announced itself as a "
                f"{'seed' if row.seed else 'peer'} {format_duration(self.now - row.added)} ago")

    def info_hash_count(self) -> int:
        return len({r.info_hash for r in self._rows})


ITEM_COLUMNS = ("Target", "Kind", "Seq", "Value", "Expires in")


class StoredItemsModel(_SnapshotModel):
    """BEP 44 items the node holds (``StoredItemInfo``), one row per target."""

    columns = ITEM_COLUMNS

    def key(self, row: Any) -> Any:
        return row.target

    def cells(self, row: Any) -> tuple[Any, ...]:
        mutable = row.public_key is not None
        return (row.target.hex(), "mutable" if mutable else "immutable",
                "\u2013" if row.seq is None else str(row.seq), bytes_preview(row.value, 48))

    def sort_keys(self, row: Any) -> tuple[Any, ...]:
        return (row.target.hex(), row.public_key is not None, -1 if row.seq is None else row.seq,
                bytes_preview(row.value, 48))

    def tooltip(self, row: Any) -> str:
        text = f"target {row.target.hex()}\nvalue (bencoded, {len(row.value)} bytes) {bytes_preview(row.value, 200)}"
        if row.public_key is not None:
            text += f"\nkey {row.public_key.hex()}"
            if row.salt:
                text += f"\nsalt {bytes_preview(row.salt, 64)}"
        return text + f"\nlast put {format_duration(self.now - row.stored)} ago"
