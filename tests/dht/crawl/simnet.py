"""A simulated Kademlia network for the crawl machine's fake-clock tests (no sockets, no clock).

Each node's table holds, per bucket (ids sharing exactly i bits with its
own), up to K of the network's ids; a find_node is answered with the K
closest to the target that it holds, as a real node answers.
"""

from __future__ import annotations

import random

from dht.core.contact import Contact
from dht.crawl import Ask, CrawlMachine, FindNodeAnswer

K = 8


class SimNet:
    def __init__(self, size: int, seed: int, silent: float = 0.0, ids: list[bytes] | None = None) -> None:
        rng = random.Random(seed)
        self.ids = ids if ids is not None else [rng.getrandbits(160).to_bytes(20, "big") for _ in range(size)]
        self.address = {i: (f"10.{n % 256}.{n // 256 % 256}.1", 6881) for n, i in enumerate(self.ids)}
        self.by_address = {a: i for i, a in self.address.items()}
        self.silent = set(rng.sample(self.ids[1:], round(silent * len(self.ids))))
        self.tables: dict[bytes, list[bytes]] = {}
        for own in self.ids:
            key = int.from_bytes(own, "big")
            buckets: dict[int, list[bytes]] = {}
            for other in self.ids:
                if other != own:
                    i = 160 - (int.from_bytes(other, "big") ^ key).bit_length()
                    buckets.setdefault(i, []).append(other)
            self.tables[own] = [x for b in buckets.values() for x in rng.sample(b, min(K, len(b)))]

    def contact(self, node_id: bytes) -> Contact:
        host, port = self.address[node_id]
        return Contact(node_id, host, port)

    def answer(self, ask: Ask) -> FindNodeAnswer | None:
        """The answer of the node at ask.address, None when it is silent."""
        node_id = self.by_address[ask.address]
        if node_id in self.silent:
            return None
        target = int.from_bytes(ask.target, "big")
        closest = sorted(self.tables[node_id], key=lambda i: int.from_bytes(i, "big") ^ target)[:K]
        return FindNodeAnswer(node_id, tuple(self.contact(i) for i in closest), "LT 2.0.9", b"LT\x20\x09")


def run(machine: CrawlMachine, net: SimNet, now: float = 0.0, step: float = 0.05, until: float = 1e6) -> float:
    """Drive ``machine`` on ``net`` with a fake clock: answers come back one step after
    their query; silent nodes' queries expire.  Returns the clock at the end."""
    pending: list[tuple[float, Ask]] = []
    while not machine.done and now < until:
        machine.expire(now)
        for ask in machine.next_queries(now):
            pending.append((now + step, ask))
        due = [p for p in pending if p[0] <= now]
        pending = [p for p in pending if p[0] > now]
        for _, ask in due:
            answer = net.answer(ask)
            if answer is not None:
                machine.answered(ask.key, answer, now)
        now += step
    return now
