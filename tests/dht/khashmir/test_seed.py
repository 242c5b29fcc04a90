"""The seed's own tests (SimpleTests and MultiTest of khashmir.py), ported.

The originals ran nodes on fixed ports and turned the reactor a few times;
here every node is on 127.0.0.1 port 0 and each step is awaited.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from pathlib import Path

import pytest
from dhtutil import STEADY, joined, run, running_nodes

from dht.node import core_of
from dht import Config, Node

SEED_CONFIG = Config(
    K=8, CHECKPOINT_INTERVAL=300, CONCURRENT_REQS=4, STORE_REDUNDANCY=3,
    RETRIEVE_VALUES=-10000, MAX_FAILURES=3, MIN_PING_INTERVAL=900,
    BUCKET_STALENESS=3600, KEY_EXPIRE=3600, KRPC_TIMEOUT=2.0,
    SOFT_TIMEOUT_MIN=1.0,  # nobody is dead here: never move on from a live node
)


# --- SimpleTests ------------------------------------------------------------------

def test_add_contact(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, SEED_CONFIG) as (a, b):
            for node in (a, b):
                assert len(core_of(node).table.buckets) == 1
                assert len(core_of(node).table.buckets[0].entries) == 0
            await a.join(*b.address)  # the seed's addContact
            for node, other in ((a, b), (b, a)):
                assert len(core_of(node).table.buckets) == 1
                assert len(core_of(node).table.buckets[0].entries) == 1
                assert core_of(node).table.buckets[0].entries[0].contact == other.contact

    run(scenario())


def test_store_retrieve(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, SEED_CONFIG) as (a, b):
            await a.join(*b.address)
            key = hashlib.sha1(b"foo").digest()
            result = await a.store_value(key, b"foobar")
            assert result.refused == []
            assert await a.get_value(key) == [b"foobar"]
            assert await b.get_value(key) == [b"foobar"]

    run(scenario())


# --- MultiTest -------------------------------------------------------------------

def test_multi_store_retrieve(tmp_path: Path) -> None:
    """20 nodes each add 3 random others, find close nodes twice; then 10 keys
    are each stored 3 times from random nodes, and after every store read
    3 times from random nodes: every read finds the value."""
    num = 20
    rng = random.Random(1234)  # which nodes join which, and who stores/reads

    async def scenario() -> None:
        async with running_nodes(tmp_path, num, SEED_CONFIG) as nodes:
            for n in nodes:
                for _ in range(3):
                    await n.join(*rng.choice(nodes).address)
            for _ in range(2):
                for n in nodes:
                    await core_of(n).find_close_nodes()
            for _ in range(10):
                key, value = os.urandom(20), os.urandom(20)
                for _ in range(3):
                    result = await rng.choice(nodes).store_value(key, value)
                    assert len(result.accepted) == 3 and result.refused == []
                    for _ in range(3):
                        reader = rng.choice(nodes)
                        assert value in await reader.get_value(key)
            # Each key is held by (about) its three closest nodes, not everywhere.
            holders = [len(core_of(n).store.all_values()) for n in nodes]
            assert sum(holders) < 10 * num

    run(scenario(), timeout=60)


# --- our additions in the seed's spirit ---------------------------------------------

def test_a_node_finds_its_own_values(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 1, SEED_CONFIG) as (alone,):
            key = hashlib.sha1(b"mine").digest()
            result = await alone.store_value(key, b"only here")
            assert [c.id for c in result.accepted] == [alone.id]
            assert await alone.get_value(key) == [b"only here"]
            assert await alone.get_value(hashlib.sha1(b"nothing").digest()) == []

    run(scenario())


def test_store_lands_on_every_node_of_a_small_network(tmp_path: Path) -> None:
    """STORE_REDUNDANCY 3 > 2 nodes: both the storing node and its peer keep the value."""

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, SEED_CONFIG) as (a, b):
            await b.join(*a.address)
            key = hashlib.sha1(b"both").digest()
            result = await b.store_value(key, b"everywhere")
            assert {c.id for c in result.accepted} == {a.id, b.id}
            assert core_of(a).store.values(key) == [b"everywhere"]
            assert core_of(b).store.values(key) == [b"everywhere"]

    run(scenario())


def test_a_store_without_local_never_lands_on_the_storing_node(tmp_path: Path) -> None:
    """What the CLI's one-shot node does: it leaves, so it must not count itself."""

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, SEED_CONFIG) as (a, b):
            await b.join(*a.address)
            key = hashlib.sha1(b"elsewhere").digest()
            result = await b.store_value(key, b"only on a", local=False)
            assert [c.id for c in result.accepted] == [a.id]
            assert core_of(a).store.values(key) == [b"only on a"]
            assert core_of(b).store.values(key) == []

    run(scenario())


def test_store_goes_to_the_closest_nodes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 8, STEADY) as nodes:
            await joined(nodes)
            key = os.urandom(20)
            result = await nodes[3].store_value(key, b"v")
            closest = sorted(nodes, key=lambda n: int.from_bytes(n.id, "big") ^ int.from_bytes(key, "big"))
            assert {c.id for c in result.accepted} == {n.id for n in closest[:3]}
            for n in nodes:
                assert (core_of(n).store.values(key) == [b"v"]) == (n in closest[:3])

    run(scenario())


def test_distinct_values_from_several_holders_are_all_found(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 5, STEADY) as nodes:
            for n in nodes[1:]:
                await n.join(*nodes[0].address)
            await asyncio.gather(*(core_of(n).find_close_nodes() for n in nodes))
            key = os.urandom(20)
            values = {b"one", b"two", b"three"}
            for i, v in enumerate(sorted(values)):
                await nodes[i].store_value(key, v)
            for reader in nodes:
                assert set(await reader.get_value(key)) == values

    run(scenario())


def test_find_node_returns_the_k_closest(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 12, STEADY) as nodes:
            await joined(nodes)
            target = os.urandom(20)
            found = await nodes[5].find_node(target)
            others = [n for n in nodes if n is not nodes[5]]
            others.sort(key=lambda n: int.from_bytes(n.id, "big") ^ int.from_bytes(target, "big"))
            assert [c.id for c in found] == [n.id for n in others[: len(found)]]
            assert len(found) >= 7  # K closest less perhaps the searching node itself
            # find_value lists the holders of a key, closest first.
            await nodes[0].store_value(target, b"x")
            holders = await nodes[7].find_value(target)
            expected = [n.id for n in sorted(nodes, key=lambda n: int.from_bytes(n.id, "big") ^ int.from_bytes(target, "big"))
                        if core_of(n).store.values(target)]
            assert len(expected) == 3
            assert [h.id for h in holders] == expected

    run(scenario())


@pytest.mark.parametrize("retrieve", [0, 2, -2, 1])
def test_retrieve_values_limits_what_a_get_returns(tmp_path: Path, retrieve: int) -> None:
    """RETRIEVE_VALUES: 0 all values, n > 0 up to n, -n up to n (from the closest holders)."""
    config = STEADY.replace(RETRIEVE_VALUES=retrieve)

    async def scenario() -> None:
        async with running_nodes(tmp_path, 4, config) as nodes:
            await joined(nodes)
            key = os.urandom(20)
            values = {b"v%d" % i for i in range(5)}
            for v in sorted(values):
                result = await nodes[0].store_value(key, v)
                assert len(result.accepted) == 3
            reader = next(n for n in nodes if not core_of(n).store.values(key))  # 4 nodes, 3 hold it
            got = await reader.get_value(key)
            assert len(set(got)) == len(got) and set(got) <= values
            assert len(got) == (len(values) if retrieve == 0 else min(abs(retrieve), len(values)))

    run(scenario())


async def store_at(publisher: Node, holder: Node, key: bytes, value: bytes) -> None:
    """A publisher stores at one chosen node, on the wire: find_node for its token, then store_value."""
    answer = await core_of(publisher).request(holder.contact, "find_node", {b"id": publisher.id, b"target": key})
    await core_of(publisher).request(
        holder.contact, "store_value",
        {b"id": publisher.id, b"key": key, b"value": value, b"token": answer[b"token"]},
    )


@pytest.mark.parametrize(
    "retrieve, expected",
    [(0, {b"A", b"B"}), (2, {b"A", b"B"}), (-10000, {b"A"}), (-2, {b"A"}), (1, {b"A"}), (-1, {b"A"})],
)
def test_negative_retrieve_values_asks_only_the_closest_store_redundancy_holders(
    tmp_path: Path, retrieve: int, expected: set[bytes]
) -> None:
    """A is held by the 3 closest nodes, B only by the 4th closest (STORE_REDUNDANCY 3).

    0 (all values from every holder) and 2 (up to 2 values, from as many
    holders as it takes) find B; -10000 and -2 (only the closest
    STORE_REDUNDANCY holders) never ask the 4th, so they cannot; 1 and -1
    stop at the first value.
    """
    config = STEADY.replace(RETRIEVE_VALUES=retrieve)

    async def scenario() -> None:
        async with running_nodes(tmp_path, 6, config) as nodes:
            await joined(nodes)
            key = os.urandom(20)
            by_distance = sorted(nodes, key=lambda n: int.from_bytes(n.id, "big") ^ int.from_bytes(key, "big"))
            c1, c2, c3, c4, c5, c6 = by_distance
            result = await c6.store_value(key, b"A")
            assert {c.id for c in result.accepted} == {c1.id, c2.id, c3.id}
            await store_at(c5, c4, key, b"B")
            assert [core_of(n).store.values(key) for n in by_distance] == [[b"A"]] * 3 + [[b"B"], [], []]
            for reader in (c5, c6):
                for _ in range(3):
                    assert set(await reader.get_value(key)) == expected

    run(scenario())
