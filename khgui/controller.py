"""The application's hold on the network: the local lab and our own node.

:class:`NetworkController` starts, joins, leaves and stops; it resizes the
local lab, kills, revives or adds lab nodes and sets the lab's network
conditions.  The lab is a :class:`dht.LabThread`: from
:data:`THREADED_LAB_MIN` nodes up it runs on a loop of its own in a worker
thread (a 2,000-node lab forms without stalling the window), smaller ones
on ours.  Once a second the controller takes an overview of every lab node
(:attr:`lab_nodes`, for the network map).  Any lab node can be put in focus
(:meth:`focus_node`): :attr:`focus_changed` hands the window a
:class:`~khgui.map.focus.FocusedNode` whose view is refreshed twice a
second, for the panels to show instead of our node.  Every failure a user can cause (port
in use, unreachable bootstrap, unreadable database, bad value) is caught and
emitted as a one-line :attr:`NetworkController.error` message rather than
raised.  Panels use :meth:`NetworkController.run_lookup` to run node calls
so that the window can show a busy indicator while lookups run.

Only the public API of :mod:`dht` is used (see ``docs/dht-api.md``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from typing import TYPE_CHECKING, Any, Awaitable, Coroutine, TypeVar

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from dht import Conditions, Config, Lab, LabNodeInfo, LabThread, Node

    from .bridge import EventBridge
    from .map.focus import FocusedNode

log = logging.getLogger(__name__)
T = TypeVar("T")


#: Lookups, stores and gets per second that the local lab's nodes make among
#: themselves, so that a first start shows a live DHT, not a quiet one.
LAB_TRAFFIC_PER_SECOND = 4.0
#: Seconds between our node's own background lookups of random ids.
EXPLORE_INTERVAL = 5.0
#: Labs of this many nodes or more run on a loop of their own in a worker thread.
THREADED_LAB_MIN = 100
#: Seconds between two overviews of every lab node (the network map's data).
OVERVIEW_INTERVAL = 1.0
#: Seconds between two views of the lab node in focus.
FOCUS_INTERVAL = 0.5
#: Lookup events of our node kept for the network map between two drains.
MAX_MAP_LOOKUPS = 5000
#: Seconds that joining the public Mainline DHT may take (resolving the routers
#: and their answers) before the window says it could not.
PUBLIC_JOIN_TIMEOUT = 8.0


def describe_error(exc: BaseException) -> str:
    """A one-line user-facing text for an exception."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if name == "RpcTimeout":
        return "no answer (timeout)" + (f": {text[len('timeout: '):]}" if text.startswith("timeout: ") else "")
    if isinstance(exc, OSError) and not text:
        return f"system error {exc.errno}"
    return text or name


class NetworkController(QObject):
    """Owns the local lab (``dht.Lab``) and our own node (``dht.Node``).

    Signals:
        node_changed(object): our new Node, or None when it stopped.
        joined_changed(bool): whether our node is joined to a network.
        lab_changed(int): the number of running lab nodes.
        error(str): a one-line message for the user.
        busy_changed(bool): True while lookups run.
        message(str): a one-line informational message (status bar).
        lab_progress(str, int, int): the lab forming: stage, done, total ("formed" at the end).
        lab_nodes(list): an overview of every lab node (``dht.LabNodeInfo``), once a second.
        lab_node_changed(object): one lab node killed, revived or added (its ``LabNodeInfo``).
        lab_lookups(list): ``(lab node id, event)`` lookup events of the lab, while watched.
        focus_changed(object): the ``FocusedNode`` now in focus, or None for our own node.
        conditions_changed(object): the lab's ``dht.Conditions``.
        network_changed(): the network our node is on changed (:meth:`network_name`).
    """

    node_changed = Signal(object)
    joined_changed = Signal(bool)
    lab_changed = Signal(int)
    error = Signal(str)
    busy_changed = Signal(bool)
    message = Signal(str)
    lab_progress = Signal(str, int, int)
    lab_nodes = Signal(list)
    lab_node_changed = Signal(object)
    lab_lookups = Signal(list)
    focus_changed = Signal(object)
    conditions_changed = Signal(object)
    network_changed = Signal()

    def __init__(
        self,
        bridge: "EventBridge | None" = None,
        config: "Config | None" = None,
        host: str = "127.0.0.1",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._config = config
        self._host = host
        self._node: Node | None = None
        self._labs: LabThread | None = None
        self._lab_addresses: set[tuple[str, int]] = set()
        self._overview_task: asyncio.Task[Any] | None = None
        self._focus: FocusedNode | None = None
        self._focus_task: asyncio.Task[Any] | None = None
        self._lab_watch: Any = None  # ends the watch of the lab's lookups
        self._map_lookups: collections.deque[tuple[bytes, Any]] = collections.deque(maxlen=MAX_MAP_LOOKUPS)
        self._joined = False
        self._joined_lab = False  # joined through the local lab (not a --bootstrap address)
        self._busy = 0
        self._port = 0
        self._data_dir: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lab_lock: asyncio.Lock | None = None
        self._unwatch: Any = None  # unsubscribes from our node's warnings
        self._network = ""  # "lab", "public" or the bootstrap addresses; "" when not joined

    # -- state -------------------------------------------------------------

    @property
    def node(self) -> "Node | None":
        return self._node

    @property
    def lab(self) -> "Lab | None":
        """The lab itself: use it only on its own loop (ours below THREADED_LAB_MIN nodes);
        from the window, go through :attr:`lab_runner`."""
        return self._labs.lab if self._labs is not None else None

    @property
    def lab_runner(self) -> "LabThread | None":
        """The running lab's :class:`dht.LabThread`."""
        return self._labs

    @property
    def lab_threaded(self) -> bool:
        return self._labs is not None and self._labs.threaded

    @property
    def focus(self) -> "FocusedNode | None":
        """The lab node in focus, None when the panels show our own node."""
        return self._focus

    def lab_addresses(self) -> set[tuple[str, int]]:
        """The addresses of the lab's nodes, as last seen."""
        return set(self._lab_addresses)

    def take_lookups(self) -> list[tuple[bytes, Any]]:
        """Our node's lookup events since the last call, as ``(our id, event)`` (for the map)."""
        items = list(self._map_lookups)
        self._map_lookups.clear()
        return items

    @property
    def profile(self) -> str:
        """The DHT spoken: "khashmir" or "mainline" (``Config.PROFILE``)."""
        return str(self._config.PROFILE) if self._config is not None else "khashmir"

    @property
    def read_only(self) -> bool:
        """Whether our node is read-only (BEP 43: it answers no queries)."""
        return bool(self._node is not None and self._node.config.READ_ONLY)

    def network_name(self) -> str:
        """The profile and the network, for the title and status bar: "Mainline · local lab"."""
        profile = self.profile.capitalize()
        if not self._joined:
            where = "not joined" + (f" (lab of {self.lab_size} nodes)" if self.lab_size else "")
        elif self._network == "lab":
            where = f"local lab of {self.lab_size} nodes"
        elif self._network == "public":
            where = "public DHT" + (", read-only" if self.read_only else "")
        else:
            where = self._network
        return f"{profile} \u00b7 {where}"

    @property
    def network(self) -> str:
        """"lab", "public", the bootstrap addresses, or "" when not joined (the query budget follows it)."""
        return self._network if self._joined else ""

    def _set_network(self, network: str) -> None:
        self._network = network
        self.network_changed.emit()

    @property
    def joined(self) -> bool:
        return self._joined

    @property
    def busy(self) -> bool:
        return self._busy > 0

    @property
    def config(self) -> "Config | None":
        return self._config

    @property
    def lab_size(self) -> int:
        labs = self._labs
        return labs.size if labs is not None and labs.running else 0

    def _set_joined(self, joined: bool) -> None:
        if joined != self._joined:
            self._joined = joined
            self.joined_changed.emit(joined)
            self.network_changed.emit()

    def _fail(self, what: str, exc: BaseException) -> None:
        text = f"{what}: {describe_error(exc)}"
        log.warning("%s", text, exc_info=not _expected(exc))
        self.error.emit(text)

    def _lock(self) -> asyncio.Lock:
        if self._lab_lock is None:
            self._lab_lock = asyncio.Lock()
        return self._lab_lock

    # -- tasks -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Run ``coro`` as a task of the running loop, logging what it raises."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: "asyncio.Task[Any]") -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self._fail("unexpected error", t.exception())  # type: ignore[arg-type]

        task.add_done_callback(done)
        return task

    async def run_lookup(self, coro: Awaitable[T], report: bool = False) -> T | None:
        """Await a node call (lookup, store, ...) while :attr:`busy` is True.

        Exceptions propagate to the caller (so a form can show them inline),
        unless ``report`` is True: then DHT and OS errors are emitted through
        :attr:`error` and None is returned.
        """
        self._busy += 1
        if self._busy == 1:
            self.busy_changed.emit(True)
        try:
            return await coro
        except Exception as exc:
            if report and _expected(exc):
                self._fail("look-up failed", exc)
                return None
            raise
        finally:
            self._busy -= 1
            if self._busy == 0:
                self.busy_changed.emit(False)

    # -- life cycle --------------------------------------------------------

    async def start(
        self,
        lab_size: int = 32,
        bootstrap: list[tuple[str, int]] | None = None,
        port: int = 0,
        data_dir: str | None = None,
    ) -> bool:
        """Start the lab (``lab_size`` > 0) and our node, then join.

        With ``bootstrap`` addresses our node joins those; otherwise it joins
        the lab.  Returns True when our node runs (joined or not).
        """
        self._port = port
        self._data_dir = data_dir
        if lab_size > 0 and self._labs is None:
            try:
                await self._start_lab(lab_size)
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not start the local lab", exc)
        if not await self._start_node():
            return False
        if bootstrap:
            await self._bootstrap(bootstrap)
        elif self._labs is not None:
            await self._bootstrap([self._labs.bootstrap_address])
        return True

    # -- the lab -------------------------------------------------------------

    async def _start_lab(self, size: int) -> None:
        """Form a lab of ``size`` nodes (on its own thread from THREADED_LAB_MIN up)."""
        from dht import LabThread

        # Each lab node on its own loopback address (127.0.0.2 up, where the
        # platform allows): they meet each other's limits as Internet hosts would.
        labs = LabThread(size, self._config, threaded=size >= THREADED_LAB_MIN)
        labs.subscribe(self._lab_batch)
        self.lab_progress.emit("starting", 0, size)
        try:
            await labs.start()
            await labs.start_traffic(LAB_TRAFFIC_PER_SECOND)
        except BaseException:
            await _quietly(labs.stop())
            raise
        self._labs = labs
        self._lab_addresses = {labs.bootstrap_address}
        self.lab_progress.emit("formed", labs.size, labs.size)
        self.lab_changed.emit(labs.size)
        self.conditions_changed.emit(labs.conditions)
        self._overview_task = self.spawn(self._overview_loop(labs))

    def _lab_batch(self, batch: list[Any]) -> None:
        from dht.events import LabNodeChanged, LabProgress

        changed = False
        for _, event in batch:
            if isinstance(event, LabProgress):
                if self._labs is None and event.stage != "formed":  # late reports of a formed lab: no
                    self.lab_progress.emit(event.stage, event.done, event.total)
            elif isinstance(event, LabNodeChanged):
                changed = True
        if changed and self._labs is not None:
            self.lab_changed.emit(self.lab_size)

    async def _overview_loop(self, labs: "LabThread") -> None:
        while labs is self._labs and labs.running:
            try:
                infos = await labs.overview()
            except Exception as exc:
                if not _expected(exc):
                    raise
                return  # the lab stopped
            self._lab_addresses = {i.address for i in infos}
            self.lab_nodes.emit(infos)
            await asyncio.sleep(OVERVIEW_INTERVAL)

    async def refresh_lab_nodes(self) -> "list[LabNodeInfo]":
        """An overview of every lab node now (also emitted as :attr:`lab_nodes`)."""
        if self._labs is None:
            return []
        infos = await self._labs.overview()
        self._lab_addresses = {i.address for i in infos}
        self.lab_nodes.emit(infos)
        return infos

    async def _stop_lab(self) -> None:
        labs, self._labs = self._labs, None
        if self._overview_task is not None:
            self._overview_task.cancel()
            self._overview_task = None
        await self.focus_node(None)
        self._lab_watch = None
        if labs is not None:
            await _quietly(labs.stop())
        self._lab_addresses = set()
        self.lab_nodes.emit([])

    async def _start_node(self) -> bool:
        from dht import Node

        node = Node(config=self._config, host=self._host, port=self._port, data_dir=self._data_dir)
        if self._bridge is not None:
            self._bridge.attach(node)  # before start(): see what loading does
        try:
            await node.start()
        except Exception as exc:
            if self._bridge is not None:
                self._bridge.detach()
            if not _expected(exc):
                raise
            await _quietly(node.stop())
            if self._port and "in use" in str(exc):  # offer a port that is free now
                free = free_udp_port(self._host)
                self._port = free
                self._fail("could not start our node",
                           type(exc)(f"{exc}; port {free} is free now: Network \u25b8 Join or Rejoin lab uses it"))
            else:
                self._fail("could not start our node", exc)
            return False
        self._node = node
        for warning in node.warnings:  # e.g. an unreadable database moved aside
            self.error.emit(warning)
        self._unwatch = node.subscribe(self._node_event)  # later ones: a full disk, a read-only directory
        self.node_changed.emit(node)
        self.message.emit(f"node {node.id.hex()[:8]} listening on {node.address[0]}:{node.address[1]}")
        return True

    def _node_event(self, event: Any) -> None:
        from dht.events import LookupAnswered, LookupQueried, LookupStarted, NodeWarning

        if isinstance(event, (LookupStarted, LookupQueried, LookupAnswered)):
            node = self._node
            if node is not None:
                self._map_lookups.append((node.id, event))  # bounded: the map drains it
        elif isinstance(event, NodeWarning):  # storage faults come at most once a minute
            self.error.emit(event.text)

    async def _bootstrap(self, addresses: list[tuple[str, int]]) -> bool:
        """Join through ``addresses``, host names resolved first (replies come from the address)."""
        from dht import resolve_address

        node = self._node
        if node is None:
            return False
        try:
            resolved = [await resolve_address(address) for address in addresses]
            count = await self.run_lookup(node.bootstrap(resolved))
        except Exception as exc:
            if not _expected(exc):
                raise
            where = ", ".join(f"{h}:{p}" for h, p in addresses)
            self._fail(f"could not join {where}", exc)
            return False
        self._joined_lab = self._labs is not None and any(a in self._lab_addresses for a in resolved)
        self._network = "lab" if self._joined_lab else ", ".join(f"{h}:{p}" for h, p in addresses)
        self._set_joined(True)
        self.network_changed.emit()
        self.message.emit(f"joined: {count} contacts")
        self.spawn(self._warm_up(node))
        return True

    async def _warm_up(self, node: "Node", lookups: int = 4) -> None:
        """A few lookups of random ids after joining, so far buckets fill too;
        then one every EXPLORE_INTERVAL seconds while this node runs, so that
        dead contacts (a killed lab node) fail and the table visibly heals."""
        import os

        done = 0
        while node is self._node and node.running:
            try:
                await node.find_node(os.urandom(20))  # background: not shown as busy
            except Exception as exc:
                log.debug("background lookup failed: %s", exc)
            done += 1
            if done >= lookups:
                await asyncio.sleep(EXPLORE_INTERVAL)

    async def join(self, host: str, port: int) -> bool:
        """Join the network through ``host:port`` (starting our node if needed)."""
        if self._node is None and not await self._start_node():
            return False
        return await self._bootstrap([(host, port)])

    async def join_public(self, routers: list[tuple[str, int]], read_only: bool = True,
                          host: str = "0.0.0.0", timeout: float = PUBLIC_JOIN_TIMEOUT,
                          query_budget: float | None = None) -> bool:
        """Join the public Mainline DHT through ``routers`` (Network ▸ Join the public Mainline DHT).

        Our node restarts as a Mainline node on ``host`` (all interfaces by
        default), read-only (BEP 43) if asked, and bootstraps through the
        routers, which never enter the table.  Within ``timeout`` seconds it
        is joined, or the window is told why not (no router resolved, none
        answered: most likely no network), and our node keeps running alone.
        ``query_budget``: queries a second from the first one (the bootstrap too).
        """
        from dht import Config

        if self.profile != "mainline":
            self.error.emit("the public DHT speaks Mainline: start the explorer with --profile mainline")
            return False
        if not routers:
            self.error.emit("no router to join the public DHT through: Network \u25b8 Public DHT routers\u2026 adds some")
            return False
        await self.leave()
        base = self._config if self._config is not None else Config(PROFILE="mainline")
        old_config, old_host = self._config, self._host
        budget = {} if query_budget is None else {"QUERY_BUDGET": query_budget}
        self._config, self._host = base.replace(READ_ONLY=read_only, **budget), host
        try:
            started = await self._start_node()
        finally:
            self._config, self._host = old_config, old_host
        node = self._node
        if not started or node is None:
            return False
        where = ", ".join(f"{h}:{p}" for h, p in routers)
        self.message.emit(f"joining the public Mainline DHT through {where}\u2026")
        try:
            count = await self.run_lookup(asyncio.wait_for(node.bootstrap([], routers=routers), timeout))
        except Exception as exc:
            if not _expected(exc):
                raise
            why = (f"no answer within {timeout:.0f} s" if isinstance(exc, asyncio.TimeoutError)
                   else describe_error(exc))
            text = (f"could not join the public Mainline DHT: {why}. Is this computer "
                    f"online? Network \u25b8 Public DHT routers\u2026 edits the list")
            log.warning("%s", text)
            self.error.emit(text)
            return False
        self._joined_lab = False
        self._network = "public"
        self._set_joined(True)
        self.network_changed.emit()
        self.message.emit(f"joined the public Mainline DHT: {count} contacts")
        self.spawn(self._warm_up(node))
        return True

    async def rejoin_lab(self) -> bool:
        """Join the local lab again (Network ▸ Rejoin lab), starting our node if it left."""
        labs = self._labs
        if labs is None or not labs.size:
            self.error.emit("no lab to join: Network \u25b8 Resize lab starts one")
            return False
        address = labs.bootstrap_address
        if address not in self._lab_addresses:  # the first node died: any live one
            infos = await labs.overview()
            alive = [i.address for i in infos if i.alive]
            if alive:
                address = alive[0]
        return await self.join(*address)

    async def leave(self) -> None:
        """Stop our node (the lab keeps running); Join starts a fresh one."""
        node = self._node
        if node is None:
            return
        await self.focus_node(None)
        self._node = None
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._bridge is not None:
            self._bridge.detach()
        await _quietly(node.stop())
        self._joined_lab = False
        self._set_joined(False)
        self.node_changed.emit(None)
        self.message.emit("left the network")

    async def resize_lab(self, n: int) -> None:
        """Grow or shrink the local lab to ``n`` nodes (0 stops it)."""
        async with self._lock():
            try:
                if self._labs is None:
                    if n <= 0:
                        return
                    await self._start_lab(n)
                elif n <= 0:
                    await self._stop_lab()
                    if self._joined_lab:  # our only peers are gone
                        self._joined_lab = False
                        self._set_joined(False)
                    self.lab_changed.emit(0)
                    self.message.emit("lab stopped")
                    return
                elif n >= THREADED_LAB_MIN and not self._labs.threaded:
                    # Too big for our loop: a new lab on its own thread, and our node rejoins it.
                    rejoin = self._joined_lab
                    await self._stop_lab()
                    await self._start_lab(n)
                    if rejoin and self._labs is not None:
                        await self._bootstrap([self._labs.bootstrap_address])
                else:
                    await self._labs.resize(n)
                    await self.refresh_lab_nodes()
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not resize the lab", exc)
            self.lab_changed.emit(self.lab_size)
            self.network_changed.emit()

    async def add_lab_node(self) -> None:
        """Start one more lab node."""
        if self._labs is None:
            await self.resize_lab(1)
            return
        async with self._lock():
            try:
                info = await self._labs.add()
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not add a lab node", exc)
            else:
                self._lab_addresses.add(info.address)
                self.lab_node_changed.emit(info)
                self.message.emit(f"lab node {info.id.hex()[:8]} started at {info.host}:{info.port}")
            self.lab_changed.emit(self.lab_size)

    async def kill_lab_node(self, node_id: bytes | None = None) -> None:
        """Stop a lab node abruptly (a random one if None), so the routing tables must heal."""
        if self._labs is None or not self.lab_size:
            self.error.emit("no lab node to kill")
            return
        async with self._lock():
            try:
                info = await self._labs.kill(node_id)
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not kill a lab node", exc)
            else:
                self.lab_node_changed.emit(info)
                self.message.emit(f"killed lab node {info.id.hex()[:8]} at {info.host}:{info.port} "
                                  f"({self.lab_size} left)")
                if self._focus is not None and self._focus.id == info.id:
                    await self._refresh_focus()
            self.lab_changed.emit(self.lab_size)

    async def revive_lab_node(self, node_id: bytes | None = None) -> None:
        """Restart a killed lab node on its data directory (the longest dead if None)."""
        if self._labs is None:
            self.error.emit("no lab node to revive")
            return
        async with self._lock():
            try:
                info = await self._labs.revive(node_id)
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not revive a lab node", exc)
            else:
                self.lab_node_changed.emit(info)
                self.message.emit(f"revived lab node {info.id.hex()[:8]} at {info.host}:{info.port}")
                if self._focus is not None and self._focus.id == info.id:
                    await self._refresh_focus()
            self.lab_changed.emit(self.lab_size)

    async def set_lab_conditions(self, conditions: "Conditions") -> bool:
        """Apply network conditions to the lab (delay, loss, churn); False if there is no lab."""
        if self._labs is None:
            self.error.emit("no lab: Network \u25b8 Resize lab starts one")
            return False
        await self._labs.set_conditions(conditions)
        self.conditions_changed.emit(conditions)
        self.message.emit(f"lab conditions: {conditions.describe()}")
        return True

    async def watch_lab_lookups(self, on: bool) -> None:
        """Emit the lab nodes' own lookup events as :attr:`lab_lookups` (for the map), or stop."""
        from dht.events import LookupAnswered, LookupQueried, LookupStarted

        if self._lab_watch is not None:
            unwatch, self._lab_watch = self._lab_watch, None
            await _quietly(unwatch())
        if on and self._labs is not None:
            self._lab_watch = await self._labs.watch(self.lab_lookups.emit, None, (LookupStarted, LookupQueried, LookupAnswered))

    # -- any node in focus -----------------------------------------------------

    async def focus_node(self, node_id: bytes | None) -> bool:
        """Show the lab node ``node_id`` in the panels (None, or our own id: our node)."""
        from .map.focus import FocusedNode

        old, self._focus = self._focus, None
        if self._focus_task is not None:
            self._focus_task.cancel()
            self._focus_task = None
        if old is not None:
            await old.close()
        own = self._node.id if self._node is not None else None
        if node_id is None or node_id == own or self._labs is None:
            if old is not None:
                self.focus_changed.emit(None)
            return node_id is None or node_id == own
        try:
            focused = await FocusedNode.open(self._labs, node_id, self._labs.lab.config)
        except Exception as exc:
            if not _expected(exc):
                raise
            self._fail("could not focus that node", exc)
            if old is not None:
                self.focus_changed.emit(None)
            return False
        self._focus = focused
        self._focus_task = self.spawn(self._follow_focus(focused))
        self.focus_changed.emit(focused)
        info = focused.view.info
        self.message.emit(f"showing lab node {info.id.hex()[:8]} at {info.host}:{info.port}")
        return True

    async def _refresh_focus(self) -> None:
        focus = self._focus
        if focus is not None:
            try:
                await focus.refresh()
            except Exception as exc:
                if not _expected(exc):
                    raise

    async def _follow_focus(self, focused: "FocusedNode") -> None:
        while self._focus is focused:
            await asyncio.sleep(FOCUS_INTERVAL)
            if self._focus is focused:
                await self._refresh_focus()

    async def stop(self) -> None:
        """Stop our node and the lab; cancel tasks started with :meth:`spawn`."""
        for task in list(self._tasks):
            task.cancel()
        await self.leave()
        had_lab = self._labs is not None
        await self._stop_lab()
        if had_lab:
            self.lab_changed.emit(0)


def _expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure a user can cause (not a bug)."""
    from dht.errors import DHTError

    return isinstance(exc, (DHTError, OSError, asyncio.TimeoutError))


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on ``host`` that is free now (the system picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def _quietly(aw: Awaitable[Any]) -> None:
    try:
        await aw
    except Exception:
        log.debug("ignored error while stopping", exc_info=True)
