"""Khashmir's value lookups: find_value, get_value (the seed's valueForKey) and store_value.

Each drives the shared lookup (:func:`dht.rpc.iterate.iterate`) with the
seed's methods; a get then asks the holders among the closest for their
values (:class:`~dht.core.lookup.ValueRetrieval`), a store asks the
STORE_REDUNDANCY closest with their tokens.  The theory of a lookup's pace,
width and end is in :mod:`dht.rpc.iterate` and :mod:`dht.core.lookup`.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from typing import Any

from ..core.contact import Contact
from ..core.errors import DHTError, RemoteProtocolError
from ..core.lookup import Lookup, ValueRetrieval
from ..rpc.inflight import InFlight as _InFlight
from ..rpc.inflight import describe as _describe
from ..rpc.iterate import iterate
from ..rpc.progress import LookupNode, Progress, slow_detail
from ..wire import krpc


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Which nodes accepted a store and which refused it (with the error)."""

    key: bytes
    accepted: list[Contact] = field(default_factory=list)
    refused: list[tuple[Contact, str]] = field(default_factory=list)



async def find_value(node: LookupNode, key: bytes) -> Lookup:
    progress = Progress(node, "find_value", key)
    lookup = await iterate(node, key, "find_value", progress)
    progress.finished(len(lookup.with_values()))
    return lookup


async def get_value(node: LookupNode, key: bytes, first_holder: bool = False) -> list[bytes]:
    """Values for ``key``, as the seed's valueForKey: the distinct values found.

    A find_value lookup runs to its end (CONCURRENT_REQS wide); then the
    holders among the closest it found are asked for their values with
    get_value, as RETRIEVE_VALUES says (:class:`~dht.core.lookup.ValueRetrieval`:
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
    :mod:`dht.core.lookup`); each responder reporting values is asked for them at
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
