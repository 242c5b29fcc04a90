"""The network map's colours: node states, query outcomes, a perceptual ramp, the theme's ground.

The node and outcome colours read on the light and the dark theme alike;
:class:`Ground` holds the theme's own (background, ring, text).  The
bucket-count and fill colour modes step through :data:`RAMP` in
:data:`LEVELS` steps (:func:`ramp_color`).  Fading arcs mix their colour into
the background (:func:`mix`) rather than lowering its alpha, and live nodes
are drawn with a pre-rendered antialiased dot per colour (:func:`dot_sprite`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap

from ..common import theme

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
