"""The inside of a node: its state, its lifecycle and its data directory, composed of parts.

:class:`NodeCore` is what :class:`dht.node.facade.Node` (the public API, a
thin facade over it) runs on.  It holds the state -- id, address, routing
table, store, transport, events, statistics -- and is composed of parts,
each of one concept, each seeing the node through a narrow protocol:

- :attr:`NodeCore.protocol`: the profile's protocol object, chosen once
  (:mod:`dht.node.protocols`): handlers, lookups, stores, joining;
- :attr:`NodeCore.requests`: the request path (answer id checks, the
  query budget) and what the routing table reports, published as events
  (:class:`dht.node.requests.Requests`);
- :attr:`NodeCore.maintenance`: checkpoints, bucket refreshes,
  verification pings (:class:`dht.node.maintenance.Maintenance`);
- :mod:`dht.node.snapshots`: the statistics and routing-table snapshots.

Here: :meth:`NodeCore.start` / :meth:`NodeCore.stop` / :meth:`NodeCore.abort`,
the data directory's lock and database (closed while idle), the background
tasks and the warnings kept for the explorer, and the few services every
part uses (spawn, warn, the table, a lookup's view of the node).

An idle node closes its database connection after STORE_IDLE_SECONDS
without an access (the store reopens it on the next one;
:class:`dht.storage.idle.IdleRelease`): a lab of hundreds of nodes in one
process would otherwise keep hundreds of SQLite caches.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
from pathlib import Path
from typing import Any, Callable, Coroutine

import platformdirs

from ..rpc import clock
from ..capture import CaptureWriter
from ..core import errors
from ..core.config import Config
from ..core.contact import Address, Contact
from ..core.family import V4, Family, family_of
from ..core.errors import FamilyUnavailable, LocalError, StorageError
from ..core.events import Event, EventBus, NodeWarning
from ..core.khash import new_id
from ..core.routing import RoutingTable
from ..core.stats import Stats
from ..rpc import iterate, udp
from ..rpc.resolve import resolve_host
from ..core.limits import Limits
from ..rpc.shared_port import SharedPort
from ..rpc.transport import KrpcTransport
from ..storage import NodeLock, NodeStorage, Store, StoreLimits
from ..storage.datadir import DataDirLock
from ..storage.idle import IdleRelease
from ..wire.profiles import profile_for
from .maintenance import Maintenance
from .protocols import protocol_for
from .requests import Requests

log = logging.getLogger(__name__)

#: Distinct warnings a node keeps in :attr:`NodeCore.warnings` (the oldest go first).
MAX_WARNINGS = 20

#: Seconds without a database access after which a node closes its SQLite
#: connection (reopened on the next access; see Store.release).
STORE_IDLE_SECONDS = 2.0


#: bind errors that say the system has no such family (or no such address)
_NO_FAMILY = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})


def _path(given: str | Path) -> Path:
    """``given`` as a Path: the same object when it is one (a lab's nodes share theirs)."""
    return given if isinstance(given, Path) else Path(given)


@functools.lru_cache(maxsize=64)
def _db_path(data_dir: Path, db_name: str) -> Path:
    """A database's path, one object for all the nodes of a lab (Paths are immutable)."""
    return data_dir / db_name


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("khashmir-explorer", appauthor=False))


class NodeCore:
    """The inside of one DHT node (see the module's docstring); :class:`dht.node.facade.Node` is its API."""

    # A lab runs thousands of these: slots, not a dict of some 30 attributes (1.6 KB a node).
    __slots__ = (
        "_idle", "_lock", "_storage", "_store", "_table", "_tasks",
        "_transport", "address", "config", "data_dir", "db_path", "events",
        "family", "host", "id", "maintenance", "next_lookup_id", "profile",
        "protocol", "request", "request_address", "requested_port", "requests", "routers",
        "running", "sender_seen", "shared_port", "sibling", "soft_timeout", "started_at",
        "stats_counters", "want", "warnings",
    )

    def __init__(
        self,
        config: Config | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        db_name: str = "khashmir.db",
        storage: NodeStorage | None = None,
        want: tuple[bytes, ...] = (),
        shared_port: SharedPort | None = None,
    ) -> None:
        """``storage``: where the node keeps its rows instead of ``data_dir/db_name``
        and what it locks (a lab node's slot in the lab's one database); ``want``:
        the families a find_node asks nodes of (BEP 32: a side of a dual-stack node);
        ``shared_port``: listen at ``host`` on that one socket of a lab's
        (:mod:`dht.rpc.shared_port`; ``host`` a 127.x.y.z address, ``port`` 0 or its
        port) instead of a socket of the node's own."""
        self.config = config or Config()
        self.want = want
        #: the family of our socket (set by :meth:`start` from the host; IPv4 until then)
        self.family: Family = V4
        #: the other side of a dual-stack node (:mod:`dht.node.dual`), None for one family
        self.sibling: NodeCore | None = None
        self.profile = profile_for(self.config.PROFILE, self.config.READ_ONLY, want=want)
        self.host = host
        self.requested_port = port
        self.data_dir = _path(data_dir) if data_dir is not None else default_data_dir()
        self.db_path = _db_path(self.data_dir, db_name)
        self.events = EventBus()
        self.stats_counters = Stats(known=self.profile.methods)
        self.warnings: list[str] = []
        self.running = False
        self.id = b""
        self.address: Address = (host, port)
        self._store: Store | None = None
        self._storage = storage
        self.shared_port = shared_port
        self._lock: NodeLock = DataDirLock(self.data_dir) if storage is None else storage.lock()
        self._table: RoutingTable | None = None
        self._transport: KrpcTransport | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle: IdleRelease | None = None  # closes the database connection while idle
        self.started_at = 0.0  # monotonic time of the last start
        self.routers: set[Address] = set()  # bootstrap routers: asked, never in the table
        #: the profile's protocol object (dht/node/protocols.py chooses it): handlers, lookups, stores
        self.protocol = protocol_for(self)
        self.requests = Requests(self, clock.now())
        self.maintenance = Maintenance(self)
        # What the parts, the handlers and the lookups ask of the node, answered by the
        # part that does it: bound here once, as they run for every datagram.
        #: ask a contact (:meth:`dht.node.requests.Requests.request`)
        self.request = self.requests.request
        #: ask the node at an address (:meth:`dht.node.requests.Requests.request_address`)
        self.request_address = self.requests.request_address
        #: a query's sender offered to the table (:meth:`dht.node.requests.Requests.sender_seen`)
        self.sender_seen = self.requests.sender_seen
        self.soft_timeout = self.requests.soft_timeout
        self.next_lookup_id = self.requests.next_lookup_id

    # --- lifecycle -----------------------------------------------------

    async def start(self) -> None:
        """Lock the data directory, open the database, bind the socket.

        Raises :class:`AddressError` for a host that is not IPv4 on Khashmir,
        nor IPv4 or IPv6 on Mainline (a name is resolved, IPv4 first), :class:`StorageError` when the directory is held by
        another node or cannot be written, :class:`LocalError` for a port in use.
        """
        if self.running:
            raise LocalError("node already started")
        self.host = await resolve_host(self.host, families=self.families())
        self.family = family_of(self.host)
        self.profile = profile_for(self.config.PROFILE, self.config.READ_ONLY, self.family, self.want)
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
        now = clock.now()
        self._table = self._new_table(now)
        transport = KrpcTransport(
            self.protocol.dispatch, self.stats_counters, self.events, self.config.KRPC_TIMEOUT, self.config,
            self.profile, self.requests.sender_seen, self.protocol.run_job, self.requests.budget,
        )
        self._transport = transport
        loop = asyncio.get_running_loop()
        try:
            if self.shared_port is not None:
                self._attach_shared(self.shared_port, transport)
            else:
                sock = udp.bind(self.host, self.requested_port, self.family.ipv6)
                await loop.create_datagram_endpoint(lambda: transport, sock=sock)
        except LocalError:
            self._store.close()
            self._store = None
            self._lock.release()
            raise
        except OSError as exc:
            self._store.close()
            self._store = None
            self._lock.release()
            if exc.errno == errno.EADDRINUSE:
                raise LocalError(f"port {self.requested_port} on {self.host} is in use") from None
            if exc.errno in _NO_FAMILY:
                raise FamilyUnavailable(
                    f"no {self.family} here: cannot listen on {self.family.shown(self.host, self.requested_port)}"
                    f" ({exc.strerror or exc})"
                ) from None
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
        self.started_at = now
        self._table.load(saved_contacts, now)  # never answered: the first to go
        self._idle = IdleRelease(self._store, STORE_IDLE_SECONDS, lambda: self.running)
        self._store.on_open = self._idle.opened
        self._store.release()  # reopened on the next access
        self.maintenance.start_checkpoints()
        self.protocol.started(now)
        if len(self._table):
            self.spawn(self.maintenance.refresh_table(force=True))

    def _attach_shared(self, shared: SharedPort, transport: KrpcTransport) -> None:
        """Listen at our host on the lab's shared socket (LocalError: the address is taken,
        or the port asked for is not the socket's)."""
        shared.open()
        if self.requested_port not in (0, shared.port):
            raise LocalError(f"port {self.requested_port}: this node shares the lab's socket on port {shared.port}")
        shared.attach(self.host, transport)

    def _open_store(self) -> Store:
        cfg = self.config
        limits = StoreLimits(cfg.MAX_VALUES, cfg.MAX_VALUES_PER_KEY, cfg.MAX_VALUES_PER_IP)
        if self._storage is not None:
            store = self._storage.open_store(limits, cfg.STORAGE_THREAD)
        else:
            store = Store(self.db_path, limits, threaded=cfg.STORAGE_THREAD)
        if store.warning:
            self.warn(store.warning)
            log.warning("%s", store.warning)
        store.on_fault = self.warn  # storage faults, at most once a minute
        return store

    def warn(self, text: str) -> None:
        """Keep a one-line warning for :attr:`warnings` and tell subscribers."""
        if text in self.warnings:
            self.warnings.remove(text)
        self.warnings.append(text)
        del self.warnings[:-MAX_WARNINGS]
        if self.events.active:
            self.events.emit(NodeWarning(clock.now(), text))

    async def stop(self) -> None:
        """Checkpoint, then close the socket and the database, and unlock the data directory.

        The storage queries in flight are finished and answered first (new
        ones are dropped), so nothing acknowledged is lost; those still
        waiting for the disk after KRPC_TIMEOUT (their senders have given
        up) are cancelled unanswered.  A checkpoint
        the disk refuses (full, read-only) is logged in one line and kept in
        :attr:`warnings`; stop still completes.
        """
        if not self.running:
            return
        self.running = False
        assert self._store is not None and self._transport is not None
        try:
            await asyncio.wait_for(self._transport.drain(), self.config.KRPC_TIMEOUT)
        except asyncio.TimeoutError:  # the disk holds them longer than their senders wait: as lost datagrams
            self._transport.cancel_answers()
        await self._store.settled()  # the job running finishes with the loop free; then the checkpoint
        self._store.log_faults = False  # one line below, not one per failed write
        try:
            self.maintenance.checkpoint(maintenance=False)
        except StorageError as exc:
            why = getattr(exc, "why", "") or str(exc)
            saved = f"the node's id and routing table ({len(self.table)} contacts)"
            text = f"on stop, could not save {saved}: {why}; the values stored before are kept"
            log.warning("%s", text)
            self.warn(text)
        self.maintenance.stop_checkpoints()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self._transport is not None and self._store is not None
        if self._idle is not None:
            self._idle.cancel()
        self._transport.close()
        self._store.close()
        self._lock.release()

    def abort(self) -> None:
        """Stop at once without a checkpoint (a killed process, for the lab)."""
        if not self.running:
            return
        self.running = False
        self.maintenance.stop_checkpoints()
        for task in list(self._tasks):
            task.cancel()
        assert self._transport is not None and self._store is not None
        if self._idle is not None:
            self._idle.cancel()
        self._transport.close()
        self._store.close(cancel_queued=True)  # the storage job running finishes, the queued ones never run
        self._lock.release()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
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
    def table_or_none(self) -> RoutingTable | None:
        """The table, None before the first start."""
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
    def transport_or_none(self) -> KrpcTransport | None:
        """The transport while the node runs, else None."""
        return self._transport if self.running else None

    @property
    def limits(self) -> Limits:
        """What the node's sources may make it do (the transport's machine's; also while
        it stops, when queries still come in: they are still charged)."""
        if self._transport is None:
            raise LocalError("node is not running")
        return self._transport.limits

    @property
    def contact(self) -> Contact:
        """Ourselves as a contact (a wildcard host shown as our family's loopback address)."""
        host = self.address[0] if self.address[0] not in (self.family.wildcard, "") else self.family.loopback
        return Contact(self.id, host, self.address[1])

    def families(self) -> tuple[Family, ...]:
        """The families our host may be of: both on Mainline (IPv4 first), IPv4 on Khashmir."""
        return self.protocol.families

    def table_for(self, family: Family) -> RoutingTable | None:
        """The routing table of ``family``: ours, or our sibling's on a dual-stack node
        (None: no table of that family, or not started)."""
        if family is self.family:
            return self._table
        sibling = self.sibling
        return sibling.table_or_none if sibling is not None and sibling.running else None

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        return self.events.subscribe(callback)

    def capture_to(self, writer: CaptureWriter | None) -> None:
        """Write every datagram this running node sends and receives to ``writer``
        (a :class:`dht.capture.CaptureWriter`; None stops)."""
        self.transport.tap = None if writer is None else writer.tap
        if writer is not None:
            writer.add_local(self.contact.address)

    # --- the table around our id ---------------------------------------------------

    def _new_table(self, now: float) -> RoutingTable:
        cfg = self.config
        return RoutingTable(
            self.id, cfg.K, cfg.MAX_FAILURES, cfg.MIN_PING_INTERVAL, now,
            replacements=cfg.REPLACEMENTS_PER_BUCKET,
            max_per_ip=cfg.MAX_PER_IP_IN_TABLE,
            max_per_subnet=cfg.MAX_PER_SUBNET_IN_BUCKET,
            listeners=self.events,  # the events of answers built only for a listener
        )

    def _exempt_host(self) -> str | None:
        """Our own address if it is a loopback one: nodes sharing it are a lab on this
        machine (several nodes on one address), exempt from the per-address limits."""
        host = self.contact.host
        return host if self.family.is_loopback(host) else None

    def adopt_id(self, new_id: bytes) -> None:
        """Change our node id: the routing table is rebuilt around it with the same contacts,
        each keeping whether it answered and its RTT; the new id is then looked up and every
        bucket refreshed (the buckets around the new id are new, and hold what the old ones could not)."""
        now = clock.now()
        old = self.table.entries()
        self.id = new_id
        self._table = self._new_table(now)
        self._table.exempt(self._exempt_host())
        self._table.adopt(old, now)
        if self.running and len(self._table):
            self.spawn(self._settle_new_id(new_id))
        self.protocol.id_changed(new_id)
        try:
            self.store.save_self_id(new_id)
        except StorageError:
            pass  # saved at the next checkpoint

    async def _settle_new_id(self, new_id: bytes) -> None:
        """After an id change: a lookup of the new id (its neighbourhood, as a join's), then every bucket."""
        await self.find_node(new_id)
        if self.id == new_id:
            await self.maintenance.refresh_table(force=True)

    # --- the coroutines both profiles share ------------------------------------------

    async def find_node(self, target: bytes) -> list[Contact]:
        lookup = await iterate.find_node(self, target)
        return [c.contact for c in lookup.closest_answered() if c.contact.id != self.id]

    async def find_close_nodes(self) -> list[Contact]:
        """find_node of the id one above ours, to fill our neighbourhood."""
        target = self.id[:-1] + bytes([(self.id[-1] + 1) % 256])
        return await self.find_node(target)

    async def ping(self, host: str, port: int) -> bytes:
        values = await self.request_address((host, port), None, "ping", {b"id": self.id})
        return self.profile.response_id(values)

    async def bootstrap(self, addresses: list[Address], routers: list[Address]) -> int:
        """Join through each address (the protocol's way), look up our neighbourhood, then
        refresh every bucket in the background; the contacts in the table."""
        await self.protocol.bootstrap(addresses, routers)
        self.spawn(self.maintenance.refresh_table(force=True))
        return len(self.table)
