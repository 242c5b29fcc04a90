"""Export of traffic rows as JSON lines (one JSON object per message).

:func:`write_jsonl` writes any records; :func:`export_rows` writes the rows a
:class:`TrafficFilterModel` shows.  Neither needs a dialog, so both are
tested directly; the panel only adds the QFileDialog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .filter import TrafficFilterModel
from .model import TrafficModel


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write ``records`` to ``path``, one JSON object a line; returns how many."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count


def export_rows(path: str | Path, model: TrafficModel, shown: TrafficFilterModel | None = None) -> int:
    """Write the rows ``shown`` (all of ``model``'s when None) to ``path``."""
    rows: Iterable[int] = shown.source_rows() if shown is not None else range(model.rowCount())
    return write_jsonl(path, (model.record(row) for row in rows))
