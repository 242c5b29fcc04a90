"""The lookup state machine, driven over a simulated network in memory."""

from __future__ import annotations

import random
from typing import AbstractSet

import pytest

from dht.core.contact import Contact
from dht.core.khash import int_to_id
from dht.core.lookup import Candidate, Lookup, ValueRetrieval
from dht.core.routing import RoutingTable

K = 8
ALPHA = 4


class FakeNetwork:
    """N contacts, each with a real routing table of the others (in random order)."""

    def __init__(self, size: int, rng: random.Random) -> None:
        self.rng = rng
        self.contacts = [
            Contact(int_to_id(rng.getrandbits(160)), "127.0.0.1", 10000 + i) for i in range(size)
        ]
        self.tables: dict[bytes, RoutingTable] = {}
        for me in self.contacts:
            table = RoutingTable(me.id, k=K)
            others = [x for x in self.contacts if x is not me]
            rng.shuffle(others)
            for other in others:
                table.insert(other, 0.0)
            self.tables[me.id] = table

    def answer(self, asked: Contact, target: bytes) -> list[Contact]:
        return self.tables[asked.id].find_nodes(target)

    def true_closest(self, target: bytes, count: int = K) -> list[bytes]:
        key = int.from_bytes(target, "big")
        ranked = sorted(self.contacts, key=lambda x: int.from_bytes(x.id, "big") ^ key)
        return [x.id for x in ranked[:count]]


def drive(
    net: FakeNetwork,
    lookup: Lookup,
    dead: AbstractSet[bytes] = frozenset(),
    silent: AbstractSet[bytes] = frozenset(),
) -> tuple[int, list[Contact]]:
    """Run a lookup to its end, answering one pending request at a time in random order.

    Dead contacts fail; silent ones get a soft timeout first and answer late
    (after the lookup has moved on).  Returns the most requests ever active
    and the contacts asked, in order.
    """
    rng = net.rng
    pending: list[Contact] = []
    late: list[Contact] = []
    asked: list[Contact] = []
    most_active = 0
    steps = 0
    while not lookup.finished:
        steps += 1
        assert steps < 10_000, "lookup does not converge"
        new = lookup.next_queries()
        asked.extend(new)
        pending.extend(new)
        assert lookup.active <= lookup.concurrency
        most_active = max(most_active, lookup.active)
        assert lookup.active == sum(1 for p in pending if p.id not in {x.id for x in late})
        if not pending:
            break
        contact = pending.pop(rng.randrange(len(pending)))
        if contact.id in dead:
            lookup.failed(contact)
        elif contact.id in silent and contact not in late:
            lookup.soft_timeout(contact)
            late.append(contact)
            pending.append(contact)  # it will answer, late
        else:
            if contact in late:
                late.remove(contact)
            lookup.answered(contact, net.answer(contact, lookup.target), token=b"tok" + contact.id[:2])
    return most_active, asked


@pytest.mark.parametrize("seed", range(12))
def test_lookup_finds_the_true_k_closest(seed: int) -> None:
    rng = random.Random(seed)
    net = FakeNetwork(120, rng)
    target = int_to_id(rng.getrandbits(160))
    start = rng.sample(net.contacts, 3)
    lookup = Lookup(target, start, k=K, concurrency=ALPHA)
    most_active, asked = drive(net, lookup)
    assert [c.contact.id for c in lookup.closest_answered()] == net.true_closest(target)
    assert most_active == ALPHA  # it does ask several at once...
    assert len({c.id for c in asked}) == len(asked)  # ...and nobody twice
    assert len(asked) < len(net.contacts) // 2  # and it does not flood the network
    # Tokens of responders are kept for a later store.
    for cand in lookup.closest_answered():
        assert cand.token == b"tok" + cand.contact.id[:2]


@pytest.mark.parametrize("concurrency", [1, 2, 3, 4, 6])
def test_concurrency_never_exceeds_the_limit(concurrency: int) -> None:
    rng = random.Random(100 + concurrency)
    net = FakeNetwork(80, rng)
    target = int_to_id(rng.getrandbits(160))
    lookup = Lookup(target, rng.sample(net.contacts, 10), k=K, concurrency=concurrency)
    most_active, _ = drive(net, lookup)
    assert most_active == concurrency
    assert [c.contact.id for c in lookup.closest_answered()] == net.true_closest(target)


def closest_known_alive(lookup: Lookup) -> list[bytes]:
    """The K closest candidates the lookup heard of that did not fail or stay silent."""
    alive = [c for c in lookup.candidates.values() if c.state not in ("failed", "slow")]
    alive.sort(key=lambda c: c.distance)
    return [c.contact.id for c in alive[:K]]


@pytest.mark.parametrize("seed", range(8))
def test_dead_contacts_do_not_stop_the_lookup(seed: int) -> None:
    rng = random.Random(200 + seed)
    net = FakeNetwork(100, rng)
    target = int_to_id(rng.getrandbits(160))
    dead = {x.id for x in rng.sample(net.contacts, 25)}
    start = [x for x in net.contacts if x.id not in dead][:3] + [x for x in net.contacts if x.id in dead][:3]
    lookup = Lookup(target, start, k=K, concurrency=ALPHA)
    drive(net, lookup, dead=dead)
    found = [c.contact.id for c in lookup.closest_answered()]
    assert not dead & set(found)
    # Every one of the K closest live contacts it heard of was asked and answered.
    assert found == closest_known_alive(lookup)
    # Dead contacts hide some of the network, but the closest live ones are found.
    alive = [x for x in net.true_closest(target, 100) if x not in dead]
    assert found[:4] == alive[:4]


@pytest.mark.parametrize("seed", range(8))
def test_silent_contacts_do_not_stop_the_lookup(seed: int) -> None:
    rng = random.Random(300 + seed)
    net = FakeNetwork(100, rng)
    target = int_to_id(rng.getrandbits(160))
    # The very closest contacts are slow: the lookup moves on without them;
    # those whose late answer comes before it ends still count.
    silent = set(net.true_closest(target, 3))
    lookup = Lookup(target, rng.sample(net.contacts, 3), k=K, concurrency=ALPHA)
    drive(net, lookup, silent=silent)
    found = [c.contact.id for c in lookup.closest_answered()]
    assert len(found) == K
    assert found == closest_known_alive(lookup)
    still_slow = {i for i, c in lookup.candidates.items() if c.state == "slow"}
    assert still_slow <= silent
    assert found == [x for x in net.true_closest(target, 100) if x not in still_slow][:K]


def test_soft_timeout_frees_a_slot_and_a_late_answer_is_accepted() -> None:
    target = int_to_id(0)
    near = [Contact(int_to_id(i), "127.0.0.1", 2000 + i) for i in (1, 2, 3)]
    lookup = Lookup(target, near, k=K, concurrency=1)
    [first] = lookup.next_queries()
    assert first == near[0]  # the closest first
    assert lookup.next_queries() == []  # the only slot is taken
    lookup.soft_timeout(first)
    assert lookup.active == 0
    [second] = lookup.next_queries()  # the slot is free: the next candidate is asked
    assert second == near[1]
    assert not lookup.finished
    # The slow one answers late, with a closer-than-known contact.
    closer = Contact(int_to_id(0x10), "127.0.0.1", 3000)
    lookup.answered(first, [closer], token=b"late")
    assert lookup.candidates[first.id].state == "answered"
    assert lookup.candidates[first.id].token == b"late"
    assert closer.id in lookup.candidates
    # Soft timeouts and failures never undo an answer.
    lookup.soft_timeout(first)
    lookup.failed(first)
    assert lookup.candidates[first.id].state == "answered"
    lookup.answered(second, [])
    asked = lookup.next_queries()
    assert asked == [near[2]]
    lookup.answered(near[2], [])
    assert lookup.next_queries() == [closer]
    lookup.answered(closer, [])
    assert lookup.finished
    assert [c.contact for c in lookup.closest_answered()] == [near[0], near[1], near[2], closer]



@pytest.mark.parametrize("seed", range(6))
def test_the_kept_order_and_count_match_a_full_sort(seed: int) -> None:
    """The candidates are kept sorted by bisection and the active ones counted as
    states change: after every step, the next queries and ``finished`` must be those
    a full sort of the candidates and a count of their states give."""
    rng = random.Random(seed)
    net = FakeNetwork(120, rng)
    target = int_to_id(rng.getrandbits(160))
    lookup = Lookup(target, rng.sample(net.contacts, 8), k=K, concurrency=ALPHA)
    pending: list[Contact] = []
    while True:
        ranked = sorted(lookup.candidates.values(), key=lambda c: c.distance)
        alive = [c for c in ranked if c.state not in ("failed", "slow")][:K]
        live = [c for c in ranked if c.state != "failed"][:K]  # slow ones still count for the end
        assert lookup.active == sum(1 for c in ranked if c.state == "active")
        assert lookup.finished == (lookup.active == 0 and all(c.state == "answered" for c in live))
        room = lookup.window - lookup.active
        expected = [c.contact for c in alive if c.state == "new"][: max(room, 0)]
        new = lookup.next_queries()
        assert new == expected
        pending.extend(new)
        if not pending:
            break
        contact = pending.pop(rng.randrange(len(pending)))
        roll = rng.random()
        if roll < 0.15:
            lookup.failed(contact)
        elif roll < 0.3 and lookup.candidates[contact.id].state == "active":
            lookup.soft_timeout(contact)
            if rng.random() < 0.5:
                pending.append(contact)  # answers late
        else:
            lookup.answered(contact, net.answer(contact, target))

def test_finished_waits_for_active_requests() -> None:
    a = Contact(int_to_id(5), "127.0.0.1", 1)
    lookup = Lookup(int_to_id(0), [a], k=K, concurrency=4)
    assert not lookup.finished
    assert lookup.next_queries() == [a]
    assert not lookup.finished  # asked, not answered yet
    lookup.failed(a)
    assert lookup.finished
    assert lookup.closest_answered() == []

@pytest.mark.parametrize("wait_for_all", [True, False])
def test_the_end_waits_for_a_further_request_only_when_asked_to(wait_for_all: bool) -> None:
    """Khashmir's end waits for every request out; Mainline's (libtorrent's traversal)
    only for the K closest alive to have answered."""
    far = Contact(int_to_id(1000), "127.0.0.1", 1)
    near = [Contact(int_to_id(10 + i), "127.0.0.1", 2 + i) for i in range(K)]
    lookup = Lookup(int_to_id(0), [far], k=K, concurrency=4, wait_for_all=wait_for_all)
    assert lookup.next_queries() == [far]
    lookup.add(near)  # closer contacts learnt meanwhile: ``far`` is no longer among the K closest
    asked = []
    while len(asked) < K:
        batch = lookup.next_queries()
        assert batch and far not in batch
        asked += batch
        for contact in batch:
            assert not lookup.finished
            lookup.answered(contact, [])
    assert sorted(asked, key=lambda c: c.id) == near
    assert lookup.active == 1  # ``far`` is still out
    assert lookup.finished is not wait_for_all
    lookup.answered(far, [])
    assert lookup.finished
    # Fewer than K alive: both rules wait for every one of them.
    few = Lookup(int_to_id(0), near[:3], k=K, concurrency=2, wait_for_all=wait_for_all)
    first = few.next_queries()
    few.answered(first[0], [])
    assert not few.finished  # one still out, one never asked
    few.answered(first[1], [])
    (last,) = few.next_queries()
    assert not few.finished
    few.failed(last)
    assert few.finished



@pytest.mark.parametrize("wait_for_all", [True, False])
def test_a_slow_request_widens_the_lookup_and_holds_its_end(wait_for_all: bool) -> None:
    """Silent past its soft timeout, one of the K closest lets one more candidate be
    asked, and the lookup is not finished until it answers or fails (both profiles)."""
    near = [Contact(int_to_id(10 + i), "127.0.0.1", 2000 + i) for i in range(K + 2)]
    lookup = Lookup(int_to_id(0), near, k=K, concurrency=4, wait_for_all=wait_for_all)
    first = lookup.next_queries()
    assert first == near[:4]
    slow = near[0]
    lookup.soft_timeout(slow)
    assert lookup.active == 3 and lookup.slow == 1
    assert lookup.next_queries() == [near[4]]  # one more in its place
    answered = set(first[1:] + [near[4]])
    for c in first[1:] + [near[4]]:
        lookup.answered(c, [])
    while len(answered) < K:  # every other one answers: the slow one is the closest
        batch = lookup.next_queries()
        assert batch and slow not in batch
        for c in batch:
            lookup.answered(c, [])
            answered.add(c)
    # K answered: the slow one let the lookup reach one past the K closest (near[K])...
    assert near[K] in answered and near[K + 1] not in answered
    # ...and the slow one, among the K closest live, still holds the end.
    assert lookup.active == 0 and not lookup.finished
    assert lookup.next_queries() == []
    lookup.answered(slow, [], token=b"late")  # a late answer counts in full
    assert lookup.finished
    assert lookup.closest_answered()[0].contact == slow and lookup.closest_answered()[0].token == b"late"


@pytest.mark.parametrize("wait_for_all", [True, False])
def test_a_slow_request_that_fails_at_its_full_timeout_ends_the_wait(wait_for_all: bool) -> None:
    near = [Contact(int_to_id(10 + i), "127.0.0.1", 2100 + i) for i in range(K + 1)]
    lookup = Lookup(int_to_id(0), near, k=K, concurrency=4, wait_for_all=wait_for_all)
    for c in lookup.next_queries()[1:]:
        lookup.answered(c, [])
    lookup.soft_timeout(near[0])
    while True:
        batch = lookup.next_queries()
        if not batch:
            break
        for c in batch:
            lookup.answered(c, [])
    assert not lookup.finished
    lookup.failed(near[0])  # its full timeout
    assert lookup.finished
    assert [c.contact for c in lookup.closest_answered()] == near[1:K + 1]


def test_a_slow_answer_brings_its_nodes_into_the_lookup() -> None:
    far = [Contact(int_to_id(1000 + i), "127.0.0.1", 2200 + i) for i in range(3)]
    closer = [Contact(int_to_id(1 + i), "127.0.0.1", 2300 + i) for i in range(2)]
    lookup = Lookup(int_to_id(0), far, k=K, concurrency=4)
    lookup.next_queries()
    lookup.soft_timeout(far[0])
    lookup.answered(far[1], [])
    lookup.answered(far[2], [])
    assert not lookup.finished  # far[0] is slow, not given up
    lookup.answered(far[0], closer)  # late, with closer contacts
    assert lookup.next_queries() == closer
    for c in closer:
        lookup.answered(c, [])
    assert lookup.finished
    assert [c.contact for c in lookup.closest_answered()] == closer + [far[0], far[1], far[2]]


def test_mainline_does_not_wait_for_a_slow_request_beyond_the_k_closest() -> None:
    far = Contact(int_to_id(1000), "127.0.0.1", 2400)
    near = [Contact(int_to_id(10 + i), "127.0.0.1", 2401 + i) for i in range(K)]
    for wait_for_all in (True, False):
        lookup = Lookup(int_to_id(0), [far], k=K, concurrency=4, wait_for_all=wait_for_all)
        lookup.next_queries()
        lookup.soft_timeout(far)
        lookup.add(near)
        while not lookup.finished:
            batch = lookup.next_queries()
            assert batch, "stuck"
            for c in batch:
                lookup.answered(c, [])
        assert lookup.slow == 1  # far is still out, not among the K closest: not waited for


def test_duplicates_and_excluded_ids_are_not_candidates() -> None:
    a = Contact(int_to_id(5), "127.0.0.1", 1)
    me = Contact(int_to_id(6), "127.0.0.1", 2)
    lookup = Lookup(int_to_id(0), [a, a], k=K, concurrency=4, exclude={me.id})
    lookup.add([me, a])
    assert list(lookup.candidates) == [a.id]
    assert lookup.next_queries() == [a]
    lookup.answered(a, [a, me])
    assert lookup.next_queries() == [] and lookup.finished
    assert lookup.queried == 1


def test_with_values_lists_holders_closest_first() -> None:
    contacts = [Contact(int_to_id(i), "127.0.0.1", 4000 + i) for i in (9, 3, 6, 12)]
    lookup = Lookup(int_to_id(0), contacts, k=K, concurrency=4)
    lookup.next_queries()
    nums = {9: 1, 3: 0, 6: 2, 12: 5}
    for x in contacts:
        lookup.answered(x, [], num=nums[int.from_bytes(x.id, "big")])
    assert [int.from_bytes(c.contact.id, "big") for c in lookup.with_values()] == [6, 9, 12]
    assert [c.num for c in lookup.with_values()] == [2, 1, 5]


def test_narrow_window_widens_by_one_on_each_soft_timeout() -> None:
    target = int_to_id(0)
    near = [Contact(int_to_id(i), "127.0.0.1", 5000 + i) for i in range(1, 12)]
    lookup = Lookup(target, near, k=K, concurrency=ALPHA, window=1)
    assert lookup.window == 1
    [first] = lookup.next_queries()
    assert first == near[0]  # greedy: the closest first...
    assert lookup.next_queries() == []  # ...and nothing else while it is out
    lookup.answered(first, [])
    assert lookup.window == 1  # an answer frees the slot, it does not widen
    [second] = lookup.next_queries()
    assert second == near[1] and lookup.next_queries() == []
    lookup.failed(second)
    assert lookup.window == 1  # nor does a failure
    [third] = lookup.next_queries()
    lookup.soft_timeout(third)  # silence widens: 2 active now
    assert lookup.window == 2
    assert lookup.next_queries() == [near[3], near[4]]
    assert lookup.next_queries() == []
    lookup.soft_timeout(near[3])
    assert lookup.window == 3
    assert lookup.next_queries() == [near[5], near[6]]  # 3 active: near[4], [5], [6]
    assert lookup.active == 3
    for x in (near[4], near[5], near[6]):
        lookup.soft_timeout(x)
    assert lookup.window == ALPHA  # capped at concurrency
    assert len(lookup.next_queries()) == ALPHA
    # A late answer of a silent contact does not narrow it again.
    lookup.answered(third, [])
    assert lookup.window == ALPHA


def test_window_defaults_to_concurrency() -> None:
    near = [Contact(int_to_id(i), "127.0.0.1", 6000 + i) for i in range(1, 8)]
    lookup = Lookup(int_to_id(0), near, k=K, concurrency=3)
    assert lookup.window == 3
    assert lookup.next_queries() == near[:3]
    assert Lookup(int_to_id(0), near, k=K, concurrency=3, window=9).window == 3


@pytest.mark.parametrize("seed", range(6))
def test_greedy_descent_asks_one_at_a_time_and_still_converges(seed: int) -> None:
    rng = random.Random(400 + seed)
    net = FakeNetwork(120, rng)
    target = int_to_id(rng.getrandbits(160))
    lookup = Lookup(target, rng.sample(net.contacts, 3), k=K, concurrency=ALPHA, window=1)
    most_active, asked = drive(net, lookup)
    assert most_active == 1 and lookup.window == 1
    assert len({c.id for c in asked}) == len(asked)
    assert [c.contact.id for c in lookup.closest_answered()] == net.true_closest(target)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_descent_widens_when_contacts_go_silent(seed: int) -> None:
    rng = random.Random(500 + seed)
    net = FakeNetwork(100, rng)
    target = int_to_id(rng.getrandbits(160))
    silent = set(net.true_closest(target, 3))
    lookup = Lookup(target, rng.sample(net.contacts, 3), k=K, concurrency=ALPHA, window=1)
    drive(net, lookup, silent=silent)
    slow_seen = sum(1 for c in lookup.candidates.values() if c.contact.id in silent and c.state != "new")
    assert lookup.window == min(1 + slow_seen, ALPHA)
    found = [c.contact.id for c in lookup.closest_answered()]
    assert found == closest_known_alive(lookup)


# --- the get_value step: asking the holders ------------------------------------------

def holders(*nums: int) -> list[Candidate]:
    """Holders at distances 1, 2, 3... reporting ``nums`` values; given out of order."""
    made = [
        Candidate(Contact(int_to_id(i + 1), "127.0.0.1", 7000 + i), i + 1, "answered", num=n)
        for i, n in enumerate(nums)
    ]
    return made[::-1]


def ids(pairs: list[tuple[Contact, int]]) -> list[int]:
    return [int.from_bytes(c.id, "big") for c, _ in pairs]


def test_retrieve_all_asks_every_holder_for_every_value() -> None:
    r = ValueRetrieval(holders(3, 1, 2, 1, 5, 1), [b"mine"], retrieve=0, redundancy=3, concurrency=4)
    first = r.next_requests()
    assert ids(first) == [1, 2, 3, 4]  # closest first, CONCURRENT_REQS at a time
    assert {num for _, num in first} == {0}  # 0: all of its values
    assert r.next_requests() == [] and not r.finished
    r.got_values(first[0][0], [b"a", b"b", b"mine"])
    assert ids(r.next_requests()) == [5]
    for c, _ in first[1:]:
        r.got_values(c, [b"c%d" % c.id[-1]])
    assert ids(r.next_requests()) == [6]
    assert not r.finished
    r.failed(r.asked[4])
    r.got_values(r.asked[5], [b"a", b"last"])
    assert r.finished and r.next_requests() == []
    assert r.values == [b"mine", b"a", b"b", b"c2", b"c3", b"c4", b"last"]


def test_negative_retrieve_asks_only_the_closest_store_redundancy_holders() -> None:
    r = ValueRetrieval(holders(1, 1, 1, 1, 1), [], retrieve=-10000, redundancy=3, concurrency=4)
    asked = r.next_requests()
    assert ids(asked) == [1, 2, 3]  # not 4, although CONCURRENT_REQS is 4
    assert [num for _, num in asked] == [0, 0, 0]  # 10000 wanted > 1 held: all of them
    for c, _ in asked:
        r.got_values(c, [b"same"])
    assert r.finished and r.next_requests() == []
    assert r.values == [b"same"]  # the 4th holder's value is never asked for


def test_a_further_holder_is_asked_when_a_closer_one_fails_or_goes_silent() -> None:
    r = ValueRetrieval(holders(1, 1, 1, 1, 1), [], retrieve=-10000, redundancy=3, concurrency=4)
    one, two, three = (c for c, _ in r.next_requests())
    r.failed(two)
    assert ids(r.next_requests()) == [4]
    r.soft_timeout(three)
    assert ids(r.next_requests()) == [5]
    r.got_values(one, [b"1"])
    r.got_values(three, [b"3"])  # late, but the retrieval still runs: taken
    assert not r.finished  # 2 answered of 3; 4 and 5 are out
    r.got_values(r.asked[3], [b"4"])
    assert r.finished
    r.got_values(r.asked[4], [b"5"])  # finished: no longer taken
    assert r.values == [b"1", b"3", b"4"] and r.answered == 3


def test_a_slow_holder_is_waited_for_and_its_values_count() -> None:
    """The issue's case: three holders answer past their soft timeout.  The retrieval
    asks no one else (there is no one) and waits for them: their values count."""
    r = ValueRetrieval(holders(1, 1, 1), [], retrieve=-10000, redundancy=3, concurrency=4)
    asked = [c for c, _ in r.next_requests()]
    for c in asked:
        r.soft_timeout(c)
    assert r.next_requests() == [] and not r.finished
    r.got_values(asked[0], [b"world"])
    assert not r.finished
    r.failed(asked[1])  # its full timeout
    assert not r.finished
    r.got_values(asked[2], [b"world"])
    assert r.finished and r.values == [b"world"]


def test_num_asks_for_the_values_still_missing_or_for_all() -> None:
    """The seed's generateArgs: abs(n) - found, or 0 when the holder has fewer."""
    r = ValueRetrieval(holders(5, 1, 4), [b"local"], retrieve=-3, redundancy=3, concurrency=4)
    asked = r.next_requests()
    # 1 local value: 2 missing; the first has 5 (asked for 2), and with 5 on the way no more.
    assert [(i, num) for i, (_, num) in zip(ids(asked), asked)] == [(1, 2)]
    r.got_values(asked[0][0], [b"local"])  # one duplicate: still 2 missing
    asked = r.next_requests()
    # The second has 1 < 2: all of its values; with 1 on the way, 1 is still missing
    # and the third (4 held) is asked for the 2 missing now.
    assert [(i, num) for i, (_, num) in zip(ids(asked), asked)] == [(2, 0), (3, 2)]
    r.got_values(asked[0][0], [b"x"])
    assert not r.finished
    r.got_values(asked[1][0], [b"y", b"z"])
    assert r.finished and r.values == [b"local", b"x", b"y"]  # up to 3


def test_positive_retrieve_goes_past_store_redundancy_holders_until_it_has_n() -> None:
    r = ValueRetrieval(holders(1, 1, 1, 1, 1), [], retrieve=2, redundancy=3, concurrency=4)
    assert ids(r.next_requests()) == [1, 2]  # 2 values on the way: enough for now
    for c in list(r.asked):
        r.got_values(c, [b"A"])
    assert ids(r.next_requests()) == [3]
    r.got_values(r.asked[2], [b"A"])
    assert ids(r.next_requests()) == [4]  # -2 would stop here, after 3 holders
    r.got_values(r.asked[3], [b"B"])
    assert r.finished and r.values == [b"A", b"B"]
    # The same holders with -2: the closest 3 only, so B is never found.
    r = ValueRetrieval(holders(1, 1, 1, 1, 1), [], retrieve=-2, redundancy=3, concurrency=4)
    while not r.finished:
        for c, _ in r.next_requests():
            r.got_values(c, [b"B"] if c.id == int_to_id(4) else [b"A"])
    assert r.values == [b"A"] and ids([(c, 0) for c in r.asked]) == [1, 2, 3]


def test_no_holders_or_only_local_values() -> None:
    r = ValueRetrieval([], [b"here"], retrieve=-10000, redundancy=3, concurrency=4)
    assert r.finished and r.next_requests() == [] and r.values == [b"here"]
    r = ValueRetrieval([], [b"a", b"b", b"c"], retrieve=2, redundancy=3, concurrency=4)
    assert r.finished and r.values == [b"a", b"b"]
    with pytest.raises(ValueError):
        ValueRetrieval([], [], retrieve=0, redundancy=0, concurrency=4)
