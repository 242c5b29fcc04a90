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

:class:`CaptureStats` counts per method from those events, as
``node.stats().methods`` would, and feeds a :class:`StatsHistory` one sample
per second of capture time, so the plots show rates along the capture.
"""

from __future__ import annotations

import collections
from typing import Any, Iterable

from dht import CapturedMessage, MethodStats
from dht.events import DatagramReceived, DatagramSent

from ..common.text import MONOTONIC_TO_WALL
from ..stats.series import StatsHistory

Address = tuple[str, int]
#: Share of the first messages an address must take part in to be chosen as
#: the default viewpoint (a one-node capture: 100 %; a lab: each a few %).
DOMINANT_SHARE = 0.5


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


class CaptureStats:
    """Per-method counts and rates over capture time, from viewpoint events."""

    def __init__(self, origin: float, maxlen: int = 600) -> None:
        self.origin = origin  # wall clock of the capture's first message
        self.history = StatsHistory(origin - MONOTONIC_TO_WALL, maxlen)
        self._counters: dict[str, list[float]] = {}  # sent answered failed received errors rtt_total
        self._bin_end: float | None = None
        self._batch: list[Any] = []
        self.messages = 0

    def add(self, events: Iterable[Any]) -> None:
        """Count events (in time order); close one history sample per second of capture."""
        counters = self._counters
        for e in events:
            self.messages += 1
            c = counters.get(e.method or "?")
            if c is None:
                c = counters[e.method or "?"] = [0, 0, 0, 0, 0, 0.0]
            received = type(e) is DatagramReceived
            if e.kind == "q":
                c[3 if received else 0] += 1
            elif received:
                c[1 if e.kind == "r" else 2] += 1
                if e.kind == "r" and e.rtt is not None:
                    c[5] += e.rtt
            elif e.kind == "e":
                c[4] += 1
            if self._bin_end is None:
                self._bin_end = e.time + 1.0
            if e.time >= self._bin_end:
                self._close_bin()
                if e.time - self._bin_end > self.history.maxlen:  # a long silence: skip it
                    self._bin_end = e.time + 1.0
                while e.time >= self._bin_end:
                    self._close_bin()
            self._batch.append(e)

    def _close_bin(self) -> None:
        assert self._bin_end is not None
        self.history.add_events(self._batch)
        self._batch = []
        self.history.sample(self._bin_end, None)
        self._bin_end += 1.0

    def finish(self) -> None:
        """Close the last, partial second."""
        if self._batch:
            self._close_bin()

    def methods(self) -> dict[str, MethodStats]:
        return {
            name: MethodStats(int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]),
                              c[5] / c[1] if c[1] else None)
            for name, c in self._counters.items()
        }
