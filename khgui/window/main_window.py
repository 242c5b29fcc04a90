"""The main window: five dockable panels, menus, toolbar, status bar, banner.

:class:`MainWindowView` docks the routing, traffic, values, look-up and
statistics panels, wires the Network menu to the :class:`NetworkController`,
keeps the dock layout and geometry in QSettings, and shows every error a
user can cause in an inline banner and the status bar.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenuBar, QToolBar, QVBoxLayout, QWidget

from ..bridge import EventBridge
from ..capture.actions import CaptureActions
from ..controller import NetworkController
from ..resources import icon
from ..lookup.panel import LookupPanel
from ..routing.panel import RoutingPanel
from ..stats.panel import StatsPanel
from ..traffic.panel import TrafficPanel
from ..values.panel import ValuesPanel
from .dialogs import AboutDialog, JoinDialog, ResizeLabDialog
from .status import BannerPanel, StatusPanel

log = logging.getLogger(__name__)

ORGANIZATION = "KhashmirExplorer"
APPLICATION = "Khashmir Explorer"
LAYOUT_VERSION = 2
DEFAULT_SIZE = (1400, 900)


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
        self.setWindowTitle("Khashmir Explorer")
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
            "values": ValuesPanel(controller, bridge),
            "lookup": LookupPanel(controller, bridge),
        }
        titles = {"routing": "Routing table", "traffic": "Traffic", "values": "Stored values",
                  "lookup": "Store && look up", "stats": "Statistics"}
        self.docks: dict[str, QDockWidget] = {}
        for key, panel in self.panels.items():
            dock = QDockWidget(titles[key], self)
            dock.setObjectName(f"dock-{key}")
            dock.setWidget(panel)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.docks[key] = dock

        self.banner = BannerPanel()
        self.status = StatusPanel()
        self._build_actions()
        self._build_menus()
        self.statusBar().addPermanentWidget(self.status, 1)
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
        self._node_changed(controller.node)
        self._joined_changed(controller.joined)
        self._lab_changed(controller.lab_size)
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
        self.leave_action = self._action("&Leave", lambda: c.spawn(c.leave()), "Ctrl+Shift+L", "leave",
                                         "Stop our node (the lab keeps running)")
        self.resize_action = self._action("&Resize lab\u2026", self.resize_dialog, "Ctrl+R", "resize")
        self.add_action = self._action("&Add lab node", lambda: c.spawn(c.add_lab_node()), "Ctrl+N", "add-node")
        self.kill_action = self._action("&Kill lab node (random)", lambda: c.spawn(c.kill_lab_node()), "Ctrl+K",
                                        "kill-node", "Stop a random lab node abruptly; watch the table heal")
        self.lookup_action = self._action("&Focus look-up", self.focus_lookup, "Ctrl+L", "lookup")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "quit")
        self.about_action = self._action("&About Khashmir Explorer", self.about, "F1", "about")
        self.reset_layout_action = self._action("Reset &layout", self.reset_layout)

    def _build_menus(self) -> None:
        bar = QMenuBar()
        file_menu = bar.addMenu("&File")
        self.capture = CaptureActions(self)  # Open capture..., Record capture... (khgui.capture)
        self.capture.add_to_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        net = bar.addMenu("&Network")
        for a in (self.join_action, self.leave_action, None, self.resize_action, self.add_action, self.kill_action):
            net.addSeparator() if a is None else net.addAction(a)
        view = bar.addMenu("&View")
        view.addAction(self.lookup_action)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self.reset_layout_action)
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
        """Routing on the left; look-up top right; traffic, statistics and values tabbed below."""
        d = self.docks
        for dock in d.values():
            dock.setFloating(False)
            dock.show()
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.addDockWidget(left, d["routing"])
        top = d.get("lookup") or d.get("values")
        bottom = d.get("traffic") or d["stats"]
        if top is not None:
            self.addDockWidget(right, top)
            self.splitDockWidget(top, bottom, Qt.Orientation.Vertical)
        else:
            self.addDockWidget(right, bottom)
        if bottom is not d["stats"]:
            self.tabifyDockWidget(bottom, d["stats"])
        if "values" in d and bottom is not d["values"] and top is not d["values"]:
            self.tabifyDockWidget(bottom, d["values"])
        bottom.raise_()
        self.resize(*DEFAULT_SIZE)
        self.resizeDocks([d["routing"], bottom], [520, 880], Qt.Orientation.Horizontal)
        if top is not None:
            self.resizeDocks([top, bottom], [360, 440], Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)

    # -- settings --------------------------------------------------------------

    def restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
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

    def join_dialog(self) -> None:
        dialog = JoinDialog(self, self.settings.value("network/last_bootstrap", "", str))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            address = dialog.address()
            if result and address is not None:
                self.settings.setValue("network/last_bootstrap", f"{address[0]}:{address[1]}")
                self.controller.spawn(self.controller.join(*address))
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def resize_dialog(self) -> None:
        dialog = ResizeLabDialog(self.controller.lab_size, self)

        def done(result: int) -> None:
            if result:
                self.controller.spawn(self.controller.resize_lab(dialog.value()))
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def about(self) -> None:
        dialog = AboutDialog(self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def focus_lookup(self) -> None:
        dock = self.docks.get("lookup")
        if dock is None:
            return
        dock.show()
        dock.raise_()
        panel = dock.widget()
        focus = getattr(panel, "focus_key", None) or getattr(panel, "focus_form", None)
        if callable(focus):
            focus()
        else:
            panel.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- controller signals -----------------------------------------------------

    def _node_changed(self, node: Any) -> None:
        self.status.show_node(node)
        self.leave_action.setEnabled(node is not None)
        self._update_counts()

    def _joined_changed(self, joined: bool) -> None:
        self.status.show_joined(joined)

    def _lab_changed(self, size: int) -> None:
        self.status.show_lab(size)
        self.kill_action.setEnabled(size > 0)

    def _update_counts(self) -> None:
        rows = self.routing.buckets.rows()
        self.status.show_counts(sum(len(r.contacts) for r in rows), len(rows))
        self.status.show_lab(self.controller.lab_size)

    def panels_with_data(self) -> dict[str, bool]:
        """Each panel's ``has_data()``."""
        result = {}
        for key, panel in self.panels.items():
            has = getattr(panel, "has_data", None)
            result[key] = bool(has()) if callable(has) else False
        return result
