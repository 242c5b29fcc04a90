"""Nodes at loopback addresses of their own on one shared UDP socket (dht.rpc.shared_port)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from dhtutil import can_bind, run, silent_udp_port, wait_until

from dht import Config, Contact, Node
from dht.errors import LocalError, RpcTimeout
from dht.node import core_of
from dht.rpc.shared_port import SharedPort, supported

pytestmark = pytest.mark.skipif(not supported() or not can_bind("127.0.0.2"),
                                reason="a shared socket needs Linux and all of 127.0.0.0/8")

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def _udp_fds() -> set[int]:
    """The process's open UDP sockets' descriptors."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            copy = os.dup(int(name))
        except OSError:  # the listing's own descriptor, closed since
            continue
        try:
            sock = socket.socket(fileno=copy)
        except OSError:  # not a socket
            os.close(copy)
            continue
        with sock:
            kind = sock.type
        if kind == socket.SOCK_DGRAM:
            found.add(int(name))
    return found


async def _nodes(tmp_path: Path, shared: SharedPort, config: Config, hosts: tuple[str, ...] = HOSTS) -> list[Node]:
    nodes = [Node(config, host=h, data_dir=tmp_path / h, shared_port=shared) for h in hosts]
    for n in nodes:
        await n.start()
    return nodes


@pytest.mark.parametrize("profile", ["khashmir", "mainline"])
def test_nodes_on_one_socket_ping_each_other_at_their_own_addresses(tmp_path: Path, profile: str) -> None:
    """Three nodes on one socket (one descriptor for all) each listen at their own
    127.x address and the shared port; every one pings every other one and the answer
    comes from the address asked (the request table matches answers by it)."""

    async def scenario() -> None:
        before = _udp_fds()
        shared = SharedPort()
        nodes = await _nodes(tmp_path, shared, Config(PROFILE=profile, KRPC_TIMEOUT=5.0))
        try:
            assert len(_udp_fds() - before) == 1
            assert [n.address for n in nodes] == [(h, shared.port) for h in HOSTS]
            for a in nodes:
                for b in nodes:
                    if a is not b:
                        assert await a.ping(*b.address) == b.id
            for a in nodes:  # each heard the others from their own addresses, not the port's
                known = {c.address for c in core_of(a).table.contacts()}
                assert known == {b.address for b in nodes if b is not a}
            assert shared.foreign == 0
        finally:
            for n in nodes:
                await n.stop()
        await asyncio.sleep(0)  # the loop's next pass: the last node gone, the socket closed
        assert not shared.is_open and len(_udp_fds() - before) == 0

    run(scenario(), 30)


def test_datagrams_from_outside_loopback_are_dropped(tmp_path: Path) -> None:
    """A datagram to the shared port from a source outside 127.0.0.0/8 reaches no node
    and is counted; one from loopback to the same node is answered."""
    outside = _non_loopback_address()
    if outside is None:
        pytest.skip("no IPv4 address outside loopback here")

    async def scenario() -> None:
        shared = SharedPort()
        (node,) = await _nodes(tmp_path, shared, Config(), HOSTS[:1])
        ping = b"d1:ad2:id20:" + bytes(20) + b"e1:q4:ping1:t2:aa1:y1:qe"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as near:
                far.bind((outside, 0))
                near.bind(("127.0.0.9", 0))
                near.settimeout(5.0)
                far.sendto(ping, (outside, shared.port))  # to the wildcard socket, from outside
                await wait_until(lambda: shared.foreign == 1, what="the foreign datagram dropped")
                assert core_of(node).stats_counters.packets_in == 0  # never handed to the node
                near.sendto(ping, node.address)
                loop = asyncio.get_running_loop()
                answer, source = await loop.run_in_executor(None, near.recvfrom, 2048)
                assert source == node.address and answer.startswith(b"d1:rd2:id20:" + node.id)
                far.settimeout(0.0)
                with pytest.raises(BlockingIOError):
                    far.recvfrom(2048)  # nothing went back outside
            assert shared.foreign == 1
        finally:
            await node.stop()

    run(scenario(), 20)


def test_a_request_to_an_address_of_the_port_with_no_node_fails_at_once(tmp_path: Path) -> None:
    """A node killed on a shared socket leaves its address free: a request to it fails in
    a round trip (as ICMP port unreachable fails it for a socket of one's own), and a node
    started again at that address gets it and answers; a silent port still costs its timeout."""

    async def scenario() -> None:
        shared = SharedPort()
        config = Config(KRPC_TIMEOUT=5.0)
        a, b = await _nodes(tmp_path, shared, config, HOSTS[:2])
        try:
            gone = b.address
            b_id = b.id
            core_of(b).abort()
            await asyncio.sleep(0)
            core = core_of(a)
            started = time.monotonic()
            with pytest.raises(RpcTimeout, match="unreachable"):
                await core.request(Contact(b_id, *gone), "ping", {b"id": a.id})
            assert time.monotonic() - started < 1.0  # not its 5 s timeout
            assert shared.strays >= 1
            silent = core.request(Contact(bytes([7]) * 20, "127.0.0.1", silent_udp_port()), "ping", {b"id": a.id})
            again = Node(config, host=HOSTS[1], data_dir=tmp_path / HOSTS[1], shared_port=shared)
            await again.start()
            try:
                assert again.address == gone and again.id == b_id
                assert await a.ping(*gone) == b_id
            finally:
                await again.stop()
            assert not silent.done()
            silent.cancel()
        finally:
            await a.stop()

    run(scenario(), 20)


def test_an_address_is_one_nodes_and_must_be_loopback(tmp_path: Path) -> None:
    """A second node at a taken address, or a node at an address outside 127.0.0.0/8,
    is refused with a one-line LocalError and the first node runs on."""

    async def scenario() -> None:
        shared = SharedPort()
        (a,) = await _nodes(tmp_path, shared, Config(), HOSTS[:1])
        try:
            twin = Node(Config(), host=HOSTS[0], data_dir=tmp_path / "twin", shared_port=shared)
            with pytest.raises(LocalError, match="in use"):
                await twin.start()
            far = Node(Config(), host="0.0.0.0", data_dir=tmp_path / "far", shared_port=shared)
            with pytest.raises(LocalError, match="127.x.y.z"):
                await far.start()
            other = Node(Config(), host=HOSTS[1], port=1, data_dir=tmp_path / "other", shared_port=shared)
            with pytest.raises(LocalError, match="shares the lab's socket"):
                await other.start()
            assert len(shared) == 1 and a.running
            twin2 = Node(Config(), host=HOSTS[1], data_dir=tmp_path / "twin", shared_port=shared)
            await twin2.start()  # the refused node's directory was let go
            try:
                assert await twin2.ping(*a.address) == a.id
            finally:
                await twin2.stop()
        finally:
            await a.stop()

    run(scenario(), 20)


def _non_loopback_address() -> str | None:
    """An IPv4 address of this host outside 127.0.0.0/8 (the route to a public address)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.200", 9))  # TEST-NET-1: no datagram is sent by connect
        except OSError:
            return None
        host: str = s.getsockname()[0]
    return None if host.startswith("127.") or host == "0.0.0.0" else host


@pytest.mark.parametrize("profile", ["khashmir", "mainline"])
def test_a_lab_on_a_shared_socket_forms_stores_and_heals(profile: str) -> None:
    """A lab told to share one socket: every node at its own address on the one port,
    one descriptor for all, joined; a value stored is found by every node through the
    socket; a killed node's requests fail at once, and revived it answers at its address."""
    from dht import Lab
    from dhtutil import STEADY

    async def scenario() -> None:
        before = _udp_fds()
        lab = Lab(12, STEADY.replace(PROFILE=profile), shared_socket=True)
        await lab.start()
        try:
            shared = lab.shared_port
            assert shared is not None and len(shared) == 12
            assert {n.address[1] for n in lab.nodes} == {shared.port}
            assert len({n.address[0] for n in lab.nodes}) == 12
            assert len(_udp_fds() - before) == 1
            assert all(len(core_of(n).table) >= 1 for n in lab.nodes)
            key = os.urandom(20)
            if profile == "khashmir":
                await lab.nodes[2].store_value(key, b"shared")
                for n in lab.nodes:
                    assert await n.get_value(key) == [b"shared"]
            else:
                for n in lab.nodes[1:]:
                    assert await n.ping(*lab.nodes[0].address) == lab.nodes[0].id
            victim = lab.nodes[5]
            address = victim.address
            await lab.kill_node(victim)
            started = time.monotonic()
            with pytest.raises(RpcTimeout, match="unreachable"):
                await lab.nodes[1].ping(*address)
            assert time.monotonic() - started < 1.0
            await lab.revive_node(victim)
            assert victim.address == address
            assert await lab.nodes[1].ping(*address) == victim.id
        finally:
            await lab.stop()
        await asyncio.sleep(0)
        assert not lab.shared_port.is_open and len(_udp_fds() - before) == 0

    run(scenario(), 60)


def test_a_lab_shares_a_socket_from_its_threshold_on_unless_told() -> None:
    """for_lab: a socket each below LAB_SHARED_FROM nodes, one shared from it on; either
    when told; never when the nodes share one address (they would share the port too)."""
    from dht.rpc.shared_port import LAB_SHARED_FROM, for_lab

    assert for_lab(LAB_SHARED_FROM - 1, None, True, None) is None
    assert isinstance(for_lab(LAB_SHARED_FROM, None, True, None), SharedPort)
    assert isinstance(for_lab(3, True, True, None), SharedPort)
    assert for_lab(LAB_SHARED_FROM, False, True, None) is None
    assert for_lab(3, True, False, None) is None
    given = for_lab(3, True, True, 40000)
    assert given is not None and given.requested_port == 40000 and not given.is_open
