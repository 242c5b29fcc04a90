"""The main window: six dockable panels, menus, toolbar, status bar, banner.

:class:`MainWindowView` docks the routing, traffic, values, look-up and
statistics panels and the network map (:mod:`khgui.window.docks`), wires the
Network menu to the :class:`NetworkController` (its actions, menus and the
dialogs they open: :mod:`khgui.window.menus`, which returns them as
objects the window keeps: :attr:`MainWindowView.commands`,
:attr:`MainWindowView.menus`), keeps the dock layout,
geometry and theme in QSettings, and shows every
error a user can cause in an inline banner and the status bar.  Which
panels it docks follows what the profile can do (:mod:`khgui.window.panels`,
asking :mod:`khgui.profile`), and so do the Mainline status fields.

The network map is fed by :class:`~khgui.window.lab_map.LabMapFeed`.
Any node in focus: selecting a lab node (double-click or "Focus this node"
on the map) points the routing, values, statistics and traffic panels and
the event bridge at a :class:`~khgui.map.focus.FocusedNode`; the window
title and the status bar say whose view it is, and View ▸ Focus our node
(Ctrl+0) goes back.  Look-ups always run from our own node.  The About box lists the shortcuts
of the window's actions, read from the actions themselves.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from dht import BEP42

from ..bridge import EventBridge
from ..capture.actions import CaptureActions
from ..controller import NetworkController
from ..common import theme
from ..common.onscreen import notify_when_shown
from ..common.plotting import fit_legends
from ..resources import icon
from ..map.panel import NetworkMapPanel
from ..profile import can
from .budget import QueryBudget, apply_budget, budget_dialog
from .dialogs import OpenDialogs
from .docks import DEFAULT_SIZE, default_layout, fitting_size, scrolling_dock
from .lab_map import LabMapFeed
from .mainline_status import MainlineStatusView
from .menus import WindowActions, WindowMenus, build_actions, build_menus
from .panels import build_panels
from .public import PublicSettings
from .status import BannerPanel, MessageLog, StatusPanel, fit_fields

if TYPE_CHECKING:
    from dht import Node

    from ..map.focus import FocusedNode

log = logging.getLogger(__name__)

ORGANIZATION = "KhashmirExplorer"
APPLICATION = "Khashmir Explorer"
LAYOUT_VERSION = 4
#: The last bootstrap address that answered (not "network/last_bootstrap", which
#: older versions set before knowing, often to a lab port that died with its run).
BOOTSTRAP_KEY = "network/answered_bootstrap"
#: The panels that show the lab node in focus (their dock titles say whose view it is).
FOCUSED_PANELS = ("routing", "traffic", "values", "stats")


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
        self.public = PublicSettings(self.settings)
        self.budget = QueryBudget(self.settings)
        self.dialogs = OpenDialogs()
        self.setWindowTitle(self._base_title())
        self.setWindowIcon(icon("app"))
        self.setObjectName("MainWindow")
        self.setDockNestingEnabled(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)

        panels = build_panels(controller, bridge, self.settings)  # what the profile can do: khgui.profile
        self.routing, self.stats, self.traffic = panels.routing, panels.stats, panels.traffic
        self.values, self.lookup, self.samples = panels.values, panels.lookup, panels.samples
        self.crawl = panels.crawl
        self.panels: dict[str, QWidget] = panels.by_key()
        self._panel_set = panels
        titles = panels.titles
        self._titles = dict(titles)  # "&&": a dock's title is also its View menu entry's text
        self._titles["map"] = "Network map"
        self.docks: dict[str, QDockWidget] = {
            key: scrolling_dock(titles[key], f"dock-{key}", panel, self) for key, panel in self.panels.items()}
        # The network map: not one of self.panels (it has nothing to show without a lab).
        self.map = NetworkMapPanel()
        self.docks["map"] = scrolling_dock("Network map", "dock-map", self.map, self)
        # The Crawl panel: not one of self.panels either (nothing to show until a crawl).
        self.docks["crawl"] = scrolling_dock(titles["crawl"], "dock-crawl", self.crawl, self)
        # A panel tabbed behind another skips its work; it catches up when its tab is selected.
        for key, dock in self.docks.items():
            notify_when_shown(dock, self.map if key == "map" else self.crawl if key == "crawl" else self.panels[key])

        self.theme = theme.manager()
        self.banner = BannerPanel()
        self.status = StatusPanel()
        self.log = MessageLog()
        self.capture = CaptureActions(self)  # File ▸ Open capture..., Record capture... (khgui.capture)
        self.commands: WindowActions = build_actions(self, self.theme.mode)
        self.menus: WindowMenus = build_menus(self.commands, self.capture, self.docks, self.banner)
        self.setMenuWidget(self.menus.top)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.menus.toolbar)
        # The permanent fields take only the width they need: the status bar's
        # messages are drawn left of them, in the rest.
        self.statusBar().addPermanentWidget(self.log)
        self.statusBar().addPermanentWidget(self.status)
        self.mainline_status: MainlineStatusView | None = None
        if can(controller.config, BEP42):  # external address, BEP 42, query budget
            self.mainline_status = MainlineStatusView()
            self.statusBar().addPermanentWidget(self.mainline_status)
        self.status.node_id.copied.connect(self._id_copied)
        self.statusBar().messageChanged.connect(self._message_changed)
        self.status.recording.clicked.connect(self.capture.stop_recording)
        self.capture.recorder.changed.connect(lambda _on: self._show_recording())
        self.default_layout()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self.restore_settings()

        controller.error.connect(self.show_error)
        controller.message.connect(self.show_message)
        controller.node_changed.connect(self._node_changed)
        controller.joined_changed.connect(self._joined_changed)
        controller.lab_changed.connect(self._lab_changed)
        controller.busy_changed.connect(self.status.set_busy)
        controller.busy_changed.connect(lambda _busy: self._fit_status())
        self.lab_map = LabMapFeed(controller, self.map, self.statusBar().showMessage, self)
        controller.focus_changed.connect(self._focus_changed)
        self.crawl.census_ready.connect(self.map.model.set_crawl)  # crawled nodes and suspects on the map
        controller.network_changed.connect(self.map.model.clear_crawl)  # another network: the old crawl's go
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

    # -- layout and settings -----------------------------------------------------

    def default_layout(self) -> None:
        """The docks' default layout (see :func:`~khgui.window.docks.default_layout`)."""
        default_layout(self, self.docks)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)

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
        """An informational message in the status bar for a while, and in the log."""
        self.statusBar().showMessage(text, 8000)
        self.log.add(text)

    def _id_copied(self, text: str) -> None:
        self.statusBar().showMessage(f"node id {text[:12]}\u2026 copied to the clipboard", 4000)

    def show_error(self, text: str) -> None:
        """Show a one-line error in the banner (until dismissed), the status bar and the log."""
        line = text.strip().splitlines()[0] if text.strip() else "error"
        self.banner.show_message(line)
        self.statusBar().showMessage(line, 10_000)
        self.log.add(line, error=True)

    def _message_changed(self, text: str) -> None:
        self._fit_status()

    def _fit_status(self) -> None:
        """The status bar's fields that fit: the network, our id, contacts, the log and the
        recording and busy indicators always; then buckets, the Mainline fields and our
        address as room allows, leaving a message shown the room it needs (up to 60 %)."""
        bar = self.statusBar()
        message = bar.currentMessage()
        room = min(bar.fontMetrics().horizontalAdvance(message) + 24, int(bar.width() * 0.6)) if message else 0
        s, m = self.status, self.mainline_status
        fixed = [self.log, s.recording, s.network, s.node_id, s.contacts, s.busy]
        optional = [s.buckets] + ([m.external, m.id_fit, m.budget] if m is not None else []) + [s.address]
        fit_fields(bar.width() - room - 40, fixed, optional)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_status()

    def _show_recording(self) -> None:
        recorder = self.capture.recorder
        self.status.show_recording(recorder.path, recorder.packets)
        self._fit_status()

    def set_theme(self, mode: str) -> None:
        """Use theme ``mode`` (system, light or dark) and keep it in the settings."""
        self.theme.set_mode(mode)
        self.commands.themes[mode].setChecked(True)
        self.settings.setValue("view/theme", mode)

    def _theme_changed(self, colors: theme.Colors) -> None:
        theme.style_plots(self, colors)
        self.lookup.results.plot.set_colors(colors)

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

    def budget_dialog(self) -> None:
        """Network ▸ Query budget…: edit the budgets; applied to our node at once."""
        self.dialogs.budget = budget_dialog(self, self.budget, self.apply_budget)

    def apply_budget(self) -> None:
        """Give our node the budget of the network it is on."""
        apply_budget(self.controller, self.budget, self.show_error, self.show_message)

    def focus_lookup(self) -> None:
        """View ▸ Focus look-up: show the look-up dock, the cursor in its Key field."""
        dock = self.docks["lookup"]
        dock.show()
        dock.raise_()
        self.lookup.focus_key()

    def shortcuts(self) -> list[tuple[str, str]]:
        """(shortcut, what it does) of every action with a shortcut, in menu order."""
        rows = []
        for action in self.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                rows.append((keys, action.toolTip()))
        return rows

    # -- controller signals -----------------------------------------------------

    # -- the node in focus ------------------------------------------------------------

    def drain_lookups(self) -> None:
        """Draw our node's lookups gathered since the last drain on the map (:class:`LabMapFeed`)."""
        self.lab_map.drain_lookups()

    def focused_node(self) -> "FocusedNode | Node | None":
        """The node the panels show: the lab node in focus, or our own."""
        return self.controller.focus if self.controller.focus is not None else self.controller.node

    def _focus_changed(self, focused: "FocusedNode | None") -> None:
        """Point the panels (and the bridge) at ``focused``, or back at our node."""
        node = focused if focused is not None else self.controller.node
        self.traffic.clear()  # its rows were another node's
        if node is not None:
            self.bridge.attach(node)
        else:
            self.bridge.detach()
        self.routing.set_node(node)
        self.stats.set_node(node)
        self.values.on_node_changed(node)
        self.map.set_focus_node(focused.id if focused is not None else None)
        self.commands.own_focus.setEnabled(focused is not None)
        self._show_whose_view(focused)

    def _show_whose_view(self, focused: "FocusedNode | None") -> None:
        whose = "" if focused is None else f" \u2014 lab node {focused.view.info.id.hex()[:8]}"
        for key, dock in self.docks.items():
            if key in FOCUSED_PANELS:
                dock.setWindowTitle(self._titles[key] + whose)
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
        """The window title for our own node: the profile, the network and the app
        (last, so that Qt does not add the application's name once more)."""
        return f"{self.controller.network_name()} \u2014 {APPLICATION}"

    def _network_changed(self, *args: Any) -> None:
        self._show_network()
        self.apply_budget()

    def _show_network(self) -> None:
        """The network's name (profile, lab and its size) in the status bar and the title."""
        self.status.show_network(self.controller.network_name())
        if self.controller.focus is None:  # a lab node in focus keeps its own title
            self.setWindowTitle(self._base_title())

    def _title(self, focused: "FocusedNode") -> None:
        info = focused.view.info
        state = "" if info.alive else ", dead"
        self.setWindowTitle(f"lab node {info.id.hex()[:8]} ({info.host}:{info.port}{state}) "
                            f"\u2014 {APPLICATION}")

    def _node_changed(self, node: "Node | None") -> None:
        self.status.show_node(node)
        self.commands.leave.setEnabled(node is not None)
        self._update_counts()
        self._update_rejoin()

    def _joined_changed(self, joined: bool) -> None:
        self.status.show_joined(joined)
        self._update_counts()

    def _lab_changed(self, size: int) -> None:
        self._show_network()  # the name says the lab's size
        self.commands.kill.setEnabled(size > 0)
        self.commands.conditions.setEnabled(self.controller.lab_runner is not None)
        self._update_rejoin()

    def _update_rejoin(self) -> None:
        """Rejoin lab works whenever the window is live: it forms a lab when none runs."""
        self.commands.rejoin.setEnabled(self.capture.session is None)

    def _update_counts(self) -> None:
        focused = self.controller.focus
        if focused is not None:
            self._title(focused)  # it may have died or come back
        rows = self.routing.buckets.rows()
        self.status.show_counts(sum(len(r.contacts) for r in rows), len(rows))
        self._show_recording()
        if self.mainline_status is not None:
            self.mainline_status.show_node(self.focused_node())

    def panels_with_data(self) -> dict[str, bool]:
        """Each panel's ``has_data()``."""
        return self._panel_set.with_data()
