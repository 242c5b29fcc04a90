"""The thin asyncio layer: a UDP socket speaking KRPC.

:class:`KrpcTransport` sends queries and awaits their answers, matching
responses by (peer address, transaction id); it answers incoming queries
through a handler given by the node.  What goes on the wire is the wire
profile's (:mod:`dht.wire.profiles`: Khashmir or Mainline): the transport
only calls it.  A handler that returns None is not answered (a read-only
Mainline node, BEP 43).  A handler that returns an :class:`asyncio.Future`
(a task: a query that waits for storage) is answered when it is done, with
the query's transaction id, in the same way (an error reply for a
:class:`KrpcError`, 201 for a :class:`StorageFault` or a bug); the receive
path goes on meanwhile, so pings are never held up by storage.  A handler
raising :class:`QueryDropped` has the query dropped and counted under its
reason.  :meth:`KrpcTransport.drain` waits for the answers still due (a
stopping node); :meth:`KrpcTransport.close` cancels them.  Each datagram in and out is counted in
:class:`Stats` and, when someone listens, reported on the :class:`EventBus`.

Before a datagram is decoded, :class:`dht.core.limits.Limits` (sans-IO, fed
``clock.now()`` here) decides whether its source may make us work:
oversize datagrams, blocked IPs and spent budgets are dropped unparsed.
Before an answer is sent, it decides whether its address's reply budget
allows it.  Every request we send credits its address with one answer.
Drops are counted by :class:`dht.core.stats.DropReason`, a fixed set.

A request to a port nobody listens on fails at once, not at its full
timeout (libtorrent's ``rpc_manager::unreachable``): on Linux the socket asks
for ICMP errors with their datagram's destination (IP_RECVERR), and an ICMP
port or host unreachable fails the request whose transaction id the
returned datagram carries.  A stopped lab node, a one-shot CLI node gone, a
peer that quit: each is known dead in a round trip.  A node that drops
datagrams silently (NAT, a firewall) still costs its full timeout.

Under a flood the limits must see datagrams before the kernel's receive
queue overflows, or honest peers' datagrams are lost there with the
attacker's: asyncio reads one datagram per loop iteration, so after each one
:meth:`datagram_received` drains up to RECV_BATCH more from a duplicate of
the socket (same queue, same order), and the receive buffer is raised to
RECV_BUFFER bytes (as far as the system allows).

The requests out -- transaction ids, expiry, resends of a silent lookup
request (SOFT_RESENDS, with the same transaction id), RTT -- are the sans-IO
:class:`dht.core.requests.RequestTable`'s, fed ``now``; the transport sends
what it says and arms one timer at its next deadline (a timer per request
was a heap push and a cancel on every request, for the rare one that times
out).  A request is told its end through its ``settle``: the answer,
:class:`KrpcError` for an error reply, :class:`RpcTimeout` after
KRPC_TIMEOUT, :class:`PortUnreachable` and :class:`NodeStopped` when the
transport closes.  Nothing a peer sends can raise out of
:meth:`datagram_received`: bad datagrams are dropped and counted, handler
bugs are logged with their traceback and answered with 201.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import time
from typing import Any, Callable

from . import clock
from ..wire import krpc
from ..core.config import Config
from ..core.contact import Address
from ..core.errors import KrpcError, NodeStopped, PortUnreachable, RemoteProtocolError, RpcTimeout, StorageFault
from ..core.events import (
    DatagramDropped,
    DatagramReceived,
    DatagramSent,
    EventBus,
    RequestTimedOut,
)
from ..core.limits import Limits
from ..core.requests import Answered, Pending, RequestTable, Settle
from ..core.stats import DropReason, Stats
from ..wire.profiles import WireProfile, profile_for

log = logging.getLogger(__name__)

#: ``handler(query, peer)``: the answer's values (the profile encodes them), or None: no answer,
#: or an asyncio.Future of the values: answered when it is done.
QueryHandler = Callable[[Any, Address], Any]
#: ``tap(direction, local, peer, data, now)``: every datagram "in" or "out", ``now`` wall clock.
Tap = Callable[[str, Address, Address, bytes, float], None]

#: Datagrams read in one go when the socket is readable (asyncio's one included).
RECV_BATCH = 256
#: Receive buffer asked for (the kernel caps it at net.core.rmem_max).
RECV_BUFFER = 4 << 20
#: Largest UDP payload: longer ones do not exist, shorter ones are read whole.
RECV_MAX = 65536

#: Linux's socket options asking for ICMP errors with their datagram (linux/in.h, in6.h).
_RECVERR = {socket.AF_INET: (socket.IPPROTO_IP, 11), socket.AF_INET6: (socket.IPPROTO_IPV6, 25)}
#: ``sock_extended_err.ee_origin`` of an ICMP (v4, v6) error.
_ORIGIN_ICMP = (2, 3)
#: The errors that say nothing listens there: port unreachable, host unreachable.
_UNREACHABLE = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH})


class QueryDropped(Exception):
    """Raised by a handler: drop the query unanswered, counted under ``reason``."""

    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class KrpcTransport(asyncio.DatagramProtocol):
    def __init__(
        self, handler: QueryHandler, stats: Stats, bus: EventBus, timeout: float,
        config: Config | None = None, profile: WireProfile | None = None,
    ) -> None:
        self.handler = handler
        self.profile: WireProfile = profile or profile_for("khashmir")
        self.stats = stats
        self.bus = bus
        self.timeout = timeout
        #: the requests out (sans-IO): transaction ids, expiry, resends, RTT
        self.outstanding = RequestTable(
            timeout, config.SOFT_RESENDS if config is not None else 0, lambda: self.profile.new_tid()
        )
        self._timer: asyncio.TimerHandle | None = None  # the one timer: the table's next deadline
        self._timer_at = 0.0
        #: answers still due: futures a handler returned
        self.answering: set[asyncio.Future[Any]] = set()
        self.transport: asyncio.DatagramTransport | None = None
        self._drain: socket.socket | None = None
        self.on_timeout: Callable[[Address, str], None] | None = None
        self.tap: Tap | None = None  # a packet capture (dht.capture)
        self._sending = False  # in transmit(): an error reported now is the send's
        self._refused = False
        self.local_address: Address = ("", 0)
        self.limits = Limits(config)
        #: The limits' clock (tests replace it with a fake one).
        self.clock: Callable[[], float] = time.monotonic
        stats.limits_gauge = self._limits_gauge

    def _limits_gauge(self) -> tuple[int, int, int]:
        limits = self.limits
        return limits.blocked_count(self.clock()), limits.blocks, len(limits.peers)

    # --- asyncio callbacks ---------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sockname = transport.get_extra_info("sockname")
        self.local_address = (sockname[0], sockname[1]) if sockname else ("", 0)
        if sockname:
            self.limits.set_own_address(sockname[0])
        sock = transport.get_extra_info("socket")
        if sock is not None:
            recverr = _RECVERR.get(sock.family) if sys.platform == "linux" else None
            if recverr is not None:
                try:
                    sock.setsockopt(*recverr, 1)
                except OSError as exc:  # works without: the request waits its full timeout
                    log.debug("no ICMP errors: %s", exc)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
                self._drain = sock.dup()
                self._drain.setblocking(False)
            except OSError as exc:  # works without: one datagram per loop iteration
                log.debug("no batched reads: %s", exc)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error (port unreachable): the request it answers fails now.
        self.stats.drop(DropReason.SOCKET_ERROR)
        if self._sending:
            self._refused = True  # reported to a sendto, which sent nothing: transmit() resends
            return
        self._read_errors()

    def transmit(self, transport: asyncio.DatagramTransport, data: bytes, peer: Address) -> None:
        """``transport.sendto``, again when it sent nothing: Linux reports an ICMP error
        still pending (IP_RECVERR) to the next socket call, a send included, and
        asyncio's sendto then drops the datagram and tells :meth:`error_received`.
        The errors are read once the datagram is out (failing their requests may
        send more, which must not happen in the middle of this send)."""
        refused = False
        for _ in range(3):
            self._sending = True
            try:
                transport.sendto(data, peer)
            finally:
                self._sending = False
            if not self._refused:
                break
            self._refused = False
            refused = True
        if refused:
            self._read_errors()

    def _read_errors(self) -> None:
        """Fail the requests that ICMP says cannot reach their node (the socket's error
        queue: each error with the datagram it answers and that datagram's destination)."""
        sock = self._drain
        if sock is None:
            return
        for _ in range(RECV_BATCH):
            try:
                data, ancillary, _flags, addr = sock.recvmsg(
                    krpc.UDP_PACKET_LIMIT, 256, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT
                )
            except OSError:  # the queue is empty (or the platform has none)
                return
            for _level, _type, info in ancillary:
                # struct sock_extended_err: u32 ee_errno, u8 ee_origin, ...
                if len(info) >= 5 and info[4] in _ORIGIN_ICMP:
                    if int.from_bytes(info[:4], sys.byteorder) in _UNREACHABLE:
                        self._unreachable((sys.intern(addr[0]), addr[1]), data)

    def _unreachable(self, peer: Address, datagram: bytes) -> None:
        """``datagram``, sent to ``peer``, cannot reach it: fail its request, if it was one."""
        try:
            _message, raw = self.profile.decode(datagram)  # our own bytes
        except RemoteProtocolError:
            return
        tid = raw.get(b"t")
        if raw.get(b"y") == b"q" and isinstance(tid, bytes):
            pending = self.outstanding.fail(peer, tid)
            if pending is not None:
                self._failed_request(pending, unreachable=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._receive(data, addr)
        for _ in range(RECV_BATCH - 1):
            drain = self._drain
            if drain is None:
                return
            try:
                data, addr = drain.recvfrom(RECV_MAX)
            except BlockingIOError:  # nothing more to read
                return
            except OSError:  # an ICMP error: its request fails now
                self._read_errors()
                return
            self._receive(data, addr)

    def _receive(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # Interned: the limits, the table and the requests out keep the peer's host, and
        # every datagram brings a new string of it (in a lab, every node the same hosts).
        peer: Address = (sys.intern(addr[0]), addr[1])
        if self.tap is not None:
            self.tap("in", self.local_address, peer, data, time.time())
        self.stats.packets_in += 1
        self.stats.bytes_in += len(data)
        refused = self.limits.admit(peer[0], len(data), self.clock())
        if refused is not None:
            self._drop(peer, len(data), refused)
            return
        try:
            message, raw = self.profile.decode(data)
        except RemoteProtocolError as exc:
            self._drop(peer, len(data), decode_reason(str(exc)))
            return
        try:
            if raw[b"y"] == b"q":
                self._answer(message, raw, peer, len(data))
            else:
                self._settle(message, raw, peer, len(data))
        except Exception:  # a bug of ours: log it, keep the receive path alive
            log.exception("bug while handling a datagram from %s:%d", *peer)

    # --- queries we receive ---------------------------------------------

    def _answer(self, query: Any, raw: dict[bytes, Any], peer: Address, size: int) -> None:
        now = clock.now()
        counters = self.stats.method(query.method) if query.method in self.profile.methods else None
        if counters is not None:
            counters.received += 1
        if self.bus.active:
            self.bus.emit(DatagramReceived(now, peer, "q", query.method, query.tid, size, raw))
        try:
            values = self.handler(query, peer)
        except QueryDropped as exc:
            self._drop(peer, size, exc.reason)
            return
        except Exception as exc:
            self._failed(query, peer, exc, counters, size)
            return
        if isinstance(values, asyncio.Future):
            self.answering.add(values)
            values.add_done_callback(lambda done: self._answer_later(done, query, peer, counters, size))
            return
        self._respond(query, peer, values, counters, size)

    def _answer_later(
        self, done: asyncio.Future[Any], query: Any, peer: Address, counters: Any, size: int
    ) -> None:
        self.answering.discard(done)
        if done.cancelled() or self.transport is None:
            return  # the node stopped: nothing acknowledged, nothing to answer
        exc = done.exception()
        try:
            if exc is None:
                self._respond(query, peer, done.result(), counters, size)
            elif isinstance(exc, QueryDropped):
                self._drop(peer, size, exc.reason)
            elif isinstance(exc, Exception):
                self._failed(query, peer, exc, counters, size)
        except Exception:  # a bug of ours: log it, as the receive path does
            log.exception("bug while answering %s from %s:%d", query.method, *peer)

    def _failed(self, query: Any, peer: Address, exc: Exception, counters: Any, size: int) -> None:
        """A handler raised: the error reply (201 with the cause for a storage fault or a bug)."""
        if isinstance(exc, KrpcError):
            self._send_error(query, peer, exc, counters, size)
        elif isinstance(exc, StorageFault):  # the disk's, not a bug: the store counted and logged it
            self._send_error(query, peer, self.profile.server_error(str(exc)), counters, size)
        else:
            log.error("handler for %s from %s:%d failed", query.method, *peer, exc_info=exc)
            self._send_error(query, peer, self.profile.server_error(), counters, size)

    def _respond(self, query: Any, peer: Address, values: Any, counters: Any, size: int) -> None:
        if values is None:
            return  # not answered (read-only)
        data, sent = self.profile.encode_response(query.tid, values, peer)
        if sent.get(b"y") == b"e" and counters is not None:
            counters.errors += 1
        self._reply(data, peer, sent, query, size)

    async def drain(self) -> None:
        """Wait until every answer due (handlers' futures) is sent."""
        while self.answering:
            await asyncio.wait(set(self.answering))

    def _send_error(self, query: Any, peer: Address, exc: KrpcError, counters: Any, size: int) -> None:
        if counters is not None:
            counters.errors += 1
        data, msg = self.profile.encode_error(query.tid, exc)
        self._reply(data, peer, msg, query, size)

    def _reply(
        self, data: bytes, peer: Address, raw: dict[bytes, Any], query: Any, size: int
    ) -> None:
        # Only a query with an over-long transaction id (echoed in every
        # reply) can make even an error reply exceed the datagram limit.
        if len(data) > krpc.UDP_PACKET_LIMIT:
            self._drop(peer, size, DropReason.REPLY_TOO_LONG)
            return
        refused = self.limits.allow_reply(peer[0], len(data), self.clock())
        if refused is not None:
            self._drop(peer, size, refused)
            return
        self._send(data, peer, raw, query.method, query.tid)

    # --- answers to our queries -------------------------------------------

    def _settle(self, message: Any, raw: dict[bytes, Any], peer: Address, size: int) -> None:
        now = clock.now()
        answered = raw[b"y"] == b"r"
        found = self.outstanding.answer(peer, message.tid, now, sample=answered)
        if not isinstance(found, Answered):
            if found is None:
                self._drop(peer, size, DropReason.UNEXPECTED_RESPONSE)
            return  # else: the other answer to a request we sent twice: expected, not a drop
        pending = found.pending
        counters = self.stats.method(pending.method)
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
            self._tell(pending, self.profile.answer(message), None, found.sample)
        else:
            self._tell(pending, None, self.profile.error(message), found.sample)

    @staticmethod
    def _tell(pending: Pending, answer: Any, exc: BaseException | None, rtt: float | None = None) -> None:
        try:
            pending.settle(answer, exc, rtt)
        except Exception:  # a bug of the requester's: logged, never the transport's end
            log.exception("settling a %s request to %s:%d", pending.method, *pending.peer)

    # --- sending -----------------------------------------------------

    def request(
        self, peer: Address, method: str, args: Any, settle: Settle, soft_timeout: float | None = None
    ) -> None:
        """Send a query; ``settle`` is told the profile's answer (Khashmir: the response
        dict) or the exception, once, as soon as it is known (no future: an answer's
        next queries go out in the same callback, as libtorrent's traversal does).

        ``args``: the profile's arguments (a dict; Mainline also takes typed ones);
        bad ones raise :class:`LocalError` here.
        """
        if self.transport is None:
            raise NodeStopped("node is not running")
        table = self.outstanding
        tid = table.tid_for(peer)
        data, raw = self.profile.encode_query(tid, method, args)
        now = clock.now()
        pending = table.add(peer, tid, method, settle, now, soft_timeout, data, raw)
        self._arm(now, pending.late_after if pending.resends else pending.expires)
        self.stats.method(method).sent += 1
        self.limits.expect(peer[0], self.clock())
        self._send(data, peer, raw, method, tid, soft_timeout)

    def _arm(self, now: float, at: float | None) -> None:
        """Have the one timer fire at ``at`` if that is sooner than it is set for."""
        if at is None or (self._timer is not None and self._timer_at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(0.0, at - now), self._due)
        self._timer_at = at

    def _due(self) -> None:
        """The timer: send again what is silent past its soft deadline, fail what is past
        its full timeout, then set the timer for the table's next deadline."""
        self._timer = None
        if self.transport is None:
            return
        now = clock.now()
        table = self.outstanding
        for pending in table.resends_due(now):
            self.limits.expect(pending.peer[0], self.clock())
            assert pending.raw is not None
            self._send(pending.data, pending.peer, pending.raw, pending.method, pending.tid, pending.soft_timeout)
        for pending in table.expired(now):  # their settles may send more (and set the timer)
            self._failed_request(pending)
        if self.transport is not None:
            self._arm(clock.now(), table.next_deadline())

    def _failed_request(self, pending: Pending, unreachable: bool = False) -> None:
        """A request's full timeout, or ``unreachable``: nothing listens there (ICMP)."""
        self.stats.method(pending.method).failed += 1
        if self.bus.active:
            self.bus.emit(RequestTimedOut(clock.now(), pending.peer, pending.method, pending.tid))
        where = f"{pending.method} to {pending.peer[0]}:{pending.peer[1]}"
        failure = PortUnreachable(f"{where}: unreachable (ICMP)") if unreachable else RpcTimeout(where)
        self._tell(pending, None, failure)

    def _send(
        self, data: bytes, peer: Address, raw: dict[bytes, Any], method: str, tid: bytes,
        soft_timeout: float | None = None,
    ) -> None:
        if self.transport is None:
            return
        self.transmit(self.transport, data, peer)
        if self.tap is not None:
            self.tap("out", self.local_address, peer, data, time.time())
        self.stats.packets_out += 1
        self.stats.bytes_out += len(data)
        if self.bus.active:
            kind = raw[b"y"].decode()
            code = raw[b"e"][0] if kind == "e" else None
            self.bus.emit(
                DatagramSent(clock.now(), peer, kind, method, tid, len(data), raw, code, soft_timeout)
            )

    def _drop(self, peer: Address, size: int, reason: DropReason) -> None:
        stats = self.stats  # Stats.drop inlined: this runs for every datagram of a flood
        stats.dropped += 1
        stats.drop_reasons[reason] += 1
        if self.bus.active:
            self.bus.emit(DatagramDropped(clock.now(), peer, size, reason.value))

    def cancel_answers(self) -> None:
        """Cancel the answers still due: never sent (a handler's task not started never runs)."""
        answering, self.answering = self.answering, set()
        for fut in answering:
            fut.cancel()

    def close(self) -> None:
        if self._drain is not None:
            self._drain.close()
            self._drain = None
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.cancel_answers()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for p in self.outstanding.clear():
            self._tell(p, None, NodeStopped("node stopped"))


def decode_reason(message: str) -> DropReason:
    """The fixed reason for a :func:`krpc.decode` failure (its text is the peer's to choose)."""
    if message.startswith("not bencode"):
        return DropReason.NOT_BENCODE
    if message.startswith("unknown message type"):
        return DropReason.UNKNOWN_TYPE
    return DropReason.MALFORMED
