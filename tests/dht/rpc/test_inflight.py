"""A lookup's requests and their soft timeouts (dht.rpc.inflight.InFlight), on a loop whose clock the test sets.

The node's request table says when a request is late (its soft deadline, on
the node's one timer): the lookup's part must report it slow with its own
soft timeout, and nothing after the lookup ends.
The next queries go out from the answers' callbacks: an error there must
still reach the lookup's caller.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from dht.rpc import clock
from dht.rpc.inflight import InFlight
from dht.core.contact import Contact


class ClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is ``now``, moved by the test (and, while it runs, the
    node's one clock, :func:`dht.rpc.clock.now`: the loop's)."""

    now = 1000.0

    def time(self) -> float:
        return self.now


class FakeNode:
    """Requests that stay out until the test settles them; soft timeouts from a list."""

    def __init__(self, softs: list[float]) -> None:
        self.softs = softs
        self.futures: dict[bytes, asyncio.Future[Any]] = {}
        self.lates: dict[bytes, Any] = {}

    def soft_timeout(self, contact: Contact | None = None) -> float:
        return self.softs.pop(0)

    def request(self, contact: Contact, method: str, args: Any, soft: float,
                on_done: Any = None, late: Any = None) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures[contact.id] = fut
        self.lates[contact.id] = late
        if on_done is not None:  # the node's contract: called once when the future is done
            fut.add_done_callback(on_done)
        return fut


class FakeProgress:
    def queried_one(self, contact: Contact, soft_timeout: float | None = None) -> None:
        pass

    def outcome(self, contact: Contact, outcome: str, detail: str = "") -> None:
        pass


def contact(i: int) -> Contact:
    return Contact(bytes([i]) * 20, "127.0.0.1", 7000 + i)


async def turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def run(scenario: Any) -> None:
    loop = ClockLoop()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", loop.time)
        try:
            loop.run_until_complete(scenario(loop))
        finally:
            loop.close()


def test_a_late_request_is_slow_with_its_own_soft_timeout_until_the_lookup_ends() -> None:
    """The request table says when a request is late (tests/dht/core/test_request_table.py);
    the lookup's part hands it to ``slow`` with the soft timeout it was sent with, and
    nothing once the lookup has ended."""
    async def scenario(loop: ClockLoop) -> None:
        node = FakeNode([1.0, 3.0, 0.5])
        slow: list[tuple[int, float]] = []
        inflight = InFlight(node, FakeProgress(), lambda c: None,  # type: ignore[arg-type]
                             lambda c, f: None, lambda c, soft: slow.append((c.port - 7000, soft)))
        for i in (1, 2, 3):
            assert inflight.send(contact(i), "get_peers", {})
        node.lates[contact(3).id]()
        node.lates[contact(1).id]()
        assert slow == [(3, 0.5), (1, 1.0)]
        inflight.cancel()
        node.lates[contact(2).id]()
        assert slow == [(3, 0.5), (1, 1.0)]
        assert all(f.cancelled() for f in node.futures.values())

    run(scenario)


def test_a_lookup_request_is_told_late_by_the_node_s_one_timer(tmp_path: Path) -> None:
    """End to end on loopback: a silent node's request is reported slow by the transport's
    timer at its soft timeout, long before its full timeout, and the lookup's answerer is not."""
    from dhtutil import run as run_async, running_nodes, silent_udp_port

    from dht import Config
    from dht.node import core_of
    from dht.rpc.progress import Progress

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, Config(KRPC_TIMEOUT=5.0, SOFT_RESENDS=0)) as (a, b):
            core = core_of(a)
            slow: list[tuple[int, float]] = []
            settled = asyncio.get_running_loop().create_future()
            nobody = Contact(bytes(range(20)), "127.0.0.1", silent_udp_port())
            inflight = InFlight(core, Progress(core, "find_node", b.id), lambda c: None,
                                lambda c, f: None if settled.done() else settled.set_result(c),
                                lambda c, soft: slow.append((c.port, soft)))
            started = clock.now()
            inflight.send(b.contact, "ping", {b"id": a.id})
            inflight.send(nobody, "ping", {b"id": a.id})
            assert (await asyncio.wait_for(settled, 5)).id == b.id
            while not slow and clock.now() - started < 4:
                await asyncio.sleep(0.02)
            assert [port for port, _ in slow] == [nobody.port]
            assert slow[0][1] < 4 and clock.now() - started < 4.5  # its soft timeout, not the full one
            inflight.cancel()

    run_async(scenario(), 10)


def test_an_error_in_a_callback_of_the_lookup_is_raised_by_iterate(tmp_path: Path) -> None:
    """The next queries go out from the answer's callback: what fails there (here a
    ``skip`` that raises for the contact the first answer brought) must reach the
    caller of the lookup, not the loop's exception handler."""
    from dhtutil import run, running_nodes

    from dht import Config
    from dht.rpc.iterate import iterate
    from dht.rpc.progress import Progress
    from dht.node import core_of

    async def scenario() -> None:
        async with running_nodes(tmp_path, 3, Config(PROFILE="mainline", KRPC_TIMEOUT=1.0)) as (a, b, c):
            core_of(a).requests.insert_node(b.contact)
            core_of(b).requests.insert_node(c.contact)
            asked: list[Contact] = []

            def skip(contact: Contact) -> bool:
                asked.append(contact)
                if contact.id == c.id:
                    raise RuntimeError("bug in skip")
                return False

            with pytest.raises(RuntimeError, match="bug in skip"):
                await iterate(core_of(a), c.id, "find_node", Progress(core_of(a), "find_node", c.id), skip=skip,
                              include_self=False)
            assert [x.id for x in asked] == [b.id, c.id]  # the second from b's answer

    run(scenario(), 10)


def test_a_request_s_on_done_runs_once_from_the_answer_itself(tmp_path: Path) -> None:
    """``request(..., on_done)``: called at once from the datagram's callback when the
    answer comes (a lookup's next queries go out there, not a loop pass later), and
    exactly once however the request ends (answered, timed out; cancelled: when it ends)."""
    import traceback

    from dhtutil import silent_udp_port, run as run_async, running_nodes, wait_until

    from dht import Config
    from dht.errors import RpcTimeout
    from dht.node import core_of

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, Config(KRPC_TIMEOUT=0.3)) as (a, b):
            calls: list[tuple[str, bool]] = []

            def record(fut: asyncio.Future[Any]) -> None:
                frames = {f.name for f in traceback.extract_stack()}
                state = "cancelled" if fut.cancelled() else "failed" if fut.exception() else "answered"
                calls.append((state, "datagram_received" in frames))

            answer = await core_of(a).request(b.contact, "ping", {b"id": a.id}, None, record)
            assert answer[b"id"] == b.id
            await turns()
            assert calls == [("answered", True)]  # from the answer's own callback, once

            calls.clear()
            nobody = Contact(bytes(range(20)), "127.0.0.1", silent_udp_port())
            with pytest.raises(RpcTimeout):
                await core_of(a).request(nobody, "ping", {b"id": a.id}, None, record)
            await turns()
            assert calls == [("failed", False)]

            calls.clear()
            fut = core_of(a).request(nobody, "ping", {b"id": a.id}, None, record)
            fut.cancel()
            await wait_until(lambda: not core_of(a).transport.outstanding.pending, what="the request timed out")
            await turns()
            assert calls == [("cancelled", False)]  # told once, at its own end (the timeout)

    run_async(scenario(), 10)
