"""How the network map's colour mode colours its nodes, and the legend that says so.

The map has three colour modes (:data:`~khgui.map.palette.COLOR_MODES`):
``state`` (alive in the theme's colour, dead grey, ours orange), ``buckets``
(a node's bucket count on :data:`~khgui.map.palette.RAMP`, from the fewest
to the most of the live nodes) and ``fill`` (how full its table is, on the
same ramp), in :data:`~khgui.map.palette.LEVELS` steps.  A crawl's suspect
is marked in every mode.  :func:`color_groups` sorts the nodes' rows by the
colour they are drawn in (the painter draws one group at a time, in one
call; dead nodes and ours are drawn apart); :func:`legend_entries` is the
(label, colour) list the map panel shows for a mode.  Both read the model's
numpy columns (:class:`~khgui.map.columns.NodeColumns`): at 10,000 nodes a
Python step per node each second would cost more than the drawing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

from .columns import NodeColumns
from .palette import DEAD, LEVELS, OWN, SUSPECT, alive_color, ramp_color


def color_levels(columns: NodeColumns, mode: str) -> np.ndarray:
    """Each row's step (0 to LEVELS) on the ramp in colour mode ``buckets`` or ``fill``."""
    if mode == "buckets":
        most = int(columns.buckets.max()) if len(columns) else 1
        alive = columns.buckets[columns.alive]
        least = int(alive.min()) if len(alive) else 0
        span = max(1, most - least)
        levels: np.ndarray = np.round((columns.buckets - least) / span * LEVELS).astype(np.int64)
    else:
        levels = np.round(columns.fill * LEVELS).astype(np.int64)
    return levels


def color_groups(columns: NodeColumns, mode: str) -> dict[str, np.ndarray]:
    """The rows of the live nodes and suspects, by the name of their colour in ``mode`` (vectorised:
    no Python step per node)."""
    groups: dict[str, np.ndarray] = {}
    suspects = columns.suspicious & ~columns.own  # a crawl's suspect: marked in every colour mode
    if suspects.any():
        groups[SUSPECT.name()] = np.flatnonzero(suspects)
    live = columns.alive & ~columns.own & ~suspects
    if mode == "state":
        rows = np.flatnonzero(live)
        if len(rows):
            groups[alive_color().name()] = rows
        return groups
    levels = color_levels(columns, mode)
    rows = np.flatnonzero(live)
    for level in np.unique(levels[rows]).tolist():
        groups.setdefault(ramp_color(level / LEVELS).name(), rows[levels[rows] == level])
    return groups


def legend_entries(columns: NodeColumns, mode: str) -> list[tuple[str, QColor]]:
    """(label, colour) pairs of colour mode ``mode`` for these rows, for the panel's legend."""
    suspects = [("suspicious", SUSPECT)] if columns.suspicious.any() else []
    if mode == "state":
        crawled = bool(columns.crawled.any())
        return [("alive", alive_color()), ("dead / silent" if crawled else "dead", DEAD), ("ours", OWN)] + suspects
    live = columns.buckets[columns.alive & ~columns.own]
    if mode == "buckets":
        lo = int(live.min()) if len(live) else 0
        hi = int(live.max()) if len(live) else 0
        return [(f"{lo} buckets", ramp_color(0.0)), (f"{hi} buckets", ramp_color(1.0))] + suspects
    return [("empty table", ramp_color(0.0)), ("every bucket full", ramp_color(1.0))] + suspects
