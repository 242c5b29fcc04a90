"""Statistics like apt-p2p's stats page, and a plain snapshot of them.

:class:`Stats` is updated by the transport and the node as things happen
(plain integer counters, cheap enough for every datagram);
:meth:`Stats.snapshot` copies them into a :class:`StatsSnapshot`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import estimate
from .krpc import METHODS

if TYPE_CHECKING:
    from .routing import RoutingTable


@dataclass(slots=True)
class MethodCounters:
    sent: int = 0  # queries we sent
    answered: int = 0  # of those, answered
    failed: int = 0  # of those, failed: timeout or error reply
    received: int = 0  # queries we received
    errors: int = 0  # error replies we sent to those
    rtt_total: float = 0.0

    @property
    def mean_rtt(self) -> float | None:
        return self.rtt_total / self.answered if self.answered else None


@dataclass(frozen=True, slots=True)
class MethodStats:
    sent: int
    answered: int
    failed: int
    received: int
    errors: int
    mean_rtt: float | None


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    methods: dict[str, MethodStats]
    packets_in: int
    packets_out: int
    bytes_in: int
    bytes_out: int
    dropped: int
    contacts: int
    buckets: int
    network_size: int
    keys: int
    values: int
    uptime: float


@dataclass(slots=True)
class Stats:
    methods: dict[str, MethodCounters] = field(
        default_factory=lambda: {m: MethodCounters() for m in METHODS}
    )
    packets_in: int = 0
    packets_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)

    def method(self, name: str) -> MethodCounters:
        counters = self.methods.get(name)
        if counters is None:
            counters = self.methods[name] = MethodCounters()
        return counters

    def drop(self, reason: str) -> None:
        self.dropped += 1
        self.drop_reasons[reason] = self.drop_reasons.get(reason, 0) + 1

    def snapshot(
        self, contacts: int, buckets: int, k: int, keys: int, values: int, uptime: float,
        table: RoutingTable | None = None,
    ) -> StatsSnapshot:
        return StatsSnapshot(
            methods={
                name: MethodStats(c.sent, c.answered, c.failed, c.received, c.errors, c.mean_rtt)
                for name, c in self.methods.items()
            },
            packets_in=self.packets_in,
            packets_out=self.packets_out,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            dropped=self.dropped,
            contacts=contacts,
            buckets=buckets,
            network_size=estimate_network_size(table, k),
            keys=keys,
            values=values,
            uptime=uptime,
        )


def estimate_network_size(table: RoutingTable | None, k: int) -> int:
    """The network size estimated from the routing table's buckets (see :mod:`dht.estimate`)."""
    if table is None:
        return 1
    buckets = ((b.lo, b.hi, len(b.entries)) for b in table.buckets)
    return estimate.network_size(estimate.bands(buckets, table.own_key), k)
