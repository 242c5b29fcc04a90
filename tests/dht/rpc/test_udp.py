"""The node's UDP socket: one file descriptor per node, batched reads on it, closed once."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from dhtutil import run, running_nodes

from dht import Config
from dht.node import core_of
from dht.rpc import udp

FD_DIR = "/proc/self/fd"
pytestmark = pytest.mark.skipif(not os.path.isdir(FD_DIR), reason="needs /proc/self/fd")


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir(FD_DIR)}


def test_a_view_reads_its_sockets_queue_and_never_closes_its_descriptor() -> None:
    """A view drains the same queue as its socket, on the same descriptor; closing it (or
    dropping it) leaves the socket open and working."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as owner, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        owner.bind(("127.0.0.1", 0))
        owner.setblocking(False)
        before = open_fds()
        drain = udp.prepare(owner)
        assert drain is not None and drain.fileno() == owner.fileno()
        assert open_fds() == before  # no second descriptor
        for i in range(3):
            peer.sendto(b"d%d" % i, owner.getsockname())
        got = []
        while len(got) < 3:
            try:
                got.append(drain.recvfrom(udp.RECV_MAX)[0])
            except BlockingIOError:
                continue
        assert got == [b"d0", b"d1", b"d2"]  # in order, all of them
        drain.close()
        del drain
        assert owner.fileno() >= 0
        peer.sendto(b"after", owner.getsockname())
        owner.setblocking(True)
        assert owner.recvfrom(udp.RECV_MAX)[0] == b"after"


def test_a_running_node_holds_one_descriptor_for_its_socket(tmp_path: Path) -> None:
    """Started, each node holds one UDP descriptor, its socket's; batched reads add
    none; the two nodes ping each other through them; stopped, they hold none."""

    async def scenario() -> None:
        before = {f for f in open_fds() if _is_udp(f)}
        async with running_nodes(tmp_path, 2, Config()) as (a, b):
            fds = set()
            for node in (a, b):
                transport = core_of(node).transport
                assert transport.transport is not None
                fd = transport.transport.get_extra_info("socket").fileno()
                assert transport._drain is not None and transport._drain.fileno() == fd
                fds.add(fd)
            assert {f for f in open_fds() if _is_udp(f)} - before == fds
            assert await a.ping(*b.address) == b.id
            assert await b.ping(*a.address) == a.id
        await asyncio.sleep(0)  # asyncio closes a socket in the loop's next iteration
        assert {f for f in open_fds() if _is_udp(f)} - before == set()

    run(scenario(), 10)


def _is_udp(fd: int) -> bool:
    try:
        copy = os.dup(fd)
    except OSError:  # the listing's own descriptor, closed since
        return False
    try:
        sock = socket.socket(fileno=copy)
    except OSError:  # not a socket
        os.close(copy)
        return False
    with sock:
        return sock.type == socket.SOCK_DGRAM
