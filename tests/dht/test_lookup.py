"""The lookup state machine, driven over a simulated network in memory."""

from __future__ import annotations

import random
from typing import AbstractSet

import pytest

from dht.contact import Contact
from dht.khash import int_to_id
from dht.lookup import Lookup
from dht.routing import RoutingTable

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


def test_finished_waits_for_active_requests() -> None:
    a = Contact(int_to_id(5), "127.0.0.1", 1)
    lookup = Lookup(int_to_id(0), [a], k=K, concurrency=4)
    assert not lookup.finished
    assert lookup.next_queries() == [a]
    assert not lookup.finished  # asked, not answered yet
    lookup.failed(a)
    assert lookup.finished
    assert lookup.closest_answered() == []


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
