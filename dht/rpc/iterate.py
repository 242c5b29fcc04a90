"""The lookup driver both profiles share: :func:`iterate`, and find_node.

Each lookup (find_node here; Khashmir's find_value, get_value and store_value
in :mod:`dht.khashmir.lookups`; Mainline's in :mod:`dht.mainline.lookups`) drives a sans-IO :class:`~dht.core.lookup.Lookup` over the node's requests
(apt-p2p called these "actions").  The local node is one of the initial
candidates and is asked through its own handlers, so a node finds its own
values and a store lands on it when it is among the closest.

Soft timeouts: a request silent for longer than its soft timeout (its
contact's measured round trips, or the node's: :mod:`dht.core.rtt`) stops
counting against CONCURRENT_REQS, so the lookup asks one more candidate; it
is still waited for, and its answer counts in full when it comes before
KRPC_TIMEOUT (the requests out and their soft deadlines:
:mod:`dht.rpc.inflight`; when a lookup ends: :mod:`dht.core.lookup`).

Pace: the next queries go out from the callback of the answer, failure or
soft timeout that made room for them, as libtorrent's traversal sends from
its reply handler, not a loop pass and a task wake-up later; the coroutine
of :func:`iterate` only waits for the end (or for its caller's ``wake``).
On loopback a lookup is bound by the CPU of its loop, so each pass saved
per answer is time saved.

Width: every lookup keeps up to CONCURRENT_REQS requests outstanding from
the start, the find_value of a get included: a get runs find_value to its
end, as the seed does, then asks the holders among the closest for their
values (:class:`~dht.core.lookup.ValueRetrieval`).  Only the explicit, partial
first-holder get (:func:`get_from_first_holder`) runs narrow: one request
outstanding (a greedy descent), widened by one on each soft timeout, up to
CONCURRENT_REQS, stopping at the first holder (see :mod:`dht.core.lookup`).

Each lookup reports its progress as LookupStarted, LookupQueried,
LookupAnswered and LookupFinished events.

A lookup sees its node through :class:`LookupNode` alone, a narrow protocol
(id, settings, table, requests, events), never the node's other state.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from . import clock
from ..core.contact import Contact
from ..core.errors import RemoteProtocolError
from .inflight import InFlight as _InFlight
from .progress import LookupNode, Progress, slow_detail
from .inflight import describe as _describe
from ..core.lookup import Lookup



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
    node.table.touch(target, clock.now())
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
