"""What a crawl knows of each node it saw, and where that node's enumeration stands (sans-IO).

A :class:`NodeRecord` is the crawl machine's mutable record of one node
(:mod:`dht.crawl.machine` fills it); :func:`crawled` turns it into the
census's frozen :class:`~dht.crawl.census.CrawledNode`.
"""

from __future__ import annotations

from ..core import ids as bep42
from ..core.contact import Address
from .census import CrawledNode


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
