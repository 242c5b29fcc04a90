"""The split/merge history of the routing table, and its plot.

:class:`SplitHistory` (no Qt) records the number of buckets over time as
split and merge events arrive and as refreshes report the real count.
:class:`SplitHistories` keeps one per node shown (ours and the lab nodes
put in focus), so that focusing a lab node and coming back to ours finds
our history as it was, its time axis going on.
:class:`HistoryPlotView` draws it with pyqtgraph: one step curve for the
bucket count (updated with ``setData``) and markers for splits and merges.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from ..common.plotting import legend_below
from ..common.theme import colors

MAX_POINTS = 4000
#: Histories of nodes other than ours kept at most (the least recently shown go first).
MAX_OTHER_HISTORIES = 16


@dataclass(frozen=True)
class SplitMark:
    """A split or merge at ``t`` seconds, after which there were ``count`` buckets."""

    t: float
    kind: str  # "split" or "merge"
    count: int
    lo: int
    hi: int


class SplitHistory:
    """Bucket count over time with split/merge marks (bounded)."""

    def __init__(self, origin: float, maxlen: int = MAX_POINTS) -> None:
        self.origin = origin
        self.count = 1
        self.times: collections.deque[float] = collections.deque(maxlen=maxlen)
        self.counts: collections.deque[int] = collections.deque(maxlen=maxlen)
        self.marks: collections.deque[SplitMark] = collections.deque(maxlen=maxlen)
        self.splits = 0
        self.merges = 0
        self._append(origin, 1)

    def _append(self, when: float, count: int) -> None:
        t = max(0.0, when - self.origin)
        if self.times and t < self.times[-1]:
            t = self.times[-1]
        if self.counts:  # a step: hold the previous value until now
            self.times.append(t)
            self.counts.append(self.counts[-1])
        self.times.append(t)
        self.counts.append(count)
        self.count = count

    def split(self, when: float, lo: int, hi: int) -> None:
        self.splits += 1
        self._append(when, self.count + 1)
        self.marks.append(SplitMark(self.times[-1], "split", self.count, lo, hi))

    def merge(self, when: float, lo: int, hi: int) -> None:
        self.merges += 1
        self._append(when, max(1, self.count - 1))
        self.marks.append(SplitMark(self.times[-1], "merge", self.count, lo, hi))

    def observe(self, when: float, count: int) -> None:
        """The real bucket count at ``when`` (corrects drift, extends the curve)."""
        if count != self.count or not self.times:
            self._append(when, count)
        else:
            t = max(0.0, when - self.origin)
            if len(self.times) >= 2 and self.counts[-2] == count and self.times[-1] != self.times[-2]:
                self.times[-1] = max(self.times[-1], t)  # extend the flat segment
            else:
                self.times.append(max(self.times[-1], t))
                self.counts.append(count)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.fromiter(self.times, float, len(self.times)), np.fromiter(self.counts, float, len(self.counts))

    def mark_arrays(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        marks = [m for m in self.marks if m.kind == kind]
        return (np.array([m.t for m in marks], dtype=float), np.array([m.count for m in marks], dtype=float))


class SplitHistories:
    """A :class:`SplitHistory` per node id; ours (``own``) is never dropped."""

    def __init__(self, maxlen: int = MAX_POINTS, others: int = MAX_OTHER_HISTORIES) -> None:
        self._maxlen = maxlen
        self._others = others
        self._histories: collections.OrderedDict[bytes, SplitHistory] = collections.OrderedDict()
        self.own: bytes | None = None

    def get(self, node_id: bytes, now: float) -> SplitHistory:
        """The history of ``node_id``, a new one from ``now`` the first time."""
        history = self._histories.get(node_id)
        if history is None:
            history = self._histories[node_id] = SplitHistory(now, self._maxlen)
        self._histories.move_to_end(node_id)
        others = [k for k in self._histories if k != self.own]
        for k in others[:max(0, len(others) - self._others)]:
            del self._histories[k]
        return history

    def __contains__(self, node_id: bytes) -> bool:
        return node_id in self._histories

    def __len__(self) -> int:
        return len(self._histories)


class HistoryPlotView(pg.PlotWidget):  # type: ignore[misc]
    """Buckets over time, with split (green) and merge (orange) markers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=colors().plot_bg)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("left", "buckets")
        item.setLabel("bottom", "time", units="s")
        item.setMouseEnabled(x=True, y=False)
        legend_below(item, columns=3)
        self.curve = item.plot([], [], pen=pg.mkPen("#2563eb", width=2), name="buckets")
        self.split_marks = pg.ScatterPlotItem(
            size=10, symbol="t1", brush=pg.mkBrush("#22c55e"), pen=pg.mkPen("#15803d"), name="split")
        self.merge_marks = pg.ScatterPlotItem(
            size=10, symbol="t", brush=pg.mkBrush("#f97316"), pen=pg.mkPen("#c2410c"), name="merge")
        item.addItem(self.split_marks)
        item.addItem(self.merge_marks)
        self.setMinimumHeight(130)

    def show_history(self, history: SplitHistory) -> None:
        x, y = history.arrays()
        self.curve.setData(x, y)
        sx, sy = history.mark_arrays("split")
        self.split_marks.setData(sx, sy)
        mx, my = history.mark_arrays("merge")
        self.merge_marks.setData(mx, my)
