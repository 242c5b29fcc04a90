"""dht.core.requests, sans-IO: the requests out, driven by a fake clock (``now`` passed in)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from dht.core.requests import EXPECTED, RESENT_KEPT, Answered, RequestTable

A = ("127.0.0.1", 1001)
B = ("127.0.0.2", 1002)


def table(timeout: float = 20.0, resends: int = 2) -> RequestTable:
    tids = itertools.count()
    return RequestTable(timeout, resends, lambda: next(tids).to_bytes(2, "big"))


def settle(*_: Any) -> None:
    raise AssertionError("the table never settles a request itself")


def test_requests_expire_oldest_first_each_after_its_own_timeout() -> None:
    t = table(timeout=10.0)
    first = t.add(A, t.tid_for(A), "ping", settle, now=0.0)
    second = t.add(B, t.tid_for(B), "ping", settle, now=3.0)
    assert t.next_deadline() == 10.0
    assert t.expired(9.9) == []
    assert t.expired(10.0) == [first]
    assert t.next_deadline() == 13.0
    assert t.expired(13.0) == [second] and not t.pending
    assert t.next_deadline() is None


def test_an_answer_settles_its_request_from_its_address_with_its_tid_only() -> None:
    t = table()
    pending = t.add(A, t.tid_for(A), "ping", settle, now=1.0, soft_timeout=0.5)
    assert t.answer(B, pending.tid, 1.2) is None  # another address: a stranger's answer
    assert t.answer(A, b"zz", 1.2) is None  # another tid
    found = t.answer(A, pending.tid, 1.25)
    assert isinstance(found, Answered) and found.pending is pending
    assert found.rtt == pytest.approx(0.25) and found.sample == pytest.approx(0.25) and not found.late
    assert t.rtt.samples == 1 and not t.pending
    assert t.answer(A, pending.tid, 1.3) is None  # settled: a second answer is unexpected


def test_an_error_reply_settles_without_an_rtt_sample_and_a_late_answer_is_late() -> None:
    t = table()
    p = t.add(A, t.tid_for(A), "ping", settle, now=0.0, soft_timeout=0.1)
    found = t.answer(A, p.tid, 0.5, sample=False)
    assert isinstance(found, Answered) and found.late and t.rtt.samples == 0


def test_tids_are_unique_per_peer_among_the_requests_out() -> None:
    t = RequestTable(20.0, 0, itertools.cycle([b"aa", b"aa", b"bb"]).__next__)
    t.add(A, t.tid_for(A), "ping", settle, now=0.0)  # aa
    assert t.tid_for(A) == b"bb"  # aa is out to A
    assert t.tid_for(B) == b"aa"  # but not to B


def test_a_silent_lookup_request_is_sent_again_at_its_soft_timeout_then_twice_as_late() -> None:
    t = table(timeout=20.0, resends=2)
    p = t.add(A, t.tid_for(A), "find_node", settle, now=0.0, soft_timeout=0.5, data=b"d", raw={b"y": b"q"})
    plain = t.add(B, t.tid_for(B), "ping", settle, now=0.0)  # no soft timeout: never resent
    assert t.next_deadline() == 0.5
    assert t.resends_due(0.4) == []
    assert t.resends_due(0.5) == [p] and p.resent and p.resends == 1
    assert t.next_deadline() == pytest.approx(1.5)  # then after twice as long
    assert t.resends_due(1.5) == [p] and p.resends == 0
    assert t.next_deadline() == 20.0 and t.resends_due(100.0) == []
    assert not plain.resent
    found = t.answer(A, p.tid, 1.6)
    assert isinstance(found, Answered) and found.sample is None  # Karn: not a sample
    assert t.rtt.samples == 0
    assert t.answer(A, p.tid, 1.7) == EXPECTED  # its other answer is no stranger's
    assert t.answer(A, p.tid, 1.8) is None  # but only once


def test_no_resend_past_the_full_timeout_nor_for_a_request_answered_or_failed() -> None:
    t = table(timeout=1.0, resends=3)
    p = t.add(A, t.tid_for(A), "get_peers", settle, now=0.0, soft_timeout=0.4, data=b"d", raw={})
    assert t.resends_due(0.4) == [p]  # next would be at 0.4 + 0.8 = 1.2, past the timeout
    assert t.next_deadline() == 1.0
    q = t.add(B, t.tid_for(B), "get_peers", settle, now=0.0, soft_timeout=0.4, data=b"d", raw={})
    assert t.fail(B, q.tid) is q  # unreachable
    assert t.resends_due(0.5) == [] and t.next_deadline() == 1.0
    assert t.expired(1.0) == [p]


def test_the_memory_of_resent_requests_is_bounded() -> None:
    t = table(timeout=20.0, resends=1)
    for i in range(RESENT_KEPT + 5):
        p = t.add(A, t.tid_for(A), "ping", settle, now=float(i), soft_timeout=0.1, data=b"d", raw={})
        assert t.resends_due(i + 0.1) == [p]
        assert isinstance(t.answer(A, p.tid, i + 0.2), Answered)
    assert len(t._resent_settled) == RESENT_KEPT


def test_clear_takes_every_request_out() -> None:
    t = table()
    out = [t.add(A, t.tid_for(A), "ping", settle, now=0.0, soft_timeout=0.2, data=b"d", raw={}) for _ in range(3)]
    assert t.clear() == out and not t.pending and t.next_deadline() is None


def test_each_silent_request_is_late_at_its_own_soft_deadline_once_and_an_answered_one_never() -> None:
    """A lookup's soft timeouts: told by the table at each request's own deadline, counted
    from when it was sent, once; never for one that answered; only for those that asked."""
    t = table(resends=0)
    told: list[str] = []

    def late(name: str) -> Any:
        return lambda: told.append(name)

    peers = {name: (f"127.0.0.{i}", 1000 + i) for i, name in enumerate("abcde", 1)}
    first = t.add(peers["a"], b"t1", "get_peers", settle, 1000.0, 1.0, late=late("a"))
    t.add(peers["b"], b"t1", "get_peers", settle, 1000.0, 1.0, late=late("b"))
    t.add(peers["c"], b"t1", "get_peers", settle, 1000.0, 3.0, late=late("c"))
    t.add(peers["e"], b"t1", "ping", settle, 1000.0, 0.2)  # asked not to be told
    assert isinstance(t.answer(peers["a"], b"t1", 1000.5), Answered) and first.late is not None
    assert [p.late for p in t.late_due(1000.9)] == []
    t.add(peers["d"], b"t1", "get_peers", settle, 1000.9, 0.5, late=late("d"))
    assert t.next_deadline() == 1001.0
    for p in t.late_due(1001.0):
        p.late()  # type: ignore[misc]
    assert told == ["b"]
    assert t.next_deadline() == 1001.4
    for p in t.late_due(1001.4):
        p.late()  # type: ignore[misc]
    assert told == ["b", "d"] and t.late_due(1002.9) == []
    for p in t.late_due(1003.0):
        p.late()  # type: ignore[misc]
    assert told == ["b", "d", "c"] and t.late_due(1010.0) == []
    assert t.next_deadline() == 1020.0  # only the full timeouts are left
