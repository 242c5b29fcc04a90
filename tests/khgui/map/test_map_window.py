"""The network map in the window on a live lab: any node in focus, kill / revive / add from the map, conditions."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings

from dht.node import core_of
from dht import Conditions, LabThread
from dht.events import ContactFailed, ContactRemoved, Event
from khgui.controller import NetworkController
from khgui.map.conditions import LabConditionsDialog
from khgui.window.main_window import MainWindowView

from ..conftest import FAST, LAB_SIZE


def window_on(qtbot: Any, live: Any, tmp_path: Path) -> tuple[NetworkController, MainWindowView]:
    controller, bridge = live
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(window)
    window.show()
    window.docks["map"].raise_()  # the map takes in the lab's overviews while on screen
    return controller, window


def menu_action(window: MainWindowView, node_id: bytes, text: str) -> Any:
    row = window.map.model.row_of(node_id)
    assert row >= 0
    actions = {a.text(): a for a in window.map.view.context_menu(row).actions() if a.text()}
    return actions[text]


def bucket_ranges(table: list[Any]) -> list[tuple[int, int]]:
    return [(b.lo, b.hi) for b in table]


def test_the_map_shows_every_lab_node_and_ours(qtbot: Any, live: Any, wait_for: Callable[..., None],
                                               tmp_path: Path) -> None:
    controller, window = window_on(qtbot, live, tmp_path)
    assert isinstance(controller.lab_runner, LabThread) and not controller.lab_threaded  # 16 nodes: our loop
    wait_for(lambda: window.map.model.rowCount() == LAB_SIZE + 1)
    own = window.map.model.own_info()
    assert own is not None and own.id == controller.node.id
    assert window.map.counts.text() == f"{LAB_SIZE} lab nodes, {LAB_SIZE} alive"
    window.map.view.grab()  # paints it (the dock is a tab behind the routing table)
    assert window.map.view.painted_nodes == LAB_SIZE + 1


def test_focusing_a_lab_node_makes_the_panels_show_that_node(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path
) -> None:
    controller, window = window_on(qtbot, live, tmp_path)
    ours = controller.node
    wait_for(lambda: window.map.model.rowCount() == LAB_SIZE + 1)
    key = os.urandom(20)
    result = run(ours.store_value(key, b"seen through another node", local=False))
    holder = next(c for c in result.accepted if c.id != ours.id)
    lab_node = controller.lab.node_by_id(holder.id)  # a small lab runs on our loop: readable here
    own_history = window.routing.history  # our split history: kept while another node is shown
    wait_for(lambda: len(own_history.times) > 2)
    own_points = len(own_history.times)
    menu_action(window, holder.id, "Focus this node").trigger()
    wait_for(lambda: controller.focus is not None and window.routing.buckets.rowCount() > 0)
    # The window says whose view it is, and so do the headers of the panels that show it.
    assert holder.id.hex()[:8] in window.windowTitle()
    for panel in ("routing", "traffic", "values", "stats"):
        assert window.docks[panel].windowTitle().endswith(f"lab node {holder.id.hex()[:8]}"), panel
    assert window.docks["lookup"].windowTitle() == "Store && look up"  # look-ups run from our node
    assert window.routing.history is not own_history
    assert window.status.node_id.full_id() == holder.id.hex()
    assert window.commands.own_focus.isEnabled() and window.map.view.focus_node() == holder.id
    # Routing: that node's buckets and contacts, not ours.
    # (the lab node's table goes on changing: the panel follows it, from its events)
    def theirs() -> set[bytes]:
        return {c.contact.id for b in lab_node.routing_table() for c in b.contacts}

    def shown() -> set[bytes]:
        return {c.contact.id for r in window.routing.buckets.rows() for c in r.contacts}

    wait_for(lambda: bucket_ranges(window.routing.buckets.rows()) == bucket_ranges(lab_node.routing_table())
             and shown() == theirs())
    assert ours.id not in {holder.id} and lab_node.id not in shown()
    # Stored values: the holder's store, with the value we put there.
    values = window.panels["values"]
    wait_for(lambda: (key, b"seen through another node") in values.model.pairs())
    # Statistics: that node's counters.
    wait_for(lambda: window.stats.samples > 0 and window.stats._node is controller.focus)
    received = lab_node.stats().methods["store_value"].received
    assert received >= 1 and controller.focus.stats().methods["store_value"].received >= 1
    # Traffic: the bridge follows the node in focus.
    assert window.bridge.node is controller.focus
    run(lab_node.find_node(os.urandom(20)))
    traffic = window.panels["traffic"]
    wait_for(lambda: traffic.model.rowCount() > 0)
    peers = {traffic.model.data(traffic.model.index(r, 0)) for r in range(traffic.model.rowCount())}
    assert peers  # rows of the lab node's own lookup
    # Back to ours.
    window.commands.own_focus.trigger()
    wait_for(lambda: controller.focus is None)
    assert window.windowTitle() == "Khashmir \u00b7 local lab of 16 nodes \u2014 Khashmir Explorer"
    assert window.docks["routing"].windowTitle() == "Routing table"
    # our split history is as it was, its time axis going on
    assert window.routing.history is own_history and len(own_history.times) >= own_points
    assert own_history.times[0] == 0.0
    assert window.status.node_id.full_id() == ours.id.hex() and window.bridge.node is ours
    wait_for(lambda: bucket_ranges(window.routing.buckets.rows()) == bucket_ranges(ours.routing_table()))


def test_killing_a_node_from_the_map_marks_it_dead_and_its_contacts_fail(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any],
    poke_until: Callable[..., None], tmp_path: Path
) -> None:
    controller, window = window_on(qtbot, live, tmp_path)
    ours = controller.node
    wait_for(lambda: window.map.model.rowCount() == LAB_SIZE + 1)
    known = {c.id for c in core_of(ours).table.contacts()}
    victim = next(n for n in controller.lab.nodes[1:] if n.id in known)
    lab_holders = [n for n in controller.lab.nodes if n is not victim and core_of(n).table.get(victim.id) is not None]
    assert lab_holders
    failures: list[Event] = []
    ours.subscribe(lambda e: failures.append(e) if isinstance(e, (ContactFailed, ContactRemoved))
                   and e.contact.id == victim.id else None)
    action = menu_action(window, victim.id, "Kill")
    assert action.isEnabled()
    action.trigger()
    wait_for(lambda: not victim.running)
    row = window.map.model.row_of(victim.id)
    wait_for(lambda: window.map.model.index(row, 2).data() == "dead")
    assert window.map.counts.text() == f"{LAB_SIZE} lab nodes, {LAB_SIZE - 1} alive"
    assert not menu_action(window, victim.id, "Kill").isEnabled()
    # Our table: its contact fails as lookups meet it.
    poke_until(controller, lambda: bool(failures), 15)
    # And in a lab node's table, seen through the map's focus: failures counted for it.
    asker = lab_holders[0]

    async def look() -> None:
        await asker.find_node(victim.id)
        deadline = asyncio.get_running_loop().time() + 5
        while core_of(asker).transport.outstanding.pending and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)

    run(look())
    menu_action(window, asker.id, "Focus this node").trigger()
    wait_for(lambda: controller.focus is not None and controller.focus.id == asker.id)
    entries = [c for b in controller.focus.routing_table() for c in b.contacts if c.contact.id == victim.id]
    assert not entries or entries[0].failures >= 1
    # Revive from the map: alive again, at its address.
    menu_action(window, victim.id, "Revive").trigger()
    wait_for(lambda: victim.running)
    wait_for(lambda: window.map.model.index(row, 2).data() == "alive")
    # Add a node from the map.
    before = window.map.model.rowCount()
    window.map.view.context_menu(-1).actions()[0].trigger()
    wait_for(lambda: window.map.model.rowCount() == before + 1)


def test_lab_conditions_from_the_dialog_reach_the_lab(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path
) -> None:
    controller, window = window_on(qtbot, live, tmp_path)
    window.commands.conditions.trigger()
    dialog = window.dialogs.conditions
    assert isinstance(dialog, LabConditionsDialog) and dialog.conditions() == Conditions()
    dialog.loss.setValue(100)
    dialog.latency.setValue(40)
    dialog.buttons.button(dialog.buttons.StandardButton.Apply).click()
    wait_for(lambda: controller.lab.conditions.loss == 1.0)
    assert controller.lab_runner.conditions == Conditions(latency_ms=40, loss=1.0)
    # Every query to the lab now times out.
    ours = controller.node
    before = ours.stats().methods["ping"]
    try:
        run(ours.ping(*controller.lab.nodes[2].address))
    except Exception as exc:
        assert type(exc).__name__ == "RpcTimeout"
    else:
        raise AssertionError("a ping was answered through 100 % loss")
    after = ours.stats().methods["ping"]
    assert after.failed == before.failed + 1 and after.answered == before.answered
    dialog.set_conditions(Conditions())
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    wait_for(lambda: controller.lab.conditions == Conditions())
    assert run(ours.ping(*controller.lab.nodes[2].address)) == controller.lab.nodes[2].id


def test_a_big_lab_runs_on_its_own_thread_and_its_nodes_can_be_focused(
    qtbot: Any, qasync_loop: asyncio.AbstractEventLoop, wait_for: Callable[..., None],
    run: Callable[[Any], Any], tmp_path: Path
) -> None:
    from khgui.bridge import EventBridge

    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=FAST)
    progress: list[tuple[str, int, int]] = []
    controller.lab_progress.connect(lambda *a: progress.append(a))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(window)
    try:
        assert run(controller.start(lab_size=120, data_dir=str(tmp_path / "node")))
        assert controller.lab_threaded and controller.lab_size == 120
        assert {"starting", "formed"} <= {p[0] for p in progress}
        wait_for(lambda: window.map.model.rowCount() == 121, 10)
        target = window.map.model.nodes()[7].id
        assert run(controller.focus_node(target))
        wait_for(lambda: window.routing.buckets.contact_count() > 0)
        assert window.status.node_id.full_id() == target.hex()
        view = run(controller.lab_runner.inspect(target))
        assert bucket_ranges(window.routing.buckets.rows()) == bucket_ranges(view.routing)
    finally:
        run(controller.stop())
        bridge.stop()


def test_resizing_a_small_lab_past_the_threshold_moves_it_to_its_own_thread(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path
) -> None:
    from khgui.lab_control import THREADED_LAB_MIN

    controller, window = window_on(qtbot, live, tmp_path)
    assert not controller.lab_threaded
    run(controller.resize_lab(THREADED_LAB_MIN))
    assert controller.lab_threaded and controller.lab_size == THREADED_LAB_MIN
    assert controller.joined and core_of(controller.node).table.contacts()
    assert run(controller.node.ping(*controller.lab_runner.bootstrap_address))
    wait_for(lambda: window.map.model.counts() == (THREADED_LAB_MIN, THREADED_LAB_MIN), 10)


def test_the_public_preset_from_the_dialog_reaches_the_lab(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path
) -> None:
    controller, window = window_on(qtbot, live, tmp_path)
    messages: list[str] = []
    controller.message.connect(messages.append)
    window.commands.conditions.trigger()
    dialog = window.dialogs.conditions
    assert isinstance(dialog, LabConditionsDialog) and dialog.latency.isEnabled()
    dialog.latency.setValue(40)
    dialog.preset.setCurrentIndex(dialog.preset.findData("public"))
    # Each node's latency is drawn: the box is off; the preset's jitter comes with it.
    assert not dialog.latency.isEnabled() and dialog.latency.text() == "drawn for each node"
    assert dialog.jitter.value() == Conditions.public().jitter_ms
    dialog.loss.setValue(5)
    dialog.buttons.button(dialog.buttons.StandardButton.Apply).click()
    wanted = Conditions.public(loss=0.05)
    wait_for(lambda: controller.lab.conditions == wanted)
    assert controller.lab_runner.conditions == wanted
    wait_for(lambda: any("public Internet latency" in m for m in messages))
    # Each lab node answers our node after a delay of its own.
    lab = controller.lab
    slowest = max(lab.nodes[1:], key=lab.one_way_delay)
    assert lab.one_way_delay(slowest) > lab.one_way_delay(min(lab.nodes[1:], key=lab.one_way_delay))
    # The dialog opened again shows the preset as it is.
    window.commands.conditions.trigger()
    again = window.dialogs.conditions
    assert again is not dialog and again.conditions() == wanted and not again.latency.isEnabled()
    again.preset.setCurrentIndex(again.preset.findData("flat"))
    assert again.latency.isEnabled() and again.conditions() == Conditions(jitter_ms=20, loss=0.05)
    again.set_conditions(Conditions())
    again.buttons.button(again.buttons.StandardButton.Ok).click()
    wait_for(lambda: controller.lab.conditions == Conditions())


def test_a_node_in_focus_says_whether_events_came_since_its_view(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], poke_until: Callable[..., None]
) -> None:
    controller, _bridge = live
    target = next(n for n in controller.lab.nodes if n.id != controller.node.id)
    assert run(controller.focus_node(target.id))
    focus = controller.focus
    delivered: list[Any] = []
    focus.subscribe(delivered.append)
    poke_until(controller, lambda: focus.out_of_date, 10)  # look-ups reach it: its events come
    before = len(delivered)
    run(focus.refresh())  # a new view: the events so far are in it
    assert focus.events_since_view == len(delivered) - before  # only those that came during the read
    assert focus.out_of_date == (len(delivered) > before)
    assert run(controller.focus_node(None))
