"""Bootstrapping through known addresses and routers, for both profiles.

Mainline has no join: a node asks its bootstrap nodes find_node of its own
id and goes on from their answers as a lookup.  A Khashmir node given
routers does the same (the seed's join is :meth:`dht.khashmir.protocol.KhashmirProtocol.join`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Protocol

from ..core.contact import Address, Contact
from ..core.errors import DHTError, LocalError
from ..core.family import Family
from .iterate import iterate
from .progress import LookupNode, Progress
from .resolve import resolve_address


class BootstrapNode(LookupNode, Protocol):
    """A lookup's node, with its bootstrap routers (asked, never in the table) and
    requests to a bare address."""

    @property
    def routers(self) -> set[Address]: ...

    @property
    def family(self) -> Family: ...

    def request_address(
        self, address: Address, expected_id: bytes | None, method: str, args: Any,
        soft_timeout: float | None = None,
    ) -> asyncio.Future[Any]: ...


async def _resolved(addresses: list[Address], family: Family) -> list[Address]:
    """The addresses whose host names resolve (routers are names), as addresses of our ``family``."""
    out = await asyncio.gather(*(resolve_address(a, families=(family,)) for a in addresses), return_exceptions=True)
    for r in out:
        if isinstance(r, BaseException) and not isinstance(r, DHTError):
            raise r
    return [r for r in out if not isinstance(r, BaseException)]


async def ask_each(addresses: list[Address], ask: Callable[[Address], Awaitable[object]]) -> None:
    """``ask`` each bootstrap address at once; LocalError when none of them answered.
    An address's own failure (a DHTError: timeout, error reply) is its; anything else
    is raised."""
    results = await asyncio.gather(*(ask(a) for a in addresses), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, DHTError):
            raise r
    if addresses and all(isinstance(r, BaseException) for r in results):
        shown = ", ".join(f"{h}:{p}" for h, p in addresses)
        raise LocalError(f"no bootstrap node answered ({shown})")


async def bootstrap(
    node: BootstrapNode, addresses: list[Address], routers: list[Address], foreign: list[Contact] | None = None
) -> None:
    """Fill the table from ``addresses`` and ``routers``: each is asked find_node of our
    id, then the lookup of our id goes on from what they answered.  ``routers`` are
    names resolved first; they are asked but never enter the table (libtorrent keeps
    them out); ``addresses`` that answer do, as any node.  LocalError when none answers.
    ``foreign``: gets the nodes of the other family the answers carry (a dual-stack
    node asks for them with ``want``: the seeds of its other side)."""
    if routers:
        resolved = await _resolved(routers, node.family)
        if not resolved and not addresses:
            shown = ", ".join(f"{h}:{p}" for h, p in routers)
            raise LocalError(f"no bootstrap router resolved ({shown})")
        routers = resolved
    node.routers.update(routers)
    query = node.profile.lookup_args("find_node", node.id, node.id)
    seeds: list[Contact] = []

    async def ask(address: Address) -> None:
        envelope = await node.request_address(address, None, "find_node", query)
        nodes, _, _, _ = node.profile.lookup_answer("find_node", envelope)
        seeds.extend(c for c in nodes if c.address not in node.routers)
        if foreign is not None:
            foreign.extend(node.profile.foreign_nodes("find_node", envelope))

    await ask_each(addresses + routers, ask)
    progress = Progress(node, "find_node", node.id)
    lookup = await iterate(node, node.id, "find_node", progress, seeds=seeds, include_self=False,
                           query=query, skip=lambda c: c.address in node.routers)
    progress.finished(len(lookup.closest_answered()))
