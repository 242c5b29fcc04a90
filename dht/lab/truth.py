"""Ground truth for crawls: a lab given silent nodes and Sybil clusters, and what it knows of itself.

A crawl is measured against what the lab knows: which nodes run, which of
them never answer, which ids are one party's.  :class:`LabTruth` gives a formed
:class:`~dht.lab.lab.Lab` those conditions (loss and churn are the lab's
own, :mod:`dht.lab.conditions`):

* :meth:`LabTruth.silence`: a share of the lab's nodes stop answering (as nodes
  behind a NAT): their answers and errors are dropped as they leave, their
  own queries still go out, and the others' tables keep them as they were;
* :meth:`LabTruth.add_sybils`: a cluster of extra nodes run by one party, either
  ``count`` ids on one IP address (horizontal) or ``count`` ids packed
  around a ``target`` (vertical: their ids share the target's first
  ``shared_bits`` bits), each on its own address.  The members know one
  another (each pings the others), and the lab's nodes closest to each
  member ping it, so that honest tables hold them as any node that answered.
  They are added to :attr:`Lab.nodes` (they run and answer);
* :class:`LabTruth` does both and keeps the ids running, silent and Sybil.

The lab's bootstrap node (its first) is never silenced.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from ..core.errors import DHTError
from ..crawl.spec import zone_range
from ..node.facade import Node, core_of
from ..storage import LAB_DB_NAME
from .lab import Lab

#: The first lab database slot given to a Sybil (far above any lab node's number).
SYBIL_SLOT = 1_000_000
#: Where horizontal clusters listen: one address per cluster, 127.254.<cluster>.1.
HORIZONTAL_NET = "127.254"
#: Where vertical clusters listen: 127.253.<cluster>.<member + 1>.
VERTICAL_NET = "127.253"


class _Mute:
    """A node's datagram transport that sends its queries and drops its answers."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def sendto(self, data: Any, addr: Any = None) -> None:
        if b"1:y1:q" in bytes(data):
            self.inner.sendto(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class LabTruth:
    """What a lab knows that a crawl must find out, and the conditions it was given:
    ``silent``, the ids of the nodes silenced; ``sybils``, the ids of each Sybil cluster
    added (see the module's docstring).  Exported as :class:`dht.LabTruth`."""

    def __init__(self, lab: Lab, rng: random.Random | None = None) -> None:
        self.lab = lab
        self.rng = rng or random.Random()
        self.silent: set[bytes] = set()
        self.sybils: list[set[bytes]] = []

    def running(self) -> set[bytes]:
        """The ids of the lab's nodes that run (answering or silent)."""
        return {n.id for n in self.lab.nodes}

    def answering(self) -> set[bytes]:
        return self.running() - self.silent

    def in_zone(self, bits: int, prefix: bytes) -> set[bytes]:
        """The running ids whose first ``bits`` bits are ``prefix``'s."""
        lo, hi = zone_range(bits, prefix)
        return {i for i in self.running() if lo <= int.from_bytes(i, "big") < hi}

    def silence(self, share: float) -> list[Node]:
        """Make ``share`` of the lab's running nodes (never the first) stop answering."""
        lab = self.lab
        candidates = [n for n in lab.nodes[1:] if n.id not in self.silent]
        chosen = self.rng.sample(candidates, min(len(candidates), round(share * len(lab.nodes))))
        for node in chosen:
            transport = core_of(node).transport
            transport.transport = _Mute(transport.transport)  # type: ignore[assignment]
            self.silent.add(node.id)
        return chosen

    async def add_sybils(self, count: int, target: bytes | None = None, shared_bits: int = 40) -> list[Node]:
        """Add a Sybil cluster of ``count`` nodes (see the module's docstring): on one IP when
        ``target`` is None, else with ids sharing ``target``'s first ``shared_bits`` bits."""
        lab = self.lab
        cluster = len(self.sybils)
        nodes = []
        for i in range(count):
            host = f"{HORIZONTAL_NET}.{cluster}.1" if target is None else f"{VERTICAL_NET}.{cluster}.{i + 1}"
            node = Node(lab.config, host=host, port=0, data_dir=lab.data_dir, db_name=LAB_DB_NAME,
                        storage=lab.database.slot(SYBIL_SLOT + 1000 * cluster + i))
            await node.start()
            if target is not None:
                keep = int.from_bytes(target, "big") >> (160 - shared_bits) << (160 - shared_bits)
                core_of(node).adopt_id((keep | self.rng.getrandbits(160 - shared_bits)).to_bytes(20, "big"))
            nodes.append(node)
        honest = list(lab.nodes)
        lab.nodes.extend(nodes)
        self.sybils.append({n.id for n in nodes})

        async def ping(asker: Node, asked: Node) -> None:
            try:
                await asker.ping(*asked.address)
            except DHTError:
                pass  # lost: the others' pings make up for it

        pings = [ping(a, b) for a in nodes for b in nodes if a is not b]
        for member in nodes:
            key = int.from_bytes(member.id, "big")
            closest = sorted(honest, key=lambda n: int.from_bytes(n.id, "big") ^ key)[: lab.config.K]
            pings += [ping(n, member) for n in closest] + [ping(member, n) for n in closest]
        for i in range(0, len(pings), 256):
            await asyncio.gather(*pings[i : i + 256])
        return nodes
