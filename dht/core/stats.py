"""Statistics like apt-p2p's stats page, and a plain snapshot of them.

:class:`Stats` is updated by the transport and the node as things happen
(plain integer counters, cheap enough for every datagram);
:meth:`Stats.snapshot` copies them into a :class:`StatsSnapshot`.

Drops are counted by :class:`DropReason`, a fixed set: whatever a peer
sends, the counters never grow beyond one integer per reason (a counter
keyed by an error's text would let a peer grow it without bound).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from . import estimate

if TYPE_CHECKING:
    from .routing import RoutingTable


class DropReason(str, enum.Enum):
    """Why a datagram was not accepted, or an answer not sent."""

    OVERSIZE = "oversize"  # longer than MAX_DATAGRAM_SIZE: dropped unparsed
    BLOCKED = "blocked"  # from an IP blocked for flooding: dropped unparsed
    RATE_LIMITED = "rate limited"  # its IP's query budget was spent: dropped unparsed
    BUSY = "busy"  # the global budget was spent: dropped (unparsed, or not answered)
    NOT_BENCODE = "not bencode"
    MALFORMED = "malformed"  # bencode, but not a valid KRPC message
    UNKNOWN_TYPE = "unknown type"  # a `y` other than q, r, e
    UNEXPECTED_RESPONSE = "unexpected response"  # an answer nobody asked for
    BAD_RESPONSE = "bad response"  # an answer with a bad or wrong id
    REPLY_TOO_LONG = "reply too long"  # our reply would exceed 1472 bytes (long tid)
    REPLY_BUDGET = "reply budget"  # the IP's reply budget (bytes) was spent: not answered
    SOCKET_ERROR = "socket error"
    STORAGE_BUSY = "storage busy"  # MAX_STORAGE_QUERIES already in flight (or the node stopping)
    OTHER = "other"

    @classmethod
    def of(cls, reason: "str | DropReason") -> "DropReason":
        """The reason itself, or the one whose text ``reason`` is (OTHER if none)."""
        if isinstance(reason, DropReason):
            return reason
        return _BY_TEXT.get(reason, cls.OTHER)


_BY_TEXT = {r.value: r for r in DropReason}


class DropCounts(dict[DropReason, int]):
    """Drops by reason, each counter made at its first drop (most nodes of a lab drop nothing)."""

    __slots__ = ()

    def __missing__(self, reason: DropReason) -> int:
        return 0


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
    drops: dict[str, int] = field(default_factory=dict)  # DropReason value -> count, every reason
    blocked_peers: int = 0  # source IPs blocked right now
    blocks: int = 0  # times an IP was blocked since start
    tracked_peers: int = 0  # source IPs whose budgets are kept (bounded)
    # BEP 42 (Mainline): our external address as the ``ip`` of answers votes for it
    external_address: str | None = None  # the leader of the votes; None before any / Khashmir
    external_votes: int = 0  # votes behind it (0 if none)
    id_valid: bool | None = None  # our id fits external_address (None: unknown, exempt or Khashmir)
    # the outgoing query budget (dht/core/budget.py)
    query_budget: float = 0.0  # queries a second we may send (0: no budget)
    queries_waiting: int = 0  # queries held back by the budget right now
    queries_delayed: int = 0  # queries ever held back


#: A method's figures before its first use.
_UNUSED = MethodStats(0, 0, 0, 0, 0, None)


@dataclass(slots=True)
class Stats:
    """A node's counters, each made at its first use: a lab's node sends and answers few
    methods, and an empty counter per method and per drop reason was 1.5 KB a node."""

    #: per method, made at the method's first use (:meth:`method`)
    methods: dict[str, MethodCounters] = field(default_factory=dict)
    packets_in: int = 0
    packets_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: int = 0
    drop_reasons: dict[DropReason, int] = field(default_factory=DropCounts)  # 0 for a reason not seen
    #: Set by the transport: (blocked now, blocks since start, tracked IPs).
    limits_gauge: Callable[[], tuple[int, int, int]] | None = None
    #: the methods a snapshot shows even before their first use (the profile's: one tuple for all nodes)
    known: tuple[str, ...] = ()

    def method(self, name: str) -> MethodCounters:
        counters = self.methods.get(name)
        if counters is None:
            counters = self.methods[name] = MethodCounters()
        return counters

    def drop(self, reason: "DropReason | str") -> None:
        """Count one drop; a text that names no reason counts as OTHER."""
        self.dropped += 1
        self.drop_reasons[DropReason.of(reason)] += 1

    def snapshot(
        self, contacts: int, buckets: int, k: int, keys: int, values: int, uptime: float,
        table: RoutingTable | None = None,
    ) -> StatsSnapshot:
        blocked, blocks, tracked = self.limits_gauge() if self.limits_gauge is not None else (0, 0, 0)
        methods = dict.fromkeys(self.known, _UNUSED)
        for name, c in self.methods.items():
            methods[name] = MethodStats(c.sent, c.answered, c.failed, c.received, c.errors, c.mean_rtt)
        drop_reasons = self.drop_reasons
        return StatsSnapshot(
            methods=methods,
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
            drops={r.value: drop_reasons.get(r, 0) for r in DropReason},
            blocked_peers=blocked,
            blocks=blocks,
            tracked_peers=tracked,
        )


def estimate_network_size(table: RoutingTable | None, k: int) -> int:
    """The network size estimated from our closest contacts (see :mod:`dht.core.estimate`)."""
    if table is None:
        return 1
    # Only contacts that answered us: saved contacts of an earlier run, or ids
    # a query merely claimed, would crowd our neighbourhood and inflate it.
    closest = table.closest_entries(table.own_id, k, answered_only=True)
    return estimate.network_size(table.own_key, (entry.key for entry in closest), k)
