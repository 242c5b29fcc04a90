"""The Khashmir queries from the network, with storage off the receive path.

Theory of operation.  The machine answers queries inside
``datagram_received``; a handler that waited for SQLite there (a slow disk, a
database locked by another connection) would hold up every answer behind it,
pings included.  So :class:`KhashmirHandlers` dispatches through an explicit
table (:data:`NETWORK_HANDLERS`, never ``__getattr__``; one for every node) where

* ping, join, find_node and find_value are the node's synchronous handlers
  (:mod:`dht.khashmir.remote`: find_value's count of values is kept in memory), answered
  at once and never behind storage;
* get_value and store_value do their checks at once (``num``, token, size: a
  bad query is answered at once, as before, its sender seen all the same),
  then return a :class:`~dht.machine.replies.Deferred`: the storage job
  (:class:`ReadValues`, :class:`WriteValue`, plain values) that the shell runs
  on the store's storage thread (:meth:`dht.khashmir.protocol.KhashmirProtocol.run_job`),
  and how its result becomes the answer, which the machine sends with the
  query's transaction id when the job is done: the values, the
  acknowledgement (only once the store committed), 200 for a store the
  limits refuse, 201 with the cause for a storage fault.  The answers are
  the synchronous handlers' own (``values_answer``, ``stored_answer``): the
  bytes on the wire are the same.

The handlers never call their node: what they do beyond the answer (the
sender seen, what was stored) is the answer's effects.

Hostile input: at most MAX_STORAGE_QUERIES such jobs are in flight.  Over
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

from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Protocol

from ..wire import krpc
from ..core.contact import Address
from ..core.errors import KrpcError
from ..core.stats import DropReason
from ..machine.replies import Answer, Deferred, QueryDropped
from .remote import KRPC_HANDLERS, KhashmirRemote, seen

if TYPE_CHECKING:
    from ..core.config import Config
    from ..storage import StoreOutcome


class HandlerNode(Protocol):
    """What the Khashmir dispatch reads of its node: settings and whether it runs."""

    @property
    def config(self) -> "Config": ...

    @property
    def running(self) -> bool: ...


class ReadValues(NamedTuple):
    """A storage job: the values stored under ``key``."""

    key: bytes


class WriteValue(NamedTuple):
    """A storage job: store ``value`` under ``key`` (its :class:`~dht.storage.StoreOutcome`)."""

    key: bytes
    value: bytes
    stored_at: float
    publisher: str


#: A handler: an answer, or a deferred one.
Handler = Callable[..., "Answer | Deferred"]


class KhashmirHandlers:
    """The Khashmir network dispatch of one node, with its storage jobs in flight."""

    def __init__(self, node: HandlerNode, remote: KhashmirRemote) -> None:
        self.node = node
        self.remote = remote
        self.limit = node.config.MAX_STORAGE_QUERIES
        #: storage jobs being worked on (a token each, released when the job ends)
        self.in_flight: set[object] = set()
        #: method -> handler(this dispatch, *arguments, _krpc_sender=peer)
        self.handlers = NETWORK_HANDLERS if node.config.STORAGE_THREAD else INLINE_HANDLERS

    def dispatch(self, query: krpc.Query, peer: Address, now: float) -> "Answer | Deferred":
        args = krpc.check_arguments(query)
        remote = self.remote
        remote.now = now
        handler = self.handlers[query.method]  # read at each query: the table is the dispatch
        fn = _UNWRAPPED.get(handler)
        if fn is not None:  # the node's own handler, called without its wrapper
            return fn(remote, *args, _krpc_sender=peer)
        return handler(self, *args, _krpc_sender=peer)

    def local(self, method: str, args: list[Any], now: float) -> "Answer | Deferred":
        """The local node's own query (checked ``args``): answered as the network's, its
        storage queries deferred to the storage thread but never dropped as busy (its
        own lookup waits for them)."""
        self.remote.now = now
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

    def _deferred(self, job: Any, finish: Callable[[Any, float], Answer], effects: tuple[Any, ...]) -> Deferred:
        token = object()
        self.in_flight.add(token)
        return Deferred(job, finish, lambda: self.in_flight.discard(token), effects)

    def get_value(self, id: bytes, key: bytes, num: int, _krpc_sender: Address | None = None) -> "Answer | Deferred":
        self._admit()
        return self._get_value(id, key, num, _krpc_sender)

    def _get_value(self, id: bytes, key: bytes, num: int, sender: Address | None) -> "Answer | Deferred":
        remote = self.remote
        effects = seen(id, sender)
        try:
            remote.check_get_value(num)
        except KrpcError as exc:  # answered with the error, the sender seen all the same
            return Answer(exc, effects)

        def finish(values: list[bytes], now: float) -> Answer:
            return Answer(remote.values_answer(values, num))

        return self._deferred(ReadValues(key), finish, effects)

    def store_value(
        self, id: bytes, key: bytes, value: bytes, token: bytes, _krpc_sender: Address | None = None
    ) -> "Answer | Deferred":
        self._admit()
        return self._store_value(id, key, value, token, _krpc_sender)

    def _store_value(
        self, id: bytes, key: bytes, value: bytes, token: bytes, sender: Address | None
    ) -> "Answer | Deferred":
        remote = self.remote
        effects = seen(id, sender)
        try:
            publisher, stored_at = remote.check_store_value(value, token, sender)
        except KrpcError as exc:  # answered with the error, the sender seen all the same
            return Answer(exc, effects)

        def finish(outcome: "StoreOutcome", now: float) -> Answer:
            return remote.stored_answer(key, value, stored_at, outcome, now)

        return self._deferred(WriteValue(key, value, stored_at, publisher), finish, effects)


def _node_handler(fn: Callable[..., Answer]) -> Handler:
    """The node's own synchronous handler (the seed's ``krpc_*``), called with this
    dispatch's :class:`KhashmirRemote`."""
    def handler(self: KhashmirHandlers, *args: Any, **kwargs: Any) -> Answer:
        return fn(self.remote, *args, **kwargs)

    handler.__name__ = handler.__qualname__ = fn.__name__
    _UNWRAPPED[handler] = fn
    return handler


#: each :func:`_node_handler` -> the node's handler it calls (bound once per dispatch)
_UNWRAPPED: dict[Handler, Callable[..., Answer]] = {}


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
