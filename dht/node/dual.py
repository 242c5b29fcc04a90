"""A node's sides: one per address family it listens on (BEP 32's dual-stack Mainline node).

A Mainline node may listen on IPv4 and on IPv6.  BEP 32 keeps the two
networks apart: a routing table for each, lookups on each, and answers that
carry the other family's nodes only to those who ``want`` them.  libtorrent
does it with one ``node`` per listen socket, each with its own table and id.
Here too: each side is a whole :class:`~dht.node.core.NodeCore` of one family
(its socket, its KRPC machine and transport, its routing table, its BEP 42
id and external-address votes, its lookups, its peer and item stores), and
:class:`Sides` holds them and is what makes them one node:

- each side's :attr:`~dht.node.core.NodeCore.sibling` is the other, so its
  handlers answer ``want: n4`` / ``n6`` from the other side's table;
- both sides' find_node queries ask ``want: [n4, n6]``, and at bootstrap the
  other family's nodes an answer carries seed the other side;
- the public coroutines run on every side at once and their results merge
  (peers of both families, the highest item found, the announces summed).

The first side is the primary: the node's id, address, data directory,
statistics.  The IPv6 side of a node with both keeps its id and contacts in
``ipv6/`` under the data directory.  A side whose family the system lacks
(:class:`~dht.core.errors.FamilyUnavailable`) is dropped at start with one
warning line, so long as another side runs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, TypeVar

from ..core.contact import Address, Contact
from ..core.errors import DHTError, FamilyUnavailable, LocalError
from ..core.family import FAMILIES, Family, family_of
from ..mainline.lookups import FoundItem, MutablePut, PeersFound
from ..mainline.protocol import MainlineProtocol
from . import protocols
from .core import NodeCore

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Where the IPv6 side of a dual-stack node keeps its id and contacts, under the data directory.
IPV6_DIR = "ipv6"

#: What each side's find_node asks for on a dual-stack node (BEP 32).
WANT_BOTH = tuple(f.want for f in FAMILIES)


class Sides:
    """The sides of one node, the primary first (see the module's docstring)."""

    def __init__(self, sides: list[NodeCore]) -> None:
        self.all = sides
        for side in sides:
            side.sibling = next((s for s in sides if s is not side), None)

    @property
    def primary(self) -> NodeCore:
        return self.all[0]

    def running(self) -> list[NodeCore]:
        return [s for s in self.all if s.running]

    def side(self, family: Family) -> NodeCore | None:
        """The running side of ``family`` (None: the node has none)."""
        return next((s for s in self.all if s.running and s.family is family), None)

    def side_for(self, host: str) -> NodeCore:
        """The side to send to ``host`` from: of its family (a name: the primary's)."""
        try:
            family = family_of(host)
        except DHTError:
            return self.primary
        side = self.side(family)
        if side is None:
            raise LocalError(f"this node has no {family} side: cannot reach {family.shown(host, 0)[:-2]}")
        return side

    # --- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        """Start each side, the others on the primary's port if free; a side whose family
        the system lacks is dropped with one warning line (FamilyUnavailable if none is left)."""
        started: list[NodeCore] = []
        unavailable: list[str] = []
        for side in self.all:
            if started and side.requested_port == 0:
                side.requested_port = started[0].address[1]
            try:
                await _start_side(side)
            except FamilyUnavailable as exc:
                unavailable.append(str(exc))
                continue
            except BaseException:
                for done in started:
                    await done.stop()
                raise
            started.append(side)
        if not started:
            raise FamilyUnavailable("; ".join(unavailable))
        self.all = started
        for side in started:
            side.sibling = next((s for s in started if s is not side), None)
        for text in unavailable:
            text = f"{text}; going on with {', '.join(str(s.family) for s in started)} only"
            log.warning("%s", text)
            started[0].warn(text)

    async def stop(self) -> None:
        for side in reversed(self.all):
            await side.stop()

    # --- the coroutines, on every side ---------------------------------------------

    async def each(self, run: Callable[[NodeCore], Awaitable[T]]) -> list[T]:
        """``run`` on every running side at once; the results of those that did not fail
        (the first failure raised when all failed)."""
        sides = self.running()
        if len(sides) == 1:
            return [await run(sides[0])]
        out = await asyncio.gather(*(run(s) for s in sides), return_exceptions=True)
        for r in out:
            if isinstance(r, BaseException) and not isinstance(r, DHTError):
                raise r
        found = [r for r in out if not isinstance(r, BaseException)]
        if not found:
            first = out[0]
            assert isinstance(first, BaseException)
            raise first
        return found

    async def bootstrap(self, addresses: list[Address], routers: list[Address]) -> int:
        """Each side joins through the addresses (and the routers' addresses) of its family,
        the sides given some first; the other family's nodes their answers carry (asked
        with ``want``) seed the sides after.  LocalError when no side could join; the
        contacts in all tables."""
        if len(self.all) == 1:
            return await self.primary.bootstrap(addresses, routers)
        sides = self.running()
        mine = {id(s): [a for a in addresses if _family_or_none(a[0]) in (s.family, None)] for s in sides}
        sides.sort(key=lambda s: not mine[id(s)])
        foreign: list[Contact] = []
        failures: list[str] = []
        joined = 0
        for side in sides:
            given = mine[id(side)]
            seeds = [c.address for c in foreign if c.address not in given and family_of(c.host) is side.family]
            if not given and not seeds and not routers:
                continue
            try:
                protocol = protocols.mainline(side.protocol, "a dual-stack bootstrap")
                await protocol.bootstrap(given + seeds, routers, foreign)
            except DHTError as exc:
                failures.append(f"{side.family}: {exc}")
                continue
            joined += 1
            side.spawn(side.maintenance.refresh_table(force=True))
        if not joined:
            raise LocalError("; ".join(failures) or "no bootstrap address of this node's families")
        return sum(len(s.table) for s in self.running())

    async def get_peers(self, info_hash: bytes, scrape: bool = False) -> PeersFound:
        found = await self.each(lambda s: _mainline(s, "get_peers").get_peers(info_hash, scrape))
        if len(found) == 1:
            return found[0]
        peers = list(dict.fromkeys(p for f in found for p in f.peers))
        seeds = [f.seeds for f in found if f.seeds is not None]
        leechers = [f.leechers for f in found if f.leechers is not None]
        return PeersFound(
            info_hash, peers, max(seeds) if seeds else None, max(leechers) if leechers else None,
            sum(f.queried for f in found),
        )

    async def announce_peer(self, info_hash: bytes, port: int, seed: bool, local: bool) -> int:
        return sum(await self.each(lambda s: _mainline(s, "announce_peer").announce_peer(info_hash, port, seed, local)))

    async def put_immutable(self, value: object, local: bool) -> bytes:
        return (await self.each(lambda s: _mainline(s, "put_immutable").put_immutable(value, local)))[0]

    async def put_mutable(self, key: Any, value: object, salt: bytes, local: bool) -> MutablePut:
        """On the primary first (its seq: one above the highest it found), then on the
        others with the item signed again only if they found a higher one."""
        first, *rest = self.running()
        put = await _mainline(first, "put_mutable").put_mutable(key, value, salt, local)
        stored = put.stored
        for side in rest:
            try:
                stored += (await _mainline(side, "put_mutable").put_mutable(key, value, salt, local)).stored
            except DHTError as exc:
                log.info("put_mutable on the %s side: %s", side.family, exc)
        return put._replace(stored=stored)

    async def get_item(self, target: bytes, public_key: bytes | None, salt: bytes) -> FoundItem | None:
        found = [f for f in await self.each(lambda s: _mainline(s, "get_item").get_item(target, public_key, salt))
                 if f is not None]
        if not found:
            return None
        return max(found, key=lambda f: -1 if f.seq is None else f.seq)

    async def find_node(self, target: bytes) -> list[Contact]:
        return [c for found in await self.each(lambda s: s.find_node(target)) for c in found]


def _mainline(side: NodeCore, what: str) -> MainlineProtocol:
    return protocols.mainline(side.protocol, what)


def _family_or_none(host: str) -> Family | None:
    try:
        return family_of(host)
    except DHTError:
        return None


async def _start_side(side: NodeCore) -> None:
    """Start one side; a port the other side got that is taken here: any port."""
    try:
        await side.start()
    except FamilyUnavailable:
        raise
    except LocalError:
        if side.requested_port == 0 or side.sibling is None:
            raise
        side.requested_port = 0
        await side.start()

