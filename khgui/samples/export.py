"""The Samples panel's CSV export: one line per info-hash seen by sampling.

Columns: ``info_hash`` (40 hex digits), ``first_seen`` and ``last_seen``
(ISO 8601, UTC) and ``times_seen`` (walks that returned it).  Written
through :mod:`khgui.common.export` (off the GUI thread from the panel; a
special file refused; an earlier file left as it was when writing fails).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Callable, Iterable, TextIO

from ..common.export import ExportError, csv_writer, write_atomically

__all__ = ["HEADER", "ExportError", "samples_writer", "write_samples_csv"]

HEADER = ("info_hash", "first_seen", "last_seen", "times_seen")


def samples_writer(records: Iterable[tuple[bytes, float, float, int]]) -> Callable[[TextIO], int]:
    """The CSV of ``records`` (info-hash, first seen, last seen, times seen), for the Exporter."""
    return csv_writer(HEADER, ((h.hex(), _iso(first), _iso(last), times) for h, first, last, times in records))


def _iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(timespec="seconds")


def write_samples_csv(path: str | Path, records: Iterable[tuple[bytes, float, float, int]]) -> int:
    """Write ``records`` to ``path`` now (on this thread); how many lines.  ExportError saying why not."""
    return write_atomically(path, samples_writer(records))
