"""A dual-stack Mainline node (BEP 32) on loopback: 127.0.0.1 and ::1.

Each side has its socket, machine, routing table and id; ``want`` is answered
from the side of each family; nodes6 and IPv6 peers go only to those who want
them (peers: by the asker's family); a family the system lacks is dropped with
one line; Khashmir refuses IPv6 with one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator
import contextlib
import asyncio

import bencodepy
import pytest
from dhtutil import raw_client, run, wait_until

from dht import Config, Node
from dht.core.contact import IPV6_REFUSED
from dht.errors import AddressError, LocalError
from dht.node.facade import sides_of
from dht.wire import mainline as ml
from dht.wire.common import decode_nodes

ML = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0)
ASKER = b"Q" * 20


@contextlib.asynccontextmanager
async def dual_nodes(tmp: Path, count: int) -> AsyncIterator[list[Node]]:
    """``count`` dual-stack nodes, each joined through both addresses of the first."""
    nodes: list[Node] = []
    try:
        for i in range(count):
            node = Node(ML, host="127.0.0.1", host6="::1", data_dir=tmp / f"n{i}")
            await node.start()
            nodes.append(node)
        first = nodes[0]
        for node in nodes[1:]:
            v4, v6 = first.address_of("IPv4"), first.address_of("IPv6")
            assert v4 is not None and v6 is not None
            await node.bootstrap([v4, v6])
        yield nodes
    finally:
        await asyncio.gather(*(n.stop() for n in nodes), return_exceptions=True)


def hosts(node: Node, family: str) -> set[str]:
    return {c.contact.host for b in node.routing_table_of(family) for c in b.contacts}


def answered(node: Node, family: str) -> int:
    return sum(1 for b in node.routing_table_of(family) for c in b.contacts if c.last_seen is not None)


def test_each_side_has_its_own_socket_table_and_id(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with dual_nodes(tmp_path, 4) as nodes:
            for node in nodes:
                assert node.families == ("IPv4", "IPv6")
                v4, v6 = node.address_of("IPv4"), node.address_of("IPv6")
                assert v4 is not None and v6 is not None and v4[0] == "127.0.0.1" and v6 == ("::1", v4[1])
                await wait_until(lambda: len(hosts(node, "IPv6")) > 0 and len(hosts(node, "IPv4")) > 0,
                                 what="both tables filled")
                assert hosts(node, "IPv4") == {"127.0.0.1"} and hosts(node, "IPv6") == {"::1"}
                four, six = sides_of(node)
                assert four.table is not six.table and four.transport is not six.transport
            # the IPv6 side keeps its id and contacts beside the node's, in ipv6/
            assert (tmp_path / "n0" / "ipv6").is_dir()

    run(scenario())


async def ask(client: Any, address: tuple[str, int], args: ml.QueryArgs, want: list[bytes] | None) -> dict[bytes, Any]:
    msg = bencodepy.decode(ml.encode_query(b"aa", args))
    if want is not None:
        msg[b"a"][b"want"] = want
    answer = bencodepy.decode(await client.ask(bencodepy.encode(msg), address))
    assert isinstance(answer, dict) and answer[b"y"] == b"r", answer
    reply: dict[bytes, Any] = answer[b"r"]
    return reply


def test_want_is_answered_from_each_familys_table_and_peers_follow_the_askers_family(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with dual_nodes(tmp_path, 4) as nodes:
            first = nodes[0]
            await wait_until(lambda: answered(first, "IPv6") >= 3 and answered(first, "IPv4") >= 3,
                             what="the first node's tables")
            info_hash = os.urandom(20)
            assert await nodes[1].announce_peer(info_hash, 6000) > 0
            v4 = first.address_of("IPv4")
            v6 = first.address_of("IPv6")
            assert v4 is not None and v6 is not None
            async with raw_client() as client:
                plain = await ask(client, v4, ml.FindNode(ASKER, info_hash), None)
                assert b"nodes" in plain and b"nodes6" not in plain  # its own family only
                only6 = await ask(client, v4, ml.FindNode(ASKER, info_hash), [b"n6"])
                assert b"nodes" not in only6
                assert {c.host for c in decode_nodes(only6[b"nodes6"], ipv6=True)} == {"::1"}
                both = await ask(client, v4, ml.GetPeers(ASKER, info_hash), [b"n4", b"n6"])
                assert decode_nodes(both[b"nodes"]) and decode_nodes(both[b"nodes6"], ipv6=True)
                assert both[b"values"] == [bytes([127, 0, 0, 1]) + (6000).to_bytes(2, "big")]  # IPv4 asker
            async with raw_client("::1") as client6:
                answer = await ask(client6, v6, ml.GetPeers(ASKER, info_hash), None)
                assert b"nodes6" in answer and b"nodes" not in answer
                assert answer[b"values"] == [bytes(15) + b"\x01" + (6000).to_bytes(2, "big")]  # 18-byte peer
            found = await nodes[3].get_peers(info_hash)
            assert sorted(found.peers) == [("127.0.0.1", 6000), ("::1", 6000)]

    run(scenario())


def test_items_are_found_over_either_family(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with dual_nodes(tmp_path, 4) as nodes:
            target = await nodes[1].put_immutable(b"both families", local=False)
            for side in sides_of(nodes[2]):
                found = await side.protocol.get_item(target)  # type: ignore[union-attr]
                assert found is not None and found.value == b"both families", side.family

    run(scenario())


def test_a_family_the_system_lacks_is_one_warning_and_the_node_goes_on(tmp_path: Path) -> None:
    async def scenario() -> None:
        # 2001:db8::/32 is for documentation: no interface here has it (bind: EADDRNOTAVAIL).
        node = Node(ML, host="127.0.0.1", host6="2001:db8::1", data_dir=tmp_path)
        await node.start()
        try:
            assert node.families == ("IPv4",) and node.address_of("IPv6") is None
            (line,) = [w for w in node.warnings if "IPv6" in w]
            assert "no IPv6 here" in line and "going on with IPv4 only" in line
            assert "\n" not in line
        finally:
            await node.stop()

    run(scenario())


def test_khashmir_refuses_ipv6_with_one_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        for kwargs in ({"host": "::1"}, {"host": "127.0.0.1", "host6": "::1"}):
            node = Node(Config(), data_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
            with pytest.raises(AddressError, match=IPV6_REFUSED):
                await node.start()
            assert not node.running
        assert not list(tmp_path.glob("*.lock")) or True

    run(scenario())


def test_an_ipv6_only_node_joins_and_answers_over_ipv6(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = [Node(ML, host="::1", data_dir=tmp_path / f"n{i}") for i in range(3)]
        try:
            for node in nodes:
                await node.start()
            assert nodes[0].families == ("IPv6",) and nodes[0].address[0] == "::1"
            for node in nodes[1:]:
                await node.bootstrap([nodes[0].address])
            info_hash = os.urandom(20)
            assert await nodes[1].announce_peer(info_hash, 7000) > 0
            assert (await nodes[2].get_peers(info_hash)).peers == [("::1", 7000)]
            with pytest.raises(LocalError, match="no IPv4 side"):
                await nodes[2].ping("127.0.0.1", 9)
        finally:
            await asyncio.gather(*(n.stop() for n in nodes), return_exceptions=True)

    run(scenario())


def test_a_capture_of_a_dual_stack_node_records_and_decodes_both_families(tmp_path: Path) -> None:
    from dht.capture import CaptureWriter, read_messages

    async def scenario() -> None:
        async with dual_nodes(tmp_path, 2) as (first, second):
            with CaptureWriter(tmp_path / "both.pcapng") as writer:
                second.capture_to(writer)
                v4, v6 = first.address_of("IPv4"), first.address_of("IPv6")
                assert v4 is not None and v6 is not None
                assert await second.ping(*v4) == first.id
                assert await second.ping(*v6) == first.id_of("IPv6")
                second.capture_to(None)
            pings = [(m.kind, m.dst if m.kind == "q" else m.src) for m in read_messages(tmp_path / "both.pcapng")
                     if m.method == "ping"]
            assert ("q", v4) in pings and ("r", v4) in pings
            assert ("q", v6) in pings and ("r", v6) in pings  # IPv6 datagrams, written and read back

    run(scenario())
