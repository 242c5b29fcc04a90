"""A Khashmir node: lifecycle, maintenance, requests and the public API.

:class:`Node` ties the sans-IO parts together -- routing table, tokens,
store, lookups -- over one :class:`KrpcTransport`.  Incoming queries are
dispatched through the explicit ``handlers`` table to the ``krpc_*``
handlers of :class:`dht.remote.RemoteInterface`, which keep the seed's
signatures.

The wire is the node's profile (``Config.PROFILE``, :mod:`dht.wire.profiles`):
Khashmir (the default) answers through the ``krpc_*`` handlers; Mainline
through :class:`dht.handlers_mainline.MainlineHandlers`, with its own
lookups in :mod:`dht.actions_mainline`.  Routing table, lookups,
transport, limits and events are shared.

The public coroutines (:meth:`join`, :meth:`bootstrap`, :meth:`ping`,
:meth:`find_node`, :meth:`get_value`, :meth:`store_value`; Mainline:
:meth:`get_peers`, :meth:`announce_peer`, :meth:`put_immutable`,
:meth:`put_mutable`, :meth:`get_item`, :meth:`sample_infohashes`) raise on
failure; they never return status tuples.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Coroutine, Iterable

import platformdirs

from . import actions, actions_mainline, errors, ids, krpc, routing
from .handlers_mainline import MainlineHandlers
from .node_mainline import MainlineAPI
from .wire.profiles import profile_for
from .capture import CaptureWriter
from .config import Config
from .contact import Address, Contact, resolve_host
from .errors import KrpcError, LocalError, RemoteProtocolError, StorageError
from .events import (
    BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRefreshed,
    ContactRemoved, ContactReplaced, Event, EventBus, ItemStored, NodeWarning, PeerAnnounced, ValueExpired,
)
from .khash import new_id, new_id_in_range
from .routing import RoutingTable
from .stats import MethodCounters, Stats, StatsSnapshot
from .datadir import DataDirLock
from .storage import Store, StoredValueInfo, StoreLimits
from .tokens import TokenSecrets
from .remote import RemoteInterface
from .transport import KrpcTransport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """A contact of the routing table as the explorer shows it.

    ``last_seen``: when it last answered one of our requests (monotonic),
    None if it never did (loaded from the database or seen only in a query).
    """

    contact: Contact
    last_seen: float | None
    failures: int
    rtt: float | None
    client: str | None = None
    """Mainline: the client it runs, from its ``v`` ("libtorrent (Rasterbar) 2.0.11")."""

    @property
    def answered(self) -> bool:
        """It has answered one of our requests (only such contacts are handed out)."""
        return self.last_seen is not None


@dataclass(frozen=True, slots=True)
class BucketInfo:
    lo: int
    hi: int
    last_accessed: float
    contacts: list[ContactInfo]


#: Rounds of lookups for buckets a forced refresh left empty (see refresh_table).
EMPTY_BUCKET_ROUNDS = 3

#: Distinct warnings a node keeps in :attr:`Node.warnings` (the oldest go first).
MAX_WARNINGS = 20

#: Lookup ids, unique in the process (across Leave/Join and a lab's nodes), so
#: one lookup's events are never taken for another's.
_LOOKUP_IDS = itertools.count(1)

#: Seconds without a database access after which a node closes its SQLite
#: connection (reopened on the next access; see Store.release).
STORE_IDLE_SECONDS = 2.0


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("khashmir-explorer", appauthor=False))


class Node(RemoteInterface, MainlineAPI):
    """One DHT node.  Create, ``await start()``, use, ``await stop()``."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        db_name: str = "khashmir.db",
    ) -> None:
        self.config = config or Config()
        self.profile = profile_for(self.config.PROFILE, self.config.READ_ONLY)
        self.host = host
        self.requested_port = port
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.db_path = self.data_dir / db_name
        self.events = EventBus()
        self.stats_counters = Stats({m: MethodCounters() for m in self.profile.methods})
        self.tokens = TokenSecrets()
        self.warnings: list[str] = []
        self.running = False
        self.id = b""
        self.address: Address = (host, port)
        self._store: Store | None = None
        self._lock = DataDirLock(self.data_dir)
        self._table: RoutingTable | None = None
        self._transport: KrpcTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._store_timer: asyncio.TimerHandle | None = None
        self._started = 0.0
        self._verifying = 0  # verification pings outstanding
        self._moving: set[bytes] = set()  # ids whose claimed move is being checked
        self._routers: set[Address] = set()  # bootstrap routers: asked, never in the table
        #: Mainline: the client (``v``) of nodes that answered us, by id (as many as the table holds).
        self.clients: dict[bytes, str] = {}
        self.external = ids.ExternalAddressVotes(self.config.EXTERNAL_ADDRESS_VOTES)
        self.mainline: MainlineHandlers | None = (
            MainlineHandlers(self) if self.config.PROFILE == "mainline" else None
        )
        self.handlers: dict[str, Callable[..., dict[bytes, Any]]] = {
            "ping": self.krpc_ping,
            "join": self.krpc_join,
            "find_node": self.krpc_find_node,
            "find_value": self.krpc_find_value,
            "get_value": self.krpc_get_value,
            "store_value": self.krpc_store_value,
        }

    # --- lifecycle -----------------------------------------------------

    async def start(self) -> None:
        """Lock the data directory, open the database, bind the socket.

        Raises :class:`AddressError` for a host that is not IPv4 (a name is
        resolved), :class:`StorageError` when the directory is held by
        another node or cannot be written, :class:`LocalError` for a port in use.
        """
        if self.running:
            raise LocalError("node already started")
        self.host = await resolve_host(self.host)
        self._lock.acquire()
        try:
            self._store = self._open_store()
            self.id = self._store.self_id() or new_id()
            saved_contacts = self._store.contacts()
            self._store.release()  # reopened on the next access
        except BaseException:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._lock.release()
            raise
        now = time.monotonic()
        self._table = self._new_table(now)
        handler = self.dispatch if self.mainline is None else self.mainline.dispatch
        transport = KrpcTransport(
            handler, self.stats_counters, self.events, self.config.KRPC_TIMEOUT, self.config, self.profile
        )
        self._transport = transport
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(
                lambda: transport, local_addr=(self.host, self.requested_port)
            )
        except OSError as exc:
            self._store.close()
            self._store = None
            self._lock.release()
            if exc.errno == errno.EADDRINUSE:
                raise LocalError(f"port {self.requested_port} on {self.host} is in use") from None
            raise LocalError(f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror or exc}") from None
        assert self._transport.transport is not None
        sockname = self._transport.transport.get_extra_info("sockname")
        self.address = (sockname[0], sockname[1])
        self._table.exempt(self._exempt_host())
        try:
            self._store.save_self_id(self.id)
        except StorageError:
            pass  # reported (a full disk): the node runs, its id is saved at the next checkpoint
        self.running = True
        self._started = now
        self._table.load(saved_contacts, now)  # never answered: the first to go
        self._store.on_open = self._store_opened
        self._store.release()  # reopened on the next access
        self._spawn(self._checkpoint_loop())
        if self.mainline is not None:
            self.mainline.started(now)
            self._spawn(self._token_loop())
        if len(self._table):
            self._spawn(self.refresh_table(force=True))

    def _open_store(self) -> Store:
        cfg = self.config
        store = Store(self.db_path, StoreLimits(cfg.MAX_VALUES, cfg.MAX_VALUES_PER_KEY, cfg.MAX_VALUES_PER_IP))
        if store.warning:
            self._warn(store.warning)
            log.warning("%s", store.warning)
        store.on_fault = self._warn  # storage faults, at most once a minute
        return store

    def _warn(self, text: str) -> None:
        """Keep a one-line warning for :attr:`warnings` and tell subscribers."""
        if text in self.warnings:
            self.warnings.remove(text)
        self.warnings.append(text)
        del self.warnings[:-MAX_WARNINGS]
        if self.events.active:
            self.events.emit(NodeWarning(time.monotonic(), text))

    async def stop(self) -> None:
        """Checkpoint, then close the socket and the database, and unlock the data directory.

        A checkpoint the disk refuses (full, read-only) is logged in one line
        and kept in :attr:`warnings`; stop still completes.
        """
        if not self.running:
            return
        self.running = False
        assert self._store is not None
        self._store.log_faults = False  # one line below, not one per failed write
        try:
            self.checkpoint(maintenance=False)
        except StorageError as exc:
            why = getattr(exc, "why", "") or str(exc)
            saved = f"the node's id and routing table ({len(self.table)} contacts)"
            text = f"on stop, could not save {saved}: {why}; the values stored before are kept"
            log.warning("%s", text)
            self._warn(text)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._transport is not None and self._store is not None
        self._cancel_store_timer()
        self._transport.close()
        self._store.close()
        self._lock.release()

    def abort(self) -> None:
        """Stop at once without a checkpoint (a killed process, for the lab)."""
        if not self.running:
            return
        self.running = False
        for task in list(self._tasks):
            task.cancel()
        assert self._transport is not None and self._store is not None
        self._cancel_store_timer()
        self._transport.close()
        self._store.close()
        self._lock.release()

    # An idle node closes its database connection: a lab of hundreds of nodes
    # in one process would otherwise keep hundreds of SQLite caches.

    def _store_opened(self) -> None:
        if self._store_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: it stays open until stop
            self._store_timer = loop.call_later(STORE_IDLE_SECONDS, self._store_idle)

    def _store_idle(self) -> None:
        self._store_timer = None
        store = self._store
        if store is None or not self.running or not store.is_open:
            return
        idle = time.monotonic() - store.last_used
        if idle >= STORE_IDLE_SECONDS:
            store.release()
        else:
            self._store_timer = asyncio.get_running_loop().call_later(
                STORE_IDLE_SECONDS - idle, self._store_idle
            )

    def _cancel_store_timer(self) -> None:
        if self._store_timer is not None:
            self._store_timer.cancel()
            self._store_timer = None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, errors.DHTError):
                log.info("background task failed: %s", exc)
            else:
                log.error("background task crashed", exc_info=exc)

    @property
    def table(self) -> RoutingTable:
        if self._table is None:
            raise LocalError("node is not started")
        return self._table

    @property
    def store(self) -> Store:
        if self._store is None:
            raise LocalError("node is not started")
        return self._store

    @property
    def transport(self) -> KrpcTransport:
        if self._transport is None or not self.running:
            raise LocalError("node is not running")
        return self._transport

    @property
    def contact(self) -> Contact:
        host = self.address[0] if self.address[0] not in ("0.0.0.0", "") else "127.0.0.1"
        return Contact(self.id, host, self.address[1])

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        return self.events.subscribe(callback)

    def capture_to(self, writer: CaptureWriter | None) -> None:
        """Write every datagram this running node sends and receives to ``writer``
        (a :class:`dht.capture.CaptureWriter`; None stops)."""
        self.transport.tap = None if writer is None else writer.tap
        if writer is not None:
            writer.add_local(self.contact.address)

    # --- maintenance ---------------------------------------------------

    async def _token_loop(self) -> None:
        """Mainline: new token secrets every TOKEN_INTERVAL (two kept)."""
        while True:
            await asyncio.sleep(self.config.TOKEN_INTERVAL)
            assert self.mainline is not None
            self.mainline.tokens.rotate()

    async def _checkpoint_loop(self) -> None:
        interval = self.config.CHECKPOINT_INTERVAL
        await asyncio.sleep(min(60.0, interval))
        while True:
            try:
                self.checkpoint()
            except StorageError:
                pass  # logged and reported by the store (once a minute at most); try again next time
            await asyncio.sleep(random.uniform(interval * 0.9, interval * 1.1))

    def checkpoint(self, maintenance: bool = True) -> None:
        """Rotate token secrets, save id and contacts, expire values, refresh.

        Raises :class:`StorageFault` when the disk refuses the saves (after
        the rest of the checkpoint is done).
        """
        if self.mainline is None:
            self.tokens.rotate()
        else:
            self.mainline.expire(time.monotonic())
        was_open = self.store.is_open
        fault: StorageError | None = None
        try:
            self.store.save_self_id(self.id)
            self.store.save_contacts(self.table.contacts())
        except StorageError as exc:
            fault = exc
        if maintenance:
            try:
                self.expire_values()
            except StorageError as exc:
                fault = fault or exc
            self._spawn(self.refresh_table())
        if not was_open and self.running:
            self.store.release()  # an idle node's database stays closed
        if fault is not None:
            raise fault

    def expire_values(self) -> int:
        expired = self.store.expire(time.time() - self.config.KEY_EXPIRE)  # StorageFault: nothing deleted
        if self.events.active:
            now = time.monotonic()
            for key, value in expired:
                self.events.emit(ValueExpired(now, key, value))
        return len(expired)

    async def refresh_table(self, force: bool = False) -> None:
        """Look up a random id in every stale bucket (every bucket if forced).

        Forced (after a join), buckets split off meanwhile may be left empty:
        a lookup of a random id in a wide range often converges on the half
        nearer us.  Each empty bucket away from our id then gets a lookup of
        its own, a few rounds at most (an empty range may just be empty).
        """
        now = time.monotonic()
        if force:
            ranges = [(b.lo, b.hi) for b in self.table.buckets]
        else:
            ranges = self.table.stale_buckets(now, self.config.BUCKET_STALENESS)
        for lo, hi in ranges:
            await self.find_node(new_id_in_range(lo, hi))
        if not force:
            return
        tried: set[tuple[int, int]] = set()
        for _ in range(EMPTY_BUCKET_ROUNDS):
            empty = [(b.lo, b.hi) for b in self.table.buckets
                     if not b.entries and not b.covers(self.table.own_key) and (b.lo, b.hi) not in tried]
            if not empty:
                return
            for lo, hi in empty:
                tried.add((lo, hi))
                await self.find_node(new_id_in_range(lo, hi))

    # --- routing table reports -----------------------------------------

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

    def report(self, reports: list[routing.Report]) -> None:
        for r in reports:
            if isinstance(r, routing.PingOldest):
                self._spawn(self._ping_oldest(r.oldest, r.new))
        if not self.events.active:
            return
        now = time.monotonic()
        for r in reports:
            event: Event | None = None
            if isinstance(r, routing.Added):
                event = ContactAdded(now, r.contact, (r.lo, r.hi))
            elif isinstance(r, routing.Refreshed):
                event = ContactRefreshed(now, r.contact)
            elif isinstance(r, routing.Split):
                event = BucketSplit(now, r.lo, r.mid, r.hi)
            elif isinstance(r, routing.Merged):
                event = BucketsMerged(now, r.lo, r.mid, r.hi)
            elif isinstance(r, routing.Failed):
                event = ContactFailed(now, r.contact, r.failures)
            elif isinstance(r, routing.Removed):
                event = ContactRemoved(now, r.contact, r.reason)
            elif isinstance(r, routing.Replaced):
                event = ContactReplaced(now, r.old, r.new)
            if event is not None:
                self.events.emit(event)

    def insert_node(self, contact: Contact, contacted: bool = True) -> None:
        """Offer a contact to the table; ``contacted``: it answered us at that address."""
        if not self.admissible(contact):
            return
        self.report(self.table.insert(contact, time.monotonic(), contacted))

    def admissible(self, contact: Contact) -> bool:
        """Whether a contact may enter the table: not a bootstrap router, and (Mainline,
        ENFORCE_NODE_ID) its id valid for its IP under BEP 42 (local, private exempt)."""
        if contact.address in self._routers:
            return False
        if self.config.ENFORCE_NODE_ID and self.mainline is not None:
            return ids.id_matches_ip(contact.id, contact.host)
        return True

    def verify_contact(self, contact: Contact) -> None:
        """Ping a contact seen only in a query, so that it may be handed out once it
        answers; at most MAX_VERIFY_PINGS at a time (the others wait for our lookups)."""
        if self._verifying >= self.config.MAX_VERIFY_PINGS or not self.running:
            return
        entry = self.table.get(contact.id)
        if entry is None or entry.answered or entry.contact.address != contact.address:
            return
        self._verifying += 1
        self._spawn(self._verify(contact))

    async def _verify(self, contact: Contact) -> None:
        try:
            await self.request(contact, "ping", {b"id": self.id})
        except errors.DHTError:
            pass  # the request's outcome is already in the table
        finally:
            self._verifying -= 1

    def check_moved(self, known: Contact, claimed: Contact) -> None:
        """A query from a known id came from another address.

        A query moves nothing: the known address is pinged and, only if it
        does not answer with that id, the claimed one; an answer there with
        the id moves the contact (in :meth:`_request`).  So a stranger can
        only move a contact that is gone.  Shares MAX_VERIFY_PINGS with
        :meth:`verify_contact`; one check per id at a time.
        """
        if (self._verifying >= self.config.MAX_VERIFY_PINGS or not self.running
                or known.id in self._moving):
            return
        self._verifying += 1
        self._moving.add(known.id)
        self._spawn(self._check_moved(known, claimed))

    async def _check_moved(self, known: Contact, claimed: Contact) -> None:
        ping = {b"id": self.id}
        try:
            try:
                await self.request(known, "ping", ping)
                return  # still where we knew it
            except (errors.RpcTimeout, RemoteProtocolError):
                pass
            await self.request(claimed, "ping", ping)
        except errors.DHTError:
            pass  # the outcome is already in the table
        finally:
            self._verifying -= 1
            self._moving.discard(known.id)

    async def _ping_oldest(self, oldest: Contact, new: Contact) -> None:
        try:
            await self.request(oldest, "ping", {b"id": self.id})
        except (errors.RpcTimeout, RemoteProtocolError):
            self.report(self.table.replace_stale(oldest, new, time.monotonic()))
        except (KrpcError, errors.NodeStopped):
            pass

    # --- requests ------------------------------------------------------

    def request(
        self, contact: Contact, method: str, args: Any, soft_timeout: float | None = None
    ) -> asyncio.Future[Any]:
        """Ask ``contact``, expecting an answer with its id; the routing table learns the outcome.

        ``args``: the profile's arguments (a dict; Mainline also takes typed ones).
        The future gets the profile's answer (Khashmir: the response dict;
        Mainline: the :class:`dht.wire.mainline.Response`).  The local node is
        asked by calling its handler directly.  A response whose id is not the
        contact's fails the request and removes the contact (if the table knows
        it at that address).
        """
        if contact.id == self.id:
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            try:
                if self.mainline is not None:
                    fut.set_result(self.mainline.local(method, args))
                else:
                    args_list = krpc.check_arguments(krpc.Query(b"", method, args))
                    fut.set_result(self.handlers[method](*args_list))
            except KrpcError as exc:
                fut.set_exception(exc)
            return fut
        return self._request(contact.address, contact.id, method, args, soft_timeout)

    def _request(
        self, address: Address, expected_id: bytes | None, method: str, args: Any,
        soft_timeout: float | None = None,
    ) -> asyncio.Future[Any]:
        """Ask the node at ``address``.

        ``expected_id``: the id it must answer with, or None when only its
        address is known (join, ping by address).  Either way an answer with
        the all-zero id or with our own id fails the request; a good answer
        puts the responder in the table as a contact that answered.
        """
        if address in (self.address, self.contact.address):
            return self.request(self.contact, method, args)  # ourselves: our own handlers
        inner = self.transport.request(address, method, args, soft_timeout)
        sent = time.monotonic()
        outer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def settle(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                outer.cancel()
                return
            exc = f.exception()
            if exc is None and self.running:
                values = f.result()
                try:
                    rid = self.profile.response_id(values)
                    if rid == routing.NULL_ID or rid == self.id or (
                        expected_id is not None and rid != expected_id
                    ):
                        if expected_id is not None:
                            self.report(self.table.remove(expected_id, "answered with another id", address))
                        raise RemoteProtocolError(
                            f"{address[0]}:{address[1]} answered with id {rid.hex()}"
                            + ("" if expected_id is None else f", not {expected_id.hex()}")
                        )
                except RemoteProtocolError as bad:
                    self.stats_counters.drop("bad response")
                    exc = bad
                else:
                    now = time.monotonic()
                    found = Contact(rid, address[0], address[1])
                    if self.mainline is not None:
                        self._mainline_answer(found, values)
                    if self.admissible(found):
                        self.report(self.table.insert(found, now, contacted=True, rtt=now - sent))
            elif isinstance(exc, errors.RpcTimeout) and self.running and expected_id is not None:
                self.report(self.table.failed(expected_id, address))
            if outer.done():
                return
            if exc is None:
                outer.set_result(f.result())
            else:
                outer.set_exception(exc)

        inner.add_done_callback(settle)
        return outer

    def peer_announced(self, now: float, info_hash: bytes, peer: Address, seed: bool) -> None:
        """Tell subscribers that a peer's announce was stored here (Mainline handlers)."""
        if self.events.active:
            self.events.emit(PeerAnnounced(now, info_hash, peer, seed))

    def item_stored(self, now: float, target: bytes, seq: int | None, size: int) -> None:
        """Tell subscribers that a BEP 44 item was put here (Mainline handlers)."""
        if self.events.active:
            self.events.emit(ItemStored(now, target, seq, size))

    def adopt_id(self, new_id: bytes) -> None:
        """Change our node id: the routing table is rebuilt around it with the same contacts."""
        now = time.monotonic()
        old = self.table.contacts()
        self.id = new_id
        self._table = self._new_table(now)
        self._table.exempt(self._exempt_host())
        self._table.load(old, now)
        if self.mainline is not None:
            self.mainline.items.node_id = new_id
        try:
            self.store.save_self_id(new_id)
        except StorageError:
            pass  # saved at the next checkpoint

    def soft_timeout(self) -> float:
        return self.transport.rtt.timeout(self.config.SOFT_TIMEOUT_MIN, self.config.SOFT_TIMEOUT_MAX)

    def next_lookup_id(self) -> int:
        return next(_LOOKUP_IDS)

    # --- public API ------------------------------------------------------

    async def join(self, host: str, port: int) -> Address:
        """Join through the node at host:port; returns our address as it sees it.

        Mainline has no join: a ping, whose answer's ``ip`` (BEP 42) says it.
        """
        if self.mainline is not None:
            envelope = await self._request((host, port), None, "ping", {b"id": self.id})
            ip: Address | None = envelope.ip
            return ip if ip is not None else self.contact.address
        values = await self._request((host, port), None, "join", {b"id": self.id})
        ip_addr = values.get(b"ip_addr")
        their_port = values.get(b"port")
        if not isinstance(ip_addr, bytes) or not isinstance(their_port, int):
            raise RemoteProtocolError("join response needs ip_addr and port")
        return ip_addr.decode("ascii", "replace"), their_port

    async def bootstrap(self, addresses: Iterable[Address], routers: Iterable[Address] = ()) -> int:
        """Join through each address, then look up our own neighbourhood.

        Mainline has no join: a find_node for our own id is sent through the
        addresses and ``routers`` (and on, as a lookup).  ``routers`` (e.g.
        :data:`dht.handlers_mainline.PUBLIC_ROUTERS`) are asked but never enter
        the table, as libtorrent keeps them out; ``addresses`` that answer
        do, as any node.  Returns the contacts in the table.
        """
        addresses = list(addresses)
        if self.mainline is not None or routers:
            return await actions_mainline.bootstrap(self, addresses, list(routers))
        results = await asyncio.gather(
            *(self.join(h, p) for h, p in addresses), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, errors.DHTError):
                raise r
        if addresses and all(isinstance(r, BaseException) for r in results):
            shown = ", ".join(f"{h}:{p}" for h, p in addresses)
            raise LocalError(f"no bootstrap node answered ({shown})")
        await self.find_close_nodes()
        self._spawn(self.refresh_table(force=True))
        return len(self.table)

    async def find_close_nodes(self) -> list[Contact]:
        """find_node of the id one above ours, to fill our neighbourhood."""
        target = self.id[:-1] + bytes([(self.id[-1] + 1) % 256])
        return await self.find_node(target)

    async def ping(self, host: str, port: int) -> bytes:
        values = await self._request((host, port), None, "ping", {b"id": self.id})
        return self.profile.response_id(values)

    async def find_node(self, target: bytes) -> list[Contact]:
        lookup = await actions.find_node(self, target)
        return [c.contact for c in lookup.closest_answered() if c.contact.id != self.id]

    async def find_value(self, key: bytes) -> list[Contact]:
        self._khashmir("find_value")
        lookup = await actions.find_value(self, key)
        return [c.contact for c in lookup.with_values()]

    async def get_value(self, key: bytes) -> list[bytes]:
        self._khashmir("get_value")
        return await actions.get_value(self, key)

    async def store_value(self, key: bytes, value: bytes, local: bool = True) -> actions.StoreResult:
        """Store at the STORE_REDUNDANCY closest nodes (this one too, if ``local``)."""
        self._khashmir("store_value")
        if len(value) > self.config.MAX_VALUE_SIZE:
            raise LocalError(
                f"value is {len(value)} bytes; the limit is {self.config.MAX_VALUE_SIZE}"
            )
        return await actions.store_value(self, key, value, local)

    def stats(self) -> StatsSnapshot:
        keys, values = self.store.totals() if self._store is not None and self.running else (0, 0)
        if self.mainline is not None:  # info-hashes and items held; peers and items
            ml = self.mainline
            keys, values = len(ml.peers) + len(ml.items), ml.peers.total_peers + len(ml.items)
        table = self._table
        return self.stats_counters.snapshot(
            contacts=len(table) if table else 0,
            buckets=len(table.buckets) if table else 0,
            k=self.config.K,
            keys=keys,
            values=values,
            uptime=time.monotonic() - self._started if self.running else 0.0,
            table=table,
        )

    def routing_table(self) -> list[BucketInfo]:
        return [
            BucketInfo(
                b.lo, b.hi, b.last_accessed,
                [
                    ContactInfo(e.contact, e.last_seen, e.failures, e.rtt, self.clients.get(e.contact.id))
                    for e in b.entries
                ],
            )
            for b in self.table.buckets
        ]

    async def stored_values(self) -> list[StoredValueInfo]:
        return self.store.all_values()
