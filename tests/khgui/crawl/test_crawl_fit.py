"""At 1280x720 the Crawl panel fits the width its dock gets (698 px on the right, as
tests/khgui/test_panels_fit.py measures the others), whatever kind is picked, and its
placeholders are not cut."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QScrollArea

from khgui.common import theme
from khgui.common.labels import placeholder_fits
from khgui.crawl.panel import CrawlPanel

RIGHT, HEIGHT = 698, 480


@pytest.mark.parametrize("kind", ["full", "zone", "table"])
def test_the_crawl_panel_fits_its_dock_at_720p(qtbot: Any, live: Any, kind: str) -> None:
    controller, _bridge = live
    theme.manager().set_mode("light")  # the style sheet's paddings and fonts, as in the app
    panel = CrawlPanel(controller)
    scroll = QScrollArea()
    qtbot.addWidget(scroll)
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.resize(RIGHT, HEIGHT)
    scroll.show()
    panel.set_kind(kind)
    try:
        qtbot.waitUntil(lambda: panel.minimumSizeHint().width() <= scroll.viewport().width()
                        and scroll.horizontalScrollBar().maximum() == 0, timeout=3000)
    except Exception:
        raise AssertionError(f"needs {panel.minimumSizeHint().width()} px, has {scroll.viewport().width()}") from None
    for edit in (panel.budget, panel.filter_edit) + ((panel.table_address,) if kind == "table" else ()):
        assert placeholder_fits(edit), edit.placeholderText()
    assert panel.estimate_plot.getPlotItem().getViewBox().height() > 40
