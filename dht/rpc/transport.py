"""The thin asyncio shell of a node's KRPC: a UDP socket, one timer, storage jobs.

:class:`KrpcTransport` owns the socket and feeds the sans-IO
:class:`dht.machine.machine.KrpcMachine` what happens -- each datagram with
its sender and ``now``, our queries, its timer, the end of each storage job
-- then carries out what the machine returns, in its order: datagrams to
send, requests to settle (the requester's callback), senders to offer to the
routing table (the node's ``on_seen``), storage jobs to run (the node's
``run_job``: an awaitable; the query is answered when it is done, the
receive path going on meanwhile, so pings are never held up by storage),
and events to tell.  ``now`` is read once per datagram, from :attr:`clock`
(the node's one clock, :func:`dht.rpc.clock.now`; tests give a fake one).

:meth:`KrpcTransport.drain` waits for the answers still due (a stopping
node); :meth:`KrpcTransport.close` cancels them and ends every request out
with :class:`NodeStopped`.  Each datagram out is counted in :class:`Stats`
and, when someone listens, reported as ``DatagramSent``; a capture's tap
sees every datagram in and out.

The socket itself -- batched reads, a large receive buffer, ICMP errors
that fail a request to a port nobody listens on at once -- is
:mod:`dht.rpc.udp`'s.  Nothing a peer sends can raise out of
:meth:`datagram_received`: the machine drops and counts bad datagrams and
logs handler bugs, and a requester's failing settle callback is logged here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from typing import Any, Awaitable, Callable, Hashable, cast

from . import clock, udp
from ..core.budget import QueryBudget
from ..core.config import Config
from ..core.contact import Address
from ..core.errors import NodeStopped
from ..core.events import DatagramSent, Event, EventBus
from ..core.limits import Limits
from ..core.requests import RequestTable, Settle as SettleFn
from ..core.stats import DropReason, Stats
from ..machine.machine import KrpcMachine, QueryHandler
from ..machine.outputs import Late, Output, RunJob, Send, Settle, Stopped
from ..machine.replies import SenderSeen
from ..wire.profiles import WireProfile, profile_for

log = logging.getLogger(__name__)

#: ``tap(direction, local, peer, data, now)``: every datagram "in" or "out", ``now`` wall clock.
Tap = Callable[[str, Address, Address, bytes, float], None]


class KrpcTransport(asyncio.DatagramProtocol):
    def __init__(
        self, handler: QueryHandler, stats: Stats, bus: EventBus, timeout: float,
        config: Config | None = None, profile: WireProfile | None = None,
        on_seen: Callable[[bytes, Address, bool], object] | None = None,
        run_job: Callable[[Any], Awaitable[Any]] | None = None,
        budget: QueryBudget[Hashable] | None = None,
    ) -> None:
        self.profile: WireProfile = profile or profile_for("khashmir")
        self.machine = KrpcMachine(self.profile, handler, stats, bus, timeout, config, budget)
        self.stats = stats
        self.bus = bus
        #: the node's offer of a query's sender to its routing table: ``on_seen(*SenderSeen)``
        self.on_seen = on_seen
        #: the node's runner of a storage job (an awaitable of its result)
        self.run_job = run_job
        self._timer: asyncio.TimerHandle | None = None  # the one timer: the machine's next deadline
        self._timer_at = 0.0
        #: answers still due: the storage jobs running, with their machine refs
        self.answering: dict[asyncio.Future[Any], int] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self._drain: socket.socket | None = None
        self.tap: Tap | None = None  # a packet capture (dht.capture)
        self._sending = False  # in transmit(): an error reported now is the send's
        self._refused = False
        self.local_address: Address = ("", 0)
        #: The node's one clock (tests replace it with a fake one).
        self.clock: Callable[[], float] = clock.now
        stats.limits_gauge = self._limits_gauge

    @property
    def limits(self) -> Limits:
        return self.machine.limits

    @property
    def outstanding(self) -> RequestTable:
        """The requests out (the machine's table)."""
        return self.machine.requests

    def _limits_gauge(self) -> tuple[int, int, int]:
        limits = self.machine.limits
        return limits.blocked_count(self.clock()), limits.blocks, len(limits.peers)

    # --- asyncio callbacks ---------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sockname = transport.get_extra_info("sockname")
        self.local_address = (sockname[0], sockname[1]) if sockname else ("", 0)
        if sockname:
            self.machine.limits.set_own_address(sockname[0])
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self._drain = udp.prepare(sock)

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
        self._sending = True  # the common case: sent at the first try
        try:
            transport.sendto(data, peer)
        finally:
            self._sending = False
        if not self._refused:
            return
        self._refused = False
        for _ in range(2):  # refused: twice more at most
            self._sending = True
            try:
                transport.sendto(data, peer)
            finally:
                self._sending = False
            if not self._refused:
                break
            self._refused = False
        self._read_errors()

    def _read_errors(self) -> None:
        """Fail the requests that ICMP says cannot reach their node (the socket's error
        queue: each error with the datagram it answers and that datagram's destination)."""
        if self._drain is not None:
            for peer, datagram in udp.unreachable(self._drain):
                self._carry_out(self.machine.unreachable(peer, datagram, self.clock()))

    def port_unreachable(self, peer: Address, datagram: bytes) -> None:
        """Nothing listens at ``peer``, where ``datagram`` went (a shared lab socket says so,
        :mod:`dht.rpc.shared_port`, as ICMP does to a socket of its own): its request fails now."""
        if self.transport is not None:
            self._carry_out(self.machine.unreachable(peer, datagram, self.clock()))

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._receive(data, addr)
        for _ in range(udp.RECV_BATCH - 1):
            drain = self._drain
            if drain is None:
                return
            try:
                data, addr = drain.recvfrom(udp.RECV_MAX)
            except BlockingIOError:  # nothing more to read
                return
            except OSError:  # an ICMP error: its request fails now
                self._read_errors()
                return
            self._receive(data, addr)

    def receive_one(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """One datagram handed in by something other than the socket (a forming lab's
        in-process fabric, :mod:`dht.lab.fabric`): as :meth:`datagram_received`, without
        trying the socket for more."""
        self._receive(data, addr)

    def _receive(self, data: bytes, addr: tuple[Any, ...]) -> None:
        # Interned: the limits, the table and the requests out keep the peer's host, and
        # every datagram brings a new string of it (in a lab, every node the same hosts).
        peer: Address = (sys.intern(addr[0]), addr[1])
        if self.tap is not None:
            self.tap("in", self.local_address, peer, data, time.time())
        out = self.machine.receive(data, peer, self.clock())
        if out:
            self._carry_out(out)

    # --- what the machine says ------------------------------------------

    def _carry_out(self, outputs: list[Output]) -> None:
        """Do what the machine returned, in its order."""
        for out in outputs:
            if type(out) is Send:
                self._send(out)
            elif type(out) is SenderSeen:
                if self.on_seen is not None:
                    self.on_seen(*out)
            elif type(out) is Settle:
                self._tell(out)
            elif type(out) is Late:
                self._late(out)
            elif type(out) is RunJob:
                self._start_job(out)
            elif type(out) is Stopped:
                self._never_sent(out)
            elif self.bus.active:  # an event a handler reported
                self.bus.emit(cast(Event, out))

    @staticmethod
    def _tell(settle: Settle) -> None:
        pending = settle.pending
        try:
            pending.settle(settle.answer, settle.exc, settle.rtt)
        except Exception:  # a bug of the requester's: logged, never the transport's end
            log.exception("settling a %s request to %s:%d", pending.method, *pending.peer)

    @staticmethod
    def _late(late: Late) -> None:
        pending = late.pending
        if pending.late is None:
            return
        try:
            pending.late()
        except Exception:  # a bug of the requester's: logged, never the transport's end
            log.exception("telling a %s request to %s:%d it is late", pending.method, *pending.peer)

    @staticmethod
    def _never_sent(stopped: Stopped) -> None:
        try:
            stopped.settle(None, NodeStopped("node stopped"), None)
        except Exception:  # a bug of the requester's: logged, never the transport's end
            log.exception("telling a query held back that the node stopped")

    def _start_job(self, run: RunJob) -> None:
        if self.run_job is None:
            raise RuntimeError("a handler deferred to storage, and this transport runs no jobs")
        fut = asyncio.ensure_future(self.run_job(run.job))
        self.answering[fut] = run.ref
        fut.add_done_callback(self._job_done)

    def _job_done(self, done: asyncio.Future[Any]) -> None:
        ref = self.answering.pop(done, None)
        if ref is None or done.cancelled() or self.transport is None:
            return  # the node stopped: nothing acknowledged, nothing to answer
        exc = done.exception()
        try:
            self._carry_out(self.machine.job_done(ref, None if exc is not None else done.result(), exc, self.clock()))
        except Exception:  # a bug of ours: logged, as the receive path does
            log.exception("bug while answering a query that waited for storage")

    async def drain(self) -> None:
        """Wait until every answer due (the storage jobs running) is sent."""
        while self.answering:
            await asyncio.wait(set(self.answering))

    # --- sending -----------------------------------------------------

    def request(
        self, peer: Address, method: str, args: Any, settle: SettleFn, soft_timeout: float | None = None,
        late: Callable[[], None] | None = None, key: Hashable | None = None,
    ) -> bool:
        """Send a query, or hold it back (False) while the node's query budget is spent
        when it has a ``key`` (:meth:`withdraw` it with that key; it goes when the
        budget allows, on the one timer); ``settle`` is told the profile's answer (Khashmir: the response
        dict) or the exception, once, as soon as it is known (no future: an answer's
        next queries go out in the same callback, as libtorrent's traversal does);
        ``late``, with a ``soft_timeout``, is told once if it is silent that long
        (counted from when it was sent).

        ``args``: the profile's arguments (a dict; Mainline also takes typed ones);
        bad ones raise :class:`LocalError` here.
        """
        if self.transport is None:
            raise NodeStopped("node is not running")
        now = self.clock()
        sent = self.machine.request(peer, method, args, settle, now, soft_timeout, late, key)
        if sent is None:
            self._arm(now, self.machine.next_deadline(now))
            return False
        self._arm(now, sent[1])
        self._send(sent[0])
        return True

    def withdraw(self, key: Hashable) -> bool:
        """Take back a query held back by the budget (its caller gave up): True if it was."""
        return self.machine.withdraw(key)

    def rearm(self) -> None:
        """The budget changed: the timer for the machine's next deadline, if sooner."""
        if self.transport is not None:
            now = self.clock()
            self._arm(now, self.machine.next_deadline(now))

    def _arm(self, now: float, at: float | None) -> None:
        """Have the one timer fire at ``at`` if that is sooner than it is set for."""
        if at is None or (self._timer is not None and self._timer_at <= at):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(0.0, at - now), self._due)
        self._timer_at = at

    def _due(self) -> None:
        """The timer: the machine's resends and expiries, then the timer for its next deadline."""
        self._timer = None
        if self.transport is None:
            return
        self._carry_out(self.machine.timer(self.clock()))  # settles may send more (and set the timer)
        if self.transport is not None:
            now = self.clock()
            self._arm(now, self.machine.next_deadline(now))

    def _send(self, send: Send) -> None:
        if self.transport is None:
            return
        data, peer = send.data, send.peer
        self.transmit(self.transport, data, peer)
        if self.tap is not None:
            self.tap("out", self.local_address, peer, data, time.time())
        stats = self.stats
        stats.packets_out += 1
        stats.bytes_out += len(data)
        if self.bus.active:
            raw = send.raw
            kind = raw[b"y"].decode()
            code = raw[b"e"][0] if kind == "e" else None
            self.bus.emit(
                DatagramSent(self.clock(), peer, kind, send.method, send.tid, len(data), raw, code, send.soft_timeout)
            )

    def cancel_answers(self) -> None:
        """Cancel the answers still due: never sent (a job not started never runs)."""
        answering, self.answering = self.answering, {}
        for fut in answering:
            fut.cancel()
        self.machine.cancel_jobs()

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
        self._carry_out(self.machine.close())
