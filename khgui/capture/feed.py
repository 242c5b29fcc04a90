"""A capture's messages as the live panels' events, and what the statistics derive (no Qt).

A capture holds datagrams between addresses; the traffic panel shows
datagrams of *our* node.  :class:`Viewpoint` bridges the two by turning each
:class:`dht.CapturedMessage` into the very events a live node emits,
``DatagramSent`` / ``DatagramReceived`` from :mod:`dht.events`, as seen
from one chosen local address: a message from it is sent, one to it is
received, others are not shown.  The viewpoint "every node" shows each
message from the requester's side (queries sent, answers received; the peer
is always the node asked), so every exchange of a whole-lab capture shows
once and pairs.  Times stay wall clock: the events get ``time`` minus the
offset the panels add back (``MONOTONIC_TO_WALL``).

:class:`CaptureStats` counts per method from the same viewpoint, as
``node.stats().methods`` would, straight from the messages (no event per
message), and feeds a :class:`StatsHistory` one sample per second of
capture time, so the plots show rates along the capture.
"""

from __future__ import annotations

import collections
from typing import Any, Iterable

from dht import CapturedMessage, MethodStats, StatsSnapshot
from dht.events import DatagramReceived, DatagramSent

from ..common.text import MONOTONIC_TO_WALL
from ..stats.series import StatsHistory

Address = tuple[str, int]
#: Share of the first messages an address must take part in to be chosen as
#: the default viewpoint: a one-node capture has it in every message; in a
#: lab's even the bootstrap node, which everyone joins, is in far fewer.
DOMINANT_SHARE = 0.9
MAX_CLIENTS = 64  # distinct client versions counted (the rest are not)


def busiest_address(messages: Iterable[CapturedMessage]) -> tuple[Address | None, float]:
    """The address in most of ``messages`` and the share of them it is in."""
    counts: collections.Counter[Address] = collections.Counter()
    total = 0
    for m in messages:
        total += 1
        counts[m.src] += 1
        counts[m.dst] += 1
    if not total:
        return None, 0.0
    address, count = counts.most_common(1)[0]
    return address, count / total


def default_viewpoint(first: list[CapturedMessage]) -> Address | None:
    """Our node when one address takes part in most of the first messages, else None (every node)."""
    address, share = busiest_address(first)
    return address if share >= DOMINANT_SHARE else None


class Viewpoint:
    """Converts captured messages to DatagramSent / DatagramReceived events."""

    def __init__(self, local: Address | None) -> None:
        self.local = local

    def events(self, messages: Iterable[CapturedMessage]) -> list[Any]:
        out: list[Any] = []
        append = out.append
        local = self.local
        shift = MONOTONIC_TO_WALL
        for m in messages:
            if local is None:
                outgoing = m.kind == "q"
                peer = m.dst if outgoing else m.src
            elif m.src == local:
                outgoing, peer = True, m.dst
            elif m.dst == local:
                outgoing, peer = False, m.src
            else:
                continue
            t = m.time - shift
            if outgoing:
                append(DatagramSent(t, peer, m.kind, m.method, m.tid, m.size, m.message, m.error_code))
            else:
                append(DatagramReceived(t, peer, m.kind, m.method, m.tid, m.size, m.message,
                                        rtt=m.rtt, error_code=m.error_code))
        return out


class CaptureHistory(StatsHistory):
    """A :class:`StatsHistory` also fed with counts (a capture has no events to spare)."""

    def add_counts(self, counts: dict[tuple[str, str], int], rtts: list[float]) -> None:
        """What ``add_events`` would count for these messages: per (method, direction), and RTTs."""
        for key, n in counts.items():
            self._counts[key] += n
        self.rtts.extend(rtts)
        self.events_seen += sum(counts.values())


class CaptureStats:
    """Per-method counts and rates over capture time, as seen from a viewpoint.

    Counted straight from the messages (building an event per message only to
    count it would cost more than reading the capture).
    """

    def __init__(self, origin: float, local: Address | None, maxlen: int = 600) -> None:
        self.origin = origin  # wall clock of the capture's first message
        self.local = local
        self.history = CaptureHistory(origin - MONOTONIC_TO_WALL, maxlen)
        self._counters: dict[str, list[float]] = {}  # sent answered failed received errors rtt_total
        self._bin_end: float | None = None
        self._bin_counts: dict[tuple[str, str], int] = collections.defaultdict(int)
        self._bin_rtts: list[float] = []
        self.messages = 0
        self.packets = [0, 0]  # in, out (as seen from the viewpoint)
        self.bytes = [0, 0]
        self.clients: collections.Counter[bytes] = collections.Counter()  # Mainline's "v" (BEP 20)

    def add(self, messages: Iterable[CapturedMessage]) -> None:
        """Count messages (in capture order); close one history sample per second of capture."""
        counters = self._counters
        local = self.local
        for m in messages:
            if local is None:
                outgoing = m.kind == "q"
            elif m.src == local:
                outgoing = True
            elif m.dst == local:
                outgoing = False
            else:
                continue
            self.messages += 1
            client = m.message.get(b"v")
            if type(client) is bytes:
                code = client[:2]  # the client's two letters; the rest is its version
                if code in self.clients or len(self.clients) < MAX_CLIENTS:
                    self.clients[code] += 1
            method = m.method or "?"
            c = counters.get(method)
            if c is None:
                c = counters[method] = [0, 0, 0, 0, 0, 0.0]
            kind = m.kind
            if kind == "q":
                c[0 if outgoing else 3] += 1
            elif not outgoing:
                if kind == "r":
                    c[1] += 1
                    if m.rtt is not None:
                        c[5] += m.rtt
                        self._bin_rtts.append(m.rtt)
                else:
                    c[2] += 1
            elif kind == "e":
                c[4] += 1
            t = m.time
            if self._bin_end is None:
                self._bin_end = t + 1.0
            if t >= self._bin_end:
                self._close_bin()
                if t - self._bin_end > self.history.maxlen:  # a long silence: skip it
                    self._bin_end = t + 1.0
                while t >= self._bin_end:
                    self._close_bin()
            self._bin_counts[(method, "out" if outgoing else "in")] += 1
            self.packets[outgoing] += 1
            self.bytes[outgoing] += m.size

    def _close_bin(self) -> None:
        assert self._bin_end is not None
        self.history.add_counts(self._bin_counts, self._bin_rtts)
        self._bin_counts = collections.defaultdict(int)
        self._bin_rtts = []
        self.history.sample(self._bin_end - MONOTONIC_TO_WALL, self.snapshot())
        self._bin_end += 1.0

    def finish(self) -> None:
        """Close the last, partial second."""
        if self._bin_counts:
            self._close_bin()

    def clients_text(self, top: int = 5) -> str:
        """``"UT 1,234 · LT 56"``: the commonest client codes (Mainline's ``v``), or ""."""
        def name(code: bytes) -> str:
            return code.decode("ascii") if code.isascii() and code.decode("ascii").isprintable() else code.hex()
        return " \u00b7 ".join(f"{name(c)} {n:,}" for c, n in self.clients.most_common(top))

    def snapshot(self) -> StatsSnapshot:
        """The counts so far as a node's snapshot (no table or store in a capture: zeros)."""
        return StatsSnapshot(self.methods(), self.packets[0], self.packets[1], self.bytes[0], self.bytes[1],
                             0, 0, 0, 0, 0, 0, 0.0)

    def methods(self) -> dict[str, MethodStats]:
        return {
            name: MethodStats(int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]),
                              c[5] / c[1] if c[1] else None)
            for name, c in self._counters.items()
        }
