"""Help ▸ Guide: the text shipped in resources/, every panel and term explained, in the theme."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QMenu

from khgui.bridge import EventBridge
from khgui.common import theme
from khgui.common.guide import GUIDE_PARTS, GuideDialog
from khgui.controller import NetworkController
from khgui.resources import resource_path
from khgui.window.main_window import MainWindowView

PANELS = ("Routing table", "Network map", "Store & look up", "Peers & items", "Traffic", "Statistics",
          "Stored values", "Stored peers & items", "Samples & clients", "Status bar")
TERMS = ("K", "Bucket (k-bucket)", "XOR distance", "log₂ distance", "Soft timeout", "Token")
BEPS = (5, 9, 20, 32, 33, 42, 43, 44, 51)


def test_guide_ships_in_resources_and_the_bundle() -> None:
    path = resource_path(*GUIDE_PARTS)
    assert path.is_file()
    root = Path(__file__).resolve().parents[3]
    spec = (root / "packaging" / "khgui.spec").read_text()
    assert 'datas=[(str(ROOT / "resources"), "resources")]' in spec  # the whole folder, guide included
    assert path.resolve().is_relative_to((root / "resources").resolve())


def test_guide_explains_each_panel_and_term_with_links(qtbot: Any) -> None:
    dialog = GuideDialog()
    qtbot.addWidget(dialog)
    assert dialog.loaded
    text = dialog.text()
    for panel in PANELS:
        assert panel in text, panel
    for term in TERMS:
        assert re.search(rf"^{re.escape(term)} \u2014 ", text, re.M), term
    html = dialog.browser.toHtml()
    for bep in BEPS:
        assert f"https://www.bittorrent.org/beps/bep_{bep:04d}.html" in html, bep
    assert "maymounkov-kademlia" in html and dialog.browser.openExternalLinks()
    dialog.find_edit.setText("soft timeout")
    assert dialog.browser.textCursor().selectedText().lower() == "soft timeout"
    dialog.find_edit.setText("no such words here")
    assert dialog.find_note.text() == "not found"


def test_help_guide_opens_in_the_theme_and_fits_720p(qtbot: Any, tmp_path: Path) -> None:
    bridge = EventBridge()
    window = MainWindowView(NetworkController(bridge), bridge,
                            QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), persist=False)
    qtbot.addWidget(window)
    help_menu = next(m for m in window.findChildren(QMenu) if m.title() == "&Help")
    assert help_menu.actions()[0] is window.commands.guide
    try:
        theme.manager().set_mode("dark")
        window.commands.guide.trigger()
        dialog = window.findChild(GuideDialog)
        assert dialog is not None and dialog.isVisible()
        base = dialog.browser.palette().color(QPalette.ColorRole.Base).name()
        assert base == theme.DARK.base
        theme.manager().set_mode("light")
        assert dialog.browser.palette().color(QPalette.ColorRole.Base).name() == theme.LIGHT.base
        assert dialog.sizeHint().height() <= 648 and dialog.sizeHint().width() <= 1152
        window.commands.guide.trigger()  # once: raised again, not a second one
        assert len(window.findChildren(GuideDialog)) == 1
    finally:
        theme.manager().set_mode("light")
