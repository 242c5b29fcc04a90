"""The network map fills when shown: hidden behind the routing table, it only keeps the last overview."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings

from khgui.common.onscreen import on_screen
from khgui.window.main_window import MainWindowView

from ..conftest import LAB_SIZE


def test_a_hidden_map_keeps_the_overview_and_fills_when_shown(qtbot: Any, live: Any, wait_for: Callable[..., None],
                                                                tmp_path: Path) -> None:
    controller, bridge = live
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.docks["routing"].raise_()  # the default: the map is the tab behind the routing table
    wait_for(lambda: not on_screen(window.map))
    # Overviews come once a second: kept, not put into the model (no work for the window's thread).
    wait_for(lambda: window.map.pending_nodes() == LAB_SIZE + 1)
    assert window.map.model.rowCount() == 0
    window.docks["map"].raise_()  # its tab selected: the model takes in the overview kept, at once
    assert window.map.model.rowCount() == LAB_SIZE + 1 and window.map.pending_nodes() == 0
    assert window.map.model.own_info() is not None
    # Shown, it follows each overview; hidden again, it keeps them again.
    window.docks["routing"].raise_()
    wait_for(lambda: window.map.pending_nodes() == LAB_SIZE + 1)
    assert window.map.model.rowCount() == LAB_SIZE + 1
