"""The local lab: N nodes in one process, and lookups that survive dead nodes."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from dhtutil import STEADY, run, wait_until

from dht import Config, Lab, Node, actions
from dht.errors import LocalError
from dht.events import Event, LookupAnswered, LookupStarted


def test_lab_starts_joined_nodes_and_cleans_up() -> None:
    async def scenario() -> None:
        lab = Lab(6, STEADY)
        data_dir = lab.data_dir
        await lab.start()
        try:
            assert len(lab.nodes) == 6 and all(n.running for n in lab.nodes)
            assert len({n.address for n in lab.nodes}) == 6
            assert all(n.address[0] == "127.0.0.1" and n.address[1] > 0 for n in lab.nodes)
            assert len({n.id for n in lab.nodes}) == 6
            assert lab.bootstrap_address == lab.nodes[0].contact.address
            for n in lab.nodes:
                assert len(n.table) >= 1
                assert n.db_path.parent.parent == data_dir
            # Everyone can reach everyone's values.
            key = os.urandom(20)
            await lab.nodes[2].store_value(key, b"lab value")
            for n in lab.nodes:
                assert await n.get_value(key) == [b"lab value"]

            added = await lab.add_node()
            assert added in lab.nodes and added.running and len(lab.nodes) == 7
            assert len(added.table) >= 1
            assert await added.get_value(key) == [b"lab value"]

            killed = await lab.kill_node()
            assert killed is not lab.nodes[0] and not killed.running and killed not in lab.nodes
            await lab.resize(3)
            assert len(lab.nodes) == 3 and all(n.running for n in lab.nodes)
            await lab.resize(4)
            assert len(lab.nodes) == 4
            nodes = list(lab.nodes)
        finally:
            await lab.stop()
        assert lab.nodes == []
        assert all(not n.running for n in nodes)
        assert not data_dir.exists()
        with pytest.raises(LocalError):
            lab.bootstrap_address

    run(scenario())


def test_lab_keeps_a_given_data_dir(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = Lab(2, Config(KRPC_TIMEOUT=1.0), data_dir=tmp_path)
        await lab.start()
        await lab.stop()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["node-000", "node-001"]

    run(scenario())


def test_lab_arguments_are_checked() -> None:
    with pytest.raises(LocalError):
        Lab(0)

    async def scenario() -> None:
        lab = Lab(1, Config(KRPC_TIMEOUT=1.0))
        await lab.start()
        try:
            with pytest.raises(LocalError):
                await lab.resize(-1)
        finally:
            await lab.stop()
        with pytest.raises(LocalError):
            await lab.kill_node()

    run(scenario())


def test_gets_find_values_quickly_with_a_quarter_of_the_nodes_dead() -> None:
    """Soft timeouts: dead contacts cost a lookup little, far less than KRPC_TIMEOUT."""
    config = Config(KRPC_TIMEOUT=5.0)
    rng = random.Random(99)

    async def scenario() -> None:
        lab = Lab(20, config)
        await lab.start()
        try:
            stored: dict[bytes, tuple[bytes, list[bytes]]] = {}
            for _ in range(5):
                key, value = os.urandom(20), os.urandom(16)
                result = await rng.choice(lab.nodes).store_value(key, value)
                assert len(result.accepted) == 3
                stored[key] = (value, [c.id for c in result.accepted])
            # Kill a quarter of the nodes: one holder of each key where possible
            # (so lookups meet dead contacts right where the values are), the
            # rest at random -- but never the last live holder of a key.
            by_id = {n.id: n for n in lab.nodes}
            doomed: set[bytes] = set()

            def keeps_a_holder(extra: bytes) -> bool:
                dead = doomed | {extra}
                return all(any(h not in dead for h in holders) for _, holders in stored.values())

            for _, holders in stored.values():
                candidates = [
                    h for h in holders
                    if h != lab.nodes[0].id and h not in doomed and keeps_a_holder(h)
                ]
                if candidates and len(doomed) < 5:
                    doomed.add(candidates[0])
            assert doomed
            others = [n.id for n in lab.nodes[1:] if n.id not in doomed]
            rng.shuffle(others)
            for node_id in others:
                if len(doomed) >= 5:
                    break
                if keeps_a_holder(node_id):
                    doomed.add(node_id)
            assert len(doomed) == 5
            for node_id in doomed:
                await lab.kill_node(by_id[node_id])
            assert len(lab.nodes) == 15

            timeouts: list[LookupAnswered] = []

            def watch(event: Event) -> None:
                if isinstance(event, LookupAnswered) and event.outcome == "timeout":
                    timeouts.append(event)

            for n in lab.nodes:
                n.subscribe(watch)
            slowest = 0.0
            for key, (value, _) in stored.items():
                for reader in rng.sample(lab.nodes, 3):
                    start = time.monotonic()
                    values = await reader.get_value(key)
                    slowest = max(slowest, time.monotonic() - start)
                    assert value in values
                    # A find_node runs to the end, so it surely meets the dead holder.
                    start = time.monotonic()
                    closest = await reader.find_node(key)
                    slowest = max(slowest, time.monotonic() - start)
                    assert not {c.id for c in closest} & doomed
            assert slowest < config.KRPC_TIMEOUT / 2, f"a lookup took {slowest:.2f} s"
            # The lookups did meet dead contacts (and moved on from them).
            dead_addresses = {by_id[i].address for i in doomed}
            assert any(e.contact.address in dead_addresses for e in timeouts)
        finally:
            await lab.stop()

    run(scenario(), timeout=60)


def test_lab_background_traffic_runs_until_stopped() -> None:
    async def scenario() -> None:
        lab = Lab(4, Config(KRPC_TIMEOUT=1.0))
        await lab.start()
        try:
            with pytest.raises(LocalError):
                lab.start_traffic(0)
            kinds: list[str] = []

            def watch(event: Event) -> None:
                if isinstance(event, LookupStarted):
                    kinds.append(event.kind)

            for n in lab.nodes:
                n.subscribe(watch)
            lab.start_traffic(per_second=200)
            def busy() -> bool:
                stored = sum(n.stats().values for n in lab.nodes)
                return {"store_value", "find_node"} <= set(kinds) and stored > 0

            await wait_until(busy, timeout=10, what="lab traffic")
            task = lab._traffic
            assert task is not None and not task.done()
            lab.stop_traffic()
            assert lab._traffic is None
            await wait_until(task.done, what="traffic task ends")
            assert task.cancelled()
            lab.start_traffic(per_second=200)  # stop() also stops the traffic
            task = lab._traffic
        finally:
            await lab.stop()
        assert task is not None
        await wait_until(task.done, what="traffic task ends on stop")

    run(scenario())


async def publish_at(publisher: Node, holder: Node, key: bytes, value: bytes) -> None:
    """Store at one chosen node over the wire, as a publisher whose view ends there."""
    answer = await publisher.request(holder.contact, "find_node", {b"id": publisher.id, b"target": key})
    await publisher.request(
        holder.contact, "store_value",
        {b"id": publisher.id, b"key": key, b"value": value, b"token": answer[b"token"]},
    )


def test_two_publishers_on_two_holders_a_get_returns_both_values() -> None:
    """The apt-p2p case: two nodes published under one key, and its two closest
    nodes hold one value each.  Every get, from every other node, returns both."""

    async def scenario() -> None:
        lab = Lab(12, STEADY)
        await lab.start()
        try:
            for _ in range(3):
                key = os.urandom(20)
                by_distance = sorted(
                    lab.nodes, key=lambda n: int.from_bytes(n.id, "big") ^ int.from_bytes(key, "big")
                )
                first, second = by_distance[:2]
                p1, p2 = by_distance[-1], by_distance[-2]
                await publish_at(p1, first, key, b"from publisher 1")
                await publish_at(p2, second, key, b"from publisher 2")
                assert first.store.values(key) == [b"from publisher 1"]
                assert second.store.values(key) == [b"from publisher 2"]
                readers = [n for n in lab.nodes if n not in (first, second)]
                for reader in readers:
                    for _ in range(2):
                        assert sorted(await reader.get_value(key)) == [b"from publisher 1", b"from publisher 2"]
                # The explicit first-holder get stops at one holder: it misses a value.
                for reader in readers:
                    assert len(await actions.get_value(reader, key, first_holder=True)) == 1
        finally:
            await lab.stop()

    run(scenario(), timeout=60)
