"""The Clients table: one row per client code with its contacts and traffic.

:class:`ClientStatsModel` shows the rows of a
:class:`~khgui.common.clients.ClientCensus`; it is fed them whole, once a
second (one ``dataChanged`` when the codes are the same, in order, else one
reset).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from ..common.clients import UNKNOWN, ClientRow
from ..common.table import RIGHT, TableModel
from ..common.text import format_size

CLIENT_COLUMNS = ("Code", "Client", "Contacts", "Msgs in", "Msgs out", "Bytes in", "Bytes out")
CODE, NAME, CONTACTS, MSGS_IN, MSGS_OUT, BYTES_IN, BYTES_OUT = range(len(CLIENT_COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole
_Index = QModelIndex | QPersistentModelIndex


class ClientStatsModel(TableModel):
    """Client codes with their contacts and traffic, one row each."""

    columns = CLIENT_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ClientRow] = []

    def set_rows(self, rows: list[ClientRow]) -> None:
        """Show ``rows``: one dataChanged when the codes are the same, in order; else one reset."""
        if [r.code for r in rows] == [r.code for r in self._rows]:
            self._rows = list(rows)
            self.rows_changed(0, len(rows) - 1)
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[ClientRow]:
        return list(self._rows)

    def row_for(self, code: str) -> ClientRow | None:
        return next((r for r in self._rows if r.code == code), None)

    def row_count(self) -> int:
        return len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        r = self._rows[index.row()]
        col = index.column()
        values = (r.code, r.name, r.contacts, r.messages_in, r.messages_out, r.bytes_in, r.bytes_out)
        if role == Qt.ItemDataRole.DisplayRole:
            if col in (BYTES_IN, BYTES_OUT):
                return format_size(int(values[col]))
            return str(values[col]) if col >= CONTACTS else values[col]
        if role == SORT_ROLE:
            return values[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= CONTACTS:
            return RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and col in (CODE, NAME):
            return ("Contacts and messages without v (the client did not say)" if r.code == UNKNOWN
                    else f"{r.name}: the v of its messages starts with {r.code!r}")
        return None
