"""At 1280x720 (a 1152x648 window, the look-up dock tabbed with the others) every panel fits its dock's
width, nothing readable is cut, and the statistics keep their tables and plots (both profiles, live labs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QScrollArea

from khgui.common.labels import placeholder_fits
from khgui.window import docks
from khgui.window.main_window import MainWindowView


def window_720p(qtbot: Any, tmp_path: Path, controller: Any, bridge: Any, monkeypatch: Any) -> MainWindowView:
    monkeypatch.setattr(docks, "DEFAULT_SIZE", (1152, 648))  # what fitting_size gives on a 1280x720 screen
    window = MainWindowView(controller, bridge, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                            persist=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.size().width() == 1152 and window.size().height() == 648, timeout=3000)
    return window


def raise_dock(qtbot: Any, window: MainWindowView, key: str) -> QScrollArea:
    dock = window.docks[key]
    dock.raise_()
    scroll = dock.widget()
    assert isinstance(scroll, QScrollArea)
    qtbot.waitUntil(lambda: scroll.isVisible() and scroll.viewport().width() > 200, timeout=3000)
    return scroll


@pytest.mark.parametrize("profile", ["khashmir", "mainline"])
def test_every_panel_fits_its_dock_width_at_720p(qtbot: Any, tmp_path: Path, monkeypatch: Any, profile: str,
                                                 request: Any, run: Callable[[Any], Any]) -> None:
    controller, bridge = request.getfixturevalue("live" if profile == "khashmir" else "mainline")
    window = window_720p(qtbot, tmp_path, controller, bridge, monkeypatch)
    for key in window.docks:
        scroll = raise_dock(qtbot, window, key)
        panel = scroll.widget()
        qtbot.waitUntil(lambda: panel.minimumSizeHint().width() <= scroll.viewport().width(), timeout=3000)
        assert scroll.horizontalScrollBar().maximum() == 0, key  # nothing cut at the right

    stats = window.panels["stats"]
    raise_dock(qtbot, window, "stats")
    qtbot.waitUntil(lambda: stats.samples >= 2, timeout=5000)
    rows = stats.table.rowHeight(0) or 22
    assert stats.table.viewport().height() >= 3 * rows  # not only its header row
    for plot in (stats.plots.size_plot, stats.plots.rates_plot, stats.plots.rtt_plot):
        assert plot.getViewBox().height() > 40  # none squeezed to nothing
    defences = stats.defences_table
    assert defences.columnWidth(0) >= defences.sizeHintForColumn(0)  # "dropped: …" never cut

    raise_dock(qtbot, window, "traffic")
    assert placeholder_fits(window.panels["traffic"].peer_edit)
    values = window.panels["values"]
    raise_dock(qtbot, window, "values")
    if profile == "khashmir":
        box = values.republish_box
        assert box.width() >= box.sizeHint().width() and box.geometry().right() <= values.width()
    lookup = window.panels["lookup"]
    raise_dock(qtbot, window, "lookup")
    if profile == "mainline":
        lookup.mutable_radio.setChecked(True)
        for edit in (lookup.hash_edit, lookup.item_edit, lookup.salt_edit, lookup.target_edit, lookup.pubkey_edit):
            qtbot.waitUntil(lambda e=edit: placeholder_fits(e), timeout=2000)
