"""Crawls of real labs on loopback, compared with what the lab knows (dht/lab/truth.py)."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path
from typing import Awaitable, Callable

import pytest
from dhtutil import run, wait_until

from dht import Census, Config, CrawlSpec, Lab, LabTruth, Node
from dht.errors import LocalError
from dht.events import CrawlFinished, CrawlProgress, Event

PROFILES = ["khashmir", "mainline"]


async def in_lab(size: int, profile: str, tmp: Path,
                 body: Callable[[Lab, Node, LabTruth], Awaitable[None]], seed: int = 1) -> None:
    config = Config(PROFILE=profile)
    lab = Lab(size, config, seed=seed)
    await lab.start()
    me = Node(config, data_dir=tmp / "me")
    try:
        await me.start()
        await me.bootstrap([lab.bootstrap_address])
        await body(lab, me, LabTruth(lab, random.Random(seed)))
    finally:
        if me.running:
            await me.stop()
        await lab.stop()


@pytest.mark.parametrize("profile", PROFILES)
def test_a_full_crawl_finds_every_live_node_and_knows_the_silent_ones(profile: str, tmp_path: Path) -> None:
    async def body(lab: Lab, me: Node, truth: LabTruth) -> None:
        truth.silence(0.2)
        census = await me.crawl(CrawlSpec("full"))
        by_id = {n.id: n for n in census.nodes}
        assert truth.running() <= set(by_id)
        assert {i for i in truth.running() if by_id[i].answered} == truth.answering()
        assert all(by_id[i].rtt is not None and by_id[i].rtt >= 0 for i in truth.answering())
        assert census.estimate is not None and census.low is not None and census.high is not None
        assert census.low <= len(lab.nodes) <= census.high
        assert census.suspicions == ()  # a clean lab
        if profile == "mainline":  # its answers say their client
            assert sum(census.clients.values()) == len(truth.answering())
        else:
            assert census.clients == {}

    run(in_lab(128, profile, tmp_path, body), timeout=60)


def test_a_zone_crawl_counts_its_zone_exactly_and_its_interval_holds_the_size(tmp_path: Path) -> None:
    async def body(lab: Lab, me: Node, truth: LabTruth) -> None:
        prefix = lab.nodes[5].id
        census = await me.crawl(CrawlSpec("zone", zone_bits=1, zone_prefix=prefix))
        zone = truth.in_zone(1, prefix)
        found = {n.id for n in census.nodes if n.id[0] >> 7 == prefix[0] >> 7}
        assert found == zone and census.in_zone == len(zone)
        assert census.estimate == pytest.approx(2 * len(zone), rel=1e-3)
        assert census.low is not None and census.high is not None
        assert census.low < census.estimate < census.high
        # the interval is the zone's binomial spread: 1.96 sd of 2 * Binomial(N, 1/2)
        assert census.high - census.low == pytest.approx(2 * 1.96 * 2 * (len(zone) * 0.5) ** 0.5, rel=0.05)
        # outside the zone only a way in was asked
        assert sum(1 for n in census.nodes if n.answered and n.id not in zone) <= 10

    run(in_lab(200, "mainline", tmp_path, body), timeout=60)


def test_sybil_clusters_are_found_with_their_evidence(tmp_path: Path) -> None:
    async def body(lab: Lab, me: Node, truth: LabTruth) -> None:
        target = os.urandom(20)
        await truth.add_sybils(30)
        await truth.add_sybils(20, target=target)
        census = await me.crawl(CrawlSpec("full"))
        kinds = {s.kind: s for s in census.suspicions}
        assert set(kinds) == {"horizontal", "vertical"}
        horizontal, vertical = truth.sybils
        # every member; once (of ~20 runs, under load) one id more was listed at the cluster's
        # IP, not yet explained: at most one, and said which
        extra = set(kinds["horizontal"].ids) - horizontal
        by_id = {n.id: n for n in census.nodes}
        assert horizontal <= set(kinds["horizontal"].ids) and len(extra) <= 1, [by_id[i] for i in extra]
        assert "30 ids on one IP address" in kinds["horizontal"].evidence
        assert set(kinds["vertical"].ids) == vertical
        assert kinds["vertical"].target is not None and kinds["vertical"].target[:5] == target[:5]

    run(in_lab(100, "mainline", tmp_path, body), timeout=60)


def test_a_repeat_crawl_says_who_left_and_who_joined(tmp_path: Path) -> None:
    async def body(lab: Lab, me: Node, truth: LabTruth) -> None:
        first = await me.crawl(CrawlSpec("full"))
        killed = await lab.kill_node(lab.nodes[7])
        added = await lab.add_node()

        def handed_out() -> bool:  # a node is listed once it has answered someone (its join's ping)
            return any(c.contact.id == added.id and c.last_seen is not None
                       for n in lab.nodes if n is not added for b in n.routing_table() for c in b.contacts)

        await wait_until(handed_out, 10, "the added node confirmed in a lab node's table")
        second = await me.crawl(CrawlSpec("full"))
        diff = second.compare(first)
        assert [n.id for n in diff.left] == [killed.id]
        assert [n.id for n in diff.joined] == [added.id]
        assert diff.changed == ()

    run(in_lab(64, "khashmir", tmp_path, body), timeout=60)


def test_a_table_crawl_enumerates_one_nodes_table(tmp_path: Path) -> None:
    async def body(lab: Lab, me: Node, truth: LabTruth) -> None:
        node = lab.nodes[9]
        census = await me.crawl(CrawlSpec("table", table=node.address))
        listed = {n.id for n in census.nodes if node.id in n.listed_by}
        held = {c.contact.id for bucket in node.routing_table() for c in bucket.contacts if c.last_seen is not None}
        assert listed <= held and len(listed) >= 0.9 * len(held)
        answered = [n for n in census.nodes if n.answered]
        assert [n.id for n in answered] == [node.id]
        assert census.estimate is not None

    run(in_lab(150, "mainline", tmp_path, body), timeout=60)


def test_start_crawl_reports_progress_and_stop_keeps_what_was_found(tmp_path: Path) -> None:
    async def body(lab: Lab, me: Node, truth: LabTruth) -> None:
        events: list[Event] = []
        finished = asyncio.Event()

        def seen(event: Event) -> None:
            if isinstance(event, (CrawlProgress, CrawlFinished)):
                events.append(event)
            if isinstance(event, CrawlFinished):
                finished.set()

        me.subscribe(seen)
        me.set_query_budget(0)
        crawl_id = me.start_crawl(CrawlSpec("full", budget=300.0))
        while not any(isinstance(e, CrawlProgress) and e.answered >= 5 for e in events):
            await asyncio.sleep(0.05)
        me.stop_crawl(crawl_id)
        await asyncio.wait_for(finished.wait(), 5)
        (end,) = [e for e in events if isinstance(e, CrawlFinished)]
        assert end.crawl_id == crawl_id and end.stopped
        census: Census = end.census
        # within 300 queries a second, far fewer than the lab's 300 nodes answered before the stop
        assert 5 <= census.answered < len(lab.nodes) / 2 and len(census.nodes) >= census.answered
        progress = [e for e in events if isinstance(e, CrawlProgress)]
        assert all(e.crawl_id == crawl_id for e in progress)
        assert [e.found for e in progress] == sorted(e.found for e in progress)
        # at most 4 a second, and the budget held: 300 a second, 20 at once
        span = progress[-1].time - progress[0].time
        assert len(progress) <= 4 * span + 2
        assert census.asked <= 300 * (census.finished - census.started) + 20 + 1
        me.stop_crawl(crawl_id)  # ended: nothing happens
        with pytest.raises(LocalError):
            me.stop_crawl(10**9)
        with pytest.raises(LocalError, match="zone_bits"):
            me.start_crawl(CrawlSpec("zone"))

    run(in_lab(300, "mainline", tmp_path, body), timeout=60)
