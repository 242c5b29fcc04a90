"""The network map's rows as numpy columns, so the map reads 10,000 nodes without a Python loop.

:class:`NodeColumns` mirrors the rows of a
:class:`~khgui.map.model.NetworkMapModel`: per row its place in the id space
(:attr:`NodeColumns.position`, 0 for id 00... to 1 for ff...), a spread
(:attr:`NodeColumns.spread`, -0.5 to 0.5, from the id's next bytes: where
the view draws it across the ring when the ring is crowded), whether it is
alive, its contacts, bucket count, table fill and port, and its kind (ours, only crawled,
suspicious).  The model keeps it in step with its rows: rebuilt on a reset
(one pass over the rows), written at the rows a ``dataChanged`` covers and
extended by an insert.  An overview compares with it column by column
(:meth:`NodeColumns.values_of`, :meth:`NodeColumns.differ`): at 10,000 nodes
the model makes a row only for a node that changed, and the view, the counts
and the legend are a few vectorised operations instead of a loop each.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Protocol, Sequence

import numpy as np

from dht import LabNodeInfo


class MapNode(Protocol):
    """What a row of the map holds (:class:`khgui.map.model.MapNode` is one)."""

    @property
    def info(self) -> LabNodeInfo: ...
    @property
    def own(self) -> bool: ...
    @property
    def crawled(self) -> bool: ...
    @property
    def suspicious(self) -> bool: ...

_SPACE = float(1 << 64)


class NodeColumns:
    """The map's rows, column by column (see the module docstring).  Read, never written, by views."""

    __slots__ = ("position", "spread", "alive", "contacts", "buckets", "fill", "port", "own", "crawled", "suspicious")
    #: The columns an overview changes (the others follow from a row's id and kind).
    VALUES = ("alive", "contacts", "buckets", "fill", "port")

    def __init__(self, rows: Sequence[MapNode] = ()) -> None:
        n = len(rows)
        ids = b"".join([r.info.id[:10].ljust(10, b"\0") for r in rows])
        raw = np.frombuffer(ids, dtype=np.uint8).reshape(n, 10) if n else np.zeros((0, 10), dtype=np.uint8)
        self.position: np.ndarray = raw[:, :8].copy().view(">u8").reshape(n).astype(np.float64) / _SPACE
        self.spread: np.ndarray = raw[:, 8:10].copy().view(">u2").reshape(n).astype(np.float64) / 65536.0 - 0.5
        self.alive: np.ndarray = np.fromiter((r.info.alive for r in rows), dtype=bool, count=n)
        self.contacts: np.ndarray = np.fromiter((r.info.contacts for r in rows), dtype=np.int32, count=n)
        self.buckets: np.ndarray = np.fromiter((r.info.buckets for r in rows), dtype=np.int32, count=n)
        self.fill: np.ndarray = np.fromiter((r.info.fill for r in rows), dtype=np.float64, count=n)
        self.port: np.ndarray = np.fromiter((r.info.port for r in rows), dtype=np.int32, count=n)
        self.own: np.ndarray = np.fromiter((r.own for r in rows), dtype=bool, count=n)
        self.crawled: np.ndarray = np.fromiter((r.crawled for r in rows), dtype=bool, count=n)
        self.suspicious: np.ndarray = np.fromiter((r.suspicious for r in rows), dtype=bool, count=n)

    def __len__(self) -> int:
        return len(self.alive)

    def write(self, at: Sequence[int], rows: Sequence[MapNode]) -> None:
        """Rows ``at`` are now ``rows`` (the same nodes: their ids, hence places, are unchanged)."""
        if not at:
            return
        other = NodeColumns(rows)
        where = np.asarray(at, dtype=np.intp)
        for name in self.__slots__:
            getattr(self, name)[where] = getattr(other, name)

    @classmethod
    def values_of(cls, infos: Sequence[LabNodeInfo]) -> dict[str, np.ndarray]:
        """The :data:`VALUES` columns of these lab nodes' infos (one pass each, in C)."""
        n = len(infos)
        return {name: np.fromiter(map(attrgetter(name), infos), dtype=dtype, count=n)
                for name, dtype in (("alive", bool), ("contacts", np.int32), ("buckets", np.int32),
                                    ("fill", np.float64), ("port", np.int32))}

    def differ(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
        """Where ``values`` (from :meth:`values_of`) differ from what rows ``rows`` hold."""
        diff = np.zeros(len(rows), dtype=bool)
        for name in self.VALUES:
            diff |= getattr(self, name)[rows] != values[name]
        return diff

    def assign(self, rows: np.ndarray, values: dict[str, np.ndarray], which: np.ndarray) -> None:
        """Rows ``rows[which]`` take ``values[which]`` (same nodes, new values)."""
        for name in self.VALUES:
            getattr(self, name)[rows[which]] = values[name][which]

    def extend(self, rows: Sequence[MapNode]) -> None:
        """``rows`` appended after the others."""
        if not rows:
            return
        other = NodeColumns(rows)
        for name in self.__slots__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    # -- what the panel and the legend read -------------------------------------------

    def lab(self) -> np.ndarray:
        """Which rows are lab nodes (neither ours nor only a crawl's)."""
        mask: np.ndarray = ~(self.own | self.crawled)
        return mask

    def counts(self) -> tuple[int, int]:
        """(lab nodes, of which alive)."""
        lab = self.lab()
        return int(lab.sum()), int((lab & self.alive).sum())

    def crawl_counts(self) -> tuple[int, int]:
        """(rows only a crawl found, rows marked suspicious)."""
        return int(self.crawled.sum()), int(self.suspicious.sum())

    def own_row(self) -> int:
        """Our node's row, -1 if none."""
        rows = np.flatnonzero(self.own)
        return int(rows[0]) if len(rows) else -1
