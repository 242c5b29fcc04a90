"""What a crawl knows of each node it saw, and where that node's enumeration stands (sans-IO).

A :class:`NodeRecord` is the crawl machine's mutable record of one node
(:mod:`dht.crawl.machine` fills it), with the steps of its table's
enumeration bucket by bucket (which bucket next, its target, when the
node is done); :func:`crawled` turns it into the census's frozen
:class:`~dht.crawl.census.CrawledNode`.
"""

from __future__ import annotations

import math
import random

from ..core import ids as bep42
from ..core.contact import Address
from .census import CrawledNode

#: Buckets of one node asked at once (once it has answered).
PER_NODE = 4
#: Buckets in a row that bring nothing, after which a node's table is taken as enumerated.
EMPTY_RUN = 3
#: The last bucket (ids of 160 bits).
LAST_BUCKET = 159
#: Contacts a bucket holds (K): the deepest full bucket of a node is about log2(size / K).
BUCKET_SIZE = 8
#: Buckets above the deepest full one a zone or full crawl still asks (see deep_start).
SHALLOW_MARGIN = 2


class NodeRecord:
    """What the crawl knows of one node, and where its enumeration stands."""

    __slots__ = ("id", "key", "address", "first_seen", "last_seen", "answered", "asked", "rtt", "client",
                 "version", "read_only", "listed_by", "start", "next_bucket", "checked", "run", "results",
                 "attempts", "retry", "in_flight", "done", "queued")

    def __init__(self, node_id: bytes, address: Address, now: float) -> None:
        self.id = node_id
        self.key = int.from_bytes(node_id, "big")
        self.address = address
        self.first_seen = self.last_seen = now
        self.answered = False
        self.asked = False
        self.rtt: float | None = None
        self.client: str | None = None
        self.version: bytes | None = None
        self.read_only = False
        self.listed_by: set[bytes] = set()
        self.start = self.next_bucket = self.checked = 0
        self.run = 0
        self.results: dict[int, bool] = {}  # bucket -> whether its answer brought anything
        self.attempts: dict[int, int] = {}
        self.retry: list[int] = []
        self.in_flight = 0
        self.done = True  # until the crawl wants its table
        self.queued = False

    def has_work(self) -> bool:
        """Whether a bucket of this node may be asked now."""
        if self.done:
            return False
        if self.in_flight >= (PER_NODE if self.answered else 1):
            return False
        return bool(self.retry) or self.next_bucket <= LAST_BUCKET

    def take_bucket(self) -> int | None:
        """The bucket to ask next (a retry first), None if there is none now."""
        if not self.has_work():
            return None
        if self.retry:
            return self.retry.pop(0)
        bucket = self.next_bucket
        self.next_bucket += 1
        return bucket

    def bucket_target(self, bucket: int, rng: random.Random) -> bytes:
        """X's first ``bucket`` bits, bit ``bucket`` flipped, random bits after."""
        keep = self.key >> (160 - bucket) << (160 - bucket) if bucket else 0
        flipped = (self.key ^ (1 << (159 - bucket))) & (1 << (159 - bucket))
        rest = rng.getrandbits(159 - bucket) if bucket < LAST_BUCKET else 0
        return (keep | flipped | rest).to_bytes(20, "big")

    def advance(self) -> None:
        """Walk the buckets answered in order: EMPTY_RUN unproductive ones in a row end the node."""
        while self.checked in self.results:
            self.run = 0 if self.results[self.checked] else self.run + 1
            self.checked += 1
            if self.run >= EMPTY_RUN or self.checked > LAST_BUCKET:
                self.done = True
                self.retry.clear()
                return


def deep_start(zone_found: int, bits: int) -> int:
    """The first bucket worth asking a node of a zone or full crawl: the buckets
    SHALLOW_MARGIN above the deepest full one (about log2(size / K)) hold K contacts
    each of a region that other nodes' deep buckets cover, every node being in its
    neighbours' deepest buckets.  From the nodes found so far (``zone_found`` in a zone
    of ``bits`` bits), so never too deep."""
    size = zone_found * 2**bits
    if size <= BUCKET_SIZE:
        return 0
    return max(0, int(math.log2(size / BUCKET_SIZE)) - SHALLOW_MARGIN)


def crawled(n: NodeRecord, checks_ids: bool) -> CrawledNode:
    """The census's view of a record (``checks_ids``: the network checks ids under BEP 42)."""
    host = n.address[0]
    valid: bool | None = None
    if checks_ids and not bep42.is_exempt(host):
        valid = bep42.id_matches_ip(n.id, host)
    return CrawledNode(
        id=n.id, address=n.address, first_seen=n.first_seen, last_seen=n.last_seen, answered=n.answered,
        rtt=n.rtt, client=n.client, version=n.version, bep42=valid, read_only=n.read_only,
        listed_by=tuple(sorted(n.listed_by)),
    )
