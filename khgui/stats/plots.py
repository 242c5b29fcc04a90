"""pyqtgraph plots of a :class:`~khgui.stats.series.StatsHistory`.

Four plots: messages per second by method (solid: out, dashed: in), bytes per
second in and out, the RTT histogram, and the table size (contacts, buckets,
estimated network size).  Each series is one curve updated with ``setData``.
The rates plot has no legend of its own: each method's colour
(:func:`~khgui.stats.model.method_color`) is shown beside its name in the
per-method table under the plots, and the title says which line style is
which direction.  A legend entry per curve made it as tall as the plot on
Mainline (16 entries), squeezing the plots under it to nothing.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ..common.plotting import EmptyNote, counts_axis, legend_below, legend_right
from ..common.theme import colors
from .model import method_color
from .series import StatsHistory



def _plot(layout: pg.GraphicsLayout, row: int, col: int, title: str, left: str,
          legend: str = "below") -> pg.PlotItem:
    item: pg.PlotItem = layout.addPlot(row=row, col=col, title=f"<span style='font-size:9pt'>{title}</span>")
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setLabel("left", left)
    item.setMouseEnabled(x=False, y=False)
    item.getAxis("left").setWidth(46)
    if legend == "right":  # many entries: beside the data, not under it
        legend_right(item)
    elif legend == "below":
        legend_below(item, columns=4)
    return item


class StatsPlotsView(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """The four statistics plots."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setBackground(colors().plot_bg)
        layout = self.ci
        self.rates_plot = _plot(layout, 0, 0, "messages / s (\u2014 out, - - in; colours: the table)", "msg/s",
                                legend="")
        self.bytes_plot = _plot(layout, 0, 1, "bytes / s", "B/s")
        self.rtt_plot = _plot(layout, 1, 0, "round-trip time distribution", "answers")
        self.rtt_plot.setLabel("bottom", "RTT", units="ms")
        self.rtt_plot.legend.hide()
        self.size_plot = _plot(layout, 1, 1, "routing table & network", "count")
        for item in (self.rates_plot, self.bytes_plot, self.size_plot):
            item.setLabel("bottom", "time", units="s")
        self.rate_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.bytes_in = self.bytes_plot.plot([], [], pen=pg.mkPen("#16a34a", width=2), name="in")
        self.bytes_out = self.bytes_plot.plot([], [], pen=pg.mkPen("#2563eb", width=2), name="out")
        self.rtt_curve = self.rtt_plot.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=pg.mkBrush(37, 99, 235, 110),
            pen=pg.mkPen("#1d4ed8", width=1.5))
        self.contacts = self.size_plot.plot([], [], pen=pg.mkPen("#2563eb", width=2), name="contacts")
        self.buckets = self.size_plot.plot([], [], pen=pg.mkPen("#f59e0b", width=2), name="buckets")
        self.network = self.size_plot.plot([], [], pen=pg.mkPen("#16a34a", width=2, style=Qt.PenStyle.DashLine),
                                      name="network size")
        for item in (self.rates_plot, self.rtt_plot, self.size_plot):
            counts_axis(item)  # rates, answers and counts: zero or more, no "x0.001"
        self.bytes_plot.setLabel("left", "", units="B/s")  # kB/s, MB/s: short tick labels
        self.bytes_plot.getViewBox().setLimits(yMin=0)
        self.notes = {
            "rates": EmptyNote(self.rates_plot, "no messages yet"),
            "bytes": EmptyNote(self.bytes_plot, "no traffic yet"),
            "size": EmptyNote(self.size_plot, "no node yet", y_range=(0.0, 40.0)),
            "rtt": EmptyNote(self.rtt_plot, "no answer yet",
                             x_range=(0.0, 500.0), y_range=(0.0, 10.0)),
        }
        self.show_empty("no node is running")
        self.setMinimumSize(540, 340)  # two rows and two columns of plots with their axes and legends

    def _rate_curve(self, method: str, direction: str) -> pg.PlotDataItem:
        key = (method, direction)
        curve = self.rate_curves.get(key)
        if curve is None:
            color = method_color(method)
            style = Qt.PenStyle.SolidLine if direction == "out" else Qt.PenStyle.DashLine
            curve = self.rates_plot.plot([], [], pen=pg.mkPen(color, width=2, style=style))
            self.rate_curves[key] = curve
        return curve

    def show_empty(self, why: str) -> None:
        """Empty plots over plain axes (0-60 s), each saying ``why`` there is nothing."""
        for name in ("rates", "bytes", "size"):
            self.notes[name].set_empty(True, why)
        self.notes["rtt"].set_empty(True)

    def show_history(self, history: StatsHistory) -> None:
        t = history.t.array()
        if t.size < 2:  # one sample is no line yet (and its range would be "time (μs)")
            self.show_empty("collecting: one sample a second")
            return
        for name in ("rates", "bytes", "size"):
            self.notes[name].set_empty(False)
        for key in sorted(history.rates):
            values = history.rates[key].array()
            n = min(t.size, values.size)
            self._rate_curve(*key).setData(t[-n:], values[-n:])
        self.bytes_in.setData(t, history.bytes_in.array()[-t.size:])
        self.bytes_out.setData(t, history.bytes_out.array()[-t.size:])
        self.contacts.setData(t, history.contacts.array()[-t.size:])
        self.buckets.setData(t, history.buckets.array()[-t.size:])
        self.network.setData(t, history.network_size.array()[-t.size:])
        edges, counts = history.rtt_histogram()
        self.rtt_curve.setData(edges, counts)
        self.notes["rtt"].set_empty(not any(counts))
