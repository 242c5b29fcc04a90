"""K-buckets and what they hold: entries, the replacement cache, the address limits.

An :class:`Entry` is a contact with what we know of it; ``last_seen`` is None
while it has never answered one of our requests.  A :class:`KBucket` keeps
its entries never-answered first, then answered ones oldest first, and a
small cache of replacements: bounded (never-answered ones dropped first,
then the oldest), it fills free places with the best first (answered, then
the newest).  A bucket halves its range on :meth:`KBucket.split`; when and
why is the routing table's.  :class:`AddressLimits` bounds how many
contacts share one IP and one /24.  The reports are what
:class:`dht.core.routing.RoutingTable` says it did.  Nothing here sends or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .contact import Contact
from .events import (
    BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRefreshed, ContactRemoved, ContactReplaced,
)

#: The id a contact never has: the "unknown id" placeholder.
NULL_ID = bytes(20)

#: Why a never-answered contact left its place (it waits in the cache).
ANSWERED_INSTEAD = "never answered; a contact that did took its place"


@dataclass(slots=True)
class Entry:
    """A contact in a bucket (or its replacement cache), with what we know of it."""

    contact: Contact
    key: int  # the id as an integer
    last_seen: float | None  # when it last answered one of our requests; None: never
    failures: int = 0
    rtt: float | None = None  # smoothed round-trip time of its answers (dht.core.rtt), seconds
    rttvar: float = 0.0  # and its variance: its soft timeout is rtt + 4 rttvar
    _packed_for: Contact | None = field(default=None, repr=False, compare=False)
    _packed: bytes = field(default=b"", repr=False, compare=False)
    _subnet_for: Contact | None = field(default=None, repr=False, compare=False)
    _subnet: str = field(default="", repr=False, compare=False)

    @property
    def answered(self) -> bool:
        """It has answered one of our requests."""
        return self.last_seen is not None

    def compact(self) -> bytes:
        """The contact's compact node info, computed once per contact."""
        if self._packed_for is not self.contact:
            self._packed = self.contact.compact()
            self._packed_for = self.contact
        return self._packed


def age_order(entry: Entry) -> tuple[bool, float]:
    """Sort key, oldest first: never answered before answered, then by last seen."""
    return (entry.last_seen is not None, entry.last_seen or 0.0)


@dataclass(slots=True)
class KBucket:
    """The contacts whose ids are in [lo, hi), oldest first, and their replacements."""

    lo: int
    hi: int
    last_accessed: float
    entries: list[Entry] = field(default_factory=list)
    replacements: list[Entry] = field(default_factory=list)  # oldest first

    def covers(self, key: int) -> bool:
        return self.lo <= key < self.hi

    def index_of(self, key: int) -> int:
        for i, entry in enumerate(self.entries):
            if entry.key == key:
                return i
        return -1

    def cached_index(self, key: int) -> int:
        for i, entry in enumerate(self.replacements):
            if entry.key == key:
                return i
        return -1

    def add(self, entry: Entry) -> None:
        """Add to the contacts, keeping never-answered ones first, oldest first."""
        if entry.answered:
            self.entries.append(entry)
        else:
            n = 0
            while n < len(self.entries) and not self.entries[n].answered:
                n += 1
            self.entries.insert(n, entry)

    def cache(self, entry: Entry, size: int) -> Entry | None:
        """Keep ``entry`` among at most ``size`` replacements; the one dropped for it, if any.

        The oldest that never answered goes first, else the oldest.
        """
        self.replacements.append(entry)
        if len(self.replacements) <= size:
            return None
        victim = next((e for e in self.replacements if not e.answered), self.replacements[0])
        self.replacements.remove(victim)
        return victim

    def refill(self, k: int, prefer: int | None = None) -> list[Entry]:
        """Fill free places (up to ``k``) from the cache; the entries moved in.

        The replacement with key ``prefer`` first, then answered ones before
        never-answered ones, newest first.
        """
        moved: list[Entry] = []
        cache = self.replacements
        while len(self.entries) < k and cache:
            i = self.cached_index(prefer) if prefer is not None else -1
            if i < 0:
                i = max(range(len(cache)), key=lambda n: (cache[n].answered, n))
            entry = cache.pop(i)
            self.add(entry)
            moved.append(entry)
            prefer = None
        return moved

    def split(self) -> KBucket:
        """Halve the range: this bucket keeps the lower half; the upper half is returned.

        Entries and replacements go with their half, in their order.
        """
        mid = (self.lo + self.hi) // 2
        upper = KBucket(mid, self.hi, self.last_accessed)
        upper.entries = [e for e in self.entries if e.key >= mid]
        upper.replacements = [e for e in self.replacements if e.key >= mid]
        self.entries = [e for e in self.entries if e.key < mid]
        self.replacements = [e for e in self.replacements if e.key < mid]
        self.hi = mid
        return upper


def subnet_of(host: str) -> str:
    """The /24 a host is in, for the per-bucket rule; a loopback host is its own."""
    if host.startswith("127."):
        return host
    return host.rpartition(".")[0]


class AddressLimits:
    """How many contacts may share one IP address (in the whole table) and one
    /24 (in one bucket, its cache included); None: no limit.

    ``exempt_host`` (our own loopback address: a lab on one address) is never
    limited nor counted.  ``counts`` is kept by :meth:`hold` and :meth:`release`
    for every contact the table keeps, in a bucket or a cache.
    """

    def __init__(self, max_per_ip: int | None, max_per_subnet: int | None,
                 exempt_host: str | None = None) -> None:
        self.max_per_ip = max_per_ip
        self.max_per_subnet = max_per_subnet
        self.exempt_host = exempt_host
        self.counts: dict[str, int] = {}  # host -> contacts the table keeps at it

    def allows(self, contact: Contact, bucket: KBucket, moving: Entry | None = None) -> bool:
        """Whether ``bucket`` may take ``contact`` (``moving``: its own entry, not counted)."""
        host = contact.host
        if host == self.exempt_host:
            return True
        if self.max_per_ip is not None and self.counts.get(host, 0) >= self.max_per_ip:
            return False
        if self.max_per_subnet is not None:
            subnet = subnet_of(host)
            same = 0
            exempt = self.exempt_host
            for e in bucket.entries + bucket.replacements:
                c = e.contact
                if e._subnet_for is not c:  # each entry's /24, computed once per contact
                    e._subnet = subnet_of(c.host)
                    e._subnet_for = c
                if e._subnet == subnet and e is not moving and c.host != exempt:
                    same += 1
            if same >= self.max_per_subnet:
                return False
        return True

    def hold(self, contact: Contact) -> None:
        if contact.host != self.exempt_host:
            self.counts[contact.host] = self.counts.get(contact.host, 0) + 1

    def release(self, contact: Contact) -> None:
        host = contact.host
        if host == self.exempt_host:
            return
        left = self.counts.get(host, 0) - 1
        if left > 0:
            self.counts[host] = left
        else:
            self.counts.pop(host, None)


# --- what the table reports -------------------------------------------

#: What the routing table reports it did: events of :mod:`dht.core.events`, stamped
#: with the ``now`` the table was given; the node publishes them as they are.
TableEvent = Union[
    ContactAdded, ContactRefreshed, BucketSplit, BucketsMerged, ContactFailed, ContactRemoved, ContactReplaced,
]


@dataclass(frozen=True, slots=True)
class PingOldest:
    """A decision, not an event: the bucket is full, so ping ``oldest``; ``new``
    (cached) takes its place if it fails.

    The table never sends, so it hands this order to the node, which pings and
    reports the outcome back (:meth:`RoutingTable.seen` or
    :meth:`RoutingTable.replace_stale`); what then happened is an event
    (ContactRefreshed, or ContactReplaced).  Nothing has happened yet when it
    is made, so no subscriber ever sees it.
    """

    oldest: Contact
    new: Contact


#: What a table call returns: what it did, and what it asks the node to do.
Outcome = Union[TableEvent, PingOldest]
