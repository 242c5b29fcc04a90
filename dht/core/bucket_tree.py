"""The routing table's buckets as the leaves of a binary tree over the id space.

Theory of operation.  As in Kademlia, the table's buckets are the leaves of
a binary tree over [0, 2^160): the root covers the whole space, and a leaf
that splits leaves two halves in its place.  So every bucket covers an
aligned power-of-two range [lo, hi), the leaves partition the space, and
kept sorted by ``lo`` (their lower bounds beside them, in ``los``) the
bucket of a key is found by bisecting those bounds.  Two leaves are
siblings when they are the two halves of one parent range [lo & ~size,
+2*size); siblings whose contacts fit in K together merge back into it
(:func:`merge_siblings`).

Because the ranges are aligned, the XOR distances of one bucket's ids to a
target form an interval [lo ^ key with the low bits cleared, + size),
disjoint from every other bucket's.  :func:`closest` walks the buckets by
that lower bound and stops once it has gathered enough: the closest
contacts without sorting the whole table.

These functions change the list of leaves (and its bounds) in place; what
that means for contacts, caches and reports is :mod:`dht.core.routing`'s.
Nothing here sends or reads a clock.
"""

from __future__ import annotations

from .kbucket import Entry, KBucket, age_order


def split_leaf(buckets: list[KBucket], los: list[int], index: int) -> KBucket:
    """Split the bucket at ``index`` in half in place; the upper half, now at ``index + 1``."""
    upper = buckets[index].split()
    buckets.insert(index + 1, upper)
    los.insert(index + 1, upper.lo)
    return upper


def merge_siblings(
    buckets: list[KBucket], los: list[int], index: int, k: int
) -> tuple[int, KBucket, KBucket, KBucket] | None:
    """Merge the bucket at ``index`` with its sibling if their contacts fit in ``k``.

    Returns the merged bucket's index, the lower and upper halves it replaced,
    and the merged bucket (its contacts oldest first, its cache empty: the
    halves' caches are the caller's to offer it); None if they do not merge.
    """
    if len(buckets) <= 1:
        return None
    bucket = buckets[index]
    size = bucket.hi - bucket.lo
    # The sibling is the other half of the parent range [lo & ~size, +2*size).
    if bucket.lo % (2 * size) == 0:
        sib_index = index + 1
    else:
        sib_index = index - 1
    if not 0 <= sib_index < len(buckets):
        return None
    sibling = buckets[sib_index]
    if sibling.hi - sibling.lo != size:
        return None
    if len(bucket.entries) + len(sibling.entries) > k:
        return None
    first, second = sorted((bucket, sibling), key=lambda b: b.lo)
    merged = KBucket(
        first.lo,
        second.hi,
        max(first.last_accessed, second.last_accessed),
        sorted(first.entries + second.entries, key=age_order),
    )
    low = min(index, sib_index)
    buckets[low : low + 2] = [merged]
    del los[low + 1]
    return low, first, second, merged


def closest(
    buckets: list[KBucket], home: list[Entry], key: int, count: int, answered_only: bool
) -> list[Entry]:
    """The ``count`` entries closest to ``key``, closest first; ``home``: the entries
    of the bucket holding ``key``; ``answered_only``: only those that answered us."""
    # Buckets are aligned power-of-two ranges, so the XOR distances of one
    # bucket's ids to the target form an interval [lo ^ key with the low
    # bits cleared, + size) disjoint from every other bucket's.  Walk the
    # buckets by that lower bound and stop once ``count`` are gathered.
    if answered_only:
        home = [e for e in home if e.last_seen is not None]
    if len(home) >= count:  # the target's own bucket is the closest interval
        return sorted(home, key=lambda e: e.key ^ key)[:count]
    order = sorted(buckets, key=lambda b: (b.lo ^ key) & -(b.hi - b.lo))
    out: list[Entry] = []
    for b in order:
        entries = [e for e in b.entries if e.last_seen is not None] if answered_only else b.entries
        if not entries:
            continue
        if len(entries) > 1:
            entries = sorted(entries, key=lambda e: e.key ^ key)
        out.extend(entries[: count - len(out)])
        if len(out) >= count:
            break
    return out
