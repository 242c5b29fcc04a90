"""One colour per meaning: a query's outcome is drawn alike on the map and in the look-up plot."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from PySide6.QtGui import QColor

from khgui.common import theme
from khgui.lookup.hops import OUTCOME_STYLES, LookupPlotView
from khgui.map.palette import Ground, alive_color, outcome_color, own_text_color, target_color


def contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    la, lb = sorted((lum(a), lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.fixture(params=["light", "dark"])
def mode(request: Any, qapp: Any) -> Iterator[str]:
    theme.manager().set_mode(request.param)
    yield request.param
    theme.manager().set_mode("light")


def test_outcomes_have_the_same_colour_on_the_map_and_in_the_lookup_plot(qtbot: Any, mode: str) -> None:
    plot = LookupPlotView()
    qtbot.addWidget(plot)
    plot.set_colors(theme.colors())
    drawn = {outcome: plot.scatters[outcome].opts["pen"].color().name() for outcome in OUTCOME_STYLES}
    for outcome in ("answered", "values", "timeout", "error", "stored", "refused"):
        assert outcome_color(outcome).name() == drawn[outcome], outcome
    # blue means "answered" on the map too: an alive node is drawn in no outcome's colour
    assert alive_color().name() not in set(drawn.values())


def test_map_labels_read_on_the_ground(mode: str) -> None:
    ground = Ground.of_theme()
    for colour in (target_color(), own_text_color(), alive_color()):
        assert contrast(colour, ground.background) >= 4.5, (mode, colour.name())
