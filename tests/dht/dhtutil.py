"""Helpers shared by the dht tests (imported as a plain module; see conftest.py).

Everything here stops by itself: every wait has a deadline, every network
address is on 127.0.0.1 with a port chosen by the kernel (port 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Coroutine, TypeVar

import bencodepy
import pytest

from dht.node import core_of
from dht import Config, Node
from dht.wire import krpc

T = TypeVar("T")

HOST = "127.0.0.1"

#: A configuration for tests: short RPC timeouts so failures show quickly.
FAST = Config(KRPC_TIMEOUT=1.0)

#: For tests where every node is alive and exact results are expected: a
#: lookup never moves on from a live node merely slow to be scheduled (the
#: soft timeout is at least 1 s instead of 50 ms).
STEADY = Config(KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run ``coro`` in a fresh event loop; fail (not hang) after ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def wait_until(
    condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Poll a real condition every few milliseconds until it holds, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nobody listens on (bound to 0, then closed).

    A datagram sent there is refused at once (ICMP port unreachable): a request
    to it fails in a round trip.  For a node that never answers, use
    :func:`silent_udp_port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


#: Sockets of silent_udp_port, open until the test ends (tests/dht/conftest.py closes them).
_SILENT: list[socket.socket] = []


def silent_udp_port(host: str = HOST) -> int:
    """A UDP port on ``host`` bound by a socket that never reads nor answers: a node
    that drops everything (behind a NAT or a firewall), so no ICMP error comes back
    and a request to it waits its full timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    _SILENT.append(s)
    return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def running_node(
    data_dir: Path, config: Config | None = None, name: str = "khashmir.db"
) -> AsyncIterator[Node]:
    """A started node on 127.0.0.1, port 0, stopped on exit."""
    node = Node(config or FAST, host=HOST, port=0, data_dir=data_dir, db_name=name)
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


@contextlib.asynccontextmanager
async def running_nodes(
    tmp: Path, count: int, config: Config | None = None
) -> AsyncIterator[list[Node]]:
    nodes: list[Node] = []
    try:
        for i in range(count):
            node = Node(config or FAST, host=HOST, port=0, data_dir=tmp / f"n{i:02d}")
            await node.start()
            nodes.append(node)
        yield nodes
    finally:
        await asyncio.gather(*(n.stop() for n in nodes), return_exceptions=True)


async def joined(nodes: list[Node]) -> None:
    """Every node joins the first, then each in turn looks up its own neighbourhood."""
    for n in nodes[1:]:
        await n.join(*nodes[0].address)
    for n in nodes:
        await core_of(n).find_close_nodes()


def query(method: str, args: dict[bytes, Any], tid: bytes = b"tq") -> bytes:
    return krpc.encode_query(tid, method, args)


def raw(msg: Any) -> bytes:
    data: bytes = bencodepy.encode(msg)
    return data


def _is_query(data: bytes) -> bool:
    try:
        msg = bencodepy.decode(data)
    except Exception:
        return False
    return isinstance(msg, dict) and msg.get(b"y") == b"q"


class RawClient(asyncio.DatagramProtocol):
    """A plain UDP client speaking bytes, for poking a node on the wire."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None
        self.queries_seen: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.queue.put_nowait((data, (addr[0], addr[1])))

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)

    async def recv(self, timeout: float = 5.0) -> tuple[bytes, tuple[str, int]]:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def ask(self, data: bytes, addr: tuple[str, int], timeout: float = 5.0) -> bytes:
        """Send one datagram and return the next answer received.

        Queries the node sends meanwhile (it pings contacts it has not yet
        verified) are not answers: they are kept in :attr:`queries_seen`.
        """
        self.send(data, addr)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            reply, _ = await self.recv(max(0.0, deadline - loop.time()))
            if not _is_query(reply):
                return reply
            self.queries_seen.append(reply)

    async def ask_decoded(self, data: bytes, addr: tuple[str, int]) -> dict[bytes, Any]:
        reply = await self.ask(data, addr)
        msg = bencodepy.decode(reply)
        assert isinstance(msg, dict)
        return msg

    async def replies_before_ping(
        self, data: bytes, addr: tuple[str, int], marker: bytes = b"MARK"
    ) -> list[bytes]:
        """Send ``data`` then a ping tagged ``marker``; return what came before the pong.

        The node reads its socket in order and answers synchronously, so any
        reply to ``data`` arrives before the reply to the ping: this observes
        "no reply" without waiting for a timeout.
        """
        self.send(data, addr)
        self.send(query("ping", {b"id": b"P" * 20}, marker), addr)
        before: list[bytes] = []
        while True:
            reply, _ = await self.recv()
            msg = bencodepy.decode(reply)
            if isinstance(msg, dict) and msg.get(b"t") == marker:
                assert msg.get(b"y") == b"r", msg
                return before
            before.append(reply)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def can_bind(host: str) -> bool:
    """Whether ``host`` is a loopback address here (all of 127.0.0.0/8 is, on Linux)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
        return True
    except OSError:
        return False


@contextlib.asynccontextmanager
async def raw_client(host: str = HOST) -> AsyncIterator[RawClient]:
    """A raw UDP client bound to ``host`` (a loopback address acting as one host).

    A ``host`` other than 127.0.0.1 that this system cannot bind skips the test.
    """
    loop = asyncio.get_running_loop()
    try:
        _, client = await loop.create_datagram_endpoint(RawClient, local_addr=(host, 0))
    except OSError as exc:
        if host == HOST:
            raise
        pytest.skip(f"cannot bind {host} (only 127.0.0.1 is loopback here?): {exc}")
    try:
        yield client
    finally:
        client.close()


class ThreadedNode:
    """A node running in its own event loop thread (for hypothesis tests).

    ``call(coro_factory)`` runs a coroutine in the node's loop and returns
    its result, with a deadline.
    """

    def __init__(self, data_dir: Path, config: Config | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.node = Node(config or FAST, host=HOST, port=0, data_dir=data_dir)
        self.call(self.node.start)

    def call(self, factory: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
        async def runner() -> T:
            return await factory()

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    def sync(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run a plain function in the node's loop thread."""

        async def runner() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    def close(self) -> None:
        try:
            self.call(self.node.stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
