"""Our own node's life cycle: start it, join a network through it, leave.

Mixed into :class:`~khgui.controller.NetworkController`, whose state and
signals these methods use.  Our node starts on the controller's host, port
and data directory (a port in use is reported with one that is free now),
joins the local lab, bootstrap addresses (host names resolved first) or,
as a Mainline node, the public DHT through its routers; after joining, a
few background lookups of random ids fill its far buckets.  A node on a
loopback address (127.0.0.1, where it starts beside a lab) cannot send to
any other address (the kernel refuses: EINVAL), so a join through one
first *moves* our node: it restarts on all interfaces (0.0.0.0), on its
port where it is still free, with its id and data directory, and the
window says so (:meth:`OwnNodeMixin.move_to_all_interfaces`).  Its lookup
events are kept for the network map, its storage warnings shown as errors.
Leaving stops it; the lab keeps running.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any

from .failures import describe_error, expected, quietly

if TYPE_CHECKING:
    from dht import Node

log = logging.getLogger(__name__)

#: Seconds between our node's own background lookups of random ids.
EXPLORE_INTERVAL = 5.0
#: Seconds that joining the public Mainline DHT may take (resolving the routers
#: and their answers) before the window says it could not.
PUBLIC_JOIN_TIMEOUT = 8.0


class OwnNodeMixin:
    """Starting, joining and leaving of our node (a part of :class:`~khgui.controller.NetworkController`)."""

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
            if not expected(exc):
                raise
            await quietly(node.stop())
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
        """Join through ``addresses``, host names resolved first (replies come from the address);
        our node first moves to all interfaces if it sits on loopback and one of them is not."""
        from dht import resolve_address

        if self._node is None:
            return False
        try:
            resolved = [await resolve_address(address) for address in addresses]
            beyond = [h for h, _ in resolved if must_move(self._node.address[0], h)]
            if beyond and not await self.move_to_all_interfaces(f"to reach {beyond[0]}"):
                return False
            node = self._node
            if node is None:
                return False
            count = await self.run_lookup(node.bootstrap(resolved))
        except Exception as exc:
            if not expected(exc):
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

    async def move_to_all_interfaces(self, why: str) -> bool:
        """Restart our node on 0.0.0.0 (all interfaces), on its port if still free, with
        its id and data directory; say so in the window.  False if it could not start."""
        node = self._node
        if node is None:
            return False
        (old_host, old_port), old_port_setting = node.address, self._port
        await self.leave()
        await asyncio.sleep(0)  # asyncio closes the old socket in the loop's next pass: its port is free then
        self._host, self._port = "0.0.0.0", old_port if port_is_free("0.0.0.0", old_port) else 0
        try:
            started = await self._start_node()
        finally:
            self._port = old_port_setting
        if started and self._node is not None:
            host, port = self._node.address
            self.message.emit(f"our node moved from {old_host}:{old_port} to all interfaces ({host}:{port}) "
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
            if not expected(exc):
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
        await quietly(node.stop())
        self._joined_lab = False
        self._set_joined(False)
        self.node_changed.emit(None)
        self.message.emit("left the network")


def must_move(bound: str, destination: str) -> bool:
    """Whether a node listening on ``bound`` must move to all interfaces to send to
    ``destination``: it listens on loopback (127.x.y.z), the destination is elsewhere."""
    return bound.startswith("127.") and not destination.startswith("127.")


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
