"""Our own node's life cycle: start it, join a network through it, leave.

:class:`OwnNode` is the part of :class:`~khgui.controller.NetworkController`
that holds our node, with its own state (the node, the network it joined,
its host, port and data directory), emitting through the controller's
:class:`~khgui.signals.NetworkSignals`.  Our node starts on its host, port
and data directory (a port in use is reported with one that is free now),
joins the local lab, bootstrap addresses (host names resolved first) or,
as a Mainline node, the public DHT through its routers; after joining, a
few background lookups of random ids fill its far buckets.  A node on a
loopback address (127.0.0.1, where it starts beside a lab) cannot send to
any other address (the kernel refuses: EINVAL), so a join through one
first *moves* our node: it restarts on all interfaces (0.0.0.0), on its
port where it is still free, with its id and data directory, and the
window says so (:meth:`OwnNode.move_to_all_interfaces`).  Its lookup
events are kept for the network map, its storage warnings shown as errors.
Leaving stops it; the lab keeps running.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .common.text import format_peer
from .failures import describe_error, expected, quietly
from .profile import IPV6, PUBLIC_NETWORK, can
from .signals import NetworkSignals, Tasks

if TYPE_CHECKING:
    from dht import Config, Node

    from .bridge import EventBridge

log = logging.getLogger(__name__)

#: Seconds between our node's own background lookups of random ids.
EXPLORE_INTERVAL = 5.0
#: Seconds that joining the public Mainline DHT may take (resolving the routers
#: and their answers) before the window says it could not.
PUBLIC_JOIN_TIMEOUT = 8.0
#: Lookup events of our node kept for the network map between two drains.
MAX_MAP_LOOKUPS = 5000

Address = tuple[str, int]


class OwnNode:
    """Starting, joining and leaving of our node.

    ``leaving`` is awaited before our node stops (the controller takes the
    focus back from a lab node then).
    """

    def __init__(self, signals: NetworkSignals, tasks: Tasks, bridge: "EventBridge | None",
                 config: "Config | None", host: str, leaving: Callable[[], Awaitable[Any]]) -> None:
        self._signals = signals
        self._tasks = tasks
        self._bridge = bridge
        self._config = config
        self._host = host
        self._leaving = leaving
        self._node: Node | None = None
        self._unwatch: Callable[[], None] | None = None  # unsubscribes from our node's warnings
        self._map_lookups: collections.deque[tuple[bytes, Any]] = collections.deque(maxlen=MAX_MAP_LOOKUPS)
        self._joined = False
        self.joined_lab = False
        """Joined through the local lab (not a --bootstrap address)."""
        self._network = ""  # "lab", "public" or the bootstrap addresses; "" when not joined
        self.port = 0
        """The port our node starts on (0: any)."""
        self.data_dir: str | None = None
        """Our node's data directory (None: none, nothing kept)."""

    # -- state -------------------------------------------------------------

    @property
    def node(self) -> "Node | None":
        return self._node

    @property
    def config(self) -> "Config | None":
        return self._config

    @property
    def joined(self) -> bool:
        return self._joined

    @property
    def network(self) -> str:
        """"lab", "public", the bootstrap addresses, or "" when not joined."""
        return self._network if self._joined else ""

    @property
    def read_only(self) -> bool:
        """Whether our node is read-only (BEP 43: it answers no queries)."""
        return bool(self._node is not None and self._node.config.READ_ONLY)

    def take_lookups(self) -> list[tuple[bytes, Any]]:
        """Our node's lookup events since the last call, as ``(our id, event)`` (for the map)."""
        items = list(self._map_lookups)
        self._map_lookups.clear()
        return items

    def set_joined(self, joined: bool) -> None:
        if joined != self._joined:
            self._joined = joined
            self._signals.joined_changed.emit(joined)
            self._signals.network_changed.emit()

    def lab_stopped(self) -> None:
        """The lab stopped: if our node joined through it, its only peers are gone."""
        if self.joined_lab:
            self.joined_lab = False
            self.set_joined(False)

    async def start(self) -> bool:
        """Start our node on its host, port and data directory (not joined yet); False, and the
        window told why, if it could not."""
        from dht import Node

        node = Node(config=self._config, host=self._host, port=self.port, data_dir=self.data_dir,
                    host6=ipv6_side(self._config, self._host))
        if self._bridge is not None:
            self._bridge.attach(node)  # before start(): see what loading does
        try:
            await node.start()
        except Exception as exc:
            if self._bridge is not None:
                self._bridge.detach()
            if not expected(exc):
                raise
            await quietly(node.stop())
            if self.port and "in use" in str(exc):  # offer a port that is free now
                free = free_udp_port(self._host)
                self.port = free
                self._signals.fail("could not start our node",
                                   type(exc)(f"{exc}; port {free} is free now: Network \u25b8 Join or Rejoin lab uses it"))
            else:
                self._signals.fail("could not start our node", exc)
            return False
        self._node = node
        for warning in node.warnings:  # e.g. an unreadable database moved aside
            self._signals.error.emit(warning)
        self._unwatch = node.subscribe(self._node_event)  # later ones: a full disk, a read-only directory
        self._signals.node_changed.emit(node)
        listening = " and ".join(format_peer(a) for a in (node.address_of(f) for f in node.families) if a)
        self._signals.message.emit(f"node {node.id.hex()[:8]} listening on {listening}")
        return True

    def _node_event(self, event: Any) -> None:
        from dht.events import LookupAnswered, LookupQueried, LookupStarted, NodeWarning

        if isinstance(event, (LookupStarted, LookupQueried, LookupAnswered)):
            node = self._node
            if node is not None:
                self._map_lookups.append((node.id, event))  # bounded: the map drains it
        elif isinstance(event, NodeWarning):  # storage faults come at most once a minute
            self._signals.error.emit(event.text)

    async def bootstrap(self, addresses: list[Address], lab: set[Address] | None = None) -> bool:
        """Join through ``addresses``, host names resolved first (replies come from the address);
        our node first moves to all interfaces if it sits on loopback and one of them is not.
        ``lab``: the local lab's addresses (joining through one is joining the lab)."""
        from dht import FAMILIES, resolve_address

        if self._node is None:
            return False
        try:
            families = FAMILIES if can(self._config, IPV6) else FAMILIES[:1]  # IPv6 on a dual-stack wire
            resolved = [await resolve_address(address, families=families) for address in addresses]
            beyond = [h for h, _ in resolved if must_move(self._node.address[0], h)]
            if beyond and not await self.move_to_all_interfaces(f"to reach {beyond[0]}"):
                return False
            node = self._node
            if node is None:
                return False
            count = await self._tasks.run_lookup(node.bootstrap(resolved))
        except Exception as exc:
            if not expected(exc):
                raise
            where = ", ".join(f"{h}:{p}" for h, p in addresses)
            self._signals.fail(f"could not join {where}", exc)
            return False
        self.joined_lab = lab is not None and any(a in lab for a in resolved)
        self._network = "lab" if self.joined_lab else ", ".join(f"{h}:{p}" for h, p in addresses)
        self.set_joined(True)
        self._signals.network_changed.emit()
        self._signals.message.emit(f"joined: {count} contacts")
        self._tasks.spawn(self._warm_up(node))
        return True

    async def move_to_all_interfaces(self, why: str) -> bool:
        """Restart our node on 0.0.0.0 (all interfaces), on its port if still free, with
        its id and data directory; say so in the window.  False if it could not start."""
        node = self._node
        if node is None:
            return False
        (old_host, old_port), old_port_setting = node.address, self.port
        await self.leave()
        await asyncio.sleep(0)  # asyncio closes the old socket in the loop's next pass: its port is free then
        self._host, self.port = "0.0.0.0", old_port if port_is_free("0.0.0.0", old_port) else 0
        try:
            started = await self.start()
        finally:
            self.port = old_port_setting
        if started and self._node is not None:
            host, port = self._node.address
            self._signals.message.emit(f"our node moved from {old_host}:{old_port} to all interfaces ({host}:{port}) "
                                       f"{why}: on {old_host} it can reach this computer only")
        return started

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

    async def join(self, host: str, port: int, lab: set[Address] | None = None) -> bool:
        """Join the network through ``host:port`` (starting our node if needed)."""
        if self._node is None and not await self.start():
            return False
        return await self.bootstrap([(host, port)], lab)

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
        config = self._config
        if config is None or not can(config, PUBLIC_NETWORK):
            self._signals.error.emit("the public DHT speaks Mainline: start the explorer with --profile mainline")
            return False
        if not routers:
            self._signals.error.emit("no router to join the public DHT through: Network \u25b8 Public DHT routers\u2026 adds some")
            return False
        await self.leave()
        old_host = self._host
        budget = {} if query_budget is None else {"QUERY_BUDGET": query_budget}
        self._config, self._host = config.replace(READ_ONLY=read_only, **budget), host
        try:
            started = await self.start()
        finally:
            self._config, self._host = config, old_host
        node = self._node
        if not started or node is None:
            return False
        where = ", ".join(f"{h}:{p}" for h, p in routers)
        self._signals.message.emit(f"joining the public Mainline DHT through {where}\u2026")
        try:
            count = await self._tasks.run_lookup(asyncio.wait_for(node.bootstrap([], routers=routers), timeout))
        except Exception as exc:
            if not expected(exc):
                raise
            why = (f"no answer within {timeout:.0f} s" if isinstance(exc, asyncio.TimeoutError)
                   else describe_error(exc))
            text = (f"could not join the public Mainline DHT: {why}. Is this computer "
                    f"online? Network \u25b8 Public DHT routers\u2026 edits the list")
            log.warning("%s", text)
            self._signals.error.emit(text)
            return False
        self.joined_lab = False
        self._network = "public"
        self.set_joined(True)
        self._signals.network_changed.emit()
        self._signals.message.emit(f"joined the public Mainline DHT: {count} contacts")
        self._tasks.spawn(self._warm_up(node))
        return True

    async def leave(self) -> None:
        """Stop our node (the lab keeps running); Join starts a fresh one."""
        node = self._node
        if node is None:
            return
        await self._leaving()
        self._node = None
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._bridge is not None:
            self._bridge.detach()
        await quietly(node.stop())
        self.joined_lab = False
        self.set_joined(False)
        self._signals.node_changed.emit(None)
        self._signals.message.emit("left the network")


def must_move(bound: str, destination: str) -> bool:
    """Whether a node listening on ``bound`` must move to all interfaces to send to
    ``destination``: it listens on loopback (127.x.y.z), the destination is elsewhere."""
    return bound.startswith("127.") and not (destination.startswith("127.") or destination == "::1")


def ipv6_side(config: "Config | None", host: str) -> str | None:
    """Where our node's IPv6 side listens (a dual-stack profile, BEP 32): ::1 beside a
    loopback IPv4 host, every interface (::) beside any other; None on an IPv4-only wire."""
    if not can(config, IPV6) or ":" in host:
        return None
    return "::1" if host.startswith("127.") else "::"


def port_is_free(host: str, port: int) -> bool:
    """Whether UDP ``port`` on ``host`` can be bound now."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host, port))
    except OSError:
        return False
    return True


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port on ``host`` that is free now (the system picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
