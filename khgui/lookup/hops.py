"""A lookup's hops as a table and a live plot, and a store's result.

:class:`HopsModel` has one row per contact a lookup asked; a contact asked
twice (find_value then get_value, find_node then store_value) keeps its row,
which shows the latest outcome and, in Detail, what came before.  Each batch
costs at most one insert and one dataChanged.  A Mainline get_peers is
followed by a BEP 33 scrape of the closest nodes (the same nodes asked
again, just after): their answers are "values" when they carried peers,
else "answered", with the detail "scrape".  :class:`StoreResultModel`
lists the nodes that accepted or refused a store.

:class:`LookupPlotView` is a pyqtgraph plot with one scatter per outcome
(queried and still open, slow: silent past its soft timeout and still
waited for, answered, had values, stored, timed out, error, refused), each with its own symbol and colour and a legend entry.  It is
updated with ``setData`` on those scatters, never by adding items.
"""

from __future__ import annotations

from typing import Any, Iterable

import pyqtgraph as pg
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import QWidget

from dht.events import LookupAnswered, LookupQueried

from ..common.export import EXPORT_ROLE
from ..common.plotting import EmptyNote, legend_below
from ..common.table import RIGHT as _RIGHT
from ..common.table import TableModel
from ..common.text import format_peer
from ..common.theme import Colors, colors, status_color

HOP_COLUMNS = ("Contact", "log\u2082 dist", "Outcome", "Asked at", "Took", "Soft t/o", "Detail")
CONTACT, DISTANCE, OUTCOME, ASKED, TOOK, SOFT, DETAIL = range(len(HOP_COLUMNS))
_Index = QModelIndex | QPersistentModelIndex


class HopsModel(TableModel[Any]):
    """The contacts one lookup asked, once each: distance, outcome and timing.

    A contact asked twice (find_value then get_value, find_node then
    store_value) keeps its one row: the row shows the latest request's
    outcome and what came before it in Detail.
    """

    columns = HOP_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        # [contact, log2, outcome, first asked, answered, detail, last asked, soft timeout]
        self._data: list[list[Any]] = []
        self._row_of: dict[bytes, int] = {}  # contact id: its row
        self._t0 = 0.0
        self.self_id: bytes | None = None
        """Our node's id: its row is labelled "(this node)"."""

    def row_count(self) -> int:
        return len(self._data)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._data)):
            return None
        contact, log2, outcome, asked, answered, detail, last, soft = self._data[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == CONTACT:
                return str(contact) + (" (this node)" if contact.id == self.self_id else "")
            if col == DISTANCE:
                return f"{log2:.0f}"
            if col == OUTCOME:
                return "not waited for" if outcome == "unawaited" else outcome
            if col == ASKED:
                return f"+{asked:.3f} s"
            if col == TOOK:
                return "" if answered is None else f"{max(0.0, answered - last) * 1000:.1f} ms"
            if col == SOFT:
                return "" if soft is None else f"{soft * 1000:.0f} ms"
            if col == DETAIL:
                return detail
        elif role == Qt.ItemDataRole.ForegroundRole and col == OUTCOME:
            return QBrush(status_color(outcome))
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (DISTANCE, ASKED, TOOK, SOFT):
            return _RIGHT
        elif role == EXPORT_ROLE and col == CONTACT:  # the whole id in an export
            return f"{contact.id.hex()}@{format_peer(contact.address)}"
        elif role == Qt.ItemDataRole.ToolTipRole and col == SOFT:
            return ("The soft timeout this request was judged by: its contact's srtt + 4 rttvar "
                    "(the node's estimate when the contact has no history). Silent past it, the "
                    "lookup asked one more contact and kept waiting for this one.")
        elif role == Qt.ItemDataRole.ToolTipRole and col in (CONTACT, DETAIL):
            return f"{contact.id.hex()} at {format_peer(contact.address)}" + (f"\n{detail}" if detail else "")
        return None

    def start(self, t0: float) -> None:
        """Forget everything: a new lookup started at monotonic time ``t0``."""
        self.beginResetModel()
        self._data = []
        self._row_of = {}
        self._t0 = t0
        self.endResetModel()

    def add_events(self, events: Iterable[Any]) -> None:
        """Apply this lookup's LookupQueried/LookupAnswered events (one insert, one dataChanged)."""
        new: list[list[Any]] = []
        changed: list[int] = []
        base = len(self._data)
        for ev in events:
            t = type(ev)
            if t is not LookupQueried and t is not LookupAnswered:
                continue
            cid = ev.contact.id
            row = self._row_of.get(cid)
            if t is LookupQueried:
                asked = ev.time - self._t0
                if row is None:
                    self._row_of[cid] = base + len(new)
                    new.append([ev.contact, ev.log2_distance, "queried", asked, None, "", asked, ev.soft_timeout])
                    continue
                target = self._at(row, base, new)
                if target[2] not in ("queried", "slow", "timeout"):  # asked again after an answer
                    target[5] = _joined(target[5], target[2])
                target[2], target[4], target[6], target[7] = "queried", None, asked, ev.soft_timeout
            else:
                outcome = str(ev.outcome)
                if row is None:  # answered without a query event (asked before we watched)
                    self._row_of[cid] = base + len(new)
                    new.append([ev.contact, ev.log2_distance, outcome, ev.elapsed, ev.elapsed, ev.detail,
                                ev.elapsed, None])
                    continue
                target = self._at(row, base, new)
                detail = ev.detail
                if outcome == "slow":  # still waited for: no answer time yet
                    prior = target[5] if target[2] == "queried" else ""
                    target[2], target[5] = outcome, _joined(prior, detail)
                    if row < base:
                        changed.append(row)
                    continue
                if target[2] in ("slow", "timeout") and outcome != "timeout":
                    detail = _joined(f"answered late, {(ev.elapsed - target[6]) * 1000:.0f} ms after asking",
                                     ev.detail)
                prior = target[5] if target[2] in ("queried", "slow") else ""
                target[2], target[4], target[5] = outcome, ev.elapsed, _joined(prior, detail)
            if row < base:
                changed.append(row)
        if changed:
            self.rows_changed(min(changed), max(changed), OUTCOME, DETAIL)
        if new:
            self.beginInsertRows(QModelIndex(), base, base + len(new) - 1)
            self._data.extend(new)
            self.endInsertRows()

    def finish(self) -> None:
        """The lookup ended: contacts it was still waiting on were not waited for (a
        Mainline lookup ends once the K closest have answered, as libtorrent's)."""
        rows = [i for i, row in enumerate(self._data) if row[2] in ("queried", "slow")]
        for i in rows:
            row = self._data[i]
            row[2], row[5] = "unawaited", _joined(row[5], NOT_WAITED)
        if rows:
            self.rows_changed(min(rows), max(rows), OUTCOME, DETAIL)

    def _at(self, row: int, base: int, new: list[list[Any]]) -> list[Any]:
        return new[row - base] if row >= base else self._data[row]

    def points(self) -> dict[str, tuple[list[float], list[float]]]:
        """``{outcome: (xs, ys)}``: time first asked since start and log2 distance of each contact."""
        out: dict[str, tuple[list[float], list[float]]] = {}
        for row in self._data:
            xs, ys = out.setdefault(row[2], ([], []))
            xs.append(row[3])
            ys.append(row[1])
        return out

    def outcomes(self) -> list[str]:
        return [row[2] for row in self._data]

    def contacts(self) -> list[Any]:
        return [row[0] for row in self._data]


#: Why a contact asked is "not waited for" once its lookup ended.
NOT_WAITED = "not waited for: the lookup ended once the closest nodes had answered"


def _joined(first: str, then: str) -> str:
    return f"{first}; then {then}" if first and then else first or then


STORE_COLUMNS = ("Node", "Result", "Error")


class StoreResultModel(TableModel[Any]):
    """The nodes a store reached: accepted, or refused with the error text."""

    columns = STORE_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._data: list[tuple[Any, bool, str]] = []

    def row_count(self) -> int:
        return len(self._data)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._data)):
            return None
        contact, accepted, error = self._data[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(contact), "accepted" if accepted else "refused", error)[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(status_color("stored" if accepted else "refused"))
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{contact.id.hex()} at {format_peer(contact.address)}"
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
    "slow": ("slow, still waited for", "o", False),
    "unawaited": ("not waited for", "o", False),
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
        super().__init__(parent, background=colors().plot_bg)
        item = self.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "time since start", units="s")
        item.setLabel("left", "log\u2082 distance")
        item.setMenuEnabled(False)
        item.getViewBox().setDefaultPadding(0.06)
        self.legend = legend_below(item, columns=4, size="9pt")  # never over the points
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        for outcome, (label, symbol, filled) in OUTCOME_STYLES.items():
            scatter = pg.ScatterPlotItem(name=label, symbol=symbol, size=11)
            self.scatters[outcome] = scatter
            item.addItem(scatter)  # named: PlotItem adds it to the legend
        #: The outcomes the legend lists: those drawn now (nine entries squeezed the plot
        #: of a narrow dock to a strip; an empty plot says what it will show instead).
        self._listed: tuple[str, ...] = tuple(OUTCOME_STYLES)
        self._list_in_legend(())
        self.empty = EmptyNote(item, "no look-up yet",
                               x_range=(0.0, 1.0), y_range=(150.0, 160.0))
        self.empty.set_empty(True)
        self.setTitle("")
        self._title: str | None = ""
        self._fg = colors().plot_fg
        self.set_colors(colors())

    def set_colors(self, c: Colors) -> None:
        """Draw the outcomes in theme ``c``'s colours (the plot's frame is themed by theme.style_plots)."""
        for outcome, (label, symbol, filled) in OUTCOME_STYLES.items():
            colour = c.status[outcome]
            self.scatters[outcome].setPen(pg.mkPen(colour, width=1.6))
            self.scatters[outcome].setBrush(pg.mkBrush(colour) if filled else pg.mkBrush(0, 0, 0, 0))
        self._fg = c.plot_fg
        title, self._title = self._title, None
        self.set_caption(title or "")

    def set_points(self, points: dict[str, tuple[list[float], list[float]]]) -> None:
        """Replace the points: ``{outcome: (xs, ys)}`` (unknown outcomes drawn as errors)."""
        merged: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in self.scatters}
        for outcome, (xs, ys) in points.items():
            target = merged.get(outcome, merged["error"])
            target[0].extend(xs)
            target[1].extend(ys)
        for outcome, (xs, ys) in merged.items():
            self.scatters[outcome].setData(x=xs, y=ys)
        self._list_in_legend(tuple(k for k in OUTCOME_STYLES if merged[k][0]))
        last = max((x for xs, _ys in merged.values() for x in xs), default=0.0)
        if not any(xs for xs, _ys in merged.values()):
            self.empty.set_empty(True, "asking\u2026" if self._title else None)
            return
        self.empty.set_empty(False)
        self.getPlotItem().setXRange(0.0, max(0.005, last * 1.08), padding=0.02)  # time starts at 0

    def _list_in_legend(self, outcomes: tuple[str, ...]) -> None:
        if outcomes == self._listed:
            return
        self._listed = outcomes
        self.legend.setVisible(bool(outcomes))  # no empty frame under an empty plot
        self.legend.clear()
        for outcome in outcomes:
            self.legend.addItem(self.scatters[outcome], OUTCOME_STYLES[outcome][0])

    def legend_labels(self) -> list[str]:
        """The legend's entries, in order."""
        return [OUTCOME_STYLES[k][0] for k in self._listed]

    def clear_points(self, title: str = "") -> None:
        self.set_points({})
        self.set_caption(title)

    def set_caption(self, title: str) -> None:
        if title != self._title:
            self._title = title
            self.setTitle(title, color=self._fg, size="10pt")

    def point_count(self) -> int:
        """How many points are drawn (all outcomes)."""
        return sum(len(s.data) for s in self.scatters.values())

    def counts(self) -> dict[str, int]:
        return {k: len(s.data) for k, s in self.scatters.items() if len(s.data)}

    def styles(self) -> dict[str, Any]:
        """Symbol of each outcome's scatter (to test they are distinct)."""
        return {k: (s.opts["symbol"], s.opts["pen"].color().name()) for k, s in self.scatters.items()}

    def caption(self) -> str:
        return self._title or ""
