"""A custom-painted ring of the 160-bit id space with every node of a :class:`NetworkMapModel`.

Theory of operation.  Each node sits on a circle at the angle of its id
(id 00... at the top, ids growing clockwise), so XOR-close nodes are
neighbours on the ring and a lookup's queries visibly home in on their
target.  The positions on the unit circle are computed once per model
change into numpy arrays, with the nodes grouped by colour for the colour
mode (:mod:`khgui.map.legend`, in :mod:`khgui.map.palette`'s colours).  Painting is the job of a
:class:`~khgui.map.painting.RingPainter` the view holds, handed a
:class:`~khgui.map.painting.RingScene` per paint: a cached layer of the ring
and its nodes, redrawn only when what it shows changed, and the arcs over it.

Lookups are drawn as arcs from the asking node to the asked one, curved
towards the centre, coloured by outcome (pending, answered, values,
timeout, error); an arc fades out over :data:`~khgui.map.arcs.FADE_SECONDS`
once its outcome is known (pending ones fade too): :mod:`khgui.map.arcs`
keeps them.  Fading
mixes the colour into the background rather than lowering its alpha: an
opaque 2-pixel curve draws in a fifth of the time of a translucent one.  At most
:data:`~khgui.map.arcs.MAX_ARCS` are kept (the oldest go first).  A 30 ms timer repaints
only while arcs are fading.

Level of detail, so that 10,000 nodes draw smoothly and read as a ring, not
a blob (:meth:`NetworkMapView.detail`): the more nodes per pixel of ring
at the current zoom, the smaller the dots, the wider the band across the
ring they spread over (each node at a fixed place across it, from its id's
next bytes: :attr:`~khgui.map.columns.NodeColumns.spread`) and the more
translucent they are; zoomed in until few nodes are in view, each is
labelled with its short id.  The hit test is a bisection of the nodes
sorted by their place on the ring, then a distance to the few near the
cursor's angle: no pass over every node per mouse move.

Wheel: zoom around the cursor; drag: pan; double-click or ``0``: reset.
Hovering a node shows its id, address, contacts and buckets; the context
menu offers Focus this node, Kill, Revive and Add node, emitted as signals
for the controller to act on.  :meth:`node_at` and :meth:`node_position` are
the hit test and its inverse.  While arcs fade, a frame comes every
:data:`FRAME_MS`, or three paints' time apart when a paint takes longer (3,000
arcs): the animation never takes more than a third of the GUI thread.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QKeyEvent, QMouseEvent, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolTip, QWidget

from ..common import theme
from .arcs import Arc, LookupArcs
from .geometry import RingGeometry
from .legend import color_groups, legend_entries
from .model import NetworkMapModel
from .painting import RingPainter, RingScene
from .palette import COLOR_MODES

MARGIN = 36
MIN_ZOOM, MAX_ZOOM = 0.5, 4096.0
#: Milliseconds between two frames while arcs fade (longer when a frame takes more than a third of it).
FRAME_MS = 30


class NetworkMapView(QWidget):
    """Draws a :class:`NetworkMapModel` on the ring; see the module docstring.

    Signals (each with the node's id):
        node_selected(bytes): a node was clicked.
        focus_requested(bytes), kill_requested(bytes), revive_requested(bytes): from the context menu.
        add_requested(): "Add node" in the context menu.
    """

    node_selected = Signal(bytes)
    focus_requested = Signal(bytes)
    kill_requested = Signal(bytes)
    revive_requested = Signal(bytes)
    add_requested = Signal()

    def __init__(self, model: NetworkMapModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._geometry = RingGeometry()
        self._columns = model.node_columns()
        self._groups: dict[str, np.ndarray] = {}
        self._dead = np.zeros(0, dtype=int)
        self._own = -1
        self._focus: bytes | None = None
        self._selected: bytes | None = None
        self._mode = "state"
        self._zoom = 1.0
        self._pan = QPointF(0, 0)
        self._drag: QPointF | None = None
        self._dragged = False
        self._lookups = LookupArcs()
        self._painter = RingPainter()
        self._version = 0  # bumped by every model change
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1.5))
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
            signal.connect(self._model_changed)
        model.dataChanged.connect(self._values_changed)  # the same nodes: their places stay
        # A bound method, not a lambda: Qt drops the connection when this view is deleted.
        theme.manager().changed.connect(self._theme_changed)
        self._model_changed()

    # -- state ---------------------------------------------------------------

    @property
    def model(self) -> NetworkMapModel:
        return self._model

    def color_mode(self) -> str:
        return self._mode

    def set_color_mode(self, mode: str) -> None:
        """``state`` (alive / dead), ``buckets`` (bucket count) or ``fill`` (table fill)."""
        if mode not in COLOR_MODES:
            raise ValueError(f"colour mode must be one of {', '.join(COLOR_MODES)}, not {mode!r}")
        self._mode = mode
        self._values_changed()

    def set_focus_node(self, node_id: bytes | None) -> None:
        """The node whose view the window shows (drawn with a ring); None: ours."""
        self._focus = node_id
        self.update()

    def focus_node(self) -> bytes | None:
        return self._focus

    def selected_node(self) -> bytes | None:
        return self._selected

    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float, around: QPointF | None = None) -> None:
        """Zoom to ``zoom`` keeping the point ``around`` (default: the centre) still."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        at = around if around is not None else self._center()
        world = (at - self._center() - self._pan) / (self._radius() * self._zoom)
        self._zoom = zoom
        self._pan = at - self._center() - world * (self._radius() * zoom)
        self.update()

    def reset_view(self) -> None:
        self._zoom = 1.0
        self._pan = QPointF(0, 0)
        self.update()

    def center_on(self, node_id: bytes, zoom: float | None = None) -> None:
        """Bring a node to the middle of the widget (zooming in if ``zoom`` is given)."""
        row = self._model.row_of(node_id)
        if row < 0:
            return
        if zoom is not None:
            self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self._pan = QPointF(0, 0)
        self._pan = self._center() - self.node_position(row)
        self.update()

    # -- lookups ---------------------------------------------------------------

    def lookup_started(self, src: bytes, lookup: int, target: bytes) -> None:
        """A lookup of ``src`` for ``target``: the target is marked on the ring while its arcs show."""
        self._lookups.started(src, lookup, target)

    def targets(self) -> list[bytes]:
        """The targets marked (lookups with arcs still shown)."""
        return self._lookups.marked()

    def query_sent(self, src: bytes, lookup: int, dst: bytes, now: float | None = None) -> None:
        """A lookup of ``src`` asked ``dst``: a pending arc."""
        if self._lookups.sent(src, lookup, dst, time.monotonic() if now is None else now):
            self._animate()

    def query_settled(self, src: bytes, lookup: int, dst: bytes, outcome: str, now: float | None = None) -> None:
        """The answer (or timeout, error) of that query: the arc takes its colour and starts fading."""
        if self._lookups.settled(src, lookup, dst, outcome, time.monotonic() if now is None else now):
            self._animate()

    def arcs(self) -> list[Arc]:
        """The arcs still shown."""
        return list(self._lookups.arcs.values())

    def clear_arcs(self) -> None:
        self._lookups.clear()
        self.update()

    def expire_arcs(self, now: float | None = None) -> None:
        self._lookups.expire(time.monotonic() if now is None else now)

    def _animate(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
        self.update()

    def _tick(self) -> None:
        self.expire_arcs()
        if not self._lookups.arcs:
            self._timer.stop()
        # Frames no closer than three paints apart: fading arcs take at most a third of the thread.
        self._timer.setInterval(max(FRAME_MS, round(3 * self._painter.paint_ms)))
        self.update()

    # -- geometry --------------------------------------------------------------

    def _center(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    def _radius(self) -> float:
        return max(20.0, min(self.width(), self.height()) / 2 - MARGIN)

    def detail(self) -> tuple[float, float, float]:
        """The level of detail at this zoom: (a node's diameter, the band across the ring the
        nodes spread over, the dots' opacity); see :meth:`RingGeometry.detail_at`."""
        return self._geometry.detail(self._radius() * self._zoom, self._zoom)

    def _screen(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The positions of the nodes of ``rows`` (default: every node) in widget pixels (N x 2)."""
        c = self._center() + self._pan
        return self._geometry.screen(c.x(), c.y(), self._radius() * self._zoom, self.detail()[1], rows)

    def node_position(self, row: int) -> QPointF:
        """Where the node of ``row`` is drawn (widget pixels)."""
        x, y = self._screen(np.array([row]))[0]
        return QPointF(float(x), float(y))

    def node_at(self, pos: QPointF | QPoint) -> int:
        """The row of the node drawn nearest ``pos`` within HIT_PX pixels, -1 if none (ties: the
        first row): :meth:`RingGeometry.node_at`."""
        p, c = QPointF(pos), self._center() + self._pan
        return self._geometry.node_at(p.x(), p.y(), c.x(), c.y(), self._radius() * self._zoom, self.detail()[1])

    # -- model -------------------------------------------------------------------

    def _model_changed(self, *args: Any) -> None:
        """Rows came or went: every node's place, then its colour."""
        columns = self._model.node_columns()
        self._geometry.set_places(columns.position, columns.spread)
        self._values_changed()

    def _values_changed(self, *args: Any) -> None:
        """The same nodes, new values (alive, buckets, fill): their colours and marks."""
        columns = self._columns = self._model.node_columns()
        self._own = columns.own_row()
        self._dead = np.flatnonzero(~columns.alive & ~columns.own & ~columns.suspicious)
        self._groups = color_groups(columns, self._mode)
        self._version += 1
        self.update()

    def legend(self) -> list[tuple[str, QColor]]:
        """(label, colour) pairs of the current colour mode, for the panel's legend."""
        return legend_entries(self._columns, self._mode)

    # -- painting -------------------------------------------------------------------

    @property
    def painted_nodes(self) -> int:
        """Nodes drawn by the last paint of the node layer (for tests)."""
        return self._painter.painted_nodes

    @property
    def labelled_nodes(self) -> int:
        """Nodes labelled with their ids by the last paint of the node layer (for tests)."""
        return self._painter.labelled_nodes

    @property
    def painted_arcs(self) -> int:
        """Arcs drawn by the last paint (for tests)."""
        return self._painter.painted_arcs

    def scene(self) -> RingScene:
        """What a frame shows now (the painter's input)."""
        ratio = self.devicePixelRatioF()
        dot, band, opacity = self.detail()
        return RingScene(
            width=self.width(), height=self.height(), ratio=ratio, center=self._center() + self._pan,
            radius=self._radius() * self._zoom, dot=dot, band=band, opacity=opacity, screen=self._screen(),
            groups=self._groups,
            dead=self._dead, own=self._own, focus=self._focus, selected=self._selected,
            row_of=self._model.row_of, node_id=self._node_id, small=self._small, lookups=self._lookups,
            key=(self.width(), self.height(), ratio, self._zoom, self._pan.x(), self._pan.y(), self._version,
                 self._focus, self._selected, theme.colors().name),
        )

    def _node_id(self, row: int) -> bytes:
        node = self._model.row_node(row)
        return node.id if node is not None else b""

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        self._painter.paint(self, self.scene())

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    def minimumSizeHint(self) -> QSize:
        return QSize(220, 220)

    def _theme_changed(self, colors: object) -> None:
        self._model_changed()  # alive nodes take the theme's colour; the node layer is redrawn

    # -- interaction ------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self._zoom * (1.25 ** steps), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self._dragged = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None and event.buttons() & Qt.MouseButton.LeftButton:
            delta = event.position() - self._drag
            if self._dragged or abs(delta.x()) + abs(delta.y()) > 3:
                self._dragged = True
                self._pan += delta
                self._drag = event.position()
                self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._drag is not None:
            if not self._dragged:
                row = self.node_at(event.position())
                node = self._model.row_node(row)
                self._selected = node.id if node is not None else None
                if node is not None:
                    self.node_selected.emit(node.id)
                self.update()
            self._drag = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        node = self._model.row_node(self.node_at(event.position()))
        if node is not None:
            if not node.crawled:
                self.focus_requested.emit(node.id)
        else:
            self.reset_view()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self._zoom * 1.25)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self._zoom / 1.25)
        elif key == Qt.Key.Key_0:
            self.reset_view()
        else:
            super().keyPressEvent(event)

    def context_menu(self, row: int) -> QMenu:
        """The menu for the node of ``row`` (-1: empty space: only Add node)."""
        menu = QMenu(self)
        node = self._model.row_node(row)
        if node is not None:
            focus = menu.addAction("Focus this node")
            focus.triggered.connect(lambda: self.focus_requested.emit(node.id))
            focus.setEnabled(not node.crawled)  # only a crawl's: not a lab node, nothing to focus
            menu.addSeparator()
            kill = menu.addAction("Kill")
            kill.setEnabled(node.info.alive and not node.own and not node.crawled)
            kill.triggered.connect(lambda: self.kill_requested.emit(node.id))
            revive = menu.addAction("Revive")
            revive.setEnabled(not node.info.alive and not node.own and not node.crawled)
            revive.triggered.connect(lambda: self.revive_requested.emit(node.id))
            menu.addSeparator()
        add = menu.addAction("Add node")
        add.triggered.connect(self.add_requested.emit)
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.context_menu(self.node_at(QPointF(event.pos()))).exec(event.globalPos())

    def tooltip_text(self, row: int) -> str:
        node = self._model.row_node(row)
        if node is None:
            return ""
        i = node.info
        mark = "<br><b>suspicious</b>: see the Crawl panel's Suspicions" if node.suspicious else ""
        if node.crawled:
            return (f"<b>crawled node</b> ({'answered' if i.alive else 'silent'})<br><tt>{i.id.hex()}</tt><br>"
                    f"{i.host}:{i.port}{mark}")
        head = "our node" if node.own else ("lab node" if i.alive else "lab node (dead)")
        return (f"<b>{head}</b><br><tt>{i.id.hex()}</tt><br>{i.host}:{i.port}<br>"
                f"{i.contacts} contacts in {i.buckets} buckets, table {i.fill * 100:.0f} % full{mark}")

    def event(self, event: Any) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_text(self.node_at(QPointF(event.pos())))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)
