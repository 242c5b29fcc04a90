"""How the network map's colour mode colours its nodes, and the legend that says so.

The map has three colour modes (:data:`~khgui.map.palette.COLOR_MODES`):
``state`` (alive in the theme's colour, dead grey, ours orange), ``buckets``
(a node's bucket count on :data:`~khgui.map.palette.RAMP`, from the fewest
to the most of the live nodes) and ``fill`` (how full its table is, on the
same ramp), in :data:`~khgui.map.palette.LEVELS` steps.  A crawl's suspect
is marked in every mode.  :func:`color_groups` sorts the nodes' rows by the
colour they are drawn in (the painter draws one group at a time; dead nodes
and ours are drawn apart); :func:`legend_entries` is the (label, colour) list the
map panel shows for a mode.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtGui import QColor

from .model import MapNode
from .palette import DEAD, LEVELS, OWN, SUSPECT, alive_color, ramp_color


def color_groups(nodes: Sequence[MapNode], mode: str) -> dict[str, np.ndarray]:
    """The rows of the live nodes and suspects of ``nodes``, by the name of their colour in ``mode``."""
    groups: dict[str, list[int]] = {}
    alive = alive_color().name()
    most = max((n.info.buckets for n in nodes), default=1)
    least = min((n.info.buckets for n in nodes if n.info.alive), default=0)
    for i, n in enumerate(nodes):
        if n.suspicious and not n.own:  # a crawl's suspect: marked in every colour mode
            groups.setdefault(SUSPECT.name(), []).append(i)
            continue
        if n.own or not n.info.alive:
            continue
        if mode == "state":
            key = alive
        elif mode == "buckets":
            span = max(1, most - least)
            key = ramp_color(round((n.info.buckets - least) / span * LEVELS) / LEVELS).name()
        else:
            key = ramp_color(round(n.info.fill * LEVELS) / LEVELS).name()
        groups.setdefault(key, []).append(i)
    return {k: np.array(v, dtype=int) for k, v in groups.items()}


def legend_entries(nodes: Sequence[MapNode], mode: str) -> list[tuple[str, QColor]]:
    """(label, colour) pairs of colour mode ``mode`` for ``nodes``, for the panel's legend."""
    suspects = [("suspicious", SUSPECT)] if any(n.suspicious for n in nodes) else []
    if mode == "state":
        crawled = any(n.crawled for n in nodes)
        return [("alive", alive_color()), ("dead / silent" if crawled else "dead", DEAD), ("ours", OWN)] + suspects
    live = [n for n in nodes if n.info.alive and not n.own]
    if mode == "buckets":
        lo = min((n.info.buckets for n in live), default=0)
        hi = max((n.info.buckets for n in live), default=0)
        return [(f"{lo} buckets", ramp_color(0.0)), (f"{hi} buckets", ramp_color(1.0))] + suspects
    return [("empty table", ramp_color(0.0)), ("every bucket full", ramp_color(1.0))] + suspects
