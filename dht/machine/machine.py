"""The KRPC machine: a node's datagrams in, what to send and do out, fed ``now``.

Theory of operation.  As aioquic's ``QuicConnection``, :class:`KrpcMachine`
holds the state of a node's exchanges and never does I/O: no socket, no
clock, no asyncio.  The shell (:class:`dht.rpc.transport.KrpcTransport`)
feeds it what happens and carries out what it returns:

* :meth:`receive` takes a datagram, its sender and ``now``;
* :meth:`request` takes a query we send (its settle callback included),
  which goes at once or, over the node's query budget
  (:class:`dht.core.budget.QueryBudget`), waits its turn in the machine;
* :meth:`timer` is called at :meth:`next_deadline`, the one time the shell arms;
* :meth:`job_done` takes the result of a storage job it asked for;
* :meth:`unreachable` takes an ICMP error: a datagram we sent could not
  reach its port;
* :meth:`withdraw` takes back a query still waiting for the budget;
* :meth:`close` ends every request still out or waiting.

Each returns a list of *outputs*, in the order they are to happen:
:class:`Send` (a datagram for the socket), :class:`Settle` (tell a request
its end: its settle callback is the requester's), :class:`Late` (tell a
request it is silent past its soft deadline), :class:`RunJob` (a
storage job to run), and the handlers' effects as they gave them
(:class:`~dht.machine.replies.SenderSeen`, events).

Inside, a datagram goes: the limits (:class:`dht.core.limits.Limits`, before
any parsing: size, blocked IPs, budgets; a refusal is a counted drop); the
profile's decoder (bad bencode, types or envelopes are counted drops, bad
arguments its error reply); then a query to the handler the node gave
(``answer(query, peer, now)``: an :class:`~dht.machine.replies.Answer`, a
:class:`~dht.machine.replies.Deferred`, or an exception: a KRPC error is
its reply, a storage fault 201 with its cause, a bug 201 and a logged
traceback, :class:`~dht.machine.replies.QueryDropped` a counted drop); an
answer's reply is sent if its size and the sender's reply budget allow.  A
response goes to the request table (:class:`dht.core.requests.RequestTable`:
transaction ids, expiry, resends, soft deadlines, RTT), which says which
request it ends.  :meth:`next_deadline` is the earliest of the table's
deadlines and the time the first query held back by the budget may go:
the one timer of a node's protocol.
Every step counts in :class:`Stats`; ``DatagramReceived``,
``DatagramDropped`` and ``RequestTimedOut`` go to the bus when someone
listens (``DatagramSent`` is the shell's, once the datagram is out).
"""

from __future__ import annotations

import functools
import itertools
import logging
from typing import Any, Callable, Hashable, NamedTuple

from ..core.budget import QueryBudget
from ..core.config import Config
from ..core.contact import Address
from ..core.errors import KrpcError, NodeStopped, PortUnreachable, RemoteProtocolError, RpcTimeout, StorageFault
from ..core.events import DatagramDropped, DatagramReceived, EventBus, RequestTimedOut
from ..core.limits import Limits
from ..core.requests import Answered, Pending, RequestTable, Settle as SettleFn
from ..core.stats import DropReason, MethodCounters, Stats
from ..wire import krpc
from ..wire.profiles import WireProfile
from .outputs import Late, Output, RunJob, Send, Settle, Stopped
from .replies import Answer, Deferred, QueryDropped

log = logging.getLogger(__name__)

#: ``answer(query, peer, now)``: a handler's :class:`Answer` or :class:`Deferred`.
QueryHandler = Callable[[Any, Address, float], "Answer | Deferred"]




class _Held(NamedTuple):
    """A query the budget holds back: what it takes to send it."""

    peer: Address
    method: str
    args: Any
    settle: SettleFn
    soft_timeout: float | None
    late: Callable[[], None] | None


class _Waiting(NamedTuple):
    """A query whose answer waits for its storage job."""

    deferred: Deferred
    query: Any
    peer: Address
    counters: MethodCounters | None
    size: int


@functools.cache
def _method_set(methods: tuple[str, ...]) -> frozenset[str]:
    return frozenset(methods)


class KrpcMachine:
    """One node's KRPC exchanges, sans-IO (see the module's docstring)."""

    def __init__(
        self, profile: WireProfile, answer: QueryHandler, stats: Stats, bus: EventBus,
        timeout: float, config: Config | None = None, budget: QueryBudget[Hashable] | None = None,
    ) -> None:
        self.profile = profile
        self.decode = profile.decode  # bound once: called for every datagram
        self._methods = _method_set(profile.methods)  # one set per profile, not per node
        self.encode_response = profile.encode_response
        self.answer = answer
        self.stats = stats
        self.bus = bus
        self.limits = Limits(config)
        #: the requests out: transaction ids, expiry, resends, RTT
        self.requests = RequestTable(
            timeout, config.SOFT_RESENDS if config is not None else 0, lambda: self.profile.new_tid()
        )
        #: the node's outgoing query budget (None: none), and the queries it holds back
        self.budget = budget
        self.held: dict[Hashable, _Held] = {}
        #: queries whose answers wait for storage, by the ref their RunJob carries
        self.waiting: dict[int, _Waiting] = {}
        self._refs = itertools.count(1)

    # --- datagrams in ----------------------------------------------------

    def receive(self, data: bytes, peer: Address, now: float) -> list[Output]:
        """A datagram from ``peer``; nothing a peer sends raises out of here."""
        out: list[Output] = []
        stats = self.stats
        size = len(data)
        stats.packets_in += 1
        stats.bytes_in += size
        refused = self.limits.admit(peer[0], size, now)
        if refused is not None:
            self._drop(peer, size, refused, now)
            return out
        try:
            message, raw = self.decode(data)
        except RemoteProtocolError as exc:
            self._drop(peer, size, decode_reason(str(exc)), now)
            return out
        try:
            if raw[b"y"] == b"q":
                self._query(message, raw, peer, size, now, out)
            else:
                self._response(message, raw, peer, size, now, out)
        except Exception:  # a bug of ours: log it, keep the receive path alive
            log.exception("bug while handling a datagram from %s:%d", *peer)
        return out

    def _query(self, query: Any, raw: dict[bytes, Any], peer: Address, size: int, now: float, out: list[Output]) -> None:
        method = query.method
        counters = None
        if method in self._methods:  # counted: a method of the profile's
            counters = self.stats.methods.get(method) or self.stats.method(method)
            counters.received += 1
        if self.bus.active:
            self.bus.emit(DatagramReceived(now, peer, "q", query.method, query.tid, size, raw))
        try:
            reply = self.answer(query, peer, now)
        except QueryDropped as exc:
            self._drop(peer, size, exc.reason, now)
            return
        except Exception as exc:
            self._failed(query, peer, exc, counters, size, now, out)
            return
        if type(reply) is Answer:
            if reply.effects:
                out.extend(reply.effects)
            self._respond(query, peer, reply.values, counters, size, now, out)
            return
        assert isinstance(reply, Deferred)
        ref = next(self._refs)
        self.waiting[ref] = _Waiting(reply, query, peer, counters, size)
        out.extend(reply.effects)
        out.append(RunJob(ref, reply.job))

    def job_done(self, ref: int, result: Any, exc: BaseException | None, now: float) -> list[Output]:
        """A storage job's end: the answer it waited for (None for a cancelled job: not answered)."""
        out: list[Output] = []
        waiting = self.waiting.pop(ref, None)
        if waiting is None:
            return out
        deferred, query, peer, counters, size = waiting
        deferred.release()
        if exc is None:
            try:
                answer = deferred.finish(result, now)
            except Exception as error:
                exc = error
            else:
                out.extend(answer.effects)
                self._respond(query, peer, answer.values, counters, size, now, out)
                return out
        if isinstance(exc, QueryDropped):
            self._drop(peer, size, exc.reason, now)
        elif isinstance(exc, Exception):
            self._failed(query, peer, exc, counters, size, now, out)
        return out

    def cancel_jobs(self) -> list[int]:
        """Forget the queries still waiting for storage (never answered); their refs."""
        waiting, self.waiting = self.waiting, {}
        for item in waiting.values():
            item.deferred.release()
        return list(waiting)

    def _failed(
        self, query: Any, peer: Address, exc: Exception, counters: MethodCounters | None, size: int,
        now: float, out: list[Output],
    ) -> None:
        """A handler raised: the error reply (201 with the cause for a storage fault or a bug)."""
        if isinstance(exc, KrpcError):
            error = exc
        elif isinstance(exc, StorageFault):  # the disk's, not a bug: the store counted and logged it
            error = self.profile.server_error(str(exc))
        else:
            log.error("handler for %s from %s:%d failed", query.method, *peer, exc_info=exc)
            error = self.profile.server_error()
        if counters is not None:
            counters.errors += 1
        data, msg = self.profile.encode_error(query.tid, error)
        self._reply(data, peer, msg, query, size, now, out)

    def _respond(
        self, query: Any, peer: Address, values: Any, counters: MethodCounters | None, size: int,
        now: float, out: list[Output],
    ) -> None:
        if values is None:
            return  # not answered (read-only)
        if isinstance(values, KrpcError):  # an error reply, with effects of the query all the same
            self._failed(query, peer, values, counters, size, now, out)
            return
        data, sent = self.encode_response(query.tid, values, peer)
        if counters is not None and sent[b"y"] == b"e":
            counters.errors += 1
        self._reply(data, peer, sent, query, size, now, out)

    def _reply(
        self, data: bytes, peer: Address, raw: dict[bytes, Any], query: Any, size: int, now: float,
        out: list[Output],
    ) -> None:
        # Only a query with an over-long transaction id (echoed in every
        # reply) can make even an error reply exceed the datagram limit.
        length = len(data)
        if length > krpc.UDP_PACKET_LIMIT:
            self._drop(peer, size, DropReason.REPLY_TOO_LONG, now)
            return
        refused = self.limits.allow_reply(peer[0], length, now)
        if refused is not None:
            self._drop(peer, size, refused, now)
            return
        out.append(Send(data, peer, raw, query.method, query.tid))

    # --- answers to our requests -------------------------------------------

    def _response(
        self, message: Any, raw: dict[bytes, Any], peer: Address, size: int, now: float, out: list[Output]
    ) -> None:
        answered = raw[b"y"] == b"r"
        found = self.requests.answer(peer, message.tid, now, answered)
        if type(found) is not Answered:
            if found is None:
                self._drop(peer, size, DropReason.UNEXPECTED_RESPONSE, now)
            return  # else: the other answer to a request we sent twice: expected, not a drop
        pending = found.pending
        counters = self.stats.methods.get(pending.method) or self.stats.method(pending.method)
        if answered:
            counters.answered += 1
            counters.rtt_total += found.rtt
            code = None
        else:
            counters.failed += 1
            code = message.code
        if self.bus.active:
            self.bus.emit(
                DatagramReceived(
                    now, peer, raw[b"y"].decode(), pending.method, message.tid, size, raw,
                    rtt=found.rtt, error_code=code, late=found.late,
                )
            )
        if answered:
            out.append(Settle(pending, self.profile.answer(message), None, found.sample))
        else:
            out.append(Settle(pending, None, self.profile.error(message), found.sample))

    # --- requests out ----------------------------------------------------

    def request(
        self, peer: Address, method: str, args: Any, settle: SettleFn, now: float,
        soft_timeout: float | None = None, late: Callable[[], None] | None = None,
        key: Hashable | None = None,
    ) -> tuple[Send, float] | None:
        """A query to send (bad ``args`` raise :class:`LocalError`), and its deadline (for
        the shell's timer); ``settle`` is told its end, ``late`` (with a ``soft_timeout``)
        when it is silent at its soft deadline.  With a ``key`` it is charged to the
        query budget: None when it must wait its turn (sent by :meth:`timer`;
        :meth:`withdraw` with the ``key`` takes it back)."""
        budget = self.budget
        if key is not None and budget is not None and not budget.submit(key, now):
            try:
                self.profile.encode_query(b"\0\0", method, args)  # bad arguments fail now, not when it goes
            except Exception:
                budget.discard(key)
                raise
            self.held[key] = _Held(peer, method, args, settle, soft_timeout, late)
            return None
        return self._send_request(peer, method, args, settle, now, soft_timeout, late)

    def withdraw(self, key: Hashable) -> bool:
        """Take back a query the budget still holds (its caller gave up): True if it was held."""
        if self.held.pop(key, None) is None:
            return False
        if self.budget is not None:
            self.budget.discard(key)
        return True

    def _send_request(
        self, peer: Address, method: str, args: Any, settle: SettleFn, now: float,
        soft_timeout: float | None, late: Callable[[], None] | None,
    ) -> tuple[Send, float]:
        table = self.requests
        tid = table.tid_for(peer)
        data, raw = self.profile.encode_query(tid, method, args)
        pending = table.add(peer, tid, method, settle, now, soft_timeout, data, raw, late)
        (self.stats.methods.get(method) or self.stats.method(method)).sent += 1
        self.limits.expect(peer[0], now)
        return Send(data, peer, raw, method, tid, soft_timeout), (
            pending.late_after if pending.resends or pending.late is not None else pending.expires
        )

    def next_deadline(self, now: float) -> float | None:
        """When :meth:`timer` is next due (None: nothing waits)."""
        at = self.requests.next_deadline()
        if self.held and self.budget is not None:
            free = self.budget.next_time(now)
            if free is not None and (at is None or free < at):
                at = free
        return at

    def timer(self, now: float) -> list[Output]:
        """Send again what is silent past its soft deadline, and tell it late if it asked;
        fail what is past its full timeout."""
        out: list[Output] = []
        if self.held and self.budget is not None:
            for key in self.budget.ready(now):  # the queries the budget lets go now, in turn
                call = self.held.pop(key, None)
                if call is not None:
                    out.append(self._send_request(*call[:4], now, *call[4:])[0])
        table = self.requests
        for pending in table.resends_due(now):
            self.limits.expect(pending.peer[0], now)
            assert pending.raw is not None
            out.append(Send(pending.data, pending.peer, pending.raw, pending.method, pending.tid, pending.soft_timeout))
        for pending in table.late_due(now):
            out.append(Late(pending))
        for pending in table.expired(now):
            out.append(self._request_failed(pending, now, unreachable=False))
        return out

    def unreachable(self, peer: Address, datagram: bytes, now: float) -> list[Output]:
        """ICMP says ``datagram``, sent to ``peer``, reached no one: fail its request, if it was one."""
        try:
            _message, raw = self.profile.decode(datagram)  # our own bytes
        except RemoteProtocolError:
            return []
        tid = raw.get(b"t")
        if raw.get(b"y") == b"q" and isinstance(tid, bytes):
            pending = self.requests.fail(peer, tid)
            if pending is not None:
                return [self._request_failed(pending, now, unreachable=True)]
        return []

    def _request_failed(self, pending: Pending, now: float, unreachable: bool) -> Settle:
        self.stats.method(pending.method).failed += 1
        if self.bus.active:
            self.bus.emit(RequestTimedOut(now, pending.peer, pending.method, pending.tid))
        where = f"{pending.method} to {pending.peer[0]}:{pending.peer[1]}"
        failure = PortUnreachable(f"{where}: unreachable (ICMP)") if unreachable else RpcTimeout(where)
        return Settle(pending, None, failure)

    def close(self) -> list[Output]:
        """End every request still out or held back (:class:`NodeStopped`); forget the waiting answers."""
        self.cancel_jobs()
        out: list[Output] = [Settle(p, None, NodeStopped("node stopped")) for p in self.requests.clear()]
        held, self.held = self.held, {}
        for key, call in held.items():
            if self.budget is not None:
                self.budget.discard(key)
            out.append(Stopped(call.settle))
        return out

    # --- drops -------------------------------------------------------------

    def _drop(self, peer: Address, size: int, reason: DropReason, now: float) -> None:
        stats = self.stats  # Stats.drop inlined: this runs for every datagram of a flood
        stats.dropped += 1
        stats.drop_reasons[reason] += 1
        if self.bus.active:
            self.bus.emit(DatagramDropped(now, peer, size, reason.value))


def decode_reason(message: str) -> DropReason:
    """The fixed reason for a :func:`krpc.decode` failure (its text is the peer's to choose)."""
    if message.startswith("not bencode"):
        return DropReason.NOT_BENCODE
    if message.startswith("unknown message type"):
        return DropReason.UNKNOWN_TYPE
    return DropReason.MALFORMED
