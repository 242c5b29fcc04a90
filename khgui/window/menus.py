"""The main window's actions, menus and toolbar, and the dialogs they open.

:func:`build_actions` makes the window's actions (File, Network, View and
Help; each with its tooltip, status tip and, for most, a shortcut that the
About box lists) and its theme choices; :func:`build_menus` puts them in the
menu bar above the error banner and in the Network toolbar.  The Network
menu's Join, Resize lab and Lab conditions dialogs, Public DHT routers and
the About box open here, window-modal or non-blocking, and act through the
window's :class:`~khgui.controller.NetworkController`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenuBar, QToolBar, QVBoxLayout, QWidget

from ..capture.actions import CaptureActions
from ..common import theme
from ..map.conditions import LabConditionsDialog
from ..resources import icon
from .budget import QueryBudget
from .dialogs import AboutDialog, JoinDialog, ResizeLabDialog
from .public import PublicJoinDialog, PublicSettings, join_public

if TYPE_CHECKING:
    from .main_window import MainWindowView

THEME_LABELS = {"system": "&System (follow the desktop)", "light": "&Light", "dark": "&Dark"}


def make_action(window: "MainWindowView", text: str, slot: Callable[[], Any],
                shortcut: str | QKeySequence.StandardKey | None = None,
                icon_name: str | None = None, tip: str = "") -> QAction:
    """An action of the window triggering ``slot``; its tooltip is also its status tip."""
    action = QAction(text, window)
    if icon_name:
        action.setIcon(icon(icon_name))
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(tip or text.replace("&", "").rstrip("."))
    action.setStatusTip(action.toolTip())
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def build_actions(window: "MainWindowView") -> None:
    """The window's actions, as its attributes (``join_action``, ``theme_actions``...)."""
    c, w = window.controller, window
    w.join_action = make_action(w, "&Join bootstrap address\u2026", lambda: join_dialog(w), "Ctrl+J", "join",
                                "Join a network through a bootstrap node")
    w.rejoin_action = make_action(w, "Re&join lab", lambda: c.spawn(w.rejoin_lab()), "Ctrl+Shift+J", "join",
                                  "Join the local lab again (starting our node, and a lab as big as the last, if they stopped)")
    w.leave_action = make_action(w, "&Leave", lambda: c.spawn(c.leave()), "Ctrl+Shift+L", "leave",
                                 "Stop our node (the lab keeps running)")
    w.resize_action = make_action(w, "&Resize lab\u2026", lambda: resize_dialog(w), "Ctrl+R", "resize")
    w.add_action = make_action(w, "&Add lab node", lambda: c.spawn(c.add_lab_node()), "Ctrl+N", "add-node")
    w.kill_action = make_action(w, "&Kill lab node (random)", lambda: c.spawn(c.kill_lab_node()), "Ctrl+K",
                                "kill-node", "Stop a random lab node abruptly; watch the table heal")
    w.lookup_action = make_action(w, "&Focus look-up", lambda: focus_lookup(w), "Ctrl+L", "lookup",
                                  "Put the cursor in the look-up form's Key field")
    w.public = PublicSettings(w.settings)
    mainline = c.profile == "mainline"
    w.public_action = make_action(
        w, "Join the &public Mainline DHT\u2026", lambda: join_public(w, w.public), icon_name="join",
        tip="Join BitTorrent's DHT on the Internet through its routers (asks first)" if mainline
        else "The public DHT speaks Mainline: start the explorer with --profile mainline")
    w.public_action.setEnabled(mainline)
    w.routers_action = make_action(w, "Public DHT &routers\u2026", lambda: routers_dialog(w),
                                   tip="The routers the public DHT is joined through, and read-only")
    w.routers_action.setEnabled(mainline)
    w.budget = QueryBudget(w.settings)
    w.budget_action = make_action(w, "&Query budget\u2026", w.budget_dialog,
                                  tip="How many queries a second our node may send (public DHT, lab)")
    w.quit_action = make_action(w, "&Quit", w.close, "Ctrl+Q", "quit")
    w.about_action = make_action(w, "&About Khashmir Explorer", lambda: about(w), "F1", "about")
    w.conditions_action = make_action(w, "Lab &conditions\u2026", lambda: conditions_dialog(w), "Ctrl+Shift+C",
                                      tip="Latency, jitter, loss and churn inside the local lab")
    w.revive_action = make_action(w, "Re&vive lab node", lambda: c.spawn(c.revive_lab_node()),
                                  tip="Restart the lab node dead the longest, on its data directory")
    w.own_focus_action = make_action(w, "Focus &our node", lambda: c.spawn(c.focus_node(None)), "Ctrl+0",
                                     tip="Show our own node in the panels again")
    w.own_focus_action.setEnabled(False)
    w.reset_layout_action = make_action(w, "Reset &layout", w.reset_layout)
    w.theme_group = QActionGroup(w)
    w.theme_group.setExclusive(True)
    w.theme_actions = {}
    for mode in theme.MODES:
        action = QAction(THEME_LABELS[mode], w, checkable=True)
        action.setData(mode)
        action.triggered.connect(lambda checked=False, m=mode: w.set_theme(m))
        w.theme_group.addAction(action)
        w.theme_actions[mode] = action
    w.theme_actions[w.theme.mode].setChecked(True)


def build_menus(window: "MainWindowView") -> None:
    """The menu bar (with the banner below it) and the Network toolbar."""
    bar = QMenuBar()
    file_menu = bar.addMenu("&File")
    window.capture = CaptureActions(window)  # Open capture..., Record capture... (khgui.capture)
    window.capture.add_to_menu(file_menu)
    file_menu.addSeparator()
    file_menu.addAction(window.quit_action)
    net = bar.addMenu("&Network")
    for a in (window.join_action, window.rejoin_action, window.leave_action, None, window.public_action,
              window.routers_action, window.budget_action, None, window.resize_action,
              window.add_action, window.kill_action, window.revive_action, None, window.conditions_action):
        net.addSeparator() if a is None else net.addAction(a)
    view = bar.addMenu("&View")
    view.addAction(window.lookup_action)
    view.addAction(window.own_focus_action)
    view.addSeparator()
    for dock in window.docks.values():
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    theme_menu = view.addMenu("&Theme")
    for action in window.theme_actions.values():
        theme_menu.addAction(action)
    view.addAction(window.reset_layout_action)
    window.theme_menu = theme_menu
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(window.about_action)
    top = QWidget()
    layout = QVBoxLayout(top)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(bar)
    layout.addWidget(window.banner)
    window.setMenuWidget(top)
    window.menu_bar = bar
    tools = QToolBar("Network")
    tools.setObjectName("toolbar-network")
    tools.setMovable(False)
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for a in (window.join_action, window.leave_action, None, window.add_action, window.kill_action,
              window.resize_action, None, window.lookup_action):
        tools.addSeparator() if a is None else tools.addAction(a)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tools)
    window.toolbar = tools


def join_dialog(window: "MainWindowView") -> None:
    """Network ▸ Join bootstrap address…: join the address given (the last one that answered, to start with)."""
    dialog = JoinDialog(window, window.remembered_bootstrap())
    dialog.setWindowModality(Qt.WindowModality.WindowModal)

    def done(result: int) -> None:
        address = dialog.address()
        if result and address is not None:
            window.controller.spawn(window.join_address(*address))
        dialog.deleteLater()

    dialog.finished.connect(done)
    dialog.open()


def routers_dialog(window: "MainWindowView") -> None:
    """Network ▸ Public DHT routers…: edit the routers and the read-only toggle (no join)."""
    window.public_dialog = PublicJoinDialog(window.public, window, join=False)
    window.public_dialog.open()


def resize_dialog(window: "MainWindowView") -> None:
    """Network ▸ Resize lab…: grow or shrink the local lab."""
    dialog = ResizeLabDialog(window.controller.lab_size, window, window.controller.lab_addresses())

    def done(result: int) -> None:
        if result:
            window.controller.spawn(window.controller.resize_lab(dialog.value()))
        dialog.deleteLater()

    dialog.finished.connect(done)
    dialog.open()


def conditions_dialog(window: "MainWindowView") -> None:
    """Network ▸ Lab conditions…: latency, jitter, loss and churn of the running lab."""
    labs = window.controller.lab_runner
    if labs is None:
        window.show_error("no lab: Network \u25b8 Resize lab starts one")
        return
    dialog = LabConditionsDialog(labs.conditions, window)
    dialog.applied.connect(lambda c: window.controller.spawn(window.controller.set_lab_conditions(c)))
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    window.conditions = dialog


def about(window: "MainWindowView") -> None:
    """Help ▸ About: the About box, with the window's shortcuts."""
    dialog = AboutDialog(window, window.shortcuts())
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()


def focus_lookup(window: "MainWindowView") -> None:
    """View ▸ Focus look-up: show the look-up dock, the cursor in its Key field."""
    dock = window.docks.get("lookup")
    if dock is None:
        return
    dock.show()
    dock.raise_()
    window.panels["lookup"].focus_key()
