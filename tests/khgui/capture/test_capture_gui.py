"""The explorer's captures: recording from the window, opening a capture into the
live panels (traffic pairs, stats, timeline, viewpoint), damaged and foreign files.

Captures are recorded from a real lab (``dht.Lab`` with a ``CaptureWriter``)
or written with ``dht.CaptureWriter``; the window is the real main window.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path
from typing import Any, Callable

import bencodepy
import pytest
from PySide6.QtCore import QSettings

from dht import CaptureReader, CaptureWriter, KrpcDecoder, Lab
from dht.events import DatagramReceived, DatagramSent
from khgui.bridge import EventBridge
from khgui.capture.feed import CaptureStats, Viewpoint, default_viewpoint
from khgui.controller import NetworkController
from khgui.traffic.columns import RTT, STATUS
from khgui.window.main_window import MainWindowView

from ..conftest import FAST

A, B, C = ("127.0.0.1", 4000), ("127.0.0.2", 4001), ("127.0.0.3", 4002)


def encode(msg: dict[bytes, Any]) -> bytes:
    return bencodepy.encode(msg)  # type: ignore[no-any-return]


def synthetic(path: Path, exchanges: int, spacing: float = 0.01, local: tuple[str, int] = A) -> int:
    """``exchanges`` find_node queries from ``local`` to B or C, each answered; returns messages written."""
    rng = random.Random(3)
    t = 1_800_000_000.0
    with CaptureWriter(path, flush_each=False) as w:
        for i in range(exchanges):
            peer = B if i % 3 else C
            tid = i.to_bytes(4, "big")
            w.write(t, local, peer, encode({b"t": tid, b"y": b"q", b"q": b"find_node",
                                            b"a": {b"id": b"\x01" * 20, b"target": rng.randbytes(20)}}))
            w.write(t + 0.004, peer, local, encode({b"t": tid, b"y": b"r", b"r": {b"id": b"\x02" * 20,
                                                                                   b"nodes": [rng.randbytes(26)]}}))
            t += spacing
    return 2 * exchanges


def make_window(qtbot: Any, tmp_path: Path, controller: NetworkController | None = None,
                bridge: EventBridge | None = None) -> MainWindowView:
    bridge = bridge or EventBridge(interval_ms=20)
    controller = controller or NetworkController(bridge, config=FAST)
    window = MainWindowView(controller, bridge, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                            persist=False)
    qtbot.addWidget(window)
    window.show()
    return window


def wait_loaded(window: MainWindowView, wait_for: Callable[..., None], timeout: float = 20.0) -> None:
    wait_for(lambda: window.capture.session is not None and not window.capture.session.loading, timeout)


# -- feed (no Qt) -------------------------------------------------------------------------

def _msgs(path: Path) -> list[Any]:
    decoder = KrpcDecoder()
    with CaptureReader(path) as reader:
        return [m for m in (decoder.feed(d) for d in reader) if m is not None]


def test_viewpoint_turns_messages_into_the_live_events(tmp_path: Path) -> None:
    synthetic(tmp_path / "s.pcapng", 6, spacing=0.5)  # 3 s: three samples of the history
    msgs = _msgs(tmp_path / "s.pcapng")
    assert default_viewpoint(msgs) == A  # in every message
    seen_from_a = Viewpoint(A).events(msgs)
    assert [type(e) for e in seen_from_a[:2]] == [DatagramSent, DatagramReceived]
    assert seen_from_a[1].rtt == pytest.approx(0.004, abs=2e-6) and seen_from_a[1].method == "find_node"
    assert {e.peer for e in seen_from_a} == {B, C}
    seen_from_b = Viewpoint(B).events(msgs)
    assert len(seen_from_b) == 8 and all(e.peer == A for e in seen_from_b)
    assert [type(e) for e in seen_from_b[:2]] == [DatagramReceived, DatagramSent]
    every = Viewpoint(None).events(msgs)
    assert len(every) == 12 and all((type(e) is DatagramSent) == (e.kind == "q") for e in every)
    stats = CaptureStats(msgs[0].time, A)
    stats.add(msgs)
    stats.finish()
    m = stats.methods()["find_node"]
    assert (m.sent, m.answered, m.failed, m.received) == (6, 6, 0, 0)
    assert m.mean_rtt == pytest.approx(0.004, abs=2e-6)
    assert len(stats.history) == 3 and len(stats.history.rtts) == 6
    assert sum(stats.history.rates[("find_node", "out")].array()) > 0
    assert stats.bytes == [sum(m.size for m in msgs if m.dst == A), sum(m.size for m in msgs if m.src == A)]
    assert sum(stats.history.bytes_out.array()) > 0
    from_b = CaptureStats(msgs[0].time, B)
    from_b.add(msgs)
    m = from_b.methods()["find_node"]
    assert (m.sent, m.answered, m.received) == (0, 0, 4) and from_b.messages == 8
    assert stats.clients_text() == ""  # Khashmir messages name no client
    mainline = msgs[0]._replace(message={**msgs[0].message, b"v": b"UT\x01\x02"})
    stats.add([mainline, mainline])
    assert stats.clients_text() == "UT 2"


# -- the window -----------------------------------------------------------------------------

def test_open_capture_fills_traffic_and_stats_and_disables_live_actions(
        qtbot: Any, tmp_path: Path, wait_for: Callable[..., None], qtmodeltester: Any) -> None:
    path = tmp_path / "s.pcapng"
    synthetic(path, 300)
    window = make_window(qtbot, tmp_path)
    assert window.capture.open(str(path))
    wait_loaded(window, wait_for)
    traffic = window.panels["traffic"]
    model = traffic.model
    assert model.rowCount() == 600
    qtmodeltester.check(model)
    assert all(model.index(r, STATUS).data() == "ok" for r in range(0, 600, 2))  # requests paired
    assert model.index(0, RTT).data() == "4.0 ms"
    assert "capture" in window.windowTitle() and "s.pcapng" in window.windowTitle()
    assert "not a live node" in window.capture.session.bar.banner.text()
    for action in (window.commands.join, window.commands.resize, window.commands.add, window.commands.lookup):
        assert not action.isEnabled()
    stats = window.panels["stats"]
    assert stats.methods.rowCount() == 1 and stats.methods.index(0, 1).data() == "300"
    assert "600 messages" in window.capture.session.bar.progress.text()
    # the decoded tree of a selected row
    traffic.table.selectRow(1)
    assert ("y", '"r"') in traffic.message_view.texts()
    # the filter works on captured rows
    traffic.method_combo.setCurrentIndex(traffic.method_combo.findData("find_node"))
    traffic.direction_combo.setCurrentIndex(traffic.direction_combo.findData("in"))
    assert traffic.proxy.rowCount() == 300
    window.capture.close_capture()
    assert window.commands.join.isEnabled() and window.windowTitle() == "Khashmir Explorer"


def test_viewpoint_and_timeline(qtbot: Any, tmp_path: Path, wait_for: Callable[..., None]) -> None:
    path = tmp_path / "long.pcapng"
    synthetic(path, 20_000, spacing=0.01)  # 40,000 messages over 200 s
    window = make_window(qtbot, tmp_path)
    window.panels["traffic"].model.set_cap(5000)
    assert window.capture.open(str(path))
    wait_loaded(window, wait_for, 60)
    session = window.capture.session
    model = window.panels["traffic"].model
    # the table holds the start of the capture, up to its cap; the statistics all of it
    assert model.rowCount() == 5000 and model.evicted == 0
    assert model.raw(0)["time"] == pytest.approx(1_800_000_000.0)
    assert window.panels["stats"].methods.index(0, 1).data() == "20,000"
    first = 1_800_000_000.0
    target = first + 50.0
    bar = session.bar
    assert bar.slider.isEnabled()
    with qtbot.waitSignal(bar.seek_requested, timeout=5000):
        bar.slider.setValue(250)  # a quarter of 200 s
    wait_loaded(window, wait_for, 30)
    times = [model.raw(r)["time"] for r in range(model.rowCount())]
    assert model.rowCount() == 5000
    assert times[0] <= target + 0.5 and times[0] >= target - 10 and times[-1] > target
    current = window.panels["traffic"].table.currentIndex().row()
    assert times[current] >= target - 0.5 and (current == 0 or times[current - 1] < target + 0.5)
    # seen from B: only B's exchanges (a third of the queries went to C)
    session.set_viewpoint(B)
    wait_loaded(window, wait_for, 60)
    peers = {model.raw(r)["peer"] for r in range(model.rowCount())}
    assert peers == {"127.0.0.1:4000"}
    assert window.panels["stats"].methods.index(0, 4).data() == f"{20_000 - 6667:,}"  # queries B received


def test_damaged_and_foreign_files_are_messages_in_the_window(
        qtbot: Any, tmp_path: Path, wait_for: Callable[..., None]) -> None:
    path = tmp_path / "s.pcapng"
    synthetic(path, 50)
    raw = path.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(raw[: len(raw) - 20])
    window = make_window(qtbot, tmp_path)
    assert window.capture.open(str(cut))
    wait_loaded(window, wait_for)
    assert window.panels["traffic"].model.rowCount() == 99  # everything before the damage
    assert window.banner.isVisible() and "truncated" in window.banner.text()
    (tmp_path / "notes.txt").write_text("not a capture\n")
    assert not window.capture.open(str(tmp_path / "notes.txt"))
    assert "not a pcap or pcapng" in window.banner.text()
    (tmp_path / "empty.pcap").write_bytes(b"")
    assert not window.capture.open(str(tmp_path / "empty.pcap"))
    assert "empty" in window.banner.text()


def test_record_our_node_from_the_window_then_open_it(
        qtbot: Any, tmp_path: Path, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any]) -> None:
    controller, bridge = live
    window = make_window(qtbot, tmp_path, controller, bridge)
    ours = controller.node.contact.address
    path = tmp_path / "ours.pcapng"
    assert window.capture.record(str(path))
    assert window.capture.stop_action.isEnabled()
    run(controller.node.find_node(os.urandom(20)))
    window.capture.stop_recording()
    assert not window.capture.stop_action.isEnabled()
    msgs = _msgs(path)
    assert msgs and all(ours in (m.src, m.dst) for m in msgs)
    assert {m.method for m in msgs if m.kind == "q" and m.src == ours} >= {"find_node"}
    # the whole lab as an option
    lab_path = tmp_path / "lab.pcapng"
    assert window.capture.record(str(lab_path), include_lab=True)
    run(controller.lab.nodes[3].find_node(os.urandom(20)))
    window.capture.stop_recording()
    lab_msgs = _msgs(lab_path)
    lab_node = controller.lab.nodes[3].contact.address
    assert any(m.src == lab_node and m.kind == "q" for m in lab_msgs)
    # opening it stops the live network and shows it from our... the busiest address
    assert window.capture.open(str(path))
    wait_loaded(window, wait_for)
    wait_for(lambda: controller.node is None and controller.lab is None, 10)
    assert window.panels["traffic"].model.rowCount() == len(msgs)
    assert window.capture.session.viewpoint.local == ours
    assert not window.commands.leave.isEnabled() and not window.commands.kill.isEnabled()


def test_unwritable_record_path_is_a_message(qtbot: Any, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    assert not window.capture.record(str(tmp_path / "no" / "such" / "dir" / "x.pcapng"))
    assert "cannot write capture" in window.banner.text()


def test_open_flag_shows_capture_without_a_node(tmp_path: Path) -> None:
    from khgui.app import parse_args

    args = parse_args(["--open", "x.pcapng"])
    assert args.open == "x.pcapng" and args.lab == 0
    for bad in (["--open", "x", "--capture", "y"], ["--open", "x", "--lab", "3"], ["--capture-lab"]):
        with pytest.raises(SystemExit) as info:
            parse_args(bad)
        assert info.value.code == 2


async def _lab_capture(path: Path) -> None:
    with CaptureWriter(path) as writer:
        lab = Lab(4, FAST, capture=writer)
        await lab.start()
        await lab.stop()


def test_whole_lab_capture_defaults_to_every_node(qtbot: Any, tmp_path: Path, wait_for: Callable[..., None],
                                                  qasync_loop: asyncio.AbstractEventLoop) -> None:
    path = tmp_path / "lab.pcapng"
    qasync_loop.run_until_complete(_lab_capture(path))
    msgs = _msgs(path)
    window = make_window(qtbot, tmp_path)
    assert window.capture.open(str(path))
    wait_loaded(window, wait_for)
    session = window.capture.session
    assert session.viewpoint.local is None
    assert window.panels["traffic"].model.rowCount() == len(msgs)  # every exchange once
    assert all(window.panels["traffic"].model.state_at(r) == "ok" for r in range(len(msgs)))  # all paired
    combo = session.bar.viewpoint
    assert combo.count() >= 5 and combo.itemData(0) is None  # every node, then the busiest addresses


def test_khgui_capture_flag_records_our_node(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "ours.pcapng"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "khgui", "--self-test", "--capture", str(path)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    msgs = _msgs(path)
    ours = collections_counter_top(msgs)
    assert all(ours in (m.src, m.dst) for m in msgs)  # only our node's datagrams
    assert {"join", "find_node", "store_value", "get_value"} <= {m.method for m in msgs if m.kind == "q"}


def collections_counter_top(msgs: list[Any]) -> Any:
    from collections import Counter

    counts: Counter[Any] = Counter()
    for m in msgs:
        counts[m.src] += 1
        counts[m.dst] += 1
    return counts.most_common(1)[0][0]
