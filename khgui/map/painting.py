"""How the network map is painted: the ring and its nodes in a cached layer, then the arcs.

Mixed into :class:`~khgui.map.view.NetworkMapView`, whose geometry, model
state and arcs these methods read.  The ring and its nodes are painted into
a cached pixmap (the *node layer*), redrawn only when the model, the colour
mode, the zoom, the pan, the focus, the selection, the theme or the size
change: each live node is one ``drawPixmap`` of a small antialiased dot
pre-rendered per colour (about 2 ms for 2,000 nodes; a wide round
antialiased pen costs six times that).  Dead nodes are hollow grey rings
with a cross, our node a large orange dot, the focused node a ring with its
short id.  A frame is the cached layer plus the arcs, curved towards the
centre (one pixel wide past :data:`CROWDED_ARCS`), and a triangle outside
the ring at each lookup's target.
"""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap, QPolygonF

from ..common import theme
from .arcs import arc_alpha
from .palette import DEAD, DEAD_MARK, OWN, Ground, dot_sprite, mix, outcome_color, own_text_color, target_color

CROWDED_ARCS = 60  # more arcs than this are drawn one pixel wide


class RingPaintingMixin:
    """``paintEvent`` and its helpers (a part of :class:`~khgui.map.view.NetworkMapView`)."""

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
            self._label(p, pt, "our node", own_text_color())
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
        if not self._lookups.arcs:
            return 0
        now = time.monotonic()
        center = self._center() + self._pan
        drawn = 0
        width = 2.0 if len(self._lookups.arcs) <= CROWDED_ARCS else 1.0
        p.setBrush(Qt.BrushStyle.NoBrush)
        for arc in self._lookups.arcs.values():
            a, b = self._model.row_of(arc.src), self._model.row_of(arc.dst)
            alpha = arc_alpha(arc, now)
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
            color = mix(outcome_color(arc.outcome), alpha, self._ground.background)
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
        for key, arc in self._lookups.arcs.items():
            k = (key[0], key[1])
            alpha[k] = max(alpha.get(k, 0.0), arc_alpha(arc, now))
        radius = self._radius() * self._zoom
        p.setFont(self._small)
        marker = target_color()
        for k, target in self._lookups.targets.items():
            a = alpha.get(k, 0.0)
            if a <= 0:
                continue
            angle = int.from_bytes(target, "big") / float(1 << 160) * 2 * math.pi - math.pi / 2
            d = QPointF(math.cos(angle), math.sin(angle))
            tip = center + d * (radius + 3)
            side = QPointF(-d.y(), d.x())
            base = center + d * (radius + 15)
            color = mix(marker, a, self._ground.background)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawPolygon(QPolygonF([tip, base + side * 6, base - side * 6]))
            self._label(p, tip + d * 14, f"target {target.hex()[:8]}", color)
