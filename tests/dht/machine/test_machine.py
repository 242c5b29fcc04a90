"""The KRPC machine on bytes, with a fake clock: what a datagram in makes it return.

No socket, no loop: each test feeds :class:`KrpcMachine` datagrams, our
requests, timer ticks and storage results with ``now`` as an argument, and
asserts on the outputs (datagrams, settles, effects, storage jobs) in order.
"""

from __future__ import annotations

from typing import Any

import pytest

from dht.core.budget import QueryBudget
from dht.core.config import Config
from dht.core.errors import KrpcError, LocalError, NodeStopped, PortUnreachable, RpcTimeout
from dht.core.events import DatagramDropped, EventBus, RequestTimedOut, ValueStored
from dht.core.stats import DropReason, Stats
from dht.machine.machine import KrpcMachine
from dht.machine.outputs import Late, RunJob, Send, Settle, Stopped
from dht.machine.replies import Answer, Deferred, QueryDropped, SenderSeen
from dht.wire import krpc
from dht.wire.codes import KHASHMIR, Meaning
from dht.wire.profiles import profile_for

PEER = ("127.0.0.5", 4000)
OURS = b"\x01" * 20
THEIRS = b"\x02" * 20
PROFILE = profile_for("khashmir")


def query(method: str, args: dict[bytes, Any], tid: bytes = b"aa") -> bytes:
    data, _raw = PROFILE.encode_query(tid, method, args)
    return data


def machine(handler: Any, config: Config | None = None) -> tuple[KrpcMachine, Stats, list[Any]]:
    stats, bus, told = Stats(), EventBus(), []
    bus.subscribe(told.append)
    return KrpcMachine(PROFILE, handler, stats, bus, 20.0, config or Config()), stats, told


def answered(out: Send) -> dict[bytes, Any]:
    message, raw = PROFILE.decode(out.data)
    return raw


def test_a_query_is_answered_with_its_effects_first_and_its_transaction_id() -> None:
    calls: list[tuple[Any, Any, float]] = []

    def handler(q: krpc.Query, peer: Any, now: float) -> Answer:
        calls.append((q.method, peer, now))
        return Answer({b"id": OURS}, (SenderSeen(THEIRS, peer),))

    m, stats, _ = machine(handler)
    out = m.receive(query("ping", {b"id": THEIRS}, b"t1"), PEER, 5.0)
    assert calls == [("ping", PEER, 5.0)]
    assert out[0] == SenderSeen(THEIRS, PEER)
    assert isinstance(out[1], Send) and out[1].peer == PEER and len(out) == 2
    raw = answered(out[1])
    assert raw[b"t"] == b"t1" and raw[b"y"] == b"r" and raw[b"r"] == {b"id": OURS}
    assert stats.method("ping").received == 1 and stats.packets_in == 1


def test_an_error_answer_keeps_its_effects_and_a_bug_is_answered_201() -> None:
    def refused(q: Any, peer: Any, now: float) -> Answer:
        return Answer(KHASHMIR.error(Meaning.INVALID_TOKEN, "bad token"), (SenderSeen(THEIRS, peer),))

    m, stats, _ = machine(refused)
    out = m.receive(query("ping", {b"id": THEIRS}), PEER, 1.0)
    assert out[0] == SenderSeen(THEIRS, PEER)
    assert answered(out[1])[b"e"][0] == KHASHMIR.code(Meaning.INVALID_TOKEN)
    assert stats.method("ping").errors == 1

    def buggy(q: Any, peer: Any, now: float) -> Answer:
        raise ZeroDivisionError

    m, _, _ = machine(buggy)
    [reply] = m.receive(query("ping", {b"id": THEIRS}), PEER, 1.0)
    assert answered(reply)[b"e"][0] == 201


def test_a_dropped_query_is_counted_and_not_answered() -> None:
    def busy(q: Any, peer: Any, now: float) -> Answer:
        raise QueryDropped(DropReason.STORAGE_BUSY)

    m, stats, told = machine(busy)
    assert m.receive(query("ping", {b"id": THEIRS}), PEER, 1.0) == []
    assert stats.drop_reasons[DropReason.STORAGE_BUSY] == 1
    assert [e.reason for e in told if isinstance(e, DatagramDropped)] == [DropReason.STORAGE_BUSY.value]
    assert m.receive(b"not bencode", PEER, 1.0) == [] and stats.drop_reasons[DropReason.NOT_BENCODE] == 1


def test_a_deferred_answer_waits_for_its_storage_job() -> None:
    released: list[bool] = []

    def handler(q: Any, peer: Any, now: float) -> Deferred:
        def finish(result: Any, at: float) -> Answer:
            return Answer({b"id": OURS, b"values": result}, (ValueStored(at, b"k", b"v", 0.0, False),))
        return Deferred(("read", b"k"), finish, lambda: released.append(True), (SenderSeen(THEIRS, peer),))

    m, _, _ = machine(handler)
    out = m.receive(query("ping", {b"id": THEIRS}, b"t9"), PEER, 1.0)
    assert out[0] == SenderSeen(THEIRS, PEER) and isinstance(out[1], RunJob) and out[1].job == ("read", b"k")
    assert not released
    done = m.job_done(out[1].ref, [b"v1"], None, 2.5)
    assert isinstance(done[0], ValueStored) and done[0].time == 2.5 and released == [True]
    raw = answered(done[1])
    assert raw[b"t"] == b"t9" and raw[b"r"][b"values"] == [b"v1"]
    assert m.job_done(out[1].ref, [], None, 3.0) == []  # once only

    out = m.receive(query("ping", {b"id": THEIRS}, b"tA"), PEER, 4.0)
    [reply] = m.job_done(out[1].ref, None, KrpcError(200, "store full"), 4.1)
    assert answered(reply)[b"e"] == [200, b"store full"]
    out = m.receive(query("ping", {b"id": THEIRS}, b"tB"), PEER, 5.0)
    assert m.cancel_jobs() == [out[1].ref] and released == [True, True, True]


def test_a_request_is_settled_by_its_answer_with_its_rtt() -> None:
    settled: list[tuple[Any, Any, Any]] = []
    m, stats, _ = machine(lambda q, p, now: Answer(None))
    send, deadline = m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: settled.append((a, e, r)), 10.0)
    assert deadline == 30.0 and m.next_deadline(10.0) == 30.0
    tid = answered(send)[b"t"]
    reply, _ = PROFILE.encode_response(tid, {b"id": THEIRS}, ("127.0.0.1", 1))
    [out] = m.receive(reply, PEER, 10.25)
    assert isinstance(out, Settle) and out.answer[b"id"] == THEIRS and out.exc is None and out.rtt == 0.25
    assert m.next_deadline(10.25) is None and stats.method("ping").answered == 1
    assert m.receive(reply, PEER, 10.5) == [] and stats.drop_reasons[DropReason.UNEXPECTED_RESPONSE] == 1


def test_a_silent_request_fails_at_its_deadline_and_nothing_before() -> None:
    m, stats, told = machine(lambda q, p, now: Answer(None))
    send, deadline = m.request(PEER, "find_node", {b"id": OURS, b"target": OURS}, lambda a, e, r: None, 0.0)
    assert m.timer(deadline - 0.1) == []  # (a timer a hair early, within EARLY, counts as on time)
    [out] = m.timer(deadline)
    assert isinstance(out, Settle) and isinstance(out.exc, RpcTimeout)
    assert stats.method("find_node").failed == 1 and any(isinstance(e, RequestTimedOut) for e in told)


def test_a_lookup_request_is_resent_once_at_its_soft_timeout() -> None:
    m, _, _ = machine(lambda q, p, now: Answer(None), Config(SOFT_RESENDS=1))
    send, deadline = m.request(PEER, "find_node", {b"id": OURS, b"target": OURS}, lambda a, e, r: None, 0.0, 0.5)
    assert deadline == 0.5
    [again] = m.timer(0.5)
    assert isinstance(again, Send) and again.data == send.data


def test_icmp_fails_the_request_it_answers_and_close_ends_the_rest() -> None:
    m, _, _ = machine(lambda q, p, now: Answer(None))
    first, _ = m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: None, 0.0)
    other = ("127.0.0.6", 4001)
    m.request(other, "ping", {b"id": OURS}, lambda a, e, r: None, 0.0)
    [out] = m.unreachable(PEER, first.data, 0.1)
    assert isinstance(out.exc, PortUnreachable)
    [rest] = m.close()
    assert rest.pending.peer == other and isinstance(rest.exc, NodeStopped)


def test_the_limits_refuse_an_oversize_datagram_before_the_handler() -> None:
    calls: list[Any] = []
    m, stats, _ = machine(lambda q, p, now: calls.append(q) or Answer(None))
    assert m.receive(b"d" + b"x" * 5000 + b"e", PEER, 0.0) == []
    assert not calls and stats.dropped == 1


def test_a_soft_deadline_is_told_late_once_on_the_one_timer() -> None:
    m, _, _ = machine(lambda q, p, now: Answer(None), Config(SOFT_RESENDS=0))
    told: list[str] = []
    sent = m.request(PEER, "find_node", {b"id": OURS, b"target": OURS}, lambda a, e, r: None, 0.0, 0.4,
                     lambda: told.append("late"))
    assert sent is not None and sent[1] == 0.4 and m.next_deadline(0.0) == 0.4
    [late] = m.timer(0.4)
    assert isinstance(late, Late) and late.pending.late is not None
    assert m.timer(1.0) == [] and m.next_deadline(1.0) == 20.0


def test_over_the_budget_a_query_waits_its_turn_in_the_machine() -> None:
    budget: QueryBudget[Any] = QueryBudget(2.0, 1, 0.0)  # 2 a second, bursts of 1
    stats, bus = Stats(), EventBus()
    m = KrpcMachine(profile_for("mainline"), lambda q, p, now: Answer(None), stats, bus, 20.0, Config(), budget)
    ended: list[Any] = []
    first = m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: None, 0.0, key="a")
    assert first is not None  # the burst's one token
    assert m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: ended.append(("b", e)), 0.0, key="b") is None
    assert m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: ended.append(("c", e)), 0.0, key="c") is None
    assert m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: ended.append(("d", e)), 0.0, key="d") is None
    with pytest.raises(LocalError):  # bad arguments fail at once, held or not, and leave no trace
        m.request(PEER, "ping", {b"id": b"short"}, lambda a, e, r: None, 0.0, key="bad")
    assert budget.waiting == 3 and m.next_deadline(0.0) == 0.5
    assert m.timer(0.49) == []
    [b] = m.timer(0.5)
    assert isinstance(b, Send) and len(m.requests) == 2  # first come, first served
    assert m.withdraw("c") and not m.withdraw("c") and not m.withdraw("b")
    assert m.next_deadline(0.5) == 1.0
    [d] = m.timer(1.0)
    assert isinstance(d, Send) and budget.waiting == 0 and stats.method("ping").sent == 3
    assert m.request(PEER, "ping", {b"id": OURS}, lambda a, e, r: None, 1.0, key="e") is None
    out = m.close()
    assert [type(o) for o in out] == [Settle, Settle, Settle, Stopped] and budget.waiting == 0
    assert ended == []  # the machine never calls a settle itself: the shell does what it returns
