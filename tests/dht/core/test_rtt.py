"""Round-trip estimates and the soft timeouts they give: per contact, for the node, as
conditions change (sans-IO, fed samples), and on a node's request path."""

from __future__ import annotations

from pathlib import Path

import pytest

from dhtutil import run, running_nodes

from dht import Config, Contact
from dht.node import core_of
from dht.core.routing import RoutingTable
from dht.core.rtt import RttEstimator, smooth, soft_timeout

LO, HI = 0.05, 2.0


def test_the_first_sample_sets_the_mean_and_half_of_it_as_the_variance() -> None:
    assert smooth(None, 0.0, 0.2) == (0.2, 0.1)
    srtt, rttvar = smooth(0.2, 0.1, 0.6)
    assert srtt == pytest.approx(0.75 * 0.2 + 0.25 * 0.6)
    assert rttvar == pytest.approx(0.75 * 0.1 + 0.25 * 0.4)
    assert soft_timeout(0.1, 0.05, LO, HI) == pytest.approx(0.3)
    assert soft_timeout(0.001, 0.0, LO, HI) == LO and soft_timeout(3.0, 1.0, LO, HI) == HI


def test_the_node_estimate_follows_a_lab_switched_from_1_to_400_ms_round_trips() -> None:
    est = RttEstimator()
    assert est.timeout(LO, HI) == HI  # nothing measured: the most
    for _ in range(50):
        est.sample(0.001)
    assert est.timeout(LO, HI) == LO  # 1 ms round trips: the least
    est.sample(0.4)  # the lab now runs 200 ms each way
    assert est.timeout(LO, HI) > 0.4  # one slow answer lifts it past that answer at once
    for _ in range(20):
        est.sample(0.4)
    assert 0.4 <= est.timeout(LO, HI) < 0.5  # and it settles just above the new round trip


def test_each_contact_in_the_table_keeps_its_own_estimate() -> None:
    table = RoutingTable(bytes(20), k=8)
    near = Contact(bytes([1]) * 20, "127.0.0.2", 1000)
    far = Contact(bytes([2]) * 20, "127.0.0.3", 1000)
    for i in range(10):
        table.insert(near, float(i), contacted=True, rtt=0.02)
        table.insert(far, float(i), contacted=True, rtt=1.2)
    e_near, e_far = table.get(near.id), table.get(far.id)
    assert e_near is not None and e_far is not None
    assert e_near.rtt is not None and e_far.rtt is not None
    assert soft_timeout(e_near.rtt, e_near.rttvar, LO, HI) < 0.1
    assert soft_timeout(e_far.rtt, e_far.rttvar, LO, HI) > 1.2


def test_a_node_judges_a_contact_by_its_own_history_else_by_the_node_estimate(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = Config(SOFT_TIMEOUT_MIN=LO, SOFT_TIMEOUT_MAX=HI)
        async with running_nodes(tmp_path, 2, cfg) as (a, b):
            core = core_of(a)
            assert core.soft_timeout(b.contact) == HI  # no history at all yet
            for _ in range(3):
                await core.request(b.contact, "ping", {b"id": a.id})
            entry = core.table.get(b.id)
            assert entry is not None and entry.rtt is not None  # its answers were timed
            own = soft_timeout(entry.rtt, entry.rttvar, LO, HI)
            # Pretend its history says it is slow: the node's estimate (loopback-fast) differs.
            entry.rtt, entry.rttvar = 0.9, 0.1
            assert core.soft_timeout(b.contact) == pytest.approx(1.3)
            assert core.soft_timeout(Contact(bytes([7]) * 20, "127.0.0.9", 9)) == core.transport.outstanding.rtt.timeout(LO, HI)
            # The same id at another address has no history there.
            moved = Contact(b.id, "127.0.0.9", b.contact.port)
            assert core.soft_timeout(moved) == core.transport.outstanding.rtt.timeout(LO, HI)
            assert own < HI

    run(scenario(), 20)
