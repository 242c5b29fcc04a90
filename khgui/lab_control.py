"""The local lab: form, resize, kill, revive and watch its nodes, and put one in focus.

:class:`LabControl` is the part of :class:`~khgui.controller.NetworkController`
that holds the lab, with its own state, emitting through the controller's
:class:`~khgui.signals.NetworkSignals`.  From :data:`THREADED_LAB_MIN` nodes up
the lab is a :class:`dht.LabProcesses`: it runs in worker processes (by
default one per core; :attr:`LabControl.processes`), so the window's process
runs none of its Python and a 2,000-node lab forms without stalling the
window; with ``processes`` 0 (``khgui --lab-processes 0``, and whenever the
lab's nodes are to be recorded, ``--capture-lab``) it is a threaded
:class:`dht.LabThread` in our process instead.  Smaller labs are a
:class:`dht.LabThread` on our loop; growing past that size forms a new lab,
and the controller has our node rejoin it (:attr:`LabControl.reformed`).
A worker process that dies is said in the window (its nodes show dead on the
map at the next overview).  Changes of
the lab go through one lock.  Once a second an overview of every lab node is
emitted (``lab_nodes``, for the network map).  A lab node in focus
(:meth:`LabControl.focus_node`) is a :class:`~khgui.map.focus.FocusedNode`
whose view is refreshed twice a second, for the panels to show instead of
our node.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .failures import expected, quietly
from .profile import IPV6, can
from .signals import NetworkSignals, Tasks

if TYPE_CHECKING:
    from dht import Conditions, Config, Lab, LabNodeInfo, LabProcesses, LabThread

    from .map.focus import FocusedNode

#: Lookups, stores and gets per second that the local lab's nodes make among
#: themselves, so that a first start shows a live DHT, not a quiet one.
LAB_TRAFFIC_PER_SECOND = 4.0
#: Labs of this many nodes or more run away from our loop: in worker processes
#: (or, with ``processes`` 0, on a loop of their own in a worker thread).
THREADED_LAB_MIN = 100
#: Seconds between two overviews of every lab node (the network map's data).
OVERVIEW_INTERVAL = 1.0
#: Seconds between two views of the lab node in focus.
FOCUS_INTERVAL = 0.5
#: The size of the lab Rejoin lab forms when none ran before.
DEFAULT_LAB_SIZE = 32

Address = tuple[str, int]


class LabControl:
    """The lab's life cycle and the lab node in focus.

    ``stopped`` is called when a resize to 0 stopped the lab; ``reformed``
    with a new lab's bootstrap address when growing past THREADED_LAB_MIN
    formed a new lab in place of the old one (the controller has our node
    follow).
    """

    def __init__(self, signals: NetworkSignals, tasks: Tasks, config: "Config | None",
                 stopped: Callable[[], None], reformed: Callable[[Address], Awaitable[Any]]) -> None:
        self._signals = signals
        self._tasks = tasks
        self._config = config
        self._stopped = stopped
        self._reformed = reformed
        self._labs: LabThread | LabProcesses | None = None
        self.processes: int | None = None
        """Worker processes of a lab of THREADED_LAB_MIN nodes or more: None, one per
        core (:func:`dht.LabProcesses`' default); 0, none (a :class:`dht.LabThread`)."""
        self._addresses: set[Address] = set()
        self._overview_task: asyncio.Task[Any] | None = None
        self._focus: FocusedNode | None = None
        self._focus_task: asyncio.Task[Any] | None = None
        self._watch: Callable[[], Awaitable[Any]] | None = None  # ends the watch of the lab's lookups
        self._last_size = 0  # the size of the last lab formed (Rejoin lab forms one as big)
        self._lock: asyncio.Lock | None = None

    # -- state -------------------------------------------------------------

    @property
    def runner(self) -> "LabThread | LabProcesses | None":
        """The running lab's :class:`dht.LabThread` or :class:`dht.LabProcesses`."""
        return self._labs

    @property
    def lab(self) -> "Lab | None":
        """The lab itself: use it only on its own loop (ours below THREADED_LAB_MIN nodes);
        None for a lab in worker processes."""
        return getattr(self._labs, "lab", None)

    @property
    def threaded(self) -> bool:
        return self._labs is not None and self._labs.threaded

    @property
    def size(self) -> int:
        labs = self._labs
        return labs.size if labs is not None and labs.running else 0

    @property
    def last_size(self) -> int:
        return self._last_size

    @property
    def focus(self) -> "FocusedNode | None":
        """The lab node in focus, None when the panels show our own node."""
        return self._focus

    def addresses(self) -> set[Address]:
        """The addresses of the lab's nodes, as last seen."""
        return set(self._addresses)

    def lock(self) -> asyncio.Lock:
        """The lock every change of the lab takes."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    # -- forming and stopping ------------------------------------------------

    async def start(self, size: int) -> None:
        """Form a lab of ``size`` nodes (in worker processes, or on its own thread, from
        THREADED_LAB_MIN up)."""
        from dht import LabProcesses, LabThread

        signals = self._signals
        # Each lab node on its own loopback address (127.0.0.2 up, where the
        # platform allows): they meet each other's limits as Internet hosts would.
        # On a dual-stack wire (BEP 32) every lab node has an IPv6 side too, on ::1.
        host6 = "::1" if can(self._config, IPV6) else None
        labs: LabThread | LabProcesses
        if size >= THREADED_LAB_MIN and self.processes != 0:
            labs = LabProcesses(size, self._config, processes=self.processes, host6=host6)
        else:
            labs = LabThread(size, self._config, threaded=size >= THREADED_LAB_MIN, host6=host6)
        labs.subscribe(self._lab_batch)
        signals.lab_progress.emit("starting", 0, size)
        try:
            await labs.start()
            await labs.start_traffic(LAB_TRAFFIC_PER_SECOND)
        except BaseException:
            await quietly(labs.stop())
            raise
        self._labs = labs
        self._last_size = size
        self._addresses = {labs.bootstrap_address}
        signals.lab_progress.emit("formed", labs.size, labs.size)
        signals.lab_changed.emit(labs.size)
        signals.conditions_changed.emit(labs.conditions)
        self._overview_task = self._tasks.spawn(self._overview_loop(labs))

    def _lab_batch(self, batch: list[Any]) -> None:
        from dht.events import LabNodeChanged, LabProgress, LabWorkerLost

        changed = False
        for _, event in batch:
            if isinstance(event, LabProgress):
                if self._labs is None and event.stage != "formed":  # late reports of a formed lab: no
                    self._signals.lab_progress.emit(event.stage, event.done, event.total)
            elif isinstance(event, LabNodeChanged):
                changed = True
            elif isinstance(event, LabWorkerLost):
                changed = True
                how = f"exit code {event.exitcode}" if event.exitcode is None or event.exitcode >= 0 \
                    else f"signal {-event.exitcode}"
                self._signals.error.emit(f"lab worker process {event.worker} ended ({how}): "
                                         f"its {event.nodes} nodes are dead")
                if self._labs is not None:
                    self._tasks.spawn(self._overview_now(self._labs))
        if changed and self._labs is not None:
            self._signals.lab_changed.emit(self.size)

    async def _overview_loop(self, labs: "LabThread | LabProcesses") -> None:
        while labs is self._labs and labs.running:
            try:
                infos = await labs.overview()
            except Exception as exc:
                if not expected(exc):
                    raise
                return  # the lab stopped
            self._addresses = {i.address for i in infos}
            self._signals.lab_nodes.emit(infos)
            await asyncio.sleep(OVERVIEW_INTERVAL)

    async def _overview_now(self, labs: "LabThread | LabProcesses") -> None:
        """An overview at once (the map shows a lost worker's nodes dead)."""
        if labs is self._labs and labs.running:
            try:
                infos = await labs.overview()
            except Exception as exc:
                if not expected(exc):
                    raise
                return
            self._addresses = {i.address for i in infos}
            self._signals.lab_nodes.emit(infos)

    async def refresh_nodes(self) -> "list[LabNodeInfo]":
        """An overview of every lab node now (also emitted as ``lab_nodes``)."""
        if self._labs is None:
            return []
        infos = await self._labs.overview()
        self._addresses = {i.address for i in infos}
        self._signals.lab_nodes.emit(infos)
        return infos

    async def stop(self) -> None:
        """Stop the lab (nothing if none runs)."""
        labs, self._labs = self._labs, None
        if self._overview_task is not None:
            self._overview_task.cancel()
            self._overview_task = None
        await self.focus_node(None, None)
        self._watch = None
        if labs is not None:
            await quietly(labs.stop())
        self._addresses = set()
        self._signals.lab_nodes.emit([])

    async def live_address(self) -> Address | None:
        """The address to join the lab through: its first node's, or any live one's; None without a lab."""
        labs = self._labs
        if labs is None or not labs.size:
            return None
        address = labs.bootstrap_address
        if address not in self._addresses:  # the first node died: any live one
            infos = await labs.overview()
            alive = [i.address for i in infos if i.alive]
            if alive:
                address = alive[0]
        return address

    async def resize(self, n: int) -> None:
        """Grow or shrink the local lab to ``n`` nodes (0 stops it)."""
        signals = self._signals
        async with self.lock():
            try:
                if self._labs is None:
                    if n <= 0:
                        return
                    await self.start(n)
                elif n <= 0:
                    await self.stop()
                    self._stopped()  # our only peers may be gone
                    signals.lab_changed.emit(0)
                    signals.message.emit("lab stopped")
                    return
                elif n >= THREADED_LAB_MIN and not self._labs.threaded:
                    # Too big for our loop: a new lab on its own thread, and our node rejoins it.
                    await self.stop()
                    await self.start(n)
                    if self._labs is not None:
                        await self._reformed(self._labs.bootstrap_address)
                else:
                    await self._labs.resize(n)
                    self._last_size = n
                    await self.refresh_nodes()
            except Exception as exc:
                if not expected(exc):
                    raise
                signals.fail("could not resize the lab", exc)
            signals.lab_changed.emit(self.size)
            signals.network_changed.emit()

    # -- one node ------------------------------------------------------------

    async def add(self) -> None:
        """Start one more lab node (a lab of one when none runs)."""
        if self._labs is None:
            await self.resize(1)
            return
        signals = self._signals
        async with self.lock():
            try:
                info = await self._labs.add()
            except Exception as exc:
                if not expected(exc):
                    raise
                signals.fail("could not add a lab node", exc)
            else:
                self._addresses.add(info.address)
                signals.lab_node_changed.emit(info)
                signals.message.emit(f"lab node {info.id.hex()[:8]} started at {info.host}:{info.port}")
            signals.lab_changed.emit(self.size)

    async def kill(self, node_id: bytes | None = None) -> None:
        """Stop a lab node abruptly (a random one if None), so the routing tables must heal."""
        signals = self._signals
        if self._labs is None or not self.size:
            signals.error.emit("no lab node to kill")
            return
        async with self.lock():
            try:
                info = await self._labs.kill(node_id)
            except Exception as exc:
                if not expected(exc):
                    raise
                signals.fail("could not kill a lab node", exc)
            else:
                signals.lab_node_changed.emit(info)
                signals.message.emit(f"killed lab node {info.id.hex()[:8]} at {info.host}:{info.port} "
                                     f"({self.size} left)")
                if self._focus is not None and self._focus.id == info.id:
                    await self._refresh_focus()
            signals.lab_changed.emit(self.size)

    async def revive(self, node_id: bytes | None = None) -> None:
        """Restart a killed lab node on its data directory (the longest dead if None)."""
        signals = self._signals
        if self._labs is None:
            signals.error.emit("no lab node to revive")
            return
        async with self.lock():
            try:
                info = await self._labs.revive(node_id)
            except Exception as exc:
                if not expected(exc):
                    raise
                signals.fail("could not revive a lab node", exc)
            else:
                signals.lab_node_changed.emit(info)
                signals.message.emit(f"revived lab node {info.id.hex()[:8]} at {info.host}:{info.port}")
                if self._focus is not None and self._focus.id == info.id:
                    await self._refresh_focus()
            signals.lab_changed.emit(self.size)

    async def set_conditions(self, conditions: "Conditions") -> bool:
        """Apply network conditions to the lab (delay, loss, churn); False if there is no lab."""
        signals = self._signals
        if self._labs is None:
            signals.error.emit("no lab: Network \u25b8 Resize lab starts one")
            return False
        await self._labs.set_conditions(conditions)
        signals.conditions_changed.emit(conditions)
        signals.message.emit(f"lab conditions: {conditions.describe()}")
        return True

    async def watch_lookups(self, on: bool) -> None:
        """Emit the lab nodes' own lookup events as ``lab_lookups`` (for the map), or stop."""
        from dht.events import LookupAnswered, LookupQueried, LookupStarted

        if self._watch is not None:
            unwatch, self._watch = self._watch, None
            await quietly(unwatch())
        if on and self._labs is not None:
            self._watch = await self._labs.watch(self._signals.lab_lookups.emit, None,
                                                 (LookupStarted, LookupQueried, LookupAnswered))

    # -- any node in focus -----------------------------------------------------

    async def focus_node(self, node_id: bytes | None, own_id: bytes | None) -> bool:
        """Show the lab node ``node_id`` in the panels (None, or ``own_id``, our node's: our node)."""
        from .map.focus import FocusedNode

        signals = self._signals
        old, self._focus = self._focus, None
        if self._focus_task is not None:
            self._focus_task.cancel()
            self._focus_task = None
        if old is not None:
            await old.close()
        if node_id is None or node_id == own_id or self._labs is None:
            if old is not None:
                signals.focus_changed.emit(None)
            return node_id is None or node_id == own_id
        try:
            focused = await FocusedNode.open(self._labs, node_id, self._labs.config)
        except Exception as exc:
            if not expected(exc):
                raise
            signals.fail("could not focus that node", exc)
            if old is not None:
                signals.focus_changed.emit(None)
            return False
        self._focus = focused
        self._focus_task = self._tasks.spawn(self._follow_focus(focused))
        signals.focus_changed.emit(focused)
        info = focused.view.info
        signals.message.emit(f"showing lab node {info.id.hex()[:8]} at {info.host}:{info.port}")
        return True

    async def _refresh_focus(self) -> None:
        focus = self._focus
        if focus is not None:
            try:
                await focus.refresh()
            except Exception as exc:
                if not expected(exc):
                    raise

    async def _follow_focus(self, focused: "FocusedNode") -> None:
        while self._focus is focused:
            await asyncio.sleep(FOCUS_INTERVAL)
            if self._focus is focused:
                await self._refresh_focus()
