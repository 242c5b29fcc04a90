"""A dual-stack lab's IPv6 sides joining, once the lab has formed on its IPv4 sides.

A lab's formation (:mod:`dht.lab.formation`) plays the network's history
on the nodes' primary (IPv4) sides.  The IPv6 sides of a dual-stack lab
(``Lab(host6="::1")``) then join as a Mainline node does: each a find_node
of its own id through the first node's IPv6 side, JOINING_AT_ONCE at a
time; their tables fill from those lookups and from being asked.  All of
them share the one IPv6 loopback address, ::1, so the per-IP limits treat
it as a lab's shared address (the node's own loopback address is exempt).
"""

from __future__ import annotations

import asyncio
import logging

from ..core.contact import Address
from ..core.errors import DHTError
from ..node import protocols
from ..node.facade import Node, sides_of

log = logging.getLogger(__name__)

#: IPv6 sides joining at once after a dual-stack lab forms.
JOINING_AT_ONCE = 32


def ipv6_entry(node: Node) -> Address | None:
    """The address of ``node``'s IPv6 side (None: it has none running)."""
    first = [s for s in sides_of(node) if s.running and s.family.ipv6]
    return first[0].address if first else None


async def join_ipv6_sides(nodes: list[Node], entry: Address | None = None) -> None:
    """Each node's IPv6 side joins through the first node's, or through ``entry`` (a lab
    part's nodes, :mod:`dht.lab.procs`; see the module's docstring); a side that could
    not join is left to fill as it is asked."""
    joining = nodes if entry is not None else nodes[1:]
    if entry is None:
        if not nodes:
            return
        entry = ipv6_entry(nodes[0])
    if entry is None:
        return
    gate = asyncio.Semaphore(JOINING_AT_ONCE)

    async def join(node: Node) -> None:
        for side in sides_of(node):
            if side.running and side.family.ipv6:
                async with gate:
                    try:
                        await protocols.mainline(side.protocol, "a lab's IPv6 join").bootstrap([entry], [])
                    except DHTError as exc:
                        log.info("lab IPv6 side %s did not join: %s", side.address, exc)

    await asyncio.gather(*(join(n) for n in joining if n.address_of("IPv6") != entry))
