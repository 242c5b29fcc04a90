"""Statistics: counters that match the traffic, and the network size estimate."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dhtutil import query, raw_client, run, running_node, running_nodes

from dht.node import core_of
from dht import Config, Node, StatsSnapshot
from dht.core.stats import DropReason, Stats
from dht.wire.krpc import METHODS

CID = b"C" * 20


def test_snapshot_copies_counters() -> None:
    stats = Stats(known=tuple(METHODS))
    assert stats.methods == {} and not any(stats.drop_reasons.values())  # made at their first use
    stats.method("ping").sent += 2
    stats.method("ping").answered += 1
    stats.method("ping").rtt_total += 0.5
    stats.drop(DropReason.NOT_BENCODE)
    stats.drop("bad response")  # the node's text for a reason counts as that reason
    snap = stats.snapshot(contacts=3, buckets=1, k=8, keys=1, values=2, uptime=1.0)
    assert snap.methods["ping"].sent == 2 and snap.methods["ping"].mean_rtt == 0.5
    assert snap.methods["join"].mean_rtt is None
    assert snap.dropped == 2
    assert snap.drops == {r.value: 0 for r in DropReason} | {"not bencode": 1, "bad response": 1}
    assert (snap.blocked_peers, snap.blocks, snap.tracked_peers) == (0, 0, 0)
    stats.method("ping").sent += 1
    assert snap.methods["ping"].sent == 2  # a snapshot does not change afterwards
    assert list(snap.methods) == list(METHODS)  # every method, in the profile's order
    stats.method("sample_infohashes").sent += 1  # not the profile's: shown after them
    assert list(stats.snapshot(0, 1, 8, 0, 0, 1.0).methods) == list(METHODS) + ["sample_infohashes"]


def test_drop_reasons_are_a_fixed_set_whatever_the_text() -> None:
    stats = Stats()
    for i in range(1000):
        stats.drop(f"unknown message type {i!r} " + "x" * 100)
    assert len(stats.drop_reasons) <= len(DropReason)
    assert stats.drop_reasons[DropReason.OTHER] == 1000 and stats.dropped == 1000
    snap = stats.snapshot(contacts=0, buckets=1, k=8, keys=0, values=0, uptime=0.0)
    assert snap.drops == {r.value: 0 for r in DropReason} | {"other": 1000}  # every reason shown


def test_snapshot_reports_the_transports_limits_gauge() -> None:
    stats = Stats()
    stats.limits_gauge = lambda: (2, 5, 40)
    snap = stats.snapshot(contacts=0, buckets=1, k=8, keys=0, values=0, uptime=0.0)
    assert (snap.blocked_peers, snap.blocks, snap.tracked_peers) == (2, 5, 40)


def test_counters_match_the_datagrams(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            before = node.stats()
            sent_bytes = received_bytes = 0
            datagrams = [
                query("ping", {b"id": CID}, b"1"),
                query("ping", {b"id": CID}, b"2"),
                query("find_node", {b"id": CID, b"target": CID}, b"3"),
                query("ping", {b"id": b"bad"}, b"4"),
                query("nosuch", {b"id": CID}, b"5"),
            ]
            for data in datagrams:
                reply = await client.ask(data, node.address)
                sent_bytes += len(data)
                received_bytes += len(reply)
            noise = b"\x01\x02 noise"
            await client.replies_before_ping(noise, node.address, marker=b"6")
            after = node.stats()
            ping_bytes = len(query("ping", {b"id": b"P" * 20}, b"6"))
            assert after.packets_in - before.packets_in == len(datagrams) + 2
            assert after.bytes_in - before.bytes_in == sent_bytes + len(noise) + ping_bytes
            assert after.packets_out - before.packets_out == len(datagrams) + 1
            assert after.bytes_out - before.bytes_out > received_bytes
            assert after.dropped - before.dropped == 1
            ping = after.methods["ping"]
            assert (ping.received, ping.errors, ping.sent) == (4, 1, 0)
            assert after.methods["find_node"].received == 1
            assert "nosuch" not in after.methods
            assert after.contacts == len(core_of(node).table) == 2  # the client's two ids (C and P)
            assert after.buckets == len(node.routing_table()) == 1
            assert after.uptime > 0

    run(scenario())


def test_request_counters_and_rtt(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 2) as (a, b):
            for _ in range(3):
                await a.ping(*b.address)
            await a.join(*b.address)
            key = hashlib.sha1(b"counted").digest()
            await a.store_value(key, b"x")
            sa, sb = a.stats(), b.stats()
            assert sa.methods["ping"].sent == sa.methods["ping"].answered == 3
            assert sb.methods["ping"].received == 3
            mean = sa.methods["ping"].mean_rtt
            assert mean is not None and 0 < mean < 1.0
            assert sa.methods["store_value"].sent == 1 and sb.methods["store_value"].received == 1
            assert (sa.keys, sa.values) == (1, 1) and (sb.keys, sb.values) == (1, 1)
            assert sa.contacts == 1 and sa.network_size == 2  # one bucket, not full: we know everybody
            assert isinstance(sa, StatsSnapshot)

    run(scenario())


def test_stats_of_a_node_not_running(tmp_path: Path) -> None:
    node = Node(Config(), data_dir=tmp_path)
    snap = node.stats()
    assert (snap.contacts, snap.buckets, snap.keys, snap.values, snap.uptime) == (0, 0, 0, 0, 0.0)
    assert snap.network_size == 1
