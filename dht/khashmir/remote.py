"""The remote interface: the six KRPC methods a Khashmir node answers.

The handlers keep the seed's signatures (apt-p2p's ``khashmir.py`` after
"Reorganize the DHT's remote interface parameters"): the sender's ``id``
first, then the method's arguments in knode order, then ``_krpc_sender``,
the (host, port) the query came from.  They return an
:class:`~dht.machine.replies.Answer` and never call their node: with a
sender, the answer's :class:`~dht.machine.replies.SenderSeen` effect offers it
to the routing table as an uncontacted node (handed out in find_node and
find_value answers only once it has answered one of our requests; a joining
node is pinged for that); without one the local node is asking itself (as
its lookups do) and is answered as ``127.0.0.1`` at its own port.  What was
stored is told by the answer's events, stamped with :attr:`KhashmirRemote.now`,
which the caller sets (the machine's ``now``) before a call.

The handlers here are synchronous: the local node asking itself calls them
through the node's explicit ``handlers`` table.  Queries from the network go
through :class:`dht.khashmir.dispatch.KhashmirHandlers`, which answers
get_value and store_value once the storage thread is done, from the same
checks (``check_*``) and answers (``values_answer``, ``stored_answer``)
as the handlers here (with ``STORAGE_THREAD`` off, it calls the handlers
here for every method: the baseline).
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Protocol

from ..core.config import Config
from ..core.contact import Address
from ..core.errors import KrpcError, StoreRefused
from ..core.events import EventBus, ValueExpired, ValueStored
from ..machine.replies import Answer, SenderSeen
from ..core.routing import RoutingTable
from ..storage import Store, StoreOutcome
from ..core.tokens import TokenSecrets
from ..wire.codes import KHASHMIR, Meaning


class RemoteHost(Protocol):
    """What the seed's handlers read of their node: its id and address, settings, table and
    store, and whether anyone listens to its events."""

    @property
    def id(self) -> bytes: ...

    @property
    def address(self) -> Address: ...

    @property
    def config(self) -> Config: ...

    @property
    def table(self) -> RoutingTable: ...

    @property
    def store(self) -> Store: ...

    @property
    def events(self) -> EventBus: ...


def seen(node_id: bytes, sender: Address | None, verify: bool = False) -> tuple[SenderSeen, ...]:
    """The effect that offers a query's sender to the table (none for the local node)."""
    return () if sender is None else (SenderSeen(node_id, sender, verify),)


class KhashmirRemote:
    """The ``krpc_*`` handlers of one node, with its store tokens."""

    __slots__ = ("node", "tokens", "now")

    def __init__(self, node: RemoteHost, tokens: TokenSecrets) -> None:
        self.node = node
        self.tokens = tokens
        #: the time of the call (the caller's ``now``), for the events of what was stored
        self.now = 0.0

    def sender(self, sender: Address | None) -> Address:
        """Where a query came from: the local node asking itself is answered as 127.0.0.1."""
        return ("127.0.0.1", self.node.address[1]) if sender is None else sender

    def krpc_ping(self, id: bytes, _krpc_sender: Address | None = None) -> Answer:
        return Answer({b"id": self.node.id}, seen(id, _krpc_sender))

    def krpc_join(self, id: bytes, _krpc_sender: Address | None = None) -> Answer:
        sender = self.sender(_krpc_sender)
        answer = {b"ip_addr": sender[0].encode(), b"port": sender[1], b"id": self.node.id}
        return Answer(answer, seen(id, _krpc_sender, verify=True))

    def krpc_find_node(self, id: bytes, target: bytes, _krpc_sender: Address | None = None) -> Answer:
        nodes = self.node.table.find_compact(target)
        token = self.tokens.token_for(self.sender(_krpc_sender)[0])
        return Answer({b"nodes": nodes, b"token": token, b"id": self.node.id}, seen(id, _krpc_sender))

    def krpc_find_value(self, id: bytes, key: bytes, _krpc_sender: Address | None = None) -> Answer:
        nodes = self.node.table.find_compact(key)
        answer = {b"nodes": nodes, b"num": self.node.store.count_values(key), b"id": self.node.id}
        return Answer(answer, seen(id, _krpc_sender))

    def krpc_get_value(self, id: bytes, key: bytes, num: int, _krpc_sender: Address | None = None) -> Answer:
        try:
            self.check_get_value(num)
        except KrpcError as exc:  # answered with the error, the sender seen all the same
            return Answer(exc, seen(id, _krpc_sender))
        return Answer(self.values_answer(self.node.store.values(key), num), seen(id, _krpc_sender))

    @staticmethod
    def check_get_value(num: int) -> None:
        """get_value's check before the store is read: ``num``."""
        if num < 0:
            raise KHASHMIR.error(Meaning.PROTOCOL, "argument num must not be negative")

    def values_answer(self, values: list[bytes], num: int) -> dict[bytes, Any]:
        """get_value's answer: all values, or a random ``num`` of them."""
        if num == 0 or num >= len(values):
            return {b"values": values, b"id": self.node.id}
        random.shuffle(values)
        return {b"values": values[:num], b"id": self.node.id}

    def krpc_store_value(
        self, id: bytes, key: bytes, value: bytes, token: bytes, _krpc_sender: Address | None = None
    ) -> Answer:
        """Store under the sender's IP as publisher ("" for this node itself).

        The store's limits (full, per key, per IP; see dht/storage/fairness.py) answer
        200 with the reason; a disk that refuses the write answers 201 with
        it.  Either way nothing stored before is lost.
        """
        effects = seen(id, _krpc_sender)
        try:
            publisher, stored_at = self.check_store_value(value, token, _krpc_sender)
            try:
                outcome = self.node.store.store_value(key, value, stored_at, publisher)
            except StoreRefused as exc:
                raise KHASHMIR.error(Meaning.GENERIC, str(exc)) from None
        except KrpcError as exc:  # answered with the error, the sender seen all the same
            return Answer(exc, effects)
        answer = self.stored_answer(key, value, stored_at, outcome, self.now)
        return Answer(answer.values, effects + answer.effects)

    def check_store_value(self, value: bytes, token: bytes, sender: Address | None) -> tuple[str, float]:
        """store_value's checks before the store is written: the token and size; the
        publisher ("" this node) and the time of the store."""
        ip = self.sender(sender)[0]
        if not self.tokens.check(token, ip):
            raise KHASHMIR.error(Meaning.INVALID_TOKEN, "token is invalid, do a find_nodes to get a fresh one")
        cfg = self.node.config
        if len(value) > cfg.MAX_VALUE_SIZE:
            raise KHASHMIR.error(Meaning.GENERIC, f"value too large ({len(value)} > {cfg.MAX_VALUE_SIZE} bytes)")
        return ("" if sender is None else ip), time.time()

    def stored_answer(
        self, key: bytes, value: bytes, stored_at: float, outcome: StoreOutcome, now: float
    ) -> Answer:
        """store_value's answer once the store committed, with its events (built only for a listener)."""
        if not self.node.events.active:
            return Answer({b"id": self.node.id})
        evicted = tuple(ValueExpired(now, old_key, old_value, "evicted") for old_key, old_value in outcome.evicted)
        return Answer({b"id": self.node.id}, evicted + (ValueStored(now, key, value, stored_at, outcome.refreshed),))


#: The seed's KRPC methods and the handler answering each, called with a node's
#: :class:`KhashmirRemote`: ``KRPC_HANDLERS[method](remote, *arguments)`` (one table for every node: a table of
#: bound methods per node was two kilobytes of a lab's memory per node).
KRPC_HANDLERS: dict[str, Callable[..., Answer]] = {
    "ping": KhashmirRemote.krpc_ping,
    "join": KhashmirRemote.krpc_join,
    "find_node": KhashmirRemote.krpc_find_node,
    "find_value": KhashmirRemote.krpc_find_value,
    "get_value": KhashmirRemote.krpc_get_value,
    "store_value": KhashmirRemote.krpc_store_value,
}
