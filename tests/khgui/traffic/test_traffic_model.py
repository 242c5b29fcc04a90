"""Tests of the traffic ring-buffer model, its filter and the JSON lines export."""

from __future__ import annotations

import json
import os
import socket
import struct

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from dht.events import DatagramDropped, DatagramReceived, DatagramSent, RequestTimedOut
from khgui.traffic.filter import TrafficFilterModel, export_rows, write_jsonl
from khgui.traffic.columns import RTT, STATUS
from khgui.traffic.model import TrafficModel

PEER = ("127.0.0.1", 4001)
OTHER = ("10.0.0.7", 5000)


def sent_q(tid: bytes, peer=PEER, method: str = "ping", t: float = 1.0) -> DatagramSent:
    msg = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": {b"id": b"\x01" * 20}}
    return DatagramSent(t, peer, "q", method, tid, 40, msg)


def recv_r(tid: bytes, peer=PEER, method: str = "ping", rtt: float = 0.01) -> DatagramReceived:
    msg = {b"t": tid, b"y": b"r", b"r": {b"id": b"\x02" * 20}}
    return DatagramReceived(1.5, peer, "r", method, tid, 38, msg, rtt=rtt)


def recv_q(tid: bytes, peer=OTHER, method: str = "find_node") -> DatagramReceived:
    msg = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": {b"id": b"\x03" * 20}}
    return DatagramReceived(2.0, peer, "q", method, tid, 60, msg)


def sent_e(tid: bytes, peer=OTHER, method: str = "find_node") -> DatagramSent:
    msg = {b"t": tid, b"y": b"e", b"e": [203, b"method unknown"]}
    return DatagramSent(2.1, peer, "e", method, tid, 30, msg, error_code=203)


def statuses(model: TrafficModel) -> list[str]:
    return [model.index(r, STATUS).data() for r in range(model.rowCount())]


def test_model_passes_modeltester(qtmodeltester) -> None:
    model = TrafficModel(cap=50)
    model.add_events([sent_q(b"aa"), recv_r(b"aa"), recv_q(b"bb"), sent_e(b"bb")])
    qtmodeltester.check(model)
    proxy = TrafficFilterModel()
    proxy.setSourceModel(model)
    proxy.set_direction("in")
    qtmodeltester.check(proxy)


def test_pairing_marks_requests_and_sets_rtt(qtbot) -> None:
    model = TrafficModel()
    model.add_events([sent_q(b"aa"), sent_q(b"ab", method="find_node"), recv_q(b"bb")])
    assert statuses(model) == ["pending", "pending", "pending"]
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.add_events([recv_r(b"aa", rtt=0.0123), RequestTimedOut(9.0, PEER, "find_node", b"ab"),
                          sent_e(b"bb")])
    top, bottom = blocker.args[0], blocker.args[1]
    assert (top.row(), bottom.row()) == (0, 2) and (top.column(), bottom.column()) == (STATUS, RTT)
    assert statuses(model) == ["ok", "timeout", "error 203", "ok", "error 203"]
    assert model.index(0, RTT).data() == "12.3 ms"
    assert model.index(3, RTT).data() == "12.3 ms"


def test_a_lookup_s_query_shows_the_soft_timeout_it_is_judged_by() -> None:
    model = TrafficModel()
    msg = {b"t": b"cc", b"y": b"q", b"q": b"find_node", b"a": {b"id": b"\x01" * 20}}
    model.add_events([DatagramSent(1.0, PEER, "q", "find_node", b"cc", 40, msg, None, 0.05), sent_q(b"cd")])
    assert model.index(0, RTT).data() == "(soft 50 ms)"  # waiting, judged by 50 ms
    assert model.index(1, RTT).data() == ""  # not a lookup's: no soft timeout
    assert "50 ms" in model.index(0, RTT).data(Qt.ItemDataRole.ToolTipRole)
    late = DatagramReceived(1.5, PEER, "r", "find_node", b"cc", 38, {b"t": b"cc", b"y": b"r", b"r": {}},
                            rtt=0.075, late=True)
    model.add_events([late])
    assert model.index(0, RTT).data() == "75.0 ms (soft 50)"
    assert statuses(model)[0] == "ok (late)"
    assert model.record(0)["soft_timeout"] == 0.05


def test_pairing_within_one_batch_and_dropped_rows() -> None:
    model = TrafficModel()
    model.add_events([sent_q(b"zz"), recv_r(b"zz"), DatagramDropped(3.0, PEER, 5, "not bencoded")])
    assert statuses(model) == ["ok", "ok", "dropped: not bencoded"]
    assert model.state_at(2) == "dropped"


def test_burst_stays_within_cap_with_one_insert_per_batch(qtbot) -> None:
    cap = 5000
    model = TrafficModel(cap=cap)
    inserts: list[tuple[int, int]] = []
    removes: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    model.rowsRemoved.connect(lambda _p, a, b: removes.append((a, b)))
    events = []
    for i in range(10_000):
        tid = i.to_bytes(2, "big")
        events += [sent_q(tid), recv_r(tid)]
    assert len(events) == 20_000
    batches = [events[i : i + 1000] for i in range(0, len(events), 1000)]
    for batch in batches:
        model.add_events(batch)
    assert model.rowCount() == cap
    assert len(inserts) == len(batches)  # one rowsInserted per batch
    assert all(b - a + 1 == 1000 for a, b in inserts)
    assert len(removes) == len(batches) - cap // 1000  # at most one remove per batch
    assert model.evicted == 20_000 - cap
    # the newest rows are kept, still paired
    assert set(statuses(model)) == {"ok"}
    # a single burst larger than the cap keeps the newest rows only
    big = TrafficModel(cap=100)
    big.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    big.add_events(events)
    assert big.rowCount() == 100 and big.raw(99)["tid"] == (9999).to_bytes(2, "big").hex()


def test_set_cap_shrinks() -> None:
    model = TrafficModel(cap=10)
    model.add_events([sent_q(bytes([i])) for i in range(10)])
    model.set_cap(4)
    assert model.rowCount() == 4 and model.raw(0)["tid"] == "06"
    with pytest.raises(ValueError):
        model.set_cap(0)


def test_filters() -> None:
    model = TrafficModel()
    model.add_events([sent_q(b"aa"), recv_r(b"aa"), recv_q(b"bb"), sent_e(b"bb"),
                      sent_q(b"cc", peer=OTHER, method="get_value"),
                      RequestTimedOut(5.0, OTHER, "get_value", b"cc")])
    proxy = TrafficFilterModel()
    proxy.setSourceModel(model)
    assert proxy.rowCount() == 5
    proxy.set_direction("out")
    assert proxy.rowCount() == 3
    proxy.set_method("get_value")
    assert proxy.rowCount() == 1 and proxy.source_rows() == [4]
    proxy.set_method("")
    proxy.set_direction("")
    proxy.set_state("timeout")
    assert proxy.source_rows() == [4]
    proxy.set_state("error")
    assert proxy.source_rows() == [2, 3]
    proxy.set_state("")
    proxy.set_peer_text("10.0.0")
    assert proxy.source_rows() == [2, 3, 4]
    assert proxy.is_filtering()
    # rows arriving later are filtered too
    model.add_events([sent_q(b"dd", peer=OTHER)])
    assert proxy.source_rows() == [2, 3, 4, 5]


def test_export_writes_filtered_rows(tmp_path) -> None:
    model = TrafficModel()
    node = b"\x11" * 20 + socket.inet_aton("127.0.0.1") + struct.pack("!H", 4000)
    reply = DatagramReceived(1.2, PEER, "r", "find_node", b"aa", 80,
                             {b"t": b"aa", b"y": b"r", b"r": {b"id": b"\xff" * 20, b"nodes": node}}, rtt=0.2)
    model.add_events([sent_q(b"aa", method="find_node"), reply, recv_q(b"bb")])
    proxy = TrafficFilterModel()
    proxy.setSourceModel(model)
    proxy.set_peer_text("4001")
    path = tmp_path / "traffic.jsonl"
    assert export_rows(path, model, proxy) == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["direction"] for r in lines] == ["out", "in"]
    assert lines[0]["status"] == "ok" and lines[0]["rtt"] == 0.2 and lines[0]["tid"] == "6161"
    assert lines[1]["message"]["r"]["id"] == "0x" + "ff" * 20
    assert export_rows(tmp_path / "all.jsonl", model) == 3
    assert write_jsonl(tmp_path / "none.jsonl", []) == 0


def test_a_query_sent_again_leaves_its_first_row_marked_and_pairs_the_answer_with_the_last() -> None:
    model = TrafficModel()
    model.add_events([sent_q(b"dd", t=1.0)])
    model.add_events([sent_q(b"dd", t=1.05), recv_r(b"dd", rtt=0.08)])
    assert statuses(model) == ["sent again", "ok", "ok"]
