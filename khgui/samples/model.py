"""What BEP 51 sampling has found: the info-hashes seen and the network-size estimates.

:class:`SampledHashesModel` has one row per distinct info-hash a
``sample_infohashes`` walk returned: when it was first seen (wall clock),
when last, and in how many walks.  A walk's result costs one insert (the
new hashes) and one ``dataChanged`` (the counts of those seen again).  It
keeps at most ``max_rows`` hashes; a walk's hashes beyond that are
counted in :attr:`SampledHashesModel.not_kept`, not stored (a network
hands out as many as it likes).

:class:`SizeEstimates` keeps each walk's network-size estimate from the id
density around its target (``dht.estimate_network_size`` on the closest
nodes that answered) with its relative standard error, and summarises them:
the median over the walks, the spread (25th to 75th percentile), and the
median per-walk error.  One walk's estimate is rough (about ±30 % for
K = 8); the median of many walks at random targets is far steadier.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from PySide6.QtCore import Qt

from ..common.table import RIGHT, SORT_ROLE, TableModel
from ..common.text import format_clock

HASH_COLUMNS = ("Info-hash", "First seen", "Last seen", "Times seen")
HASH, FIRST, LAST, TIMES = range(len(HASH_COLUMNS))
#: Distinct info-hashes kept.
MAX_HASHES = 100_000
#: Walks whose estimates are kept (the oldest go first).
MAX_ESTIMATES = 1_000


class SampledHashesModel(TableModel[list[Any]]):
    """Info-hashes seen by sampling, with first and last seen and how many walks returned each."""

    columns = HASH_COLUMNS

    def __init__(self, max_rows: int = MAX_HASHES, clock: Callable[[], float] = time.time, parent: Any = None) -> None:
        super().__init__(parent)
        # self._rows: [info_hash, first seen, last seen, times]
        self._row_of: dict[bytes, int] = {}
        self._max_rows = max_rows
        self._clock = clock
        self.not_kept = 0
        """Distinct hashes seen but not kept (the table was full)."""

    def add_walk(self, info_hashes: Iterable[bytes], now: float | None = None) -> int:
        """Count one walk's info-hashes; returns how many were new."""
        now = self._clock() if now is None else now
        new: list[list[Any]] = []
        seen_again: list[int] = []
        for info_hash in dict.fromkeys(info_hashes):  # a hash counts once per walk
            row = self._row_of.get(info_hash)
            if row is not None:
                self._rows[row][2] = now
                self._rows[row][3] += 1
                seen_again.append(row)
            elif len(self._rows) + len(new) < self._max_rows:
                self._row_of[info_hash] = len(self._rows) + len(new)
                new.append([info_hash, now, now, 1])
            else:
                self.not_kept += 1
        if seen_again:
            self.rows_changed(min(seen_again), max(seen_again), LAST, TIMES)
        self.insert_rows(new)
        return len(new)

    def clear(self) -> None:
        self._row_of, self.not_kept = {}, 0
        self.reset_rows([])

    def records(self) -> list[tuple[bytes, float, float, int]]:
        """(info-hash, first seen, last seen, times seen) of every row, in row order."""
        return [(r[0], r[1], r[2], r[3]) for r in self._rows]

    def times_seen(self, info_hash: bytes) -> int:
        row = self._row_of.get(info_hash)
        return 0 if row is None else int(self._rows[row][3])

    def cell(self, row: list[Any], col: int, role: int) -> Any:
        info_hash, first, last, times = row
        if role == Qt.ItemDataRole.DisplayRole:
            return (info_hash.hex(), format_clock(first), format_clock(last), str(times))[col]
        if role == SORT_ROLE:
            return (info_hash.hex(), first, last, times)[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col == TIMES:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and col == HASH:
            return f"{info_hash.hex()}\nmagnet:?xt=urn:btih:{info_hash.hex()}"
        return None


@dataclass(frozen=True)
class SizeSummary:
    """The walks' network-size estimates combined."""

    walks: int
    median: float
    low: float  # 25th percentile
    high: float  # 75th percentile
    error: float  # median relative standard error of one walk's estimate

    def describe(self) -> str:
        if self.walks == 0:
            return "no estimate yet"
        text = f"\u2248{self.median:,.0f} nodes (median of {self.walks} walk{'s' if self.walks != 1 else ''}"
        if self.walks >= 2:
            text += f"; half of them within {self.low:,.0f}\u2013{self.high:,.0f}"
        return text + f"; one walk \u00b1{self.error * 100:.0f} %)"


class SizeEstimates:
    """Network-size estimates of the walks so far (bounded), and their summary."""

    def __init__(self, maxlen: int = MAX_ESTIMATES) -> None:
        self._maxlen = maxlen
        self._values: list[tuple[int, float]] = []

    def add(self, estimate: int, error: float) -> None:
        """One walk's estimate and its relative standard error (walks that found nobody: not added)."""
        if estimate <= 0:
            return
        self._values.append((int(estimate), float(error)))
        del self._values[:-self._maxlen]

    def clear(self) -> None:
        self._values.clear()

    def values(self) -> list[tuple[int, float]]:
        return list(self._values)

    def summary(self) -> SizeSummary:
        sizes = sorted(v for v, _e in self._values)
        if not sizes:
            return SizeSummary(0, 0.0, 0.0, 0.0, 0.0)
        if len(sizes) >= 2:
            low, _mid, high = statistics.quantiles(sizes, n=4, method="inclusive")
        else:
            low = high = float(sizes[0])
        error = statistics.median(e for _v, e in self._values)
        return SizeSummary(len(sizes), float(statistics.median(sizes)), float(low), float(high), float(error))
