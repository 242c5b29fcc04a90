"""The one base of Khashmir Explorer's Qt table models, and the filter box of their views.

:class:`TableModel` answers ``rowCount``, ``columnCount`` and the
horizontal ``headerData`` from the class's :attr:`TableModel.columns` and
the subclass's :meth:`TableModel.row_count`; a subclass adds ``data`` and
its own ways of being fed (always one insert, one dataChanged or one reset
per batch).  :func:`filter_box` is the line edit that filters the views'
sort/filter proxies: the rows with the text in any column (any case).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QLineEdit

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


def filter_box(proxies: list[QSortFilterProxyModel], placeholder: str = "filter\u2026") -> QLineEdit:
    """A line edit that keeps only the rows of ``proxies`` with its text in any column (any case)."""
    edit = QLineEdit()
    edit.setObjectName("filter")
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    edit.setToolTip("Only the rows with this text in any column (any case); empty: every row")
    for proxy in proxies:
        proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        proxy.setFilterKeyColumn(-1)

    def changed(text: str) -> None:
        for proxy in proxies:
            proxy.setFilterFixedString(text.strip())

    edit.textChanged.connect(changed)
    return edit
