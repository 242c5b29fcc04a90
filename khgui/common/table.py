"""The one base of Khashmir Explorer's Qt table models.

:class:`TableModel` answers ``rowCount``, ``columnCount`` and the
horizontal ``headerData`` from the class's :attr:`TableModel.columns` and
the subclass's :meth:`TableModel.row_count`; a subclass adds ``data`` and
its own ways of being fed (always one insert, one dataChanged or one reset
per batch).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class TableModel(QAbstractTableModel):
    """A flat table with fixed, named columns."""

    columns: tuple[str, ...] = ()

    def row_count(self) -> int:
        raise NotImplementedError

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(self.columns):
                return self.columns[section]
        return None

    def rows_changed(self, first: int, last: int, first_column: int = 0, last_column: int | None = None) -> None:
        """One dataChanged over rows ``first..last`` (inclusive) and the given columns."""
        if first <= last:
            end = len(self.columns) - 1 if last_column is None else last_column
            self.dataChanged.emit(self.index(first, first_column), self.index(last, end))
