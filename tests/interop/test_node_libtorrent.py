"""Our Mainline node (``Config(PROFILE="mainline")``) in one swarm with libtorrent 2.1.

The swarm (:class:`mixed.MixedSwarm`): three libtorrent sessions and three
of our nodes on loopback, joined both ways.  Each test asks through the
public API on our side (``Node.get_peers``, ``announce_peer``,
``put_immutable``, ``put_mutable``, ``get_item``, ``sample_infohashes``)
and through libtorrent's session calls on the other, reading libtorrent's
alerts with a deadline.  Fresh info-hashes and keys per test.
"""

from __future__ import annotations

import asyncio
import os

import bencodepy
import libtorrent as lt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dht import Node
from dht.events import PeerAnnounced
from dht.mainline.keys import seed_bytes
from dht.wire import bep44
from dht.wire import mainline as ml

from .ltlab import MainlineClient, libtorrent_secret
from .mixed import MixedSwarm

pytestmark = pytest.mark.interop


async def announced(node: Node, info_hash: bytes, timeout: float = 10.0) -> PeerAnnounced:
    """The first announce of ``info_hash`` that reaches ``node`` (its PeerAnnounced event)."""
    got: asyncio.Future[PeerAnnounced] = asyncio.get_running_loop().create_future()

    def watch(event: object) -> None:
        if isinstance(event, PeerAnnounced) and event.info_hash == info_hash and not got.done():
            got.set_result(event)

    unsubscribe = node.subscribe(watch)
    try:
        return await asyncio.wait_for(got, timeout)
    finally:
        unsubscribe()


def test_libtorrents_tables_hold_our_nodes(mixed_swarm: MixedSwarm) -> None:
    swarm = mixed_swarm
    ours = {n.id for n in swarm.ours}

    async def ask() -> set[bytes]:
        client = await MainlineClient.open("127.0.97.1", os.urandom(20))
        seen: set[bytes] = set()
        try:
            for lt_node in swarm.lt:
                for node_id in ours:
                    _, answer = await client.request(lt_node.address, ml.FindNode(client.node_id, node_id))
                    assert isinstance(answer, ml.NodesResponse)
                    seen |= {c.id for c in answer.nodes} & ours
        finally:
            client.close()
        return seen

    # libtorrent hands out only nodes of its table: every one of ours is there.
    assert swarm.run(ask()) == ours
    for lt_node in swarm.lt:
        assert lt_node.routing_nodes() >= len(swarm.lt) - 1 + len(swarm.ours)


def test_our_nodes_decode_libtorrents_v(mixed_swarm: MixedSwarm) -> None:
    version = ".".join(lt.__version__.split(".")[:3])
    lt_addresses = {n.address for n in mixed_swarm.lt}
    for node in mixed_swarm.ours:
        clients = {
            info.client for bucket in node.routing_table() for info in bucket.contacts
            if info.contact.address in lt_addresses
        }
        assert clients == {f"libtorrent (Rasterbar) {version}"}


def test_our_get_peers_finds_what_libtorrent_announced(mixed_swarm: MixedSwarm) -> None:
    swarm = mixed_swarm
    announcer = swarm.lt[0]
    info_hash = os.urandom(20)
    holder, asker = swarm.ours[0], swarm.ours[-1]

    async def scenario() -> list[tuple[str, int]]:
        waiting = asyncio.ensure_future(announced(holder, info_hash))
        await asyncio.sleep(0)  # subscribed before libtorrent is told to announce
        announcer.session.dht_announce(lt.sha1_hash(info_hash), 4567, 0)
        event = await waiting
        assert event.peer == (announcer.host, 4567)
        return (await asker.get_peers(info_hash)).peers

    assert (announcer.host, 4567) in swarm.run(scenario())


def test_libtorrent_finds_what_we_announced(mixed_swarm: MixedSwarm) -> None:
    swarm = mixed_swarm
    ours, asker = swarm.ours[1], swarm.lt[2]
    explicit, implied = os.urandom(20), os.urandom(20)

    async def scenario() -> tuple[int, int]:
        return await ours.announce_peer(explicit, 5555), await ours.announce_peer(implied, 0)

    accepted = swarm.run(scenario())
    # Every node of the swarm (there are fewer than K), ours included, took both announces.
    assert accepted == (len(swarm.lt) + len(swarm.ours),) * 2
    for info_hash, port in ((explicit, 5555), (implied, ours.contact.port)):
        asker.session.dht_get_peers(lt.sha1_hash(info_hash))
        reply = asker.wait_for(
            lambda a: isinstance(a, lt.dht_get_peers_reply_alert) and bytes(a.info_hash.to_bytes()) == info_hash,
            10.0, "get_peers reply",
        )
        assert (ours.contact.host, port) in [tuple(p) for p in reply.peers()]


def test_libtorrent_reads_our_items(mixed_swarm: MixedSwarm) -> None:
    swarm = mixed_swarm
    writer, reader = swarm.ours[0], swarm.lt[1]
    value = {b"explorer": os.urandom(6).hex().encode()}
    key = Ed25519PrivateKey.generate()
    salt = b"salt"

    async def scenario() -> tuple[bytes, tuple[bytes, bytes, int, int]]:
        target = await writer.put_immutable(value)
        first = await writer.put_mutable(key, b"first", salt)
        second = await writer.put_mutable(key, b"second", salt)
        assert second.seq == first.seq + 1
        return target, second[:3] + (second.stored,)

    target, (mutable_target, k, seq, stored) = swarm.run(scenario())
    assert target == bep44.immutable_target(bencodepy.encode(value))
    assert stored == len(swarm.lt) + len(swarm.ours)
    reader.session.dht_get_immutable_item(lt.sha1_hash(target))
    alert = reader.wait_for(
        lambda a: isinstance(a, lt.dht_immutable_item_alert) and bytes(a.target.to_bytes()) == target,
        10.0, "our immutable item",
    )
    assert alert.item == value
    assert mutable_target == bep44.mutable_target(k, salt) and k == bep44.public_key_bytes(key)
    reader.session.dht_get_mutable_item(k, salt)
    alert = reader.wait_for(
        lambda a: isinstance(a, lt.dht_mutable_item_alert) and bytes(a.key) == k and a.seq == seq,
        10.0, "our mutable item",
    )
    assert lt.bencode(alert.item) == b"6:second"


def test_we_read_libtorrents_items(mixed_swarm: MixedSwarm) -> None:
    swarm = mixed_swarm
    writer, reader = swarm.lt[0], swarm.ours[2]
    value = {b"from": b"libtorrent", b"n": int.from_bytes(os.urandom(3), "big")}
    target = bytes(writer.session.dht_put_immutable_item(value).to_bytes())
    writer.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and bytes(a.target.to_bytes()) == target,
                    10.0, "the immutable put")
    key = Ed25519PrivateKey.generate()
    k, salt = bep44.public_key_bytes(key), os.urandom(6)
    writer.session.dht_put_mutable_item(libtorrent_secret(seed_bytes(key)), k, b"mutable from libtorrent", salt)
    writer.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and bytes(a.public_key) == k,
                    10.0, "the mutable put")

    async def scenario() -> tuple[object, object, object]:
        immutable = await reader.get_item(target)
        mutable = await reader.get_item(bep44.mutable_target(k, salt), k, salt)
        wrong_salt = await reader.get_item(bep44.mutable_target(k, salt + b"x"), k, salt + b"x")
        return immutable, mutable, wrong_salt

    immutable, mutable, wrong_salt = swarm.run(scenario())
    assert immutable is not None and immutable.value == value  # type: ignore[attr-defined]
    assert mutable is not None and mutable.value == b"mutable from libtorrent"  # type: ignore[attr-defined]
    assert mutable.public_key == k and mutable.seq is not None  # type: ignore[attr-defined]
    assert wrong_salt is None


def test_sample_infohashes_both_ways(mixed_swarm: MixedSwarm) -> None:
    swarm = mixed_swarm
    ours, lt_node = swarm.ours[0], swarm.lt[0]
    from_lt, from_us = os.urandom(20), os.urandom(20)

    async def scenario() -> list[bytes]:
        waiting = asyncio.ensure_future(announced(ours, from_lt))
        await asyncio.sleep(0)
        swarm.lt[1].session.dht_announce(lt.sha1_hash(from_lt), 6000, 0)
        await waiting
        assert await swarm.ours[1].announce_peer(from_us, 6001) > 0
        # A node that asked nobody yet: no interval holds it back.
        return (await swarm.ours[2].sample_infohashes(count=100)).info_hashes

    sampled = swarm.run(scenario())
    assert {from_lt, from_us} <= set(sampled)
    # libtorrent asks our node.
    lt_node.session.dht_sample_infohashes(ours.contact.address, lt.sha1_hash(os.urandom(20)))
    alert = lt_node.wait_for(
        lambda a: isinstance(a, lt.dht_sample_infohashes_alert) and tuple(a.endpoint) == ours.contact.address,
        10.0, "our sample",
    )
    assert from_lt in {bytes(h.to_bytes()) for h in alert.samples}
    assert alert.interval.total_seconds() == ours.config.STORES.dht_sample_infohashes_interval
    assert alert.num_infohashes >= 2
