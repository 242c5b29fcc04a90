"""The lookups a node runs: find_node, find_value, get_value, store_value.

Each drives a sans-IO :class:`~dht.lookup.Lookup` over the node's requests
(apt-p2p called these "actions").  The local node is one of the initial
candidates and is asked through its own handlers, so a node finds its own
values and a store lands on it when it is among the closest.

Soft timeouts: a request silent for longer than its soft timeout (its
contact's measured round trips, or the node's: :mod:`dht.rtt`) stops
counting against CONCURRENT_REQS, so the lookup asks one more candidate; it
is still waited for, and its answer counts in full when it comes before
KRPC_TIMEOUT (the requests out and their soft deadlines:
:mod:`dht.inflight`; when a lookup ends: :mod:`dht.lookup`).

Pace: the next queries go out from the callback of the answer, failure or
soft timeout that made room for them, as libtorrent's traversal sends from
its reply handler, not a loop pass and a task wake-up later; the coroutine
of :func:`iterate` only waits for the end (or for its caller's ``wake``).
On loopback a lookup is bound by the CPU of its loop, so each pass saved
per answer is time saved.

Width: every lookup keeps up to CONCURRENT_REQS requests outstanding from
the start, the find_value of a get included: a get runs find_value to its
end, as the seed does, then asks the holders among the closest for their
values (:class:`~dht.lookup.ValueRetrieval`).  Only the explicit, partial
first-holder get (:func:`get_from_first_holder`) runs narrow: one request
outstanding (a greedy descent), widened by one on each soft timeout, up to
CONCURRENT_REQS, stopping at the first holder (see :mod:`dht.lookup`).

Each lookup reports its progress as LookupStarted, LookupQueried,
LookupAnswered and LookupFinished events.

A lookup sees its node through :class:`LookupNode` alone, a narrow protocol
(id, settings, table, requests, events), never the node's other state.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from . import krpc
from .contact import Contact
from .errors import DHTError, RemoteProtocolError
from .events import LookupAnswered, LookupFinished, LookupQueried, LookupStarted
from .inflight import InFlight as _InFlight
from .inflight import describe as _describe
from .khash import distance
from .lookup import Lookup, ValueRetrieval

if TYPE_CHECKING:
    from .config import Config
    from .events import EventBus
    from .routing import RoutingTable
    from .storage import Store
    from .wire.profiles import WireProfile


class LookupNode(Protocol):
    """What a lookup needs of a node, and no more (:class:`dht.node_core.NodeCore` has it).

    The lookups of this module and :mod:`dht.actions_mainline` see a node
    only through this (and :class:`dht.actions_mainline.MainlineLookupNode`):
    its id and settings, the table to start from, requests that tell the
    table their outcome, and the event bus their progress goes to.
    """

    @property
    def id(self) -> bytes: ...
    @property
    def config(self) -> "Config": ...
    @property
    def profile(self) -> "WireProfile": ...
    @property
    def events(self) -> "EventBus": ...
    @property
    def contact(self) -> Contact: ...
    @property
    def table(self) -> "RoutingTable": ...
    @property
    def store(self) -> "Store": ...

    def request(
        self, contact: Contact, method: str, args: Any, soft_timeout: float | None = None,
        on_done: Callable[[asyncio.Future[Any]], None] | None = None,
    ) -> asyncio.Future[Any]: ...

    def soft_timeout(self, contact: Contact | None = None) -> float: ...

    def next_lookup_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Which nodes accepted a store and which refused it (with the error)."""

    key: bytes
    accepted: list[Contact] = field(default_factory=list)
    refused: list[tuple[Contact, str]] = field(default_factory=list)


def slow_detail(what: str, soft: float) -> str:
    """A slow request's detail: silent past its soft timeout, still waited for."""
    return f"no {what} in {soft * 1000:.0f} ms (its soft timeout): asked one more, still waiting"


def _log2(a: bytes, b: bytes) -> float:
    return float(distance(a, b).bit_length() - 1)


class Progress:
    """Emits one lookup's events (nothing when nobody listens)."""

    def __init__(self, node: LookupNode, kind: str, target: bytes) -> None:
        self.node = node
        self.kind = kind
        self.target = target
        self.id = node.next_lookup_id()
        self.start = time.monotonic()
        self.queried = 0
        self.bus = node.events
        if self.bus.active:
            self.bus.emit(LookupStarted(self.start, self.id, kind, target))

    def queried_one(self, contact: Contact, soft_timeout: float | None = None) -> None:
        self.queried += 1
        if self.bus.active:
            self.bus.emit(
                LookupQueried(time.monotonic(), self.id, contact, _log2(contact.id, self.target), soft_timeout)
            )

    def outcome(self, contact: Contact, outcome: str, detail: str = "") -> None:
        if self.bus.active:
            now = time.monotonic()
            self.bus.emit(
                LookupAnswered(
                    now, self.id, contact, _log2(contact.id, self.target), outcome,
                    now - self.start, detail,
                )
            )

    def finished(self, found: int) -> None:
        if self.bus.active:
            now = time.monotonic()
            self.bus.emit(
                LookupFinished(now, self.id, self.kind, self.target, now - self.start, self.queried, found)
            )


async def iterate(
    node: LookupNode,
    target: bytes,
    method: str,
    progress: Progress,
    on_answer: Callable[[Lookup, Contact, dict[bytes, Any]], None] | None = None,
    stop: Callable[[], bool] | None = None,
    wake: asyncio.Event | None = None,
    pause: Callable[[], bool] | None = None,
    window: int | None = None,
    skip: Callable[[Contact], bool] | None = None,
    seeds: list[Contact] | None = None,
    include_self: bool = True,
    query: Any = None,
) -> Lookup:
    """Run one iterative lookup (Khashmir find_node or find_value; Mainline
    find_node, get_peers, get, sample_infohashes) to its end.

    What is sent and read is the node's wire profile's (``lookup_args``,
    ``lookup_answer``); ``on_answer`` gets the profile's reading of each
    answer.  ``skip(contact)``: not to be asked (it counts as failed);
    ``seeds``: candidates besides the table's; ``include_self``: the local
    node is asked too (through its own handlers); ``query``: the arguments
    sent, instead of the profile's plain ones.

    While ``pause()`` is true no new request is sent (those out still count);
    ``wake`` must be set when it may have become false.  ``window``: requests
    outstanding at first (default CONCURRENT_REQS); each soft timeout widens
    it by one, up to CONCURRENT_REQS.
    """
    cfg = node.config
    profile = node.profile
    if query is None:
        query = profile.lookup_args(method, node.id, target)
    node.table.touch(target, time.monotonic())
    start = node.table.find_nodes(target) + (seeds or []) + ([node.contact] if include_self else [])
    exclude = None if include_self else {node.id}
    lookup = Lookup(target, start, cfg.K, cfg.CONCURRENT_REQS, exclude=exclude, window=window,
                    wait_for_all=profile.lookup_waits_for_all)
    wake = wake or asyncio.Event()
    closed = False
    done = False
    errors: list[BaseException] = []

    def pump() -> None:
        """Send what the lookup asks for now, as soon as an answer, a failure or a soft
        timeout has changed it (as libtorrent's traversal does), not one loop pass and
        a task wake-up later; on the end, wake the coroutine."""
        nonlocal done
        if closed or done:
            return
        try:
            while True:
                if stop is not None and stop():
                    done = True
                    break
                again = False
                for contact in lookup.next_queries() if pause is None or not pause() else ():
                    if skip is not None and skip(contact):
                        lookup.failed(contact)
                        again = True  # others may be asked in their place
                    elif not inflight.send(contact, method, query):
                        again = True
                if lookup.finished or (stop is not None and stop()):
                    done = True
                    break
                if not again:
                    return
        except BaseException as exc:  # raised by the coroutine, not lost in a callback
            errors.append(exc)
            done = True
        wake.set()

    def settle(contact: Contact, fut: asyncio.Future[dict[bytes, Any]]) -> None:
        if closed:
            if not fut.cancelled():
                fut.exception()
            return
        exc = fut.exception() if not fut.cancelled() else asyncio.CancelledError()
        if exc is None:
            try:
                nodes, token, num, values = profile.lookup_answer(method, fut.result())
            except RemoteProtocolError as bad:
                lookup.failed(contact)
                progress.outcome(contact, "error", str(bad))
            else:
                lookup.answered(contact, nodes, token, num)
                progress.outcome(contact, "values" if num > 0 else "answered")
                if on_answer is not None:
                    on_answer(lookup, contact, values)
        else:
            lookup.failed(contact)
            outcome, detail = _describe(exc)
            progress.outcome(contact, outcome, detail)
        pump()

    def slow(contact: Contact, soft: float) -> None:
        if closed:
            return
        cand = lookup.candidates.get(contact.id)
        if cand is not None and cand.state == "active":
            lookup.soft_timeout(contact)
            progress.outcome(contact, "slow", slow_detail("answer", soft))
            pump()

    inflight = _InFlight(node, progress, lookup.failed, settle, slow)
    try:
        pump()
        while not done:
            wake.clear()
            await wake.wait()  # set by the end, or by the caller (``pause`` may have changed)
            pump()
        if errors:
            raise errors[0]
    finally:
        closed = True
        inflight.cancel()
    return lookup


async def find_node(node: LookupNode, target: bytes, kind: str = "find_node") -> Lookup:
    progress = Progress(node, kind, target)
    lookup = await iterate(node, target, "find_node", progress)
    if kind == "find_node":
        progress.finished(len(lookup.closest_answered()))
    return lookup


async def find_value(node: LookupNode, key: bytes) -> Lookup:
    progress = Progress(node, "find_value", key)
    lookup = await iterate(node, key, "find_value", progress)
    progress.finished(len(lookup.with_values()))
    return lookup


async def get_value(node: LookupNode, key: bytes, first_holder: bool = False) -> list[bytes]:
    """Values for ``key``, as the seed's valueForKey: the distinct values found.

    A find_value lookup runs to its end (CONCURRENT_REQS wide); then the
    holders among the closest it found are asked for their values with
    get_value, as RETRIEVE_VALUES says (:class:`~dht.lookup.ValueRetrieval`:
    0 all values of every holder, -n up to n values from the closest
    STORE_REDUNDANCY holders, n > 0 up to n).  The node's own values count
    too.

    ``first_holder`` True is the fast, partial get instead: a narrow
    find_value that stops at the first holder answering with values (see
    :func:`get_from_first_holder`).  Never the default.
    """
    if first_holder:
        return await get_from_first_holder(node, key)
    cfg = node.config
    progress = Progress(node, "get_value", key)
    local = await node.store.values_async(key)  # on the storage thread (LookupStarted is out already)
    lookup = await iterate(node, key, "find_value", progress)
    retrieval = ValueRetrieval(
        lookup.with_values(), local, cfg.RETRIEVE_VALUES, cfg.STORE_REDUNDANCY, cfg.CONCURRENT_REQS
    )
    wake = asyncio.Event()
    closed = False

    def settle(contact: Contact, fut: asyncio.Future[dict[bytes, Any]]) -> None:
        exc = fut.exception() if not fut.cancelled() else asyncio.CancelledError()
        if closed:
            return
        if exc is not None:
            retrieval.failed(contact)
            progress.outcome(contact, *_describe(exc))
        else:
            try:
                values = krpc.response_values(fut.result())
            except RemoteProtocolError as bad:
                retrieval.failed(contact)
                progress.outcome(contact, "error", str(bad))
            else:
                retrieval.got_values(contact, values)
                progress.outcome(contact, "values", f"{len(values)} value(s)")
        wake.set()

    def slow(contact: Contact, soft: float) -> None:
        if not closed:
            retrieval.soft_timeout(contact)
            progress.outcome(contact, "slow", slow_detail("values", soft))
            wake.set()

    inflight = _InFlight(node, progress, retrieval.failed, settle, slow)
    try:
        while not retrieval.finished:
            for contact, num in retrieval.next_requests():
                inflight.send(contact, "get_value", {b"id": node.id, b"key": key, b"num": num})
            if retrieval.finished:
                break
            wake.clear()
            await wake.wait()
    finally:
        closed = True
        inflight.cancel()
    result = retrieval.values
    progress.finished(len(result))
    return result


async def get_from_first_holder(node: LookupNode, key: bytes) -> list[bytes]:
    """The fast, partial get: values of the first holders found, not of all.

    A find_value lookup runs narrow (one request outstanding at a time,
    widened by one on each soft timeout up to CONCURRENT_REQS; see
    :mod:`dht.lookup`); each responder reporting values is asked for them at
    once (get_value, ``num`` as RETRIEVE_VALUES says), and the lookup ends
    as soon as a holder has answered with values and no get is outstanding,
    or when it converges.  A key stored by several publishers at different
    holders may come back with only some of its values: only an explicit
    choice (``get_value(..., first_holder=True)``), never the default.
    """
    cfg = node.config
    progress = Progress(node, "get_value", key)
    found: dict[bytes, None] = dict.fromkeys(await node.store.values_async(key))
    retrieve = cfg.RETRIEVE_VALUES
    limit = abs(retrieve) if retrieve else None
    max_holders = cfg.STORE_REDUNDANCY if retrieve < 0 else None
    holders_asked = 0
    gets: set[asyncio.Future[dict[bytes, Any]]] = set()
    answered_with_values = 0
    wake = asyncio.Event()  # set by every answer to a get, as well as by the lookup

    def got_values(contact: Contact, fut: asyncio.Future[dict[bytes, Any]]) -> None:
        nonlocal answered_with_values
        gets.discard(fut)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            progress.outcome(contact, *_describe(exc))
        else:
            try:
                values = krpc.response_values(fut.result())
            except RemoteProtocolError as bad:
                progress.outcome(contact, "error", str(bad))
            else:
                answered_with_values += 1
                for v in values:
                    found.setdefault(v, None)
                progress.outcome(contact, "values", f"{len(values)} value(s)")
        wake.set()

    def on_answer(lookup: Lookup, contact: Contact, values: dict[bytes, Any]) -> None:
        nonlocal holders_asked
        num = values.get(b"num")
        if not isinstance(num, int) or num <= 0 or contact.id == node.id:
            return
        if max_holders is not None and holders_asked >= max_holders:
            return
        if limit is not None and len(found) >= limit:
            return
        holders_asked += 1
        want = 0 if limit is None else limit - len(found)
        if want > num:
            want = 0
        fut = node.request(contact, "get_value", {b"id": node.id, b"key": key, b"num": want},
                           node.soft_timeout(contact))  # sent again if silent (SOFT_RESENDS)
        progress.queried_one(contact)
        gets.add(fut)
        fut.add_done_callback(functools.partial(got_values, contact))

    def enough() -> bool:
        return answered_with_values > 0 and not gets

    def waiting_for_values() -> bool:
        # A holder is being asked for its values: widening the lookup now
        # would mostly be wasted; if every get fails, the lookup goes on.
        return bool(gets)

    await iterate(
        node, key, "find_value", progress, on_answer, enough, wake, waiting_for_values, window=1
    )
    while gets:
        wake.clear()
        await wake.wait()
    result = list(found)
    if limit is not None:
        result = result[:limit]
    progress.finished(len(result))
    return result


async def store_value(node: LookupNode, key: bytes, value: bytes, local: bool = True) -> StoreResult:
    """find_node for the key, then store at the STORE_REDUNDANCY closest with a token.

    With ``local`` False the local node is never one of them (a node about
    to leave, like the CLI's one-shot node, must not count itself).
    """
    progress = Progress(node, "store_value", key)
    lookup = await iterate(node, key, "find_node", progress)
    targets = [
        c for c in lookup.closest_answered()
        if c.token is not None and (local or c.contact.id != node.id)
    ]
    targets = targets[: node.config.STORE_REDUNDANCY]
    result = StoreResult(key)

    async def store_at(contact: Contact, token: bytes) -> None:
        progress.queried_one(contact)
        try:
            await node.request(
                contact, "store_value", {b"id": node.id, b"key": key, b"value": value, b"token": token},
                node.soft_timeout(contact),  # sent again if silent (SOFT_RESENDS)
            )
        except DHTError as exc:
            result.refused.append((contact, str(exc)))
            progress.outcome(contact, "refused", str(exc))
        else:
            result.accepted.append(contact)
            progress.outcome(contact, "stored")

    await asyncio.gather(*(store_at(c.contact, c.token) for c in targets if c.token is not None))
    progress.finished(len(result.accepted))
    return result
