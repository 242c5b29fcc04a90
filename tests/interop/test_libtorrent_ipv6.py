"""The IPv6 forms (BEP 32) against libtorrent on ::1: 18-byte ``ip``, ``nodes6``, 18-byte peers."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import libtorrent as lt
import pytest

from dht.wire import mainline as ml

from .ltlab import LtSwarm, MainlineClient

pytestmark = pytest.mark.interop


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_ping_find_node_and_get_peers_over_ipv6(lt_swarm6: LtSwarm) -> None:
    a, b = lt_swarm6.nodes
    info_hash = os.urandom(20)
    b.session.dht_announce(lt.sha1_hash(info_hash), 4242, 0)
    a.wait_for(lambda x: isinstance(x, lt.dht_announce_alert) and bytes(x.info_hash.to_bytes()) == info_hash,
               10.0, "the announce")
    our_id = os.urandom(20)

    async def scenario() -> tuple[Any, ...]:
        c = await MainlineClient.open("::1", our_id)
        try:
            pong, _ = await c.request(a.address, ml.Ping(our_id))
            _, nodes = await c.request(a.address, ml.FindNode(our_id, os.urandom(20), (b"n6",)))
            _, peers = await c.request(a.address, ml.GetPeers(our_id, info_hash, (b"n6",)))
            return pong, nodes, peers, c.address
        finally:
            c.close()

    pong, nodes, peers, ours = run(scenario())
    assert pong.ip == ours  # an 18-byte compact address
    assert isinstance(nodes, ml.NodesResponse) and b.address in {(n.host, n.port) for n in nodes.nodes6}
    assert isinstance(peers, ml.PeersResponse) and ("::1", 4242) in peers.values
