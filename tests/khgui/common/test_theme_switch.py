"""Plots after a theme switched at run time: legends, axes and titles in the new theme's colours."""

from __future__ import annotations

from typing import Any, Iterator

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from khgui.common import theme
from khgui.lookup.hops import LookupPlotView
from khgui.routing.history import HistoryPlotView
from khgui.samples.chart import ClientsChartView
from khgui.stats.plots import StatsPlotsView


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours."""
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    la, lb = sorted((lum(a), lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(label: pg.LabelItem) -> QColor:
    """The colour the label's text is drawn in (its first character's)."""
    cursor = QTextCursor(label.item.document())
    cursor.movePosition(QTextCursor.MoveOperation.NextCharacter)
    return cursor.charFormat().foreground().color()


@pytest.fixture
def manager(qapp: Any) -> Iterator[theme.ThemeManager]:
    m = theme.manager()
    yield m
    m.set_mode("light")


@pytest.mark.parametrize("first,second", [("light", "dark"), ("dark", "light")])
def test_plot_legends_follow_a_theme_switched_at_run_time(qtbot: Any, manager: theme.ThemeManager,
                                                          first: str, second: str) -> None:
    manager.set_mode(first)
    root = QWidget()
    qtbot.addWidget(root)
    layout = QVBoxLayout(root)
    stats = StatsPlotsView()
    lookup = LookupPlotView()
    for view in (stats, lookup, HistoryPlotView(), ClientsChartView()):
        layout.addWidget(view)
    root.show()
    legends = [item for view in root.findChildren(pg.GraphicsView) for item in view.scene().items()
               if isinstance(item, pg.LegendItem) and item.items]
    assert len(legends) >= 4
    manager.set_mode(second)  # as View ▸ Theme does: the manager restyles every top-level widget
    lookup.set_colors(theme.colors())  # and the window recolours the look-up's outcomes
    c = theme.THEMES[second]
    background = QColor(c.plot_bg)
    for legend in legends:
        for _sample, label in legend.items:
            colour = text_colour(label)
            assert colour.name() == c.plot_fg, label.text
            assert contrast(colour, background) >= 7, label.text
    title = lookup.getPlotItem().titleLabel
    lookup.set_caption("get 0123\u2026")
    assert text_colour(title).name() == c.plot_fg
    axis = lookup.getPlotItem().getAxis("bottom")
    assert axis.textPen().color().name() == c.plot_fg
