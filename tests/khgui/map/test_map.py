"""The network map: its model through qtmodeltester, and the view tested by what it draws."""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from typing import Any, Callable

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from dht import Config, Contact, LabNodeInfo, LabThread
from dht.events import LookupAnswered, LookupQueried
from khgui.common import theme
from khgui.map.model import NODE_ROLE, NetworkMapModel
from khgui.map.panel import NetworkMapPanel
from khgui.map.arcs import FADE_SECONDS
from khgui.map.palette import DEAD, OWN, alive_color, outcome_color, ramp_color, target_color
from khgui.map.view import MARGIN, NetworkMapView


def infos(n: int, seed: int = 1, dead: tuple[int, ...] = ()) -> list[LabNodeInfo]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        buckets = rng.randrange(3, 12)
        contacts = rng.randrange(8, buckets * 8 + 1)
        out.append(LabNodeInfo(rng.randbytes(20), f"127.0.{i // 254}.{i % 254 + 2}", 40000 + i, i not in dead,
                               contacts, buckets, contacts / (buckets * 8)))
    return out


def with_id(info: LabNodeInfo, position: float) -> LabNodeInfo:
    """The same node moved to ``position`` (0-1) of the id space."""
    node_id = int(position * (1 << 160)).to_bytes(20, "big")
    return LabNodeInfo(node_id, info.host, info.port, info.alive, info.contacts, info.buckets, info.fill)


def shown(view: NetworkMapView) -> QImage:
    """Paint the view as it is now."""
    view.repaint()
    return view.grab().toImage()


def near(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3]))


# --- the model ------------------------------------------------------------------------

def test_map_model_passes_modeltester(qtmodeltester: Any) -> None:
    model = NetworkMapModel()
    lab = infos(40, dead=(3, 7))
    own = infos(1, seed=99)[0]
    model.set_nodes(lab, own)
    qtmodeltester.check(model)
    assert model.rowCount() == 41 and model.columnCount() == 6
    assert model.counts() == (40, 38)
    assert model.index(3, 2).data() == "dead" and model.index(40, 2).data() == "ours"
    assert model.index(0, 1).data() == "127.0.0.2:40000"
    assert model.index(0, 0).data(NODE_ROLE).info == lab[0]
    assert model.row_of(lab[5].id) == 5 and model.row_of(bytes(20)) == -1
    assert model.own_info() == own


def test_map_model_keeps_rows_appends_newcomers_and_resets_only_when_nodes_go(qtbot: Any) -> None:
    model = NetworkMapModel()
    lab = infos(10)
    model.set_nodes(lab)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    changed = lab[:]
    changed[4] = LabNodeInfo(lab[4].id, lab[4].host, lab[4].port, False, 0, 1, 0.0)
    with qtbot.waitSignal(model.dataChanged, timeout=500) as blocker:
        model.set_nodes(changed)
    assert blocker.args[0].row() == 4 == blocker.args[1].row()
    assert model.index(4, 2).data() == "dead"
    newcomer = infos(1, seed=5)[0]
    with qtbot.waitSignal(model.rowsInserted, timeout=500):
        model.set_nodes(changed + [newcomer])
    assert model.row_of(newcomer.id) == 10 and not resets
    model.set_nodes(changed[1:] + [newcomer])  # one went away: a reset
    assert resets and model.rowCount() == 10 and model.row_of(lab[0].id) == -1
    model.update_node(LabNodeInfo(lab[5].id, lab[5].host, lab[5].port, False, 1, 1, 0.1))
    assert model.index(model.row_of(lab[5].id), 2).data() == "dead"


# --- the view ---------------------------------------------------------------------------

@pytest.fixture
def view(qtbot: Any) -> NetworkMapView:
    model = NetworkMapModel()
    v = NetworkMapView(model)
    qtbot.addWidget(v)
    v.resize(600, 600)
    v.show()
    return v


def test_every_node_is_drawn_on_the_ring_where_the_hit_test_finds_it(view: NetworkMapView) -> None:
    lab = infos(2000, dead=(10, 20, 30))
    view.model.set_nodes(lab, infos(1, seed=42)[0])
    image = shown(view)
    assert view.painted_nodes == 2001
    # Nodes at the top (id 00...), right (40...) and bottom (80...) of the ring.
    probes = [with_id(lab[0], 0.0), with_id(lab[1], 0.25), with_id(lab[2], 0.5)]
    view.model.set_nodes(probes)
    image = shown(view)
    top, right, bottom = (view.node_position(i) for i in range(3))
    assert top.y() < 100 and abs(top.x() - 300) < 1
    assert right.x() > 500 and abs(right.y() - 300) < 1
    assert bottom.y() > 500
    for row in range(3):
        assert view.node_at(view.node_position(row)) == row
        assert near(image.pixelColor(view.node_position(row).toPoint()), alive_color())
    assert view.node_at(QPointF(300, 300)) == -1  # the middle of the ring is empty


def test_the_ring_follows_the_theme(view: NetworkMapView) -> None:
    view.model.set_nodes(infos(50))
    manager = theme.manager()
    try:
        for mode in ("dark", "light", "dark"):
            manager.set_mode(mode)
            corner = shown(view).pixelColor(3, 3)
            assert near(corner, QColor(theme.colors().plot_bg), tolerance=2), (mode, corner.name())
        dark_ground = shown(view).pixelColor(3, 3)
        manager.set_mode("light")
        assert not near(shown(view).pixelColor(3, 3), dark_ground)
    finally:
        manager.set_mode("light")


def test_dead_and_own_nodes_are_marked_and_colour_modes_recolour(view: NetworkMapView) -> None:
    lab = [with_id(i, pos) for i, pos in zip(infos(3), (0.1, 0.4, 0.7))]
    own = with_id(infos(1, seed=3)[0], 0.9)
    view.model.set_nodes(lab, own)
    dead = LabNodeInfo(lab[1].id, lab[1].host, lab[1].port, False, 0, 1, 0.0)
    view.model.update_node(dead)
    image = shown(view)
    assert near(image.pixelColor(view.node_position(0).toPoint()), alive_color())
    assert near(image.pixelColor(view.node_position(3).toPoint()), OWN)
    # A dead node is a hollow ring: its centre is background, its rim grey.
    centre = view.node_position(1)
    assert not near(image.pixelColor(centre.toPoint()), alive_color())
    rim = [image.pixelColor(QPoint(int(centre.x()) + dx, int(centre.y()))) for dx in range(2, 6)]
    assert any(near(c, DEAD, 30) for c in rim)
    full = LabNodeInfo(lab[0].id, lab[0].host, lab[0].port, True, 80, 10, 1.0)
    view.model.update_node(full)
    view.set_color_mode("fill")
    image = shown(view)
    assert near(image.pixelColor(view.node_position(0).toPoint()), ramp_color(1.0))
    assert view.legend()[-1][0] == "every bucket full"
    with pytest.raises(ValueError):
        view.set_color_mode("rainbow")


def test_wheel_zoom_keeps_the_point_under_the_cursor_and_pans(view: NetworkMapView) -> None:
    view.model.set_nodes(infos(50))
    at = view.node_position(7)
    wheel = QWheelEvent(at, view.mapToGlobal(at), QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, wheel)
    assert view.zoom() == pytest.approx(1.5625)
    after = view.node_position(7)
    assert abs(after.x() - at.x()) < 0.5 and abs(after.y() - at.y()) < 0.5
    assert view.node_at(at) == 7
    view.center_on(view.model.nodes()[9].id, zoom=8)
    middle = view.node_position(9)
    assert abs(middle.x() - 300) < 0.5 and abs(middle.y() - 300) < 0.5
    view.reset_view()
    assert view.zoom() == 1.0


def test_lookup_queries_are_drawn_as_arcs_coloured_by_outcome_that_fade(view: NetworkMapView) -> None:
    lab = [with_id(i, pos) for i, pos in zip(infos(3), (0.0, 0.3, 0.6))]
    view.model.set_nodes(lab)
    src, a, b = (n.id for n in lab)
    target = with_id(lab[0], 0.62).id
    view.lookup_started(src, 1, target)
    view.query_sent(src, 1, a)
    view.query_sent(src, 1, b)
    view.query_sent(src, 1, src)  # the local node's own answer: not drawn
    image = shown(view)
    assert view.painted_arcs == 2 and {arc.outcome for arc in view.arcs()} == {"pending"}
    assert view.targets() == [target]  # marked outside the ring, at the target's angle
    angle = 0.62 * 2 * math.pi - math.pi / 2
    marker = QPoint(round(300 + math.cos(angle) * (300 - MARGIN + 9)), round(300 + math.sin(angle) * (300 - MARGIN + 9)))
    assert near(image.pixelColor(marker), target_color(), 60)
    now = time.monotonic()
    view.query_settled(src, 1, a, "answered", now)
    view.query_settled(src, 1, b, "timeout", now)
    view.query_settled(src, 1, a, "timeout", now)  # a late soft timeout does not undo the answer
    assert sorted(arc.outcome for arc in view.arcs()) == ["answered", "timeout"]
    shown(view)
    assert view.painted_arcs == 2
    view.expire_arcs(now + FADE_SECONDS + 0.1)
    assert view.arcs() == [] and view.targets() == []
    shown(view)
    assert view.painted_arcs == 0
    view.query_sent(src, 2, b"\xee" * 20)  # a node not on the map: kept, not drawn
    shown(view)
    assert len(view.arcs()) == 1 and view.painted_arcs == 0


def test_context_menu_and_tooltip_name_the_node_and_emit_requests(view: NetworkMapView, qtbot: Any) -> None:
    lab = infos(5, dead=(2,))
    own = infos(1, seed=7)[0]
    view.model.set_nodes(lab, own)
    actions = {a.text(): a for a in view.context_menu(0).actions() if a.text()}
    assert set(actions) == {"Focus this node", "Kill", "Revive", "Add node"}
    assert actions["Kill"].isEnabled() and not actions["Revive"].isEnabled()
    with qtbot.waitSignal(view.kill_requested, timeout=500) as killed:
        actions["Kill"].trigger()
    assert killed.args == [lab[0].id]
    actions = {a.text(): a for a in view.context_menu(2).actions() if a.text()}
    assert not actions["Kill"].isEnabled() and actions["Revive"].isEnabled()
    with qtbot.waitSignal(view.revive_requested, timeout=500) as revived:
        actions["Revive"].trigger()
    assert revived.args == [lab[2].id]
    ours = {a.text(): a for a in view.context_menu(5).actions() if a.text()}
    assert not ours["Kill"].isEnabled() and not ours["Revive"].isEnabled()
    with qtbot.waitSignal(view.focus_requested, timeout=500) as focused:
        ours["Focus this node"].trigger()
    assert focused.args == [own.id]
    assert [a.text() for a in view.context_menu(-1).actions()] == ["Add node"]
    tip = view.tooltip_text(1)
    assert lab[1].id.hex() in tip and f"{lab[1].host}:{lab[1].port}" in tip
    assert f"{lab[1].contacts} contacts in {lab[1].buckets} buckets" in tip
    assert "our node" in view.tooltip_text(5) and view.tooltip_text(-1) == ""


def test_clicking_a_node_selects_it(view: NetworkMapView, qtbot: Any) -> None:
    lab = infos(30)
    view.model.set_nodes(lab)
    at = view.node_position(12).toPoint()
    with qtbot.waitSignal(view.node_selected, timeout=500) as selected:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=at)
    assert selected.args == [lab[12].id] and view.selected_node() == lab[12].id


# --- the panel, fed by a real threaded lab ------------------------------------------------

def test_panel_shows_a_threaded_labs_nodes_progress_and_a_lookup_of_its_own(
    qtbot: Any, qasync_loop: asyncio.AbstractEventLoop, wait_for: Callable[..., None]
) -> None:
    panel = NetworkMapPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 700)
    panel.show()
    lab = LabThread(16, Config(KRPC_TIMEOUT=1.0), seed=8, interval=0.01)
    stages: list[str] = []

    def progress(batch: list[Any]) -> None:
        for _, event in batch:
            if hasattr(event, "stage"):
                stages.append(event.stage)
                panel.set_progress(event.stage, event.done, event.total)

    lab.subscribe(progress)
    run = qasync_loop.run_until_complete
    run(lab.start())
    try:
        wait_for(lambda: "formed" in stages)
        assert "introducing" in stages and not panel.progress.isVisible()
        panel.set_nodes(run(lab.overview()))
        assert panel.model.rowCount() == 16 and panel.counts.text() == "16 lab nodes, 16 alive"
        asker = panel.model.nodes()[0].id
        seen: list[Any] = []
        unwatch = run(lab.watch(seen.extend, asker, (LookupQueried, LookupAnswered)))

        async def look(lab_: Any) -> None:
            await lab_.node_by_id(asker).find_node(os.urandom(20))

        run(lab.call(look))
        wait_for(lambda: any(isinstance(e, LookupAnswered) for _, e in seen))
        panel.lookup_events(seen)
        outcomes = {arc.outcome for arc in panel.view.arcs()}
        assert outcomes and outcomes <= {"answered", "pending", "values"}
        assert {arc.src for arc in panel.view.arcs()} == {asker}
        panel.view.repaint()
        assert panel.view.painted_arcs == len(panel.view.arcs()) > 0
        run(unwatch())
        panel.set_progress("introducing", 5, 10)
        assert panel.progress.isVisible() and panel.progress.value() == 5
    finally:
        run(lab.stop())


def test_lookup_events_of_our_node_need_a_contact_on_the_map(qtbot: Any) -> None:
    panel = NetworkMapPanel()
    qtbot.addWidget(panel)
    lab = infos(4)
    panel.set_nodes(lab)
    c = Contact(lab[1].id, lab[1].host, lab[1].port)
    panel.lookup_events([(lab[0].id, LookupQueried(0.0, 3, c, 150.0)),
                         (lab[0].id, LookupAnswered(0.0, 3, c, 150.0, "values", 0.01))])
    [arc] = panel.view.arcs()
    assert (arc.src, arc.dst, arc.outcome) == (lab[0].id, lab[1].id, "values")
    panel.mode.setCurrentIndex(1)
    assert panel.view.color_mode() == "buckets"
