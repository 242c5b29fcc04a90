"""How the network map is painted: the ring and its nodes in a cached layer, then the arcs.

:class:`RingPainter` is held by :class:`~khgui.map.view.NetworkMapView`, which
hands it a :class:`RingScene` for each paint: the geometry, the nodes' screen
positions grouped by colour, the marked nodes and the arcs.  The ring and its
nodes are painted into a cached pixmap (the *node layer*), redrawn only when
the scene's :attr:`RingScene.key` changes (the model, the colour mode, the
zoom, the pan, the focus, the selection, the theme or the size): the live
nodes of one colour are one ``drawPixmapFragments`` call of a small
antialiased dot pre-rendered per colour, its fragments (x, y, source
rectangle, scale, opacity) written by numpy straight into the memory Qt
reads (:func:`draw_sprites`): no Python step per node, about 3 ms for
10,000 nodes where a ``drawPixmap`` each took 15 ms of Python.  Dead nodes
are hollow grey rings with a cross, the same way (one sprite), our node a
large orange dot, the focused node a double ring with a tick across the
band and its short id; zoomed in until few nodes are in view
(:data:`LABEL_NODES`), each is labelled with its short id.  A frame is the cached layer
plus the arcs, curved towards the centre (one pixel wide past
:data:`CROWDED_ARCS`), drawn as one path per colour (outcome and fade step,
:data:`FADE_STEPS`), and a triangle outside the ring at each lookup's target.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QWidget

from .arcs import LookupArcs, arc_alpha
from .palette import OWN, Ground, dead_sprite, dot_sprite, mix, outcome_color, own_text_color, target_color

CROWDED_ARCS = 60  # more arcs than this are drawn one pixel wide
FADE_STEPS = 16  # a fading arc's colour steps (arcs of one outcome and step are one path)
ALIASED_ARCS = 300  # more arcs than this are drawn without antialiasing
DRAWN_ARCS = 1000  # the most arcs a frame draws (the newest; MAX_ARCS are kept)
LABEL_NODES = 40  # nodes in view labelled with their short ids when there are no more than this


def draw_sprites(p: QPainter, sprite: QPixmap, centres: np.ndarray, opacity: float = 1.0) -> None:
    """``sprite`` centred on each of ``centres`` (N x 2, widget pixels) in one ``drawPixmapFragments``:
    the fragments are a numpy array laid out as ``QPainter.PixmapFragment`` (ten doubles: x, y,
    source left, top, width, height, scale x, y, rotation, opacity), handed to Qt by address."""
    n = len(centres)
    if not n:
        return
    ratio = sprite.devicePixelRatio()
    fragments = np.zeros((n, 10), dtype=np.float64)
    fragments[:, 0:2] = centres
    fragments[:, 4] = sprite.width()  # the source, in the sprite's device pixels
    fragments[:, 5] = sprite.height()
    fragments[:, 6:8] = 1.0 / ratio
    fragments[:, 9] = opacity
    first: QPainter.PixmapFragment = shiboken6.wrapInstance(fragments.ctypes.data, QPainter.PixmapFragment)  # type: ignore[assignment]
    p.drawPixmapFragments(first, n, sprite)  # reads ``fragments`` before it returns


@dataclass(frozen=True, slots=True)
class RingScene:
    """What one frame of the map shows, in widget pixels (the view takes it for each paint)."""

    width: int
    height: int
    ratio: float  # device pixels per widget pixel
    center: QPointF  # the ring's centre, pan included
    radius: float  # zoom included
    dot: float  # a node's diameter
    band: float  # the width across the ring the nodes spread over (0: on the ring)
    opacity: float  # of the live nodes' dots
    screen: np.ndarray  # every node's position (N x 2)
    groups: dict[str, np.ndarray]  # colour -> rows of the live nodes drawn in it
    dead: np.ndarray  # rows of the dead nodes
    own: int  # our node's row, -1 if none
    focus: bytes | None  # the node in focus
    selected: bytes | None  # the node clicked
    row_of: Callable[[bytes], int]  # a node's row, -1 if none
    node_id: Callable[[int], bytes]  # the id of a row's node
    small: QFont  # the labels' font
    lookups: LookupArcs
    key: tuple[Any, ...]  # what the node layer depends on

    def rect(self) -> QRectF:
        return QRectF(0.0, 0.0, float(self.width), float(self.height))


class RingPainter:
    """Paints :class:`RingScene` frames, keeping the node layer between them (see the module docstring)."""

    def __init__(self) -> None:
        self._layer: QPixmap | None = None
        self._layer_key: tuple[Any, ...] | None = None
        self._ground = Ground.of_theme()
        self.painted_nodes = 0
        """Nodes drawn by the last node layer (for tests)."""
        self.painted_arcs = 0
        """Arcs drawn by the last paint (for tests)."""
        self.labelled_nodes = 0
        """Nodes labelled with their ids by the last node layer (for tests)."""
        self.paint_ms = 0.0
        """How long the last paint took (wall time, ms): the view spaces its frames by it."""

    def paint(self, device: QWidget, scene: RingScene) -> None:
        """One frame on ``device``: the node layer, then the arcs."""
        start = time.perf_counter()
        p = QPainter(device)
        p.drawPixmap(0, 0, self._node_layer(scene))
        if len(scene.screen):
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            view = scene.rect().adjusted(-12, -12, 12, 12)
            self.painted_arcs = self._paint_arcs(p, scene, view)
        else:
            self.painted_arcs = 0
        p.end()
        self.paint_ms = (time.perf_counter() - start) * 1000

    def _node_layer(self, scene: RingScene) -> QPixmap:
        """The ring and its nodes, redrawn only when what they show changed."""
        self._ground = Ground.of_theme()
        if self._layer is not None and scene.key == self._layer_key:
            return self._layer
        ratio = scene.ratio
        layer = QPixmap(max(1, int(scene.width * ratio)), max(1, int(scene.height * ratio)))
        layer.setDevicePixelRatio(ratio)
        layer.fill(self._ground.background)
        p = QPainter(layer)
        self._paint_nodes(p, scene)
        p.end()
        self._layer, self._layer_key = layer, scene.key
        return layer

    def _paint_nodes(self, p: QPainter, scene: RingScene) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        center, radius, ratio = scene.center, scene.radius, scene.ratio
        ground = self._ground
        p.setPen(QPen(ground.ring, 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(center, radius, radius)
        self._paint_ticks(p, scene)
        if not len(scene.screen):
            p.setPen(ground.muted)
            p.drawText(scene.rect(), Qt.AlignmentFlag.AlignCenter, "no lab nodes yet")
            self.painted_nodes = 0
            return
        screen = scene.screen
        view = scene.rect().adjusted(-12, -12, 12, 12)
        dot = scene.dot
        drawn = 0
        visible = ((screen[:, 0] >= view.left()) & (screen[:, 0] <= view.right())
                   & (screen[:, 1] >= view.top()) & (screen[:, 1] <= view.bottom()))
        shown = np.flatnonzero(visible)
        self.labelled_nodes = 0
        if 0 < len(shown) <= LABEL_NODES:  # few in view: each labelled (unless it would cover another), under the dots
            taken: list[QRectF] = []
            for row in shown.tolist():
                if row != scene.own and scene.node_id(row) != scene.focus:
                    self.labelled_nodes += self._label(p, scene, QPointF(*map(float, screen[row])),
                                                       scene.node_id(row).hex()[:8], ground.muted, dot / 2 + 4, taken)
        for name, rows in scene.groups.items():
            rows = rows[visible[rows]]
            if len(rows):
                draw_sprites(p, dot_sprite(QColor(name), dot, ratio), screen[rows], scene.opacity)
                drawn += len(rows)
        dead = scene.dead[visible[scene.dead]] if len(scene.dead) else scene.dead
        if len(dead):
            draw_sprites(p, dead_sprite(dot, ratio, ground.background), screen[dead], scene.opacity)
            drawn += len(dead)
        own = scene.own
        if own >= 0 and visible[own]:
            pt = QPointF(*map(float, screen[own]))
            p.setPen(QPen(QColor("#7c2d12"), 1.5))
            p.setBrush(OWN)
            r = max(dot / 2 + 3, 5.5)
            p.drawEllipse(pt, r, r)
            self._label(p, scene, pt, "our node", own_text_color())
            drawn += 1
        marks: tuple[tuple[bytes | None, QColor], ...] = ((scene.selected, QColor("#2563eb")), (scene.focus, ground.text))
        for node_id, color in marks:
            row = scene.row_of(node_id) if node_id is not None else -1
            if node_id is not None and row >= 0 and visible[row] and row != own:
                pt = QPointF(*map(float, screen[row]))
                r = max(dot / 2 + 5, 7.0)
                p.setPen(QPen(ground.background, 4.0))  # a halo: the ring reads over a crowded band
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(pt, r, r)
                p.setPen(QPen(color, 2.0))
                p.drawEllipse(pt, r, r)
                if node_id == scene.focus:
                    out = pt - center
                    length = math.hypot(out.x(), out.y()) or 1.0
                    d = out / length
                    p.drawLine(pt + d * r, pt + d * (r + scene.band / 2 + 6))
                    self._label(p, scene, pt, f"in focus: {node_id.hex()[:8]}", ground.text, r + scene.band / 2 + 8)
        self.painted_nodes = drawn

    def _label(self, p: QPainter, scene: RingScene, at: QPointF, text: str, color: QColor,
               away: float = 16.0, taken: list[QRectF] | None = None) -> bool:
        """A small label outside the ring next to a node (``away`` pixels out from it); with
        ``taken`` (the labels drawn so far), only if it covers none of them.  Whether it was drawn."""
        out = at - scene.center
        length = math.hypot(out.x(), out.y()) or 1.0
        pos = at + out / length * away
        p.setFont(scene.small)
        fm = p.fontMetrics()
        w = fm.horizontalAdvance(text) + 8
        rect = QRectF(pos.x() - (w if out.x() < 0 else 0), pos.y() - fm.height() / 2 - 2, w, fm.height() + 4)
        rect.moveLeft(max(2.0, min(rect.left(), scene.width - w - 2.0)))  # inside the widget
        rect.moveTop(max(2.0, min(rect.top(), scene.height - rect.height() - 2.0)))
        if taken is not None:
            if any(rect.intersects(other) for other in taken):
                return False
            taken.append(rect)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._ground.label)
        p.drawRoundedRect(rect, 3, 3)
        p.setPen(color)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        return True

    def _paint_ticks(self, p: QPainter, scene: RingScene) -> None:
        center, radius = scene.center, scene.radius
        p.setFont(scene.small)
        for i in range(16):
            a = i / 16 * 2 * math.pi - math.pi / 2
            d = QPointF(math.cos(a), math.sin(a))
            p.setPen(QPen(self._ground.ring, 1.0))
            p.drawLine(center + d * (radius - 4), center + d * (radius + 4))
            p.setPen(self._ground.muted)
            at = center + d * (radius + 16 + scene.band / 2)
            p.drawText(QRectF(at.x() - 20, at.y() - 8, 40, 16), Qt.AlignmentFlag.AlignCenter, f"{i:x}0\u2026")

    def _paint_arcs(self, p: QPainter, scene: RingScene, view: QRectF) -> int:
        """The arcs, batched: one path per colour (outcome and fade step) for the curves, hairlines
        past CROWDED_ARCS, aliased past ALIASED_ARCS, and one sprite call for their end dots, the geometry computed
        by numpy; a Python step per arc only to look up its ends and fade.  At most DRAWN_ARCS,
        the newest (3,000 arcs took 200 ms a frame drawn one path each; 1,000 now take about 25)."""
        arcs = scene.lookups.arcs
        if not arcs:
            return 0
        now = time.monotonic()
        row_of = scene.row_of
        ends: list[tuple[int, int]] = []
        keys: list[tuple[str, int]] = []
        newest = list(arcs.values())[-DRAWN_ARCS:]  # the most a frame draws: the newest
        for arc in newest:
            alpha = arc_alpha(arc, now)
            if alpha <= 0:
                continue
            a, b = row_of(arc.src), row_of(arc.dst)
            if a >= 0 and b >= 0:
                ends.append((a, b))
                keys.append((arc.outcome, max(1, math.ceil(alpha * FADE_STEPS))))
        drawn = 0
        if ends:
            rows = np.array(ends, dtype=np.intp)
            p1, p2 = scene.screen[rows[:, 0]], scene.screen[rows[:, 1]]
            c = np.array([scene.center.x(), scene.center.y()])
            ctrl = c + ((p1 + p2) / 2 - c) * 0.35
            lo, hi = np.array([view.left(), view.top()]), np.array([view.right(), view.bottom()])
            shown = ((p1 >= lo) & (p1 <= hi)).all(axis=1) | ((p2 >= lo) & (p2 <= hi)).all(axis=1)
            coords = np.column_stack([p1, ctrl, p2]).tolist()
            groups: dict[tuple[str, int], list[int]] = {}
            for i in np.flatnonzero(shown).tolist():
                groups.setdefault(keys[i], []).append(i)
            drawn = int(shown.sum())
            width = 1.0 if drawn > CROWDED_ARCS else 2.0
            p.setRenderHint(QPainter.RenderHint.Antialiasing, drawn <= ALIASED_ARCS)  # aliased hairlines: 3x faster
            for (outcome, step), members in groups.items():
                color = mix(outcome_color(outcome), step / FADE_STEPS, self._ground.background)
                curves = QPainterPath()
                for i in members:
                    x1, y1, cx, cy, x2, y2 = coords[i]
                    curves.moveTo(x1, y1)
                    curves.quadTo(cx, cy, x2, y2)
                pen = QPen(color, width if outcome != "pending" else 1.0)
                pen.setCosmetic(True)
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(curves)
                draw_sprites(p, dot_sprite(color, 6.0, scene.ratio), p2[members])  # the asked node's end
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._paint_targets(p, scene, now)
        return drawn

    def _paint_targets(self, p: QPainter, scene: RingScene, now: float) -> None:
        """A triangle outside the ring pointing at each marked target, labelled with its id."""
        alpha: dict[tuple[bytes, int], float] = {}
        for key, arc in scene.lookups.arcs.items():
            k = (key[0], key[1])
            alpha[k] = max(alpha.get(k, 0.0), arc_alpha(arc, now))
        center, radius = scene.center, scene.radius
        p.setFont(scene.small)
        marker = target_color()
        for k, target in scene.lookups.targets.items():
            a = alpha.get(k, 0.0)
            if a <= 0:
                continue
            angle = int.from_bytes(target, "big") / float(1 << 160) * 2 * math.pi - math.pi / 2
            d = QPointF(math.cos(angle), math.sin(angle))
            tip = center + d * (radius + 3 + scene.band / 2)
            side = QPointF(-d.y(), d.x())
            base = center + d * (radius + 15 + scene.band / 2)
            color = mix(marker, a, self._ground.background)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawPolygon(QPolygonF([tip, base + side * 6, base - side * 6]))
            self._label(p, scene, tip + d * 14, f"target {target.hex()[:8]}", color)
