"""The main of a lab's worker process: one part of a lab, driven over a pipe.

A :class:`~dht.lab.procs.client.LabProcesses` starts N of these (start
method ``spawn``: a process that has Qt's threads is never forked).  Worker
k runs a :class:`~dht.lab.lab.Lab` that is part k of N (the lab's nodes k,
k + N, k + 2N, ..., each on its own loopback address, their ids in the k-th
of N equal slices of the id space, :func:`id_slice`) on an event loop of
its own, and carries out the parent's commands (:mod:`dht.lab.procs.protocol`)
one task each.  A thread reads the pipe and hands each command to the loop;
answers and event batches are written from the loop.  When the pipe ends
(the parent stopped or died) the worker stops its lab and exits, so no
worker outlives its parent for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ...core.config import Config
from ...core.contact import Address, Contact
from ...core.errors import DHTError, LocalError
from ...core.events import Event
from ..conditions import Conditions
from ..event_channel import EventChannel
from ..formation import FormationPlan
from ..ipv6 import ipv6_entry, join_ipv6_sides
from ..lab import Lab
from ..quiet_gc import full_collections_held
from ..views import node_view
from ..watches import NodeWatch, Sourced
from .protocol import LAB, OPS, REPLY, WATCH, Columns, Command, Row, columns_of, row_of


@dataclass(frozen=True, slots=True)
class PartSpec:
    """What a worker needs to make its part of the lab (pickled to the child)."""

    part: int
    parts: int
    size: int  # this part's nodes
    config: Config
    host: str | None
    host6: str | None
    data_dir: str | None  # the part's own directory (None: a scratch one)
    conditions: Conditions | None
    seed: int | None
    interval: float
    max_events: int
    quiet_gc: bool
    niceness: int = 0  # added to the worker's nice value: the window's process comes first


def main(conn: Connection, spec: PartSpec) -> None:
    """The worker process's entry point."""
    # Ctrl-C in a terminal reaches the whole process group: the parent stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if spec.niceness:
        with contextlib.suppress(OSError, AttributeError):  # not on every platform
            os.nice(spec.niceness)
    try:
        asyncio.run(Worker(conn, spec).serve())
    except KeyboardInterrupt:
        pass
    finally:
        conn.close()


class Worker:
    """One lab part and the commands it carries out (see the module's docstring)."""

    def __init__(self, conn: Connection, spec: PartSpec) -> None:
        self.conn = conn
        self.spec = spec
        seed = None if spec.seed is None else spec.seed + 7919 * spec.part
        self.lab = Lab(spec.size, spec.config, host=spec.host, host6=spec.host6, data_dir=spec.data_dir,
                       conditions=spec.conditions, seed=seed, part=(spec.part, spec.parts),
                       id_range=id_slice(spec.part, spec.parts))
        self._send_lock = threading.Lock()
        self._plan: FormationPlan | None = None
        self._wanted: Conditions | None = None
        self._held = contextlib.ExitStack()
        self._watches: dict[int, NodeWatch] = {}
        self._channels: list[EventChannel[Any]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: asyncio.Event | None = None

    # --- the pipe ------------------------------------------------------------

    def send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            try:
                self.conn.send(message)
            except (OSError, ValueError):  # the parent is gone
                if self._done is not None:
                    self._done.set()

    @property
    def dropped(self) -> int:
        return sum(c.dropped for c in self._channels)

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        """The reading thread: each command to the loop, then the end of the pipe."""
        while True:
            try:
                command = self.conn.recv()
            except (EOFError, OSError):
                break
            try:
                loop.call_soon_threadsafe(self._command, command)
            except RuntimeError:
                return
        try:
            loop.call_soon_threadsafe(self._ended)
        except RuntimeError:
            pass

    def _ended(self) -> None:
        assert self._done is not None
        self._done.set()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        channel: EventChannel[Sourced] = EventChannel(
            loop, lambda items: self.send((LAB, len(self.lab.nodes), self.dropped, items)),
            self.spec.interval, self.spec.max_events)
        self._channels.append(channel)
        self.lab.subscribe(lambda event: channel.push((b"", event)))
        threading.Thread(target=self._read, args=(loop,), name="khashmir-lab-pipe", daemon=True).start()
        try:
            await self._done.wait()
        finally:
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self.lab.stop()
            self._held.close()

    def _command(self, command: Command) -> None:
        task = asyncio.ensure_future(self._run(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, command: Command) -> None:
        rid, op, args = command
        try:
            if op not in OPS:
                raise LocalError(f"a lab worker has no command {op!r}")
            result = await getattr(self, "op_" + op)(*args)
        except asyncio.CancelledError:
            self.send((REPLY, rid, False, "the lab worker stopped"))
            raise
        except (DHTError, OSError, ValueError, TypeError, KeyError) as exc:
            self.send((REPLY, rid, False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        except Exception as exc:  # a bug: one line to the parent, which raises it as a LocalError
            self.send((REPLY, rid, False, f"{type(exc).__name__}: {exc}"))
        else:
            self.send((REPLY, rid, True, result))
        if op == "stop":
            assert self._done is not None
            self._done.set()

    # --- forming -------------------------------------------------------------

    async def op_start(self) -> tuple[list[tuple[bytes, str, int]], Address | None]:
        """Start this part's nodes: their (id, host, port) in the order of their
        numbers, and the first one's IPv6 side's address."""
        self._held.enter_context(full_collections_held())
        nodes = await self.lab.start_part()
        six = ipv6_entry(nodes[0]) if nodes and self.spec.host6 is not None else None
        return [(n.id, *n.contact.address) for n in nodes], six

    async def op_plan(self, directory: list[tuple[bytes, str, int]], first: Address) -> tuple[int, int]:
        """Plan this part's introductions against the whole lab's directory; the
        requests planned, and of those the introductions to other parts' nodes."""
        lab = self.lab
        self._wanted = lab.hold_for_formation()

        def emit(event: Event) -> None:
            if lab.events.active:
                lab.events.emit(event)

        contacts = [Contact(*entry) for entry in directory]
        self._plan = FormationPlan(contacts, lab.nodes, first, lab.config, emit, 1.0 / self.spec.parts)
        return self._plan.planned, self._plan.crossing

    async def op_stage(self, stage: str) -> tuple[int, int]:
        """Run a formation stage; the requests sent and failed so far."""
        if self._plan is None:
            raise LocalError("the lab part has no formation plan")
        await self._plan.run(stage)
        return self._plan.sent, self._plan.failed

    async def op_formed(self, entry6: Address | None) -> int:
        """The formation is over: IPv6 sides join through ``entry6``; conditions on."""
        lab = self.lab
        if self.spec.host6 is not None and entry6 is not None:
            await join_ipv6_sides(lab.nodes, entry6)
        lab.formed(self._wanted or lab.conditions)
        self._plan = None
        self._held.close()
        if self.spec.quiet_gc:
            gc.freeze()
        return len(lab.nodes)

    # --- operations ---------------------------------------------------------------

    async def op_overview(self) -> Columns:
        lab = self.lab
        return columns_of([(n, True) for n in lab.nodes] + [(n, False) for n in lab.dead])

    async def op_inspect(self, node_id: bytes) -> Any:
        return await node_view(self.lab.node_by_id(node_id))

    # A node killed, revived or added: its row and the part's running nodes now (an event
    # batch sent while it happened may have counted it already, or not).

    async def op_kill(self, node_id: bytes | None) -> tuple[Row, int]:
        lab = self.lab
        row = row_of(await lab.kill_node(lab.node_by_id(node_id) if node_id is not None else None), False)
        return row, len(lab.nodes)

    async def op_revive(self, node_id: bytes) -> tuple[Row, int]:
        lab = self.lab
        return row_of(await lab.revive_node(lab.node_by_id(node_id)), True), len(lab.nodes)

    async def op_add(self) -> tuple[Row, int]:
        return row_of(await self.lab.add_node(), True), len(self.lab.nodes)

    async def op_resize(self, size: int) -> int:
        await self.lab.resize(size)
        return len(self.lab.nodes)

    async def op_set_conditions(self, conditions: Conditions, churn_per_min: float) -> None:
        """``conditions``, with this part's share of the churn."""
        self.lab.set_conditions(dataclasses.replace(conditions, churn_per_min=churn_per_min))

    async def op_start_traffic(self, per_second: float) -> None:
        self.lab.start_traffic(per_second)

    async def op_stop_traffic(self) -> None:
        self.lab.stop_traffic()

    async def op_watch(self, wid: int, node_id: bytes | None, kinds: tuple[type, ...] | None) -> None:
        loop = asyncio.get_running_loop()
        channel: EventChannel[Sourced] = EventChannel(
            loop, lambda items: self.send((WATCH, wid, self.dropped, items)), self.spec.interval,
            self.spec.max_events)
        watch = NodeWatch(channel, node_id, kinds)
        await watch.attach(self.lab)
        self._watches[wid] = watch
        self._channels.append(channel)

    async def op_unwatch(self, wid: int) -> None:
        watch = self._watches.pop(wid, None)
        if watch is not None:
            watch.channel.close()
            watch.detach(self.lab)

    async def op_store_from(self, node_id: bytes, key: bytes, value: bytes, local: bool) -> Any:
        return await self.lab.node_by_id(node_id).store_value(key, value, local)

    async def op_stop(self) -> None:
        for watch in self._watches.values():
            watch.channel.close()
        for channel in self._channels:
            channel.close()
        await self.lab.stop()


def id_slice(part: int, parts: int) -> tuple[int, int] | None:
    """The slice of the id space whose ids part ``part`` of ``parts`` gives its nodes
    (None: the whole space, a lab of one part)."""
    if parts == 1:
        return None
    space = 1 << 160
    return part * space // parts, (part + 1) * space // parts


def part_dir(data_dir: str | Path | None, part: int) -> str | None:
    """Where part ``part`` of a lab keeps its database: ``data_dir/proc-K`` (None: a scratch one)."""
    return None if data_dir is None else str(Path(data_dir) / f"proc-{part}")
