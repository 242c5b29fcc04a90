"""The Samples panel's CSV export: one line per info-hash seen by sampling.

Columns: ``info_hash`` (40 hex digits), ``first_seen`` and ``last_seen``
(ISO 8601, UTC) and ``times_seen`` (walks that returned it).  The file is
written next to its destination and renamed over it at the end, so a
failed export (a directory that is not writable, a full disk) leaves any
earlier file as it was; the error is raised as :class:`ExportError`, whose
text says what to do.
"""

from __future__ import annotations

import csv
import datetime
import os
import tempfile
from pathlib import Path
from typing import Iterable

HEADER = ("info_hash", "first_seen", "last_seen", "times_seen")


class ExportError(Exception):
    """The CSV file could not be written; the text says why, in one line."""


def _iso(wall: float) -> str:
    return datetime.datetime.fromtimestamp(wall, datetime.timezone.utc).isoformat(timespec="seconds")


def write_samples_csv(path: str | Path, records: Iterable[tuple[bytes, float, float, int]]) -> int:
    """Write ``records`` (info-hash, first seen, last seen, times seen) to ``path``; how many lines."""
    target = Path(path)
    count = 0
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            for info_hash, first, last, times in records:
                writer.writerow((info_hash.hex(), _iso(first), _iso(last), times))
                count += 1
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ExportError(f"could not export the samples to {target}: {why.lower()}; "
                          f"choose a folder you can write to") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return count
