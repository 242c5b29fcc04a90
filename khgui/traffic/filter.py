"""Filtering of the traffic table, and export of the rows shown as JSON lines.

:class:`TrafficFilterModel` filters by method, peer text, direction and
status; it reads the source :class:`TrafficModel`'s raw columns directly (no
``QModelIndex``/``data()`` per row), so re-filtering 100,000 rows stays
quick.  An empty criterion accepts everything.

:func:`write_jsonl` writes any records, one JSON object a line;
:func:`export_rows` writes the rows a filter shows.  Neither needs a dialog,
so both are tested directly; the panel only adds the QFileDialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel

from ..common.export import jsonl_writer, write_atomically
from .model import TrafficModel


class TrafficFilterModel(QSortFilterProxyModel):
    """Shows the rows of a :class:`TrafficModel` matching every set criterion."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._method = ""
        self._peer = ""
        self._direction = ""
        self._state = ""
        self.setDynamicSortFilter(True)

    # -- criteria --------------------------------------------------------------

    @property
    def method(self) -> str:
        return self._method

    @property
    def peer_text(self) -> str:
        return self._peer

    @property
    def direction(self) -> str:
        return self._direction

    @property
    def state(self) -> str:
        return self._state

    def set_method(self, method: str) -> None:
        """Only this method ("" for all)."""
        self._change("_method", method)

    def set_peer_text(self, text: str) -> None:
        """Only peers whose ``host:port`` contains ``text`` ("" for all)."""
        self._change("_peer", text.strip())

    def set_direction(self, direction: str) -> None:
        """``"in"``, ``"out"`` or "" for both."""
        self._change("_direction", direction)

    def set_state(self, state: str) -> None:
        """One of ok, error, timeout, pending, dropped, or "" for all."""
        self._change("_state", state)

    def is_filtering(self) -> bool:
        return bool(self._method or self._peer or self._direction or self._state)

    def _change(self, attr: str, value: str) -> None:
        if getattr(self, attr) == value:
            return
        setattr(self, attr, value)
        # invalidate() rebuilds the mapping in one layoutChanged; an incremental filter
        # change would emit one rowsRemoved per run of hidden rows (50,000 for in/out).
        self.invalidate()

    # -- filtering ---------------------------------------------------------------

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, TrafficModel):
            return True
        if self._direction and model.direction_at(source_row) != self._direction:
            return False
        if self._method and model.method_at(source_row) != self._method:
            return False
        if self._state and model.state_at(source_row) != self._state:
            return False
        if self._peer and self._peer not in model.peer_at(source_row):
            return False
        return True

    def source_rows(self) -> list[int]:
        """The source rows shown, in order."""
        src = self.mapToSource
        return [src(self.index(r, 0)).row() for r in range(self.rowCount())]


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write ``records`` to ``path`` now, one JSON object a line; returns how many (ExportError if not)."""
    return write_atomically(path, jsonl_writer(records))


def shown_records(model: TrafficModel, shown: TrafficFilterModel | None = None) -> list[dict[str, Any]]:
    """The records of the rows ``shown`` (all of ``model``'s when None): a snapshot to export."""
    rows: Iterable[int] = shown.source_rows() if shown is not None else range(model.rowCount())
    return [model.record(row) for row in rows]


def export_rows(path: str | Path, model: TrafficModel, shown: TrafficFilterModel | None = None) -> int:
    """Write the rows ``shown`` (all of ``model``'s when None) to ``path`` now."""
    return write_jsonl(path, shown_records(model, shown))
