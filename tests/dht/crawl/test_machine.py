"""The crawl machine on a simulated network, with a fake clock: what it asks, within its budget, and what it finds."""

from __future__ import annotations

import random

from dht import CrawlSpec
from dht.crawl import CrawlMachine
from dht.crawl.machine import ATTEMPTS, ENTRY_PARALLEL, MAX_IN_FLIGHT
from dht.crawl.pacing import BURST
from dht.crawl.records import EMPTY_RUN

from .simnet import SimNet, run

OWN = bytes(20)


def machine_for(net: SimNet, spec: CrawlSpec, budget: float = 0.0, seeds: int = 1) -> CrawlMachine:
    m = CrawlMachine(spec, OWN, [], budget, 0.0, checks_ids=True, rng=random.Random(7))
    m.seed([net.contact(i) for i in net.ids[:seeds]], 0.0)
    return m


def test_a_full_crawl_finds_every_node_and_hears_every_one_that_answers() -> None:
    net = SimNet(300, seed=1)
    m = machine_for(net, CrawlSpec("full"))
    run(m, net)
    census = m.census(100.0)
    assert {n.id for n in census.nodes} == set(net.ids)
    assert all(n.answered for n in census.nodes)
    assert census.answered_share == 1.0
    assert census.estimate is not None and round(census.estimate) == 300
    assert census.clients == {"LT": 300}
    assert census.suspicions == ()
    # one query per bucket, and a node's run of empty buckets is short
    assert m.asked < 300 * 20


def test_bucket_targets_share_i_bits_with_the_node_and_differ_at_bit_i() -> None:
    net = SimNet(50, seed=2)
    m = machine_for(net, CrawlSpec("full"))
    seen: list[tuple[int, bytes, bytes]] = []
    for _ in range(40):
        for ask in m.next_queries(0.0):
            if ask.bucket >= 0 and ask.node_id is not None:
                seen.append((ask.bucket, ask.node_id, ask.target))
            answer = net.answer(ask)
            assert answer is not None
            m.answered(ask.key, answer, 0.0)
    assert len(seen) > 50
    for bucket, node_id, target in seen:
        shared = 160 - (int.from_bytes(node_id, "big") ^ int.from_bytes(target, "big")).bit_length()
        assert shared == bucket


def test_the_budget_caps_the_queries_a_second() -> None:
    net = SimNet(200, seed=3)
    m = machine_for(net, CrawlSpec("full"), budget=10.0, seeds=20)
    end = run(m, net, until=5.0)
    assert end >= 5.0 and not m.done
    assert m.asked <= BURST + 10 * 5 + 1
    assert m.asked >= 10 * 5  # it used its budget


def test_queries_out_at_once_are_capped() -> None:
    net = SimNet(400, seed=4)
    m = machine_for(net, CrawlSpec("full"), seeds=200)
    assert len(m.next_queries(0.0)) == MAX_IN_FLIGHT
    assert m.next_queries(0.0) == []


def test_silent_nodes_are_found_listed_asked_twice_then_given_up() -> None:
    net = SimNet(200, seed=5, silent=0.2)
    m = machine_for(net, CrawlSpec("full"))
    run(m, net)
    census = m.census(0.0)
    by_id = {n.id: n for n in census.nodes}
    assert set(by_id) == set(net.ids)
    assert {i for i, n in by_id.items() if not n.answered} == net.silent
    assert all(by_id[i].listed_by for i in net.silent)
    assert abs(census.answered_share - 0.8) < 0.01
    # each silent node was asked ATTEMPTS times, once per attempt: no more
    assert m.asked < 200 * 20 + len(net.silent) * ATTEMPTS


def test_stop_keeps_what_was_found_and_asks_nothing_more() -> None:
    net = SimNet(300, seed=6)
    m = machine_for(net, CrawlSpec("full"))
    run(m, net, until=0.5)
    found = m.found()
    assert 0 < found < 300 and not m.done
    m.stop(0.5)
    assert m.done and m.next_queries(1.0) == []
    census = m.census(2.0)
    assert len(census.nodes) == found and census.finished == 0.5


def test_a_zone_crawl_finds_the_zone_and_estimates_the_size() -> None:
    net = SimNet(600, seed=7)
    prefix = net.ids[10]
    m = machine_for(net, CrawlSpec("zone", zone_bits=2, zone_prefix=prefix))
    run(m, net)
    census = m.census(0.0)
    zone = {i for i in net.ids if i[0] >> 6 == prefix[0] >> 6}
    assert {n.id for n in census.nodes if n.id[0] >> 6 == prefix[0] >> 6} == zone
    assert census.in_zone == len(zone)
    assert census.estimate == len(zone) * 4 or abs(census.estimate - len(zone) * 4) < 1e-3
    assert census.low is not None and census.high is not None and census.low < 600 < census.high
    # outside the zone, only a way in was asked: nodes outside answered few queries
    outside_answered = [n for n in census.nodes if n.answered and n.id not in zone]
    assert len(outside_answered) <= 10


def test_a_table_crawl_asks_only_that_node_bucket_by_bucket_and_stops_after_empty_buckets() -> None:
    net = SimNet(300, seed=8)
    node = net.ids[5]
    m = CrawlMachine(CrawlSpec("table", table=net.address[node]), OWN, [], 0.0, 0.0, rng=random.Random(1))
    asked: set[tuple[str, int]] = set()
    buckets: list[int] = []
    now = 0.0
    while not m.done:
        for ask in m.next_queries(now):
            asked.add(ask.address)
            buckets.append(ask.bucket)
            answer = net.answer(ask)
            assert answer is not None
            m.answered(ask.key, answer, now)
        now += 0.1
    assert asked == {net.address[node]}
    census = m.census(now)
    assert set(n.id for n in census.nodes) - {node} == set(net.tables[node])
    deepest = max(160 - (int.from_bytes(i, "big") ^ int.from_bytes(node, "big")).bit_length() for i in net.tables[node])
    assert max(buckets) <= deepest + EMPTY_RUN + 4  # a few past the last bucket, never all 160
    assert census.estimate is not None and 100 < census.estimate < 900


def test_expired_queries_free_their_place_and_late_answers_are_ignored() -> None:
    net = SimNet(100, seed=9)
    m = machine_for(net, CrawlSpec("full"))
    (ask,) = m.next_queries(0.0)
    assert m.next_time(0.0) == m.timeout
    assert m.expire(m.timeout) == [ask.key]
    answer = net.answer(ask)
    assert answer is not None
    m.answered(ask.key, answer, m.timeout + 0.1)  # late: ignored
    assert m.answered_nodes() == 0
    (again,) = m.next_queries(m.timeout)
    assert again.address == ask.address and again.bucket == ask.bucket


def test_a_zone_crawl_seeded_outside_its_zone_looks_for_a_way_in_a_few_queries_at_a_time() -> None:
    net = SimNet(600, seed=10)
    prefix = bytes([0x80])
    outside = [i for i in net.ids if i[0] < 0x80][:60]
    m = CrawlMachine(CrawlSpec("zone", zone_bits=1, zone_prefix=prefix), OWN, [], 0.0, 0.0, rng=random.Random(3))
    m.seed([net.contact(i) for i in outside], 0.0)
    first = m.next_queries(0.0)
    assert len(first) == ENTRY_PARALLEL and all(a.node_id in outside for a in first)
    run(m, net)
    census = m.census(0.0)
    zone = {i for i in net.ids if i[0] >= 0x80}
    assert {n.id for n in census.nodes} >= zone
    assert sum(1 for n in census.nodes if n.answered and n.id not in zone) <= 10
