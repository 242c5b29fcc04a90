"""The main window's actions, menus and toolbar, and the dialogs they open.

:func:`build_actions` makes the window's actions (Network, View, File ▸ Quit
and Help; each with its tooltip, status tip and, for most, a shortcut that
the About box lists) and its theme choices, and returns them as one
:class:`WindowActions`; :func:`build_menus` puts them, with the capture
actions, in the menu bar above the error banner and in the Network toolbar,
and returns those as one :class:`WindowMenus`.  The window keeps both; no
builder assigns anything onto it.  What the actions use of the window is
:class:`WindowHost` (this module does not import the window: no import
circle).  The Network menu's Join, Resize lab and Lab conditions dialogs,
Public DHT routers and the About box open here, window-modal or
non-blocking, act through the window's :class:`~khgui.controller.NetworkController`,
and are kept while open in the window's :class:`~khgui.window.dialogs.OpenDialogs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Protocol

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QMenuBar, QToolBar, QVBoxLayout, QWidget

from ..capture.actions import CaptureActions
from ..common import theme
from ..common.guide import show_guide
from ..controller import NetworkController
from ..map.conditions import LabConditionsDialog
from ..profile import PUBLIC_NETWORK, can
from ..resources import icon
from .budget import QueryBudget
from .dialogs import AboutDialog, JoinDialog, OpenDialogs, ResizeLabDialog
from .public import PublicJoinDialog, PublicSettings, join_public

THEME_LABELS = {"system": "&System (follow the desktop)", "light": "&Light", "dark": "&Dark"}


class WindowHost(Protocol):
    """What the actions and the dialogs they open use of the main window."""

    controller: NetworkController
    settings: QSettings
    public: PublicSettings
    budget: QueryBudget
    dialogs: OpenDialogs

    def window(self) -> QWidget: ...
    def close(self) -> bool: ...
    def reset_layout(self) -> None: ...
    def set_theme(self, mode: str) -> None: ...
    def rejoin_lab(self) -> Coroutine[Any, Any, bool]: ...
    def join_address(self, host: str, port: int) -> Coroutine[Any, Any, bool]: ...
    def remembered_bootstrap(self) -> str: ...
    def budget_dialog(self) -> None: ...
    def show_error(self, text: str) -> None: ...
    def shortcuts(self) -> list[tuple[str, str]]: ...
    def focus_lookup(self) -> None: ...


@dataclass(frozen=True)
class WindowActions:
    """The main window's actions (the capture ones are :class:`~khgui.capture.actions.CaptureActions`')."""

    join: QAction
    rejoin: QAction
    leave: QAction
    resize: QAction
    add: QAction
    kill: QAction
    revive: QAction
    conditions: QAction
    public: QAction
    routers: QAction
    budget: QAction
    lookup: QAction
    own_focus: QAction
    reset_layout: QAction
    quit: QAction
    about: QAction
    guide: QAction
    theme_group: QActionGroup
    themes: dict[str, QAction]

    def live(self) -> tuple[QAction, ...]:
        """The actions on the live network, off while a capture is shown."""
        return (self.join, self.rejoin, self.leave, self.resize, self.add, self.kill, self.revive,
                self.conditions, self.public, self.lookup)


@dataclass(frozen=True)
class WindowMenus:
    """The menu bar (in ``top``, above the banner), its menus and the Network toolbar."""

    top: QWidget
    bar: QMenuBar
    file: QMenu
    network: QMenu
    view: QMenu
    theme: QMenu
    help: QMenu
    toolbar: QToolBar


def make_action(parent: QWidget, text: str, slot: Callable[[], Any],
                shortcut: str | QKeySequence.StandardKey | None = None,
                icon_name: str | None = None, tip: str = "") -> QAction:
    """An action of ``parent`` triggering ``slot``; its tooltip is also its status tip."""
    action = QAction(text, parent)
    if icon_name:
        action.setIcon(icon(icon_name))
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(tip or text.replace("&", "").rstrip("."))
    action.setStatusTip(action.toolTip())
    action.triggered.connect(slot)
    parent.addAction(action)
    return action


def build_actions(host: WindowHost, theme_mode: str) -> WindowActions:
    """The window's actions; ``theme_mode``'s is checked."""
    w, c, labs = host.window(), host.controller, host.controller.lab_control
    public = can(c.config, PUBLIC_NETWORK)
    themes: dict[str, QAction] = {}
    group = QActionGroup(w)
    group.setExclusive(True)
    for mode in theme.MODES:
        action = QAction(THEME_LABELS[mode], w, checkable=True)
        action.setData(mode)
        action.triggered.connect(lambda checked=False, m=mode: host.set_theme(m))
        group.addAction(action)
        themes[mode] = action
    themes[theme_mode].setChecked(True)
    actions = WindowActions(
        join=make_action(w, "&Join bootstrap address\u2026", lambda: join_dialog(host), "Ctrl+J", "join",
                         "Join a network through a bootstrap node"),
        rejoin=make_action(w, "Re&join lab", lambda: c.spawn(host.rejoin_lab()), "Ctrl+Shift+J", "join",
                           "Join the local lab again (starting our node, and a lab as big as the last, "
                           "if they stopped)"),
        leave=make_action(w, "&Leave", lambda: c.spawn(c.leave()), "Ctrl+Shift+L", "leave",
                          "Stop our node (the lab keeps running)"),
        resize=make_action(w, "&Resize lab\u2026", lambda: resize_dialog(host), "Ctrl+R", "resize"),
        add=make_action(w, "&Add lab node", lambda: c.spawn(labs.add()), "Ctrl+N", "add-node"),
        kill=make_action(w, "&Kill lab node (random)", lambda: c.spawn(labs.kill()), "Ctrl+K",
                         "kill-node", "Stop a random lab node abruptly; watch the table heal"),
        lookup=make_action(w, "&Focus look-up", host.focus_lookup, "Ctrl+L", "lookup",
                           "Put the cursor in the look-up form's Key field"),
        public=make_action(
            w, "Join the &public Mainline DHT\u2026", lambda: public_dialog(host), icon_name="join",
            tip="Join BitTorrent's DHT on the Internet through its routers (asks first)" if public
            else "The public DHT speaks Mainline: start the explorer with --profile mainline"),
        routers=make_action(w, "Public DHT &routers\u2026", lambda: routers_dialog(host),
                            tip="The routers the public DHT is joined through, and read-only"),
        budget=make_action(w, "&Query budget\u2026", host.budget_dialog,
                           tip="How many queries a second our node may send (public DHT, lab)"),
        quit=make_action(w, "&Quit", host.close, "Ctrl+Q", "quit"),
        about=make_action(w, "&About Khashmir Explorer", lambda: about(host), "F1", "about"),
        guide=make_action(w, "&Guide", lambda: show_guide(w), "Shift+F1",
                          tip="What each panel shows, and a glossary of the terms"),
        conditions=make_action(w, "Lab &conditions\u2026", lambda: conditions_dialog(host), "Ctrl+Shift+C",
                               tip="Latency, jitter, loss and churn inside the local lab"),
        revive=make_action(w, "Re&vive lab node", lambda: c.spawn(labs.revive()),
                           tip="Restart the lab node dead the longest, on its data directory"),
        own_focus=make_action(w, "Focus &our node", lambda: c.spawn(c.focus_node(None)), "Ctrl+0",
                              tip="Show our own node in the panels again"),
        reset_layout=make_action(w, "Reset &layout", host.reset_layout),
        theme_group=group,
        themes=themes,
    )
    actions.public.setEnabled(public)
    actions.routers.setEnabled(public)
    actions.own_focus.setEnabled(False)
    return actions


def build_menus(actions: WindowActions, capture: CaptureActions, docks: dict[str, QDockWidget],
                banner: QWidget) -> WindowMenus:
    """The menu bar (with ``banner`` below it, both in ``top``) and the Network toolbar."""
    a = actions
    bar = QMenuBar()
    file_menu = bar.addMenu("&File")
    capture.add_to_menu(file_menu)  # Open capture..., Record capture... (khgui.capture)
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    net = bar.addMenu("&Network")
    for item in (a.join, a.rejoin, a.leave, None, a.public, a.routers, a.budget, None, a.resize,
                 a.add, a.kill, a.revive, None, a.conditions):
        net.addSeparator() if item is None else net.addAction(item)
    view = bar.addMenu("&View")
    view.addAction(a.lookup)
    view.addAction(a.own_focus)
    view.addSeparator()
    for dock in docks.values():
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    theme_menu = view.addMenu("&Theme")
    for action in a.themes.values():
        theme_menu.addAction(action)
    view.addAction(a.reset_layout)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a.guide)
    help_menu.addAction(a.about)
    top = QWidget()
    layout = QVBoxLayout(top)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(bar)
    layout.addWidget(banner)
    tools = QToolBar("Network")
    tools.setObjectName("toolbar-network")
    tools.setMovable(False)
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for item in (a.join, a.leave, None, a.add, a.kill, a.resize, None, a.lookup):
        tools.addSeparator() if item is None else tools.addAction(item)
    return WindowMenus(top, bar, file_menu, net, view, theme_menu, help_menu, tools)


def join_dialog(host: WindowHost) -> None:
    """Network ▸ Join bootstrap address…: join the address given (the last one that answered, to start with)."""
    dialog = JoinDialog(host.window(), host.remembered_bootstrap())
    dialog.setWindowModality(Qt.WindowModality.WindowModal)

    def done(result: int) -> None:
        address = dialog.address()
        if result and address is not None:
            host.controller.spawn(host.join_address(*address))
        dialog.deleteLater()

    dialog.finished.connect(done)
    dialog.open()


def public_dialog(host: WindowHost) -> None:
    """Network ▸ Join the public Mainline DHT: confirm the first time, then join."""
    dialog = join_public(host.window(), host.controller, host.public, host.budget)
    if dialog is not None:
        host.dialogs.public = dialog  # kept while open (and for tests)


def routers_dialog(host: WindowHost) -> None:
    """Network ▸ Public DHT routers…: edit the routers and the read-only toggle (no join)."""
    dialog = PublicJoinDialog(host.public, host.window(), join=False)
    host.dialogs.public = dialog
    dialog.open()


def resize_dialog(host: WindowHost) -> None:
    """Network ▸ Resize lab…: grow or shrink the local lab."""
    controller = host.controller
    dialog = ResizeLabDialog(controller.lab_size, host.window(), controller.lab_addresses())

    def done(result: int) -> None:
        if result:
            controller.spawn(controller.resize_lab(dialog.value()))
        dialog.deleteLater()

    dialog.finished.connect(done)
    dialog.open()


def conditions_dialog(host: WindowHost) -> None:
    """Network ▸ Lab conditions…: latency, jitter, loss and churn of the running lab."""
    controller = host.controller
    labs = controller.lab_runner
    if labs is None:
        host.show_error("no lab: Network \u25b8 Resize lab starts one")
        return
    dialog = LabConditionsDialog(labs.conditions, host.window())
    dialog.applied.connect(lambda c: controller.spawn(controller.lab_control.set_conditions(c)))
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    host.dialogs.conditions = dialog


def about(host: WindowHost) -> None:
    """Help ▸ About: the About box, with the window's shortcuts."""
    dialog = AboutDialog(host.window(), host.shortcuts())
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
