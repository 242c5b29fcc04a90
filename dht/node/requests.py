"""The request path of a node: asking a contact, checking its answer, telling the table.

Every request a node sends goes through :meth:`Requests.request` (a
contact whose id we know) or :meth:`Requests.request_address` (an address
alone: join, ping by address).  The transport's future is wrapped: when it
settles, the answer's id is checked -- the all-zero id, our own id, or
another id than the one expected fails the request as a
:class:`RemoteProtocolError` (counted as a "bad response" drop) and removes
the expected contact at that address; a good answer puts the responder in
the routing table as a contact that answered (with its RTT), and a timeout
counts a failure against it.  Asking ourselves calls our own handlers.

The routing table decides and reports; :meth:`Requests.report` acts on
what it returns: a full bucket's ``PingOldest`` becomes a ping of the
oldest contact (:class:`dht.node.maintenance.Maintenance`), and its events
(:mod:`dht.core.events`, stamped with the ``now`` the table was given) go to
subscribers as they are.

:class:`Requests` is one of the parts a :class:`dht.node.core.NodeCore` is
composed of; it sees the node through :class:`RequestsHost` alone.  It holds
the query budget (:class:`dht.core.budget.QueryBudget`); the transport's
machine holds back the queries over it and lets them go on the node's one
timer (:class:`dht.machine.machine.KrpcMachine`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Hashable, Protocol

from ..rpc import clock
from ..core import errors, routing
from ..core.budget import QueryBudget
from ..core.config import Config
from ..core.contact import Address, Contact, unchecked_contact
from ..core.errors import KrpcError, LocalError, RemoteProtocolError, StorageFault
from ..core.events import EventBus
from ..core.routing import RoutingTable
from ..core.rtt import soft_timeout as rtt_soft_timeout
from ..core.stats import Stats
from ..rpc.transport import KrpcTransport
from ..wire.profiles import WireProfile

if TYPE_CHECKING:
    from .maintenance import Maintenance
    from .protocols import NodeProtocol


log = logging.getLogger(__name__)

#: Lookup ids, unique in the process (across Leave/Join and a lab's nodes), so
#: one lookup's events are never taken for another's.
_LOOKUP_IDS = itertools.count(1)


class RequestsHost(Protocol):
    """What the request path needs of its node."""

    @property
    def id(self) -> bytes: ...
    @property
    def address(self) -> Address: ...
    @property
    def running(self) -> bool: ...
    @property
    def config(self) -> Config: ...
    @property
    def profile(self) -> WireProfile: ...
    @property
    def events(self) -> EventBus: ...
    @property
    def stats_counters(self) -> Stats: ...
    @property
    def table(self) -> RoutingTable: ...
    @property
    def table_or_none(self) -> RoutingTable | None: ...
    @property
    def transport(self) -> KrpcTransport: ...
    @property
    def transport_or_none(self) -> KrpcTransport | None: ...
    @property
    def contact(self) -> Contact: ...
    @property
    def routers(self) -> set[Address]: ...
    @property
    def protocol(self) -> "NodeProtocol": ...
    @property
    def maintenance(self) -> "Maintenance": ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...


class Requests:
    """Requests, their answers' checks and the routing table's reports, for one node."""

    def __init__(self, node: RequestsHost, now: float) -> None:
        self.node = node
        cfg = node.config
        # the outgoing query budget (dht/core/budget.py); the transport's machine holds
        # back the queries over it
        self._budget: QueryBudget[Hashable] = QueryBudget(cfg.QUERY_BUDGET, cfg.QUERY_BUDGET_BURST, now)

    @property
    def budget(self) -> QueryBudget[Hashable]:
        return self._budget

    def report(self, outcomes: list[routing.Outcome]) -> None:
        """Act on what the routing table returned: ping for each PingOldest, and
        publish its events as they are (they carry the time the table was given)."""
        active = self.node.events.active
        for outcome in outcomes:
            if isinstance(outcome, routing.PingOldest):
                self.node.spawn(self.node.maintenance.ping_oldest(outcome.oldest, outcome.new))
            elif active:
                self.node.events.emit(outcome)

    def insert_node(self, contact: Contact, contacted: bool = True) -> None:
        """Offer a contact to the table; ``contacted``: it answered us at that address."""
        if not self.admissible(contact):
            return
        self.report(self.node.table.insert(contact, clock.now(), contacted))

    def admissible(self, contact: Contact) -> bool:
        """Whether a contact may enter the table: not a bootstrap router, and (Mainline,
        ENFORCE_NODE_ID) its id valid for its IP under BEP 42 (the protocol's to say)."""
        if contact.address in self.node.routers:
            return False
        return self.node.protocol.admissible(contact)


    def request(
        self, contact: Contact, method: str, args: Any, soft_timeout: float | None = None,
        on_done: Callable[[asyncio.Future[Any]], None] | None = None, late: Callable[[], None] | None = None,
    ) -> asyncio.Future[Any]:
        """Ask ``contact``, expecting an answer with its id; the routing table learns the outcome.

        ``args``: the profile's arguments (a dict; Mainline also takes typed ones).
        The future gets the profile's answer (Khashmir: the response dict;
        Mainline: the :class:`dht.wire.mainline.Response`).  The local node is
        asked by calling its handler directly.  A response whose id is not the
        contact's fails the request and removes the contact (if the table knows
        it at that address).  ``on_done(future)``, if given, is called once, when
        the request ends (answer, error reply, timeout, stop), from that end's own
        callback: an answer's next queries go out from the datagram's callback, not
        a loop pass later.  A future the caller cancelled is told when the request
        ends all the same (still cancelled); one held by the query budget, when it
        is cancelled.  ``late()``, with a ``soft_timeout``, is called once if the
        request, once sent, is silent that long (never for the local node).
        """
        if contact.id == self.node.id:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            try:
                answer = self.node.protocol.local(method, args)
            except Exception as exc:
                self._answered_locally(fut, None, exc)
            else:
                if isinstance(answer, asyncio.Future):  # a storage query: answered off the loop
                    answer.add_done_callback(lambda done: self._answered_later(fut, done))
                else:
                    fut.set_result(answer)
            if on_done is not None:
                fut.add_done_callback(on_done)
            return fut
        return self.request_address(contact.address, contact.id, method, args, soft_timeout, on_done, contact, late)

    def _answered_locally(self, fut: asyncio.Future[Any], answer: Any, exc: BaseException | None) -> None:
        """Our own answer to our own query, as a peer's would be: a KRPC error as it is,
        a storage fault as the server error the transport would send."""
        if fut.done():
            return
        if exc is None:
            fut.set_result(answer)
        elif isinstance(exc, StorageFault):
            fut.set_exception(self.node.profile.server_error(str(exc)))
        elif isinstance(exc, (KrpcError, asyncio.CancelledError)):
            fut.set_exception(exc)
        else:
            raise exc

    def _answered_later(self, fut: asyncio.Future[Any], done: asyncio.Future[Any]) -> None:
        """Our own storage query's end.  A bug there (nobody left to raise it to) is
        logged with its traceback and answered as the transport answers a peer's: 201."""
        if done.cancelled():
            self._answered_locally(fut, None, asyncio.CancelledError())
            return
        exc = done.exception()
        if exc is not None and not isinstance(exc, (StorageFault, KrpcError)):
            log.error("our own storage query failed", exc_info=exc)
            exc = self.node.profile.server_error()
        self._answered_locally(fut, None if exc is not None else done.result(), exc)

    def request_address(
        self, address: Address, expected_id: bytes | None, method: str, args: Any,
        soft_timeout: float | None = None, on_done: Callable[[asyncio.Future[Any]], None] | None = None,
        known: Contact | None = None, late: Callable[[], None] | None = None,
    ) -> asyncio.Future[Any]:
        """Ask the node at ``address``.

        ``expected_id``: the id it must answer with, or None when only its
        address is known (join, ping by address).  Either way an answer with
        the all-zero id or with our own id fails the request; a good answer
        puts the responder in the table as a contact that answered (``known``:
        the contact asked, made already, with ``expected_id`` its id).
        """
        own = self.node.address
        if address[1] == own[1] and address in (own, self.node.contact.address):  # (a contact is made only then)
            return self.request(self.node.contact, method, args)  # ourselves: our own handlers
        if not self.node.running:
            raise LocalError("node is not running")
        outer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        once = None if on_done is None else _Once(on_done)
        # The settle of _send calls ``once`` however the request ends (answer, error,
        # timeout, stop); a future done callback would cost a loop pass.
        if not self._send(outer, address, expected_id, method, args, soft_timeout, once, known, late):
            # Over the query budget: the machine holds it back, first come first served.
            # Cancelled while held, it goes away and is told so at once.
            outer.add_done_callback(lambda done: self._withdraw(done, once))
        return outer

    def _withdraw(self, outer: asyncio.Future[Any], once: "_Once | None") -> None:
        """A held query's future is done: cancelled by its caller, take it back (and tell
        ``once``); already sent (and settled), nothing to do."""
        transport = self.node.transport_or_none
        if transport is not None and transport.withdraw(outer) and once is not None:
            once(outer)

    def set_query_budget(self, per_second: float, burst: int | None = None) -> None:
        """Queries a second this node may send, in bursts of ``burst`` (None: as before);
        0: no budget.  Over budget, queries wait their turn.  LocalError if out of range."""
        self._budget.configure(per_second, self._budget.burst if burst is None else burst, clock.now())
        transport = self.node.transport_or_none
        if transport is not None:
            transport.rearm()  # the queries held back may go sooner

    def _send(
        self, outer: asyncio.Future[Any], address: Address, expected_id: bytes | None, method: str,
        args: Any, soft_timeout: float | None, once: "_Once | None" = None, known: Contact | None = None,
        late: Callable[[], None] | None = None,
    ) -> bool:
        """Send a query now, or hold it back over the query budget (False); ``outer``
        gets its checked answer.  Bad arguments raise here."""
        def settle(values: Any, exc: BaseException | None, rtt: float | None) -> None:
            node = self.node
            if exc is None and node.running:
                try:
                    rid = node.profile.response_id(values)
                    if rid == routing.NULL_ID or rid == node.id or (
                        expected_id is not None and rid != expected_id
                    ):
                        if expected_id is not None:
                            self.report(node.table.remove(
                                expected_id, "answered with another id", clock.now(), address))
                        raise RemoteProtocolError(
                            f"{address[0]}:{address[1]} answered with id {rid.hex()}"
                            + ("" if expected_id is None else f", not {expected_id.hex()}")
                        )
                except RemoteProtocolError as bad:
                    node.stats_counters.drop("bad response")
                    exc = bad
                else:
                    found = known if known is not None else Contact(rid, address[0], address[1])
                    protocol = node.protocol
                    protocol.answered(found, values, method)
                    if found.address not in node.routers and protocol.admissible(found):  # self.admissible
                        outcomes = node.table.insert(found, clock.now(), contacted=True, rtt=rtt)
                        if outcomes:
                            self.report(outcomes)
            elif isinstance(exc, errors.PortUnreachable) and self.node.running and expected_id is not None:
                # Nothing listens there: gone for sure, and its address (one per IP) is free
                # for whoever answers from that host now.
                self.report(self.node.table.remove(expected_id, "port unreachable", clock.now(), address))
            elif isinstance(exc, errors.RpcTimeout) and self.node.running and expected_id is not None:
                self.report(self.node.table.failed(expected_id, clock.now(), address))
            if outer.done():  # cancelled by the caller: told now, when the request has ended
                if once is not None:
                    once(outer)
                return
            if exc is None:
                outer.set_result(values)
            else:
                outer.set_exception(exc)
            if once is not None:
                once(outer)

        return self.node.transport.request(address, method, args, settle, soft_timeout, late, outer)

    def sender_seen(self, node_id: bytes, sender: Address | None, verify: bool = False) -> Address:
        """Offer a query's sender to the routing table as an uncontacted node.

        A query never changes a known contact's address (only an answer to our
        own request there does: see ``check_moved``), and a contact seen only
        in queries is not handed out until it answers us.  ``verify``: ping
        it (a joining node).
        """
        if sender is None:
            return ("127.0.0.1", self.node.address[1])
        node = self.node
        table = node.table
        known = table.get(node_id)
        if known is None:
            contact = self._sender_contact(node_id, sender)
            if sender not in node.routers and node.protocol.admissible(contact):  # insert_node, inlined
                outcomes = table.insert(contact, clock.now(), False)
                if outcomes:
                    self.report(outcomes)
            if verify:
                node.maintenance.verify_contact(contact)
        elif known.contact.address != sender:
            self.node.maintenance.check_moved(known.contact, Contact(node_id, sys.intern(sender[0]), sender[1]))
        elif verify and not known.answered:
            self.node.maintenance.verify_contact(known.contact)
        return sender

    def _sender_contact(self, node_id: bytes, sender: Address) -> Contact:
        """``Contact(node_id, *sender)``, its checks skipped when they are known to pass: an
        id of 20 bytes, a port in range, a host that made a valid contact before (the
        hosts a node hears from are few; the checks were most of the cost)."""
        host, port = sender
        if (
            host in _VALID_HOSTS and type(node_id) is bytes and len(node_id) == 20
            and type(port) is int and 0 <= port <= 0xFFFF
        ):
            return unchecked_contact(node_id, host, port)
        contact = Contact(node_id, sys.intern(host), port)  # AddressError, LocalError if not valid
        if len(_VALID_HOSTS) >= _VALID_HOSTS_KEPT:
            _VALID_HOSTS.clear()
        _VALID_HOSTS.add(contact.host)
        return contact

    def soft_timeout(self, contact: Contact | None = None) -> float:
        """How long a request to ``contact`` may stay silent before a lookup asks one more
        candidate: its own srtt + 4 rttvar when the table has its history (at that
        address), else the node's estimate (:mod:`dht.core.rtt`)."""
        lo, hi = self.node.config.SOFT_TIMEOUT_MIN, self.node.config.SOFT_TIMEOUT_MAX
        if contact is not None and self.node.table_or_none is not None:
            entry = self.node.table_or_none.get(contact.id)
            if entry is not None and entry.rtt is not None and entry.contact.address == contact.address:
                return rtt_soft_timeout(entry.rtt, entry.rttvar, lo, hi)
        return self.node.transport.outstanding.rtt.timeout(lo, hi)

    def next_lookup_id(self) -> int:
        return next(_LOOKUP_IDS)


#: Hosts that made a valid :class:`Contact` (a query's sender); cleared past _VALID_HOSTS_KEPT.
_VALID_HOSTS: set[str] = set()
_VALID_HOSTS_KEPT = 8192


class _Once:
    """A done callback that runs once, whether called at once or by the future."""

    __slots__ = ("fn", "called")

    def __init__(self, fn: Callable[[asyncio.Future[Any]], None]) -> None:
        self.fn = fn
        self.called = False

    def __call__(self, future: asyncio.Future[Any]) -> None:
        if not self.called:
            self.called = True
            self.fn(future)
