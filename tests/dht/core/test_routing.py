"""The routing table, sans-IO: splits, pings of stale contacts, failures, merges,
the replacement cache, never-answered contacts and the address limits (fake clock)."""

from __future__ import annotations

import random
from collections import Counter
from unittest.mock import ANY

from hypothesis import given, settings
from hypothesis import strategies as st

from dht.core.contact import Contact
from dht.core.khash import ID_SPACE, int_to_id
from dht.events import (
    BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRefreshed, ContactRemoved, ContactReplaced,
)
from dht.core.events import EventBus
from dht.core.routing import ANSWERED_INSTEAD, NULL_ID, PingOldest, RoutingTable, subnet_of

HALF = ID_SPACE // 2
QUARTER = ID_SPACE // 4
INTERVAL = 900.0


# What the table reports are dht.events; these build the expected ones at any time
# (the time is the `now` given: test_events_carry_the_time_the_table_was_given).


def Added(contact: Contact, lo: int, hi: int) -> ContactAdded:
    return ContactAdded(ANY, contact, (lo, hi))


def Refreshed(contact: Contact) -> ContactRefreshed:
    return ContactRefreshed(ANY, contact)


def Failed(contact: Contact, failures: int) -> ContactFailed:
    return ContactFailed(ANY, contact, failures)


def Removed(contact: Contact, reason: str) -> ContactRemoved:
    return ContactRemoved(ANY, contact, reason)


def Replaced(old: Contact, new: Contact) -> ContactReplaced:
    return ContactReplaced(ANY, old, new)


def Split(lo: int, mid: int, hi: int) -> BucketSplit:
    return BucketSplit(ANY, lo, mid, hi)


def Merged(lo: int, mid: int, hi: int) -> BucketsMerged:
    return BucketsMerged(ANY, lo, mid, hi)


def c(n: int, port: int | None = None, host: str = "127.0.0.1") -> Contact:
    """A contact whose id is the integer ``n``."""
    return Contact(int_to_id(n), host, port if port is not None else 1000 + n % 60000)


def ip(n: int) -> str:
    """A routable address of its own /24 for each ``n`` (so no address limit applies)."""
    return f"10.{(n >> 8) & 255}.{n & 255}.1"


def ids(table: RoutingTable) -> set[int]:
    return {int.from_bytes(x.id, "big") for x in table.contacts()}


def cached_ids(table: RoutingTable) -> set[int]:
    return {e.key for b in table.buckets for e in b.replacements}


def ranges(table: RoutingTable) -> list[tuple[int, int]]:
    return [(b.lo, b.hi) for b in table.buckets]


def table(k: int = 2, own: int = 0, max_failures: int = 3, replacements: int = 4) -> RoutingTable:
    """A table without address limits (its contacts share 127.0.0.1)."""
    return RoutingTable(int_to_id(own), k=k, max_failures=max_failures, min_ping_interval=INTERVAL,
                        replacements=replacements, max_per_ip=None, max_per_subnet=None)


def limited(k: int = 8, own: int = 0, per_ip: int = 1, per_subnet: int = 1,
            exempt: str | None = None) -> RoutingTable:
    t = RoutingTable(int_to_id(own), k=k, min_ping_interval=INTERVAL,
                     max_per_ip=per_ip, max_per_subnet=per_subnet)
    t.exempt(exempt)
    return t


def check_invariants(t: RoutingTable) -> None:
    assert t.buckets[0].lo == 0 and t.buckets[-1].hi == ID_SPACE
    for a, b in zip(t.buckets, t.buckets[1:]):
        assert a.hi == b.lo
    assert t._los == [b.lo for b in t.buckets]
    own_bucket = t.bucket_for(t.own_id)
    hosts: Counter[str] = Counter()
    for b in t.buckets:
        size = b.hi - b.lo
        assert size > 0 and size & (size - 1) == 0, "size is a power of two"
        assert b.lo % size == 0, "bucket is aligned"
        assert len(b.entries) <= t.k
        assert len(b.replacements) <= t.replacements
        if b.replacements:
            assert len(b.entries) == t.k, "a contact waits only while its bucket is full"
        keys = [e.key for e in b.entries + b.replacements]
        assert len(set(keys)) == len(keys), "an id is in a bucket or its cache, once"
        answered = [e.answered for e in b.entries]
        assert answered == sorted(answered), "never-answered contacts first"
        seen = [e.last_seen for e in b.entries if e.last_seen is not None]
        assert seen == sorted(seen), "then oldest first"
        for e in b.entries + b.replacements:
            assert b.lo <= e.key < b.hi
            assert e.key == int.from_bytes(e.contact.id, "big")
            assert e.contact.id not in (t.own_id, NULL_ID)
            if e.contact.host != t.exempt_host:
                hosts[e.contact.host] += 1
        if t.max_per_subnet is not None:
            subnets = Counter(subnet_of(e.contact.host) for e in b.entries + b.replacements
                              if e.contact.host != t.exempt_host)
            assert all(n <= t.max_per_subnet for n in subnets.values())
        assert own_bucket.hi - own_bucket.lo <= size, "own bucket is the smallest"
    assert t.hosts() == dict(hosts), "the per-address counts are exact"
    assert len(t) == sum(len(b.entries) for b in t.buckets), "the count of contacts is kept"
    if t.max_per_ip is not None:
        assert all(n <= t.max_per_ip for n in hosts.values())
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
    splits = [r for r in reports if isinstance(r, BucketSplit)]
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
    assert t.insert(c(HALF + 3), 2.0) == []  # not stale yet: no ping, not added...
    assert ranges(t) == before
    assert HALF + 3 not in ids(t)
    assert t.cached(int_to_id(HALF + 3)) is not None  # ...but it waits for a place


def test_ping_oldest_only_when_stale_and_once_per_interval() -> None:
    t = table(k=2, own=0)
    t.insert(c(HALF + 1), 0.0)  # oldest
    t.insert(c(HALF + 2), 10.0)
    t.insert(c(1), 10.0)  # splits: the top half is full and does not hold our id
    new = c(HALF + 3)
    assert t.insert(new, INTERVAL) == []  # oldest seen exactly INTERVAL ago: not yet
    assert t.insert(c(HALF + 4), INTERVAL + 1) == [PingOldest(c(HALF + 1), c(HALF + 4))]
    # Asked already: not again within the interval, even for another newcomer
    # (and HALF+2, seen at 10, is not stale yet).
    assert t.insert(c(HALF + 5), INTERVAL + 2) == []
    # Once HALF+2 is stale too, it is the one asked (HALF+1 was, lately).
    assert t.insert(c(HALF + 6), INTERVAL + 11) == [PingOldest(c(HALF + 2), c(HALF + 6))]
    # After another interval without an answer, HALF+1 is asked again.
    assert t.insert(c(HALF + 7), 2 * INTERVAL + 2) == [PingOldest(c(HALF + 1), c(HALF + 7))]
    assert ids(t) == {HALF + 1, HALF + 2, 1}


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
    assert t.insert(c(HALF + 4), now) == [PingOldest(c(HALF + 2), c(HALF + 4))]


def test_replace_stale_puts_the_newcomer_in_place_of_the_oldest() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 0.0)
    new = c(HALF + 3)
    [ping] = t.insert(new, INTERVAL + 1)
    assert isinstance(ping, PingOldest)
    t.insert(c(HALF + 4), INTERVAL + 2)  # another newcomer, cached later
    assert t.replace_stale(ping.oldest, ping.new, INTERVAL + 5) == [Replaced(c(HALF + 1), new)]
    assert ids(t) == {HALF + 2, HALF + 3, 1}
    top = t.bucket_for(new.id)
    assert top.entries[-1].contact == new and top.entries[-1].last_seen == INTERVAL + 1
    assert cached_ids(t) == {HALF + 4}
    check_invariants(t)


def test_replace_stale_after_the_oldest_left_still_places_the_newcomer() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 0.0)
    assert t.insert(c(HALF + 3), INTERVAL + 1) == [PingOldest(c(HALF + 1), c(HALF + 3))]
    t.insert(c(HALF + 4), INTERVAL + 2)  # a later newcomer must not jump the queue
    # The pinged contact is removed first (say it answered with another id):
    # the newcomer waiting on that ping takes the place.
    assert t.remove(int_to_id(HALF + 1), "answered with another id", 0.0) == [
        Removed(c(HALF + 1), "answered with another id"), Added(c(HALF + 3), HALF, ID_SPACE),
    ]
    # The ping's failure then changes nothing more.
    assert t.replace_stale(c(HALF + 1), c(HALF + 3), INTERVAL + 3) == []
    assert ids(t) == {HALF + 2, HALF + 3, 1} and cached_ids(t) == {HALF + 4}
    check_invariants(t)


def test_replace_stale_without_a_newcomer_removes_the_oldest() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 0.0)
    assert t.replace_stale(c(HALF + 9), c(HALF + 3), 5.0) == []  # old is not there
    # A contact at another address than the one pinged is not the one that failed.
    assert t.replace_stale(c(HALF + 1, port=7), c(HALF + 3), 5.0) == []
    reports = t.replace_stale(c(HALF + 1), c(HALF + 3), 5.0)  # nobody waiting
    assert reports == [Removed(c(HALF + 1), "did not answer a ping"), Merged(0, HALF, ID_SPACE)]
    assert ids(t) == {HALF + 2, 1}


def test_known_contact_is_refreshed_and_moved_to_the_tail() -> None:
    t = table(k=3)
    t.insert(c(HALF + 1), 1.0)
    t.insert(c(HALF + 2), 2.0)
    moved = c(HALF + 1, port=4242)
    assert t.insert(moved, 3.0) == [Refreshed(moved)]  # it answered at its new address
    [bucket] = t.buckets
    assert [e.key for e in bucket.entries] == [HALF + 2, HALF + 1]
    assert bucket.entries[-1].contact.port == 4242 and bucket.entries[-1].last_seen == 3.0
    # An uncontacted sighting neither refreshes nor reorders...
    assert t.insert(c(HALF + 2), 4.0, contacted=False) == []
    assert [e.key for e in bucket.entries] == [HALF + 2, HALF + 1]
    assert bucket.entries[0].last_seen == 2.0
    # ...nor moves the contact: a query never changes a known contact's address.
    assert t.insert(c(HALF + 2, port=5555), 5.0, contacted=False) == []
    assert bucket.entries[0].contact == c(HALF + 2)


def test_seen_records_rtt_and_ignores_unknown_ids() -> None:
    t = table(k=3)
    t.insert(c(7), 1.0)
    assert t.seen(int_to_id(8), 2.0) == []
    t.seen(int_to_id(7), 2.0, rtt=0.2)
    entry = t.get(int_to_id(7))
    assert entry is not None and entry.rtt == 0.2
    t.seen(int_to_id(7), 3.0, rtt=0.6)
    assert entry.rtt is not None and abs(entry.rtt - (0.75 * 0.2 + 0.25 * 0.6)) < 1e-12


# --- never-answered contacts and the replacement cache ------------------------

def top_full(t: RoutingTable, contacted: bool, now: float = 0.0, base: int = HALF + 1) -> list[Contact]:
    """Fill [HALF, 2^160) (own id 0) with K contacts; split off first with one in [0, HALF)."""
    t.insert(c(1), now)
    out = [c(base + i) for i in range(t.k)]
    for x in out:
        t.insert(x, now, contacted=contacted)
    if len(t.buckets) == 1:
        t.insert(c(2), now)
    assert ranges(t)[-1] == (HALF, ID_SPACE) and len(t.bucket_for(out[0].id).entries) == t.k
    return out


def test_never_answered_contacts_count_as_the_oldest() -> None:
    t = table(k=3)
    t.insert(c(HALF + 1), 5.0)  # answered
    t.insert(c(HALF + 2), 6.0, contacted=False)  # a query's sender
    t.insert(c(HALF + 3), 7.0, contacted=False)
    [bucket] = t.buckets
    assert [e.key for e in bucket.entries] == [HALF + 2, HALF + 3, HALF + 1]
    assert [e.last_seen for e in bucket.entries] == [None, None, 5.0]
    # An answer makes it answered and the freshest.
    t.insert(c(HALF + 2), 8.0)
    assert [e.key for e in bucket.entries] == [HALF + 3, HALF + 1, HALF + 2]
    assert bucket.entries[-1].answered and not bucket.entries[0].answered


def test_an_answered_newcomer_takes_the_place_of_a_never_answered_one_at_once() -> None:
    t = table(k=2, own=0)
    dead = top_full(t, contacted=False)
    # No MIN_PING_INTERVAL to wait: the newcomer answered, the others never did.
    new = c(HALF + 50)
    assert t.insert(new, 1.0) == [Removed(dead[0], ANSWERED_INSTEAD), Added(new, HALF, ID_SPACE)]
    assert t.insert(c(HALF + 51), 1.0) == [
        Removed(dead[1], ANSWERED_INSTEAD), Added(c(HALF + 51), HALF, ID_SPACE)]
    assert {e.key for e in t.bucket_for(new.id).entries} == {HALF + 50, HALF + 51}
    # The displaced ones wait in the cache (they may yet answer), the newest first to stay.
    assert cached_ids(t) == {HALF + 1, HALF + 2}
    check_invariants(t)


def test_a_full_bucket_pings_a_never_answered_contact_without_waiting() -> None:
    t = table(k=2, own=0)
    dead = top_full(t, contacted=False)
    newcomer = c(HALF + 50)
    # A newcomer that never answered either waits, and the oldest is pinged now...
    assert t.insert(newcomer, 1.0, contacted=False) == [PingOldest(dead[0], newcomer)]
    # ...the next newcomer has the next one pinged (the first is being asked).
    assert t.insert(c(HALF + 51), 1.5, contacted=False) == [PingOldest(dead[1], c(HALF + 51))]
    # The ping fails: the contact is removed at its first failure and the
    # newcomer waiting on that very ping takes its place.
    reports = t.failed(dead[0].id, 0.0)
    assert reports == [Failed(dead[0], 1), Removed(dead[0], "never answered"),
                       Added(newcomer, HALF, ID_SPACE)]
    assert t.replace_stale(dead[0], newcomer, 21.0) == []  # nothing more to do
    assert ids(t) == {1, HALF + 2, HALF + 50}
    check_invariants(t)


def test_a_cached_contact_that_answers_takes_a_never_answered_place() -> None:
    t = table(k=2, own=0)
    dead = top_full(t, contacted=False)
    t.insert(c(HALF + 50), 1.0, contacted=False)  # waits
    assert t.cached(int_to_id(HALF + 50)) is not None
    assert t.seen(int_to_id(HALF + 50), 2.0, rtt=0.1) == [
        Removed(dead[0], ANSWERED_INSTEAD), Added(c(HALF + 50), HALF, ID_SPACE)]
    entry = t.get(int_to_id(HALF + 50))
    assert entry is not None and entry.last_seen == 2.0 and entry.rtt == 0.1
    check_invariants(t)


def test_the_cache_is_bounded_and_drops_never_answered_ones_first() -> None:
    t = table(k=2, own=0, replacements=2)
    top_full(t, contacted=True)
    t.insert(c(HALF + 50), 1.0)  # answered
    t.insert(c(HALF + 51), 1.0, contacted=False)
    t.insert(c(HALF + 52), 1.0)  # answered: the never-answered one goes
    assert cached_ids(t) == {HALF + 50, HALF + 52}
    t.insert(c(HALF + 53), 1.0)  # all answered: the oldest goes
    assert cached_ids(t) == {HALF + 52, HALF + 53}
    check_invariants(t)


def test_a_removal_fills_the_place_from_the_cache_best_first() -> None:
    t = table(k=2, own=0)
    full = top_full(t, contacted=True)
    t.insert(c(HALF + 50), 1.0, contacted=False)
    t.insert(c(HALF + 51), 2.0)  # answered: preferred
    t.insert(c(HALF + 52), 3.0, contacted=False)
    assert t.remove(full[0].id, "x", 0.0) == [Removed(full[0], "x"), Added(c(HALF + 51), HALF, ID_SPACE)]
    assert t.remove(full[1].id, "x", 0.0) == [Removed(full[1], "x"), Added(c(HALF + 52), HALF, ID_SPACE)]
    check_invariants(t)


def test_a_failure_or_wrong_answer_at_another_address_is_not_the_contacts() -> None:
    # Someone handing out an honest id at a wrong address must not get it removed.
    t = table(k=3)
    honest = c(HALF + 1)
    t.insert(honest, 1.0, contacted=False)
    elsewhere = ("127.0.0.9", 9)
    assert t.failed(honest.id, 0.0, elsewhere) == []
    assert t.remove(honest.id, "answered with another id", 0.0, elsewhere) == []
    assert t.get(honest.id) is not None and t.get(honest.id).failures == 0  # type: ignore[union-attr]
    assert t.failed(honest.id, 0.0, honest.address)[-1] == Removed(honest, "never answered")


def test_find_compact_hands_out_only_contacts_that_answered() -> None:
    t = table(k=4)
    t.insert(c(HALF + 1), 1.0)
    t.insert(c(HALF + 2), 1.0, contacted=False)
    t.insert(c(HALF + 3), 1.0, contacted=False)
    target = int_to_id(HALF + 2)
    assert t.find_nodes(target)[0] == c(HALF + 2)  # our own lookups start from all of them
    assert t.find_compact(target) == [c(HALF + 1).compact()]
    t.insert(c(HALF + 3), 2.0)  # it answered
    assert sorted(t.find_compact(target)) == sorted([c(HALF + 1).compact(), c(HALF + 3).compact()])
    assert [e.contact for e in t.closest_entries(target, answered_only=True)] == [c(HALF + 3), c(HALF + 1)]


def test_load_inserts_never_answered_contacts_and_asks_for_no_ping() -> None:
    t = table(k=2, own=0)
    saved = [c(1), c(2), c(HALF + 1), c(HALF + 2), c(HALF + 3), c(HALF + 4)]
    reports = t.load(saved, 0.0)
    assert not any(isinstance(r, PingOldest) for r in reports)
    assert all(not e.answered for b in t.buckets for e in b.entries)
    # The cached ones were not marked as pinged: a newcomer has one pinged at once.
    new = c(HALF + 9)
    assert t.insert(new, 1.0, contacted=False) == [PingOldest(c(HALF + 1), new)]
    check_invariants(t)


def test_null_id_is_never_inserted() -> None:
    t = table(k=3)
    assert t.insert(Contact(NULL_ID, "127.0.0.1", 5), 1.0) == []
    assert t.insert(Contact(NULL_ID, "127.0.0.1", 5), 1.0, contacted=False) == []
    assert len(t) == 0


def test_restart_onto_a_dead_network_answers_with_live_contacts_within_seconds() -> None:
    """Fake clock: the table of a restarted node is full of saved contacts that are all
    dead (they time out only after KRPC_TIMEOUT, 20 s); the node meets the live
    network through its lookups.  Within 10 s its answers hold only live contacts,
    K of them wherever it has K live ones."""
    rng = random.Random(3)
    own = rng.getrandbits(160)
    t = RoutingTable(int_to_id(own), k=8, min_ping_interval=INTERVAL)
    t.exempt("127.0.0.1")
    dead = [c(near(own, rng.getrandbits(160), rng.randrange(0, 12))) for _ in range(300)]
    t.load(dead, 0.0)
    assert len(t) > 60
    dead_ids = {x.id for x in dead}
    alive = [c(rng.getrandbits(160)) for _ in range(400)] + [
        c(near(own, rng.getrandbits(160), rng.randrange(5, 14))) for _ in range(60)]
    alive_ids = {x.id for x in alive}
    # The node's lookups: every 50 ms one lookup asks 4 contacts, some from the
    # table (live ones answer at once, dead ones stay silent) and some live ones
    # learned from answers; each answer is an insert as contacted.
    now = 0.0
    met: set[int] = set()
    while now < 10.0:
        now += 0.05
        target = rng.getrandbits(160)
        asked = t.find_nodes(int_to_id(target), 2) + rng.sample(alive, 2)
        for x in asked:
            if x.id in alive_ids:
                met.add(int.from_bytes(x.id, "big"))
                for r in t.insert(x, now, rtt=0.01):
                    if isinstance(r, PingOldest) and r.oldest.id in alive_ids:
                        t.seen(r.oldest.id, now, rtt=0.01)
    check_invariants(t)
    for _ in range(200):
        target = int_to_id(rng.getrandbits(160) if rng.random() < 0.5 else near(own, rng.getrandbits(160), 12))
        handed = [Contact.from_compact(x) for x in t.find_compact(target)]
        assert handed and all(x.id in alive_ids for x in handed)
        assert not any(x.id in dead_ids for x in handed)
        live_known = [x for x in t.contacts() if x.id in alive_ids]
        assert len(handed) == min(8, len(live_known))
    # Every bucket where the node met K live nodes holds live contacts only.
    for b in t.buckets:
        if sum(1 for n in met if b.covers(n)) >= 8:
            assert len(b.entries) == 8 and all(e.answered for e in b.entries)


# --- the address limits -------------------------------------------------------

def test_one_contact_per_ip_in_the_whole_table() -> None:
    t = limited(k=8)
    assert t.insert(c(HALF + 1, host="10.0.0.1"), 1.0) != []
    # Another id on that IP (another port too) is refused, in any bucket...
    assert t.insert(c(HALF + 2, host="10.0.0.1", port=7), 1.0) == []
    assert t.insert(c(5, host="10.0.0.1"), 1.0, contacted=False) == []
    # ...and so are made-up ids by the thousand from one address.
    rng = random.Random(1)
    for _ in range(2000):
        t.insert(Contact(int_to_id(rng.getrandbits(160)), "10.9.9.9", 4000), 1.0, contacted=False)
    assert len(t) == 2 and t.hosts() == {"10.0.0.1": 1, "10.9.9.9": 1}
    # Once the IP's contact has gone, another may come.
    t.remove(int_to_id(HALF + 1), "x", 0.0)
    assert t.insert(c(HALF + 2, host="10.0.0.1", port=7), 2.0) != []
    check_invariants(t)


def test_a_contact_that_answers_takes_the_ip_of_one_that_never_did() -> None:
    """A restarted host on another port: its saved contact never answers again."""
    t = limited(k=8)
    t.load([c(HALF + 1, host="10.0.0.1", port=1000)], 1.0)  # saved: never answered
    # A query from another id at that IP proves nothing: refused.
    assert t.insert(c(HALF + 2, host="10.0.0.1", port=2000), 2.0, contacted=False) == []
    # An answer to our own request at the new port does: it takes the IP's place.
    reports = t.insert(c(HALF + 2, host="10.0.0.1", port=2000), 3.0, contacted=True)
    assert [type(r).__name__ for r in reports] == ["ContactRemoved", "ContactAdded"]
    assert t.get(int_to_id(HALF + 1)) is None and t.get(int_to_id(HALF + 2)) is not None
    assert t.hosts() == {"10.0.0.1": 1}
    # One that has answered keeps its IP against a newcomer, answered or not.
    assert t.insert(c(HALF + 3, host="10.0.0.1", port=3000), 4.0, contacted=True) == []
    assert t.get(int_to_id(HALF + 2)) is not None
    check_invariants(t)


def test_cached_contacts_count_for_their_ip() -> None:
    t = limited(k=2, exempt="127.0.0.1")
    top_full(t, contacted=True)  # on the exempt host
    t.insert(c(HALF + 50, host="10.0.0.1"), 1.0)
    assert t.cached(int_to_id(HALF + 50)) is not None
    assert t.insert(c(3, host="10.0.0.1"), 1.0) == []  # the IP is taken by a cached contact
    check_invariants(t)


def test_at_most_n_per_subnet_in_one_bucket() -> None:
    t = limited(k=8, per_ip=1, per_subnet=2)
    assert t.insert(c(HALF + 1, host="10.0.0.1"), 1.0) != []
    assert t.insert(c(HALF + 2, host="10.0.0.2"), 1.0) != []
    assert t.insert(c(HALF + 3, host="10.0.0.3"), 1.0) == []  # a third of 10.0.0/24
    assert t.insert(c(HALF + 4, host="10.0.1.3"), 1.0) != []  # another /24
    # Loopback addresses are a /24 each (all of 127/8 is this machine: a lab).
    for n in range(5):
        assert t.insert(c(QUARTER + n, host=f"127.0.0.{n + 2}"), 1.0) != []
    check_invariants(t)
    # In another bucket the /24 may have its own two.
    t2 = limited(k=2, per_subnet=1, exempt="127.0.0.1")
    top_full(t2, contacted=True)  # [0, HALF) holds 1 and 2; [HALF, 2^160) is full
    assert t2.insert(c(HALF + 60, host="10.0.0.1"), 1.0) == []  # cached in the top bucket
    assert t2.insert(c(HALF + 61, host="10.0.0.2"), 1.0) == []
    assert t2.cached(int_to_id(HALF + 61)) is None  # refused: 10.0.0/24 waits there already
    assert t2.insert(c(7, host="10.0.0.2"), 1.0) != []  # the low bucket is another bucket
    check_invariants(t2)


def test_the_exempt_host_and_no_limit_are_explicit() -> None:
    t = limited(k=8, exempt="127.0.0.1")
    for n in range(6):
        assert t.insert(c(HALF + n), 1.0) != []  # all on 127.0.0.1, our own address
    assert t.insert(c(QUARTER + 1, host="127.0.0.2", port=1), 1.0) != []
    assert t.insert(c(QUARTER + 2, host="127.0.0.2", port=2), 1.0) == []  # another host: one
    off = RoutingTable(int_to_id(0), k=8, max_per_ip=None, max_per_subnet=None)
    for n in range(6):
        assert off.insert(c(HALF + n, host="10.0.0.1", port=n), 1.0) != []
    assert off.hosts() == {"10.0.0.1": 6}
    t.exempt(None)  # counts follow a change of the exempt host
    assert t.hosts() == {"127.0.0.1": 6, "127.0.0.2": 1}


def test_a_move_keeps_to_the_address_limits() -> None:
    t = limited(k=8)
    t.insert(c(HALF + 1, host="10.0.0.1"), 1.0)
    t.insert(c(HALF + 2, host="10.0.1.1"), 1.0)
    # HALF+1 answers at 10.0.1.1, taken by HALF+2 at another port: it stays where it was.
    assert t.insert(c(HALF + 1, host="10.0.1.1", port=9), 2.0) == []
    assert t.get(int_to_id(HALF + 1)).contact.host == "10.0.0.1"  # type: ignore[union-attr]
    # A move to a free address, or to another port on its own IP, is fine.
    assert t.insert(c(HALF + 1, host="10.0.0.1", port=9), 3.0) == [Refreshed(c(HALF + 1, host="10.0.0.1", port=9))]
    assert t.insert(c(HALF + 1, host="10.0.2.1"), 4.0) == [Refreshed(c(HALF + 1, host="10.0.2.1"))]
    assert t.hosts() == {"10.0.2.1": 1, "10.0.1.1": 1}
    check_invariants(t)


def test_an_address_answering_with_a_new_id_drops_the_id_known_there() -> None:
    t = limited(k=8)
    old = c(HALF + 1, host="10.0.0.1")
    t.insert(old, 1.0)
    restarted = c(HALF + 2, host="10.0.0.1", port=old.port)
    assert t.insert(restarted, 2.0, contacted=False) == []  # a query proves nothing
    assert t.insert(restarted, 3.0) == [
        Removed(old, "its address answers with another id"), Added(restarted, 0, ID_SPACE),
    ]
    check_invariants(t)


# --- failures and merges ------------------------------------------------------

def test_failed_counts_and_removes_after_max_failures() -> None:
    t = table(k=3, max_failures=3)
    x = c(HALF + 1)
    t.insert(x, 1.0)
    assert t.failed(x.id, 0.0) == [Failed(x, 1)]
    assert t.failed(x.id, 0.0) == [Failed(x, 2)]
    assert x.id in {y.id for y in t.contacts()}
    reports = t.failed(x.id, 0.0)
    assert reports[0] == Failed(x, 3)
    assert isinstance(reports[1], ContactRemoved) and reports[1].contact == x
    assert t.get(x.id) is None and len(t) == 0
    assert t.failed(x.id, 0.0) == []


def test_an_answer_resets_the_failure_count() -> None:
    t = table(k=3, max_failures=3)
    x = c(HALF + 1)
    t.insert(x, 1.0)
    t.failed(x.id, 0.0)
    t.failed(x.id, 0.0)
    t.seen(x.id, 2.0)
    assert t.failed(x.id, 0.0) == [Failed(x, 1)]
    assert t.failed(x.id, 0.0) == [Failed(x, 2)]
    assert t.get(x.id) is not None


def test_siblings_merge_when_a_removal_lets_them_fit() -> None:
    t = table(k=2, own=0)
    for n in (HALF + 1, HALF + 2, 1):
        t.insert(c(n), 1.0)
    assert ranges(t) == [(0, HALF), (HALF, ID_SPACE)]
    reports = t.remove(int_to_id(HALF + 1), "test", 0.0)
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
    assert t.remove(int_to_id(HALF + 1), "x", 0.0) == [Removed(c(HALF + 1), "x")]
    # [Q, H) and [0, Q) hold 2 + 1 > K: no merge.
    t.insert(c(2), 1.0)
    assert t.remove(int_to_id(QUARTER + 1), "x", 0.0) == [Removed(c(QUARTER + 1), "x")]
    assert len(t.buckets) == 3
    # Now [0, Q) holds 1, 2 and [Q, H) holds Q+2: removing 2 lets them merge,
    # and the merged [0, H) (1, Q+2) with [H, 2H) (H+2) is 3 > K: stop there.
    reports = t.remove(int_to_id(2), "x", 0.0)
    assert reports == [Removed(c(2), "x"), Merged(0, QUARTER, HALF)]
    assert ranges(t) == [(0, HALF), (HALF, ID_SPACE)]
    check_invariants(t)


def test_merges_cascade_up_the_tree() -> None:
    t = table(k=3, own=0)
    for n in (HALF + 1, HALF + 2, HALF + 3, QUARTER + 1, QUARTER + 2, QUARTER + 3, 1):
        t.insert(c(n), 1.0)
    assert ranges(t) == [(0, QUARTER), (QUARTER, HALF), (HALF, ID_SPACE)]
    for n in (HALF + 1, HALF + 2, HALF + 3):
        assert not any(isinstance(r, BucketsMerged) for r in t.remove(int_to_id(n), "x", 0.0))
    reports = t.remove(int_to_id(QUARTER + 1), "x", 0.0)
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
    t.failed(int_to_id(HALF + 2), 0.0)
    reports = t.failed(int_to_id(HALF + 2), 0.0)
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
    st.sampled_from(["insert", "insert", "insert", "uncontacted", "failed", "remove", "seen", "load"]),
    st.integers(min_value=0, max_value=160),  # shared prefix with own id (for insert)
    st.integers(min_value=0, max_value=(1 << 160) - 1),  # bits / choice
    st.floats(min_value=0, max_value=5000, allow_nan=False),  # time step
)


@settings(max_examples=200, deadline=None, database=None)
@given(
    k=st.integers(min_value=2, max_value=4),
    own=st.integers(min_value=0, max_value=(1 << 160) - 1),
    ops=st.lists(operation, max_size=120),
    restrict=st.booleans(),
)
def test_random_use_keeps_the_invariants(k: int, own: int, ops: list, restrict: bool) -> None:  # type: ignore[type-arg]
    t = RoutingTable(int_to_id(own), k=k, max_failures=2, min_ping_interval=INTERVAL, replacements=2,
                     max_per_ip=2 if restrict else None, max_per_subnet=1 if restrict else None)
    t.exempt("127.0.0.1")
    now = 0.0
    model: set[int] = set()  # the ids in the buckets, as the reports tell
    for kind, prefix, bits, step in ops:
        now += step
        if kind in ("insert", "uncontacted", "load"):
            n = near(own, bits, prefix)
            # A few hosts, so that the address limits bite: the exempt one, a
            # shared /24, loopback addresses (each its own /24).
            host = ("127.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.1.1", "127.0.0.2", "127.0.0.3")[bits % 6]
            contact = c(n, port=1000 + bits % 5, host=host)
            if kind == "load":
                reports = t.load([contact], now)
                assert not any(isinstance(r, PingOldest) for r in reports)
            else:
                reports = t.insert(contact, now, contacted=kind == "insert")
            if n == own:
                assert reports == []
            for r in reports:
                if isinstance(r, PingOldest):
                    entry = t.get(r.oldest.id)
                    assert entry is not None
                    assert entry.last_seen is None or now - entry.last_seen > INTERVAL
                    assert t.cached(r.new.id) is not None or t.get(r.new.id) is None
                    if bits % 2:
                        reports = reports + t.replace_stale(r.oldest, r.new, now)
        elif model:
            victim = sorted(model)[bits % len(model)]
            if kind == "failed":
                reports = t.failed(int_to_id(victim), now)
            elif kind == "remove":
                reports = t.remove(int_to_id(victim), "test", now)
                assert reports[0] == Removed(reports[0].contact, "test")  # type: ignore[union-attr]
            else:
                reports = t.seen(int_to_id(victim), now)
                entry = t.get(int_to_id(victim))
                assert entry is not None and entry.last_seen == now
        else:
            reports = []
        for r in reports:
            if isinstance(r, ContactAdded):
                model.add(int.from_bytes(r.contact.id, "big"))
                assert r.bucket[0] <= int.from_bytes(r.contact.id, "big") < r.bucket[1]
            elif isinstance(r, ContactRemoved):
                model.discard(int.from_bytes(r.contact.id, "big"))
            elif isinstance(r, ContactReplaced):
                model.discard(int.from_bytes(r.old.id, "big"))
                model.add(int.from_bytes(r.new.id, "big"))
            elif isinstance(r, BucketSplit):
                assert r.mid == (r.lo + r.hi) // 2
        check_invariants(t)
        assert ids(t) == model, "the reports tell every change of the buckets"
        assert len(t) == len(model)
        # find_nodes agrees with a brute-force sort, for targets near and far,
        # and find_compact with the same over the answered contacts.
        target = near(own, bits ^ (bits >> 7), prefix)
        count = 1 + bits % (2 * k + 1)
        expected = sorted(model, key=lambda n: n ^ target)[:count]
        assert [int.from_bytes(x.id, "big") for x in t.find_nodes(int_to_id(target), count)] == expected
        answered = [n for n in model if t.get(int_to_id(n)).answered]  # type: ignore[union-attr]
        handed = {Contact.from_compact(x).id for x in t.find_compact(int_to_id(target), count)}
        assert handed == {int_to_id(n) for n in sorted(answered, key=lambda n: n ^ target)[:count]}


def test_events_carry_the_time_the_table_was_given() -> None:
    """The table reports with dht.events stamped with its `now`, never a clock of its own."""
    t = RoutingTable(int_to_id(0), 2, 3, INTERVAL, now=0.0)
    assert t.insert(c(HALF + 1, host=ip(1)), 10.0) == [ContactAdded(10.0, c(HALF + 1, host=ip(1)), (0, ID_SPACE))]
    t.insert(c(HALF + 2, host=ip(2)), 11.0)
    split = t.insert(c(3, host=ip(3)), 12.0)
    assert split[0] == BucketSplit(12.0, 0, HALF, ID_SPACE) and all(r.time == 12.0 for r in split)  # type: ignore[union-attr]
    assert t.seen(int_to_id(HALF + 1), 13.0) == [ContactRefreshed(13.0, c(HALF + 1, host=ip(1)))]
    assert t.failed(int_to_id(HALF + 1), 14.0) == [ContactFailed(14.0, c(HALF + 1, host=ip(1)), 1)]
    removed = t.remove(int_to_id(HALF + 2), "gone", 15.0)
    assert removed[0] == ContactRemoved(15.0, c(HALF + 2, host=ip(2)), "gone")
    assert all(r.time == 15.0 for r in removed)  # type: ignore[union-attr]
    assert any(isinstance(r, BucketsMerged) for r in removed)  # 2 contacts fit one bucket again


def test_a_new_id_keeps_each_contacts_answered_state_rtt_and_failures() -> None:
    """BEP 42 id change: the contacts that fit the new table keep what we knew of them."""
    rng = random.Random(11)
    old_id = int_to_id(rng.getrandbits(160))
    table = RoutingTable(old_id, k=8, now=0.0, replacements=2)
    for i in range(400):
        c = Contact(int_to_id(rng.getrandbits(160)), f"10.{i // 250}.{i % 250}.1", 6881)
        if i % 3:
            table.insert(c, float(i), contacted=True, rtt=0.01 * (i % 7 + 1))
        else:
            table.insert(c, float(i), contacted=False)
    before = {e.contact: (e.last_seen, e.rtt, e.rttvar, e.failures) for e in table.entries()}
    first = table.buckets[-1].entries[-1]
    table.failed(first.contact.id, 500.0)
    before[first.contact] = (first.last_seen, first.rtt, first.rttvar, 1)
    new_table = RoutingTable(old_id[:1] + bytes(b ^ 0xFF for b in old_id[1:]), k=8, now=600.0, replacements=2)
    new_table.adopt(table.entries(), 600.0)
    after = {e.contact: (e.last_seen, e.rtt, e.rttvar, e.failures) for e in new_table.entries()}
    assert after and all(after[c] == before[c] for c in after)  # nothing forgotten, nothing made up
    answered = [c for c, (seen, *_rest) in before.items() if seen is not None]
    for b in new_table.buckets:  # every place an answered contact could take, it took
        fits = sum(1 for c in answered if b.covers(int.from_bytes(c.id, "big")))
        assert sum(e.answered for e in b.entries) == min(8, fits)
    for b in new_table.buckets:  # answered contacts took the places of never-answered ones
        assert [e.answered for e in b.entries] == sorted(e.answered for e in b.entries)
        if any(not e.answered for e in b.entries):
            assert not any(e.answered for e in b.replacements)


# --- events built only for a listener ---------------------------------------------

def _state(t: RoutingTable) -> list[tuple[int, int, list[tuple[int, float | None, int, float | None]], list[int]]]:
    return [(b.lo, b.hi, [(e.key, e.last_seen, e.failures, e.rtt) for e in b.entries], [e.key for e in b.replacements])
            for b in t.buckets]


@settings(max_examples=150, deadline=None, database=None)
@given(
    own=st.integers(min_value=0, max_value=(1 << 160) - 1),
    ops=st.lists(operation, max_size=100),
    subscribe_at=st.integers(min_value=0, max_value=100),
)
def test_events_of_answers_are_built_only_for_a_listener(own: int, ops: list, subscribe_at: int) -> None:  # type: ignore[type-arg]
    """Three tables take the same calls: one without a bus (the events always built), one whose
    bus gets a listener at ``subscribe_at``, one whose bus never has one.  Their states stay the
    same; the listened table returns exactly the first's outcomes once subscribed; the silent
    one returns them less the events of answers (ContactAdded by an insert, ContactRefreshed,
    ContactFailed), never a ContactRefreshed nor a ContactFailed."""
    heard, silent = EventBus(), EventBus()
    tables = [RoutingTable(int_to_id(own), k=2, max_failures=2, min_ping_interval=INTERVAL, replacements=2,
                           listeners=bus) for bus in (None, heard, silent)]
    now = 0.0
    for step, (kind, prefix, bits, dt) in enumerate(ops):
        now += dt
        if step == subscribe_at:
            heard.subscribe(lambda event: None)
        known = sorted(e.key for e in tables[0].entries())
        victim = int_to_id(known[bits % len(known)]) if known else int_to_id(near(own, bits, prefix))
        contact = c(near(own, bits, prefix), port=1000 + bits % 5)
        results = []
        for t in tables:
            if kind in ("insert", "uncontacted", "load"):
                results.append(t.insert(contact, now, contacted=kind == "insert", rtt=0.05))
            elif kind == "failed":
                results.append(t.failed(victim, now))
            elif kind == "remove":
                results.append(t.remove(victim, "test", now))
            else:
                results.append(t.seen(victim, now, 0.1))
        always, listened, quiet = results
        assert _state(tables[0]) == _state(tables[1]) == _state(tables[2])
        assert len(tables[0]) == len(tables[1]) == len(tables[2])
        if heard.active:
            assert listened == always
        assert not any(isinstance(r, (ContactRefreshed, ContactFailed)) for r in quiet)
        rest = iter(always)  # quiet is always's with some events of answers left out
        for r in quiet:
            for s in rest:
                if s == r:
                    break
                assert isinstance(s, (ContactAdded, ContactRefreshed, ContactFailed))
            else:
                raise AssertionError(f"{r} not among {always}")
        assert all(isinstance(s, (ContactAdded, ContactRefreshed, ContactFailed)) for s in rest)
        check_invariants(tables[2])
