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
  (bounded: never-answered ones dropped first, then the oldest) and the
  table asks for a ping (:class:`PingOldest`)
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
same-sized sibling fit in K contacts together, they merge back.

Integrity.  A query never changes a known contact's address; only an answer
to our own request at the new address moves it (within the limits below),
and an address that answers with a new id drops the id known there.  The
all-zero id is never taken.  With ``max_per_ip`` at most
that many contacts (buckets and caches together) share one IP address in the
whole table, and with ``max_per_subnet`` at most that many share one /24 in
one bucket (libtorrent's ``dht_restrict_routing_ips``).  Loopback addresses
count as one host each for the /24 rule (all of 127/8 is this machine, where
labs put their nodes), and ``exempt_host`` (our own loopback address, where a
lab on one address puts all its nodes) is exempt from both.  Answers to
others (:meth:`find_compact`) carry answered contacts only.

The table decides and reports: each call returns what it did as events of
:mod:`dht.core.events` (ContactAdded, ContactRefreshed, ContactFailed,
ContactRemoved, ContactReplaced, BucketSplit, BucketsMerged), stamped with
the ``now`` it was given, which the node publishes as they are, and what
it asks the node to do (:class:`PingOldest`, a decision rather than an
event).  It never sends anything and never reads a clock.
"""

from __future__ import annotations

import bisect

from .contact import Address, Contact
from .events import (
    BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRefreshed, ContactRemoved, ContactReplaced,
)
from .kbucket import (
    ANSWERED_INSTEAD, NULL_ID, AddressLimits, Entry, KBucket, Outcome, PingOldest, TableEvent, age_order, subnet_of,
)
from .khash import ID_SPACE
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
        return sum(len(b.entries) for b in self.buckets)

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
        return [e.contact for e in self.closest_entries(target, count)]

    def find_compact(self, target: bytes, count: int | None = None) -> list[bytes]:
        """The closest *answered* contacts as compact node infos, for answers to others.

        A contact that never answered one of our requests is not handed out.
        Their order carries no meaning on the wire (the asker sorts what it
        learns), so a full bucket holding the target is sent as it is.
        """
        count = self.k if count is None else count
        home = self.buckets[self.bucket_index(int.from_bytes(target, "big"))].entries
        if len(home) == count and all(e.last_seen is not None for e in home):
            return [e.compact() for e in home]
        return [e.compact() for e in self.closest_entries(target, count, answered_only=True)]

    def closest_entries(
        self, target: bytes, count: int | None = None, answered_only: bool = False
    ) -> list[Entry]:
        """The entries of :meth:`find_nodes`, closest first."""
        count = self.k if count is None else count
        key = int.from_bytes(target, "big")
        # Buckets are aligned power-of-two ranges, so the XOR distances of one
        # bucket's ids to the target form an interval [lo ^ key with the low
        # bits cleared, + size) disjoint from every other bucket's.  Walk the
        # buckets by that lower bound and stop once ``count`` are gathered.
        home = self._usable(self.buckets[self.bucket_index(key)].entries, answered_only)
        if len(home) >= count:  # the target's own bucket is the closest interval
            return sorted(home, key=lambda e: e.key ^ key)[:count]
        order = sorted(self.buckets, key=lambda b: (b.lo ^ key) & -(b.hi - b.lo))
        out: list[Entry] = []
        for b in order:
            entries = self._usable(b.entries, answered_only)
            if not entries:
                continue
            if len(entries) > 1:
                entries = sorted(entries, key=lambda e: e.key ^ key)
            out.extend(entries[: count - len(out)])
            if len(out) >= count:
                break
        return out

    @staticmethod
    def _usable(entries: list[Entry], answered_only: bool) -> list[Entry]:
        if not answered_only:
            return entries
        return [e for e in entries if e.last_seen is not None]

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
        reports: list[Outcome] = []
        for contact in contacts:
            for r in self.insert(contact, now, contacted=False):
                if isinstance(r, PingOldest):
                    self._pinged.pop(int.from_bytes(r.oldest.id, "big"), None)
                else:
                    reports.append(r)
        return reports

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
            for r in self.insert(old.contact, now, contacted=old.answered, rtt=old.rtt):
                if isinstance(r, PingOldest):
                    self._pinged.pop(int.from_bytes(r.oldest.id, "big"), None)
            new = self.get(old.contact.id) or self.cached(old.contact.id)
            if new is not None and new.contact == old.contact:
                new.last_seen, new.failures = old.last_seen, old.failures
                new.rtt, new.rttvar = old.rtt, old.rttvar
        for b in self.buckets:
            b.entries.sort(key=age_order)

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
            entry = Entry(contact, key, now if contacted else None)
            if contacted and rtt is not None:
                entry.rtt, entry.rttvar = smooth(None, 0.0, rtt)
            if len(bucket.entries) < self.k:
                self.limits.hold(contact)
                bucket.add(entry)
                bucket.last_accessed = now
                reports.append(ContactAdded(now, contact, (bucket.lo, bucket.hi)))
                return reports
            if bucket.covers(self.own_key) and bucket.hi - bucket.lo > 1:
                reports.append(self._split(index, now))
                for half in self.buckets[index : index + 2]:  # cached contacts may fit now
                    reports.extend(self._refill(half, None, now))
                continue
            self.limits.hold(contact)
            first = bucket.entries[0]
            if contacted and not first.answered:
                # An answered newcomer takes the place of a contact that never answered.
                bucket.entries.pop(0)
                self._pinged.pop(first.key, None)
                bucket.add(entry)
                bucket.last_accessed = now
                self._cache(bucket, first)
                reports.append(ContactRemoved(now, first.contact, ANSWERED_INSTEAD))
                reports.append(ContactAdded(now, contact, (bucket.lo, bucket.hi)))
                return reports
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
        entry.contact = contact
        return reports + self.seen(contact.id, now, rtt)  # found again: the eviction may have moved it

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
                first = bucket.entries.pop(0)
                self._pinged.pop(first.key, None)
                bucket.replacements.pop()
                bucket.add(entry)
                self._cache(bucket, first)
                bucket.last_accessed = now
                return [
                    ContactRemoved(now, first.contact, ANSWERED_INSTEAD),
                    ContactAdded(now, entry.contact, (bucket.lo, bucket.hi)),
                ]
            return self._refill(bucket, None, now)
        bucket.entries.append(entry)
        bucket.last_accessed = now
        self._pinged.pop(entry.key, None)
        return [ContactRefreshed(now, entry.contact)]

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
        reports: list[Outcome] = [ContactFailed(now, entry.contact, entry.failures)]
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
        self.limits.release(entry.contact)
        reports = self._refill(bucket, new_key, now)
        if reports and isinstance(reports[0], ContactAdded):
            return [ContactReplaced(now, entry.contact, reports[0].contact)]
        return [ContactRemoved(now, entry.contact, "did not answer a ping")] + self._merge_from(
            self.bucket_index(key)
        , now)

    # --- address limits and the replacement cache -----------------------------

    def _evict_other_at(self, address: Address, key: int, reports: list[Outcome], now: float) -> bool:
        """``address`` answered us with id ``key``: make room for it there.

        Whoever else we knew at that very address is gone; failing that, a
        contact at the same IP that never answered us (a saved contact of an
        earlier run, say, where a restarted host now listens on another port)
        gives way to this one, which just did.
        """
        unanswered: Entry | None = None
        for b in self.buckets:
            for e in b.entries + b.replacements:
                if e.key == key:
                    continue
                if e.contact.address == address:
                    reports.extend(self.remove(e.contact.id, "its address answers with another id", now))
                    return True
                if unanswered is None and not e.answered and e.contact.host == address[0]:
                    unanswered = e
        if unanswered is None:
            return False
        reports.extend(self.remove(unanswered.contact.id, "never answered; another node answers at its IP", now))
        return True

    def _cache(self, bucket: KBucket, entry: Entry) -> None:
        """Keep ``entry`` (already held) in the bucket's replacement cache."""
        dropped = bucket.cache(entry, self.replacements)
        if dropped is not None:
            self.limits.release(dropped.contact)

    def _refill(self, bucket: KBucket, prefer: int | None, now: float) -> list[Outcome]:
        """Fill free places from the cache: ``prefer`` first, then answered, newest first."""
        return [ContactAdded(now, e.contact, (bucket.lo, bucket.hi)) for e in bucket.refill(self.k, prefer)]

    # --- structure ------------------------------------------------------

    def _split(self, index: int, now: float) -> BucketSplit:
        bucket = self.buckets[index]
        hi = bucket.hi
        upper = bucket.split()
        self.buckets.insert(index + 1, upper)
        self._los.insert(index + 1, upper.lo)
        return BucketSplit(now, bucket.lo, upper.lo, hi)

    def _merge_from(self, index: int, now: float) -> list[Outcome]:
        reports: list[Outcome] = []
        while len(self.buckets) > 1:
            bucket = self.buckets[index]
            size = bucket.hi - bucket.lo
            # The sibling is the other half of the parent range [lo & ~size, +2*size).
            if bucket.lo % (2 * size) == 0:
                sib_index = index + 1
            else:
                sib_index = index - 1
            if not 0 <= sib_index < len(self.buckets):
                break
            sibling = self.buckets[sib_index]
            if sibling.hi - sibling.lo != size:
                break
            if len(bucket.entries) + len(sibling.entries) > self.k:
                break
            first, second = sorted((bucket, sibling), key=lambda b: b.lo)
            merged = KBucket(
                first.lo,
                second.hi,
                max(first.last_accessed, second.last_accessed),
                sorted(first.entries + second.entries, key=age_order),
            )
            low = min(index, sib_index)
            self.buckets[low : low + 2] = [merged]
            del self._los[low + 1]
            reports.append(BucketsMerged(now, first.lo, second.lo, second.hi))
            for e in sorted(first.replacements + second.replacements, key=age_order):
                self._cache(merged, e)
            reports.extend(self._refill(merged, None, now))
            index = low
        return reports
