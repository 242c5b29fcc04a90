"""The outgoing query budget: the sans-IO token bucket on a fake clock, then a node waiting for it."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from dhtutil import run, running_nodes, wait_until

from dht import Config
from dht.core.budget import QueryBudget
from dht.errors import ConfigError, LocalError, NodeStopped


def test_a_burst_goes_at_once_then_the_rest_waits_in_order() -> None:
    budget: QueryBudget[str] = QueryBudget(2.0, 3, now=100.0)
    assert [budget.submit(q, 100.0) for q in "abcde"] == [True, True, True, False, False]
    assert (budget.waiting, budget.delayed) == (2, 2)
    assert budget.next_time(100.0) == pytest.approx(100.5)  # one token every 0.5 s
    assert budget.ready(100.4) == []
    assert budget.ready(100.5) == ["d"]
    assert budget.next_time(100.5) == pytest.approx(101.0)
    assert budget.submit("f", 100.7) is False  # a token may be near, but "e" came first
    assert budget.ready(101.0) == ["e"]
    assert budget.ready(101.5) == ["f"]
    assert budget.next_time(101.5) is None and budget.waiting == 0 and budget.delayed == 3


def test_a_discarded_query_never_goes_and_takes_no_token() -> None:
    budget: QueryBudget[str] = QueryBudget(1.0, 1, now=0.0)
    assert budget.submit("a", 0.0)
    assert not budget.submit("b", 0.0) and not budget.submit("c", 0.0)
    budget.discard("b")
    budget.discard("never submitted")  # nothing
    assert budget.waiting == 1
    assert budget.ready(1.0) == ["c"]  # the token "b" would have taken goes to "c"
    assert budget.ready(50.0) == []


def test_over_any_window_at_most_burst_plus_rate_times_t_go() -> None:
    rng = random.Random(7)
    rate, burst = 5.0, 4
    budget: QueryBudget[int] = QueryBudget(rate, burst, now=0.0)
    sent: list[float] = []
    now = 0.0
    for q in range(400):
        now += rng.expovariate(20.0)  # asked four times faster than allowed
        sent.extend(now for _ in budget.ready(now))
        if budget.submit(q, now):
            sent.append(now)
    for i, start in enumerate(sent):
        within = [t for t in sent[i:] if t - start <= 3.0]
        assert len(within) <= burst + rate * 3.0 + 1e-9
    assert len(sent) >= rate * now * 0.9  # and it does not hold back more than it must


def test_rate_zero_is_no_budget_and_releases_everyone() -> None:
    budget: QueryBudget[int] = QueryBudget(0.0, 20, now=0.0)
    assert all(budget.submit(q, 0.0) for q in range(1000))
    assert budget.delayed == 0
    budget.configure(1.0, 1, now=0.0)
    assert budget.submit(1, 0.0) and not budget.submit(2, 0.0) and not budget.submit(3, 0.0)
    budget.configure(0.0, 1, now=0.0)
    assert budget.next_time(0.0) == 0.0 and budget.ready(0.0) == [2, 3]


def test_a_smaller_burst_drops_the_tokens_beyond_it() -> None:
    budget: QueryBudget[int] = QueryBudget(1.0, 10, now=0.0)
    budget.configure(1.0, 2, now=0.0)
    assert [budget.submit(q, 0.0) for q in range(3)] == [True, True, False]


@pytest.mark.parametrize("rate, burst", [(-1.0, 5), (float("nan"), 5), (float("inf"), 5), (1.0, 0), (1.0, 2.5)])
def test_bad_budgets_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(LocalError, match="query (budget|burst)"):
        QueryBudget(rate, burst, now=0.0)


def test_config_checks_the_budget() -> None:
    assert (Config().QUERY_BUDGET, Config().QUERY_BUDGET_BURST) == (0.0, 20)
    with pytest.raises(ConfigError, match="QUERY_BUDGET"):
        Config(QUERY_BUDGET=-1.0)
    with pytest.raises(ConfigError, match="QUERY_BUDGET_BURST"):
        Config(QUERY_BUDGET_BURST=0)


def test_a_node_over_budget_holds_queries_and_a_cancelled_one_is_never_sent(tmp_path: Path) -> None:
    # 0.001 queries a second: within the test nothing waiting goes by time alone.
    config = Config(KRPC_TIMEOUT=2.0, QUERY_BUDGET=0.001, QUERY_BUDGET_BURST=2)

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, config) as (a, b):
            pings = [asyncio.ensure_future(a.ping(*b.contact.address)) for _ in range(5)]
            await asyncio.gather(*pings[:2])  # the burst went at once
            snap = a.stats()
            assert (snap.query_budget, snap.queries_waiting, snap.queries_delayed) == (0.001, 3, 3)
            assert not any(p.done() for p in pings[2:])
            pings[2].cancel()
            await asyncio.sleep(0)  # the cancellation's callbacks run
            assert a.stats().queries_waiting == 2
            with pytest.raises(LocalError, match="budget"):
                a.set_query_budget(-1.0)
            a.set_query_budget(0.0)  # no budget: the two left go now
            assert await asyncio.gather(*pings[3:]) == [b.id, b.id]
            snap = a.stats()
            assert (snap.query_budget, snap.queries_waiting, snap.queries_delayed) == (0.0, 0, 3)
            assert b.stats().methods["ping"].received == 4  # never the cancelled one
            assert a.stats().methods["ping"].sent == 4

    run(scenario())


def test_held_queries_fail_when_the_node_stops(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=2.0, QUERY_BUDGET=0.001, QUERY_BUDGET_BURST=1)

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, config) as (a, b):
            first = asyncio.ensure_future(a.ping(*b.contact.address))
            held = asyncio.ensure_future(a.ping(*b.contact.address))
            assert await first == b.id
            assert not held.done() and a.stats().queries_waiting == 1
            await a.stop()
            with pytest.raises(NodeStopped):
                await held

    run(scenario())


def test_a_budget_set_at_run_time_paces_a_lookup(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 6, Config(KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)) as nodes:
            hub = nodes[0]
            for n in nodes[1:]:
                await n.join(*hub.contact.address)
            asker = nodes[1]
            asker.set_query_budget(1000.0, burst=1)  # fast, but one at a time: lookups wait, never fail
            found = await asker.find_node(nodes[3].id)
            assert nodes[3].id in [c.id for c in found]
            snap = asker.stats()
            assert snap.query_budget == 1000.0 and snap.queries_delayed > 0 and snap.queries_waiting == 0

    run(scenario())


def test_a_cancelled_lookup_takes_its_held_queries_with_it(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)

    async def scenario() -> None:
        async with running_nodes(tmp_path, 5, config) as nodes:
            asker = nodes[0]
            for n in nodes[1:]:
                await asker.ping(*n.contact.address)  # four answered contacts
            asker.set_query_budget(0.001, burst=1)
            sent = asker.stats().methods["find_node"].sent
            lookup = asyncio.ensure_future(asker.find_node(nodes[2].id))
            # CONCURRENT_REQS 4: one goes, three wait
            await wait_until(lambda: asker.stats().queries_waiting == 3, what="three held queries")
            lookup.cancel()
            with pytest.raises(asyncio.CancelledError):
                await lookup
            await asyncio.sleep(0)  # the cancellations' callbacks run
            assert asker.stats().queries_waiting == 0
            asker.set_query_budget(0.0)
            assert asker.stats().methods["find_node"].sent == sent + 1  # never the three held

    run(scenario())
