"""Bounded time series of a node's statistics (no Qt).

:class:`StatsHistory` counts datagrams per method and direction from event
batches, keeps the round-trip times of answers, and once a second turns a
``node.stats()`` snapshot plus those counts into rates.  Every series holds
at most ``maxlen`` samples.
"""

from __future__ import annotations

import collections
from typing import Any, Iterable

import numpy as np

from dht import events as ev

DEFAULT_MAXLEN = 600
RTT_KEEP = 5000


class Ring:
    """A fixed-size float ring buffer readable as a numpy array, oldest first."""

    __slots__ = ("_data", "_start", "_len")

    def __init__(self, maxlen: int) -> None:
        self._data = np.zeros(maxlen, dtype=float)
        self._start = 0
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def append(self, value: float) -> None:
        size = self._data.size
        self._data[(self._start + self._len) % size] = value
        if self._len < size:
            self._len += 1
        else:
            self._start = (self._start + 1) % size

    def array(self) -> np.ndarray:
        idx = (self._start + np.arange(self._len)) % self._data.size
        return self._data[idx]

    def last(self) -> float:
        if not self._len:
            raise IndexError("empty ring")
        return float(self._data[(self._start + self._len - 1) % self._data.size])


class StatsHistory:
    """Rates and gauges sampled over time."""

    def __init__(self, origin: float, maxlen: int = DEFAULT_MAXLEN) -> None:
        self.origin = origin
        self.maxlen = maxlen
        self.t = Ring(maxlen)
        self.rates: dict[tuple[str, str], Ring] = {}  # (method, "in"/"out") -> msgs/s
        self.bytes_in = Ring(maxlen)
        self.bytes_out = Ring(maxlen)
        self.contacts = Ring(maxlen)
        self.buckets = Ring(maxlen)
        self.network_size = Ring(maxlen)
        self.rtts: collections.deque[float] = collections.deque(maxlen=RTT_KEEP)
        self.timeouts = 0
        self.events_seen = 0
        self._counts: dict[tuple[str, str], int] = collections.defaultdict(int)
        self._last_time: float | None = None
        self._last_bytes: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.t)

    def add_events(self, events: Iterable[Any]) -> None:
        """Count datagrams by method and direction; keep answer RTTs."""
        counts = self._counts
        rtts = self.rtts
        n = 0
        for e in events:
            n += 1
            cls = type(e)
            if cls is ev.DatagramSent:
                counts[(e.method or "?", "out")] += 1
            elif cls is ev.DatagramReceived:
                counts[(e.method or "?", "in")] += 1
                if e.rtt is not None:
                    rtts.append(e.rtt)
            elif cls is ev.RequestTimedOut:
                self.timeouts += 1
        self.events_seen += n

    def sample(self, now: float, snapshot: Any | None) -> None:
        """Close the current interval at monotonic time ``now``."""
        dt = None if self._last_time is None else max(1e-3, now - self._last_time)
        self._last_time = now
        self.t.append(now - self.origin)
        keys = set(self.rates) | set(self._counts)
        for key in sorted(keys):
            ring = self.rates.get(key)
            if ring is None:
                ring = self.rates[key] = Ring(self.maxlen)
                for _ in range(len(self.t) - 1):  # pad the new series to the time axis
                    ring.append(0.0)
            count = self._counts.get(key, 0)
            ring.append(0.0 if dt is None else count / dt)
        self._counts.clear()
        if snapshot is not None:
            b = (int(snapshot.bytes_in), int(snapshot.bytes_out))
            if self._last_bytes is None or dt is None:
                self.bytes_in.append(0.0)
                self.bytes_out.append(0.0)
            else:
                self.bytes_in.append(max(0, b[0] - self._last_bytes[0]) / dt)
                self.bytes_out.append(max(0, b[1] - self._last_bytes[1]) / dt)
            self._last_bytes = b
            self.contacts.append(float(snapshot.contacts))
            self.buckets.append(float(snapshot.buckets))
            self.network_size.append(float(snapshot.network_size))
        else:
            for ring in (self.bytes_in, self.bytes_out, self.contacts, self.buckets, self.network_size):
                ring.append(ring.last() if len(ring) else 0.0)

    def methods(self) -> list[str]:
        return sorted({m for m, _ in self.rates})

    def rtt_histogram(self, bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
        """Bin edges (ms, ``bins + 1`` of them) and counts of the kept RTTs."""
        if not self.rtts:
            return np.array([0.0, 1.0]), np.array([0.0])
        data = np.fromiter(self.rtts, float, len(self.rtts)) * 1000.0
        hi = float(np.percentile(data, 99)) if data.size > 20 else float(data.max())
        hi = max(hi, 0.1)
        counts, edges = np.histogram(np.clip(data, 0, hi), bins=bins, range=(0.0, hi))
        return edges, counts.astype(float)
