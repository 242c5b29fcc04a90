"""The network map at 10,000 nodes: the model's columns in step with its rows, an overview that
touches only the rows that changed, the level of detail, the bisection hit test, the panel's counts.

The nodes are synthetic :class:`dht.LabNodeInfo` lists (the real dht type): a 10,000-node lab in
one process needs more file descriptors than the tests may take.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage

from dht import LabNodeInfo
from khgui.common import theme
from khgui.map.columns import NodeColumns
from khgui.map.model import NetworkMapModel
from khgui.map.painting import DRAWN_ARCS, LABEL_NODES
from khgui.map.palette import outcome_color
from khgui.map.panel import NetworkMapPanel
from khgui.map.geometry import HIT_PX
from khgui.map.view import NetworkMapView

BIG = 10_000


def infos(n: int, seed: int = 1, dead_every: int = 0) -> list[LabNodeInfo]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        buckets = rng.randrange(5, 14)
        contacts = rng.randrange(8, buckets * 8 + 1)
        alive = not dead_every or i % dead_every != 1
        out.append(LabNodeInfo(rng.randbytes(20), f"127.0.{i // 250}.{i % 250 + 2}", 20000 + i, alive,
                               contacts, buckets, contacts / (buckets * 8)))
    return out


def columns_of(model: NetworkMapModel) -> NodeColumns:
    """The columns rebuilt from the model's rows now (what the kept ones must equal)."""
    return NodeColumns(model.nodes())


def assert_in_step(model: NetworkMapModel) -> None:
    kept, fresh = model.node_columns(), columns_of(model)
    for name in NodeColumns.__slots__:
        assert np.array_equal(getattr(kept, name), getattr(fresh, name)), name


def shown(view: NetworkMapView) -> QImage:
    view.repaint()
    return view.grab().toImage()


def near(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3]))


# --- the model ------------------------------------------------------------------------------

def test_an_overview_of_10000_nodes_changes_only_the_rows_that_changed(qtbot: Any) -> None:
    model = NetworkMapModel()
    lab, own = infos(BIG), infos(1, seed=99)[0]
    model.set_nodes(lab, own)
    before = model.nodes()
    signals: list[tuple[str, int, int]] = []
    model.modelReset.connect(lambda: signals.append(("reset", 0, 0)))
    model.dataChanged.connect(lambda a, b: signals.append(("changed", a.row(), b.row())))
    model.rowsInserted.connect(lambda parent, a, b: signals.append(("inserted", a, b)))
    changed = list(lab)
    for i in (40, 4000, 7000):
        changed[i] = replace(lab[i], contacts=lab[i].contacts + 1, fill=0.5)
    changed[5000] = replace(lab[5000], alive=False)
    newcomers = infos(3, seed=7)
    model.set_nodes(changed + newcomers, own)
    assert signals == [("changed", 40, 7000), ("inserted", BIG + 1, BIG + 3)]  # one each, no reset
    rows = model.nodes()
    assert all(rows[i] is before[i] for i in range(BIG + 1) if i not in (40, 4000, 5000, 7000))  # untouched
    assert rows[4000].info.contacts == lab[4000].contacts + 1 and model.index(5000, 2).data() == "dead"
    assert model.counts() == (BIG + 3, BIG + 2) and model.own_info() == own
    assert_in_step(model)
    signals.clear()
    model.set_nodes(changed + newcomers, own)  # nothing changed: nothing said
    assert signals == []


def test_the_columns_follow_every_kind_of_change(qtbot: Any, qtmodeltester: Any) -> None:
    model = NetworkMapModel()
    lab = infos(2000, dead_every=50)
    model.set_nodes(lab)
    qtmodeltester.check(model)
    assert_in_step(model)
    shuffled = lab[::-1]  # another order: the general way
    shuffled[10] = replace(shuffled[10], buckets=30)
    model.set_nodes(shuffled, infos(1, seed=5)[0])  # ours arrives
    assert_in_step(model)
    model.update_node(replace(lab[3], alive=False))
    assert_in_step(model)
    model.set_nodes(lab[1:])  # one went, and ours: a reset
    assert_in_step(model)
    assert model.row_of(lab[0].id) == -1 and model.own_info() is None
    model.set_nodes(lab[1:] + [lab[1]])  # a node twice: shown once
    assert_in_step(model)
    assert model.rowCount() == 1999
    assert model.counts() == (1999, sum(i.alive for i in lab[1:]))


# --- the view -------------------------------------------------------------------------------

@pytest.fixture
def view(qtbot: Any) -> NetworkMapView:
    v = NetworkMapView(NetworkMapModel())
    qtbot.addWidget(v)
    v.resize(800, 800)
    v.show()
    return v


def test_10000_nodes_are_drawn_in_a_band_that_narrows_as_the_map_zooms_in(view: NetworkMapView) -> None:
    lab = infos(BIG, dead_every=40)
    view.model.set_nodes(lab, infos(1, seed=3)[0])
    shown(view)
    assert view.painted_nodes == BIG + 1
    dot, band, opacity = view.detail()
    assert band > 10 and dot < 4 and opacity < 0.7  # crowded: small, translucent, spread across the ring
    centre = QPointF(400, 400)
    radii = [(view.node_position(r) - centre).manhattanLength() for r in range(0, BIG, 97)]
    assert max(radii) - min(radii) > band / 2  # not all on one circle
    view.set_zoom(64.0)
    zoomed = view.detail()
    assert zoomed[1] == 0 and zoomed[0] > dot and zoomed[2] == 1.0
    view.reset_view()
    view.model.set_nodes(lab[:200])
    assert view.detail()[1] == 0 and view.detail()[2] == 1.0  # a small lab: dots on the ring, opaque


def test_the_hit_test_finds_the_nearest_node_as_a_search_of_every_node_would(view: NetworkMapView) -> None:
    lab = infos(BIG)
    view.model.set_nodes(lab)
    rng = random.Random(3)
    for zoom in (1.0, 9.0):
        view.set_zoom(zoom, view.node_position(123))
        every = np.array([[view.node_position(r).x(), view.node_position(r).y()] for r in range(BIG)])
        probes = [view.node_position(rng.randrange(BIG)) + QPointF(rng.uniform(-12, 12), rng.uniform(-12, 12))
                  for _ in range(300)] + [QPointF(400, 400), QPointF(3, 3)]
        hits = 0
        for p in probes:
            d2 = ((every - np.array([p.x(), p.y()])) ** 2).sum(axis=1)
            nearest = int(np.argmin(d2))
            expected = nearest if d2[nearest] <= HIT_PX * HIT_PX else -1
            assert view.node_at(p) == expected, (zoom, p)
            hits += expected >= 0
        assert hits > 100


def test_zoomed_in_the_few_nodes_in_view_are_labelled_and_the_focus_stands_out(view: NetworkMapView) -> None:
    lab = infos(BIG)
    view.model.set_nodes(lab)
    focus = lab[321].id
    view.set_focus_node(focus)
    shown(view)
    assert view.labelled_nodes == 0  # the whole ring: no labels
    view.center_on(focus, zoom=400.0)
    image = shown(view)
    assert 0 < view.labelled_nodes <= LABEL_NODES
    at = view.node_position(321)
    assert abs(at.x() - 400) < 1 and abs(at.y() - 400) < 1
    dot = view.detail()[0]
    ring = max(dot / 2 + 5, 7.0)
    text = QColor(theme.colors().text)
    for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):  # a ring in the text's colour round it
        rim = [image.pixelColor(int(at.x() + dx * (ring + e)), int(at.y() + dy * (ring + e))) for e in (-1.5, -0.5, 0.5, 1.5)]
        assert any(near(c, text, 50) for c in rim), (dx, dy, [c.name() for c in rim])


# --- the panel --------------------------------------------------------------------------------

def test_the_panel_counts_10000_nodes_and_remakes_its_legend_only_when_it_changes(qtbot: Any) -> None:
    panel = NetworkMapPanel()
    qtbot.addWidget(panel)
    lab = infos(BIG)
    panel.set_nodes(lab)
    assert panel.counts.text() == "10,000 lab nodes, 10,000 alive"
    panel.mode.setCurrentIndex(1)  # bucket count: the legend says the range
    legend = [panel.legend.itemAt(i).widget() for i in range(panel.legend.count())]
    assert any(w.text() == "13 buckets" for w in legend if hasattr(w, "text"))
    dead = list(lab)
    for i in range(0, BIG, 10):
        dead[i] = replace(lab[i], alive=False)
    panel.set_nodes(dead)
    assert panel.counts.text() == "10,000 lab nodes, 9,000 alive"
    assert [panel.legend.itemAt(i).widget() for i in range(panel.legend.count())] == legend  # same range: kept
    panel.set_nodes([replace(i, buckets=20) if i.alive else i for i in dead])
    texts = [w.text() for w in (panel.legend.itemAt(i).widget() for i in range(panel.legend.count()))
             if hasattr(w, "text")]
    assert "20 buckets" in texts


def test_a_frame_draws_at_most_the_newest_arcs(view: NetworkMapView) -> None:
    lab = infos(BIG)
    view.model.set_nodes(lab)
    ids = [i.id for i in lab]
    now = time.monotonic()
    count = DRAWN_ARCS + 500
    for k in range(count):  # each to a node of its own; the oldest and the newest found values
        view.query_sent(ids[0], k, ids[k + 1], now)
        view.query_settled(ids[0], k, ids[k + 1], "values" if k in (0, count - 1) else "answered", now)
    image = shown(view)
    assert len(view.arcs()) == count and view.painted_arcs == DRAWN_ARCS
    newest, oldest = view.node_position(count), view.node_position(1)
    values = outcome_color("values")
    assert near(image.pixelColor(newest.toPoint()), values)  # its end dot, over the node
    assert not near(image.pixelColor(oldest.toPoint()), values)  # not drawn
