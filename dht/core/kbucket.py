"""K-buckets and what they hold: entries and the replacement cache.

An :class:`Entry` is a contact with what we know of it; ``last_seen`` is None
while it has never answered one of our requests.  A :class:`KBucket` keeps
its entries never-answered first, then answered ones oldest first, and a
small cache of replacements: bounded (never-answered ones dropped first,
then the oldest), it fills free places with the best first (answered, then
the newest).  A bucket halves its range on :meth:`KBucket.split`.  When and
why it does is the routing table's (:mod:`dht.core.routing`); where the
buckets sit in the id space, :mod:`dht.core.bucket_tree`; how many contacts
may share an address, :mod:`dht.core.address_limits`; what the table
reports, :mod:`dht.core.outcomes`.  Nothing here sends or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .contact import Contact

#: The id a contact never has: the "unknown id" placeholder.
NULL_ID = bytes(20)


@dataclass(slots=True)
class Entry:
    """A contact in a bucket (or its replacement cache), with what we know of it."""

    contact: Contact
    key: int  # the id as an integer
    last_seen: float | None  # when it last answered one of our requests; None: never
    failures: int = 0
    rtt: float | None = None  # smoothed round-trip time of its answers (dht.core.rtt), seconds
    rttvar: float = 0.0  # and its variance: its soft timeout is rtt + 4 rttvar
    #: its compact node info once asked for (b"": not yet; :meth:`moved` clears it)
    _packed: bytes = field(default=b"", repr=False, compare=False)

    @property
    def answered(self) -> bool:
        """It has answered one of our requests."""
        return self.last_seen is not None

    def compact(self) -> bytes:
        """The contact's compact node info, computed once per contact."""
        packed = self._packed
        if not packed:
            packed = self._packed = self.contact.compact()
        return packed

    def moved(self, contact: Contact) -> None:
        """The node answered from ``contact``'s address: keep that (and pack it anew)."""
        self.contact = contact
        self._packed = b""


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
