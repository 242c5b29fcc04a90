"""A lookup's hops as a table and a live plot, and a store's result.

:class:`HopsModel` has one row per request a lookup sent (a contact can be
asked twice: find_value then get_value, find_node then store_value); a
``LookupAnswered`` settles the oldest open row of its contact.  Each batch
costs at most one insert and one dataChanged.  :class:`StoreResultModel`
lists the nodes that accepted or refused a store.

:class:`LookupPlotView` is a pyqtgraph plot with one scatter per outcome
(queried and still open, answered, had values, stored, timed out, error,
refused), each with its own symbol and colour and a legend entry.  It is
updated with ``setData`` on those scatters, never by adding items.
"""

from __future__ import annotations

from typing import Any, Iterable

import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QWidget

from dht.events import LookupAnswered, LookupQueried

OUTCOME_COLOURS = {
    "queried": "#9e9e9e",
    "answered": "#1e88e5",
    "values": "#2e7d32",
    "stored": "#00897b",
    "timeout": "#ef6c00",
    "error": "#c62828",
    "refused": "#8e24aa",
}
HOP_COLUMNS = ("Contact", "log\u2082 dist", "Outcome", "Asked at", "Took", "Detail")
CONTACT, DISTANCE, OUTCOME, ASKED, TOOK, DETAIL = range(len(HOP_COLUMNS))
_Index = QModelIndex | QPersistentModelIndex
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class _TableBase(QAbstractTableModel):
    """Header and counting shared by the two tables."""

    columns: tuple[str, ...] = ()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows())

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(self.columns):
                return self.columns[section]
        return None

    def _rows(self) -> list[Any]:
        raise NotImplementedError


class HopsModel(_TableBase):
    """The requests of one lookup: contact, distance, outcome and timing."""

    columns = HOP_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._data: list[list[Any]] = []  # [contact, log2, outcome, asked, answered, detail]
        self._open: dict[bytes, list[int]] = {}
        self._last: dict[bytes, int] = {}  # contact id: its latest settled row
        self._t0 = 0.0
        self.self_id: bytes | None = None
        """Our node's id: its row is labelled "(this node)"."""

    def _rows(self) -> list[Any]:
        return self._data

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._data)):
            return None
        contact, log2, outcome, asked, answered, detail = self._data[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == CONTACT:
                return str(contact) + (" (this node)" if contact.id == self.self_id else "")
            if col == DISTANCE:
                return f"{log2:.0f}"
            if col == OUTCOME:
                return outcome
            if col == ASKED:
                return f"+{asked:.3f} s"
            if col == TOOK:
                return "" if answered is None else f"{(answered - asked) * 1000:.1f} ms"
            if col == DETAIL:
                return detail
        elif role == Qt.ItemDataRole.ForegroundRole and col == OUTCOME:
            return QBrush(QColor(OUTCOME_COLOURS.get(outcome, "#000000")))
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (DISTANCE, ASKED, TOOK):
            return _RIGHT
        elif role == Qt.ItemDataRole.ToolTipRole and col == CONTACT:
            return f"{contact.id.hex()} at {contact.host}:{contact.port}"
        return None

    def start(self, t0: float) -> None:
        """Forget everything: a new lookup started at monotonic time ``t0``."""
        self.beginResetModel()
        self._data = []
        self._open = {}
        self._last = {}
        self._t0 = t0
        self.endResetModel()

    def add_events(self, events: Iterable[Any]) -> None:
        """Apply this lookup's LookupQueried/LookupAnswered events (one insert, one dataChanged)."""
        new: list[list[Any]] = []
        changed: list[int] = []
        base = len(self._data)
        for ev in events:
            t = type(ev)
            if t is LookupQueried:
                self._open.setdefault(ev.contact.id, []).append(base + len(new))
                new.append([ev.contact, ev.log2_distance, "queried", ev.time - self._t0, None, ""])
            elif t is LookupAnswered:
                self._settle(ev, base, new, changed)
        if changed:
            self.dataChanged.emit(self.index(min(changed), OUTCOME), self.index(max(changed), DETAIL))
        if new:
            self.beginInsertRows(QModelIndex(), base, base + len(new) - 1)
            self._data.extend(new)
            self.endInsertRows()

    def _settle(self, ev: Any, base: int, new: list[list[Any]], changed: list[int]) -> None:
        """Settle the oldest open request to ``ev.contact`` (or its soft-timed-out one)."""
        answered = ev.elapsed  # seconds since the lookup started
        cid = ev.contact.id
        open_rows = self._open.get(cid)
        last = self._last.get(cid)
        if open_rows:
            row = open_rows.pop(0)
            detail = ev.detail
        elif last is not None and self._row(last, base, new)[2] == "timeout":
            row = last  # a late answer after the soft timeout: the same request
            detail = f"answered late, {(answered - self._row(row, base, new)[3]) * 1000:.0f} ms after asking"
        else:  # answered without a query event (asked before we watched)
            new.append([ev.contact, ev.log2_distance, ev.outcome, answered, answered, ev.detail])
            self._last[cid] = base + len(new) - 1
            return
        target = self._row(row, base, new)
        if row < base:
            changed.append(row)
        target[2], target[4], target[5] = ev.outcome, answered, detail
        self._last[cid] = row

    def _row(self, row: int, base: int, new: list[list[Any]]) -> list[Any]:
        return new[row - base] if row >= base else self._data[row]

    def points(self) -> dict[str, tuple[list[float], list[float]]]:
        """``{outcome: (xs, ys)}``: time asked since start and log2 distance of each request."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        for _contact, log2, outcome, asked, _answered, _detail in self._data:
            xs, ys = out.setdefault(outcome, ([], []))
            xs.append(asked)
            ys.append(log2)
        return out

    def outcomes(self) -> list[str]:
        return [row[2] for row in self._data]


STORE_COLUMNS = ("Node", "Result", "Error")


class StoreResultModel(_TableBase):
    """The nodes a store reached: accepted, or refused with the error text."""

    columns = STORE_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._data: list[tuple[Any, bool, str]] = []

    def _rows(self) -> list[Any]:
        return self._data

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._data)):
            return None
        contact, accepted, error = self._data[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(contact), "accepted" if accepted else "refused", error)[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(QColor(OUTCOME_COLOURS["stored" if accepted else "refused"]))
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{contact.id.hex()} at {contact.host}:{contact.port}"
        return None

    def set_result(self, result: Any | None) -> None:
        """Show a ``StoreResult`` (None clears)."""
        self.beginResetModel()
        self._data = []
        if result is not None:
            self._data = [(c, True, "") for c in result.accepted]
            self._data += [(c, False, error) for c, error in result.refused]
        self.endResetModel()

    def counts(self) -> tuple[int, int]:
        accepted = sum(1 for _c, ok, _e in self._data if ok)
        return accepted, len(self._data) - accepted


# outcome: (legend label, symbol, filled)
OUTCOME_STYLES: dict[str, tuple[str, str, bool]] = {
    "queried": ("waiting", "o", False),
    "answered": ("answered", "o", True),
    "values": ("values", "star", True),
    "stored": ("stored", "s", True),
    "timeout": ("timed out", "x", True),
    "error": ("error", "t", True),
    "refused": ("refused", "d", True),
}


class LookupPlotView(pg.PlotWidget):  # type: ignore[misc]
    """Time since the lookup started (x) against log2 XOR distance to the target (y)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "time since start", units="s")
        item.setLabel("left", "log\u2082 distance")
        item.setMenuEnabled(False)
        item.getViewBox().setDefaultPadding(0.06)
        # the legend sits under the plot (row 4 of the PlotItem's layout), never over the points
        self.legend = pg.LegendItem(colCount=4, labelTextColor="#333333", horSpacing=8)
        item.layout.addItem(self.legend, 4, 1)
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        for outcome, (label, symbol, filled) in OUTCOME_STYLES.items():
            colour = OUTCOME_COLOURS[outcome]
            scatter = pg.ScatterPlotItem(
                name=label, symbol=symbol, size=11,
                pen=pg.mkPen(colour, width=1.6),
                brush=pg.mkBrush(colour) if filled else pg.mkBrush(255, 255, 255, 0),
            )
            self.scatters[outcome] = scatter
            item.addItem(scatter)
            self.legend.addItem(scatter, label)
        self.setTitle("")
        self._title = ""

    def set_points(self, points: dict[str, tuple[list[float], list[float]]]) -> None:
        """Replace the points: ``{outcome: (xs, ys)}`` (unknown outcomes drawn as errors)."""
        merged: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in self.scatters}
        for outcome, (xs, ys) in points.items():
            target = merged.get(outcome, merged["error"])
            target[0].extend(xs)
            target[1].extend(ys)
        for outcome, (xs, ys) in merged.items():
            self.scatters[outcome].setData(x=xs, y=ys)

    def clear_points(self, title: str = "") -> None:
        self.set_points({})
        self.set_caption(title)

    def set_caption(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self.setTitle(title, color="#333333", size="10pt")

    def point_count(self) -> int:
        """How many points are drawn (all outcomes)."""
        return sum(len(s.data) for s in self.scatters.values())

    def counts(self) -> dict[str, int]:
        return {k: len(s.data) for k, s in self.scatters.items() if len(s.data)}

    def styles(self) -> dict[str, Any]:
        """Symbol of each outcome's scatter (to test they are distinct)."""
        return {k: (s.opts["symbol"], s.opts["pen"].color().name()) for k, s in self.scatters.items()}
