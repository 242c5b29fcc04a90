"""The main window's fit, themes, menus, dialogs and status texts (offscreen, real dht objects)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QScrollArea, QStyle, QStyleOptionSpinBox

from dht import parse_address
from khgui.app import parse_args
from khgui.bridge import EventBridge
from khgui.common import theme
from khgui.common.plotting import legend_overlaps_view
from khgui.controller import NetworkController
from khgui.window.dialogs import AboutDialog, ResizeLabDialog
from khgui.window.main_window import MainWindowView
from khgui.window.status import StatusPanel


@pytest.fixture
def light() -> Iterator[theme.ThemeManager]:
    manager = theme.manager()
    manager.set_mode("light")
    yield manager
    manager.set_mode("light")


def window_for(qtbot: Any, tmp_path: Path, controller: NetworkController | None = None,
               bridge: EventBridge | None = None) -> MainWindowView:
    bridge = bridge or EventBridge()
    controller = controller or NetworkController(bridge)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings)
    qtbot.addWidget(window)
    return window


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    la, lb = sorted((lum(QColor(a)), lum(QColor(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_minimum_size_fits_1280x720_and_1366x768_at_125_percent(qtbot: Any, tmp_path: Path, light: Any) -> None:
    window = window_for(qtbot, tmp_path)
    window.show()
    minimum = window.minimumSizeHint()
    # 1366x768 at 125 % is 1093x614 logical pixels; leave room for a title bar and a desktop panel
    assert minimum.width() <= 1060 and minimum.height() <= 540, minimum
    window.resize(minimum)
    qtbot.waitUntil(lambda: window.size() == minimum, timeout=2000)
    for key, dock in window.docks.items():  # a dock smaller than its panel scrolls, nothing is cut off
        scroll = dock.widget()
        panel = window.panels[key] if key != "map" else window.map
        assert isinstance(scroll, QScrollArea) and scroll.widget() is panel
        need = panel.minimumSizeHint()
        view = scroll.viewport().size()
        assert (need.width() <= view.width() or scroll.horizontalScrollBar().maximum() > 0), key
        assert (need.height() <= view.height() or scroll.verticalScrollBar().maximum() > 0), key


@pytest.mark.parametrize("colors", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_theme_colours_are_readable(colors: theme.Colors) -> None:
    for background in (colors.base, colors.window, colors.alt_base):
        assert contrast(colors.text, background) >= 7
        assert contrast(colors.muted, background) >= 3
    for name in ("bar_bg", "off_cell"):  # bit cells and the fill bar's empty part carry text too
        assert contrast(colors.text, getattr(colors, name)) >= 4.5
    assert contrast(colors.accent_text, colors.accent) >= 4.5
    assert contrast(colors.plot_fg, colors.plot_bg) >= 7
    assert contrast(colors.banner_text, colors.banner) >= 7
    for state, colour in colors.status.items():
        assert contrast(colour, colors.base) >= 3, state


def test_view_theme_menu_switches_and_is_kept(qtbot: Any, tmp_path: Path, light: Any) -> None:
    window = window_for(qtbot, tmp_path)
    window.show()
    assert [a.text().replace("&", "") for a in window.menus.theme.actions()][:3] == [
        "System (follow the desktop)", "Light", "Dark"]
    window.commands.themes["dark"].trigger()
    app = QApplication.instance()
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.DARK.window
    assert theme.DARK.text in app.styleSheet() and "$" not in app.styleSheet()
    assert window.settings.value("view/theme") == "dark"
    plots = window.findChildren(pg.GraphicsView)
    assert len(plots) >= 3
    for plot in plots:
        assert plot.backgroundBrush().color().name() == theme.DARK.plot_bg
    lookup_plot = window.panels["lookup"].results.plot
    assert lookup_plot.scatters["answered"].opts["pen"].color().name() == theme.DARK.status["answered"]
    # the trie paints its background from the theme, under the dark text
    trie = window.routing.trie
    trie.resize(400, 60)
    image = trie.grab().toImage()
    assert image.pixelColor(2, 2).name() == theme.DARK.base
    window.set_theme("light")
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.LIGHT.window
    assert trie.grab().toImage().pixelColor(2, 2).name() == theme.LIGHT.base


def test_system_theme_follows_the_desktop_scheme(qtbot: Any) -> None:
    desktop = ["light"]
    manager = theme.ThemeManager(scheme=lambda: desktop[0])
    seen: list[str] = []
    manager.changed.connect(lambda c: seen.append(c.name))
    try:
        manager.set_mode("system")
        desktop[0] = "dark"
        manager.system_changed()  # QStyleHints.colorSchemeChanged
        assert seen == ["light", "dark"] and theme.colors() is theme.DARK
        manager.set_mode("light")
        desktop[0] = "light"
        manager.system_changed()  # a fixed choice ignores the desktop
        assert seen == ["light", "dark", "light"]
        with pytest.raises(ValueError):
            manager.set_mode("sepia")
    finally:
        theme.manager().set_mode("light")


def test_about_lists_every_shortcut_from_the_actions(qtbot: Any, tmp_path: Path) -> None:
    window = window_for(qtbot, tmp_path)
    shortcuts = dict(window.shortcuts())
    for keys in ("Ctrl+J", "Ctrl+Shift+J", "Ctrl+Shift+L", "Ctrl+R", "Ctrl+N", "Ctrl+K", "Ctrl+L", "Ctrl+Q", "F1"):
        assert keys in shortcuts, keys
    dialog = AboutDialog(window, window.shortcuts())
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    for keys, what in window.shortcuts():
        assert f"<b>{keys}</b>" in text and what in text


def test_resize_spin_box_shows_its_arrows(qtbot: Any, light: Any) -> None:
    dialog = ResizeLabDialog(32)
    qtbot.addWidget(dialog)
    dialog.show()
    spin = dialog.spin
    option = QStyleOptionSpinBox()
    spin.initStyleOption(option)
    image = spin.grab().toImage()
    for control in (QStyle.SubControl.SC_SpinBoxUp, QStyle.SubControl.SC_SpinBoxDown):
        rect = spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option, control, spin)
        assert rect.width() > 4 and rect.height() > 4
        colours = {image.pixelColor(x, y).name() for x in range(rect.left(), rect.right())
                   for y in range(rect.top(), rect.bottom())}
        assert len(colours) >= 4  # an arrow is drawn, not a blank box


def test_status_counts_are_singular_for_one(qtbot: Any) -> None:
    status = StatusPanel()
    qtbot.addWidget(status)
    status.show_joined(True)
    status.show_counts(1, 1)
    assert (status.contacts.text(), status.buckets.text()) == ("1 contact", "1 bucket")
    status.show_counts(2, 0)
    assert (status.contacts.text(), status.buckets.text()) == ("2 contacts", "0 buckets")


def test_bootstrap_without_host_shows_the_parsers_one_line(capsys: Any) -> None:
    with pytest.raises(ValueError) as parsed:
        parse_address(":4000")
    with pytest.raises(SystemExit) as info:
        parse_args(["--bootstrap", ":4000"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("khgui: error: argument --bootstrap: ")
    assert err.endswith(f"{parsed.value}\n")  # dht.parse_address's own words


def test_plot_legends_do_not_cover_data(qtbot: Any, tmp_path: Path, light: Any) -> None:
    window = window_for(qtbot, tmp_path)
    window.resize(1280, 720)
    window.show()
    checked = 0
    for dock in window.docks.values():
        dock.raise_()  # a tabbed dock is laid out once shown
        views = dock.widget().findChildren(pg.GraphicsView)
        items = [i for v in views for i in v.scene().items() if isinstance(i, pg.PlotItem) and i.isVisible()]
        for item in items:
            if item is not window.stats.plots.rates_plot:  # its legend: the per-method table's swatches
                assert getattr(item, "legend", None) is not None, item.titleLabel.text
            try:
                qtbot.waitUntil(lambda: item.getViewBox().height() > 40 and not legend_overlaps_view(item),
                                timeout=2000)
            except Exception:
                raise AssertionError(f"{item.titleLabel.text}: view box {item.getViewBox().height():.0f} px high, "
                                     f"legend over it: {legend_overlaps_view(item)}") from None
        checked += len(items)
    assert checked >= 6  # lookup, split history, four statistics plots

def test_window_on_a_live_lab(qtbot: Any, tmp_path: Path, live: Any, run: Any, wait_for: Any,
                              poke_until: Any, light: Any) -> None:
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest

    controller, bridge = live
    window = window_for(qtbot, tmp_path, controller, bridge)
    window.resize(1280, 720)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    lookup = window.panels["lookup"]

    # Ctrl+L puts the cursor in the Key field: what is typed next lands there
    window.panels["traffic"].setFocus()
    QTest.keySequence(window, QKeySequence("Ctrl+L"))
    assert lookup.key_edit.hasFocus()
    QTest.keyClicks(QApplication.focusWidget(), "typed key")
    assert lookup.key_edit.text() == "typed key"

    # the decoded message is wide enough for a field and a 40-digit id
    traffic = window.panels["traffic"]
    window.docks["traffic"].raise_()
    qtbot.waitUntil(lambda: traffic.message_view.isVisible(), timeout=2000)
    assert traffic.message_view.width() >= traffic.message_view.readable_width()

    # kill: the message says which node died
    messages: list[str] = []
    controller.message.connect(messages.append)
    before = {n.id.hex()[:8]: n for n in controller.lab.nodes}
    run(controller.lab_control.kill())
    after = {n.id.hex()[:8] for n in controller.lab.nodes}
    (dead,) = set(before) - after
    host, port = before[dead].address
    assert messages[-1] == f"killed lab node {dead} at {host}:{port} ({len(after)} left)"
    assert window.statusBar().currentMessage() == messages[-1]

    # after Leave the routing panel forgets the bucket it showed
    poke_until(controller, lambda: window.routing.contacts.rowCount() > 0, 10)
    assert window.routing.contact_title.text().startswith("Bucket ")
    run(controller.leave())
    assert window.routing.contact_title.text() == "Select a bucket to list its contacts"
    assert window.routing.buckets.rowCount() == 0 and "Rejoin lab" in window.routing.summary.text()
    assert window.commands.rejoin.isEnabled() and not window.commands.leave.isEnabled()

    # Network ▸ Rejoin lab; a lab address is not remembered for the Join dialog (it dies with the lab),
    # nor is what an older version saved before knowing whether it answered
    window.settings.setValue("network/last_bootstrap", "127.0.0.1:9")
    assert run(window.rejoin_lab()) and controller.joined
    assert window.remembered_bootstrap() == ""
    other = controller.lab.nodes[0].address
    assert run(window.join_address(*other)) and window.remembered_bootstrap() == ""

    # an address that does not answer is not remembered either
    from khgui.node_control import free_udp_port

    silent = ("127.0.0.1", free_udp_port())
    assert not run(window.join_address(*silent))
    assert window.remembered_bootstrap() == ""

    # a lab resized to 0 takes our only peers: not joined any more
    run(controller.resize_lab(0))
    assert controller.lab_size == 0 and not controller.joined
    assert not window.status.joined and window.status.network.text() == "Khashmir \u00b7 not joined"
    assert window.commands.rejoin.isEnabled()  # it would form a lab again

    # an address that answers and is not a lab node's is remembered: a node outside any lab
    outside = NetworkController(EventBridge(), config=controller.config)
    assert run(outside.start(lab_size=0, data_dir=str(tmp_path / "outside")))
    assert run(window.join_address(*outside.node.address)) and controller.joined
    assert window.remembered_bootstrap() == "%s:%d" % outside.node.address
    run(outside.stop())


def test_port_in_use_offers_a_port_that_is_free_now(qtbot: Any, tmp_path: Path, live: Any, run: Any) -> None:
    import socket

    controller, bridge = live
    _, port = controller.node.address  # taken by our running node
    second = NetworkController(EventBridge(), config=controller.config)
    errors: list[str] = []
    second.error.connect(errors.append)
    assert not run(second.start(lab_size=0, port=port, data_dir=str(tmp_path / "second")))
    assert errors and f"port {port} on 127.0.0.1 is in use" in errors[-1]
    offered = int(errors[-1].split("; port ", 1)[1].split()[0])
    assert offered != port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", offered))  # free now
    # Join uses the offered port, not the one in use
    assert run(second.join(*controller.lab.bootstrap_address))
    assert second.node.address[1] == offered
    run(second.stop())
