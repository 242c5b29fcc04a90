"""Plot furniture shared by the pyqtgraph views: a legend that never covers data.

pyqtgraph's ``PlotItem.addLegend`` floats the legend over the view box, on
top of the points and curves it explains.  :func:`legend_below` puts it in
the PlotItem's own grid layout instead, in the row under the bottom axis,
so the data keeps the whole view box; curves added later with ``name=``
still land in it (PlotItem looks for ``self.legend``).  :func:`fit_legends`
keeps each legend in as many columns as its plot's width holds, so no
entry is cut off at the right.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

from .theme import colors

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
    return overlap.width() > 1 and overlap.height() > 1  # touching edges is not covering


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
                entry = max(label.item.boundingRect().width() for _sample, label in legend.items) + 44
                columns = max(1, min(len(legend.items), int(item.getViewBox().width() // entry)))
                if legend.columnCount != columns:
                    legend.setColumnCount(columns)


def fit_legends(root: QWidget) -> list[LegendFitter]:
    """A :class:`LegendFitter` on every pyqtgraph view under ``root``."""
    return [LegendFitter(view) for view in root.findChildren(pg.GraphicsView)]
