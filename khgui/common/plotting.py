"""Plot furniture shared by the pyqtgraph views: a legend that never covers data.

pyqtgraph's ``PlotItem.addLegend`` floats the legend over the view box, on
top of the points and curves it explains.  :func:`legend_below` puts it in
the PlotItem's own grid layout instead, in the row under the bottom axis,
so the data keeps the whole view box; curves added later with ``name=``
still land in it (PlotItem looks for ``self.legend``).  :func:`fit_legends`
keeps each legend in as many columns as its plot's width holds, so no
entry is cut off at the right.

An empty plot says why it is empty (:class:`EmptyNote`, centred in its view
box) over fixed, plain axes (e.g. 0-60 s), not pyqtgraph's default 0-1
range, which its SI prefixes turn into "time (μs)"; :func:`counts_axis`
keeps a count's axis at zero or above, without SI prefixes ("x0.001").
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from .theme import colors, manager

#: Row of a PlotItem's layout under its bottom axis (rows 0-3: title, top axis, view box, bottom axis).
LEGEND_ROW = 4


def legend_below(item: pg.PlotItem, columns: int = 4, size: str = "8pt") -> pg.LegendItem:
    """A legend for ``item`` in the row under its bottom axis (``item.legend``)."""
    c = colors()
    legend = pg.LegendItem(colCount=columns, labelTextColor=c.plot_fg, labelTextSize=size, horSpacing=8,
                           verSpacing=-4)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.legend = legend
    return legend


def legend_right(item: pg.PlotItem, size: str = "8pt") -> pg.LegendItem:
    """A one-column legend right of ``item``'s view box, for many entries on a wide, short plot."""
    c = colors()
    legend = pg.LegendItem(colCount=1, labelTextColor=c.plot_fg, labelTextSize=size, verSpacing=-6)
    legend.fixed_columns = True  # LegendFitter leaves it alone
    item.layout.addItem(legend, LEGEND_ROW - 2, 3)
    item.legend = legend
    return legend


def legend_overlaps_view(item: pg.PlotItem) -> bool:
    """Whether ``item``'s legend lies over its view box (where the data is drawn)."""
    legend = getattr(item, "legend", None)
    if legend is None or not legend.isVisible():
        return False
    overlap = legend.sceneBoundingRect().intersected(item.getViewBox().sceneBoundingRect())
    return bool(overlap.width() > 1 and overlap.height() > 1)  # touching edges is not covering


class LegendFitter(QObject):
    """Keeps the legends of a pyqtgraph view in as many columns as fit its plots' widths."""

    def __init__(self, view: pg.GraphicsView) -> None:
        super().__init__(view)
        self.view = view
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self.fit)  # after the layout gave the plots their new sizes
        return False

    def fit(self) -> None:
        for item in self.view.scene().items():
            legend = getattr(item, "legend", None) if isinstance(item, pg.PlotItem) else None
            if isinstance(legend, pg.LegendItem) and legend.items and not getattr(legend, "fixed_columns", False):
                # The legend sits under the whole plot (axis included): as many columns as its width holds.
                entry = max(label.item.boundingRect().width() for _sample, label in legend.items) + 36
                columns = max(1, min(len(legend.items), int((item.width() - 8) // entry)))
                if legend.columnCount != columns:
                    legend.setColumnCount(columns)


def fit_legends(root: QWidget) -> list[LegendFitter]:
    """A :class:`LegendFitter` on every pyqtgraph view under ``root``."""
    return [LegendFitter(view) for view in root.findChildren(pg.GraphicsView)]


def counts_axis(item: pg.PlotItem, axis: str = "left") -> None:
    """A count's axis: never below zero, and no SI prefix (a count of 0.4 m is not a count)."""
    item.getAxis(axis).enableAutoSIPrefix(False)
    if axis in ("left", "right"):
        item.getViewBox().setLimits(yMin=0)
    else:
        item.getViewBox().setLimits(xMin=0)


class EmptyNote(QObject):
    """A note in the middle of a plot's view box while it has nothing to show, and plain axes then.

    :meth:`set_empty` shows the note and puts the axes on ``x_range`` and
    ``y_range`` (say 0-60 s and 0-10), or hides it (the caller's ranges rule).
    The note takes the theme's muted colour and follows theme switches.
    """

    def __init__(self, item: pg.PlotItem, text: str, x_range: tuple[float, float] = (0.0, 60.0),
                 y_range: tuple[float, float] = (0.0, 10.0)) -> None:
        super().__init__(item)
        self.item = item
        self.x_range = x_range
        self.y_range = y_range
        self.label = pg.TextItem(text, anchor=(0.5, 0.5), color=colors().muted)
        self.label.setZValue(10)
        item.addItem(self.label, ignoreBounds=True)
        self.label.hide()
        self._text = text
        manager().changed.connect(self._recolour)

    @property
    def shown(self) -> bool:
        return bool(self.label.isVisible())

    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.label.setText(text, color=colors().muted)

    def set_empty(self, empty: bool, text: str | None = None) -> None:
        if text is not None:
            self.set_text(text)
        if empty:
            self.item.setXRange(*self.x_range, padding=0)
            self.item.setYRange(*self.y_range, padding=0)
            self.label.setPos((self.x_range[0] + self.x_range[1]) / 2, (self.y_range[0] + self.y_range[1]) / 2)
            self.label.show()
        elif self.label.isVisible():
            self.label.hide()
            self.item.enableAutoRange()

    def _recolour(self, *args: object) -> None:
        self.label.setColor(colors().muted)
