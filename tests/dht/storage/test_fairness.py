"""Storage fairness on the wire: clients on several loopback source addresses (127.0.0.x).

Every 127.x.y.z is loopback on Linux, so each client socket bound to its own
address is, to the node, another host with its own token and its own quota.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from dhtutil import RawClient, query, raw_client, run, running_node

from dht.node import core_of
from dht import Config, Node
from dht.events import Event, ValueExpired
from dht.storage import PAGE_SIZE, Store, StoreLimits
from dht.errors import StoreRefused

KEY = b"K" * 20


class Publisher:
    """A client at one source address that stores through the wire with its own token."""

    def __init__(self, client: RawClient, node: Node, name: bytes) -> None:
        self.client, self.node, self.id = client, node, name.ljust(20, b".")
        self.token: bytes | None = None
        self.serial = 0

    async def store(self, value: bytes, key: bytes = KEY) -> dict[bytes, Any]:
        if self.token is None:
            reply = await self.client.ask_decoded(query("find_node", {b"id": self.id, b"target": key}), self.node.address)
            self.token = reply[b"r"][b"token"]
        self.serial += 1
        args = {b"id": self.id, b"key": key, b"value": value, b"token": self.token}
        return await self.client.ask_decoded(query("store_value", args, b"s%d" % self.serial), self.node.address)


def ok(reply: dict[bytes, Any]) -> bool:
    return reply[b"y"] == b"r"


def refusal(reply: dict[bytes, Any]) -> tuple[int, str]:
    assert reply[b"y"] == b"e", reply
    return reply[b"e"][0], reply[b"e"][1].decode()


def values_by_publisher(node: Node) -> dict[str, set[bytes]]:
    out: dict[str, set[bytes]] = {}
    for info in core_of(node).store.all_values():
        out.setdefault(info.publisher, set()).add(info.value)
    return out


def test_one_ip_holds_no_more_than_its_quota_and_another_ip_can_always_store(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0, MAX_VALUES=50, MAX_VALUES_PER_IP=10)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client("127.0.0.2") as c2, \
                raw_client("127.0.0.3") as c3:
            flood, other = Publisher(c2, node, b"flood"), Publisher(c3, node, b"other")
            replies = [await flood.store(b"flood %d" % i, bytes([i]) * 20) for i in range(25)]
            assert all(ok(r) for r in replies[:10])
            for r in replies[10:]:
                code, text = refusal(r)
                assert code == 200 and "quota reached: 127.0.0.2 holds 10 values here (limit 10 per IP)" == text
            assert core_of(node).store.count_from("127.0.0.2") == 10
            # A value already held is refreshed even at the quota.
            assert ok(await flood.store(b"flood 0", bytes([0]) * 20))
            assert ok(await other.store(b"from another host"))
            assert values_by_publisher(node)["127.0.0.3"] == {b"from another host"}
            assert node.stats().values == 11

    run(scenario())


def test_a_full_store_makes_room_from_the_heaviest_holders_and_keeps_the_honest_values(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0, MAX_VALUES=40, MAX_VALUES_PER_IP=8)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node:
            events: list[Event] = []
            node.subscribe(events.append)
            async with raw_client("127.0.0.2") as honest_client:
                honest = Publisher(honest_client, node, b"honest")
                acknowledged = {b"honest %d" % i for i in range(3)}
                for value in sorted(acknowledged):
                    assert ok(await honest.store(value))
                # Ten flooding hosts, each storing as much as it may.
                for n in range(10):
                    async with raw_client(f"127.0.1.{n + 1}") as c:
                        flooder = Publisher(c, node, b"flood%d" % n)
                        for i in range(12):
                            await flooder.store(b"flood %d-%d" % (n, i), bytes([n, i]) * 10)
                held = values_by_publisher(node)
                assert node.stats().values == 40 == sum(len(v) for v in held.values())
                assert held["127.0.0.2"] == acknowledged  # nothing acknowledged to it was lost
                flood_counts = [len(held.get(f"127.0.1.{n + 1}", ())) for n in range(10)]
                assert max(flood_counts) <= 8 and max(flood_counts) - min(flood_counts) <= 2, flood_counts
                evicted = [e for e in events if isinstance(e, ValueExpired) and e.reason == "evicted"]
                assert evicted and all(e.value.startswith(b"flood") for e in evicted)
                # A newcomer always gets room, and the honest values stay.
                async with raw_client("127.0.2.1") as newcomer_client:
                    newcomer = Publisher(newcomer_client, node, b"newcomer")
                    assert ok(await newcomer.store(b"newcomer's value", b"N" * 20))
                assert values_by_publisher(node)["127.0.0.2"] == acknowledged
                # The heaviest holder itself is refused when the store is full.
                assert node.stats().values == 40
                again = Publisher(honest_client, node, b"honest")
                heavy_ip = max((ip for ip in values_by_publisher(node) if ip.startswith("127.0.1.")),
                               key=lambda ip: len(values_by_publisher(node)[ip]))
                n = int(heavy_ip.rsplit(".", 1)[1]) - 1
                async with raw_client(heavy_ip) as c:
                    heavy = Publisher(c, node, b"flood%d" % n)
                    code, text = refusal(await heavy.store(b"one more", b"M" * 20))
                assert code == 200 and "store is full (limit 40 values)" in text
                assert ok(await again.store(b"honest 0"))  # its own values are refreshed

    run(scenario())


def test_a_full_key_makes_room_for_a_newcomer_from_its_heaviest_holder(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0, MAX_VALUES_PER_KEY=5)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client("127.0.0.2") as c2, \
                raw_client("127.0.0.3") as c3:
            flood, honest = Publisher(c2, node, b"flood"), Publisher(c3, node, b"honest")
            for i in range(5):
                assert ok(await flood.store(b"flood %d" % i))
            assert ok(await honest.store(b"honest peer"))  # the key was full: flood 0 made room
            assert set(core_of(node).store.values(KEY)) == {b"flood 1", b"flood 2", b"flood 3", b"flood 4", b"honest peer"}
            assert ok(await honest.store(b"honest peer 2"))  # flood (4) holds two more than honest (1)
            # Flood 3, honest 2: neither makes room from the other any more; shares have settled.
            for who in (honest, flood):
                code, text = refusal(await who.store(b"one more"))
                assert code == 200 and "too many values for this key (limit 5)" in text
            async with raw_client("127.0.0.4") as c4:
                assert ok(await Publisher(c4, node, b"newcomer").store(b"newcomer peer"))
            counts = {ip: len(v) for ip, v in values_by_publisher(node).items()}
            assert counts == {"127.0.0.2": 2, "127.0.0.3": 2, "127.0.0.4": 1}
            assert values_by_publisher(node)["127.0.0.3"] == {b"honest peer", b"honest peer 2"}

    run(scenario())


def test_the_first_publisher_keeps_a_value_another_ip_stores_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client("127.0.0.2") as c2, raw_client("127.0.0.3") as c3:
            first, second = Publisher(c2, node, b"first"), Publisher(c3, node, b"second")
            assert ok(await first.store(b"shared"))
            before = core_of(node).store.all_values()[0].stored_at
            assert ok(await second.store(b"shared"))
            [info] = core_of(node).store.all_values()
            assert info.publisher == "127.0.0.2" and info.stored_at >= before
            assert core_of(node).store.count_from("127.0.0.3") == 0

    run(scenario())


def test_publishers_and_their_counts_survive_a_restart(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0, MAX_VALUES_PER_IP=3)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client("127.0.0.2") as c2:
            p = Publisher(c2, node, b"p")
            for i in range(3):
                assert ok(await p.store(b"v%d" % i, bytes([i]) * 20))
        async with running_node(tmp_path, config) as node, raw_client("127.0.0.2") as c2:
            assert core_of(node).store.count_from("127.0.0.2") == 3
            code, _ = refusal(await Publisher(c2, node, b"p").store(b"v3", b"3" * 20))
            assert code == 200

    run(scenario())


# --- the store alone ------------------------------------------------------------

def test_store_refusals_change_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "db", StoreLimits(max_values=3, max_per_key=2, max_per_ip=2))
    try:
        store.store_value(KEY, b"a", 1.0, "10.0.0.1")
        store.store_value(KEY, b"b", 2.0, "10.0.0.1")
        for value, key in ((b"c", KEY), (b"c", b"L" * 20)):
            with pytest.raises(StoreRefused):
                store.store_value(key, value, 3.0, "10.0.0.1")
        assert sorted(store.values(KEY)) == [b"a", b"b"] and store.totals() == (1, 2)
        outcome = store.store_value(KEY, b"c", 4.0, "10.0.0.2")  # the key is full: 10.0.0.1's oldest goes
        assert outcome.evicted == ((KEY, b"a"),) and not outcome.refreshed
        assert sorted(store.values(KEY)) == [b"b", b"c"]
        assert (store.count_from("10.0.0.1"), store.count_from("10.0.0.2")) == (1, 1)
        with pytest.raises(StoreRefused):  # 1 and 1: nobody holds two more than the other
            store.store_value(KEY, b"d", 5.0, "10.0.0.2")
        assert sorted(store.values(KEY)) == [b"b", b"c"] and store.value_count == 2
    finally:
        store.close()


def test_a_database_of_the_first_schema_is_migrated_keeping_its_values(tmp_path: Path) -> None:
    path = tmp_path / "khashmir.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE self (id BLOB NOT NULL);
        CREATE TABLE contacts (id BLOB PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL);
        CREATE TABLE kv (key BLOB NOT NULL, value BLOB NOT NULL, last_stored REAL NOT NULL,
                         PRIMARY KEY (key, value));
        CREATE INDEX kv_time ON kv (last_stored);
    """)
    old = [(bytes([i]) * 20, b"old value %d" % i + b"!" * 900, 1000.0 + i) for i in range(50)]
    conn.executemany("INSERT INTO kv VALUES (?, ?, ?)", old)
    conn.execute("INSERT INTO self VALUES (?)", (b"S" * 20,))
    conn.execute("INSERT INTO contacts VALUES (?, ?, ?)", (b"C" * 20, "127.0.0.9", 4000))
    conn.execute("INSERT INTO contacts VALUES (?, ?, ?)", (b"D" * 20, "::1", 4000))  # never packable
    conn.commit()
    conn.close()
    store = Store(path)
    try:
        infos = {(i.key, i.value, i.stored_at, i.publisher) for i in store.all_values()}
        assert infos == {(k, v, t, "") for k, v, t in old}
        assert store.totals() == (50, 50) and store.count_from("") == 50
        assert store.self_id() == b"S" * 20
        assert [c.host for c in store.contacts()] == ["127.0.0.9"]  # the IPv6 row is skipped
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "kv" not in tables and "stored" in tables
        assert store.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_a_1kb_value_takes_at_most_about_1_5_kb_on_disk(tmp_path: Path) -> None:
    """The figure for 100,000 values comes from bench/bench_storage.py; 3,000 show the layout."""
    import os

    path = tmp_path / "khashmir.db"
    store = Store(path)
    n = 3000
    for i in range(n):
        store.store_value(os.urandom(20), os.urandom(1024), time.time(), f"10.0.{i % 50}.1")
    store.close()
    on_disk = sum(p.stat().st_size for p in tmp_path.iterdir() if p.name.startswith("khashmir.db"))
    assert on_disk / n <= 1536, on_disk / n


def test_tally_keeps_the_heaviest_at_hand() -> None:
    from dht.storage import Tally

    t = Tally()
    t.add("a", 3)
    t.add("b")
    t.add("b")
    assert (t.max, t.heaviest()) == (3, "a")
    t.remove("a")
    t.remove("a")
    assert t.max == 2 and t.heaviest() == "b" and t.get("a") == 1
    t.remove("b")
    t.remove("b")
    t.remove("b")  # below zero: ignored
    assert (t.max, t.heaviest(), t.counts) == (1, "a", {"a": 1})
    t.remove("a")
    assert (t.max, t.heaviest(), t.counts) == (0, None, {})
