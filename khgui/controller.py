"""The application's hold on the network: the local lab and our own node.

:class:`NetworkController` starts, joins, leaves and stops; it resizes the
local lab and kills or adds lab nodes.  Every failure a user can cause (port
in use, unreachable bootstrap, unreadable database, bad value) is caught and
emitted as a one-line :attr:`NetworkController.error` message rather than
raised.  Panels use :meth:`NetworkController.run_lookup` to run node calls
so that the window can show a busy indicator while lookups run.

Only the public API of :mod:`dht` is used (see ``docs/dht-api.md``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any, Awaitable, Coroutine, TypeVar

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from dht import Config, Lab, Node

    from .bridge import EventBridge

log = logging.getLogger(__name__)
T = TypeVar("T")


#: Lookups, stores and gets per second that the local lab's nodes make among
#: themselves, so that a first start shows a live DHT, not a quiet one.
LAB_TRAFFIC_PER_SECOND = 4.0
#: Seconds between our node's own background lookups of random ids.
EXPLORE_INTERVAL = 5.0


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
    """

    node_changed = Signal(object)
    joined_changed = Signal(bool)
    lab_changed = Signal(int)
    error = Signal(str)
    busy_changed = Signal(bool)
    message = Signal(str)

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
        self._lab: Lab | None = None
        self._joined = False
        self._joined_lab = False  # joined through the local lab (not a --bootstrap address)
        self._busy = 0
        self._port = 0
        self._data_dir: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lab_lock: asyncio.Lock | None = None
        self._unwatch: Any = None  # unsubscribes from our node's warnings

    # -- state -------------------------------------------------------------

    @property
    def node(self) -> "Node | None":
        return self._node

    @property
    def lab(self) -> "Lab | None":
        return self._lab

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
        return len(self._lab.nodes) if self._lab is not None else 0

    def _set_joined(self, joined: bool) -> None:
        if joined != self._joined:
            self._joined = joined
            self.joined_changed.emit(joined)

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
        from dht import Lab

        self._port = port
        self._data_dir = data_dir
        if lab_size > 0 and self._lab is None:
            lab = Lab(size=lab_size, config=self._config, host="127.0.0.1")
            try:
                await lab.start()
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not start the local lab", exc)
                await _quietly(lab.stop())
            else:
                self._lab = lab
                lab.start_traffic(LAB_TRAFFIC_PER_SECOND)
                self.lab_changed.emit(len(lab.nodes))
        if not await self._start_node():
            return False
        if bootstrap:
            await self._bootstrap(bootstrap)
        elif self._lab is not None:
            await self._bootstrap([self._lab.bootstrap_address])
        return True

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
        from dht.events import NodeWarning

        if isinstance(event, NodeWarning):  # storage faults come at most once a minute
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
        lab = self._lab
        self._joined_lab = lab is not None and any(a in {n.address for n in lab.nodes} for a in addresses)
        self._set_joined(True)
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

    async def rejoin_lab(self) -> bool:
        """Join the local lab again (Network ▸ Rejoin lab), starting our node if it left."""
        if self._lab is None or not self._lab.nodes:
            self.error.emit("no lab to join: Network \u25b8 Resize lab starts one")
            return False
        return await self.join(*self._lab.bootstrap_address)

    async def leave(self) -> None:
        """Stop our node (the lab keeps running); Join starts a fresh one."""
        node = self._node
        if node is None:
            return
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
        from dht import Lab

        async with self._lock():
            try:
                if self._lab is None:
                    if n <= 0:
                        return
                    lab = Lab(size=n, config=self._config, host="127.0.0.1")
                    await lab.start()
                    lab.start_traffic(LAB_TRAFFIC_PER_SECOND)
                    self._lab = lab
                elif n <= 0:
                    lab, self._lab = self._lab, None
                    await lab.stop()
                    if self._joined_lab:  # our only peers are gone
                        self._joined_lab = False
                        self._set_joined(False)
                    self.lab_changed.emit(0)
                    self.message.emit("lab stopped")
                    return
                else:
                    await self._lab.resize(n)
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not resize the lab", exc)
            self.lab_changed.emit(self.lab_size)

    async def add_lab_node(self) -> None:
        """Start one more lab node."""
        if self._lab is None:
            await self.resize_lab(1)
            return
        async with self._lock():
            try:
                node = await self._lab.add_node()
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not add a lab node", exc)
            else:
                self.message.emit(f"lab node {node.id.hex()[:8]} started")
            self.lab_changed.emit(self.lab_size)

    async def kill_lab_node(self) -> None:
        """Stop a random lab node abruptly, so the routing table must heal."""
        if self._lab is None or not self._lab.nodes:
            self.error.emit("no lab node to kill")
            return
        async with self._lock():
            try:
                node = await self._lab.kill_node()
            except Exception as exc:
                if not _expected(exc):
                    raise
                self._fail("could not kill a lab node", exc)
            else:
                host, port = node.address
                self.message.emit(f"killed lab node {node.id.hex()[:8]} at {host}:{port} "
                                  f"({self.lab_size} left)")
            self.lab_changed.emit(self.lab_size)

    async def stop(self) -> None:
        """Stop our node and the lab; cancel tasks started with :meth:`spawn`."""
        for task in list(self._tasks):
            task.cancel()
        await self.leave()
        lab, self._lab = self._lab, None
        if lab is not None:
            await _quietly(lab.stop())
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
