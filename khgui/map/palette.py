"""The network map's colours: node states, query outcomes, a perceptual ramp, the theme's ground.

A query's outcome has one colour everywhere: :func:`outcome_color` is the
theme's (:func:`khgui.common.theme.status_color`), the one the look-up plot,
the hops table and the traffic panel use, so "answered" is the same blue on
the map as in the plot.  Alive nodes are therefore drawn in the theme's
neutral plot foreground (:func:`alive_color`), not in any outcome's colour,
and the target marker and the labels take a shade that reads on the
theme's ground (:func:`target_color`, :func:`own_text_color`).
:class:`Ground` holds the theme's own (background, ring, text).  The
bucket-count and fill colour modes step through :data:`RAMP` in
:data:`LEVELS` steps (:func:`ramp_color`).  Fading arcs mix their colour into
the background (:func:`mix`) rather than lowering its alpha, and live nodes
are drawn with a pre-rendered antialiased dot per colour (:func:`dot_sprite`), dead ones
with a pre-rendered hollow ring and cross (:func:`dead_sprite`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap

from ..common import theme

LEVELS = 10  # colour steps of the bucket and fill modes

DEAD = QColor("#9ca3af")
DEAD_MARK = QColor("#dc2626")
OWN = QColor("#f97316")
#: A node of a suspicious cluster found by a crawl (khgui.crawl).
SUSPECT = QColor("#e11d48")
#: The outcomes an arc can have (their colours: :func:`outcome_color`).
OUTCOMES = ("pending", "answered", "values", "stored", "timeout", "error", "refused")
_TARGET = {"light": "#be123c", "dark": "#fb7185"}


def outcome_color(outcome: str) -> QColor:
    """The colour of a query's outcome: the theme's, as in the look-up plot and the traffic panel."""
    return theme.status_color(outcome)


def alive_color() -> QColor:
    """An alive lab node: the theme's neutral plot foreground (blue means "answered")."""
    return QColor(theme.colors().plot_fg)


def target_color() -> QColor:
    """A lookup's target marker and its label, readable on the theme's ground."""
    return QColor(_TARGET.get(theme.colors().name, _TARGET["light"]))


def own_text_color() -> QColor:
    """The "our node" label: our node's orange, darker on light ground, lighter on dark."""
    return OWN.darker(140) if theme.colors().name == "light" else OWN.lighter(110)
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


def dead_sprite(diameter: float, ratio: float, background: QColor) -> QPixmap:
    """A dead node: a hollow grey ring (filled with the ``background``) with a red cross, for a node
    ``diameter`` pixels wide, at a device pixel ``ratio``."""
    r = diameter / 2 + 1
    size = int(math.ceil(2 * r)) + 4
    pm = QPixmap(int(size * ratio), int(size * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = QPointF(size / 2, size / 2)
    p.setBrush(background)
    p.setPen(QPen(DEAD, 1.4))
    p.drawEllipse(c, r, r)
    p.setPen(QPen(DEAD_MARK, 1.2))
    d = r * 0.7
    p.drawLine(c + QPointF(-d, -d), c + QPointF(d, d))
    p.drawLine(c + QPointF(-d, d), c + QPointF(d, -d))
    p.end()
    return pm
