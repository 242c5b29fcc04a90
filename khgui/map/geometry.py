"""Where the network map draws its nodes: places on the ring, the level of detail, the hit test.

:class:`RingGeometry` holds each node's place on the unit circle (from its
id's position in the id space: 00... at the top, clockwise) and across the
ring (its spread, -0.5 to 0.5), and the nodes sorted by place.  Given the
ring's centre and radius in pixels (zoom and pan included) it answers:

* :meth:`RingGeometry.detail` -- the level of detail: the more nodes per
  pixel of ring, the smaller the dots (at least 3 px), the wider the band
  across the ring they spread over (up to :data:`MAX_BAND`) and the more
  translucent they are, so a crowded ring of 10,000 nodes reads as a band
  whose darker stretches are the denser ones, not as one blob; zoomed in,
  dots grow (up to 11 px), the band closes and they turn opaque;
* :meth:`RingGeometry.screen` -- the pixels of every node, or of some;
* :meth:`RingGeometry.node_at` -- the hit test: a bisection of the sorted
  places around the point's angle, then distances to those few nodes only,
  never a pass over every node per mouse move.
"""

from __future__ import annotations

import math

import numpy as np

#: How near (pixels) a point must be to a node to hit it.
HIT_PX = 9.0
#: The widest band (pixels) the nodes spread over across a crowded ring.
MAX_BAND = 26.0


class RingGeometry:
    """The nodes' places on the ring (see the module docstring)."""

    def __init__(self) -> None:
        self.unit = np.zeros((0, 2))  # each node on the unit circle
        self.spread = np.zeros(0)  # each node's place across the band, -0.5 to 0.5
        self._order = np.zeros(0, dtype=np.intp)  # the rows by place on the ring
        self._sorted = np.zeros(0)  # their places, ascending

    def __len__(self) -> int:
        return len(self.unit)

    def set_places(self, position: np.ndarray, spread: np.ndarray) -> None:
        """The nodes' places in the id space (0-1, per row) and across the band."""
        angles = position * (2 * math.pi) - math.pi / 2
        self.unit = np.column_stack([np.cos(angles), np.sin(angles)])
        self.spread = spread
        self._order = np.argsort(position, kind="stable")
        self._sorted = position[self._order]

    @staticmethod
    def detail_at(nodes: int, radius: float, zoom: float) -> tuple[float, float, float]:
        """(a node's diameter, the band's width, the dots' opacity) for ``nodes`` on a ring of
        ``radius`` pixels (zoom included) seen at ``zoom``."""
        density = nodes / max(1.0, 2 * math.pi * radius)  # nodes per pixel along the ring
        dot = min(11.0, 4.0 + 1.6 * math.log2(max(1.0, zoom)))
        if density > 1.0:
            dot = max(3.0, dot / math.sqrt(density))
        band = min(MAX_BAND, max(0.0, (density - 0.6) * 5.0))
        return dot, band, min(1.0, max(0.35, math.sqrt(1.5 / max(density, 1e-9))))

    def detail(self, radius: float, zoom: float) -> tuple[float, float, float]:
        """:meth:`detail_at` for these nodes."""
        return self.detail_at(len(self.unit), radius, zoom)

    def screen(self, cx: float, cy: float, radius: float, band: float,
               rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The pixels of the nodes of ``rows`` (default: all; N x 2) on a ring centred at
        (``cx``, ``cy``) of ``radius`` pixels, spread over ``band`` pixels across it."""
        radial = radius + self.spread[rows] * band
        screen: np.ndarray = self.unit[rows] * radial[:, None] + np.array([cx, cy])
        return screen

    def node_at(self, x: float, y: float, cx: float, cy: float, radius: float, band: float) -> int:
        """The row of the node nearest (``x``, ``y``) within :data:`HIT_PX`, -1 if none (a tie: the
        first row)."""
        if not len(self.unit):
            return -1
        dx, dy = x - cx, y - cy
        dist = math.hypot(dx, dy)
        if abs(dist - radius) > band / 2 + HIT_PX:
            return -1
        near = max(1.0, min(dist, radius - band / 2))  # the nearest to the centre a hit can be
        width = min(0.5, HIT_PX * math.pi / 2 / near / (2 * math.pi))  # the angle, as a share of the ring
        at = ((math.atan2(dy, dx) + math.pi / 2) / (2 * math.pi)) % 1.0
        spans = [(at - width, at + width)]
        if at - width < 0:
            spans.append((at - width + 1, 1.0))
        if at + width > 1:
            spans.append((0.0, at + width - 1))
        found = [self._order[np.searchsorted(self._sorted, lo):np.searchsorted(self._sorted, hi, "right")]
                 for lo, hi in spans]
        rows = np.unique(np.concatenate(found))  # ascending: the first row wins a tie
        if not len(rows):
            return -1
        d2 = ((self.screen(cx, cy, radius, band, rows) - np.array([x, y])) ** 2).sum(axis=1)
        best = int(np.argmin(d2))
        return int(rows[best]) if d2[best] <= HIT_PX * HIT_PX else -1
