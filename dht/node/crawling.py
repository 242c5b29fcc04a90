"""The crawl driver: a node's crawls, sent through its request path (asyncio).

:class:`Crawls` runs the crawls of one node.  Each crawl is a
:class:`dht.crawl.CrawlMachine` (sans-IO: it decides what to ask, within
the crawl's budget) driven here: its queries go out as find_node through
the profile's :meth:`find_node_at` (so through the node's request path and
its own query budget, for either profile), their answers and failures go
back in with the loop's ``now``, and every :data:`PROGRESS_INTERVAL` a
:class:`~dht.core.events.CrawlProgress` is published.  The crawl starts from
the contacts of the node's routing table (a table crawl: from the address
given).  It ends when the machine has nothing left to ask, or when
:meth:`Crawls.stop` is called; either way it publishes
:class:`~dht.core.events.CrawlFinished` with the census of what was found.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING

from ..core.errors import DHTError, LocalError
from ..core.events import CrawlFinished, CrawlProgress
from ..crawl import Census, CrawlMachine, CrawlSpec, FindNodeAnswer, check_spec
from ..crawl.machine import Ask
from ..rpc import clock
from ..rpc.resolve import resolve_address

if TYPE_CHECKING:
    from .core import NodeCore

log = logging.getLogger(__name__)

#: Seconds between two CrawlProgress events of one crawl (at most 4 a second).
PROGRESS_INTERVAL = 0.25
#: Crawl ids, unique in the process.
_CRAWL_IDS = itertools.count(1)


class _Run:
    """One crawl under way: its machine once made, its wake-up, its queries out."""

    __slots__ = ("machine", "wake", "tasks", "stop_asked")

    def __init__(self) -> None:
        self.machine: CrawlMachine | None = None
        self.wake = asyncio.Event()
        self.tasks: set[asyncio.Task[FindNodeAnswer]] = set()
        self.stop_asked = False


class Crawls:
    """The crawls of one node (see the module's docstring)."""

    def __init__(self, node: "NodeCore") -> None:
        self.node = node
        self.runs: dict[int, _Run] = {}
        self.ended: set[int] = set()  # the ids of this node's crawls that have ended

    def start(self, spec: CrawlSpec) -> int:
        """Check ``spec`` (LocalError), start the crawl as the node's task; its id."""
        check_spec(spec)
        if not self.node.running:
            raise LocalError("node is not running")
        crawl_id = next(_CRAWL_IDS)
        self.runs[crawl_id] = _Run()
        self.node.spawn(self._guarded(crawl_id, spec))
        return crawl_id

    async def _guarded(self, crawl_id: int, spec: CrawlSpec) -> None:
        try:
            await self._drive(crawl_id, spec)
        except DHTError as exc:  # no contact to start from, a name that does not resolve
            self.node.warn(f"crawl {crawl_id}: {exc}")
            self._finish(crawl_id, None)

    def stop(self, crawl_id: int) -> None:
        """Stop crawl ``crawl_id``: it asks nothing more and ends with its census
        (nothing happens for a crawl that has ended; LocalError for an unknown id)."""
        run = self.runs.get(crawl_id)
        if run is None:
            if crawl_id in self.ended:
                return
            raise LocalError(f"no crawl has id {crawl_id!r}")
        run.stop_asked = True
        run.wake.set()

    async def crawl(self, spec: CrawlSpec) -> Census:
        """Run a crawl to its end; its census."""
        check_spec(spec)
        if not self.node.running:
            raise LocalError("node is not running")
        crawl_id = next(_CRAWL_IDS)
        self.runs[crawl_id] = _Run()
        return await self._drive(crawl_id, spec)

    async def _drive(self, crawl_id: int, spec: CrawlSpec) -> Census:
        run = self.runs[crawl_id]
        node = self.node
        try:
            if spec.table is not None:
                spec = CrawlSpec(spec.kind, spec.zone_bits, spec.zone_prefix,
                                 await resolve_address(spec.table), spec.budget)
            contacts = [c for c in node.table.contacts() if c.address not in node.routers] \
                if spec.kind != "table" else []
            if spec.kind != "table" and not contacts:
                raise LocalError("the node knows no other node to start a crawl from: bootstrap it first")
            budget = node.config.QUERY_BUDGET if spec.budget is None else spec.budget
            now = clock.now()
            machine = run.machine = CrawlMachine(spec, node.id, [], budget, now,
                                                 checks_ids=node.protocol.checks_ids)
            machine.seed(contacts, now)
            shown = now - PROGRESS_INTERVAL
            while True:
                now = clock.now()
                if run.stop_asked:
                    machine.stop(now)
                machine.expire(now)
                for ask in machine.next_queries(now):
                    self._send(run, machine, ask)
                if machine.done:
                    break
                if now - shown >= PROGRESS_INTERVAL:
                    shown = now
                    self._progress(crawl_id, machine, now)
                at = machine.next_time(now)
                wait = shown + PROGRESS_INTERVAL - now
                if at is not None:
                    wait = min(wait, at - now)
                if not run.wake.is_set():
                    try:
                        await asyncio.wait_for(run.wake.wait(), max(0.0, wait))
                    except asyncio.TimeoutError:
                        pass
                run.wake.clear()
            census = machine.census(clock.now())
        finally:
            for task in run.tasks:
                task.cancel()
        self._finish(crawl_id, census)
        return census

    def _finish(self, crawl_id: int, census: Census | None) -> None:
        run = self.runs.pop(crawl_id, None)
        self.ended.add(crawl_id)
        if census is not None and self.node.events.active:
            stopped = run is not None and run.stop_asked
            self.node.events.emit(CrawlFinished(clock.now(), crawl_id, census, stopped))

    def _progress(self, crawl_id: int, machine: CrawlMachine, now: float) -> None:
        if not self.node.events.active:
            return
        size = machine.estimate()
        self.node.events.emit(CrawlProgress(
            now, crawl_id, machine.asked, machine.answered_nodes(), machine.found(),
            None if size is None else size.estimate, None if size is None else size.low,
            None if size is None else size.high))

    def _send(self, run: _Run, machine: CrawlMachine, ask: Ask) -> None:
        task = asyncio.ensure_future(self.node.protocol.find_node_at(ask.address, ask.target, ask.node_id))
        run.tasks.add(task)

        def done(task: "asyncio.Task[FindNodeAnswer]") -> None:
            run.tasks.discard(task)
            if task.cancelled():
                machine.failed(ask.key, clock.now())
            elif (exc := task.exception()) is not None:
                if not isinstance(exc, DHTError):
                    log.error("a crawl's query failed", exc_info=exc)
                machine.failed(ask.key, clock.now())
            else:
                machine.answered(ask.key, task.result(), clock.now())
            run.wake.set()

        task.add_done_callback(done)

    def stop_all(self) -> None:
        for run in self.runs.values():
            run.stop_asked = True
            run.wake.set()

