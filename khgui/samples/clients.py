"""The Clients table: one row per client code with its contacts and traffic.

:class:`ClientStatsModel` shows the rows of a
:class:`~khgui.common.clients.ClientCensus`; it is fed them whole, once a
second (one ``dataChanged`` when the codes are the same, in order, else one
reset).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ..common.clients import UNKNOWN, ClientRow
from ..common.table import RIGHT, SORT_ROLE, TableModel
from ..common.text import format_size

CLIENT_COLUMNS = ("Code", "Client", "Contacts", "Msgs in", "Msgs out", "Bytes in", "Bytes out")
CODE, NAME, CONTACTS, MSGS_IN, MSGS_OUT, BYTES_IN, BYTES_OUT = range(len(CLIENT_COLUMNS))


class ClientStatsModel(TableModel[ClientRow]):
    """Client codes with their contacts and traffic, one row each."""

    columns = CLIENT_COLUMNS

    def set_rows(self, rows: list[ClientRow]) -> None:
        """Show ``rows``: one dataChanged when the codes are the same, in order; else one reset."""
        self.replace_rows(rows, key=lambda r: r.code)

    def row_for(self, code: str) -> ClientRow | None:
        return next((r for r in self._rows if r.code == code), None)

    def cell(self, r: ClientRow, col: int, role: int) -> Any:
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
