"""The Khashmir queries from the network, with storage off the receive path.

Theory of operation.  The transport answers queries inside
``datagram_received``; a handler that waited for SQLite there (a slow disk, a
database locked by another connection) would hold up every answer behind it,
pings included.  So :class:`KhashmirHandlers` dispatches through an explicit
table (:data:`NETWORK_HANDLERS`, never ``__getattr__``; one for every node) where

* ping, join, find_node and find_value are the node's synchronous handlers
  (:mod:`dht.khashmir.remote`: find_value's count of values is kept in memory), answered
  at once and never behind storage;
* get_value and store_value do their checks at once (sender seen, ``num``,
  token, size: a bad query is answered at once, as before), then return a
  task that reads or writes on the store's storage thread
  (:mod:`dht.storage.worker`); the transport answers it, with the query's
  transaction id, when the task is done: the values, the acknowledgement
  (only once the store committed), 200 for a store the limits refuse, 201
  with the cause for a storage fault.  The answers are the synchronous
  handlers' own (``values_answer``, ``stored_answer``): the bytes on the wire
  are the same.

Hostile input: at most MAX_STORAGE_QUERIES such tasks are in flight.  Over
that (and while the node is stopping) a query is dropped, counted as
:attr:`DropReason.STORAGE_BUSY`, not answered 202 (or any error): 202 means
"malformed packet", which the query is not; an error reply costs upload
that a flood (whose source address may be forged) would direct at whoever
it names, for no gain; and a dropped query is what an overloaded node looks
like anyway: the sender's timeout treats it as a lost datagram and its
lookup moves on to other nodes, as it would for libtorrent's, which drops
what it has no room for.  The limits before decoding (:mod:`dht.core.limits`)
already bound how fast one source can come this far.

The node stopping waits for the answers due (:meth:`dht.rpc.transport.KrpcTransport.drain`,
up to KRPC_TIMEOUT), so that every store acknowledged is committed and every
store admitted is answered if its sender still waits; an aborted node
cancels them unanswered.

``STORAGE_THREAD`` off: every method is the synchronous handler (storage
inline in the receive path, the baseline for ``bench/bench_storage.py``):
:data:`INLINE_HANDLERS`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Protocol

from ..wire import krpc
from ..core.contact import Address
from ..core.errors import StoreRefused
from .remote import KRPC_HANDLERS, KhashmirRemote
from ..core.stats import DropReason
from ..rpc.transport import QueryDropped
from ..wire.codes import KHASHMIR, Meaning

if TYPE_CHECKING:
    from ..core.config import Config
    from ..storage import Store


class HandlerNode(Protocol):
    """What the Khashmir dispatch needs of its node: settings, whether it runs, its store."""

    @property
    def config(self) -> "Config": ...

    @property
    def running(self) -> bool: ...

    @property
    def store(self) -> "Store": ...


#: A handler: the answer's values, or a task of them.
Handler = Callable[..., "dict[bytes, Any] | asyncio.Future[dict[bytes, Any]]"]


class KhashmirHandlers:
    """The Khashmir network dispatch of one node, with its storage queries in flight."""

    def __init__(self, node: HandlerNode, remote: KhashmirRemote) -> None:
        self.node = node
        self.remote = remote
        self.limit = node.config.MAX_STORAGE_QUERIES
        #: storage queries being worked on (their tasks)
        self.in_flight: set[asyncio.Future[dict[bytes, Any]]] = set()
        #: method -> handler(this dispatch, *arguments, _krpc_sender=peer)
        self.handlers = NETWORK_HANDLERS if node.config.STORAGE_THREAD else INLINE_HANDLERS

    def dispatch(self, query: krpc.Query, peer: Address) -> Any:
        args = krpc.check_arguments(query)
        return self.handlers[query.method](self, *args, _krpc_sender=peer)

    def local(self, method: str, args: list[Any]) -> "dict[bytes, Any] | asyncio.Future[dict[bytes, Any]]":
        """The local node's own query (checked ``args``): answered as the network's, its
        storage queries on the storage thread but never dropped as busy (its own lookup
        waits for them)."""
        handler = self.handlers[method]
        if handler is KhashmirHandlers.get_value:
            node_id, key, num = args
            return self._get_value(node_id, key, num, None)
        if handler is KhashmirHandlers.store_value:
            node_id, key, value, token = args
            return self._store_value(node_id, key, value, token, None)
        return handler(self, *args, _krpc_sender=None)

    # --- the storage queries ----------------------------------------------

    def _admit(self) -> None:
        if len(self.in_flight) >= self.limit or not self.node.running:
            raise QueryDropped(DropReason.STORAGE_BUSY)

    def _track(self, task: asyncio.Future[dict[bytes, Any]]) -> asyncio.Future[dict[bytes, Any]]:
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return task

    def get_value(
        self, id: bytes, key: bytes, num: int, _krpc_sender: Address | None = None
    ) -> asyncio.Future[dict[bytes, Any]]:
        self._admit()
        return self._get_value(id, key, num, _krpc_sender)

    def _get_value(self, id: bytes, key: bytes, num: int, sender: Address | None) -> asyncio.Future[dict[bytes, Any]]:
        remote = self.remote
        remote.check_get_value(id, num, sender)
        store = self.node.store

        async def read() -> dict[bytes, Any]:
            return remote.values_answer(await store.values_async(key), num)

        return self._track(asyncio.ensure_future(read()))

    def store_value(
        self, id: bytes, key: bytes, value: bytes, token: bytes, _krpc_sender: Address | None = None
    ) -> asyncio.Future[dict[bytes, Any]]:
        self._admit()
        return self._store_value(id, key, value, token, _krpc_sender)

    def _store_value(
        self, id: bytes, key: bytes, value: bytes, token: bytes, sender: Address | None
    ) -> asyncio.Future[dict[bytes, Any]]:
        remote = self.remote
        publisher, stored_at = remote.check_store_value(id, value, token, sender)
        store = self.node.store

        async def write() -> dict[bytes, Any]:
            try:
                outcome = await store.store_value_async(key, value, stored_at, publisher)
            except StoreRefused as exc:
                raise KHASHMIR.error(Meaning.GENERIC, str(exc)) from None
            return remote.stored_answer(key, value, stored_at, outcome)

        return self._track(asyncio.ensure_future(write()))


def _node_handler(fn: Callable[..., dict[bytes, Any]]) -> Handler:
    """The node's own synchronous handler (the seed's ``krpc_*``), called with this
    dispatch's :class:`KhashmirRemote`."""
    def handler(self: KhashmirHandlers, *args: Any, **kwargs: Any) -> dict[bytes, Any]:
        return fn(self.remote, *args, **kwargs)

    handler.__name__ = handler.__qualname__ = fn.__name__
    return handler


#: The network's dispatch: ping, join, find_node and find_value answered at once by the
#: node's handlers; get_value and store_value as tasks on the storage thread.
NETWORK_HANDLERS: dict[str, Handler] = {
    "ping": _node_handler(KRPC_HANDLERS["ping"]),
    "join": _node_handler(KRPC_HANDLERS["join"]),
    "find_node": _node_handler(KRPC_HANDLERS["find_node"]),
    "find_value": _node_handler(KRPC_HANDLERS["find_value"]),
    "get_value": KhashmirHandlers.get_value,
    "store_value": KhashmirHandlers.store_value,
}
#: STORAGE_THREAD off: every method answered by the node's synchronous handler.
INLINE_HANDLERS: dict[str, Handler] = {
    **NETWORK_HANDLERS,
    "get_value": _node_handler(KRPC_HANDLERS["get_value"]),
    "store_value": _node_handler(KRPC_HANDLERS["store_value"]),
}
