"""The main window: six dockable panels, menus, toolbar, status bar, banner.

:class:`MainWindowView` docks the routing, traffic, values, look-up and
statistics panels and the network map, wires the Network menu to the
:class:`NetworkController`,
keeps the dock layout, geometry and theme in QSettings, and shows every
error a user can cause in an inline banner and the status bar.

Each panel sits in a scroll area inside its dock, so the window fits small
screens (1280x720 at 100 %, 1366x768 at 125 %): a dock smaller than its
panel scrolls instead of cutting it off.

Any node in focus: selecting a lab node (double-click or "Focus this node"
on the map) points the routing, values, statistics and traffic panels and
the event bridge at a :class:`~khgui.map.focus.FocusedNode`; the window
title and the status bar say whose view it is, and View ▸ Focus our node
(Ctrl+0) goes back.  Look-ups always run from our own node.  The About box lists the shortcuts
of the window's actions, read from the actions themselves.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenuBar, QScrollArea, QToolBar, QVBoxLayout, QWidget

from ..bridge import EventBridge
from ..capture.actions import CaptureActions
from ..controller import NetworkController
from ..common import theme
from ..common.plotting import fit_legends
from ..resources import icon
from ..lookup.mainline import MainlineLookupPanel
from ..lookup.panel import LookupPanel
from ..map.conditions import LabConditionsDialog
from ..map.panel import NetworkMapPanel
from ..routing.panel import RoutingPanel
from ..samples.panel import SamplesPanel
from ..stats.panel import StatsPanel
from ..traffic.panel import TrafficPanel
from ..values.mainline_panel import MainlineValuesPanel
from ..values.panel import ValuesPanel
from .budget import QueryBudget, apply_budget, budget_dialog
from .dialogs import AboutDialog, JoinDialog, ResizeLabDialog
from .mainline_status import MainlineStatusView
from .public import PublicJoinDialog, PublicSettings, join_public
from .status import BannerPanel, StatusPanel

log = logging.getLogger(__name__)

ORGANIZATION = "KhashmirExplorer"
APPLICATION = "Khashmir Explorer"
LAYOUT_VERSION = 4
DEFAULT_SIZE = (1400, 900)
#: The smallest a dock's scroll area gets (its panel scrolls inside).
DOCK_MIN = QSize(240, 150)
#: The last bootstrap address that answered (not "network/last_bootstrap", which
#: older versions set before knowing, often to a lab port that died with its run).
BOOTSTRAP_KEY = "network/answered_bootstrap"
#: Below this window height the look-up dock is tabbed with the others instead of above them.
COMPACT_HEIGHT = 760
#: Milliseconds between two drains of our node's lookup events into the map.
MAP_LOOKUP_MS = 100
THEME_LABELS = {"system": "&System (follow the desktop)", "light": "&Light", "dark": "&Dark"}


class MainWindowView(QMainWindow):
    """Khashmir Explorer's main window.

    Signals:
        closed(): the window was closed (the application should stop).
    """

    closed = Signal()

    def __init__(
        self, controller: NetworkController, bridge: EventBridge,
        settings: QSettings | None = None, persist: bool = True,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.bridge = bridge
        self.settings = settings if settings is not None else QSettings(ORGANIZATION, APPLICATION)
        self.persist = persist
        self.public_dialog: Any = None  # the public-DHT dialog while open
        self.setWindowTitle(self._base_title())
        self.setWindowIcon(icon("app"))
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)

        self.routing = RoutingPanel(controller, bridge)
        self.stats = StatsPanel(controller, bridge)
        self.panels: dict[str, QWidget] = {
            "routing": self.routing,
            "stats": self.stats,
            "traffic": TrafficPanel(controller, bridge),
            "values": (MainlineValuesPanel if controller.profile == "mainline" else ValuesPanel)(controller, bridge),
            "lookup": (MainlineLookupPanel if controller.profile == "mainline" else LookupPanel)(controller, bridge),
        }
        titles = {"routing": "Routing table", "traffic": "Traffic",
                  "values": "Stored peers && items" if controller.profile == "mainline" else "Stored values",
                  "lookup": "Peers && items" if controller.profile == "mainline" else "Store && look up",
                  "stats": "Statistics", "samples": "Samples && clients"}
        if controller.profile == "mainline":  # BEP 51 samples and the clients that answer
            self.panels["samples"] = SamplesPanel(controller, bridge, self.settings, census=self.routing.census)
        self.docks: dict[str, QDockWidget] = {}
        for key, panel in self.panels.items():
            dock = QDockWidget(titles[key], self)
            dock.setObjectName(f"dock-{key}")
            scroll = QScrollArea()
            scroll.setObjectName("dockScroll")
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setMinimumSize(DOCK_MIN)
            dock.setWidget(scroll)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.docks[key] = dock
        # The network map: not one of self.panels (it has nothing to show without a lab).
        self.map = NetworkMapPanel()
        map_dock = QDockWidget("Network map", self)
        map_dock.setObjectName("dock-map")
        map_scroll = QScrollArea()
        map_scroll.setObjectName("dockScroll")
        map_scroll.setWidget(self.map)
        map_scroll.setWidgetResizable(True)
        map_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        map_scroll.setMinimumSize(DOCK_MIN)
        map_dock.setWidget(map_scroll)
        map_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.docks["map"] = map_dock

        self.theme = theme.manager()
        self.banner = BannerPanel()
        self.status = StatusPanel()
        self._build_actions()
        self._build_menus()
        self.statusBar().addPermanentWidget(self.status, 1)
        self.mainline_status: MainlineStatusView | None = None
        if controller.profile == "mainline":  # external address, BEP 42, query budget
            self.mainline_status = MainlineStatusView()
            self.statusBar().addPermanentWidget(self.mainline_status)
        self.status.node_id.copied.connect(self._id_copied)
        self.default_layout()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self.restore_settings()

        controller.error.connect(self.show_error)
        controller.message.connect(self.show_message)
        controller.node_changed.connect(self._node_changed)
        controller.joined_changed.connect(self._joined_changed)
        controller.lab_changed.connect(self._lab_changed)
        controller.busy_changed.connect(self.status.set_busy)
        c = controller
        controller.lab_nodes.connect(self._lab_nodes)
        controller.lab_node_changed.connect(self.map.model.update_node)
        controller.lab_progress.connect(self._lab_progress)
        controller.lab_lookups.connect(self.map.lookup_events)
        controller.focus_changed.connect(self._focus_changed)
        self.map.focus_requested.connect(lambda node_id: c.spawn(c.focus_node(node_id)))
        self.map.kill_requested.connect(lambda node_id: c.spawn(c.kill_lab_node(node_id)))
        self.map.revive_requested.connect(lambda node_id: c.spawn(c.revive_lab_node(node_id)))
        self.map.add_requested.connect(lambda: c.spawn(c.add_lab_node()))
        self.map.lab_lookups_toggled.connect(lambda on: c.spawn(c.watch_lab_lookups(on)))
        self._map_timer = QTimer(self)
        self._map_timer.setInterval(MAP_LOOKUP_MS)
        self._map_timer.timeout.connect(self._drain_lookups)
        self._map_timer.start()
        self.theme.changed.connect(self._theme_changed)
        controller.network_changed.connect(self._network_changed)
        self._node_changed(controller.node)
        self._joined_changed(controller.joined)
        self._network_changed()
        self._lab_changed(controller.lab_size)
        theme.style_plots(self, self.theme.colors)
        self._legend_fitters = fit_legends(self)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._update_counts)
        self._timer.start()

    # -- construction ---------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], Any], shortcut: str | QKeySequence.StandardKey | None = None,
                icon_name: str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text.replace("&", "").rstrip("."))
        action.setStatusTip(action.toolTip())
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        c = self.controller
        self.join_action = self._action("&Join bootstrap address\u2026", self.join_dialog, "Ctrl+J", "join",
                                        "Join a network through a bootstrap node")
        self.rejoin_action = self._action("Re&join lab", lambda: c.spawn(self.rejoin_lab()), "Ctrl+Shift+J", "join",
                                          "Join the local lab again (starting our node if it stopped)")
        self.leave_action = self._action("&Leave", lambda: c.spawn(c.leave()), "Ctrl+Shift+L", "leave",
                                         "Stop our node (the lab keeps running)")
        self.resize_action = self._action("&Resize lab\u2026", self.resize_dialog, "Ctrl+R", "resize")
        self.add_action = self._action("&Add lab node", lambda: c.spawn(c.add_lab_node()), "Ctrl+N", "add-node")
        self.kill_action = self._action("&Kill lab node (random)", lambda: c.spawn(c.kill_lab_node()), "Ctrl+K",
                                        "kill-node", "Stop a random lab node abruptly; watch the table heal")
        self.lookup_action = self._action("&Focus look-up", self.focus_lookup, "Ctrl+L", "lookup",
                                          "Put the cursor in the look-up form's Key field")
        self.public = PublicSettings(self.settings)
        mainline = c.profile == "mainline"
        self.public_action = self._action(
            "Join the &public Mainline DHT\u2026", lambda: join_public(self, self.public), icon_name="join",
            tip="Join BitTorrent's DHT on the Internet through its routers (asks first)" if mainline
            else "The public DHT speaks Mainline: start the explorer with --profile mainline")
        self.public_action.setEnabled(mainline)
        self.routers_action = self._action("Public DHT &routers\u2026", self.routers_dialog,
                                           tip="The routers the public DHT is joined through, and read-only")
        self.routers_action.setEnabled(mainline)
        self.budget = QueryBudget(self.settings)
        self.budget_action = self._action("&Query budget\u2026", self.budget_dialog,
                                          tip="How many queries a second our node may send (public DHT, lab)")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "quit")
        self.about_action = self._action("&About Khashmir Explorer", self.about, "F1", "about")
        self.conditions_action = self._action("Lab &conditions\u2026", self.conditions_dialog, "Ctrl+Shift+C",
                                              tip="Latency, jitter, loss and churn inside the local lab")
        self.revive_action = self._action("Re&vive lab node", lambda: c.spawn(c.revive_lab_node()),
                                          tip="Restart the lab node dead the longest, on its data directory")
        self.own_focus_action = self._action("Focus &our node", lambda: c.spawn(c.focus_node(None)), "Ctrl+0",
                                             tip="Show our own node in the panels again")
        self.own_focus_action.setEnabled(False)
        self.reset_layout_action = self._action("Reset &layout", self.reset_layout)
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for mode in theme.MODES:
            action = QAction(THEME_LABELS[mode], self, checkable=True)
            action.setData(mode)
            action.triggered.connect(lambda checked=False, m=mode: self.set_theme(m))
            self.theme_group.addAction(action)
            self.theme_actions[mode] = action
        self.theme_actions[self.theme.mode].setChecked(True)

    def _build_menus(self) -> None:
        bar = QMenuBar()
        file_menu = bar.addMenu("&File")
        self.capture = CaptureActions(self)  # Open capture..., Record capture... (khgui.capture)
        self.capture.add_to_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        net = bar.addMenu("&Network")
        for a in (self.join_action, self.rejoin_action, self.leave_action, None, self.public_action,
                  self.routers_action, self.budget_action, None, self.resize_action,
                  self.add_action, self.kill_action, self.revive_action, None, self.conditions_action):
            net.addSeparator() if a is None else net.addAction(a)
        view = bar.addMenu("&View")
        view.addAction(self.lookup_action)
        view.addAction(self.own_focus_action)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        for action in self.theme_actions.values():
            theme_menu.addAction(action)
        view.addAction(self.reset_layout_action)
        self.theme_menu = theme_menu
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)
        top = QWidget()
        layout = QVBoxLayout(top)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.banner)
        self.setMenuWidget(top)
        self.menu_bar = bar
        tools = QToolBar("Network")
        tools.setObjectName("toolbar-network")
        tools.setMovable(False)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.join_action, self.leave_action, None, self.add_action, self.kill_action, self.resize_action,
                  None, self.lookup_action):
            tools.addSeparator() if a is None else tools.addAction(a)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tools)
        self.toolbar = tools

    def default_layout(self) -> None:
        """Routing on the left; look-up top right; traffic, statistics and values tabbed below.

        On a short screen (less than COMPACT_HEIGHT pixels for the window) the
        look-up dock is one more tab of the right-hand group, so that each panel
        there gets the whole height.
        """
        d = self.docks
        for dock in d.values():
            dock.setFloating(False)
            dock.show()
        size = fitting_size(self)
        compact = size.height() < COMPACT_HEIGHT
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d["routing"])
        self.tabifyDockWidget(d["routing"], d["map"])
        d["routing"].raise_()
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d["lookup"])
        if compact:
            for key in ("traffic", "stats", "values", "samples"):
                if key in d:
                    self.tabifyDockWidget(d["lookup"], d[key])
            d["lookup"].raise_()
        else:
            self.splitDockWidget(d["lookup"], d["traffic"], Qt.Orientation.Vertical)
            for key in ("stats", "values", "samples"):
                if key in d:
                    self.tabifyDockWidget(d["traffic"], d[key])
            d["traffic"].raise_()
        self.resize(size)
        width, height = size.width(), size.height()
        self.resizeDocks([d["routing"], d["lookup"]], [int(width * 0.38), int(width * 0.62)],
                         Qt.Orientation.Horizontal)
        if not compact:  # the look-up form and its plot need more height than a table
            self.resizeDocks([d["lookup"], d["traffic"]], [height // 2, height // 2], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)

    # -- settings --------------------------------------------------------------

    def restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        elif fitting_size(self) != QSize(*DEFAULT_SIZE):  # a small screen: use all of it
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)
        if isinstance(state, QByteArray) and not state.isEmpty():
            if not self.restoreState(state, LAYOUT_VERSION):
                log.info("saved dock layout ignored (other version)")

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.persist:
            self.save_settings()
        event.accept()
        self.closed.emit()

    # -- actions -------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """A transient informational message in the status bar."""
        self.statusBar().showMessage(text, 5000)

    def _id_copied(self, text: str) -> None:
        self.statusBar().showMessage(f"node id {text[:12]}… copied to the clipboard", 3000)

    def show_error(self, text: str) -> None:
        """Show a one-line error in the banner and the status bar."""
        line = text.strip().splitlines()[0] if text.strip() else "error"
        self.banner.show_message(line)
        self.statusBar().showMessage(line, 10_000)

    def set_theme(self, mode: str) -> None:
        """Use theme ``mode`` (system, light or dark) and keep it in the settings."""
        self.theme.set_mode(mode)
        self.theme_actions[mode].setChecked(True)
        self.settings.setValue("view/theme", mode)

    def _theme_changed(self, colors: theme.Colors) -> None:
        theme.style_plots(self, colors)
        self.panels["lookup"].plot.set_colors(colors)

    def remembered_bootstrap(self) -> str:
        """The last bootstrap address that answered (never a lab node's: those die with the lab)."""
        return str(self.settings.value(BOOTSTRAP_KEY, "", str) or "")

    async def join_address(self, host: str, port: int) -> bool:
        """Join ``host:port``; remember it for the Join dialog only if it answered and outlives us."""
        joined = await self.controller.join(host, port)
        if joined and (host, port) not in self.controller.lab_addresses():
            self.settings.setValue(BOOTSTRAP_KEY, f"{host}:{port}")
        return bool(joined)

    async def rejoin_lab(self) -> bool:
        """Network ▸ Rejoin lab: join the running lab again (our node restarts if it left)."""
        return bool(await self.controller.rejoin_lab())

    def join_dialog(self) -> None:
        dialog = JoinDialog(self, self.remembered_bootstrap())
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            address = dialog.address()
            if result and address is not None:
                self.controller.spawn(self.join_address(*address))
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def routers_dialog(self) -> None:
        """Network ▸ Public DHT routers…: edit the routers and the read-only toggle (no join)."""
        self.public_dialog = PublicJoinDialog(self.public, self, join=False)
        self.public_dialog.open()

    def budget_dialog(self) -> None:
        """Network ▸ Query budget…: edit the budgets; applied to our node at once."""
        self.budget_editor = budget_dialog(self, self.budget)

    def apply_budget(self) -> None:
        """Give our node the budget of the network it is on."""
        apply_budget(self, self.budget)

    def resize_dialog(self) -> None:
        dialog = ResizeLabDialog(self.controller.lab_size, self)

        def done(result: int) -> None:
            if result:
                self.controller.spawn(self.controller.resize_lab(dialog.value()))
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def conditions_dialog(self) -> None:
        """Network ▸ Lab conditions…: latency, jitter, loss and churn of the running lab."""
        labs = self.controller.lab_runner
        if labs is None:
            self.show_error("no lab: Network \u25b8 Resize lab starts one")
            return
        dialog = LabConditionsDialog(labs.conditions, self)
        dialog.applied.connect(lambda c: self.controller.spawn(self.controller.set_lab_conditions(c)))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.conditions = dialog

    def shortcuts(self) -> list[tuple[str, str]]:
        """(shortcut, what it does) of every action with a shortcut, in menu order."""
        rows = []
        for action in self.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                rows.append((keys, action.toolTip()))
        return rows

    def about(self) -> None:
        dialog = AboutDialog(self, self.shortcuts())
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def focus_lookup(self) -> None:
        dock = self.docks.get("lookup")
        if dock is None:
            return
        dock.show()
        dock.raise_()
        self.panels["lookup"].focus_key()

    # -- controller signals -----------------------------------------------------

    # -- the network map and the node in focus ------------------------------------

    def _lab_nodes(self, infos: list[Any]) -> None:
        self.map.set_nodes(infos, self._own_info())

    def _own_info(self) -> Any:
        """Our node as a map row (None when it does not run)."""
        from dht import LabNodeInfo

        node = self.controller.node
        if node is None or not node.running:
            return None
        table = node.routing_table()
        contacts = sum(len(b.contacts) for b in table)
        k = int(node.config.K)
        host, port = node.contact.address
        return LabNodeInfo(node.id, host, port, True, contacts, len(table), contacts / (len(table) * k) if table else 0.0)

    def _lab_progress(self, stage: str, done: int, total: int) -> None:
        self.map.set_progress(stage, done, total)
        if stage == "starting":
            self.statusBar().showMessage(f"forming the lab: {done:,} of {total:,} nodes listening", 5000)
        elif stage == "introducing":
            self.statusBar().showMessage(f"forming the lab: introductions {done * 100 // max(1, total)} %", 5000)
        else:
            self.statusBar().showMessage(f"lab of {total:,} nodes formed", 5000)

    def _drain_lookups(self) -> None:
        items = self.controller.take_lookups()
        if items:
            self.map.lookup_events(items)

    def focused_node(self) -> Any:
        """The node the panels show: the lab node in focus, or our own."""
        return self.controller.focus if self.controller.focus is not None else self.controller.node

    def _focus_changed(self, focused: Any) -> None:
        """Point the panels (and the bridge) at ``focused``, or back at our node."""
        node = focused if focused is not None else self.controller.node
        traffic = self.panels["traffic"]
        if hasattr(traffic, "clear"):
            traffic.clear()  # its rows were another node's
        if node is not None:
            self.bridge.attach(node)
        else:
            self.bridge.detach()
        self.routing.set_node(node)
        self.stats.set_node(node)
        values = self.panels["values"]
        if hasattr(values, "on_node_changed"):
            values.on_node_changed(node)
        self.map.set_focus_node(focused.id if focused is not None else None)
        self.own_focus_action.setEnabled(focused is not None)
        self._show_whose_view(focused)

    def _show_whose_view(self, focused: Any) -> None:
        if focused is None:
            self.setWindowTitle(self._base_title())
            self.status.show_node(self.controller.node)
            return
        self._title(focused)
        self.status.show_node(focused)
        info = focused.view.info
        self.statusBar().showMessage(f"showing lab node {info.id.hex()[:8]}; View \u25b8 Focus our node goes back",
                                     8000)

    def _base_title(self) -> str:
        """The window title for our own node: the app, the profile and the network."""
        return f"Khashmir Explorer \u2014 {self.controller.network_name()}"

    def _network_changed(self, *args: Any) -> None:
        self._show_network()
        self.apply_budget()

    def _show_network(self) -> None:
        """The network's name (profile, lab and its size) in the status bar and the title."""
        self.status.show_network(self.controller.network_name())
        if self.controller.focus is None:  # a lab node in focus keeps its own title
            self.setWindowTitle(self._base_title())

    def _title(self, focused: Any) -> None:
        info = focused.view.info
        state = "" if info.alive else ", dead"
        self.setWindowTitle(f"Khashmir Explorer \u2014 lab node {info.id.hex()[:8]} "
                            f"({info.host}:{info.port}{state})")

    def _node_changed(self, node: Any) -> None:
        self.status.show_node(node)
        self.leave_action.setEnabled(node is not None)
        self._update_counts()
        self._update_rejoin()

    def _joined_changed(self, joined: bool) -> None:
        self.status.show_joined(joined)

    def _lab_changed(self, size: int) -> None:
        self._show_network()  # the name says the lab's size
        self.kill_action.setEnabled(size > 0)
        self.conditions_action.setEnabled(self.controller.lab_runner is not None)
        self._update_rejoin()

    def _update_rejoin(self) -> None:
        self.rejoin_action.setEnabled(self.controller.lab_size > 0)

    def _update_counts(self) -> None:
        focused = self.controller.focus
        if focused is not None:
            self._title(focused)  # it may have died or come back
        rows = self.routing.buckets.rows()
        self.status.show_counts(sum(len(r.contacts) for r in rows), len(rows))
        if self.mainline_status is not None:
            self.mainline_status.show_node(self.focused_node())

    def panels_with_data(self) -> dict[str, bool]:
        """Each panel's ``has_data()``."""
        result = {}
        for key, panel in self.panels.items():
            has = getattr(panel, "has_data", None)
            result[key] = bool(has()) if callable(has) else False
        return result


def fitting_size(window: QWidget) -> QSize:
    """DEFAULT_SIZE, shrunk to 90 % of the screen's available area when that is smaller
    (not offscreen, whose screen is a made-up 800x800)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    width, height = DEFAULT_SIZE
    if screen is not None and QGuiApplication.platformName() != "offscreen":
        area = screen.availableGeometry()
        width, height = min(width, int(area.width() * 0.9)), min(height, int(area.height() * 0.9))
    minimum = window.minimumSizeHint()
    return QSize(max(width, minimum.width()), max(height, minimum.height()))
