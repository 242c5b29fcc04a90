"""A lab on its own event loop in a worker thread, driven from another loop.

A 2,000-node lab is some 40,000 requests to form and a steady stream of
datagrams afterwards: on the explorer's own loop (the Qt one) that is
seconds of callbacks between two repaints.  :class:`LabThread` runs a
:class:`~dht.lab.lab.Lab` on a loop of its own in a daemon thread, so the
caller's loop -- where the explorer's own node lives -- only ever sees
small, batched pieces of it.

Theory of operation.

* Everything touching the lab or its nodes runs on the lab's loop.  The
  caller awaits it: :meth:`LabThread.call` submits a coroutine with
  :func:`asyncio.run_coroutine_threadsafe` and wraps the concurrent future
  for the caller's loop (cancelling the wait cancels the work).  On top of
  it are the operations a front end needs: :meth:`overview` (one
  :class:`LabNodeInfo` per node, alive or dead), :meth:`inspect` (one node's
  routing table, stored values and statistics, as a :class:`NodeView`),
  kill, revive, add, resize, conditions, traffic.
* Events go the other way through :class:`~dht.lab.event_channel.EventChannel`: a bounded deque
  (the oldest dropped and counted when full) filled on the lab's thread,
  drained on the caller's loop at most once every ``interval`` seconds (one
  ``call_soon_threadsafe`` per batch, not per event).  The lab's own events
  (formation progress, nodes killed, revived and added, conditions) come
  through :meth:`subscribe`; a node's events, or every node's, of chosen
  kinds through :meth:`watch`.  Each item is ``(node id, event)``; the
  lab's own events have the id ``b""``.
* The two threads share the GIL: the lab's Python code runs while the
  caller's thread waits in Qt's C++ event loop, and each time the caller
  needs to run Python the interpreter switches within
  ``sys.getswitchinterval()`` (5 ms by default).
* Except during a garbage collection: a full collection of a 2,000-node
  lab holds the GIL 100-360 ms, a freeze of the window each.  The lab holds
  them off while it forms (:mod:`dht.lab.quiet_gc`), and with ``quiet_gc``
  (the default) what is alive once it has formed is frozen out of later
  ones (:func:`gc.freeze`).
* What the caller gets of a node are plain values taken on the lab's loop
  (:mod:`dht.lab.views`); its watches are :mod:`dht.lab.watches`'.

Nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

from ..core.config import Config
from ..core.contact import Address
from ..core.errors import LocalError
from ..core.events import Event, LabNodeChanged
from ..khashmir.lookups import StoreResult
from .conditions import Conditions
from .event_channel import DEFAULT_INTERVAL, DEFAULT_MAX_EVENTS, EventChannel
from .lab import Lab
from .views import LabNodeInfo, NodeView, node_info, node_view
from .watches import NodeWatch, Sourced

__all__ = ["EventChannel", "LabNodeInfo", "LabThread", "NodeView", "Sourced"]

T = TypeVar("T")


class LabThread:
    """A :class:`Lab` on its own loop in a daemon thread; every method is used from the caller's loop."""

    def __init__(
        self,
        size: int,
        config: Config | None = None,
        *,
        host: str | None = None,
        data_dir: str | Path | None = None,
        conditions: Conditions | None = None,
        seed: int | None = None,
        interval: float = DEFAULT_INTERVAL,
        max_events: int = DEFAULT_MAX_EVENTS,
        quiet_gc: bool = True,
        threaded: bool = True,
        host6: str | None = None,
    ) -> None:
        """``quiet_gc``: what is alive once the lab has formed is frozen out of later
        full garbage collections (none runs while it forms; see the module's docstring).
        ``threaded`` False: the lab runs on the caller's own loop, behind the same
        interface (for small labs, where a thread buys nothing).  ``host6``: a dual-stack
        Mainline lab, every node's IPv6 side on it (``Lab(host6=...)``)."""
        self.quiet_gc = quiet_gc
        self.threaded = threaded
        self.lab = Lab(size, config, host=host, data_dir=data_dir, conditions=conditions, seed=seed, host6=host6)
        """The lab itself: touch it only on :attr:`loop` (through :meth:`call`)."""
        self.interval = interval
        self.max_events = max_events
        self.loop: asyncio.AbstractEventLoop | None = asyncio.new_event_loop() if threaded else None
        """The lab's own loop (the worker thread's, or the caller's when not threaded)."""
        self._thread = threading.Thread(target=self._run, name="khashmir-lab", daemon=True) if threaded else None
        self._caller: asyncio.AbstractEventLoop | None = None
        self._lab_subscribers: list[Callable[[list[Sourced]], None]] = []
        self._lab_channel: EventChannel[Sourced] | None = None
        self._watches: list[NodeWatch] = []
        self._conditions = self.lab.conditions
        self._bootstrap: Address | None = None
        self._size = 0
        self._started = False
        self._stopped = False

    # --- the thread ----------------------------------------------------------

    def _run(self) -> None:
        loop = self.loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @property
    def running(self) -> bool:
        alive = self._thread.is_alive() if self._thread is not None else self._started
        return alive and not self._stopped

    @property
    def thread_alive(self) -> bool:
        """Whether the worker thread still runs (False when not threaded)."""
        return self._thread is not None and self._thread.is_alive()

    async def call(self, fn: Callable[[Lab], Awaitable[T]]) -> T:
        """Await ``fn(lab)`` run on the lab's loop (its exception is raised here)."""
        if not self.running:
            raise LocalError("the lab is not running")
        return await self._call(fn)

    async def _call(self, fn: Callable[[Lab], Awaitable[T]]) -> T:
        if self._thread is None:
            return await fn(self.lab)

        async def job() -> T:
            return await fn(self.lab)

        assert self.loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(job(), self.loop))

    async def run(self, fn: Callable[[Lab], T]) -> T:
        """Await the plain function ``fn(lab)`` run on the lab's loop."""

        async def job(lab: Lab) -> T:
            return fn(lab)

        return await self.call(job)

    # --- life cycle ------------------------------------------------------------

    async def start(self) -> None:
        """Start the thread and form the lab (progress comes through :meth:`subscribe`)."""
        if self._started or self._stopped:
            raise LocalError("the lab thread is already started")
        self._started = True
        self._caller = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = self._caller
        channel: EventChannel[Sourced] = EventChannel(
            self._caller, self._deliver_lab, self.interval, self.max_events
        )
        self._lab_channel = channel
        lab = self.lab

        def forward(event: Event) -> None:  # on the lab's thread
            if isinstance(event, LabNodeChanged):
                self._size = len(lab.nodes)  # one int, read at once by the caller
            channel.push((b"", event))

        lab.subscribe(forward)
        if self._thread is not None:
            self._thread.start()
        try:
            await self._call(self._start_lab)
        except BaseException:
            await self.stop()
            raise

    async def _start_lab(self, lab: Lab) -> None:
        try:
            await lab.start()  # no automatic full collection meanwhile (dht.lab.quiet_gc)
        finally:
            if self.quiet_gc:
                gc.freeze()
        self._bootstrap = lab.bootstrap_address
        self._size = len(lab.nodes)

    async def stop(self) -> None:
        """Stop the lab, then its loop and thread (without blocking the caller's loop)."""
        if self._stopped or not self._started:
            self._stopped = True
            return
        try:
            await self._call(lambda lab: lab.stop())
        finally:
            self._stopped = True
            for channel in [w.channel for w in self._watches] + [self._lab_channel]:
                if channel is not None:
                    channel.close()
            if self._thread is not None and self.loop is not None and self._thread.is_alive():
                caller = asyncio.get_running_loop()
                done: asyncio.Future[None] = caller.create_future()

                def settle() -> None:
                    if not done.done():
                        done.set_result(None)

                def finished() -> None:
                    caller.call_soon_threadsafe(settle)

                self.loop.call_soon_threadsafe(finished)
                self.loop.call_soon_threadsafe(self.loop.stop)
                await done

    # --- what the caller may read at once ---------------------------------------

    @property
    def bootstrap_address(self) -> Address:
        """The address of the lab's first node, as when the lab formed."""
        if self._bootstrap is None:
            raise LocalError("the lab has not formed yet")
        return self._bootstrap

    @property
    def size(self) -> int:
        """Running nodes (kept up to date from the lab's thread)."""
        return self._size

    @property
    def conditions(self) -> Conditions:
        return self._conditions

    @property
    def dropped(self) -> int:
        """Events dropped by full channels, all together."""
        channels = [w.channel for w in self._watches] + [self._lab_channel]
        return sum(c.dropped for c in channels if c is not None)

    # --- events -------------------------------------------------------------

    def subscribe(self, callback: Callable[[list[Sourced]], None]) -> Callable[[], None]:
        """``callback(batch)`` on the caller's loop for the lab's own events; returns an unsubscribe."""
        self._lab_subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._lab_subscribers:
                self._lab_subscribers.remove(callback)

        return unsubscribe

    def _deliver_lab(self, batch: list[Sourced]) -> None:
        for callback in tuple(self._lab_subscribers):
            callback(batch)

    async def watch(
        self, callback: Callable[[list[Sourced]], None], node_id: bytes | None = None,
        kinds: tuple[type, ...] | None = None,
    ) -> Callable[[], Awaitable[None]]:
        """Events of one lab node (``node_id``) or of every node (None, nodes added later
        included), of the given ``kinds`` (None: all), batched to ``callback`` on the
        caller's loop.  Returns a coroutine function that ends the watch.

        Every event of a watched node is built (a node nobody watches builds none):
        watch every node only for the few kinds needed.
        """
        if self._caller is None:
            raise LocalError("the lab thread is not started")
        w = NodeWatch(EventChannel(self._caller, callback, self.interval, self.max_events), node_id, kinds)
        self._watches.append(w)
        await self.call(w.attach)

        async def unwatch() -> None:
            if w in self._watches:
                self._watches.remove(w)
            w.channel.close()
            if self.running:
                await self.run(w.detach)

        return unwatch

    # --- operations ----------------------------------------------------------------

    async def overview(self) -> list[LabNodeInfo]:
        """Every lab node, running ones first (in the lab's order), then the dead."""

        def take(lab: Lab) -> list[LabNodeInfo]:
            return [node_info(n, True) for n in lab.nodes] + [node_info(n, False) for n in lab.dead]

        return await self.run(take)

    async def inspect(self, node_id: bytes) -> NodeView:
        """One node's routing table, stored values and statistics (LocalError if unknown)."""

        async def take(lab: Lab) -> NodeView:
            return await node_view(lab.node_by_id(node_id))

        return await self.call(take)

    async def kill(self, node_id: bytes | None = None) -> LabNodeInfo:
        """Kill a lab node (a random one if None)."""

        async def act(lab: Lab) -> LabNodeInfo:
            node = await lab.kill_node(lab.node_by_id(node_id) if node_id is not None else None)
            return node_info(node, False)

        return await self.call(act)

    async def revive(self, node_id: bytes | None = None) -> LabNodeInfo:
        """Revive a killed lab node (the longest dead if None)."""

        async def act(lab: Lab) -> LabNodeInfo:
            node = await lab.revive_node(lab.node_by_id(node_id) if node_id is not None else None)
            return node_info(node, True)

        return await self.call(act)

    async def add(self) -> LabNodeInfo:
        """Start one more lab node; it joins as a newcomer."""

        async def act(lab: Lab) -> LabNodeInfo:
            return node_info(await lab.add_node(), True)

        return await self.call(act)

    async def resize(self, size: int) -> None:
        await self.call(lambda lab: lab.resize(size))

    async def store_from(self, node_id: bytes, key: bytes, value: bytes, local: bool = True) -> StoreResult:
        """Store ``value`` under ``key`` from the lab node ``node_id`` (its ``store_value``)."""

        async def act(lab: Lab) -> StoreResult:
            return await lab.node_by_id(node_id).store_value(key, value, local)

        return await self.call(act)

    @property
    def config(self) -> Config:
        """The lab nodes' configuration."""
        return self.lab.config

    async def set_conditions(self, conditions: Conditions) -> None:
        await self.run(lambda lab: lab.set_conditions(conditions))
        self._conditions = conditions

    async def start_traffic(self, per_second: float) -> None:
        await self.run(lambda lab: lab.start_traffic(per_second))

    async def stop_traffic(self) -> None:
        await self.run(lambda lab: lab.stop_traffic())

