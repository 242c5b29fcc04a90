"""The lab's background workload: random nodes doing what users of the profile do.

A quiet lab shows nothing; :func:`traffic_loop` is what the explorer's
default network runs so there is always traffic to watch.  Requests start at
exponential intervals (a Poisson stream of ``1 / interval`` a second), each
from a random running node, and their failures (a node killed meanwhile, a
timeout under lossy conditions) are part of the show, not errors.

Khashmir: 40 % find_node of a random id, 30 % store_value of a new key,
30 % get_value of one of the last 64 keys stored.  Mainline: 25 % find_node,
25 % announce_peer and 20 % get_peers of one of 32 lab torrents (so
get_peers finds peers, scrapes count them and BEP 51 samples have
something to sample), 15 % put of an immutable BEP 44 item and 15 % get of
one of the last 64 put.
"""

from __future__ import annotations

import asyncio
import random
from typing import Awaitable, Callable, Sequence

from ..core.errors import DHTError
from ..core.khash import new_id
from ..node.facade import Node

TORRENTS = 32
KEPT = 64


async def traffic_loop(nodes: Callable[[], Sequence[Node]], profile: str, interval: float,
                       rng: random.Random | None = None) -> None:
    """Run ``profile``'s workload (:data:`STEPS`) until cancelled; ``nodes()`` gives the running nodes now."""
    rng = rng or random.Random()
    step = STEPS[profile]
    torrents = [new_id() for _ in range(TORRENTS)]
    kept: list[bytes] = []
    while True:
        await asyncio.sleep(rng.expovariate(1.0 / interval))
        running = nodes()
        if not running:
            continue
        try:
            await step(rng.choice(running), rng, torrents, kept)
        except DHTError:
            pass  # a killed node, a timeout: part of the show
        del kept[:-KEPT]


async def _khashmir_step(node: Node, rng: random.Random, torrents: list[bytes], kept: list[bytes]) -> None:
    roll = rng.random()
    if roll < 0.4:
        await node.find_node(new_id())
    elif roll < 0.7 or not kept:
        key = new_id()
        await node.store_value(key, b"lab value %d" % rng.randrange(1_000_000))
        kept.append(key)
    else:
        await node.get_value(rng.choice(kept))


async def _mainline_step(node: Node, rng: random.Random, torrents: list[bytes], kept: list[bytes]) -> None:
    roll = rng.random()
    if roll < 0.25:
        await node.find_node(new_id())
    elif roll < 0.5:
        await node.announce_peer(rng.choice(torrents), rng.randrange(1024, 65536), seed=rng.random() < 0.3)
    elif roll < 0.7:
        await node.get_peers(rng.choice(torrents), scrape=rng.random() < 0.5)
    elif roll < 0.85 or not kept:
        kept.append(await node.put_immutable(b"lab item %d" % rng.randrange(1_000_000)))
    else:
        await node.get_item(rng.choice(kept))


#: Each profile's workload step, by ``Config.PROFILE``.
STEPS: dict[str, Callable[[Node, random.Random, list[bytes], list[bytes]], Awaitable[None]]] = {
    "khashmir": _khashmir_step,
    "mainline": _mainline_step,
}
