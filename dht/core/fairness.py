"""Fairness of the Mainline stores: whose entry makes room, so that no one IP takes a store over or locks it.

Theory of operation.  Each entry (an announced peer, a BEP 44 item) has a
holder: the IP that stored it first.  Two rules keep a store shared:

* **A share per IP** (``dht_max_peers_per_ip``, ``dht_max_items_per_ip``):
  an IP that holds its share and stores a new entry loses its own oldest
  peer or least important item to it.  Its newest entries stay; nobody
  else's go.
* **Room when full** (the store, a swarm, or the item kind is at its cap),
  for a new entry from IP ``s`` holding ``c`` entries there
  (:func:`who_makes_room`):

  1. the heaviest holder, if it holds at least two more there than ``s``,
     gives up its oldest peer or least important item (the Khashmir
     store's rule, :mod:`dht.storage.fairness`; the margin of two lets
     shares settle instead of trading one entry back and forth);
  2. otherwise, if ``s`` holds any there, one of its own goes: it cannot
     grow past the others, however fast it stores;
  3. otherwise (``s`` holds nothing there and nobody holds two more) the
     least important entry of all goes (libtorrent's rule for items: its
     score; for peers, the oldest announce, the next to expire).

  So a newcomer is never refused by a full store, and an IP flooding a
  full store displaces others' entries only once as a newcomer (case 3)
  and while they hold two more than it (case 1); after that each of its
  new entries replaces one of its own, whatever targets it grinds.  The
  Khashmir store refuses instead of case 3, which leaves a store of equal
  holders locked to newcomers for its entries' whole lifetime.

:class:`Tally` counts entries per holder with the heaviest at hand in O(1).
Sans-IO and pure: nothing here reads a clock.
"""

from __future__ import annotations


class Tally:
    """Counts per name with the largest one at hand (O(1) per change)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._by_count: dict[int, set[str]] = {}
        self.max = 0

    def get(self, name: str) -> int:
        return self.counts.get(name, 0)

    def add(self, name: str, n: int = 1) -> None:
        if n > 0:
            self._move(name, self.counts.get(name, 0), n)

    def remove(self, name: str) -> None:
        if self.counts.get(name, 0) > 0:
            self._move(name, self.counts[name], -1)

    def _move(self, name: str, old: int, step: int) -> None:
        """From ``old`` to ``old + step``; the max only ever falls by one (step -1)."""
        new = old + step
        if old:
            names = self._by_count[old]
            names.discard(name)
            if not names:
                del self._by_count[old]
        if new:
            self.counts[name] = new
            self._by_count.setdefault(new, set()).add(name)
            self.max = max(self.max, new)
        else:
            del self.counts[name]
        while self.max and self.max not in self._by_count:
            self.max -= 1

    def heaviest(self) -> str | None:
        names = self._by_count.get(self.max)
        return next(iter(names)) if names else None


#: :func:`who_makes_room`'s answer when the least important entry of all goes (case 3).
ANYONE = None


def who_makes_room(heaviest: str | None, heaviest_holds: int, storer: str, storer_holds: int) -> str | None:
    """The holder whose entry goes for ``storer``'s new one (cases 1-2), or ANYONE (case 3)."""
    if heaviest is not None and heaviest_holds >= storer_holds + 2:
        return heaviest
    if storer_holds > 0:
        return storer
    return ANYONE


def heaviest_of(counts: dict[str, int]) -> tuple[str | None, int]:
    """The largest holder of a small count table (a swarm's) and what it holds."""
    if not counts:
        return None, 0
    name = max(counts, key=counts.__getitem__)
    return name, counts[name]
