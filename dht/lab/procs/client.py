"""A lab in worker processes, driven from the caller's loop: :class:`LabProcesses`.

A lab of thousands of nodes on a thread of the caller's process still
shares its interpreter lock: every Python step of the lab is one the
window does not take.  :class:`LabProcesses` has :class:`~dht.lab.thread.LabThread`'s
interface but runs the lab in N worker processes (:mod:`dht.lab.procs.worker`),
so the caller's process runs none of the lab's Python.

Theory of operation.

* Partition.  Node i of the lab lives in worker i mod N, on its own
  loopback address (:func:`dht.lab.hosts.lab_host` of i), so the workers
  are hosts joined over loopback.  Worker k owns the k-th of N equal slices
  of the id space (:func:`~dht.lab.procs.worker.id_slice`): its nodes' ids
  are drawn there before they start, so a node's K closest are almost all
  in its own worker and reached on its fabric; only the nodes at the edges
  of a slice and the introductions to far buckets in other slices cross
  the kernel (:attr:`LabProcesses.crossing`).  Worker k's database is
  ``data_dir/proc-K/lab.db`` (its nodes' slots are their numbers): a lab
  started again on the same directory with the same number of processes
  gets its ids and tables back.
* Formation.  Every worker starts its nodes and sends their (id, address);
  the parent sends the whole directory back to every worker, which plans
  its own nodes' introductions against it
  (:class:`~dht.lab.formation.FormationPlan`); then the parent runs each
  stage of :data:`~dht.lab.formation.PART_STAGES` on every worker, and waits for
  all before the next, so the order the formation's theory needs holds
  across processes.  Pings between nodes of one worker go on its fabric,
  the others through the sockets.  Joins are paced within the worker's
  share of the first node's budget, and run while the far introductions do.
* Commands go over each worker's pipe with a number, and the answer comes
  back with it (:mod:`dht.lab.procs.protocol`); the awaitables here raise
  a one-line :class:`~dht.core.errors.LocalError` when the worker failed,
  did not answer within :data:`COMMAND_TIMEOUT` or is gone.
* Events.  Each worker batches its lab's events and each watch's at most
  every ``interval`` from bounded channels; a thread per worker reads its
  pipe and hands each batch to the caller's loop with one
  ``call_soon_threadsafe``.  Progress reports of the workers are summed
  into the lab's (:class:`~dht.core.events.LabProgress`); the lab's
  conditions are reported once, by the parent.
* A worker that dies: its reading thread meets the end of the pipe; on the
  caller's loop its pending commands fail at once, a
  :class:`~dht.core.events.LabWorkerLost` goes to the subscribers, the
  overview shows its nodes dead (as last seen), and commands for them fail
  with a LocalError.  :meth:`LabProcesses.stop` still stops the others and
  leaves no process behind.
* Workers run at a lower priority (:data:`WORKER_NICENESS`): on a machine
  whose cores are busy, the window's process is scheduled first.
* Processes are started with ``spawn`` (never ``fork``: the caller may run
  Qt's threads); programs frozen with PyInstaller call
  :func:`multiprocessing.freeze_support` first thing.

Nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import multiprocessing
import os
import random
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Awaitable, Callable

from ...core.config import Config
from ...core.contact import Address
from ...core.errors import LocalError
from ...core.events import LabConditionsChanged, LabNodeChanged, LabProgress, LabWorkerLost
from ...khashmir.lookups import StoreResult
from ...rpc import clock
from ..conditions import Conditions
from ..event_channel import DEFAULT_INTERVAL, DEFAULT_MAX_EVENTS
from ..formation import PART_STAGES
from ..views import LabNodeInfo, NodeView
from ..watches import Sourced
from . import worker
from .protocol import LAB, REPLY, WATCH, Columns, Row, info_of, infos_of

#: Seconds a worker may take to answer a command (formation stages: no limit).
COMMAND_TIMEOUT = 60.0
#: Seconds a stopping worker is given to exit before it is killed ...
STOP_TIMEOUT = 10.0
#: ... and more for each of its running nodes (each saves its table).
STOP_PER_NODE = 0.002
#: The fewest nodes a worker process gets by default (smaller labs: fewer workers).
MIN_NODES_PER_PROCESS = 50
#: Added to a worker's nice value by default: where the cores are busy, the caller's
#: process (the window) is scheduled before the lab's workers.
WORKER_NICENESS = 5


def default_processes(size: int) -> int:
    """Worker processes for a lab of ``size`` nodes by default: one per core, at
    most one per MIN_NODES_PER_PROCESS nodes, at least one."""
    return max(1, min(os.cpu_count() or 1, size // MIN_NODES_PER_PROCESS))


class _Worker:
    """The parent's side of one worker: its process, its pipe, its commands under way."""

    def __init__(self, index: int, process: BaseProcess, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self.alive = True
        self.exitcode: int | None = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.running = 0  # its running nodes, as it last said
        self.dropped = 0
        self.infos: dict[bytes, LabNodeInfo] = {}  # its nodes as last seen (shown dead if it is lost)
        self.progress: tuple[str, int, int] | None = None


class LabProcesses:
    """A lab in worker processes, used from the caller's loop (see the module's docstring).

    The same interface as :class:`~dht.lab.thread.LabThread` (but for ``call``
    and ``run``: code cannot cross to another process).
    """

    threaded = True
    """The lab runs away from the caller's loop (as a threaded LabThread's)."""

    def __init__(
        self,
        size: int,
        config: Config | None = None,
        *,
        processes: int | None = None,
        host: str | None = None,
        data_dir: str | Path | None = None,
        conditions: Conditions | None = None,
        seed: int | None = None,
        interval: float = DEFAULT_INTERVAL,
        max_events: int = DEFAULT_MAX_EVENTS,
        quiet_gc: bool = True,
        host6: str | None = None,
        niceness: int = WORKER_NICENESS,
    ) -> None:
        """``processes``: worker processes (None: :func:`default_processes`); at most
        ``size``.  ``niceness``: added to each worker's nice value (0: as the caller;
        by default the caller is scheduled first where the cores are busy).  The other
        arguments as :class:`~dht.lab.thread.LabThread`'s."""
        if size < 1:
            raise LocalError(f"a lab needs at least one node, not {size}")
        n = default_processes(size) if processes is None else processes
        if n < 1:
            raise LocalError(f"a lab needs at least one process, not {n}")
        self.processes = min(n, size)
        self._size0 = size
        self._config = config or Config()
        self._host, self._host6 = host, host6
        self._data_dir = None if data_dir is None else Path(data_dir)
        self._conditions = conditions or Conditions()
        self._seed = seed
        self.interval = interval
        self.max_events = max_events
        self.quiet_gc = quiet_gc
        self.niceness = niceness
        self._workers: list[_Worker] = []
        self._caller: asyncio.AbstractEventLoop | None = None
        self._rids = itertools.count(1)
        self._wids = itertools.count(1)
        self._owner: dict[bytes, int] = {}  # node id -> its worker
        self._dead: list[bytes] = []  # killed nodes, oldest death first
        self._lab_subscribers: list[Callable[[list[Sourced]], None]] = []
        self._watches: dict[int, Callable[[list[Sourced]], None]] = {}
        self._bootstrap: Address | None = None
        self._bootstrap6: Address | None = None
        self._started = False
        self._stopped = False
        self._stopping = False
        self.timings: dict[str, float] = {}
        """Seconds of each step of the formation: start (the workers and their nodes), plan,
        each of the formation's PART_STAGES, formed."""
        self.requests = (0, 0)
        """Formation requests sent and failed, all workers together."""
        self.crossing = (0, 0)
        """Formation requests planned to cross between workers (through the sockets), and
        all planned, all workers together."""

    # --- what the caller may read at once -----------------------------------------

    @property
    def config(self) -> Config:
        """The lab nodes' configuration."""
        return self._config

    @property
    def running(self) -> bool:
        return self._started and not self._stopped and not self._stopping

    @property
    def bootstrap_address(self) -> Address:
        """The address of the lab's first node, as when the lab formed."""
        if self._bootstrap is None:
            raise LocalError("the lab has not formed yet")
        return self._bootstrap

    @property
    def bootstrap_address6(self) -> Address | None:
        """The address of the first node's IPv6 side (None: the lab has none)."""
        return self._bootstrap6

    @property
    def size(self) -> int:
        """Running nodes, as the workers last said (those of a lost worker: none)."""
        return sum(w.running for w in self._workers if w.alive)

    @property
    def conditions(self) -> Conditions:
        return self._conditions

    @property
    def dropped(self) -> int:
        """Events dropped by the workers' full channels, all together."""
        return sum(w.dropped for w in self._workers)

    @property
    def pids(self) -> list[int | None]:
        """The workers' process ids, in the order of their parts."""
        return [w.process.pid for w in self._workers]

    @property
    def workers_alive(self) -> int:
        return sum(w.alive for w in self._workers)

    # --- the pipes -----------------------------------------------------------------

    def _read(self, w: _Worker, caller: asyncio.AbstractEventLoop) -> None:
        """A worker's reading thread: every message to the caller's loop, then the end."""
        while True:
            try:
                message = w.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that does not unpickle: the pipe is of no more use
                break
            try:
                caller.call_soon_threadsafe(self._received, w, message)
            except RuntimeError:  # the caller's loop is closed
                return
        w.process.join(STOP_TIMEOUT)
        try:
            caller.call_soon_threadsafe(self._lost, w, w.process.exitcode)
        except RuntimeError:
            pass

    def _received(self, w: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == REPLY:
            _, rid, ok, result = message
            future = w.pending.pop(rid, None)
            if future is not None and not future.done():
                if ok:
                    future.set_result(result)
                else:
                    future.set_exception(LocalError(str(result)))
        elif kind == LAB:
            _, w.running, w.dropped, items = message
            self._lab_events(w, items)
        elif kind == WATCH:
            _, wid, w.dropped, items = message
            callback = self._watches.get(wid)
            if callback is not None and not self._stopped:
                callback(items)

    def _lab_events(self, w: _Worker, items: list[Sourced]) -> None:
        batch: list[Sourced] = []
        for source, event in items:
            if isinstance(event, LabProgress):
                w.progress = (event.stage, event.done, event.total)
                same = [x.progress for x in self._workers if x.progress is not None and x.progress[0] == event.stage]
                event = LabProgress(event.time, event.stage, sum(p[1] for p in same), sum(p[2] for p in same))
            elif isinstance(event, LabConditionsChanged):
                continue  # the parent reports the lab's conditions once
            elif isinstance(event, LabNodeChanged):
                self._owner[event.contact.id] = w.index
                if event.change == "killed":
                    if event.contact.id not in self._dead:
                        self._dead.append(event.contact.id)
                elif event.contact.id in self._dead:
                    self._dead.remove(event.contact.id)
            batch.append((source, event))
        if batch:
            self._deliver(batch)

    def _deliver(self, batch: list[Sourced]) -> None:
        if self._stopped:
            return
        for callback in tuple(self._lab_subscribers):
            callback(batch)

    def _lost(self, w: _Worker, exitcode: int | None) -> None:
        if not w.alive:
            return
        w.alive = False
        w.exitcode = exitcode
        error = LocalError(f"lab worker {w.index} ended (exit code {exitcode})")
        for future in w.pending.values():
            if not future.done():
                future.set_exception(error)
        w.pending.clear()
        if not self._stopping and not self._stopped and self._started:
            nodes, w.running = w.running, 0
            self._deliver([(b"", LabWorkerLost(clock.now(), w.index, nodes, exitcode))])

    async def _ask(self, w: _Worker, op: str, *args: Any, timeout: float | None = COMMAND_TIMEOUT) -> Any:
        """Send a command to a worker and await its answer (LocalError: failed, timed out, gone)."""
        if not w.alive:
            raise LocalError(f"lab worker {w.index} has ended (exit code {w.exitcode})")
        assert self._caller is not None
        rid = next(self._rids)
        future: asyncio.Future[Any] = self._caller.create_future()
        w.pending[rid] = future
        try:
            w.conn.send((rid, op, args))
        except (OSError, ValueError) as exc:
            w.pending.pop(rid, None)
            raise LocalError(f"lab worker {w.index} cannot be reached: {exc}") from None
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise LocalError(f"lab worker {w.index} did not answer {op} within {timeout:g} s") from None
        finally:
            w.pending.pop(rid, None)

    async def _all(self, op: str, *args: Any, timeout: float | None = COMMAND_TIMEOUT) -> list[Any]:
        """The same command to every live worker, at once; their answers in order."""
        return list(await asyncio.gather(*(self._ask(w, op, *args, timeout=timeout) for w in self._live())))

    def _live(self) -> list[_Worker]:
        return [w for w in self._workers if w.alive]

    def worker_of(self, node_id: bytes) -> int:
        """The index of the worker that runs (or ran) the node ``node_id``; LocalError if none."""
        index = self._owner.get(node_id)
        if index is None:
            raise LocalError(f"no lab node has id {node_id.hex()}")
        return index

    def _owner_of(self, node_id: bytes) -> _Worker:
        index = self._owner.get(node_id)
        if index is None:
            raise LocalError(f"no lab node has id {node_id.hex()}")
        w = self._workers[index]
        if not w.alive:
            raise LocalError(f"lab node {node_id.hex()[:8]} was on lab worker {w.index}, which has ended")
        return w

    # --- life cycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers and form the lab (progress comes through :meth:`subscribe`)."""
        if self._started or self._stopped:
            raise LocalError("the lab is already started")
        self._started = True
        self._caller = caller = asyncio.get_running_loop()
        try:
            await self._start(caller)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, caller: asyncio.AbstractEventLoop) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process with Qt's threads
        n, size = self.processes, self._size0
        for k in range(n):
            spec = worker.PartSpec(
                k, n, size // n + (k < size % n), self._config, self._host, self._host6,
                worker.part_dir(self._data_dir, k), self._conditions, self._seed, self.interval,
                self.max_events, self.quiet_gc, self.niceness)
            ours, theirs = context.Pipe()
            process = context.Process(target=worker.main, args=(theirs, spec), name=f"khashmir-lab-{k}",
                                      daemon=True)
            process.start()
            theirs.close()
            w = _Worker(k, process, ours)
            self._workers.append(w)
            threading.Thread(target=self._read, args=(w, caller), name=f"khashmir-lab-{k}-pipe",
                             daemon=True).start()
        t0 = time.perf_counter()
        started = await self._all("start", timeout=None)
        self.timings["start"] = time.perf_counter() - t0
        directory: list[tuple[bytes, str, int]] = [(b"", "", 0)] * size  # each node's, by its number
        for w, (entries, _) in zip(self._workers, started):
            for j, entry in enumerate(entries):
                directory[j * n + w.index] = entry
                self._owner[entry[0]] = w.index
                w.infos[entry[0]] = LabNodeInfo(entry[0], entry[1], entry[2], True, 0, 0, 0.0)
            w.running = len(entries)
        first: Address = (directory[0][1], directory[0][2])
        entry6 = started[0][1]
        t0 = time.perf_counter()
        planned = await self._all("plan", directory, first, timeout=None)
        self.crossing = sum(p[1] for p in planned), sum(p[0] for p in planned)
        self.timings["plan"] = time.perf_counter() - t0
        for stage in PART_STAGES:  # every worker ends a stage before any starts the next
            t0 = time.perf_counter()
            answers = await self._all("stage", stage, timeout=None)
            self.timings[stage] = time.perf_counter() - t0
        self.requests = sum(a[0] for a in answers), sum(a[1] for a in answers)
        t0 = time.perf_counter()
        for w, running in zip(self._live(), await self._all("formed", entry6, timeout=None)):
            w.running = running
        self.timings["formed"] = time.perf_counter() - t0
        self._bootstrap, self._bootstrap6 = first, entry6
        self._deliver([(b"", LabProgress(clock.now(), "formed", self.size, self.size))])

    async def stop(self) -> None:
        """Stop the lab and every worker; no process is left behind."""
        if self._stopped or self._stopping:
            return
        self._stopping = True
        try:
            if self._workers:  # each saves its nodes' tables: bigger parts take longer
                await asyncio.gather(*(self._ask(w, "stop", timeout=STOP_TIMEOUT + STOP_PER_NODE * w.running)
                                       for w in self._live()), return_exceptions=True)
        finally:
            loop = asyncio.get_running_loop()
            for w in self._workers:
                await loop.run_in_executor(None, w.process.join, STOP_TIMEOUT)
                if w.process.exitcode is None:
                    w.process.kill()
                    await loop.run_in_executor(None, w.process.join, STOP_TIMEOUT)
                w.alive = False
                w.conn.close()  # its reading thread has met the end of the pipe (or meets it now)
            self._stopped = True
            self._stopping = False
            self._watches.clear()

    # --- events ---------------------------------------------------------------------

    def subscribe(self, callback: Callable[[list[Sourced]], None]) -> Callable[[], None]:
        """``callback(batch)`` on the caller's loop for the lab's own events
        (:class:`~dht.core.events.LabWorkerLost` included); returns an unsubscribe."""
        self._lab_subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._lab_subscribers:
                self._lab_subscribers.remove(callback)

        return unsubscribe

    async def watch(
        self, callback: Callable[[list[Sourced]], None], node_id: bytes | None = None,
        kinds: tuple[type, ...] | None = None,
    ) -> Callable[[], Awaitable[None]]:
        """As :meth:`LabThread.watch <dht.lab.thread.LabThread.watch>`: the events of one
        lab node or of every node, of the given ``kinds``, batched to ``callback``."""
        if not self.running:
            raise LocalError("the lab is not running")
        wid = next(self._wids)
        targets = [self._owner_of(node_id)] if node_id is not None else self._live()
        self._watches[wid] = callback
        try:
            await asyncio.gather(*(self._ask(w, "watch", wid, node_id, kinds) for w in targets))
        except BaseException:
            self._watches.pop(wid, None)
            raise

        async def unwatch() -> None:
            self._watches.pop(wid, None)
            if self.running:
                await asyncio.gather(*(self._ask(w, "unwatch", wid) for w in targets if w.alive),
                                     return_exceptions=True)

        return unwatch

    # --- operations ---------------------------------------------------------------------

    def _check(self) -> None:
        if not self.running:
            raise LocalError("the lab is not running")

    async def overview(self) -> list[LabNodeInfo]:
        """Every lab node, running ones first, then the dead (a lost worker's nodes: dead, as last seen)."""
        self._check()
        live = self._live()
        answers: list[Columns] = await asyncio.gather(*(self._ask(w, "overview") for w in live))
        alive: list[LabNodeInfo] = []
        dead: list[LabNodeInfo] = []
        for w, columns in zip(live, answers):
            if w.alive:  # it may have died meanwhile
                infos = infos_of(columns, w.infos)
                if len(w.infos) > len(infos):  # nodes gone (a resize): forget them
                    w.infos = {i.id: i for i in infos}
        for w in self._workers:
            for info in w.infos.values():
                if info.alive and w.alive:
                    alive.append(info)
                elif info.alive:  # a lost worker's: dead
                    info = w.infos[info.id] = dataclasses.replace(info, alive=False)
                    dead.append(info)
                else:
                    dead.append(info)
        return alive + dead

    async def inspect(self, node_id: bytes) -> NodeView:
        """One node's routing table, stored values and statistics (LocalError if unknown or lost)."""
        self._check()
        view: NodeView = await self._ask(self._owner_of(node_id), "inspect", node_id)
        return view

    def _remember(self, w: _Worker, answer: tuple[Row, int]) -> LabNodeInfo:
        """A node killed, revived or added: known at once (before the worker's events say so),
        with the worker's running nodes as it answered (a batch of events sent meanwhile
        may or may not have counted the change: the answer's count is the newer)."""
        row, w.running = answer
        node_id, alive = row[0], row[3]
        info = w.infos[node_id] = info_of(row)
        self._owner[node_id] = w.index
        if not alive and node_id not in self._dead:
            self._dead.append(node_id)
        elif alive and node_id in self._dead:
            self._dead.remove(node_id)
        return info

    async def kill(self, node_id: bytes | None = None) -> LabNodeInfo:
        """Kill a lab node (a random one if None)."""
        self._check()
        if node_id is None:
            live = [w for w in self._live() if w.running]
            if not live:
                raise LocalError("the lab has no running node")
            w = random.choices(live, [x.running for x in live])[0]
        else:
            w = self._owner_of(node_id)
        return self._remember(w, await self._ask(w, "kill", node_id))

    async def revive(self, node_id: bytes | None = None) -> LabNodeInfo:
        """Revive a killed lab node (the longest dead if None)."""
        self._check()
        if node_id is None:
            candidates = [i for i in self._dead if self._workers[self._owner[i]].alive]
            if not candidates:
                raise LocalError("no lab node is dead")
            node_id = candidates[0]
        w = self._owner_of(node_id)
        return self._remember(w, await self._ask(w, "revive", node_id))

    async def add(self) -> LabNodeInfo:
        """Start one more lab node (on the worker with the fewest); it joins as a newcomer."""
        self._check()
        live = self._live()
        if not live:
            raise LocalError("every lab worker has ended")
        w = min(live, key=lambda x: x.running)
        return self._remember(w, await self._ask(w, "add"))

    async def resize(self, size: int) -> None:
        """Grow or shrink the lab to ``size`` running nodes, spread evenly over the live workers."""
        self._check()
        if size < 0:
            raise LocalError(f"lab size must not be negative, not {size}")
        live = self._live()
        n = len(live)
        if not n:
            raise LocalError("every lab worker has ended")
        sizes = await asyncio.gather(*(self._ask(w, "resize", size // n + (i < size % n), timeout=None)
                                       for i, w in enumerate(live)))
        for w, running in zip(live, sizes):
            w.running = running

    async def store_from(self, node_id: bytes, key: bytes, value: bytes, local: bool = True) -> StoreResult:
        """Store ``value`` under ``key`` from the lab node ``node_id``."""
        self._check()
        result: StoreResult = await self._ask(self._owner_of(node_id), "store_from", node_id, key, value, local)
        return result

    async def set_conditions(self, conditions: Conditions) -> None:
        """Apply ``conditions`` on every worker (each churning its share of the rate)."""
        self._check()
        share = conditions.churn_per_min / max(1, len(self._live()))
        await self._all("set_conditions", conditions, share)
        self._conditions = c = conditions
        self._deliver([(b"", LabConditionsChanged(clock.now(), c.latency_ms, c.jitter_ms, c.loss,
                                                  c.churn_per_min, c.preset))])

    async def start_traffic(self, per_second: float) -> None:
        """Lab traffic of ``per_second`` requests a second, shared among the workers."""
        self._check()
        if per_second <= 0:
            raise LocalError(f"lab traffic rate must be positive, not {per_second}")
        await self._all("start_traffic", per_second / max(1, len(self._live())))

    async def stop_traffic(self) -> None:
        self._check()
        await self._all("stop_traffic")
