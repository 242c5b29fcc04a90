"""Plot furniture shared by the pyqtgraph views: a legend that never covers data.

pyqtgraph's ``PlotItem.addLegend`` floats the legend over the view box, on
top of the points and curves it explains.  :func:`legend_below` puts it in
the PlotItem's own grid layout instead, in the row under the bottom axis,
so the data keeps the whole view box; curves added later with ``name=``
still land in it (PlotItem looks for ``self.legend``).
"""

from __future__ import annotations

import pyqtgraph as pg

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


def legend_overlaps_view(item: pg.PlotItem) -> bool:
    """Whether ``item``'s legend lies over its view box (where the data is drawn)."""
    legend = getattr(item, "legend", None)
    if legend is None or not legend.isVisible():
        return False
    view = item.getViewBox().sceneBoundingRect()
    return legend.sceneBoundingRect().intersects(view)
