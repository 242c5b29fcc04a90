"""The application's hold on the network: the local lab and our own node.

:class:`NetworkController` is composed of two parts, each with its own
state, that it holds and hands to whoever needs them:
:attr:`~NetworkController.lab_control` (:class:`~khgui.lab_control.LabControl`:
the lab, its nodes, its conditions and the lab node in focus) and
:attr:`~NetworkController.own_node` (:class:`~khgui.node_control.OwnNode`:
our node's start, joins and leave).  Both emit through the controller's
signals (:class:`~khgui.signals.NetworkSignals`) and run their coroutines
through its :class:`~khgui.signals.Tasks`.  The controller itself does what
takes both: start and stop, suspend and resume, rejoin the lab, put a node
in focus, and keep the values the user published.  The lab is a
:class:`dht.LabThread`: from :data:`~khgui.lab_control.THREADED_LAB_MIN`
nodes up it runs on a loop of its own in a worker thread (a 2,000-node lab
forms without stalling the window), smaller ones on ours.  Once a second
the lab control takes an overview of every lab node (``lab_nodes``, for the
network map).  Any lab node can be put in focus (:meth:`~NetworkController.focus_node`):
``focus_changed`` hands the window a :class:`~khgui.map.focus.FocusedNode`
whose view is refreshed twice a second, for the panels to show instead of
our node.  Every failure a user can cause (port in use, unreachable
bootstrap, unreadable database, bad value) is caught and emitted as a
one-line ``error`` message rather than raised (:mod:`khgui.failures`).
Panels use :meth:`NetworkController.run_lookup` to run node calls so that
the window can show a busy indicator while lookups run.

Until :meth:`~NetworkController.start` is done the controller says it is
:attr:`~NetworkController.starting` (the panels say so rather than "no node
is running").  :meth:`~NetworkController.suspend` stops the lab and our node
while a capture is shown, remembering what ran; :meth:`~NetworkController.resume`
starts them again and rejoins the same network.  The values the user
published (the :class:`~khgui.common.keys.KeyRegistry`) are kept in our
node's data directory (:mod:`khgui.common.published`) and stored again into
the network each time our node joins one, so they outlive a restart.

Only the public API of :mod:`dht` is used (see ``docs/dht-api.md``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Coroutine, TypeVar

from PySide6.QtCore import QObject

from dht import parse_address

from .common.keys import KeyRegistry, default_registry
from .common.published import published_path
from .failures import describe_error, expected
from .lab_control import DEFAULT_LAB_SIZE, LabControl
from .node_control import PUBLIC_JOIN_TIMEOUT, OwnNode
from .signals import NetworkSignals, Tasks

if TYPE_CHECKING:
    from dht import Config, Lab, LabProcesses, LabThread, Node

    from .bridge import EventBridge
    from .map.focus import FocusedNode

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PublicJoin:
    """How our node joined the public DHT (:meth:`NetworkController.join_public`'s arguments)."""

    routers: list[tuple[str, int]]
    read_only: bool
    host: str
    timeout: float
    query_budget: float | None


@dataclass(frozen=True)
class Suspended:
    """What ran when :meth:`NetworkController.suspend` stopped it."""

    lab_size: int
    network: str  # "lab", "public", the bootstrap addresses, "" when not joined
    addresses: list[tuple[str, int]]
    public: PublicJoin | None


class NetworkController(NetworkSignals):
    """Owns the local lab (``dht.Lab``, through :attr:`lab_control`) and our own node
    (``dht.Node``, through :attr:`own_node`); its signals are :class:`~khgui.signals.NetworkSignals`'."""

    def __init__(
        self,
        bridge: "EventBridge | None" = None,
        config: "Config | None" = None,
        host: str = "127.0.0.1",
        parent: QObject | None = None,
        registry: KeyRegistry | None = None,
    ) -> None:
        super().__init__(parent)
        self._config = config
        self.tasks = Tasks(self)
        self.own_node = OwnNode(self, self.tasks, bridge, config, host, leaving=lambda: self.focus_node(None))
        self.lab_control = LabControl(self, self.tasks, config, stopped=self.own_node.lab_stopped,
                                      reformed=self._lab_reformed)
        self._public: PublicJoin | None = None  # join_public's arguments, while on the public DHT
        self._starting = False
        self._suspended: Suspended | None = None
        self.registry = registry if registry is not None else default_registry()
        self.registry.error.connect(self.error.emit)
        self.node_changed.connect(self._keep_published)
        self.joined_changed.connect(self._joined_republish)
        self.republished = 0
        """Published values stored again into a network joined (since the controller was made)."""

    # -- state -------------------------------------------------------------

    @property
    def node(self) -> "Node | None":
        return self.own_node.node

    @property
    def lab(self) -> "Lab | None":
        """The lab itself: use it only on its own loop (ours below THREADED_LAB_MIN nodes);
        from the window, go through :attr:`lab_runner`."""
        return self.lab_control.lab

    @property
    def lab_runner(self) -> "LabThread | LabProcesses | None":
        """The running lab's :class:`dht.LabThread` or :class:`dht.LabProcesses`."""
        return self.lab_control.runner

    @property
    def lab_threaded(self) -> bool:
        return self.lab_control.threaded

    @property
    def lab_size(self) -> int:
        return self.lab_control.size

    @property
    def focus(self) -> "FocusedNode | None":
        """The lab node in focus, None when the panels show our own node."""
        return self.lab_control.focus

    def lab_addresses(self) -> set[tuple[str, int]]:
        """The addresses of the lab's nodes, as last seen."""
        return self.lab_control.addresses()

    @property
    def profile(self) -> str:
        """The name of the DHT spoken, for the user: "khashmir" or "mainline" (``Config.PROFILE``).
        What it can do: :func:`khgui.profile.can`."""
        return str(self._config.PROFILE) if self._config is not None else "khashmir"

    @property
    def config(self) -> "Config | None":
        return self._config

    @property
    def read_only(self) -> bool:
        """Whether our node is read-only (BEP 43: it answers no queries)."""
        return self.own_node.read_only

    @property
    def starting(self) -> bool:
        """True from :meth:`mark_starting` (or :meth:`start`) until start is done."""
        return self._starting

    def mark_starting(self) -> None:
        """Say that :meth:`start` is on its way (before the window is shown, so that
        it does not say no node runs while the lab forms)."""
        self._starting = True

    @property
    def suspended(self) -> bool:
        """Whether the network is stopped while a capture is shown (:meth:`resume` starts it)."""
        return self._suspended is not None

    @property
    def joined(self) -> bool:
        return self.own_node.joined

    @property
    def network(self) -> str:
        """"lab", "public", the bootstrap addresses, or "" when not joined (the query budget follows it)."""
        return self.own_node.network

    @property
    def busy(self) -> bool:
        return self.tasks.busy

    def network_name(self) -> str:
        """The profile and the network, for the title and status bar: "Mainline · local lab"."""
        profile = self.profile.capitalize()
        joined = self.joined
        if self._starting and not joined:
            return f"{profile} \u00b7 starting\u2026"
        if self._suspended is not None and not joined:
            return f"{profile} \u00b7 stopped while a capture is shown"
        network = self.network
        if not joined:
            where = "not joined" + (f" (lab of {self.lab_size} nodes)" if self.lab_size else "")
        elif network == "lab":
            where = f"local lab of {self.lab_size} nodes"
        elif network == "public":
            where = "public DHT" + (", read-only" if self.read_only else "")
        else:
            where = network
        return f"{profile} \u00b7 {where}"

    def take_lookups(self) -> list[tuple[bytes, Any]]:
        """Our node's lookup events since the last call, as ``(our id, event)`` (for the map)."""
        return self.own_node.take_lookups()

    # -- tasks -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Run ``coro`` as a task of the running loop, logging what it raises."""
        return self.tasks.spawn(coro)

    async def run_lookup(self, coro: Awaitable[T], report: bool = False) -> T | None:
        """Await a node call (lookup, store, ...) while :attr:`busy` is True
        (see :meth:`khgui.signals.Tasks.run_lookup`)."""
        return await self.tasks.run_lookup(coro, report)

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
        own, labs = self.own_node, self.lab_control
        own.port = port
        own.data_dir = data_dir
        self._starting = True
        self.network_changed.emit()
        try:
            if lab_size > 0 and labs.runner is None:
                try:
                    await labs.start(lab_size)
                except Exception as exc:
                    if not expected(exc):
                        raise
                    self.fail("could not start the local lab", exc)
            if not await own.start():
                return False
            runner = labs.runner
            if bootstrap:
                await own.bootstrap(bootstrap, labs.addresses())
            elif runner is not None:
                await own.bootstrap([runner.bootstrap_address], labs.addresses())
            return True
        finally:
            self._starting = False
            self.network_changed.emit()
            if own.node is None:
                self.node_changed.emit(None)  # the panels say why no node runs

    async def suspend(self) -> None:
        """Stop the lab and our node (File ▸ Open capture), remembering what ran for :meth:`resume`."""
        if self._suspended is None:
            network = self.network
            try:
                addresses = ([parse_address(a) for a in network.split(", ")]
                             if network not in ("", "lab", "public") else [])
            except ValueError:  # not one Join takes (an IPv6 router): the lab is started again
                addresses = []
            self._suspended = Suspended(self.lab_size, network, addresses, self._public)
        await self.stop()
        self.network_changed.emit()

    async def resume(self) -> bool:
        """Start again what :meth:`suspend` stopped: the lab, of its size, and our node, joined to
        the same network (the lab, the bootstrap addresses or the public DHT).  Returns whether
        our node runs; False, with nothing done, when nothing was suspended."""
        was, self._suspended = self._suspended, None
        if was is None:
            return False
        self.network_changed.emit()
        if was.network == "public" and was.public is not None:
            if was.lab_size:
                await self.lab_control.resize(was.lab_size)
            p = was.public
            return await self.join_public(p.routers, p.read_only, p.host, p.timeout, p.query_budget)
        own = self.own_node
        return await self.start(was.lab_size, was.addresses or None, own.port, own.data_dir)

    async def stop(self) -> None:
        """Stop our node and the lab; cancel tasks started with :meth:`spawn`."""
        self.tasks.cancel()
        await self.leave()
        had_lab = self.lab_control.runner is not None
        await self.lab_control.stop()
        if had_lab:
            self.lab_changed.emit(0)

    # -- joining and leaving -------------------------------------------------

    async def join(self, host: str, port: int) -> bool:
        """Join the network through ``host:port`` (starting our node if needed)."""
        return await self.own_node.join(host, port, self.lab_control.addresses())

    async def join_public(self, routers: list[tuple[str, int]], read_only: bool = True,
                          host: str = "0.0.0.0", timeout: float = PUBLIC_JOIN_TIMEOUT,
                          query_budget: float | None = None) -> bool:
        """Join the public Mainline DHT (see :meth:`OwnNode.join_public`), remembering
        how, so that :meth:`resume` can join it again."""
        self._public = PublicJoin(list(routers), read_only, host, timeout, query_budget)
        return await self.own_node.join_public(routers, read_only, host, timeout, query_budget)

    async def leave(self) -> None:
        """Stop our node (the lab keeps running); Join starts a fresh one."""
        await self.own_node.leave()

    async def rejoin_lab(self) -> bool:
        """Join the local lab again (Network ▸ Rejoin lab), starting our node if it left
        and, when no lab runs (stopped, or resized to 0), a lab as big as the last one."""
        labs = self.lab_control
        if labs.runner is None or not labs.size:
            await labs.resize(labs.last_size or DEFAULT_LAB_SIZE)
        address = await labs.live_address()
        if address is None:
            return False  # resize said why
        return await self.join(*address)

    async def resize_lab(self, n: int) -> None:
        """Grow or shrink the local lab to ``n`` nodes (0 stops it; see :meth:`LabControl.resize`)."""
        await self.lab_control.resize(n)

    async def _lab_reformed(self, address: tuple[str, int]) -> None:
        """A new lab replaced the old (grown past THREADED_LAB_MIN): our node follows if it was in it."""
        if self.own_node.joined_lab:
            await self.own_node.bootstrap([address], self.lab_control.addresses())

    async def focus_node(self, node_id: bytes | None) -> bool:
        """Show the lab node ``node_id`` in the panels (None, or our own id: our node)."""
        node = self.own_node.node
        return await self.lab_control.focus_node(node_id, node.id if node is not None else None)

    # -- our published values ------------------------------------------------

    def _keep_published(self, node: "Node | None") -> None:
        """Keep the published values in the data directory of our node, now it runs."""
        if node is not None:
            self.registry.attach(published_path(node.data_dir, self.profile))

    def _joined_republish(self, joined: bool) -> None:
        node = self.own_node.node
        if joined and node is not None and self.registry.published():
            self.spawn(self.republish_published(node))

    async def republish_published(self, node: "Node") -> int:
        """Store each of our published values into the network our node joined; how many were."""
        pairs = sorted(self.registry.published().items(), key=lambda item: item[1])
        done, failed = 0, ""
        for (key, value), _when in pairs:
            if node is not self.own_node.node or not node.running:
                break
            try:
                result = await node.store_value(key, value)
            except Exception as exc:
                if not expected(exc):
                    raise
                failed = f"{key.hex()[:8]}: {describe_error(exc)}"
                continue
            if result.accepted:
                self.registry.mark_published(key, value)
                done += 1
        self.republished += done
        if done:
            self.message.emit(f"republished {done} of your {len(pairs)} published value"
                              f"{'s' if len(pairs) != 1 else ''} into this network")
        if failed:
            self.error.emit(f"could not republish {len(pairs) - done} of your published values "
                            f"(last: {failed}); the values panel retries before they expire")
        return done
