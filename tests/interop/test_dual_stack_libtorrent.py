"""Our dual-stack Mainline node (BEP 32) in one swarm with libtorrent 2.1, over IPv6 on ::1.

The swarm (:class:`dual.DualSwarm`): two libtorrent sessions listening on IPv4
and ::1, a dual-stack node of ours and one of IPv6 only.  libtorrent's IPv6
table holds our nodes; each side finds the other's peers and items over IPv6
(the IPv6-only node has no other way); the dual node's get_peers returns peers
of both families.
"""

from __future__ import annotations

import asyncio
import os
from typing import Iterator

import libtorrent as lt
import pytest

from dht.wire import bep44

from .dual import DualSwarm

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def dual_swarm() -> Iterator[DualSwarm]:
    swarm = DualSwarm()
    try:
        swarm.start()
        yield swarm
    finally:
        swarm.close()


def test_libtorrents_ipv6_table_holds_our_nodes(dual_swarm: DualSwarm) -> None:
    for node in dual_swarm.lt:
        endpoints = node.table_endpoints()
        assert dual_swarm.our_ipv6_addresses() <= {e for e in endpoints if ":" in e[0]}
        dual = dual_swarm.dual.address_of("IPv4")
        assert dual in endpoints  # and its IPv4 table our dual node's IPv4 side


def test_we_find_over_ipv6_what_libtorrent_announced(dual_swarm: DualSwarm) -> None:
    announcer = dual_swarm.lt[0]
    info_hash = os.urandom(20)
    announcer.session.dht_announce(lt.sha1_hash(info_hash), 4567, 0)

    async def scenario() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        for _ in range(100):  # libtorrent's announce is a lookup of its own: until it has stored
            six = (await dual_swarm.six.get_peers(info_hash)).peers
            both = (await dual_swarm.dual.get_peers(info_hash)).peers
            if ("::1", 4567) in six and len(both) >= 2:
                return six, both
            await asyncio.sleep(0.1)
        return six, both

    six, both = dual_swarm.run(scenario(), timeout=60)
    assert six == [("::1", 4567)]  # the IPv6-only node: an 18-byte peer, found over IPv6
    assert sorted(both) == [("127.0.64.1", 4567), ("::1", 4567)]  # the dual node: both families


def test_libtorrent_finds_over_ipv6_what_we_announced(dual_swarm: DualSwarm) -> None:
    info_hash = os.urandom(20)
    accepted = dual_swarm.run(dual_swarm.six.announce_peer(info_hash, 5555))
    assert accepted >= len(dual_swarm.lt)
    asker = dual_swarm.lt[1]
    asker.session.dht_get_peers(lt.sha1_hash(info_hash))
    # One reply per libtorrent node (an IPv4 one and an IPv6 one, each its own lookup):
    # the IPv6 node's holds our peer.
    asker.wait_for(
        lambda a: isinstance(a, lt.dht_get_peers_reply_alert) and bytes(a.info_hash.to_bytes()) == info_hash
        and ("::1", 5555) in [tuple(p) for p in a.peers()],
        10.0, "a get_peers reply with our IPv6 peer",
    )


def test_items_go_both_ways_over_ipv6(dual_swarm: DualSwarm) -> None:
    value = {b"over": b"ipv6", b"n": os.urandom(4).hex().encode()}
    target = dual_swarm.run(dual_swarm.six.put_immutable(value, local=False))
    assert target == bep44.immutable_target(lt.bencode(value))
    reader = dual_swarm.lt[0]
    reader.session.dht_get_immutable_item(lt.sha1_hash(target))
    alert = reader.wait_for(
        lambda a: isinstance(a, lt.dht_immutable_item_alert) and bytes(a.target.to_bytes()) == target,
        10.0, "our immutable item",
    )
    assert alert.item == value
    theirs = {b"from": b"libtorrent", b"n": os.urandom(4).hex().encode()}
    writer = dual_swarm.lt[1]
    their_target = bytes(writer.session.dht_put_immutable_item(theirs).to_bytes())
    writer.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and bytes(a.target.to_bytes()) == their_target,
                    10.0, "libtorrent's put")
    found = dual_swarm.run(dual_swarm.six.get_item(their_target))
    assert found is not None and found.value == theirs
