"""The routing table: K-buckets over [0, 2^160), sans-IO.

Theory of operation.  The table starts as one bucket covering the whole id
space.  Each bucket keeps up to K contacts, *never answered* ones first (a
contact loaded from the database or seen only in a query: the seed gives
those the oldest time), then the answered ones oldest first.  Only an answer
to one of our own requests makes a contact answered (``contacted=True``).

When a new contact arrives for a full bucket:

* if the bucket's range holds our own id, it is split in half and the insert
  retried (possibly splitting again);
* otherwise, if the newcomer has answered us and the bucket holds a contact
  that never did, the newcomer takes its place at once (libtorrent's rule;
  this is how a table loaded with dead contacts heals in seconds);
* otherwise the newcomer waits in the bucket's small *replacement cache*
  (:mod:`dht.core.kbucket`) and the table asks for a ping (:class:`PingOldest`)
  for the bucket's oldest contact that is worth a ping (never answered, or
  not seen for MIN_PING_INTERVAL; each at most once per interval).  The
  caller pings it and calls :meth:`RoutingTable.seen` if it answered,
  :meth:`RoutingTable.replace_stale` if it did not.

Whenever a contact leaves a bucket (it failed, answered with another id, or
did not answer the ping), the newcomer waiting on that ping, or else the
best cached contact (answered first, then the newest), takes its place, so
no newcomer is dropped while a place is free or being freed.  A contact
that never answered is removed at its first failure; an answered one after
MAX_FAILURES failures in a row.  When a removal lets a bucket and its
same-sized sibling fit in K contacts together, they merge back (where the
buckets sit in the id space, how they split and merge and how the closest
contacts are found among them: :mod:`dht.core.bucket_tree`).

Integrity.  A query never changes a known contact's address; only an answer
to our own request at the new address moves it (within the limits below),
and an address that answers with a new id drops the id known there.  The
all-zero id is never taken.  ``max_per_ip`` and ``max_per_subnet`` bound how
many contacts share one IP in the table and one /24 in a bucket
(:mod:`dht.core.address_limits`).  Answers to others (:meth:`find_compact`)
carry answered contacts only.

The table decides and reports: each call returns what it did as events of
:mod:`dht.core.events` (ContactAdded, ContactRefreshed, ContactFailed,
ContactRemoved, ContactReplaced, BucketSplit, BucketsMerged), stamped with
the ``now`` it was given, which the node publishes as they are, and what
it asks the node to do (:class:`PingOldest`, a decision rather than an
event; :mod:`dht.core.outcomes`).  It never sends anything and never reads a clock.

Subscribing costs nothing when nobody listens: given the node's event bus
(``listeners``), the table builds the events of every answer and every
query's new sender (ContactRefreshed, ContactAdded, ContactFailed) only
while someone listens to it; the rest, rare, and what the table itself acts
on (a ContactAdded by a refill), are built always.  Without a bus, always.
"""

from __future__ import annotations

import bisect

from .address_limits import AddressLimits, gives_way, subnet_of
from .bucket_tree import closest, merge_siblings, split_leaf
from .contact import Address, Contact
from .directory import listed
from .events import (
    EventBus, BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRefreshed, ContactRemoved, ContactReplaced,
)
from .kbucket import NULL_ID, Entry, KBucket, age_order
from .khash import ID_SPACE
from .outcomes import ANSWERED_INSTEAD, Outcome, PingOldest, TableEvent
from .rtt import smooth

__all__ = [  # the buckets' names, and what the table returns, are part of its interface
    "ANSWERED_INSTEAD", "NULL_ID", "AddressLimits", "Entry", "KBucket", "Outcome", "PingOldest", "RoutingTable",
    "TableEvent", "subnet_of",
]

class RoutingTable:
    """Kademlia routing table around ``own_id``.

    ``replacements``: contacts cached per full bucket.  ``max_per_ip`` and
    ``max_per_subnet``: the address limits above (None: no limit; a node
    passes its Config's, which limit by default).
    """

    def __init__(
        self,
        own_id: bytes,
        k: int = 8,
        max_failures: int = 3,
        min_ping_interval: float = 900.0,
        now: float = 0.0,
        *,
        replacements: int = 2,
        max_per_ip: int | None = None,
        max_per_subnet: int | None = None,
        exempt_host: str | None = None,
        listeners: EventBus | None = None,
    ) -> None:
        self.own_id = own_id
        self.own_key = int.from_bytes(own_id, "big")
        self.k = k
        self.max_failures = max_failures
        self.min_ping_interval = min_ping_interval
        self.replacements = replacements
        self.limits = AddressLimits(max_per_ip, max_per_subnet, exempt_host)
        self.buckets: list[KBucket] = [KBucket(0, ID_SPACE, now)]
        self._los: list[int] = [0]  # bucket lower bounds, for bisect
        # contact key -> (when we asked for a ping, the key of the newcomer waiting on it)
        self._pinged: dict[int, tuple[float, int]] = {}
        #: whose ``active`` says whether the events of answers are built (None: always)
        self.listeners = listeners
        self._count = 0  # contacts in the buckets: len(self)

    @property
    def exempt_host(self) -> str | None:
        return self.limits.exempt_host

    @property
    def max_per_ip(self) -> int | None:
        return self.limits.max_per_ip

    @property
    def max_per_subnet(self) -> int | None:
        return self.limits.max_per_subnet

    # --- lookups ------------------------------------------------------

    def bucket_index(self, key: int) -> int:
        return bisect.bisect_right(self._los, key) - 1

    def bucket_for(self, node_id: bytes) -> KBucket:
        return self.buckets[self.bucket_index(int.from_bytes(node_id, "big"))]

    def get(self, node_id: bytes) -> Entry | None:
        """The contact with this id in a bucket (not in a replacement cache)."""
        key = int.from_bytes(node_id, "big")
        bucket = self.buckets[self.bucket_index(key)]
        i = bucket.index_of(key)
        return bucket.entries[i] if i >= 0 else None

    def cached(self, node_id: bytes) -> Entry | None:
        """The contact with this id in its bucket's replacement cache."""
        key = int.from_bytes(node_id, "big")
        bucket = self.buckets[self.bucket_index(key)]
        i = bucket.cached_index(key)
        return bucket.replacements[i] if i >= 0 else None

    def __len__(self) -> int:
        return self._count

    def _listened(self) -> bool:
        """Whether the events of answers are wanted (see the module's docstring)."""
        listeners = self.listeners
        return listeners is None or listeners.active

    def contacts(self) -> list[Contact]:
        return [e.contact for b in self.buckets for e in b.entries]

    def answered_count(self) -> int:
        """Contacts in the buckets that have answered one of our requests."""
        return sum(1 for b in self.buckets for e in b.entries if e.last_seen is not None)

    def hosts(self) -> dict[str, int]:
        """Contacts per IP address (buckets and caches; the exempt host not counted)."""
        return dict(self.limits.counts)

    def find_nodes(self, target: bytes, count: int | None = None) -> list[Contact]:
        """The ``count`` (default K) known contacts closest to ``target`` (for our lookups)."""
        key = int.from_bytes(target, "big")
        home = self.buckets[self.bucket_index(key)].entries
        return [e.contact for e in closest(self.buckets, home, key, self.k if count is None else count, False)]

    def find_compact(self, target: bytes, count: int | None = None) -> list[bytes]:
        """The closest *answered* contacts as compact node infos, for answers to others.

        A contact that never answered one of our requests is not handed out.
        Their order carries no meaning on the wire (the asker sorts what it
        learns), so a full bucket holding the target is sent as it is.
        """
        count = self.k if count is None else count
        key = int.from_bytes(target, "big")
        home = self.buckets[self.bucket_index(key)].entries
        if len(home) == count and all(e.last_seen is not None for e in home):
            return [e.compact() for e in home]
        return [e.compact() for e in closest(self.buckets, home, key, count, True)]

    def closest_entries(
        self, target: bytes, count: int | None = None, answered_only: bool = False
    ) -> list[Entry]:
        """The entries of :meth:`find_nodes`, closest first (:func:`dht.core.bucket_tree.closest`)."""
        key = int.from_bytes(target, "big")
        home = self.buckets[self.bucket_index(key)].entries
        return closest(self.buckets, home, key, self.k if count is None else count, answered_only)

    def touch(self, target: bytes, now: float) -> None:
        """Mark the bucket holding ``target`` as accessed (a lookup went there)."""
        self.bucket_for(target).last_accessed = now

    def stale_buckets(self, now: float, staleness: float) -> list[tuple[int, int]]:
        return [(b.lo, b.hi) for b in self.buckets if now - b.last_accessed > staleness]

    # --- changes ------------------------------------------------------

    def exempt(self, host: str | None) -> None:
        """Exempt ``host`` (our own loopback address) from the address limits."""
        limits = self.limits
        self.limits = AddressLimits(limits.max_per_ip, limits.max_per_subnet, host)
        for b in self.buckets:
            for e in b.entries + b.replacements:
                self.limits.hold(e.contact)

    def load(self, contacts: list[Contact], now: float) -> list[Outcome]:
        """Insert saved contacts as never answered (asking for no ping: they are
        checked by the lookups that follow and replaced by contacts that answer)."""
        return [r for contact in contacts for r in self._insert_unasked(contact, now, False, None)]

    def entries(self) -> list[Entry]:
        """Every entry, in the buckets and their replacement caches."""
        return [e for b in self.buckets for e in b.entries + b.replacements]

    def adopt(self, entries: list[Entry], now: float) -> None:
        """Take the entries of our table before our id changed (BEP 42), each keeping
        what we knew of it: whether and when it last answered, its RTT (and variance) and failures
        (libtorrent's ``update_node_id`` keeps each node's confirmed state).

        They go in oldest first, so answered ones take the places of never-answered
        ones and, where the new buckets are full, the longest known stay; the rest
        wait in the replacement caches.  No ping is asked for.
        """
        for old in sorted(entries, key=age_order):
            self._insert_unasked(old.contact, now, old.answered, old.rtt)
            new = self.get(old.contact.id) or self.cached(old.contact.id)
            if new is not None and new.contact == old.contact:
                new.last_seen, new.failures = old.last_seen, old.failures
                new.rtt, new.rttvar = old.rtt, old.rttvar
        for b in self.buckets:
            b.entries.sort(key=age_order)

    def _insert_unasked(self, contact: Contact, now: float, contacted: bool, rtt: float | None) -> list[Outcome]:
        """:meth:`insert`, asking for no ping; what it did."""
        reports = self.insert(contact, now, contacted, rtt)
        for r in reports:
            if isinstance(r, PingOldest):
                self._pinged.pop(int.from_bytes(r.oldest.id, "big"), None)
        return [r for r in reports if not isinstance(r, PingOldest)]

    def insert(
        self, contact: Contact, now: float, contacted: bool = True, rtt: float | None = None
    ) -> list[Outcome]:
        """Offer a contact: add it, refresh it, split, replace, cache it or ask for a ping.

        ``contacted``: it answered one of our requests at ``contact.address``
        (``rtt`` seconds after we sent it); a known contact is then refreshed
        as by :meth:`seen`, and moved there if it was known elsewhere.
        Without it (a query's sender, a saved contact) a known contact is
        left as it is.
        """
        if contact.id == self.own_id or contact.id == NULL_ID:
            return []
        key = int.from_bytes(contact.id, "big")
        reports: list[Outcome] = []
        while True:
            index = self.bucket_index(key)
            bucket = self.buckets[index]
            i = bucket.index_of(key)
            if i >= 0:
                return reports + self._known(bucket, i, False, contact, now, contacted, rtt)
            j = bucket.cached_index(key)
            if j >= 0:
                return reports + self._known(bucket, j, True, contact, now, contacted, rtt)
            if not self.limits.allows(contact, bucket):
                if not contacted or not self._evict_other_at(contact.address, key, reports, now):
                    return reports
                continue  # the address answered with this id: whoever held it there is gone
            contact, key = listed(contact)  # one Contact and key for all the tables of the process
            entry = Entry(contact, key, now if contacted else None)
            if contacted and rtt is not None:
                entry.rtt, entry.rttvar = smooth(None, 0.0, rtt)
            if len(bucket.entries) < self.k:
                self.limits.hold(contact)
                bucket.add(entry)
                self._count += 1
                bucket.last_accessed = now
                listeners = self.listeners
                if listeners is None or listeners.active:
                    reports.append(ContactAdded(now, contact, (bucket.lo, bucket.hi)))
                return reports
            if bucket.covers(self.own_key) and bucket.hi - bucket.lo > 1:
                reports.append(self._split(index, now))
                for half in self.buckets[index : index + 2]:  # cached contacts may fit now
                    reports.extend(self._refill(half, None, now))
                continue
            self.limits.hold(contact)
            if contacted and not bucket.entries[0].answered:
                return reports + self._displace(bucket, entry, now)
            self._cache(bucket, entry)
            oldest = self._worth_a_ping(bucket, now)
            if oldest is not None:
                self._pinged[oldest.key] = (now, key)
                reports.append(PingOldest(oldest.contact, contact))
            return reports

    def _known(
        self, bucket: KBucket, i: int, cached: bool, contact: Contact, now: float, contacted: bool,
        rtt: float | None,
    ) -> list[Outcome]:
        """``contact`` is known, at ``i`` of ``bucket``'s entries (of its replacements if ``cached``)."""
        if not contacted:
            return []  # a query never moves nor refreshes a known contact
        entry = (bucket.replacements if cached else bucket.entries)[i]
        if entry.contact.address == contact.address:  # most answers: refreshed where it is
            return self._refresh(bucket, i, cached, now, rtt)
        # It answered our request at a new address: it moved.
        reports: list[Outcome] = []
        self.limits.release(entry.contact)
        if not self.limits.allows(contact, bucket, entry):
            self._evict_other_at(contact.address, entry.key, reports, now)
            bucket = self.buckets[self.bucket_index(entry.key)]  # a removal may merge
        if not self.limits.allows(contact, bucket, entry):
            self.limits.hold(entry.contact)
            return reports  # the new address is over its limits: keep the old one
        self.limits.hold(contact)
        entry.moved(listed(contact)[0])
        return reports + self.seen(contact.id, now, rtt)  # found again: the eviction may have moved it

    def _displace(self, bucket: KBucket, entry: Entry, now: float) -> list[Outcome]:
        """The answered ``entry`` (held) takes the place of the bucket's first contact,
        which never answered; that one waits in the cache."""
        first = bucket.entries.pop(0)
        self._pinged.pop(first.key, None)
        bucket.add(entry)
        bucket.last_accessed = now
        self._cache(bucket, first)
        return [
            ContactRemoved(now, first.contact, ANSWERED_INSTEAD), ContactAdded(now, entry.contact, (bucket.lo, bucket.hi)),
        ]

    def _worth_a_ping(self, bucket: KBucket, now: float) -> Entry | None:
        """The oldest contact that never answered or went quiet, not pinged lately."""
        for entry in bucket.entries:
            if entry.last_seen is not None and now - entry.last_seen <= self.min_ping_interval:
                return None  # the rest were seen even later
            asked = self._pinged.get(entry.key)
            if asked is None or now - asked[0] > self.min_ping_interval:
                return entry
        return None

    def seen(self, node_id: bytes, now: float, rtt: float | None = None) -> list[Outcome]:
        """A known contact answered us: reset its failures, move it to the tail."""
        key = int.from_bytes(node_id, "big")
        index = self.bucket_index(key)
        bucket = self.buckets[index]
        i = bucket.index_of(key)
        cached = i < 0
        if cached:
            i = bucket.cached_index(key)
            if i < 0:
                return []
        return self._refresh(bucket, i, cached, now, rtt)

    def _refresh(self, bucket: KBucket, i: int, cached: bool, now: float, rtt: float | None) -> list[Outcome]:
        """:meth:`seen` of the entry at ``i`` of ``bucket`` (of its replacements if ``cached``)."""
        entry = (bucket.replacements if cached else bucket.entries).pop(i)
        entry.last_seen = now
        entry.failures = 0
        if rtt is not None:
            entry.rtt, entry.rttvar = smooth(entry.rtt, entry.rttvar, rtt)
        if cached:
            # An answer makes a cached contact eligible for a place held by one that never answered.
            bucket.replacements.append(entry)
            if bucket.entries and not bucket.entries[0].answered and len(bucket.entries) >= self.k:
                bucket.replacements.pop()
                return self._displace(bucket, entry, now)
            return self._refill(bucket, None, now)
        bucket.entries.append(entry)
        bucket.last_accessed = now
        self._pinged.pop(entry.key, None)
        listeners = self.listeners
        return [ContactRefreshed(now, entry.contact)] if listeners is None or listeners.active else []

    def failed(self, node_id: bytes, now: float, address: Address | None = None) -> list[Outcome]:
        """A request to a contact (at ``address``) failed.

        One that never answered is removed at once, an answered one after
        MAX_FAILURES in a row.  A failure at another address than the one
        known is not the contact's (someone gave us a wrong address for it).
        """
        key = int.from_bytes(node_id, "big")
        bucket = self.buckets[self.bucket_index(key)]
        i = bucket.index_of(key)
        if i < 0:
            j = bucket.cached_index(key)
            if j >= 0:
                entry = bucket.replacements[j]
                if address is None or entry.contact.address == address:
                    entry.failures += 1
                    if not entry.answered or entry.failures >= self.max_failures:
                        self.limits.release(bucket.replacements.pop(j).contact)
            return []
        entry = bucket.entries[i]
        if address is not None and entry.contact.address != address:
            return []
        entry.failures += 1
        reports: list[Outcome] = [ContactFailed(now, entry.contact, entry.failures)] if self._listened() else []
        if not entry.answered:
            reports.extend(self.remove(node_id, "never answered", now))
        elif entry.failures >= self.max_failures:
            reports.extend(self.remove(node_id, "failed %d times" % entry.failures, now))
        return reports

    def remove(self, node_id: bytes, reason: str, now: float, address: Address | None = None) -> list[Outcome]:
        """Remove a contact (only if known at ``address``, when given); a cached one takes its place."""
        key = int.from_bytes(node_id, "big")
        index = self.bucket_index(key)
        bucket = self.buckets[index]
        i = bucket.index_of(key)
        if i < 0:
            j = bucket.cached_index(key)
            if j >= 0 and (address is None or bucket.replacements[j].contact.address == address):
                self.limits.release(bucket.replacements.pop(j).contact)
            return []
        if address is not None and bucket.entries[i].contact.address != address:
            return []
        entry = bucket.entries.pop(i)
        self._count -= 1
        self.limits.release(entry.contact)
        asked = self._pinged.pop(key, None)
        reports: list[Outcome] = [ContactRemoved(now, entry.contact, reason)]
        reports.extend(self._refill(bucket, asked[1] if asked else None, now))
        reports.extend(self._merge_from(index, now))
        return reports

    def replace_stale(self, old: Contact, new: Contact, now: float) -> list[Outcome]:
        """The pinged ``old`` did not answer: the waiting ``new`` takes its place.

        If ``old`` has left already (a failure removed it), ``new`` still
        takes the place freed, if any.
        """
        key = int.from_bytes(old.id, "big")
        bucket = self.buckets[self.bucket_index(key)]
        i = bucket.index_of(key)
        self._pinged.pop(key, None)
        new_key = int.from_bytes(new.id, "big")
        if i < 0 or bucket.entries[i].contact.address != old.address:
            home = self.buckets[self.bucket_index(new_key)]
            return self._refill(home, new_key, now)
        entry = bucket.entries.pop(i)
        self._count -= 1
        self.limits.release(entry.contact)
        reports = self._refill(bucket, new_key, now)
        if reports and isinstance(reports[0], ContactAdded):
            return [ContactReplaced(now, entry.contact, reports[0].contact)]
        return [ContactRemoved(now, entry.contact, "did not answer a ping")] + self._merge_from(
            self.bucket_index(key)
        , now)

    # --- address limits and the replacement cache -----------------------------

    def _evict_other_at(self, address: Address, key: int, reports: list[Outcome], now: float) -> bool:
        """``address`` answered us with id ``key``: make room for it there
        (:func:`dht.core.address_limits.gives_way`)."""
        leaving = gives_way(self.buckets, address, key)
        if leaving is None:
            return False
        reports.extend(self.remove(leaving[0].contact.id, leaving[1], now))
        return True

    def _cache(self, bucket: KBucket, entry: Entry) -> None:
        """Keep ``entry`` (already held) in the bucket's replacement cache."""
        dropped = bucket.cache(entry, self.replacements)
        if dropped is not None:
            self.limits.release(dropped.contact)

    def _refill(self, bucket: KBucket, prefer: int | None, now: float) -> list[Outcome]:
        """Fill free places from the cache: ``prefer`` first, then answered, newest first."""
        moved = bucket.refill(self.k, prefer)
        self._count += len(moved)
        return [ContactAdded(now, e.contact, (bucket.lo, bucket.hi)) for e in moved]

    # --- structure ------------------------------------------------------

    def _split(self, index: int, now: float) -> BucketSplit:
        lo, hi = self.buckets[index].lo, self.buckets[index].hi
        upper = split_leaf(self.buckets, self._los, index)
        return BucketSplit(now, lo, upper.lo, hi)

    def _merge_from(self, index: int, now: float) -> list[Outcome]:
        reports: list[Outcome] = []
        while (merge := merge_siblings(self.buckets, self._los, index, self.k)) is not None:
            index, first, second, merged = merge
            reports.append(BucketsMerged(now, first.lo, second.lo, second.hi))
            for e in sorted(first.replacements + second.replacements, key=age_order):
                self._cache(merged, e)
            reports.extend(self._refill(merged, None, now))
        return reports
