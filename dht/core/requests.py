"""The requests a node has out: transaction ids, expiry, resends and round-trip times (sans-IO).

Theory of operation.  A request is keyed by (peer address, transaction id):
an answer must come from the address asked, with the id sent.  Every
request waits the same ``timeout`` (KRPC_TIMEOUT), so the requests out, kept
in the order they were sent (a dict keeps insertion order), are also in the
order they expire: the first one is the next to expire, and one deadline
serves them all.

A lookup's request has a soft timeout as well (its contact's srtt + 4
rttvar, :mod:`dht.core.rtt`).  Silent past it, the request is sent again
with the same transaction id, up to ``resends`` times: at the soft timeout,
then after twice as long (while before its full timeout).  A resend is the
same datagram, kept with the request while it may go again.  An answer to
a request sent more than once is not an RTT sample (Karn's rule: which send
it answers is unknown), and its other answer, when it comes, is expected:
the table remembers the last RESENT_KEPT such requests, so that the second
answer is not counted as a stranger's.

A request may also ask to be told when it is late: silent at its soft
deadline, once (``late``: a lookup then asks one more candidate, and still
waits for this one).  :meth:`RequestTable.late_due` says which.  So a
lookup's soft timeouts run on the table's deadline, the node's one timer,
and count from when the request was sent (not from when the lookup chose
it: a request the query budget holds back is not late).

The table never sends and never reads a clock.  The shell (the transport)
asks it for a transaction id, adds the request with the datagram it sent,
hands it each answer, and arms one timer at :meth:`RequestTable.next_deadline`;
when the timer fires, :meth:`RequestTable.resends_due` says what to send
again, :meth:`RequestTable.late_due` what is late and :meth:`RequestTable.expired`
what has failed.  How a request ended
is told to its ``settle`` by the shell, with the table's verdict.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from .contact import Address
from .rtt import RttEstimator

#: Told how a request ended, at once: ``settle(answer, None, rtt)`` or
#: ``settle(None, exception, rtt)``; ``rtt`` the seconds from sending to the reply,
#: None when none came (timeout, stop) or when it cannot be known (a resent request).
Settle = Callable[[Any, "BaseException | None", "float | None"], None]

Key = tuple[Address, bytes]

#: Settled requests that were sent more than once, remembered for their other answer.
RESENT_KEPT = 1024

#: A deadline this close is taken as passed (a timer may fire a hair early).
EARLY = 0.001


@dataclass(slots=True)
class Pending:
    """One request out."""

    settle: Settle
    peer: Address
    method: str
    tid: bytes
    sent: float  # when it first went out
    expires: float  # when it fails, silent
    late_after: float  # after this an answer is late (its soft timeout, or its full one)
    resends: int = 0  # times it may still be sent again (a lookup's request, silent)
    resent: bool = False  # sent again: its answer's RTT is ambiguous (Karn), not sampled
    data: bytes = b""  # what was sent, kept while it may be sent again
    raw: dict[bytes, Any] | None = None  # the same, decoded (for the events)
    late: Callable[[], None] | None = None  # told once when silent at its soft deadline

    @property
    def soft_timeout(self) -> float:
        return self.late_after - self.sent


class Answered(NamedTuple):
    """An answer matched to its request (a named tuple: one is made for every answer)."""

    pending: Pending
    rtt: float  # seconds since the request first went out
    sample: float | None  # the RTT sample it gave (None: the request was resent)
    late: bool  # after the request's soft timeout


#: :meth:`RequestTable.answer`'s verdict on the other answer to a request sent twice.
EXPECTED = "expected"


class RequestTable:
    """The requests out of one node (see the module's docstring)."""

    def __init__(self, timeout: float, resends: int, new_tid: Callable[[], bytes]) -> None:
        self.timeout = timeout
        self.resends = resends
        self._new_tid = new_tid
        #: requests out, oldest first
        self.pending: dict[Key, Pending] = {}
        #: the node's round-trip times, from every answer that is a sample
        self.rtt = RttEstimator()
        #: (when, n, key) of the requests to send again, earliest first
        self._resend_at: list[tuple[float, int, Key]] = []
        self._resend_n = itertools.count()
        #: (when, n, key) of the requests to tell they are late, earliest first
        self._late_at: list[tuple[float, int, Key]] = []
        #: requests sent more than once and settled: a second answer is no stranger's
        self._resent_settled: dict[Key, bool] = {}

    def __len__(self) -> int:
        return len(self.pending)

    def tid_for(self, peer: Address) -> bytes:
        """A transaction id no request out to ``peer`` has."""
        tid = self._new_tid()
        while (peer, tid) in self.pending:
            tid = self._new_tid()
        return tid

    def add(
        self, peer: Address, tid: bytes, method: str, settle: Settle, now: float,
        soft_timeout: float | None = None, data: bytes = b"", raw: dict[bytes, Any] | None = None,
        late: Callable[[], None] | None = None,
    ) -> Pending:
        """A request sent now.  With a ``soft_timeout`` (a lookup's request) it is sent
        again when silent, as long as ``resends`` allows (``data`` and ``raw`` kept)."""
        late_after = now + (soft_timeout if soft_timeout is not None else self.timeout)
        pending = Pending(settle, peer, method, tid, now, now + self.timeout, late_after)
        self.pending[(peer, tid)] = pending
        if soft_timeout is not None and self.resends and late_after < pending.expires:
            pending.resends, pending.data, pending.raw = self.resends, data, raw
            heapq.heappush(self._resend_at, (late_after, next(self._resend_n), (peer, tid)))
        if late is not None and soft_timeout is not None and late_after < pending.expires:
            pending.late = late
            heapq.heappush(self._late_at, (late_after, next(self._resend_n), (peer, tid)))
        return pending

    def answer(self, peer: Address, tid: bytes, now: float, sample: bool = True) -> Answered | str | None:
        """The request an answer (or error reply) from ``peer`` settles, taken out of
        the table; :data:`EXPECTED` for the other answer to a request sent twice; None
        for an answer nobody asked for.  ``sample``: an answer (not an error reply),
        whose round trip feeds the node's estimate unless the request was resent."""
        key = (peer, tid)
        pending = self.pending.pop(key, None)
        if pending is None:
            return EXPECTED if self._resent_settled.pop(key, False) else None
        if pending.resent:
            settled = self._resent_settled
            if len(settled) >= RESENT_KEPT:
                del settled[next(iter(settled))]
            settled[key] = True
        rtt = now - pending.sent
        taken = None if pending.resent else rtt  # Karn: a resent request's RTT is ambiguous
        if sample and taken is not None:
            self.rtt.sample(taken)
        return Answered(pending, rtt, taken, now > pending.late_after)

    def fail(self, peer: Address, tid: bytes) -> Pending | None:
        """Take out the request ``(peer, tid)`` (nothing listens there), if it is out."""
        return self.pending.pop((peer, tid), None)

    def expired(self, now: float) -> list[Pending]:
        """Take out every request past its full timeout, oldest first."""
        due: list[Key] = []
        for key, pending in self.pending.items():
            if pending.expires > now + EARLY:
                break
            due.append(key)
        return [self.pending.pop(key) for key in due]

    def resends_due(self, now: float) -> list[Pending]:
        """The requests silent past their soft deadline, to be sent again now (each is
        marked resent, and scheduled once more after twice as long while it may)."""
        out: list[Pending] = []
        due = self._resend_at
        while due and due[0][0] <= now + EARLY:
            _when, _n, key = heapq.heappop(due)
            pending = self.pending.get(key)
            if pending is None or not pending.resends or pending.raw is None:
                continue  # answered, failed or stopped meanwhile
            pending.resends -= 1
            pending.resent = True
            if pending.resends:
                wait = pending.soft_timeout * 2 ** (self.resends - pending.resends)
                if now + wait < pending.expires:
                    heapq.heappush(due, (now + wait, next(self._resend_n), key))
            out.append(pending)
        return out

    def late_due(self, now: float) -> list[Pending]:
        """The requests silent past their soft deadline that asked to be told, once each."""
        out: list[Pending] = []
        due = self._late_at
        while due and due[0][0] <= now + EARLY:
            _when, _n, key = heapq.heappop(due)
            pending = self.pending.get(key)
            if pending is not None and pending.late is not None and pending.late_after == _when:
                out.append(pending)
        return out

    def next_deadline(self) -> float | None:
        """When the shell must call back (resends, then expiries), or None: nothing out."""
        oldest = next(iter(self.pending.values()), None)
        at = None if oldest is None else oldest.expires
        due = self._resend_at
        while due and (due[0][2] not in self.pending):  # answered meanwhile: forget it
            heapq.heappop(due)
        if due and (at is None or due[0][0] < at):
            at = due[0][0]
        late = self._late_at
        while late and (late[0][2] not in self.pending):
            heapq.heappop(late)
        if late and (at is None or late[0][0] < at):
            at = late[0][0]
        return at

    def clear(self) -> list[Pending]:
        """Take out every request (the node stops)."""
        pending, self.pending = self.pending, {}
        self._resend_at.clear()
        self._late_at.clear()
        return list(pending.values())
