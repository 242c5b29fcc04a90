"""The event stream: what a node did, as small frozen dataclasses.

The GUI sees the DHT only through these events and the node's public async
methods.  An :class:`EventBus` delivers each event synchronously to every
subscriber, in the order they happened.  Emitting is free when nobody
listens: producers test :attr:`EventBus.active` before building an event.
One vocabulary from core to GUI: the routing table reports what it did with
the contact and bucket events below (stamped with the ``now`` it is given,
see :data:`dht.core.kbucket.TableEvent`), which the node publishes as they are.

Times are seconds on the node's clock (the event loop's, :mod:`dht.rpc.clock`); ``wall`` fields are ``time.time()``.
Ranges are half-open integer intervals ``[lo, hi)`` of the 160-bit id space.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

from .contact import Address, Contact

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]


# --- traffic -------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DatagramSent:
    """A KRPC message we sent.  ``message`` is the decoded dict (bytes keys)."""

    time: float
    peer: Address
    kind: str  # "q", "r" or "e"
    method: str  # the query's method; for r/e the method of the query answered
    tid: bytes
    size: int
    message: dict[bytes, Any]
    error_code: int | None = None  # for kind "e"
    #: For a query a lookup sent: the soft timeout it is judged by (its contact's
    #: srtt + 4 rttvar, or the node's estimate; :mod:`dht.core.rtt`), seconds.
    soft_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class DatagramReceived:
    """A valid KRPC message we received.

    For a response or error to one of our queries, ``method`` is that query's
    method and ``rtt`` its round-trip time in seconds; ``late`` is True when it
    arrived after the lookup had moved on (soft timeout) but within KRPC_TIMEOUT.
    """

    time: float
    peer: Address
    kind: str
    method: str
    tid: bytes
    size: int
    message: dict[bytes, Any]
    rtt: float | None = None
    error_code: int | None = None
    late: bool = False


@dataclass(frozen=True, slots=True)
class DatagramDropped:
    """A datagram we could not accept (not KRPC, rate limited, ...) or an answer not sent.

    ``reason`` is one of the fixed texts of :class:`dht.core.stats.DropReason`
    (never text a peer chose), so any number of these stays small.
    """

    time: float
    peer: Address
    size: int
    reason: str


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """A query of ours got no answer within KRPC_TIMEOUT."""

    time: float
    peer: Address
    method: str
    tid: bytes


# --- routing table -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContactAdded:
    time: float
    contact: Contact
    bucket: tuple[int, int]


@dataclass(frozen=True, slots=True)
class ContactRefreshed:
    """A contact answered us (or sent us a query): seen now."""

    time: float
    contact: Contact


@dataclass(frozen=True, slots=True)
class ContactFailed:
    time: float
    contact: Contact
    failures: int


@dataclass(frozen=True, slots=True)
class ContactReplaced:
    """A full bucket's stale contact gave its place to a new one."""

    time: float
    old: Contact
    new: Contact


@dataclass(frozen=True, slots=True)
class ContactRemoved:
    time: float
    contact: Contact
    reason: str


@dataclass(frozen=True, slots=True)
class BucketSplit:
    """The bucket [lo, hi) split into [lo, mid) and [mid, hi)."""

    time: float
    lo: int
    mid: int
    hi: int


@dataclass(frozen=True, slots=True)
class BucketsMerged:
    """The buckets [lo, mid) and [mid, hi) merged into [lo, hi)."""

    time: float
    lo: int
    mid: int
    hi: int


# --- storage -----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValueStored:
    """A value was stored locally; ``refreshed`` when it was already there."""

    time: float
    key: bytes
    value: bytes
    stored_at: float  # wall clock
    refreshed: bool


@dataclass(frozen=True, slots=True)
class ValueExpired:
    """A value left the store: ``reason`` "expired" (KEY_EXPIRE) or "evicted" (room for another IP)."""

    time: float
    key: bytes
    value: bytes
    reason: str = "expired"


@dataclass(frozen=True, slots=True)
class PeerAnnounced:
    """Mainline: a peer announced ``info_hash`` to us (BEP 5) and was stored."""

    time: float
    info_hash: bytes
    peer: Address
    seed: bool


@dataclass(frozen=True, slots=True)
class ItemStored:
    """Mainline: a BEP 44 item was put here (``seq`` None for an immutable one)."""

    time: float
    target: bytes
    seq: int | None
    size: int  # bytes of its bencoded value


# --- the node itself -----------------------------------------------------

@dataclass(frozen=True, slots=True)
class NodeWarning:
    """One line the user should see about the node itself (a full disk, a read-only
    directory, a database moved aside); storage faults at most once a minute."""

    time: float
    text: str


# --- lookups -----------------------------------------------------------

LookupKind = Literal[
    "find_node", "find_value", "get_value", "store_value",  # Khashmir (find_node: Mainline too)
    "get_peers", "announce_peer", "get", "put", "sample_infohashes",  # Mainline
]
Outcome = Literal["answered", "values", "slow", "timeout", "error", "stored", "refused"]


@dataclass(frozen=True, slots=True)
class LookupStarted:
    time: float
    lookup: int  # an id unique within the node
    kind: str
    target: bytes


@dataclass(frozen=True, slots=True)
class LookupQueried:
    """The lookup sent a request to ``contact``."""

    time: float
    lookup: int
    contact: Contact
    log2_distance: float
    #: The soft timeout the request is judged by, seconds (None: none, it waits its full timeout).
    soft_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class LookupAnswered:
    """A contact asked by a lookup answered, failed or timed out.

    ``outcome``: answered (nodes), values (it holds/returned values), slow
    (silent past its soft timeout: the lookup asked one more candidate and
    still waits for this one, which may answer later), timeout (no answer
    within KRPC_TIMEOUT), error, and for stores: stored or refused.
    ``detail`` is the error text.
    """

    time: float
    lookup: int
    contact: Contact
    log2_distance: float
    outcome: str
    elapsed: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LookupFinished:
    time: float
    lookup: int
    kind: str
    target: bytes
    elapsed: float
    queried: int
    found: int  # contacts found (find_node/store) or values found (get_value)


# --- the lab (dht.Lab's own bus: the nodes of a local lab) ------------------

@dataclass(frozen=True, slots=True)
class LabProgress:
    """How far a lab has formed: ``stage`` "starting" (``done`` of ``total``
    nodes listening), "introducing" (``done`` of ``total`` formation requests
    settled) or "formed" (``done`` == ``total`` == the number of nodes)."""

    time: float
    stage: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class LabNodeChanged:
    """A lab node was ``added``, ``killed`` or ``revived`` (``by_churn``: by the
    lab's churn rather than on request)."""

    time: float
    contact: Contact
    change: str
    by_churn: bool = False


@dataclass(frozen=True, slots=True)
class LabConditionsChanged:
    """The lab's network conditions are now those described (see dht.lab.conditions)."""

    time: float
    latency_ms: float
    jitter_ms: float
    loss: float
    churn_per_min: float
    preset: str = "flat"  # "flat", or "public": each node's latency drawn (latency_ms 0)


@dataclass(frozen=True, slots=True)
class LabWorkerLost:
    """A worker process of a lab in processes (:class:`dht.LabProcesses`) ended unasked:
    its ``nodes`` (how many ran there) are dead from now on; ``exitcode`` as
    :attr:`multiprocessing.Process.exitcode` (negative: killed by that signal)."""

    time: float
    worker: int
    nodes: int
    exitcode: int | None


# --- crawls (dht/crawl, dht/node/crawling.py) -------------------------------------

@dataclass(frozen=True, slots=True)
class CrawlProgress:
    """A crawl under way (at most 4 a second): queries ``asked``, nodes that ``answered``,
    nodes ``found`` (answered or listed), and the size estimate so far with its 95 %
    interval (None: nothing to go on yet)."""

    time: float
    crawl_id: int
    asked: int
    answered: int
    found: int
    estimate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class CrawlFinished:
    """A crawl ended, with its census (a :class:`dht.Census`); ``stopped``: it was
    stopped before it had asked everything (the census keeps what was found)."""

    time: float
    crawl_id: int
    census: Any
    stopped: bool


Event = Union[
    DatagramSent, DatagramReceived, DatagramDropped, RequestTimedOut,
    ContactAdded, ContactRefreshed, ContactFailed, ContactReplaced, ContactRemoved,
    BucketSplit, BucketsMerged, ValueStored, ValueExpired, PeerAnnounced, ItemStored, NodeWarning,
    LookupStarted, LookupQueried, LookupAnswered, LookupFinished,
    LabProgress, LabNodeChanged, LabConditionsChanged, CrawlProgress, CrawlFinished, LabWorkerLost,
]
Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out of events to subscribers."""

    __slots__ = ("_subscribers", "active")

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.active = False

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns an unsubscribe function."""
        self._subscribers.append(callback)
        self.active = True

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
            self.active = bool(self._subscribers)

        return unsubscribe

    def emit(self, event: Event) -> None:
        for callback in tuple(self._subscribers):
            try:
                callback(event)
            except Exception:  # a subscriber's bug must not break the node
                log.exception("event subscriber %r failed on %r", callback, event)


__all__ = [
    "Direction",
    "DatagramSent",
    "DatagramReceived",
    "DatagramDropped",
    "RequestTimedOut",
    "ContactAdded",
    "ContactRefreshed",
    "ContactFailed",
    "ContactReplaced",
    "ContactRemoved",
    "BucketSplit",
    "BucketsMerged",
    "ValueStored",
    "ValueExpired",
    "PeerAnnounced",
    "ItemStored",
    "NodeWarning",
    "LookupKind",
    "Outcome",
    "LookupStarted",
    "LookupQueried",
    "LookupAnswered",
    "LookupFinished",
    "LabProgress",
    "LabNodeChanged",
    "LabConditionsChanged",
    "CrawlProgress",
    "CrawlFinished",
    "LabWorkerLost",
    "Event",
    "Subscriber",
    "EventBus",
]
