"""A custom-painted ring of the 160-bit id space with every node of a :class:`NetworkMapModel`.

Theory of operation.  Each node sits on a circle at the angle of its id
(id 00... at the top, ids growing clockwise), so XOR-close nodes are
neighbours on the ring and a lookup's queries visibly home in on their
target.  The positions on the unit circle are computed once per model
change into numpy arrays.  The ring and its nodes are painted into a cached
pixmap (the *node layer*), redrawn only when the model, the colour mode, the
zoom, the pan, the focus or the size change: each live node is one
``drawPixmap`` of a small antialiased dot pre-rendered per colour (about
2 ms for 2,000 nodes; a wide round antialiased pen costs six times that).
Dead nodes are hollow grey rings with a cross, our node a large orange dot,
the focused node a ring with its short id.  A frame while arcs fade is the
cached layer plus the arcs.

Lookups are drawn as arcs from the asking node to the asked one, curved
towards the centre, coloured by outcome (pending, answered, values,
timeout, error); an arc fades out over :data:`FADE_SECONDS` once its outcome
is known (pending ones fade too, after :data:`PENDING_SECONDS`).  Fading
mixes the colour into the background rather than lowering its alpha: an
opaque 2-pixel curve draws in a fifth of the time of a translucent one.  At most
:data:`MAX_ARCS` are kept (the oldest go first).  A 30 ms timer repaints
only while arcs are fading.

Wheel: zoom around the cursor; drag: pan; double-click or ``0``: reset.
Hovering a node shows its id, address, contacts and buckets; the context
menu offers Focus this node, Kill, Revive and Add node, emitted as signals
for the controller to act on.  :meth:`node_at` and :meth:`node_position` are
the hit test and its inverse.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush, QColor, QContextMenuEvent, QFont, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPaintEvent,
    QPen, QPixmap, QPolygonF, QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolTip, QWidget

from ..common import theme
from .model import MapNode, NetworkMapModel

FADE_SECONDS = 4.0
PENDING_SECONDS = 6.0
MAX_ARCS = 3000
CROWDED_ARCS = 60  # more arcs than this are drawn one pixel wide
HIT_PX = 9.0
MARGIN = 36
MIN_ZOOM, MAX_ZOOM = 0.5, 4096.0
LEVELS = 10  # colour steps of the bucket and fill modes

ALIVE = QColor("#2563eb")
DEAD = QColor("#9ca3af")
DEAD_MARK = QColor("#dc2626")
OWN = QColor("#f97316")
TARGET = QColor("#be123c")
OUTCOME_COLORS: dict[str, QColor] = {
    "pending": QColor("#64748b"),
    "answered": QColor("#7c3aed"),
    "values": QColor("#16a34a"),
    "stored": QColor("#16a34a"),
    "timeout": QColor("#f59e0b"),
    "error": QColor("#dc2626"),
    "refused": QColor("#dc2626"),
}
#: A perceptual ramp (viridis' ends and middle) for the bucket-count and fill modes.
RAMP = ("#440154", "#3b528b", "#21918c", "#5ec962", "#b5de2b", "#fde725")
COLOR_MODES = ("state", "buckets", "fill")


def ramp_color(t: float) -> QColor:
    """The colour at ``t`` (0-1) of :data:`RAMP`."""
    t = min(1.0, max(0.0, t)) * (len(RAMP) - 1)
    i = min(len(RAMP) - 2, int(t))
    a, b = QColor(RAMP[i]), QColor(RAMP[i + 1])
    f = t - i
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * f, a.greenF() + (b.greenF() - a.greenF()) * f,
                           a.blueF() + (b.blueF() - a.blueF()) * f)


@dataclass(frozen=True)
class Ground:
    """The theme's colours the map paints with (the node and outcome colours read on both)."""

    background: QColor
    ring: QColor
    text: QColor
    muted: QColor
    label: QColor  # behind a label

    @classmethod
    def of_theme(cls) -> "Ground":
        c = theme.colors()
        label = QColor(c.base)
        label.setAlpha(220)
        return cls(QColor(c.plot_bg), QColor(c.border), QColor(c.text), QColor(c.muted), label)


def mix(color: QColor, weight: float, base: QColor) -> QColor:
    """``color`` faded into ``base``: weight 1 the colour, 0 the base."""
    w = min(1.0, max(0.0, weight))
    return QColor(round(base.red() + (color.red() - base.red()) * w),
                  round(base.green() + (color.green() - base.green()) * w),
                  round(base.blue() + (color.blue() - base.blue()) * w))


def dot_sprite(color: QColor, diameter: float, ratio: float) -> QPixmap:
    """An antialiased dot of ``diameter`` pixels for a device pixel ``ratio``."""
    size = int(math.ceil(diameter)) + 2
    pm = QPixmap(int(size * ratio), int(size * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawEllipse(QPointF(size / 2, size / 2), diameter / 2, diameter / 2)
    p.end()
    return pm


@dataclass(slots=True)
class Arc:
    """One query drawn: asker -> asked, its outcome and since when it is known."""

    src: bytes
    dst: bytes
    outcome: str
    start: float  # when sent
    settled: float | None = None  # when its outcome came


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
        self._unit = np.zeros((0, 2))
        self._nodes: list[MapNode] = []
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
        self._arcs: dict[tuple[bytes, int, bytes], Arc] = {}
        self._targets: dict[tuple[bytes, int], bytes] = {}  # (asker, lookup) -> target, while it has arcs
        self._layer: QPixmap | None = None
        self._layer_key: tuple[Any, ...] | None = None
        self._ground = Ground.of_theme()
        self._version = 0  # bumped by every model change
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._tick)
        self.painted_nodes = 0
        """Nodes drawn by the last paint (for tests)."""
        self.painted_arcs = 0
        """Arcs drawn by the last paint (for tests)."""
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(7.0, self.font().pointSizeF() - 1.5))
        for signal in (model.modelReset, model.dataChanged, model.rowsInserted, model.rowsRemoved,
                       model.layoutChanged):
            signal.connect(self._model_changed)
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
        self._model_changed()

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
        self._pan = QPointF(0, 0) - QPointF(*(self._unit[row] * self._radius() * self._zoom))
        self.update()

    # -- lookups ---------------------------------------------------------------

    def lookup_started(self, src: bytes, lookup: int, target: bytes) -> None:
        """A lookup of ``src`` for ``target``: the target is marked on the ring while its arcs show."""
        if len(self._targets) >= MAX_ARCS:
            del self._targets[next(iter(self._targets))]
        self._targets[(src, lookup)] = target

    def targets(self) -> list[bytes]:
        """The targets marked (lookups with arcs still shown)."""
        live = {(a.src, key[1]) for key, a in self._arcs.items()}
        return [t for k, t in self._targets.items() if k in live]

    def query_sent(self, src: bytes, lookup: int, dst: bytes, now: float | None = None) -> None:
        """A lookup of ``src`` asked ``dst``: a pending arc."""
        if src == dst:
            return  # a lookup asks its own node too, through its handlers: nothing to draw
        now = time.monotonic() if now is None else now
        key = (src, lookup, dst)
        if key not in self._arcs and len(self._arcs) >= MAX_ARCS:
            del self._arcs[next(iter(self._arcs))]
        self._arcs[key] = Arc(src, dst, "pending", now)
        self._animate()

    def query_settled(self, src: bytes, lookup: int, dst: bytes, outcome: str, now: float | None = None) -> None:
        """The answer (or timeout, error) of that query: the arc takes its colour and starts fading."""
        if src == dst:
            return
        now = time.monotonic() if now is None else now
        arc = self._arcs.get((src, lookup, dst))
        if arc is None:
            self.query_sent(src, lookup, dst, now)
            arc = self._arcs[(src, lookup, dst)]
        if arc.outcome != "pending" and outcome == "timeout" and arc.outcome != "timeout":
            return  # a soft timeout after the answer: the answer stands
        arc.outcome = outcome if outcome in OUTCOME_COLORS else "error"
        arc.settled = now
        self._animate()

    def arcs(self) -> list[Arc]:
        """The arcs still shown."""
        return list(self._arcs.values())

    def clear_arcs(self) -> None:
        self._arcs.clear()
        self._targets.clear()
        self.update()

    def _arc_alpha(self, arc: Arc, now: float) -> float:
        if arc.settled is None:
            age = now - arc.start
            return 1.0 if age < PENDING_SECONDS - FADE_SECONDS else max(0.0, (PENDING_SECONDS - age) / FADE_SECONDS)
        return max(0.0, 1.0 - (now - arc.settled) / FADE_SECONDS)

    def expire_arcs(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in [k for k, a in self._arcs.items() if self._arc_alpha(a, now) <= 0.0]:
            del self._arcs[key]
        live = {(k[0], k[1]) for k in self._arcs}
        for key in [k for k in self._targets if k not in live]:
            del self._targets[key]

    def _animate(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
        self.update()

    def _tick(self) -> None:
        self.expire_arcs()
        if not self._arcs:
            self._timer.stop()
        self.update()

    # -- geometry --------------------------------------------------------------

    def _center(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    def _radius(self) -> float:
        return max(20.0, min(self.width(), self.height()) / 2 - MARGIN)

    def _screen(self) -> np.ndarray:
        """Every node's position in widget pixels (N x 2)."""
        c = self._center() + self._pan
        return self._unit * (self._radius() * self._zoom) + np.array([c.x(), c.y()])

    def node_position(self, row: int) -> QPointF:
        """Where the node of ``row`` is drawn (widget pixels)."""
        x, y = self._screen()[row]
        return QPointF(float(x), float(y))

    def node_at(self, pos: QPointF | QPoint) -> int:
        """The row of the node drawn nearest ``pos`` within HIT_PX pixels, -1 if none."""
        if not len(self._unit):
            return -1
        p = QPointF(pos)
        d2 = ((self._screen() - np.array([p.x(), p.y()])) ** 2).sum(axis=1)
        row = int(np.argmin(d2))
        return row if d2[row] <= HIT_PX * HIT_PX else -1

    def _dot(self) -> float:
        return min(11.0, 4.0 + 1.6 * math.log2(max(1.0, self._zoom)))

    # -- model -------------------------------------------------------------------

    def _model_changed(self, *args: Any) -> None:
        nodes = self._model.nodes()
        self._nodes = nodes
        angles = np.array([n.position for n in nodes]) * 2 * math.pi - math.pi / 2 if nodes else np.zeros(0)
        self._unit = np.column_stack([np.cos(angles), np.sin(angles)]) if nodes else np.zeros((0, 2))
        self._own = next((i for i, n in enumerate(nodes) if n.own), -1)
        self._dead = np.array([i for i, n in enumerate(nodes) if not n.info.alive and not n.own], dtype=int)
        groups: dict[str, list[int]] = {}
        most = max((n.info.buckets for n in nodes), default=1)
        least = min((n.info.buckets for n in nodes if n.info.alive), default=0)
        for i, n in enumerate(nodes):
            if n.own or not n.info.alive:
                continue
            if self._mode == "state":
                key = ALIVE.name()
            elif self._mode == "buckets":
                span = max(1, most - least)
                key = ramp_color(round((n.info.buckets - least) / span * LEVELS) / LEVELS).name()
            else:
                key = ramp_color(round(n.info.fill * LEVELS) / LEVELS).name()
            groups.setdefault(key, []).append(i)
        self._groups = {k: np.array(v, dtype=int) for k, v in groups.items()}
        self._version += 1
        self.update()

    def legend(self) -> list[tuple[str, QColor]]:
        """(label, colour) pairs of the current colour mode, for the panel's legend."""
        if self._mode == "state":
            return [("alive", ALIVE), ("dead", DEAD), ("ours", OWN)]
        nodes = [n for n in self._nodes if n.info.alive and not n.own]
        if self._mode == "buckets":
            lo = min((n.info.buckets for n in nodes), default=0)
            hi = max((n.info.buckets for n in nodes), default=0)
            return [(f"{lo} buckets", ramp_color(0.0)), (f"{hi} buckets", ramp_color(1.0))]
        return [("empty table", ramp_color(0.0)), ("every bucket full", ramp_color(1.0))]

    # -- painting -------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(640, 640)

    def minimumSizeHint(self) -> QSize:
        return QSize(220, 220)

    def _theme_changed(self, colors: object) -> None:
        self.update()  # the node layer's key holds the theme: it is redrawn

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.drawPixmap(0, 0, self._node_layer())
        if self._nodes:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            view = QRectF(self.rect()).adjusted(-12, -12, 12, 12)
            self.painted_arcs = self._paint_arcs(p, self._screen(), view)
        else:
            self.painted_arcs = 0

    def _node_layer(self) -> QPixmap:
        """The ring and its nodes, redrawn only when what they show changed."""
        ratio = self.devicePixelRatioF()
        self._ground = Ground.of_theme()
        key = (self.width(), self.height(), ratio, self._zoom, self._pan.x(), self._pan.y(), self._version,
               self._focus, self._selected, theme.colors().name)
        if self._layer is not None and key == self._layer_key:
            return self._layer
        layer = QPixmap(max(1, int(self.width() * ratio)), max(1, int(self.height() * ratio)))
        layer.setDevicePixelRatio(ratio)
        layer.fill(self._ground.background)
        p = QPainter(layer)
        self._paint_nodes(p, ratio)
        p.end()
        self._layer, self._layer_key = layer, key
        return layer

    def _paint_nodes(self, p: QPainter, ratio: float) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        center = self._center() + self._pan
        radius = self._radius() * self._zoom
        ground = self._ground
        p.setPen(QPen(ground.ring, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(center, radius, radius)
        self._paint_ticks(p, center, radius)
        if not self._nodes:
            p.setPen(ground.muted)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no lab nodes yet")
            self.painted_nodes = 0
            return
        screen = self._screen()
        view = QRectF(self.rect()).adjusted(-12, -12, 12, 12)
        dot = self._dot()
        drawn = 0
        visible = ((screen[:, 0] >= view.left()) & (screen[:, 0] <= view.right())
                   & (screen[:, 1] >= view.top()) & (screen[:, 1] <= view.bottom()))
        half = (int(math.ceil(dot)) + 2) / 2
        for color, rows in self._groups.items():
            rows = rows[visible[rows]]
            if not len(rows):
                continue
            sprite = dot_sprite(QColor(color), dot, ratio)
            for x, y in (screen[rows] - half).tolist():
                p.drawPixmap(QPointF(x, y), sprite)
            drawn += len(rows)
        dead = self._dead[visible[self._dead]] if len(self._dead) else self._dead
        if len(dead):
            r = dot / 2 + 1
            p.setBrush(QBrush(ground.background))
            for x, y in screen[dead].tolist():
                pt = QPointF(x, y)
                p.setPen(QPen(DEAD, 1.4))
                p.drawEllipse(pt, r, r)
                p.setPen(QPen(DEAD_MARK, 1.2))
                p.drawLine(pt + QPointF(-r * 0.7, -r * 0.7), pt + QPointF(r * 0.7, r * 0.7))
                p.drawLine(pt + QPointF(-r * 0.7, r * 0.7), pt + QPointF(r * 0.7, -r * 0.7))
            drawn += len(dead)
        if self._own >= 0 and visible[self._own]:
            pt = QPointF(*map(float, screen[self._own]))
            p.setPen(QPen(QColor("#7c2d12"), 1.5))
            p.setBrush(OWN)
            p.drawEllipse(pt, dot / 2 + 3, dot / 2 + 3)
            self._label(p, pt, "our node", OWN.darker(140))
            drawn += 1
        for node_id, color in ((self._selected, QColor("#2563eb")), (self._focus, ground.text)):
            row = self._model.row_of(node_id) if node_id is not None else -1
            if row >= 0 and visible[row] and row != self._own:
                pt = QPointF(*map(float, screen[row]))
                p.setPen(QPen(color, 2.0))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(pt, dot / 2 + 5, dot / 2 + 5)
                if node_id == self._focus:
                    self._label(p, pt, f"in focus: {node_id.hex()[:8]}", ground.text)
        self.painted_nodes = drawn

    def _label(self, p: QPainter, at: QPointF, text: str, color: QColor) -> None:
        """A small label outside the ring next to a node."""
        c = self._center() + self._pan
        out = at - c
        length = math.hypot(out.x(), out.y()) or 1.0
        pos = at + out / length * 16
        p.setFont(self._small)
        fm = p.fontMetrics()
        w = fm.horizontalAdvance(text) + 8
        rect = QRectF(pos.x() - (w if out.x() < 0 else 0), pos.y() - fm.height() / 2 - 2, w, fm.height() + 4)
        rect.moveLeft(max(2.0, min(rect.left(), self.width() - w - 2.0)))  # inside the widget
        rect.moveTop(max(2.0, min(rect.top(), self.height() - rect.height() - 2.0)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._ground.label)
        p.drawRoundedRect(rect, 3, 3)
        p.setPen(color)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_ticks(self, p: QPainter, center: QPointF, radius: float) -> None:
        p.setFont(self._small)
        for i in range(16):
            a = i / 16 * 2 * math.pi - math.pi / 2
            d = QPointF(math.cos(a), math.sin(a))
            p.setPen(QPen(self._ground.ring, 1.0))
            p.drawLine(center + d * (radius - 4), center + d * (radius + 4))
            p.setPen(self._ground.muted)
            at = center + d * (radius + 16)
            p.drawText(QRectF(at.x() - 20, at.y() - 8, 40, 16), Qt.AlignmentFlag.AlignCenter, f"{i:x}0\u2026")

    def _paint_arcs(self, p: QPainter, screen: np.ndarray, view: QRectF) -> int:
        if not self._arcs:
            return 0
        now = time.monotonic()
        center = self._center() + self._pan
        drawn = 0
        width = 2.0 if len(self._arcs) <= CROWDED_ARCS else 1.0
        p.setBrush(Qt.BrushStyle.NoBrush)
        for arc in self._arcs.values():
            a, b = self._model.row_of(arc.src), self._model.row_of(arc.dst)
            alpha = self._arc_alpha(arc, now)
            if a < 0 or b < 0 or alpha <= 0:
                continue
            p1 = QPointF(*map(float, screen[a]))
            p2 = QPointF(*map(float, screen[b]))
            if not (view.contains(p1) or view.contains(p2)):
                continue
            mid = (p1 + p2) / 2
            ctrl = center + (mid - center) * 0.35
            path = QPainterPath(p1)
            path.quadTo(ctrl, p2)
            color = mix(OUTCOME_COLORS[arc.outcome], alpha, self._ground.background)
            p.setPen(QPen(color, width if arc.outcome != "pending" else 1.0))
            p.drawPath(path)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawEllipse(p2, 3.0, 3.0)
            p.setBrush(Qt.BrushStyle.NoBrush)
            drawn += 1
        self._paint_targets(p, center, now)
        return drawn

    def _paint_targets(self, p: QPainter, center: QPointF, now: float) -> None:
        """A triangle outside the ring pointing at each marked target, labelled with its id."""
        alpha: dict[tuple[bytes, int], float] = {}
        for key, arc in self._arcs.items():
            k = (key[0], key[1])
            alpha[k] = max(alpha.get(k, 0.0), self._arc_alpha(arc, now))
        radius = self._radius() * self._zoom
        p.setFont(self._small)
        for k, target in self._targets.items():
            a = alpha.get(k, 0.0)
            if a <= 0:
                continue
            angle = int.from_bytes(target, "big") / float(1 << 160) * 2 * math.pi - math.pi / 2
            d = QPointF(math.cos(angle), math.sin(angle))
            tip = center + d * (radius + 3)
            side = QPointF(-d.y(), d.x())
            base = center + d * (radius + 15)
            color = mix(TARGET, a, self._ground.background)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawPolygon(QPolygonF([tip, base + side * 6, base - side * 6]))
            self._label(p, tip + d * 14, f"target {target.hex()[:8]}", color)

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
            menu.addSeparator()
            kill = menu.addAction("Kill")
            kill.setEnabled(node.info.alive and not node.own)
            kill.triggered.connect(lambda: self.kill_requested.emit(node.id))
            revive = menu.addAction("Revive")
            revive.setEnabled(not node.info.alive and not node.own)
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
        head = "our node" if node.own else ("lab node" if i.alive else "lab node (dead)")
        return (f"<b>{head}</b><br><tt>{i.id.hex()}</tt><br>{i.host}:{i.port}<br>"
                f"{i.contacts} contacts in {i.buckets} buckets, table {i.fill * 100:.0f} % full")

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
