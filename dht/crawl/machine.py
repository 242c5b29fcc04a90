"""The crawl's state machine (sans-IO): which (address, target) to ask next, and what the answers found.

A :class:`CrawlMachine` is fed ``now``, answers (:meth:`answered`) and
failures (:meth:`failed`, :meth:`expire`); :meth:`next_queries` says which
queries to send now, within the budget (a token bucket of ``budget``
queries a second, :data:`~dht.crawl.pacing.BURST` deep; 0: none) and :data:`MAX_IN_FLIGHT`
queries out at once.  It never sends anything itself:
:mod:`dht.node.crawling` does, through the node's request path.

Theory of operation.  A node's routing table is enumerated bucket by bucket
(as Nebula does): for bucket i of a node of id X the target has X's first i
bits, bit i flipped, and random bits after, so the node answers with the
contacts it holds in that bucket (or, if it holds none, the closest it has
elsewhere).  Buckets are asked from the first one the crawl needs (a table crawl: 0;
a zone or full crawl: the deepest full bucket, about log2(size / K), less
:data:`~dht.crawl.records.SHALLOW_MARGIN`, with the size as found so far -- the shallower
buckets of every node are covered by the deep buckets of others, each node
being in its neighbours' deepest; and never above a zone's ``bits``) up to
159, :data:`~dht.crawl.records.PER_NODE` at a time, and a node is done after
:data:`~dht.crawl.records.EMPTY_RUN` buckets in a row whose
answers held no contact of that bucket and no node new to the crawl.
A node never heard from is asked one bucket at a time; a query that fails
is asked once more (:data:`ATTEMPTS`), and a node whose first bucket fails
every attempt is given up.

* ``full``: every node found is enumerated, from bucket 0;
* ``zone``: every node found in the zone is enumerated from bucket
  ``bits`` (its buckets below point out of the zone); nodes outside it are
  asked once, for a target in the zone, closest to the zone first,
  :data:`ENTRY_PARALLEL` at a time, until :data:`ENTRY_UNTIL` nodes of the
  zone have answered;
* ``table``: the one node at the table's address is enumerated from bucket 0.

The crawl is done when nothing is left to ask and nothing is out, or when
:meth:`stop` is called (what was found is kept).  :meth:`census` makes the
census of what was found at any time.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from dataclasses import dataclass
from typing import Iterable

from ..core.contact import Address, Contact
from .census import Census, bep42_share, client_mix
from .estimate import SizeEstimate, table_estimate, zone_estimate
from .pacing import TIMEOUT, Budget, RoundTrips
from .records import NodeRecord, crawled, deep_start
from .spec import CrawlSpec, FindNodeAnswer, zone_range
from .suspicion import Seen, suspicions

#: Queries out at once, all nodes together.
MAX_IN_FLIGHT = 64
#: Times a query is sent before it counts as failed.
ATTEMPTS = 2
#: Nodes of the zone that must have answered before a zone crawl stops asking outside it.
ENTRY_UNTIL = 3
#: Queries out at once for a way into the zone (a lookup's alpha).
ENTRY_PARALLEL = 3
ENTRY = -1  # the bucket of a query that is not a bucket's: a first contact, a way into the zone


@dataclass(frozen=True, slots=True)
class Ask:
    """One query to send: find_node of ``target`` at ``address`` (``node_id``: the id
    expected there, None when only the address is known); ``key`` names it in
    :meth:`CrawlMachine.answered` and :meth:`CrawlMachine.failed`."""

    key: int
    address: Address
    target: bytes
    node_id: bytes | None
    bucket: int


class CrawlMachine:
    """One crawl's state (see the module's docstring)."""

    def __init__(
        self, spec: CrawlSpec, own_id: bytes, bootstrap: Iterable[Address], budget: float, now: float,
        checks_ids: bool = True, rng: random.Random | None = None, timeout: float = TIMEOUT,
    ) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.own_id = own_id
        self.rng = rng or random.Random()
        self.checks_ids = checks_ids
        self.started = now
        self.finished: float | None = None
        self.stopped = False
        self.bits = (spec.zone_bits or 0) if spec.kind == "zone" else 0
        prefix = spec.zone_prefix
        if spec.kind == "zone" and prefix is None:
            prefix = self.rng.getrandbits(160).to_bytes(20, "big")
        self.zone_prefix = prefix if spec.kind == "zone" else None
        self.zone = zone_range(self.bits, prefix or bytes(20))
        self.budget = Budget(budget, now)
        self.rtts = RoundTrips(timeout)
        self.nodes: dict[bytes, NodeRecord] = {}
        self.by_address: dict[Address, bytes] = {}
        self.ready: deque[NodeRecord] = deque()
        self.entry: list[tuple[int, bytes]] = []  # (distance to the zone, id) of nodes outside it
        self.first: deque[Address] = deque(bootstrap if spec.table is None else [spec.table])
        self.first_attempts: dict[Address, int] = {}
        self.out: dict[int, tuple[Ask, float, float]] = {}  # key -> (ask, sent, deadline)
        self.next_key = 0
        self.asked = 0
        self.answers = 0
        self.zone_answered = 0
        self.zone_found = 0  # nodes seen in the zone (all of them, a full crawl's)
        self.entry_out = 0  # queries out for a way into the zone
        self.table_node: NodeRecord | None = None

    @property
    def timeout(self) -> float:
        """Most seconds a query is given."""
        return self.rtts.timeout

    def seed(self, contacts: Iterable[Contact], now: float) -> None:
        """Start from ``contacts`` (the node's table): known ids, listed by nobody."""
        for contact in contacts:
            if contact.id != self.own_id and contact.id not in self.nodes:
                self._add(contact.id, contact.address, now)

    # --- what to ask -------------------------------------------------------------

    @property
    def done(self) -> bool:
        if self.stopped:
            return True
        if self.out or self.first:
            return False
        if any(n.has_work() for n in self.ready):
            return False
        return not self._entry_wanted()

    def next_queries(self, now: float) -> list[Ask]:
        """The queries to send now (their sending is the caller's)."""
        if self.stopped:
            return []
        self.budget.refill(now)
        asks: list[Ask] = []
        while len(self.out) < MAX_IN_FLIGHT and self.budget.allows():
            ask = self._next_ask(now)
            if ask is None:
                break
            asks.append(ask)
            self.budget.spend()
        return asks

    def next_time(self, now: float) -> float | None:
        """When :meth:`next_queries` or :meth:`expire` may have something new to say,
        other than after an answer (None: only after one)."""
        times = [deadline for _, _, deadline in self.out.values()]
        token = self.budget.next_token(now)
        if token is not None and len(self.out) < MAX_IN_FLIGHT:
            times.append(token)
        return min(times) if times else None

    def _new_ask(self, now: float, address: Address, target: bytes, node_id: bytes | None, bucket: int) -> Ask:
        self.next_key += 1
        ask = Ask(self.next_key, address, target, node_id, bucket)
        self.out[ask.key] = (ask, now, now + self.rtts.deadline())
        self.asked += 1
        return ask

    def _next_ask(self, now: float) -> Ask | None:
        if self.first:
            address = self.first.popleft()
            self.first_attempts[address] = self.first_attempts.get(address, 0) + 1
            return self._new_ask(now, address, self._zone_target(), None, ENTRY)
        while self.ready:
            node = self.ready.popleft()
            bucket = node.take_bucket()
            if bucket is None:
                node.queued = False
                continue
            if node.has_work():
                self.ready.append(node)
            else:
                node.queued = False
            node.in_flight += 1
            node.asked = True
            return self._new_ask(now, node.address, node.bucket_target(bucket, self.rng), node.id, bucket)
        while self._entry_wanted():
            _, node_id = heapq.heappop(self.entry)
            node = self.nodes[node_id]
            if node.asked:
                continue
            node.asked = True
            node.in_flight += 1
            self.entry_out += 1
            return self._new_ask(now, node.address, self._zone_target(), node.id, ENTRY)
        return None

    def _entry_wanted(self) -> bool:
        return (self.kind == "zone" and bool(self.entry) and self.zone_answered < ENTRY_UNTIL
                and not self.ready and self.entry_out < ENTRY_PARALLEL)

    def _queue(self, node: NodeRecord) -> None:
        if not node.queued and node.has_work():
            node.queued = True
            self.ready.append(node)

    def _zone_target(self) -> bytes:
        lo, hi = self.zone
        return (lo + self.rng.randrange(hi - lo)).to_bytes(20, "big")

    def in_zone(self, key: int) -> bool:
        return self.zone[0] <= key < self.zone[1]

    # --- what came back --------------------------------------------------------------

    def answered(self, key: int, answer: FindNodeAnswer, now: float) -> None:
        """The answer to the query ``key`` (ignored if it was given up already)."""
        sent = self.out.pop(key, None)
        if sent is None or self.stopped:
            return
        ask, at, _ = sent
        self.answers += 1
        if ask.bucket == ENTRY and ask.node_id is not None:
            self.entry_out -= 1
        self.rtts.sample(max(0.0, now - at))
        node = self._responder(ask, answer, now)
        if node is None:
            return
        if not node.answered:
            node.answered = True
            node.rtt = max(0.0, now - at)
            if self.kind == "zone" and self.in_zone(node.key):
                self.zone_answered += 1
        node.last_seen = now
        if answer.client is not None:
            node.client, node.version = answer.client, answer.version
        node.read_only = node.read_only or answer.read_only
        productive = False
        for contact in answer.contacts:
            if contact.id == node.id or contact.id == self.own_id:
                continue
            listed, new = self._seen(contact, node.id, now)
            if new or (ask.bucket >= 0 and 160 - (listed.key ^ node.key).bit_length() == ask.bucket):
                productive = True
        if ask.bucket >= 0:
            node.results[ask.bucket] = productive
            node.advance()
        self._queue(node)

    def _responder(self, ask: Ask, answer: FindNodeAnswer, now: float) -> NodeRecord | None:
        """The node that answered ``ask``: known by id, or (a first contact) made now."""
        node = self.nodes.get(answer.id)
        if ask.node_id is not None:
            if node is None or answer.id != ask.node_id:
                return None  # the node at that address is now another: the request path said so
            node.in_flight -= 1
            return node
        if node is None:
            node = self._add(answer.id, ask.address, now)
        else:
            node.address = ask.address
        node.asked = True
        if self.kind == "table" and self.table_node is None and ask.address == self.spec.table:
            self.table_node = node
            self._want(node, 0)
        return node

    def _seen(self, contact: Contact, lister: bytes, now: float) -> tuple[NodeRecord, bool]:
        node = self.nodes.get(contact.id)
        new = node is None
        if node is None:
            node = self._add(contact.id, contact.address, now)
        elif not node.answered and node.address != contact.address:
            node.address = contact.address
        node.listed_by.add(lister)
        node.last_seen = now
        return node, new

    def _add(self, node_id: bytes, address: Address, now: float) -> NodeRecord:
        node = NodeRecord(node_id, address, now)
        self.nodes[node_id] = node
        if self.in_zone(node.key):
            self.zone_found += 1
        self.by_address.setdefault(address, node_id)
        if self.kind == "full":
            self._want(node, 0)
        elif self.kind == "zone":
            if self.in_zone(node.key):
                self._want(node, self.bits)
            else:
                lo = self.zone[0]
                heapq.heappush(self.entry, ((node.key ^ lo) >> (160 - self.bits) if self.bits else 0, node_id))
        return node

    def _want(self, node: NodeRecord, start: int) -> None:
        if self.kind != "table":
            start = max(start, deep_start(self.zone_found, self.bits))
        node.done = False
        node.start = node.next_bucket = node.checked = start
        self._queue(node)

    def failed(self, key: int, now: float) -> None:
        """The query ``key`` failed (timeout, error reply, an answer with another id)."""
        sent = self.out.pop(key, None)
        if sent is None or self.stopped:
            return
        ask = sent[0]
        if ask.bucket == ENTRY and ask.node_id is not None:
            self.entry_out -= 1
        if ask.node_id is None:
            if self.first_attempts.get(ask.address, 0) < ATTEMPTS:
                self.first.append(ask.address)
            return
        node = self.nodes.get(ask.node_id)
        if node is None:
            return
        node.in_flight -= 1
        attempts = node.attempts[ask.bucket] = node.attempts.get(ask.bucket, 0) + 1
        if attempts < ATTEMPTS:
            if ask.bucket == ENTRY:
                node.asked = False
                heapq.heappush(self.entry, (0, node.id))
            else:
                node.retry.append(ask.bucket)
                self._queue(node)
            return
        if not node.answered:
            node.done = True  # silent: given up
            return
        if ask.bucket >= 0:
            node.results[ask.bucket] = False
            node.advance()
            self._queue(node)

    def expire(self, now: float) -> list[int]:
        """Fail the queries past their deadline; their keys (late answers are then ignored)."""
        late = [key for key, (_, _, deadline) in self.out.items() if deadline <= now]
        for key in late:
            self.failed(key, now)
        return late

    def stop(self, now: float) -> None:
        """Ask nothing more; what was found is kept."""
        self.stopped = True
        self.finished = now

    # --- what was found ----------------------------------------------------------------

    def found(self) -> int:
        return len(self.nodes)

    def answered_nodes(self) -> int:
        return sum(1 for n in self.nodes.values() if n.answered)

    def estimate(self) -> SizeEstimate | None:
        """The network's size as the crawl has it so far (see :mod:`dht.crawl.estimate`)."""
        if self.kind == "table":
            node = self.table_node
            if node is None:
                return None
            listed = [n.id for n in self.nodes.values() if node.id in n.listed_by]
            return table_estimate(node.id, listed)
        # a node neither listed by anyone nor answering (a stale seed) is no evidence
        zone = [len(n.listed_by) for n in self.nodes.values()
                if self.in_zone(n.key) and (n.listed_by or n.answered)]
        return zone_estimate(zone, self.bits)

    def census(self, now: float) -> Census:
        """The census of what was found (see :class:`dht.crawl.census.Census`)."""
        finished = self.finished if self.finished is not None else now
        nodes = tuple(crawled(n, self.checks_ids) for _, n in sorted(self.nodes.items()))
        size = self.estimate()
        asked = [n for n in self.nodes.values() if n.asked]
        answered = [n for n in asked if n.answered]
        seen = [Seen(n.id, n.address, n.bep42) for n in nodes]
        return Census(
            kind=self.kind, started=self.started, finished=finished, nodes=nodes,
            estimate=None if size is None else size.estimate, low=None if size is None else size.low,
            high=None if size is None else size.high,
            answered_share=len(answered) / len(asked) if asked else 0.0,
            clients=client_mix(nodes), bep42_share=bep42_share(nodes),
            suspicions=suspicions(seen, None if size is None else size.estimate),
            zone_bits=self.bits if self.kind == "zone" else None, zone_prefix=self.zone_prefix,
            in_zone=sum(1 for n in self.nodes.values() if self.in_zone(n.key) and (n.listed_by or n.answered)),
            missed=0.0 if size is None else size.missed, asked=self.asked, table=self.spec.table,
            answered=len(answered),
        )
