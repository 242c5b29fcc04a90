"""A lookup's requests and their soft timeouts (dht.rpc.inflight.InFlight), on a loop whose clock the test sets.

One timer serves all the requests of a lookup, set for the earliest soft
deadline out: each silent request must still be reported slow at its own
deadline, a request that settled never, and nothing after the lookup ends.
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

    def soft_timeout(self, contact: Contact | None = None) -> float:
        return self.softs.pop(0)

    def request(self, contact: Contact, method: str, args: Any, soft: float,
                on_done: Any = None) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures[contact.id] = fut
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


def test_each_silent_request_is_slow_at_its_own_deadline_and_a_settled_one_never() -> None:
    async def scenario(loop: ClockLoop) -> None:
        node = FakeNode([1.0, 1.0, 3.0, 0.5])
        slow: list[tuple[int, float, float]] = []
        settled: list[int] = []
        inflight = InFlight(node, FakeProgress(), lambda c: None,  # type: ignore[arg-type]
                             lambda c, f: settled.append(c.port - 7000),
                             lambda c, soft: slow.append((c.port - 7000, soft, round(loop.now, 6))))
        for i in (1, 2, 3):
            assert inflight.send(contact(i), "get_peers", {})
        node.futures[contact(1).id].set_result({})
        await turns()
        assert settled == [1]
        loop.now += 0.9
        await turns()
        assert slow == []
        inflight.send(contact(4), "get_peers", {})  # soft 0.5: due before the others' next
        loop.now += 0.1  # 1.0 after the first three
        await turns()
        assert slow == [(2, 1.0, 1001.0)]  # not 1: it answered
        loop.now += 0.4  # 4's deadline
        await turns()
        assert slow == [(2, 1.0, 1001.0), (4, 0.5, 1001.4)]
        loop.now += 1.5
        await turns()
        assert len(slow) == 2  # 3's deadline is 3.0 after it was sent
        loop.now += 0.1
        await turns()
        assert slow[-1] == (3, 3.0, 1003.0) and len(slow) == 3
        loop.now += 10
        await turns()
        assert len(slow) == 3 and inflight.timer is None

    run(scenario)


def test_nothing_is_reported_after_the_lookup_ends() -> None:
    async def scenario(loop: ClockLoop) -> None:
        node = FakeNode([1.0, 2.0])
        slow: list[Contact] = []
        inflight = InFlight(node, FakeProgress(), lambda c: None,  # type: ignore[arg-type]
                             lambda c, f: None, lambda c, soft: slow.append(c))
        inflight.send(contact(1), "get_peers", {})
        inflight.send(contact(2), "get_peers", {})
        inflight.cancel()
        loop.now += 5
        await turns()
        assert slow == [] and inflight.timer is None

    run(scenario)


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
