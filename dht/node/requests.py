"""The request path of a node: asking a contact, checking its answer, telling the table.

Every request a node sends goes through :meth:`NodeRequests.request` (a
contact whose id we know) or :meth:`NodeRequests.request_address` (an address
alone: join, ping by address).  The transport's future is wrapped: when it
settles, the answer's id is checked -- the all-zero id, our own id, or
another id than the one expected fails the request as a
:class:`RemoteProtocolError` (counted as a "bad response" drop) and removes
the expected contact at that address; a good answer puts the responder in
the routing table as a contact that answered (with its RTT), and a timeout
counts a failure against it.  Asking ourselves calls our own handlers.

The routing table decides and reports; :meth:`NodeRequests.report` acts on
what it returns: a full bucket's ``PingOldest`` becomes a ping of the
oldest contact (:mod:`dht.node.maintenance`), and its events
(:mod:`dht.core.events`, stamped with the ``now`` the table was given) go to
subscribers as they are.

A mixin of :class:`dht.node.core.NodeCore`, which holds the state; :class:`dht.node.facade.Node`
hands its public calls over to these.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from ..core import errors, ids, routing
from ..wire import krpc
from ..core.config import Config
from ..core.contact import Address, Contact
from ..core.budget import QueryBudget
from ..core.errors import KrpcError, LocalError, NodeStopped, RemoteProtocolError, StorageError, StorageFault
from ..core.events import EventBus, ItemStored, PeerAnnounced
from ..mainline.handlers import MainlineHandlers
from ..khashmir.remote import KRPC_HANDLERS
from ..core.routing import RoutingTable
from ..core.rtt import soft_timeout as rtt_soft_timeout
from ..core.stats import Stats
from ..storage import Store
from ..rpc.transport import KrpcTransport
from ..wire.profiles import WireProfile


#: Lookup ids, unique in the process (across Leave/Join and a lab's nodes), so
#: one lookup's events are never taken for another's.
_LOOKUP_IDS = itertools.count(1)


class NodeRequests:
    """Requests, their answers' checks and the routing table's reports (a mixin of NodeCore)."""

    id: bytes
    address: Address
    running: bool
    config: Config
    profile: WireProfile
    events: EventBus
    stats_counters: Stats
    mainline: MainlineHandlers | None
    handlers: dict[str, Callable[..., dict[bytes, Any]]]
    _table: RoutingTable | None
    routers: set[Address]
    _budget: QueryBudget[asyncio.Future[Any]]
    _held: dict[asyncio.Future[Any], tuple[Address, bytes | None, str, Any, float | None, "_Once | None", Contact | None]]
    _budget_timer: asyncio.TimerHandle | None

    if TYPE_CHECKING:
        @property
        def table(self) -> RoutingTable: ...
        @property
        def store(self) -> Store: ...
        @property
        def transport(self) -> KrpcTransport: ...
        @property
        def contact(self) -> Contact: ...
        def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...
        async def _ping_oldest(self, oldest: Contact, new: Contact) -> None: ...
        def _mainline_answer(self, responder: Contact, envelope: Any, method: str) -> None: ...
        async def refresh_table(self, force: bool = False) -> None: ...
        async def find_node(self, target: bytes) -> list[Contact]: ...

    def _new_table(self, now: float) -> RoutingTable:
        cfg = self.config
        return RoutingTable(
            self.id, cfg.K, cfg.MAX_FAILURES, cfg.MIN_PING_INTERVAL, now,
            replacements=cfg.REPLACEMENTS_PER_BUCKET,
            max_per_ip=cfg.MAX_PER_IP_IN_TABLE,
            max_per_subnet=cfg.MAX_PER_SUBNET_IN_BUCKET,
        )

    def _exempt_host(self) -> str | None:
        """Our own address if it is a loopback one: nodes sharing it are a lab on this
        machine (several nodes on one address), exempt from the per-address limits."""
        host = self.contact.host
        return host if host.startswith("127.") else None

    def report(self, outcomes: list[routing.Outcome]) -> None:
        """Act on what the routing table returned: ping for each PingOldest, and
        publish its events as they are (they carry the time the table was given)."""
        active = self.events.active
        for outcome in outcomes:
            if isinstance(outcome, routing.PingOldest):
                self.spawn(self._ping_oldest(outcome.oldest, outcome.new))
            elif active:
                self.events.emit(outcome)

    def insert_node(self, contact: Contact, contacted: bool = True) -> None:
        """Offer a contact to the table; ``contacted``: it answered us at that address."""
        if not self.admissible(contact):
            return
        self.report(self.table.insert(contact, time.monotonic(), contacted))

    def admissible(self, contact: Contact) -> bool:
        """Whether a contact may enter the table: not a bootstrap router, and (Mainline,
        ENFORCE_NODE_ID) its id valid for its IP under BEP 42 (local, private exempt)."""
        if contact.address in self.routers:
            return False
        if self.config.ENFORCE_NODE_ID and self.mainline is not None:
            return ids.id_matches_ip(contact.id, contact.host)
        return True


    def request(
        self, contact: Contact, method: str, args: Any, soft_timeout: float | None = None,
        on_done: Callable[[asyncio.Future[Any]], None] | None = None,
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
        is cancelled.
        """
        if contact.id == self.id:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            try:
                if self.mainline is not None:
                    fut.set_result(self.mainline.local(method, args))
                else:
                    args_list = krpc.check_arguments(krpc.Query(b"", method, args))
                    fut.set_result(KRPC_HANDLERS[method](self, *args_list))
            except KrpcError as exc:
                fut.set_exception(exc)
            except StorageFault as exc:  # answered as the transport answers a peer
                fut.set_exception(self.profile.server_error(str(exc)))
            if on_done is not None:
                fut.add_done_callback(on_done)
            return fut
        return self.request_address(contact.address, contact.id, method, args, soft_timeout, on_done, contact)

    def request_address(
        self, address: Address, expected_id: bytes | None, method: str, args: Any,
        soft_timeout: float | None = None, on_done: Callable[[asyncio.Future[Any]], None] | None = None,
        known: Contact | None = None,
    ) -> asyncio.Future[Any]:
        """Ask the node at ``address``.

        ``expected_id``: the id it must answer with, or None when only its
        address is known (join, ping by address).  Either way an answer with
        the all-zero id or with our own id fails the request; a good answer
        puts the responder in the table as a contact that answered (``known``:
        the contact asked, made already, with ``expected_id`` its id).
        """
        if address in (self.address, self.contact.address):
            return self.request(self.contact, method, args)  # ourselves: our own handlers
        if not self.running:
            raise LocalError("node is not running")
        outer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        once = None if on_done is None else _Once(on_done)
        call = (address, expected_id, method, args, soft_timeout, once, known)
        if self._budget.submit(outer, time.monotonic()):
            # The settle of _send calls ``once`` however the request ends (answer,
            # error, timeout, stop); a future done callback would cost a loop pass.
            self._send(outer, *call)
        else:  # over the query budget: it waits its turn (FIFO); cancelled, it goes away
            self._held[outer] = call
            outer.add_done_callback(self._unhold)
            if once is not None:
                outer.add_done_callback(once)  # it may end while held (node stopped)
            self._arm_budget()
        return outer

    # --- the outgoing query budget (dht/core/budget.py decides, this waits) -------

    def _unhold(self, outer: asyncio.Future[Any]) -> None:
        if self._held.pop(outer, None) is not None:
            self._budget.discard(outer)

    def _arm_budget(self) -> None:
        """One timer, for when the first held query may go."""
        if self._budget_timer is not None:
            self._budget_timer.cancel()
            self._budget_timer = None
        now = time.monotonic()
        at = self._budget.next_time(now)
        if at is not None:
            self._budget_timer = asyncio.get_running_loop().call_later(at - now, self._release_held)

    def _release_held(self) -> None:
        self._budget_timer = None
        for outer in self._budget.ready(time.monotonic()):
            call = self._held.pop(outer, None)
            if call is None or outer.done():
                continue
            try:
                self._send(outer, *call)
            except errors.DHTError as exc:  # bad arguments, or the node stopped meanwhile
                outer.set_exception(exc)
        if self._held:
            self._arm_budget()

    def _drop_held(self) -> None:
        """The node stops: held queries fail with NodeStopped (marked retrieved)."""
        if self._budget_timer is not None:
            self._budget_timer.cancel()
            self._budget_timer = None
        held, self._held = self._held, {}
        for outer in held:
            self._budget.discard(outer)
            if not outer.done():
                outer.set_exception(NodeStopped("node stopped"))
                outer.exception()

    def set_query_budget(self, per_second: float, burst: int | None = None) -> None:
        """Queries a second this node may send, in bursts of ``burst`` (None: as before);
        0: no budget.  Over budget, queries wait their turn.  LocalError if out of range."""
        self._budget.configure(per_second, self._budget.burst if burst is None else burst, time.monotonic())
        if self._held:
            try:
                self._arm_budget()
            except RuntimeError:  # no running loop: armed at the next query
                pass

    def _send(
        self, outer: asyncio.Future[Any], address: Address, expected_id: bytes | None, method: str,
        args: Any, soft_timeout: float | None, once: "_Once | None" = None, known: Contact | None = None,
    ) -> None:
        """Send a query now; ``outer`` gets its checked answer.  Bad arguments raise here."""
        def settle(values: Any, exc: BaseException | None, rtt: float | None) -> None:
            if exc is None and self.running:
                try:
                    rid = self.profile.response_id(values)
                    if rid == routing.NULL_ID or rid == self.id or (
                        expected_id is not None and rid != expected_id
                    ):
                        if expected_id is not None:
                            self.report(self.table.remove(
                                expected_id, "answered with another id", time.monotonic(), address))
                        raise RemoteProtocolError(
                            f"{address[0]}:{address[1]} answered with id {rid.hex()}"
                            + ("" if expected_id is None else f", not {expected_id.hex()}")
                        )
                except RemoteProtocolError as bad:
                    self.stats_counters.drop("bad response")
                    exc = bad
                else:
                    now = time.monotonic()
                    found = known if known is not None else Contact(rid, address[0], address[1])
                    if self.mainline is not None:
                        self._mainline_answer(found, values, method)
                    if self.admissible(found):
                        self.report(self.table.insert(found, now, contacted=True, rtt=rtt))
            elif isinstance(exc, errors.PortUnreachable) and self.running and expected_id is not None:
                # Nothing listens there: gone for sure, and its address (one per IP) is free
                # for whoever answers from that host now.
                self.report(self.table.remove(expected_id, "port unreachable", time.monotonic(), address))
            elif isinstance(exc, errors.RpcTimeout) and self.running and expected_id is not None:
                self.report(self.table.failed(expected_id, time.monotonic(), address))
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

        self.transport.request(address, method, args, settle, soft_timeout)

    def peer_announced(self, now: float, info_hash: bytes, peer: Address, seed: bool) -> None:
        """Tell subscribers that a peer's announce was stored here (Mainline handlers)."""
        if self.events.active:
            self.events.emit(PeerAnnounced(now, info_hash, peer, seed))

    def item_stored(self, now: float, target: bytes, seq: int | None, size: int) -> None:
        """Tell subscribers that a BEP 44 item was put here (Mainline handlers)."""
        if self.events.active:
            self.events.emit(ItemStored(now, target, seq, size))

    def adopt_id(self, new_id: bytes) -> None:
        """Change our node id: the routing table is rebuilt around it with the same contacts,
        each keeping whether it answered and its RTT; the new id is then looked up and every
        bucket refreshed (the buckets around the new id are new, and hold what the old ones could not)."""
        now = time.monotonic()
        old = self.table.entries()
        self.id = new_id
        self._table = self._new_table(now)
        self._table.exempt(self._exempt_host())
        self._table.adopt(old, now)
        if self.running and len(self._table):
            self.spawn(self._settle_new_id(new_id))
        if self.mainline is not None:
            self.mainline.items.node_id = new_id
        try:
            self.store.save_self_id(new_id)
        except StorageError:
            pass  # saved at the next checkpoint

    async def _settle_new_id(self, new_id: bytes) -> None:
        """After an id change: a lookup of the new id (its neighbourhood, as a join's), then every bucket."""
        await self.find_node(new_id)
        if self.id == new_id:
            await self.refresh_table(force=True)

    def soft_timeout(self, contact: Contact | None = None) -> float:
        """How long a request to ``contact`` may stay silent before a lookup asks one more
        candidate: its own srtt + 4 rttvar when the table has its history (at that
        address), else the node's estimate (:mod:`dht.core.rtt`)."""
        lo, hi = self.config.SOFT_TIMEOUT_MIN, self.config.SOFT_TIMEOUT_MAX
        if contact is not None and self._table is not None:
            entry = self._table.get(contact.id)
            if entry is not None and entry.rtt is not None and entry.contact.address == contact.address:
                return rtt_soft_timeout(entry.rtt, entry.rttvar, lo, hi)
        return self.transport.rtt.timeout(lo, hi)

    def next_lookup_id(self) -> int:
        return next(_LOOKUP_IDS)


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
