"""Network conditions in a lab: delay, loss and churn (dht.lab.conditions and dht.Lab)."""

from __future__ import annotations

import math
import os
import statistics
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dhtutil import run, wait_until

from dht.node import core_of
from dht import Config, Lab, Node
from dht.lab.conditions import (
    PUBLIC_MAX_MS, PUBLIC_MIN_MS, PUBLIC_RTT_MEDIAN_MS, PUBLIC_RTT_P90_MS, ChurnPlan, ConditionedTransport,
    Conditions, LinkModel, NodeDelays, public_delay_ms,
)
from dht.errors import LocalError
from dht.events import (
    ContactFailed, ContactRemoved, DatagramReceived, Event, LabConditionsChanged, LabNodeChanged, LabProgress,
    LookupAnswered, RequestTimedOut,
)

QUICK = Config(KRPC_TIMEOUT=0.5, SOFT_TIMEOUT_MIN=0.05, SOFT_TIMEOUT_MAX=0.2)


# --- the sans-IO decisions ------------------------------------------------------------

def test_conditions_are_checked_when_made() -> None:
    for bad in ({"loss": 1.5}, {"loss": -0.1}, {"latency_ms": -1}, {"jitter_ms": float("nan")},
                {"churn_per_min": 1e9}, {"latency_ms": "10"}):
        with pytest.raises(LocalError):
            Conditions(**bad)  # type: ignore[arg-type]
    assert Conditions().perfect and not Conditions(loss=0.1).perfect
    assert Conditions(latency_ms=50, jitter_ms=10, loss=0.05, churn_per_min=2).describe() == (
        "latency 50 ms + up to 10 ms, loss 5 %, churn 2/min"
    )


def test_link_model_loses_the_given_fraction_and_delays_within_latency_plus_jitter() -> None:
    model = LinkModel(Conditions(loss=0.3), random.Random(1))
    fates = [model.decide() for _ in range(10_000)]
    lost = fates.count(None)
    assert 2_700 < lost < 3_300 and model.lost == lost and model.sent == 10_000 - lost
    assert all(f == 0.0 for f in fates if f is not None)

    model.conditions = Conditions(latency_ms=50, jitter_ms=20)
    delays = [model.decide() for _ in range(2_000)]
    assert all(d is not None and 0.05 <= d <= 0.07 for d in delays)
    assert max(d for d in delays if d is not None) - min(d for d in delays if d is not None) > 0.015

    model.conditions = Conditions(loss=1.0)
    assert all(model.decide() is None for _ in range(100))

    # Seeded: the same decisions every time.
    a, b = LinkModel(Conditions(loss=0.5, latency_ms=5, jitter_ms=5), random.Random(9)), \
        LinkModel(Conditions(loss=0.5, latency_ms=5, jitter_ms=5), random.Random(9))
    assert [a.decide() for _ in range(200)] == [b.decide() for _ in range(200)]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def test_public_delays_follow_the_measured_median_and_tail() -> None:
    rng = random.Random(11)
    delays = [public_delay_ms(rng) for _ in range(20_000)]
    assert abs(quantile(delays, 0.5) / PUBLIC_RTT_MEDIAN_MS - 1) < 0.05
    assert abs(quantile(delays, 0.9) / PUBLIC_RTT_P90_MS - 1) < 0.08
    # Heavy-tailed: a few nodes are seconds away, a few are very close; none past the bounds.
    assert quantile(delays, 0.99) > 2_500 and quantile(delays, 0.01) < 20
    assert PUBLIC_MIN_MS <= min(delays) and max(delays) <= PUBLIC_MAX_MS


def test_each_node_keeps_its_own_delay_whatever_the_order_it_is_asked_in() -> None:
    a, b = NodeDelays(seed=5), NodeDelays(seed=5)
    forward = [a.one_way(n) for n in range(200)]
    backward = [b.one_way(n) for n in reversed(range(200))][::-1]
    assert forward == backward and a.one_way(7) == forward[7]  # drawn once, kept
    assert len(set(forward)) == 200  # each its own
    assert [NodeDelays(seed=6).one_way(n) for n in range(200)] != forward
    assert abs(statistics.median(forward) * 1000 / PUBLIC_RTT_MEDIAN_MS - 1) < 0.3


def test_the_public_preset_delays_each_node_by_its_own_base_plus_jitter_and_loses_on_top() -> None:
    delays = NodeDelays(seed=1)
    model = LinkModel(Conditions.public(loss=0.2, jitter_ms=20), random.Random(2), delays)
    for node in (0, 1, 2):
        base = delays.one_way(node)
        fates = [model.decide(node) for _ in range(2_000)]
        kept = [f for f in fates if f is not None]
        assert 0.16 < 1 - len(kept) / len(fates) < 0.24
        assert all(base <= f <= base + 0.02 for f in kept)
        assert max(kept) - min(kept) > 0.015
    model.conditions = Conditions.public(jitter_ms=0)
    assert model.decide(None) == 0.0  # not a lab node: no base delay
    assert model.decide(3) == delays.one_way(3) > 0
    assert not Conditions.public(jitter_ms=0).perfect
    assert Conditions.public(loss=0.05).describe() == (
        f"public Internet latency (median {PUBLIC_RTT_MEDIAN_MS:g} ms, p90 {PUBLIC_RTT_P90_MS:g} ms) "
        "+ up to 20 ms, loss 5 %, churn 0/min"
    )
    with pytest.raises(LocalError):
        Conditions(latency_ms=50, preset="public")  # each node's latency is drawn
    with pytest.raises(LocalError):
        Conditions(preset="lunar")


def test_churn_plan_kills_at_its_rate_and_revives_after_a_downtime_on_a_fake_clock() -> None:
    plan = ChurnPlan(rng=random.Random(3), mean_downtime=10.0)
    assert plan.due(1000.0) == [] and plan.next_time() == math.inf
    plan.set_rate(60.0, now=0.0)  # one a second on average
    kills = 0
    revives: list[int] = []
    killed_at: dict[int, float] = {}
    for tick in range(1, 601):  # ten minutes, one call a second
        now = float(tick)
        for action in plan.due(now):
            if action.kind == "kill":
                kills += 1
                plan.killed(action.key, now)
                killed_at[action.key] = now
            else:
                assert action.key in killed_at and now >= killed_at[action.key]
                revives.append(action.key)
    assert 520 < kills < 680
    assert len(set(revives)) == len(revives) and len(revives) > 0.9 * kills
    # About rate x downtime nodes are down at any time.
    assert 3 <= len(plan.downs) <= 25
    plan.set_rate(0.0, now=600.0)
    assert plan.next_kill == math.inf
    left = set(plan.downs)
    actions = plan.due(600.0 + 1000.0)
    assert {a.key for a in actions} == left and all(a.kind == "revive" for a in actions)
    with pytest.raises(LocalError):
        plan.set_rate(-1.0, 0.0)


# --- in a lab, over real sockets -------------------------------------------------------

def watch(node: Node) -> list[Event]:
    seen: list[Event] = []
    node.subscribe(seen.append)
    return seen


def test_total_loss_makes_every_query_to_the_lab_time_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = Lab(8, QUICK, seed=1)
        await lab.start()
        ours = Node(QUICK, host="127.0.0.1", data_dir=tmp_path / "ours")
        await ours.start()
        try:
            await ours.bootstrap([lab.bootstrap_address])
            assert len(core_of(ours).table) >= 4
            lab_events: list[Event] = []
            lab.subscribe(lab_events.append)
            lab.set_conditions(Conditions(loss=1.0))
            assert lab.conditions.loss == 1.0
            assert [e for e in lab_events if isinstance(e, LabConditionsChanged)][-1].loss == 1.0
            seen = watch(ours)
            before = ours.stats().methods["find_node"]
            await ours.find_node(os.urandom(20))  # widens at each soft timeout, waits for each full one
            await wait_until(lambda: not core_of(ours).transport.outstanding.pending, 5, "the lookup's queries to expire")
            after = ours.stats().methods["find_node"]
            sent = after.sent - before.sent
            assert sent >= 4
            assert after.answered == before.answered  # not one answer
            assert after.failed - before.failed == sent  # every query timed out
            answers = [e for e in seen if isinstance(e, LookupAnswered) and e.contact.id != ours.id]
            assert {e.outcome for e in answers} == {"slow", "timeout"}
            last = {e.contact.id: e.outcome for e in answers}  # each went slow, then timed out
            assert set(last.values()) == {"timeout"}
            assert len([e for e in seen if isinstance(e, RequestTimedOut)]) == sent
            assert any(isinstance(e, ContactFailed) for e in seen)  # failed contacts in our table
            assert lab.link.lost >= sent  # the answers were lost inside the lab
            # Back to a perfect network: answers again.
            lab.set_conditions(Conditions())
            assert await ours.ping(*lab.bootstrap_address) == lab.nodes[0].id
        finally:
            await ours.stop()
            await lab.stop()

    run(scenario())


def test_latency_shows_in_measured_round_trip_times(tmp_path: Path) -> None:
    latency = 0.08

    async def scenario() -> None:
        lab = Lab(6, QUICK.replace(KRPC_TIMEOUT=2.0), seed=2)
        await lab.start()
        ours = Node(QUICK.replace(KRPC_TIMEOUT=2.0), host="127.0.0.1", data_dir=tmp_path / "ours")
        await ours.start()
        try:
            lab.set_conditions(Conditions(latency_ms=latency * 1000, jitter_ms=20))
            seen = watch(ours)
            for node in lab.nodes:
                await ours.ping(*node.address)
            rtts = [e.rtt for e in seen if isinstance(e, DatagramReceived) and e.rtt is not None]
            assert len(rtts) == len(lab.nodes)
            assert min(rtts) >= latency  # the answers were held back
            # Between two lab nodes both directions are delayed.
            a, b = lab.nodes[1], lab.nodes[2]
            inner = watch(a)
            await a.ping(*b.address)
            [rtt] = [e.rtt for e in inner if isinstance(e, DatagramReceived) and e.rtt is not None]
            assert rtt >= 2 * latency
            assert isinstance(core_of(a).transport.transport, ConditionedTransport)
            assert lab.link.delayed >= len(lab.nodes) + 2
        finally:
            await ours.stop()
            await lab.stop()

    run(scenario())


def test_churn_kills_and_revives_nodes_on_their_data_dirs_with_a_fake_clock() -> None:
    async def scenario() -> None:
        lab = Lab(10, QUICK, seed=4)
        await lab.start()
        try:
            changes: list[LabNodeChanged] = []
            lab.subscribe(lambda e: changes.append(e) if isinstance(e, LabNodeChanged) else None)
            by_id = {n.id: (n.address, n.data_dir) for n in lab.nodes}
            first = lab.nodes[0]
            lab.churn.rng = random.Random(5)
            lab.churn.mean_downtime = 30.0
            lab.churn.set_rate(12.0, now=0.0)  # no churn task: the test is the clock
            done = await lab.apply_churn(30.0)
            kills = [n for kind, n in done if kind == "kill"]
            assert 1 <= len(kills) <= 9 and first.running
            assert all(not n.running and n in lab.dead and n not in lab.nodes for n in kills)
            assert [c.contact.id for c in changes] == [n.id for kind, n in done]
            assert all(c.by_churn for c in changes)
            lab.churn.set_rate(0.0, now=30.0)
            done = await lab.apply_churn(10_000.0)
            revived = [n for kind, n in done if kind == "revive"]
            assert {n.id for n in revived} == {n.id for n in kills if n in revived} and revived
            assert not lab.dead and len(lab.nodes) == 10
            for node in revived:
                # Same id, same data directory, same address; it answers again.
                assert node.running and by_id[node.id] == (node.address, node.data_dir)
                assert await first.ping(*node.address) == node.id
                assert isinstance(core_of(node).transport.transport, ConditionedTransport)
        finally:
            await lab.stop()

    run(scenario())


def test_a_killed_node_fails_in_tables_and_comes_back_when_revived() -> None:
    async def scenario() -> None:
        lab = Lab(8, QUICK, seed=6)
        await lab.start()
        try:
            victim = lab.nodes[3]
            holders = [n for n in lab.nodes if n is not victim and core_of(n).table.get(victim.id) is not None]
            assert holders
            asker = holders[0]
            seen = watch(asker)
            killed = await lab.kill_node(victim)
            assert killed is victim and lab.dead == [victim] and not victim.running
            with pytest.raises(LocalError):
                await lab.kill_node(victim)  # not running
            await asker.find_node(victim.id)
            await wait_until(lambda: not core_of(asker).transport.outstanding.pending, 5, "the queries to the dead node to expire")
            # Its port is closed: ICMP says so and it leaves the table at once (silent, it would fail).
            assert any(isinstance(e, (ContactFailed, ContactRemoved)) and e.contact.id == victim.id for e in seen)
            entry = core_of(asker).table.get(victim.id)
            assert entry is None or entry.failures >= 1
            assert lab.node_by_id(victim.id) is victim
            await lab.revive_node()
            assert victim.running and victim in lab.nodes and not lab.dead
            assert await asker.ping(*victim.address) == victim.id
            with pytest.raises(LocalError):
                await lab.revive_node()  # nobody is dead
            with pytest.raises(LocalError):
                lab.node_by_id(bytes(20))
        finally:
            await lab.stop()

    run(scenario())


def test_churn_runs_as_a_task_once_set_and_stops_with_the_lab() -> None:
    async def scenario() -> None:
        lab = Lab(3, QUICK, conditions=Conditions(churn_per_min=1.0), seed=7)
        progress: list[LabProgress] = []
        lab.subscribe(lambda e: progress.append(e) if isinstance(e, LabProgress) else None)
        await lab.start()
        task = lab.churner.task
        assert task is not None and not task.done()
        assert progress[-1].stage == "formed" and progress[-1].done == progress[-1].total == 3
        assert [p.done for p in progress if p.stage == "starting"][-1] == 3
        await lab.stop()
        assert task.done() and lab.churner.task is None

    run(scenario())


def test_swarm_refuses_bad_conditions_in_one_line() -> None:
    for args in (["--loss", "1.5"], ["--latency", "-3"], ["--churn", "lots"], ["--jitter", "nan"],
                 ["--conditions", "lunar"], ["--conditions", "public", "--latency", "30"]):
        result = subprocess.run(
            [sys.executable, "-m", "dht", "swarm", "--nodes", "2", *args],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert args[0] in lines[0]


def test_swarm_runs_with_the_conditions_it_was_given(tmp_path: Path) -> None:
    from ..cli.test_cli import Running, dht

    proc = Running("swarm", "--nodes", "4", "--latency", "30", "--jitter", "5", "--seed", "3",
                   "--data-dir", str(tmp_path))
    try:
        line = proc.first_line()
        match = re.fullmatch(r"swarm of 4 nodes, bootstrap (127\.0\.\d+\.\d+):(\d+) "
                             r"\(latency 30 ms \+ up to 5 ms, loss 0 %, churn 0/min\)", line)
        assert match, line
        pong = dht("ping", f"{match.group(1)}:{match.group(2)}", "--timeout", "5")
        assert pong.returncode == 0, pong.stderr  # answered, 30-35 ms late
        status, err = proc.stop()
        assert status == 0 and "Traceback" not in err, err
    finally:
        proc.kill()


def test_under_the_public_preset_each_lab_node_answers_after_its_own_delay(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = QUICK.replace(KRPC_TIMEOUT=3.0)
        # Given to the constructor: the lab forms on a perfect network, then the preset applies.
        lab = Lab(5, config, conditions=Conditions.public(jitter_ms=0), seed=9)
        lab_events: list[Event] = []
        lab.subscribe(lab_events.append)
        await lab.start()
        ours = Node(config, host="127.0.0.1", data_dir=tmp_path / "ours")
        await ours.start()
        try:
            delays = [lab.one_way_delay(n) for n in lab.nodes]
            assert len(set(delays)) == 5 and max(delays) > 3 * min(delays)  # seed 9: 6 ms to 325 ms
            seen = watch(ours)
            for node in lab.nodes:
                await ours.ping(*node.address)
            rtts = [e.rtt for e in seen if isinstance(e, DatagramReceived) and e.rtt is not None]
            assert len(rtts) == 5
            assert all(rtt >= delay for rtt, delay in zip(rtts, delays))
            # Between two lab nodes a round trip carries both nodes' delays.
            a, b = lab.nodes[2], lab.nodes[4]
            inner = watch(a)
            await a.ping(*b.address)
            [rtt] = [e.rtt for e in inner if isinstance(e, DatagramReceived) and e.rtt is not None]
            assert rtt >= delays[2] + delays[4]
            # A node keeps its delay when the conditions change and come back.
            lab.set_conditions(Conditions(loss=0.1))
            assert lab.one_way_delay(lab.nodes[2]) == 0.0
            lab.set_conditions(Conditions.public(loss=0.05))
            assert lab.one_way_delay(lab.nodes[2]) == delays[2]
            changed = [e for e in lab_events if isinstance(e, LabConditionsChanged)]
            assert [(e.preset, e.loss) for e in changed] == [("flat", 0.1), ("public", 0.05)]
        finally:
            await ours.stop()
            await lab.stop()

    run(scenario())


def test_swarm_runs_with_the_public_preset_and_a_one_shot_pings_through_it(tmp_path: Path) -> None:
    from ..cli.test_cli import Running, dht

    proc = Running("swarm", "--nodes", "6", "--conditions", "public", "--loss", "0.05", "--seed", "9",
                   "--data-dir", str(tmp_path))
    try:
        line = proc.first_line()
        match = re.fullmatch(r"swarm of 6 nodes, bootstrap (127\.0\.\d+\.\d+):(\d+) \(public Internet latency "
                             r"\(median 200 ms, p90 1000 ms\) \+ up to 20 ms, loss 5 %, churn 0/min\)", line)
        assert match, line
        boot = f"{match.group(1)}:{match.group(2)}"
        pong = dht("ping", boot, "--timeout", "5")
        assert pong.returncode == 0, pong.stderr
        status, err = proc.stop()
        assert status == 0 and "Traceback" not in err, err
    finally:
        proc.kill()
