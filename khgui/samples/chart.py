"""The Clients chart: each client code's share of our contacts and of the messages exchanged.

:class:`ClientsChartView` is a pyqtgraph plot of two bar series side by
side per client code (LT, UT, TR, ...): the per cent of routing-table
contacts running it and the per cent of messages (in and out) exchanged
with it.  Each series is one ``BarGraphItem`` updated with ``setOpts``;
the codes are the bottom axis's ticks.
"""

from __future__ import annotations

from typing import Any, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

from ..common.plotting import EmptyNote, legend_below
from ..common.theme import colors
from ..common.clients import ClientRow

#: Codes drawn (the table lists them all).
MAX_BARS = 12
WIDTH = 0.38


class ClientsChartView(pg.PlotWidget):  # type: ignore[misc]
    """Share of contacts and of messages by client code."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=colors().plot_bg)
        item = self.getPlotItem()
        item.setTitle("<span style='font-size:9pt'>clients: share of contacts and of messages</span>")
        item.showGrid(x=False, y=True, alpha=0.25)
        item.setLabel("left", "%")
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()
        self.legend = legend_below(item, columns=2)
        self.contacts_bars = pg.BarGraphItem(x=[], height=[], width=WIDTH, brush="#2563eb", name="contacts")
        self.messages_bars = pg.BarGraphItem(x=[], height=[], width=WIDTH, brush="#16a34a", name="messages")
        for bars in (self.contacts_bars, self.messages_bars):
            item.addItem(bars)
        self.codes: list[str] = []
        self.empty = EmptyNote(item, "no contact or message yet", x_range=(-0.6, 0.6), y_range=(0.0, 100.0))
        self.empty.set_empty(True)
        self.setMinimumSize(220, 150)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name): not pyqtgraph's 640x480, the dock's height is short
        return QSize(320, 190)

    def set_rows(self, rows: Sequence[ClientRow]) -> None:
        """Draw the first MAX_BARS codes of ``rows`` (already in display order)."""
        shown = list(rows)[:MAX_BARS]
        contacts = sum(r.contacts for r in rows) or 1
        messages = sum(r.messages_in + r.messages_out for r in rows) or 1
        xs = list(range(len(shown)))
        self.codes = [r.code for r in shown]
        self.contacts_bars.setOpts(x=[x - WIDTH / 2 for x in xs], height=[100.0 * r.contacts / contacts for r in shown])
        self.messages_bars.setOpts(x=[x + WIDTH / 2 for x in xs],
                                   height=[100.0 * (r.messages_in + r.messages_out) / messages for r in shown])
        item = self.getPlotItem()
        item.getAxis("bottom").setTicks([[(x, code) for x, code in zip(xs, self.codes)]])
        self.empty.set_empty(not shown)
        item.setXRange(-0.6, max(0.6, len(shown) - 0.4), padding=0)
        item.setYRange(0, 100, padding=0.02)

    def heights(self) -> dict[str, tuple[float, float]]:
        """``{code: (contacts %, messages %)}`` as drawn (for tests)."""
        c = self.contacts_bars.opts.get("height")
        m = self.messages_bars.opts.get("height")
        return {code: (float(c[i]), float(m[i])) for i, code in enumerate(self.codes)}

    def tick_labels(self) -> list[str]:
        ticks: Any = self.getPlotItem().getAxis("bottom")._tickLevels
        return [label for _x, label in ticks[0]] if ticks else []
