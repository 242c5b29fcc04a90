"""At 1280x720 every panel fits the width its dock gets, nothing readable is cut, and the statistics keep
their tables and plots (both profiles, live labs, the light theme's style sheet).

A 1280x720 screen gives a 1152x648 window (docks.fitting_size), whose docks' scroll areas are about
420 pixels wide on the left (routing, map) and 698 on the right (the others, tabbed): each panel is
shown alone in a scroll area of that size, as in its dock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QScrollArea, QWidget

from khgui.common import theme
from khgui.common.labels import placeholder_fits
from khgui.lookup.mainline import MainlineLookupPanel
from khgui.lookup.panel import LookupPanel
from khgui.map.panel import NetworkMapPanel
from khgui.routing.panel import RoutingPanel
from khgui.samples.panel import SamplesPanel
from khgui.stats.panel import StatsPanel
from khgui.traffic.panel import TrafficPanel
from khgui.values.mainline_panel import MainlineValuesPanel
from khgui.values.panel import ValuesPanel

LEFT, RIGHT, HEIGHT = 420, 698, 480


def in_dock(qtbot: Any, panel: QWidget, width: int) -> QScrollArea:
    scroll = QScrollArea()
    qtbot.addWidget(scroll)
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.resize(width, HEIGHT)
    scroll.show()
    qtbot.waitUntil(lambda: panel.isVisible() and scroll.viewport().width() > 0, timeout=3000)
    return scroll


@pytest.mark.parametrize("profile", ["khashmir", "mainline"])
def test_every_panel_fits_its_dock_width_at_720p(qtbot: Any, tmp_path: Path, profile: str, request: Any,
                                                 run: Callable[[Any], Any]) -> None:
    controller, bridge = request.getfixturevalue("live" if profile == "khashmir" else "mainline")
    theme.manager().set_mode("light")  # the style sheet's paddings and fonts, as in the app
    mainline = profile == "mainline"
    panels: dict[str, QWidget] = {
        "routing": RoutingPanel(controller, bridge), "stats": StatsPanel(controller, bridge),
        "traffic": TrafficPanel(controller, bridge),
        "values": (MainlineValuesPanel if mainline else ValuesPanel)(controller, bridge),
        "lookup": (MainlineLookupPanel if mainline else LookupPanel)(controller, bridge),
        "map": NetworkMapPanel(),
    }
    if mainline:
        panels["samples"] = SamplesPanel(controller, bridge, QSettings(str(tmp_path / "s.ini"),
                                                                        QSettings.Format.IniFormat))
    scrolls = {key: in_dock(qtbot, panel, LEFT if key in ("routing", "map") else RIGHT)
               for key, panel in panels.items()}
    if mainline:
        panels["lookup"].form.mutable_radio.setChecked(True)  # the widest form: the key row shown
    for key, scroll in scrolls.items():
        panel = scroll.widget()
        try:
            qtbot.waitUntil(lambda: panel.minimumSizeHint().width() <= scroll.viewport().width()
                            and scroll.horizontalScrollBar().maximum() == 0, timeout=3000)  # nothing cut
        except Exception:
            raise AssertionError(f"{key}: needs {panel.minimumSizeHint().width()} px "
                                 f"(at least {panel.minimumWidth()}), has {scroll.viewport().width()}; "
                                 f"scrolls {scroll.horizontalScrollBar().maximum()}") from None

    stats = panels["stats"]
    qtbot.waitUntil(lambda: stats.samples >= 2, timeout=5000)
    rows = stats.table.rowHeight(0) or 22
    assert stats.table.viewport().height() >= 3 * rows  # not only its header row
    for plot in (stats.plots.size_plot, stats.plots.rates_plot, stats.plots.rtt_plot):
        assert plot.getViewBox().height() > 40  # none squeezed to nothing
    defences = stats.defences_table
    assert defences.columnWidth(0) >= defences.sizeHintForColumn(0)  # "dropped: …" never cut

    assert placeholder_fits(panels["traffic"].peer_edit)
    values = panels["values"]
    if profile == "khashmir":
        box = values.republish_box
        assert box.width() >= box.sizeHint().width() and box.geometry().right() <= values.width()
    lookup = panels["lookup"]
    if profile == "mainline":
        form = lookup.form
        for edit in (form.hash_edit, form.item_edit, form.salt_edit, form.target_edit, form.pubkey_edit):
            try:
                qtbot.waitUntil(lambda e=edit: placeholder_fits(e), timeout=2000)
            except Exception:
                raise AssertionError(f"{edit.placeholderText()!r} cut at {edit.width()} px") from None
