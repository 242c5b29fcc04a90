"""The Crawl panel's charts (pyqtgraph): the estimate firming up, and the census.

:class:`EstimatePlot` draws a crawl's size estimate against the seconds
since it started, with its 95 % interval as a band, one point per
``CrawlProgress``: the band narrows as the crawl goes on.  Its three curves
(estimate, low, high) are each one item updated with ``setData``.

:class:`CensusCharts` draws a census in four plots: the clients' shares of
the nodes that answered (bars), the RTT histogram, answered against silent
nodes, and BEP 42 (ids that fit their IP, ids that do not, ids not
checked).  Each plot is one item updated with ``setOpts``/``setData``; an
empty one says why it is empty.
"""

from __future__ import annotations

from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

from dht import Census

from ..common.plotting import EmptyNote, counts_axis, legend_below, legend_right
from ..common.theme import colors
from .summary import Histogram, answer_counts, bep42_counts, client_shares, rtt_histogram

BAR_WIDTH = 0.7
BLUE, GREEN, GREY, RED = "#2563eb", "#16a34a", "#94a3b8", "#dc2626"


def _plot(layout: pg.GraphicsLayout, row: int, col: int, title: str, left: str) -> pg.PlotItem:
    """A plot of the census, its legend under it (what its bars or curve count)."""
    item: pg.PlotItem = layout.addPlot(row=row, col=col, title=f"<span style='font-size:9pt'>{title}</span>")
    item.showGrid(x=False, y=True, alpha=0.25)
    item.setLabel("left", left)
    item.setMouseEnabled(x=False, y=False)
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getAxis("left").setWidth(40)
    counts_axis(item)
    legend_below(item, columns=3)
    return item


class Bars:
    """One bar chart on a plot: one ``BarGraphItem``, its labels the bottom axis's ticks."""

    def __init__(self, item: pg.PlotItem, empty: str, name: str, brushes: Sequence[str] = (BLUE,),
                 top: float = 10.0) -> None:
        self.item = item
        self.brushes = list(brushes)
        self.bars = pg.BarGraphItem(x=[], height=[], width=BAR_WIDTH, brush=brushes[0], name=name)
        item.addItem(self.bars)
        self.labels: list[str] = []
        self.heights: list[float] = []
        self.note = EmptyNote(item, empty, x_range=(-0.6, 0.6), y_range=(0.0, top))
        self.set_bars([])

    def set_bars(self, bars: Sequence[tuple[str, float]], top: float | None = None) -> None:
        """Draw ``(label, height)`` bars (``top``: the axis's top, else the highest bar's)."""
        self.labels = [label for label, _h in bars]
        self.heights = [float(h) for _label, h in bars]
        xs = list(range(len(bars)))
        brushes = [self.brushes[i % len(self.brushes)] for i in xs]
        self.bars.setOpts(x=xs, height=self.heights, brushes=brushes)
        self.item.getAxis("bottom").setTicks([[(x, label) for x, label in zip(xs, self.labels)]])
        empty = not bars or not any(self.heights)
        self.note.set_empty(empty)
        if not empty:
            self.item.setXRange(-0.6, len(bars) - 0.4, padding=0)
            self.item.setYRange(0, top if top is not None else max(self.heights) * 1.1, padding=0)

    def shown(self) -> dict[str, float]:
        """``{label: height}`` as drawn (for tests)."""
        return dict(zip(self.labels, self.heights))


class CensusCharts(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """The census's four charts (see the module's docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground(colors().plot_bg)
        layout = self.ci
        self.clients = Bars(_plot(layout, 0, 0, "clients (share of the nodes answering with one)", "%"),
                            "no client named yet", "% of the nodes answering with a client", top=100.0)
        rtt_item = _plot(layout, 0, 1, "round-trip times", "nodes")
        rtt_item.setLabel("bottom", "RTT", units="ms")
        rtt_item.getAxis("bottom").enableAutoSIPrefix(False)
        self.rtt_curve = rtt_item.plot([0, 1], [0], stepMode="center", fillLevel=0, name="nodes answering",
                                       brush=pg.mkBrush(37, 99, 235, 110), pen=pg.mkPen("#1d4ed8", width=1.5))
        self.rtt_note = EmptyNote(rtt_item, "no answer yet", x_range=(0.0, 500.0), y_range=(0.0, 10.0))
        self.rtt_note.set_empty(True)
        self.rtt: Histogram = Histogram((), ())
        self.answers = Bars(_plot(layout, 1, 0, "answered or silent", "nodes"), "no node yet",
                            "nodes the crawl asked", (GREEN, GREY))
        self.bep42 = Bars(_plot(layout, 1, 1, "BEP 42: id fits its IP", "nodes"), "no node yet", "nodes found",
                          (GREEN, RED, GREY))
        self.setMinimumSize(420, 380)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name): not pyqtgraph's 640x480
        return QSize(520, 360)

    def show_census(self, census: Census | None) -> None:
        """Draw ``census`` (None: empty charts)."""
        if census is None:
            for bars in (self.clients, self.answers, self.bep42):
                bars.set_bars([])
            self._show_rtt(Histogram((), ()))
            return
        shares = client_shares(census)
        self.clients.set_bars(shares, top=100.0)
        if not shares:
            self.clients.note.set_text("no client named (this network's answers carry none)")
        answered, silent = answer_counts(census)
        self.answers.set_bars([("answered", answered), ("silent", silent)])
        fits, bad, unchecked = bep42_counts(census.nodes)
        self.bep42.set_bars([("fits", fits), ("does not fit", bad), ("not checked", unchecked)])
        self._show_rtt(rtt_histogram(census.nodes))

    def _show_rtt(self, hist: Histogram) -> None:
        self.rtt = hist
        if hist.counts:
            self.rtt_curve.setData(list(hist.edges), list(hist.counts))
        else:
            self.rtt_curve.setData([0, 1], [0])
        self.rtt_note.set_empty(not any(hist.counts))


class EstimatePlot(pg.PlotWidget):  # type: ignore[misc]
    """A crawl's size estimate with its interval, against seconds since it started."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=colors().plot_bg)
        item = self.getPlotItem()
        item.setTitle("<span style='font-size:9pt'>size estimate with its 95 % interval</span>")
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("left", "nodes")
        item.setLabel("bottom", "time", units="s")
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getAxis("left").setWidth(46)
        counts_axis(item)
        legend_right(item)  # a wide, short plot: its two entries beside it
        band = pg.mkPen(BLUE, width=1)
        self.low = item.plot([], [], pen=band, name="95 % interval")
        self.high = item.plot([], [], pen=band)
        self.fill = pg.FillBetweenItem(self.low, self.high, brush=pg.mkBrush(37, 99, 235, 60))
        item.addItem(self.fill)
        self.estimate = item.plot([], [], pen=pg.mkPen("#1d4ed8", width=2), symbol="o", symbolSize=5,
                                  symbolBrush="#1d4ed8", symbolPen=None, name="estimate")
        self.points: list[tuple[float, float, float, float]] = []
        """(seconds, estimate, low, high) drawn."""
        self.note = EmptyNote(item, "no estimate yet", x_range=(0.0, 10.0), y_range=(0.0, 100.0))
        self.note.set_empty(True)
        self.setMinimumSize(240, 170)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 200)

    def restart(self) -> None:
        """Empty, for a new crawl."""
        self.points = []
        for curve in (self.low, self.high, self.estimate):
            curve.setData([], [])
        self.note.set_empty(True)

    def add(self, seconds: float, estimate: float | None, low: float | None, high: float | None) -> None:
        """One more point (nothing when there is no estimate yet)."""
        if estimate is None:
            return
        lo = estimate if low is None else low
        hi = estimate if high is None else high
        self.points.append((seconds, estimate, lo, hi))
        t = [p[0] for p in self.points]
        self.estimate.setData(t, [p[1] for p in self.points])
        self.low.setData(t, [p[2] for p in self.points])
        self.high.setData(t, [p[3] for p in self.points])
        self.note.set_empty(False)
        top = max(p[3] for p in self.points)
        self.getPlotItem().setYRange(0, top * 1.1 if top > 0 else 1.0, padding=0)
        self.getPlotItem().setXRange(0, max(1.0, t[-1]) * 1.02, padding=0)

    def width_now(self) -> float | None:
        """The interval's width relative to the estimate, at the last point (for tests)."""
        if not self.points:
            return None
        _t, e, lo, hi = self.points[-1]
        return (hi - lo) / e if e else None


