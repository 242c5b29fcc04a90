"""The one base of Khashmir Explorer's Qt table models, and the filter box of their views.

:class:`TableModel` holds the rows (``_rows``, a list of records of the
model's own type), answers ``rowCount``, ``columnCount``, the horizontal
``headerData`` from the class's :attr:`TableModel.columns`, and ``data``:
it checks the index, answers :data:`ROW_ROLE` with the row's record and
hands every other role to the subclass's :meth:`TableModel.cell`.  Every
view sorts by the one :data:`SORT_ROLE`.  The ways of feeding a model are
here too, each one Qt notification per batch: :meth:`TableModel.replace_rows`
(one ``dataChanged`` over the rows that changed when the rows are the same
ones, none when nothing changed, else one reset),
:meth:`TableModel.insert_rows` (one insert), :meth:`TableModel.remove_rows`
(one remove per contiguous run) and :meth:`TableModel.rows_changed`.
A subclass says its columns and its cells.

:func:`filter_box` is the line edit that filters the views'
sort/filter proxies: the rows with the text in any column (any case).
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Hashable, Sequence, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView

Index = QModelIndex | QPersistentModelIndex
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
#: The record of a row (a ``BucketRow``, a ``MapNode``...), for views and panels that draw it.
ROW_ROLE = int(Qt.ItemDataRole.UserRole)
#: The value a column sorts by (numbers as numbers): the sort role of every table's proxy.
SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1

R = TypeVar("R")


class TableModel(QAbstractTableModel, Generic[R]):
    """A flat table with fixed, named columns over a list of records (see the module docstring)."""

    columns: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[R] = []

    # -- what a subclass says ---------------------------------------------------------

    def cell(self, row: R, column: int, role: int) -> Any:
        """The ``role`` data of ``column`` in the record ``row`` (None: nothing)."""
        return None

    # -- reading ------------------------------------------------------------------------

    def row_count(self) -> int:
        return len(self._rows)

    def rows(self) -> list[R]:
        """The records, in row order (a copy)."""
        return list(self._rows)

    def row_at(self, row: int) -> R | None:
        """The record at ``row``, or None."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    # -- Qt -----------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(self.columns):
                return self.columns[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._rows):
            return None
        if role == ROW_ROLE:
            return self._rows[row]
        return self.cell(self._rows[row], index.column(), int(role))

    # -- feeding: one notification per batch -------------------------------------------

    def replace_rows(self, rows: Sequence[R], key: Callable[[R], Hashable], changed_only: bool = True) -> None:
        """Show ``rows``: when their keys are those shown, in order, one dataChanged over the span
        of the rows that differ (none if none does; every row unless ``changed_only``, for a
        model whose cells move with its clock); else one reset."""
        if [key(r) for r in rows] == [key(r) for r in self._rows]:
            old, self._rows = self._rows, list(rows)
            if not changed_only:
                self.rows_changed(0, len(self._rows) - 1)
                return
            changed = [i for i, (a, b) in enumerate(zip(old, self._rows)) if a != b]
            if changed:
                self.rows_changed(changed[0], changed[-1])
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def insert_rows(self, rows: Sequence[R]) -> None:
        """Append ``rows`` at the end with one insert (nothing when empty)."""
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()

    def remove_rows(self, rows: Sequence[int]) -> None:
        """Remove the rows numbered ``rows`` (ascending): one remove per contiguous run, from the bottom."""
        runs: list[list[int]] = []
        for row in rows:
            if runs and row == runs[-1][1] + 1:
                runs[-1][1] = row
            else:
                runs.append([row, row])
        for first, last in reversed(runs):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()

    def reset_rows(self, rows: Sequence[R]) -> None:
        """Replace every row with one reset."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows_changed(self, first: int, last: int, first_column: int = 0, last_column: int | None = None) -> None:
        """One dataChanged over rows ``first..last`` (inclusive) and the given columns."""
        if first <= last:
            end = len(self.columns) - 1 if last_column is None else last_column
            self.dataChanged.emit(self.index(first, first_column), self.index(last, end))


def filter_box(proxies: Sequence[QSortFilterProxyModel], placeholder: str = "filter\u2026") -> QLineEdit:
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


def sortable_table(
    model: QAbstractTableModel, resize: QHeaderView.ResizeMode = QHeaderView.ResizeMode.ResizeToContents,
) -> tuple[QTableView, QSortFilterProxyModel]:
    """A sortable table view of ``model`` through a proxy (sorted by SORT_ROLE), rows
    selected whole, no row numbers, its last column stretched; the view and the proxy."""
    proxy = QSortFilterProxyModel(model)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(resize)
    view.horizontalHeader().setStretchLastSection(True)
    return view, proxy
