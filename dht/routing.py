"""The routing table: K-buckets over [0, 2^160), sans-IO.

Theory of operation.  The table starts as one bucket covering the whole id
space.  Contacts are kept per bucket, oldest first.  When a contact arrives
for a full bucket:

* if the bucket's range holds our own id, it is split in half and the insert
  retried (possibly splitting again);
* otherwise the table reports :class:`PingOldest`: the caller should ping the
  bucket's oldest contact, then call :meth:`RoutingTable.replace_stale` if it
  failed or :meth:`RoutingTable.seen` if it answered.  The report is made at
  most once per MIN_PING_INTERVAL for a given oldest contact, and only when it
  has not been seen for that long.

A contact that fails MAX_FAILURES requests in a row is removed; when a removal
lets a bucket and its same-sized sibling (the other half of their parent
range) fit in K contacts together, they merge back.

The table decides and reports (lists of small report objects); it never sends
anything and never reads a clock: every call is given ``now``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Union

from .contact import Contact
from .khash import ID_SPACE


@dataclass(slots=True)
class Entry:
    """A contact in a bucket, with what we know of it."""

    contact: Contact
    key: int  # the id as an integer
    last_seen: float
    failures: int = 0
    rtt: float | None = None
    contacted: bool = False  # it has answered one of our requests
    _packed_for: Contact | None = field(default=None, repr=False, compare=False)
    _packed: bytes = field(default=b"", repr=False, compare=False)

    def compact(self) -> bytes:
        """The contact's compact node info, computed once per contact."""
        if self._packed_for is not self.contact:
            self._packed = self.contact.compact()
            self._packed_for = self.contact
        return self._packed


@dataclass(slots=True)
class KBucket:
    """The contacts whose ids are in [lo, hi), oldest first."""

    lo: int
    hi: int
    last_accessed: float
    entries: list[Entry] = field(default_factory=list)

    def covers(self, key: int) -> bool:
        return self.lo <= key < self.hi

    def index_of(self, key: int) -> int:
        for i, entry in enumerate(self.entries):
            if entry.key == key:
                return i
        return -1


# --- reports ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Added:
    contact: Contact
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Refreshed:
    contact: Contact


@dataclass(frozen=True, slots=True)
class Split:
    lo: int
    mid: int
    hi: int


@dataclass(frozen=True, slots=True)
class Merged:
    lo: int
    mid: int
    hi: int


@dataclass(frozen=True, slots=True)
class Failed:
    contact: Contact
    failures: int


@dataclass(frozen=True, slots=True)
class Removed:
    contact: Contact
    reason: str


@dataclass(frozen=True, slots=True)
class Replaced:
    old: Contact
    new: Contact


@dataclass(frozen=True, slots=True)
class PingOldest:
    """The bucket is full: ping ``oldest``; replace it by ``new`` if it fails."""

    oldest: Contact
    new: Contact


Report = Union[Added, Refreshed, Split, Merged, Failed, Removed, Replaced, PingOldest]


class RoutingTable:
    """Kademlia routing table around ``own_id``."""

    def __init__(
        self,
        own_id: bytes,
        k: int = 8,
        max_failures: int = 3,
        min_ping_interval: float = 900.0,
        now: float = 0.0,
    ) -> None:
        self.own_id = own_id
        self.own_key = int.from_bytes(own_id, "big")
        self.k = k
        self.max_failures = max_failures
        self.min_ping_interval = min_ping_interval
        self.buckets: list[KBucket] = [KBucket(0, ID_SPACE, now)]
        self._los: list[int] = [0]  # bucket lower bounds, for bisect
        self._pinged: dict[int, float] = {}  # oldest contact key -> when we asked

    # --- lookups ------------------------------------------------------

    def bucket_index(self, key: int) -> int:
        return bisect.bisect_right(self._los, key) - 1

    def bucket_for(self, node_id: bytes) -> KBucket:
        return self.buckets[self.bucket_index(int.from_bytes(node_id, "big"))]

    def get(self, node_id: bytes) -> Entry | None:
        key = int.from_bytes(node_id, "big")
        bucket = self.buckets[self.bucket_index(key)]
        i = bucket.index_of(key)
        return bucket.entries[i] if i >= 0 else None

    def __len__(self) -> int:
        return sum(len(b.entries) for b in self.buckets)

    def contacts(self) -> list[Contact]:
        return [e.contact for b in self.buckets for e in b.entries]

    def find_nodes(self, target: bytes, count: int | None = None) -> list[Contact]:
        """The ``count`` (default K) known contacts closest to ``target``."""
        return [e.contact for e in self.closest_entries(target, count)]

    def find_compact(self, target: bytes, count: int | None = None) -> list[bytes]:
        """The contacts of :meth:`find_nodes` as compact node infos, for answers.

        Their order carries no meaning on the wire (the asker sorts what it
        learns), so a full bucket holding the target is sent as it is.
        """
        count = self.k if count is None else count
        home = self.buckets[self.bucket_index(int.from_bytes(target, "big"))].entries
        if len(home) == count:
            return [e.compact() for e in home]
        return [e.compact() for e in self.closest_entries(target, count)]

    def closest_entries(self, target: bytes, count: int | None = None) -> list[Entry]:
        """The entries of :meth:`find_nodes`, closest first."""
        count = self.k if count is None else count
        key = int.from_bytes(target, "big")
        # Buckets are aligned power-of-two ranges, so the XOR distances of one
        # bucket's ids to the target form an interval [lo ^ key with the low
        # bits cleared, + size) disjoint from every other bucket's.  Walk the
        # buckets by that lower bound and stop once ``count`` are gathered.
        home = self.buckets[self.bucket_index(key)].entries
        if len(home) >= count:  # the target's own bucket is the closest interval
            return sorted(home, key=lambda e: e.key ^ key)[:count]
        order = sorted(self.buckets, key=lambda b: (b.lo ^ key) & -(b.hi - b.lo))
        out: list[Entry] = []
        for b in order:
            if not b.entries:
                continue
            entries = sorted(b.entries, key=lambda e: e.key ^ key) if len(b.entries) > 1 else b.entries
            out.extend(entries[: count - len(out)])
            if len(out) >= count:
                break
        return out

    def touch(self, target: bytes, now: float) -> None:
        """Mark the bucket holding ``target`` as accessed (a lookup went there)."""
        self.bucket_for(target).last_accessed = now

    def stale_buckets(self, now: float, staleness: float) -> list[tuple[int, int]]:
        return [(b.lo, b.hi) for b in self.buckets if now - b.last_accessed > staleness]

    # --- changes ------------------------------------------------------

    def insert(
        self, contact: Contact, now: float, contacted: bool = True, rtt: float | None = None
    ) -> list[Report]:
        """Offer a contact: add it, refresh it, split, or ask for a ping.

        ``contacted``: it answered one of our requests (``rtt`` seconds after
        we sent it); a known contact is then refreshed as by :meth:`seen`.
        """
        if contact.id == self.own_id:
            return []
        key = int.from_bytes(contact.id, "big")
        reports: list[Report] = []
        while True:
            index = self.bucket_index(key)
            bucket = self.buckets[index]
            i = bucket.index_of(key)
            if i >= 0:
                entry = bucket.entries[i]
                if entry.contact.address != contact.address:
                    entry.contact = contact  # the node moved
                if contacted:
                    reports.extend(self.seen(contact.id, now, rtt))
                return reports
            if len(bucket.entries) < self.k:
                bucket.entries.append(Entry(contact, key, now, rtt=rtt, contacted=contacted))
                bucket.last_accessed = now
                reports.append(Added(contact, bucket.lo, bucket.hi))
                return reports
            if bucket.covers(self.own_key) and bucket.hi - bucket.lo > 1:
                reports.append(self._split(index))
                continue
            oldest = bucket.entries[0]
            asked = self._pinged.get(oldest.key)
            if now - oldest.last_seen > self.min_ping_interval and (
                asked is None or now - asked > self.min_ping_interval
            ):
                self._pinged[oldest.key] = now
                reports.append(PingOldest(oldest.contact, contact))
            return reports

    def seen(self, node_id: bytes, now: float, rtt: float | None = None) -> list[Report]:
        """A known contact answered us: reset its failures, move it to the tail."""
        key = int.from_bytes(node_id, "big")
        bucket = self.buckets[self.bucket_index(key)]
        i = bucket.index_of(key)
        if i < 0:
            return []
        entry = bucket.entries.pop(i)
        entry.last_seen = now
        entry.failures = 0
        entry.contacted = True
        if rtt is not None:
            entry.rtt = rtt if entry.rtt is None else 0.75 * entry.rtt + 0.25 * rtt
        bucket.entries.append(entry)
        bucket.last_accessed = now
        self._pinged.pop(key, None)
        return [Refreshed(entry.contact)]

    def failed(self, node_id: bytes) -> list[Report]:
        """A request to a contact failed; remove it after MAX_FAILURES in a row."""
        key = int.from_bytes(node_id, "big")
        index = self.bucket_index(key)
        bucket = self.buckets[index]
        i = bucket.index_of(key)
        if i < 0:
            return []
        entry = bucket.entries[i]
        entry.failures += 1
        reports: list[Report] = [Failed(entry.contact, entry.failures)]
        if entry.failures >= self.max_failures:
            reports.extend(self.remove(node_id, "failed %d times" % entry.failures))
        return reports

    def remove(self, node_id: bytes, reason: str) -> list[Report]:
        key = int.from_bytes(node_id, "big")
        index = self.bucket_index(key)
        bucket = self.buckets[index]
        i = bucket.index_of(key)
        if i < 0:
            return []
        entry = bucket.entries.pop(i)
        self._pinged.pop(key, None)
        reports: list[Report] = [Removed(entry.contact, reason)]
        reports.extend(self._merge_from(index))
        return reports

    def replace_stale(self, old: Contact, new: Contact, now: float) -> list[Report]:
        """The pinged oldest contact failed: put ``new`` in its place."""
        key = int.from_bytes(old.id, "big")
        index = self.bucket_index(key)
        bucket = self.buckets[index]
        i = bucket.index_of(key)
        self._pinged.pop(key, None)
        new_key = int.from_bytes(new.id, "big")
        if i < 0 or not bucket.covers(new_key) or bucket.index_of(new_key) >= 0:
            return []
        bucket.entries.pop(i)
        bucket.entries.append(Entry(new, new_key, now))
        bucket.last_accessed = now
        return [Replaced(old, new)]

    # --- structure ------------------------------------------------------

    def _split(self, index: int) -> Split:
        bucket = self.buckets[index]
        mid = (bucket.lo + bucket.hi) // 2
        upper = KBucket(mid, bucket.hi, bucket.last_accessed)
        upper.entries = [e for e in bucket.entries if e.key >= mid]
        bucket.entries = [e for e in bucket.entries if e.key < mid]
        hi = bucket.hi
        bucket.hi = mid
        self.buckets.insert(index + 1, upper)
        self._los.insert(index + 1, mid)
        return Split(bucket.lo, mid, hi)

    def _merge_from(self, index: int) -> list[Report]:
        reports: list[Report] = []
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
                sorted(first.entries + second.entries, key=lambda e: e.last_seen),
            )
            low = min(index, sib_index)
            self.buckets[low : low + 2] = [merged]
            del self._los[low + 1]
            reports.append(Merged(first.lo, second.lo, second.hi))
            index = low
        return reports
