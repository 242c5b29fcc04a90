"""What a crawl found: the census of a network (:class:`Census`), its nodes, and how two censuses compare.

A :class:`Census` is made once, when a crawl ends (or is stopped: it keeps
what was found), from the crawl machine's records.  It holds every node the
crawl saw (:class:`CrawledNode`: answered or only listed by others), the
size estimate with its interval (:mod:`dht.crawl.estimate`), the share of
the nodes asked that answered, the client mix of those that answered, the
share of BEP 42 valid ids among those whose address can be checked, and the
signs of attack with their evidence (:mod:`dht.crawl.suspicion`).

``census.compare(previous)`` says who joined (answered now, not before),
who left (answered before, now gone or silent) and who changed address
(same id) or id (same address) between two crawls.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..core.contact import Address
from .suspicion import Suspicion


@dataclass(frozen=True, slots=True)
class CrawledNode:
    """One node a crawl saw.  ``answered``: it answered one of the crawl's queries
    (``rtt``: its first answer's round trip, seconds); ``client``/``version``: its
    ``v`` (decoded, raw), where its answers carry one; ``bep42``: whether its id fits
    its IP (None: an exempt address, or a network whose ids are not checked);
    ``listed_by``: the ids of the nodes whose answers listed it."""

    id: bytes
    address: Address
    first_seen: float
    last_seen: float
    answered: bool
    rtt: float | None
    client: str | None
    version: bytes | None
    bep42: bool | None
    read_only: bool
    listed_by: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class CensusDiff:
    """Between an earlier census and a later one: nodes that ``joined`` (answered in the
    later, not in the earlier), ``left`` (answered in the earlier, gone or silent in the
    later), and ``changed``: (earlier, later) pairs of one id at a new address or one
    address with a new id."""

    joined: tuple[CrawledNode, ...]
    left: tuple[CrawledNode, ...]
    changed: tuple[tuple[CrawledNode, CrawledNode], ...]


@dataclass(frozen=True, slots=True)
class Census:
    """A crawl's census (see the module's docstring).

    ``kind``: the crawl's (zone, table, full); ``started``/``finished``: the node's
    clock; ``estimate``/``low``/``high``: the network's size with its 95 % interval
    (None: nothing to go on); ``answered_share``: of the nodes asked, the share that
    answered; ``clients``: answered nodes per client name; ``bep42_share``: of the
    nodes whose id can be checked, the share that fits its IP (None: none can);
    ``zone_bits``/``zone_prefix``: a zone crawl's zone; ``in_zone``: nodes found
    there; ``missed``: the share of the zone taken to be missed; ``asked``: queries
    sent; ``table``: a table crawl's node.
    """

    kind: str
    started: float
    finished: float
    nodes: tuple[CrawledNode, ...]
    estimate: float | None
    low: float | None
    high: float | None
    answered_share: float
    clients: dict[str, int]
    bep42_share: float | None
    suspicions: tuple[Suspicion, ...]
    zone_bits: int | None = None
    zone_prefix: bytes | None = None
    in_zone: int = 0
    missed: float = 0.0
    asked: int = 0
    table: Address | None = None
    answered: int = field(default=0)

    def rows(self) -> list[dict[str, Any]]:
        """The nodes as flat rows (the CSV of ``dht crawl --out``; columns CSV_FIELDS)."""
        return [node_row(n) for n in self.nodes]

    def to_json(self) -> dict[str, Any]:
        """The census as JSON-ready values (ids hex, addresses "host:port")."""
        return census_json(self)

    def compare(self, previous: "Census") -> CensusDiff:
        """Who joined, left and changed since ``previous`` (see :class:`CensusDiff`)."""
        before = {n.id: n for n in previous.nodes if n.answered}
        now = {n.id: n for n in self.nodes if n.answered}
        before_at = {n.address: n for n in before.values()}
        changed: list[tuple[CrawledNode, CrawledNode]] = []
        moved: set[bytes] = set()
        for node_id, node in now.items():
            old = before.get(node_id)
            if old is not None and old.address != node.address:
                changed.append((old, node))
                moved.add(node_id)
            elif old is None and node.address in before_at and before_at[node.address].id not in now:
                old = before_at[node.address]
                changed.append((old, node))
                moved.update((node_id, old.id))
        joined = tuple(n for i, n in sorted(now.items()) if i not in before and i not in moved)
        left = tuple(n for i, n in sorted(before.items()) if i not in now and i not in moved)
        return CensusDiff(joined, left, tuple(changed))


def client_mix(nodes: tuple[CrawledNode, ...]) -> dict[str, int]:
    """Answered nodes per client name (nodes whose answers carry no client left out),
    most common first."""
    counts = Counter(n.client.rsplit(" ", 1)[0] if " " in n.client else n.client
                     for n in nodes if n.answered and n.client)
    return dict(counts.most_common())


def bep42_share(nodes: tuple[CrawledNode, ...]) -> float | None:
    checked = [n.bep42 for n in nodes if n.bep42 is not None]
    return None if not checked else sum(checked) / len(checked)


CSV_FIELDS = ("id", "host", "port", "answered", "rtt", "client", "version", "bep42", "read_only",
              "first_seen", "last_seen", "listed_by")


def node_row(node: CrawledNode) -> dict[str, Any]:
    """One node as a flat row (``listed_by``: how many nodes listed it)."""
    return {
        "id": node.id.hex(), "host": node.address[0], "port": node.address[1], "answered": node.answered,
        "rtt": None if node.rtt is None else round(node.rtt, 6), "client": node.client,
        "version": None if node.version is None else node.version.hex(), "bep42": node.bep42,
        "read_only": node.read_only, "first_seen": round(node.first_seen, 6),
        "last_seen": round(node.last_seen, 6), "listed_by": len(node.listed_by),
    }


def census_json(census: Census) -> dict[str, Any]:
    """The census as JSON-ready values."""
    return {
        "kind": census.kind, "started": census.started, "finished": census.finished,
        "seconds": round(census.finished - census.started, 3), "asked": census.asked,
        "estimate": census.estimate, "low": census.low, "high": census.high, "missed": census.missed,
        "zone_bits": census.zone_bits,
        "zone_prefix": None if census.zone_prefix is None else census.zone_prefix.hex(),
        "in_zone": census.in_zone,
        "table": None if census.table is None else f"{census.table[0]}:{census.table[1]}",
        "found": len(census.nodes), "answered": census.answered, "answered_share": census.answered_share,
        "clients": census.clients, "bep42_share": census.bep42_share,
        "suspicions": [
            {"kind": s.kind, "evidence": s.evidence, "ids": [i.hex() for i in s.ids],
             "addresses": [f"{h}:{p}" for h, p in s.addresses],
             "target": None if s.target is None else s.target.hex()}
            for s in census.suspicions
        ],
        "nodes": [node_row(n) for n in census.nodes],
    }
