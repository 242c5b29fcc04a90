"""Tests of the statistics panel: series, the per-method model, and the panel on a live lab."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dht import MethodStats, StatsSnapshot
from dht import events as ev
from khgui.stats.model import DefenceStatsModel, MethodStatsModel
from khgui.stats.panel import StatsPanel
from khgui.stats.series import Ring, StatsHistory


def Snap(bytes_in: int, bytes_out: int, contacts: int, buckets: int, network_size: int) -> StatsSnapshot:
    """A statistics snapshot with the figures the panel plots (the rest zero)."""
    return StatsSnapshot(methods={}, packets_in=0, packets_out=0, bytes_in=bytes_in, bytes_out=bytes_out,
                         dropped=0, contacts=contacts, buckets=buckets, network_size=network_size,
                         keys=0, values=0, uptime=0.0)


def traffic(n: int, method: str = "ping") -> list[Any]:
    out = []
    for i in range(n):
        out.append(ev.DatagramSent(0.0, ("127.0.0.1", 1), "q", method, b"aa", 50, {}))
        out.append(ev.DatagramReceived(0.0, ("127.0.0.1", 1), "r", method, b"aa", 80, {}, rtt=0.001 * (i + 1)))
    return out


def test_ring_is_bounded() -> None:
    r = Ring(3)
    for v in range(5):
        r.append(v)
    assert list(r.array()) == [2, 3, 4] and r.last() == 4 and len(r) == 3


def test_history_rates_and_histogram() -> None:
    h = StatsHistory(origin=0.0, maxlen=10)
    h.sample(1.0, Snap(0, 0, 1, 1, 2))
    h.add_events(traffic(20))
    h.add_events(traffic(10, "find_node"))
    h.sample(3.0, Snap(2000, 1000, 8, 2, 30))
    assert h.rates[("ping", "out")].last() == 10.0
    assert h.rates[("find_node", "in")].last() == 5.0
    assert h.bytes_in.last() == 1000.0 and h.bytes_out.last() == 500.0
    assert h.methods() == ["find_node", "ping"]
    edges, counts = h.rtt_histogram(bins=10)
    assert len(edges) == 11 and counts.sum() == 30
    for t in range(4, 30):
        h.sample(float(t), None)
    assert len(h) == 10 and all(len(r) == 10 for r in h.rates.values())
    assert np.all(np.diff(h.t.array()) > 0)


def test_method_model_passes_modeltester(qtmodeltester: Any) -> None:
    model = MethodStatsModel()
    model.set_methods({"ping": MethodStats(5, 4, 1, 7, 0, 0.002), "find_node": MethodStats(9, 9, 0, 3, 1, None)})
    qtmodeltester.check(model)
    assert model.index(0, 0).data() == "find_node"
    assert model.index(1, 6).data() == "2.0 ms"
    assert model.index(0, 6).data() == "\u2013"
    assert model.totals()["sent"] == 14
    model.set_methods({})
    qtmodeltester.check(model)


def test_defence_model_passes_modeltester(qtmodeltester: Any) -> None:
    model = DefenceStatsModel()
    qtmodeltester.check(model)
    snap = StatsSnapshot(
        methods={}, packets_in=0, packets_out=0, bytes_in=0, bytes_out=0, dropped=7, contacts=0,
        buckets=1, network_size=1, keys=0, values=0, uptime=0.0,
        drops={"oversize": 3, "blocked": 4}, blocked_peers=2, blocks=5, tracked_peers=9)
    model.set_snapshot(snap)
    qtmodeltester.check(model)
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        "sources blocked now", "blocks since start", "sources tracked", "dropped: oversize", "dropped: blocked"]
    assert model.index(0, 1).data() == "2" and model.count("dropped: blocked") == 4
    model.set_snapshot(None)
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_panel_shows_a_live_nodes_drops(qtbot: Any, live: Any, wait_for: Callable[..., None]) -> None:
    import socket

    controller, bridge = live
    panel = StatsPanel(controller, bridge, interval_ms=50)
    qtbot.addWidget(panel)
    panel.show()
    wait_for(lambda: panel.defences.count("dropped: oversize") == 0, 5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(b"x" * 4000, controller.node.address)  # longer than any KRPC datagram
    wait_for(lambda: panel.defences.count("dropped: oversize") == 1, 5)
    view = panel.defences_table
    rows = [view.model().index(r, 0).data() for r in range(view.model().rowCount())]
    row = rows.index("dropped: oversize")
    assert view.model().index(row, 1).data() == "1" and not view.isRowHidden(row)
    assert view.visualRect(view.model().index(row, 1)).height() > 0


def test_panel_samples_a_live_node(qtbot: Any, live: Any, wait_for: Callable[..., None]) -> None:
    controller, bridge = live
    panel = StatsPanel(controller, bridge, interval_ms=100)
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    wait_for(lambda: panel.has_data() and len(panel.history) >= 3, 5)
    assert panel.methods.rowCount() >= 1
    assert "pkts" in panel.summary.text()
    x, y = panel.plots.contacts.getData()
    assert x is not None and len(x) >= 3 and y[-1] > 0
    assert panel.plots.rate_curves  # one curve per method and direction
    controller.node_changed.emit(None)
    assert not panel.has_data()
