"""The routing table, sans-IO: splits, pings of stale contacts, failures, merges."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dht.contact import Contact
from dht.khash import ID_SPACE, int_to_id
from dht.routing import (
    Added, Failed, Merged, PingOldest, Refreshed, Removed, Replaced, RoutingTable, Split,
)

HALF = ID_SPACE // 2
QUARTER = ID_SPACE // 4
INTERVAL = 900.0


def c(n: int, port: int | None = None) -> Contact:
    """A contact whose id is the integer ``n``."""
    return Contact(int_to_id(n), "127.0.0.1", port if port is not None else 1000 + n % 60000)


def ids(table: RoutingTable) -> set[int]:
    return {int.from_bytes(x.id, "big") for x in table.contacts()}


def ranges(table: RoutingTable) -> list[tuple[int, int]]:
    return [(b.lo, b.hi) for b in table.buckets]


def table(k: int = 2, own: int = 0, max_failures: int = 3) -> RoutingTable:
    return RoutingTable(int_to_id(own), k=k, max_failures=max_failures, min_ping_interval=INTERVAL)


def check_invariants(t: RoutingTable) -> None:
    assert t.buckets[0].lo == 0 and t.buckets[-1].hi == ID_SPACE
    for a, b in zip(t.buckets, t.buckets[1:]):
        assert a.hi == b.lo
    assert t._los == [b.lo for b in t.buckets]
    own_bucket = t.bucket_for(t.own_id)
    for b in t.buckets:
        size = b.hi - b.lo
        assert size > 0 and size & (size - 1) == 0, "size is a power of two"
        assert b.lo % size == 0, "bucket is aligned"
        assert len(b.entries) <= t.k
        assert len({e.key for e in b.entries}) == len(b.entries)
        for e in b.entries:
            assert b.lo <= e.key < b.hi
            assert e.key == int.from_bytes(e.contact.id, "big")
            assert e.contact.id != t.own_id
        assert own_bucket.hi - own_bucket.lo <= size, "own bucket is the smallest"
    # Only buckets on the own id's path exist: each bucket other than the
    # own one is the sibling of a range holding the own id.
    for b in t.buckets:
        if b is own_bucket:
            continue
        size = b.hi - b.lo
        parent_lo = b.lo - b.lo % (2 * size)
        assert parent_lo <= t.own_key < parent_lo + 2 * size
        assert not b.covers(t.own_key)


# --- adding and splitting ----------------------------------------------------

def test_starts_as_one_bucket_over_the_whole_space() -> None:
    t = table()
    assert ranges(t) == [(0, ID_SPACE)]
    assert len(t) == 0 and t.contacts() == []


def test_added_reports_carry_the_bucket_range() -> None:
    t = table(k=3)
    assert t.insert(c(HALF + 1), 1.0) == [Added(c(HALF + 1), 0, ID_SPACE)]
    assert t.insert(c(5), 1.0) == [Added(c(5), 0, ID_SPACE)]
    assert ids(t) == {HALF + 1, 5}


def test_own_id_is_never_inserted() -> None:
    t = table(own=12345)
    assert t.insert(c(12345), 1.0) == []
    assert len(t) == 0
    assert t.find_nodes(int_to_id(12345)) == []


def test_full_bucket_holding_own_id_splits_and_reports_ranges() -> None:
    t = table(k=2, own=0)
    t.insert(c(HALF + 1), 1.0)
    t.insert(c(HALF + 2), 1.0)
    reports = t.insert(c(1), 1.0)
    assert reports == [Split(0, HALF, ID_SPACE), Added(c(1), 0, HALF)]
    assert ranges(t) == [(0, HALF), (HALF, ID_SPACE)]
    assert ids(t) == {HALF + 1, HALF + 2, 1}
    check_invariants(t)


def test_split_repeats_until_the_contact_fits() -> None:
    t = table(k=2, own=0)
    t.insert(c(1), 1.0)
    t.insert(c(2), 1.0)
    # 1 and 2 stay together in the own bucket while it halves, until the
    # bucket [0, 4) splits into [0, 2) holding 1 and [2, 4) holding 2, where 3 fits.
    reports = t.insert(c(3), 1.0)
    splits = [r for r in reports if isinstance(r, Split)]
    assert reports[-1] == Added(c(3), 2, 4)
    hi = ID_SPACE
    for s in splits:
        assert (s.lo, s.mid, s.hi) == (0, hi // 2, hi)
        hi //= 2
    assert hi == 2
    assert ranges(t)[:2] == [(0, 2), (2, 4)]
    assert len(t.buckets) == len(splits) + 1
    assert ids(t) == {1, 2, 3}
    check_invariants(t)


def test_full_bucket_not_holding_own_id_does_not_split() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 1.0)
    before = ranges(t)
    assert t.insert(c(HALF + 3), 2.0) == []  # not stale yet: no ping, not added
    assert ranges(t) == before
    assert HALF + 3 not in ids(t)


def test_ping_oldest_only_when_stale_and_once_per_interval() -> None:
    t = table(k=2, own=0)
    t.insert(c(HALF + 1), 0.0)  # oldest
    t.insert(c(HALF + 2), 10.0)
    t.insert(c(1), 10.0)  # splits: the top half is full and does not hold our id
    new = c(HALF + 3)
    assert t.insert(new, INTERVAL) == []  # oldest seen exactly INTERVAL ago: not yet
    assert t.insert(new, INTERVAL + 1) == [PingOldest(c(HALF + 1), new)]
    # Asked already: not again within the interval, even for another newcomer.
    assert t.insert(new, INTERVAL + 2) == []
    assert t.insert(c(HALF + 4), 2 * INTERVAL) == []
    # After another interval without an answer, ask again.
    assert t.insert(c(HALF + 4), 2 * INTERVAL + 2) == [PingOldest(c(HALF + 1), c(HALF + 4))]
    assert HALF + 3 not in ids(t) and HALF + 4 not in ids(t)


def test_seen_oldest_moves_it_to_the_tail() -> None:
    t = table(k=2, own=0)
    t.insert(c(HALF + 1), 0.0)
    t.insert(c(HALF + 2), 10.0)
    t.insert(c(1), 10.0)
    now = INTERVAL + 20
    assert t.insert(c(HALF + 3), now) == [PingOldest(c(HALF + 1), c(HALF + 3))]
    assert t.seen(int_to_id(HALF + 1), now, rtt=0.01) == [Refreshed(c(HALF + 1))]
    top = t.bucket_for(int_to_id(HALF + 1))
    assert [e.key for e in top.entries] == [HALF + 2, HALF + 1]
    # Now HALF+2 is the oldest (seen at 10): it is the one to ping.
    assert t.insert(c(HALF + 3), now) == [PingOldest(c(HALF + 2), c(HALF + 3))]


def test_replace_stale_puts_the_newcomer_in_place_of_the_oldest() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 0.0)
    new = c(HALF + 3)
    [ping] = t.insert(new, INTERVAL + 1)
    assert isinstance(ping, PingOldest)
    assert t.replace_stale(ping.oldest, ping.new, INTERVAL + 5) == [Replaced(c(HALF + 1), new)]
    assert ids(t) == {HALF + 2, HALF + 3, 1}
    top = t.bucket_for(new.id)
    assert top.entries[-1].contact == new and top.entries[-1].last_seen == INTERVAL + 5
    check_invariants(t)


def test_replace_stale_refuses_what_does_not_fit() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 0.0)
    assert t.replace_stale(c(HALF + 9), c(HALF + 3), 5.0) == []  # old is gone
    assert t.replace_stale(c(HALF + 1), c(2), 5.0) == []  # new is in another bucket
    assert t.replace_stale(c(HALF + 1), c(HALF + 2), 5.0) == []  # new is there already
    assert ids(t) == {HALF + 1, HALF + 2, 1}


def test_known_contact_is_refreshed_and_moved_to_the_tail() -> None:
    t = table(k=3)
    t.insert(c(HALF + 1), 1.0)
    t.insert(c(HALF + 2), 2.0)
    moved = c(HALF + 1, port=4242)
    assert t.insert(moved, 3.0) == [Refreshed(moved)]
    [bucket] = t.buckets
    assert [e.key for e in bucket.entries] == [HALF + 2, HALF + 1]
    assert bucket.entries[-1].contact.port == 4242 and bucket.entries[-1].last_seen == 3.0
    # An uncontacted sighting neither refreshes nor reorders.
    assert t.insert(c(HALF + 2), 4.0, contacted=False) == []
    assert [e.key for e in bucket.entries] == [HALF + 2, HALF + 1]
    assert bucket.entries[0].last_seen == 2.0


def test_seen_records_rtt_and_ignores_unknown_ids() -> None:
    t = table(k=3)
    t.insert(c(7), 1.0)
    assert t.seen(int_to_id(8), 2.0) == []
    t.seen(int_to_id(7), 2.0, rtt=0.2)
    entry = t.get(int_to_id(7))
    assert entry is not None and entry.rtt == 0.2
    t.seen(int_to_id(7), 3.0, rtt=0.6)
    assert entry.rtt is not None and abs(entry.rtt - (0.75 * 0.2 + 0.25 * 0.6)) < 1e-12


# --- failures and merges ------------------------------------------------------

def test_failed_counts_and_removes_after_max_failures() -> None:
    t = table(k=3, max_failures=3)
    x = c(HALF + 1)
    t.insert(x, 1.0)
    assert t.failed(x.id) == [Failed(x, 1)]
    assert t.failed(x.id) == [Failed(x, 2)]
    assert x.id in {y.id for y in t.contacts()}
    reports = t.failed(x.id)
    assert reports[0] == Failed(x, 3)
    assert isinstance(reports[1], Removed) and reports[1].contact == x
    assert t.get(x.id) is None and len(t) == 0
    assert t.failed(x.id) == []


def test_an_answer_resets_the_failure_count() -> None:
    t = table(k=3, max_failures=3)
    x = c(HALF + 1)
    t.insert(x, 1.0)
    t.failed(x.id)
    t.failed(x.id)
    t.seen(x.id, 2.0)
    assert t.failed(x.id) == [Failed(x, 1)]
    assert t.failed(x.id) == [Failed(x, 2)]
    assert t.get(x.id) is not None


def test_siblings_merge_when_a_removal_lets_them_fit() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 1.0)
    assert ranges(t) == [(0, HALF), (HALF, ID_SPACE)]
    reports = t.remove(int_to_id(HALF + 1), "test")
    assert reports == [Removed(c(HALF + 1), "test"), Merged(0, HALF, ID_SPACE)]
    assert ranges(t) == [(0, ID_SPACE)]
    assert ids(t) == {1, HALF + 2}
    check_invariants(t)


def test_no_merge_while_the_siblings_do_not_fit_or_differ_in_size() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, QUARTER + 1, QUARTER + 2, 1):
        t.insert(c(n), 1.0)
    # [0, Q): 1   [Q, H): Q+1, Q+2   [H, 2H): H+1, H+2
    assert ranges(t) == [(0, QUARTER), (QUARTER, HALF), (HALF, ID_SPACE)]
    # The top bucket's neighbour is half its size: no merge.
    assert t.remove(int_to_id(HALF + 1), "x") == [Removed(c(HALF + 1), "x")]
    # [Q, H) and [0, Q) hold 2 + 1 > K: no merge.
    t.insert(c(2), 1.0)
    assert t.remove(int_to_id(QUARTER + 1), "x") == [Removed(c(QUARTER + 1), "x")]
    assert len(t.buckets) == 3
    # Now [0, Q) holds 1, 2 and [Q, H) holds Q+2: removing 2 lets them merge,
    # and the merged [0, H) (1, Q+2) with [H, 2H) (H+2) is 3 > K: stop there.
    reports = t.remove(int_to_id(2), "x")
    assert reports == [Removed(c(2), "x"), Merged(0, QUARTER, HALF)]
    assert ranges(t) == [(0, HALF), (HALF, ID_SPACE)]
    check_invariants(t)


def test_merges_cascade_up_the_tree() -> None:
    t = table(k=3, own=0)
    for n in (HALF + 1, HALF + 2, HALF + 3, QUARTER + 1, QUARTER + 2, QUARTER + 3, 1):
        t.insert(c(n), 1.0)
    assert ranges(t) == [(0, QUARTER), (QUARTER, HALF), (HALF, ID_SPACE)]
    for n in (HALF + 1, HALF + 2, HALF + 3):
        assert not any(isinstance(r, Merged) for r in t.remove(int_to_id(n), "x"))
    reports = t.remove(int_to_id(QUARTER + 1), "x")
    assert reports == [
        Removed(c(QUARTER + 1), "x"), Merged(0, QUARTER, HALF), Merged(0, HALF, ID_SPACE),
    ]
    assert ranges(t) == [(0, ID_SPACE)]
    assert ids(t) == {1, QUARTER + 2, QUARTER + 3}
    # Merged entries stay ordered oldest first.
    [bucket] = t.buckets
    seen = [e.last_seen for e in bucket.entries]
    assert seen == sorted(seen)


def test_removal_by_failures_merges_too() -> None:
    t = table(k=2, own=0, max_failures=2)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 1.0)
    t.failed(int_to_id(HALF + 2))
    reports = t.failed(int_to_id(HALF + 2))
    assert reports[-1] == Merged(0, HALF, ID_SPACE)


# --- queries -------------------------------------------------------------

def test_find_nodes_returns_the_k_closest_in_xor_order() -> None:
    rng = random.Random(7)
    own = rng.getrandbits(160)
    t = table(k=8, own=own)
    for _ in range(400):
        t.insert(c(rng.getrandbits(160)), 1.0)
    check_invariants(t)
    known = t.contacts()
    assert len(known) > 8
    for i in range(100):
        # Half the targets share a long prefix with our id: there the buckets
        # are small and sparse, and the closest contacts come from several.
        bits = rng.getrandbits(160)
        target = int_to_id(bits if i % 2 else near(own, bits, rng.randrange(100, 161)))
        expected = sorted(known, key=lambda x: int.from_bytes(x.id, "big") ^ int.from_bytes(target, "big"))
        assert t.find_nodes(target) == expected[:8]
        assert t.find_nodes(target, 3) == expected[:3]
        assert t.find_nodes(target, 1000) == expected
    # An exact match comes first.
    assert t.find_nodes(known[5].id)[0] == known[5]


def test_stale_buckets_and_touch() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2):
        t.insert(c(n), 100.0)
    t.insert(c(1), 200.0)
    # The split bucket halves both keep the parent's access time; [0, H) was touched at 200.
    assert t.stale_buckets(1100.0, 950.0) == [(HALF, ID_SPACE)]
    assert t.stale_buckets(1300.0, 950.0) == [(0, HALF), (HALF, ID_SPACE)]
    t.touch(int_to_id(HALF + 77), 1250.0)
    assert t.stale_buckets(1300.0, 950.0) == [(0, HALF)]
    assert t.stale_buckets(1300.0, 5000.0) == []


# --- invariants under random use -------------------------------------------------

def near(own: int, draw_bits: int, prefix: int) -> int:
    """An id sharing ``prefix`` leading bits with ``own``."""
    if prefix >= 160:
        return own
    mask = (1 << (160 - prefix)) - 1
    return (own & ~mask) | (draw_bits & mask)


operation = st.tuples(
    st.sampled_from(["insert", "insert", "insert", "uncontacted", "failed", "remove", "seen"]),
    st.integers(min_value=0, max_value=160),  # shared prefix with own id (for insert)
    st.integers(min_value=0, max_value=(1 << 160) - 1),  # bits / choice
    st.floats(min_value=0, max_value=5000, allow_nan=False),  # time step
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    k=st.integers(min_value=2, max_value=4),
    own=st.integers(min_value=0, max_value=(1 << 160) - 1),
    ops=st.lists(operation, max_size=120),
)
def test_random_use_keeps_the_invariants(k: int, own: int, ops: list) -> None:  # type: ignore[type-arg]
    t = RoutingTable(int_to_id(own), k=k, max_failures=2, min_ping_interval=INTERVAL)
    now = 0.0
    model: set[int] = set()
    for kind, prefix, bits, step in ops:
        now += step
        if kind in ("insert", "uncontacted"):
            n = near(own, bits, prefix)
            reports = t.insert(c(n), now, contacted=kind == "insert")
            if n == own:
                assert reports == []
            for r in reports:
                if isinstance(r, Added):
                    model.add(int.from_bytes(r.contact.id, "big"))
                    assert r.lo <= int.from_bytes(r.contact.id, "big") < r.hi
                elif isinstance(r, Split):
                    assert r.mid == (r.lo + r.hi) // 2
                elif isinstance(r, PingOldest):
                    entry = t.get(r.oldest.id)
                    assert entry is not None and now - entry.last_seen > INTERVAL
                    if bits % 2:
                        t.replace_stale(r.oldest, r.new, now)
                        model.discard(int.from_bytes(r.oldest.id, "big"))
                        model.add(int.from_bytes(r.new.id, "big"))
        elif model:
            victim = sorted(model)[bits % len(model)]
            if kind == "failed":
                for r in t.failed(int_to_id(victim)):
                    if isinstance(r, Removed):
                        model.discard(victim)
            elif kind == "remove":
                t.remove(int_to_id(victim), "test")
                model.discard(victim)
            else:
                t.seen(int_to_id(victim), now)
        check_invariants(t)
        assert ids(t) == model
        assert len(t) == len(model)
        # find_nodes agrees with a brute-force sort, for targets near and far.
        target = near(own, bits ^ (bits >> 7), prefix)
        count = 1 + bits % (2 * k + 1)
        expected = sorted(model, key=lambda n: n ^ target)[:count]
        assert [int.from_bytes(x.id, "big") for x in t.find_nodes(int_to_id(target), count)] == expected
