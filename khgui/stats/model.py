"""The statistics tables: per method (sent, answered, failed, received, errors,
mean RTT) and the defences (blocked sources, drops by reason).

Each method has one colour (:func:`method_color`), the same in the
messages-per-second plot and as a swatch beside its name in the table: the
table is that plot's legend.  Methods doing the same job on the two wires
share a colour (find_value, get_peers and get; store_value, announce_peer
and put).
"""

from __future__ import annotations

from typing import Any

import zlib

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ..common.table import RIGHT, SORT_ROLE, TableModel

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FIELDS = ("sent", "answered", "failed", "received", "errors")


PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")
_METHOD_COLORS = {
    "find_node": PALETTE[0], "find_value": PALETTE[1], "get_peers": PALETTE[1], "get": PALETTE[1],
    "ping": PALETTE[2], "store_value": PALETTE[3], "announce_peer": PALETTE[3], "put": PALETTE[3],
    "sample_infohashes": PALETTE[4], "get_value": PALETTE[5], "join": PALETTE[6],
}


def method_color(method: str) -> str:
    """A KRPC method's colour in the rates plot and the table (``#rrggbb``)."""
    return _METHOD_COLORS.get(method) or PALETTE[zlib.crc32(method.encode()) % len(PALETTE)]


class MethodStatsModel(TableModel[tuple[str, Any]]):
    """One row per KRPC method, from ``node.stats().methods``."""

    HEADERS = ("Method", "Sent", "Answered", "Failed", "Received", "Errors", "Mean RTT")
    columns = HEADERS

    def set_methods(self, methods: dict[str, Any]) -> None:
        """Show ``methods`` (name -> MethodStats); reset only when names change."""
        self.replace_rows(sorted(methods.items()), key=lambda r: r[0])

    def totals(self) -> dict[str, int]:
        return {f: sum(int(getattr(s, f, 0) or 0) for _, s in self._rows) for f in _FIELDS}

    def cell(self, row: tuple[str, Any], col: int, role: int) -> Any:
        name, s = row
        if role == _DISPLAY or role == SORT_ROLE:
            if col == 0:
                return name
            if 1 <= col <= 5:
                value = int(getattr(s, _FIELDS[col - 1], 0) or 0)
                return f"{value:,}" if role == _DISPLAY else value
            rtt = getattr(s, "mean_rtt", None)
            if role == SORT_ROLE:
                return -1.0 if rtt is None else float(rtt)
            return "\u2013" if rtt is None else f"{rtt * 1000:.1f} ms"
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return QColor(method_color(name))  # the plot's legend
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{name}: this colour in the messages / s plot (solid: sent, dashed: received)"
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return RIGHT
        return None


#: The defences' gauges of a snapshot, shown before the drop reasons.
DEFENCE_GAUGES = (
    ("blocked_peers", "sources blocked now"),
    ("blocks", "blocks since start"),
    ("tracked_peers", "sources tracked"),
)


class DefenceStatsModel(TableModel[tuple[str, int]]):
    """The defences of ``node.stats()``: blocked sources, then drops by reason.

    The reasons are the snapshot's fixed set (``drops``), so the rows change
    only when a node with another set is shown.
    """

    HEADERS = ("Defence", "Count")
    columns = HEADERS

    def set_snapshot(self, snapshot: Any | None) -> None:
        """Show the gauges and drop counts of ``snapshot`` (None: nothing)."""
        rows: list[tuple[str, int]] = []
        if snapshot is not None:
            rows = [(label, int(getattr(snapshot, name, 0) or 0)) for name, label in DEFENCE_GAUGES]
            drops = getattr(snapshot, "drops", None) or {}
            rows += [(f"dropped: {reason}", int(n)) for reason, n in drops.items()]
        self.replace_rows(rows, key=lambda r: r[0])

    def count(self, label: str) -> int | None:
        """The count shown for ``label`` (None if there is no such row)."""
        return next((n for name, n in self._rows if name == label), None)

    def cell(self, row: tuple[str, int], col: int, role: int) -> Any:
        label, n = row
        if role == _DISPLAY:
            return label if col == 0 else f"{n:,}"
        if role == SORT_ROLE:
            return label if col == 0 else n
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return RIGHT
        return None
