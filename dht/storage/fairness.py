"""Fairness of a node's store: whose value gives up its room when the store is full.

Theory of operation.  One IP holds at most ``max_per_ip`` values
(:class:`StoreLimits`).  A store that finds its key or the whole store full
makes room by evicting the oldest value of the heaviest holder (the IP with
the most values there) when that holder has at least two more values there
than the storing IP; otherwise the store is refused.  So a flood, from one
IP or many, only ever gives up its own room: a publisher loses a value only
while it holds more than everybody else and two more than the one storing,
so an apt-p2p peer (one value per key) never loses its value under a key,
and a newcomer is refused only by a key or store whose every holder has at
most one value there.  The margin of two makes shares settle (the victim
still holds at least as many as the newcomer) instead of trading one value
back and forth.  Eviction rather than refusing the heaviest holder's next
store: refusing frees nothing, so a full store would stay full and shut
newcomers out.  The oldest of the heaviest holder's values goes first, as it
is the next its publisher must republish anyway.

The values per publisher are kept in memory in a :class:`Tally` (shared
with the Mainline stores, :mod:`dht.core.fairness`), which
knows its heaviest name in O(1), so checking a quota never reads the
database; the heaviest holder under one key is counted from the database
(one key holds few values).  :func:`make_room` runs inside the store's write
transaction and deletes nothing itself: it names the victims, among the
rows of one node (its :class:`~.layout.Layout` and slot: a node's own file,
or its rows in its lab's shared file).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..core.errors import StoreRefused
from ..core.fairness import Tally
from .layout import NODE_LAYOUT, Layout

__all__ = ["StoreLimits", "Tally", "Victim", "make_room", "victim_in_key", "victim_of_all"]

#: A value chosen to make room: (key, value, publisher, row id).
Victim = tuple[bytes, bytes, str, int]


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """Bounds on what a store keeps; 0 means no bound."""

    max_values: int = 0
    max_per_key: int = 0
    max_per_ip: int = 0


def make_room(
    conn: sqlite3.Connection, limits: StoreLimits, publishers: Tally, under_key: int, values: int,
    key: bytes, publisher: str, layout: Layout = NODE_LAYOUT, slot: int = 0,
) -> list[Victim]:
    """The values to evict so that ``publisher`` may store a new value under ``key``.

    ``under_key`` and ``values`` are the store's counts (under ``key``, in
    all); the victims are rows of the node ``slot`` in ``layout``.  Raises
    :class:`StoreRefused` when the limits allow no room.
    """
    evicted: list[Victim] = []
    mine = publishers.get(publisher)
    if limits.max_per_ip and mine >= limits.max_per_ip:
        who = publisher or "this node"
        raise StoreRefused(f"quota reached: {who} holds {mine} values here (limit {limits.max_per_ip} per IP)")
    if limits.max_per_key and under_key >= limits.max_per_key:
        victim = victim_in_key(conn, key, publisher, layout, slot)
        if victim is None:
            raise StoreRefused(f"too many values for this key (limit {limits.max_per_key})")
        evicted.append(victim)
    if limits.max_values and values - len(evicted) >= limits.max_values:
        victim = victim_of_all(conn, publishers, mine, evicted, layout, slot)
        if victim is None:
            raise StoreRefused(f"store is full (limit {limits.max_values} values)")
        evicted.append(victim)
    return evicted


def victim_in_key(
    conn: sqlite3.Connection, key: bytes, publisher: str, layout: Layout = NODE_LAYOUT, slot: int = 0,
) -> Victim | None:
    """The oldest value under ``key`` of its heaviest holder, if it holds two more there than ``publisher``."""
    counts = dict(conn.execute(layout.publishers_in_key, {"slot": slot, "key": key}))
    heaviest = max(counts, key=lambda p: counts[p])
    if counts[heaviest] < counts.get(publisher, 0) + 2:
        return None
    row = conn.execute(layout.oldest_in_key, {"slot": slot, "key": key, "publisher": heaviest}).fetchone()
    return (key, bytes(row[1]), heaviest, int(row[0]))


def victim_of_all(
    conn: sqlite3.Connection, publishers: Tally, mine: int, evicted: list[Victim],
    layout: Layout = NODE_LAYOUT, slot: int = 0,
) -> Victim | None:
    """The oldest value of the heaviest holder of all (not in ``evicted``), if it holds two more than ``mine``."""
    heaviest = publishers.heaviest()
    if heaviest is None or publishers.max < mine + 2:
        return None
    taken = {rowid for *_rest, rowid in evicted}
    for rowid, key, value in conn.execute(
        layout.oldest_of, {"slot": slot, "publisher": heaviest, "limit": len(taken) + 1}
    ):
        if rowid not in taken:
            return (bytes(key), bytes(value), heaviest, int(rowid))
    return None
