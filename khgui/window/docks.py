"""The main window's docks: each panel in a scrolling dock, and their default layout.

Each panel sits in a scroll area inside its dock (:func:`scrolling_dock`),
so the window fits small screens (1280x720 at 100 %, 1366x768 at 125 %): a
dock smaller than its panel scrolls instead of cutting it off.
:func:`default_layout` puts the routing table (with the network map behind
it) on the left and the look-up form on the right, above the traffic,
statistics and values tabs, or tabbed with them on a short screen;
:func:`fitting_size` is the window's size on this screen.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QWidget

#: The window's size where the screen is large enough (:func:`fitting_size`).
DEFAULT_SIZE = (1400, 900)
#: The smallest a dock's scroll area gets (its panel scrolls inside).
DOCK_MIN = QSize(240, 150)
#: Below this window height the look-up dock is tabbed with the others instead of above them.
COMPACT_HEIGHT = 760


def scrolling_dock(title: str, name: str, widget: QWidget, parent: QWidget) -> QDockWidget:
    """A movable, floatable, closable dock ``name`` showing ``widget`` in a scroll area."""
    dock = QDockWidget(title, parent)
    dock.setObjectName(name)
    scroll = QScrollArea()
    scroll.setObjectName("dockScroll")
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setMinimumSize(DOCK_MIN)
    dock.setWidget(scroll)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable)
    return dock


def default_layout(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """Routing on the left; look-up top right; traffic, statistics and values tabbed below.

    On a short screen (less than COMPACT_HEIGHT pixels for the window) the
    look-up dock is one more tab of the right-hand group, so that each panel
    there gets the whole height.
    """
    d = docks
    for dock in d.values():
        dock.setFloating(False)
        dock.show()
    size = fitting_size(window)
    compact = size.height() < COMPACT_HEIGHT
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d["routing"])
    window.tabifyDockWidget(d["routing"], d["map"])
    d["routing"].raise_()
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d["lookup"])
    if compact:
        for key in ("traffic", "stats", "values", "samples", "crawl"):
            if key in d:
                window.tabifyDockWidget(d["lookup"], d[key])
        d["lookup"].raise_()
    else:
        window.splitDockWidget(d["lookup"], d["traffic"], Qt.Orientation.Vertical)
        for key in ("stats", "values", "samples", "crawl"):
            if key in d:
                window.tabifyDockWidget(d["traffic"], d[key])
        d["traffic"].raise_()
    window.resize(size)
    width, height = size.width(), size.height()
    window.resizeDocks([d["routing"], d["lookup"]], [int(width * 0.38), int(width * 0.62)],
                       Qt.Orientation.Horizontal)
    if not compact:  # the look-up form and its plot need more height than a table
        window.resizeDocks([d["lookup"], d["traffic"]], [height // 2, height // 2], Qt.Orientation.Vertical)


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
