"""The inside of a node: its state, its lifecycle and its data directory.

:class:`NodeCore` is what :class:`dht.node.facade.Node` (the public API, a thin
facade over it) runs on.  It ties the sans-IO parts together -- routing
table, tokens, stores, lookups, the query budget -- over one
:class:`KrpcTransport`, and is made of one concept per module:

- here: the state, :meth:`NodeCore.start` / :meth:`NodeCore.stop` /
  :meth:`NodeCore.abort`, the data directory's lock and database (closed
  while idle), the background tasks and the warnings kept for the explorer;
- :mod:`dht.node.requests`: the request path (answer id checks, the query
  budget) and what the routing table reports, published as events;
- :mod:`dht.node.maintenance`: checkpoints, bucket refreshes, verification pings;
- :mod:`dht.node.api`: the coroutines and snapshots behind the public ones (Khashmir);
- :mod:`dht.node.mainline_api`: the Mainline coroutines and BEP 42 identity;
- :mod:`dht.khashmir.remote`: the ``krpc_*`` handlers, with the seed's signatures,
  reached through the explicit ``handlers`` table.

The mixins hold no state of their own; they declare what they use of the
core's.  The wire is the node's profile (``Config.PROFILE``,
:mod:`dht.wire.profiles`): Khashmir (the default) answers through the
``krpc_*`` handlers; Mainline through
:class:`dht.mainline.handlers.MainlineHandlers`, with its own lookups in
:mod:`dht.mainline.lookups`.  Routing table, lookups, transport, limits and
events are shared.  The lookups (:mod:`dht.rpc.iterate`,
:mod:`dht.mainline.lookups`) see a core only through the narrow protocols
they declare (:class:`dht.rpc.progress.LookupNode`).

An idle node closes its database connection after STORE_IDLE_SECONDS
without an access (the store reopens it on the next one): a lab of
hundreds of nodes in one process would otherwise keep hundreds of SQLite
caches.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from pathlib import Path
from typing import Any, Callable, Coroutine

import platformdirs

from ..core import errors, ids
from ..capture import CaptureWriter
from ..core.config import Config
from ..core.contact import Address, Contact
from ..rpc.resolve import resolve_host
from ..core.budget import QueryBudget
from ..storage.datadir import DataDirLock
from ..core.errors import LocalError, StorageError
from ..core.events import Event, EventBus, NodeWarning
from ..khashmir.dispatch import KhashmirHandlers
from ..mainline.handlers import MainlineHandlers
from ..core.khash import new_id
from .api import NodeAPI
from .mainline_api import MainlineAPI
from .maintenance import NodeMaintenance
from .requests import NodeRequests
from ..khashmir.remote import RemoteInterface
from ..core.routing import RoutingTable
from ..core.stats import MethodCounters, Stats
from ..storage import Store, StoreLimits
from ..core.table_info import BucketInfo as BucketInfo, ContactInfo as ContactInfo
from ..core.tokens import TokenSecrets
from ..rpc.transport import KrpcTransport
from ..wire.profiles import profile_for

log = logging.getLogger(__name__)

#: Distinct warnings a node keeps in :attr:`NodeCore.warnings` (the oldest go first).
MAX_WARNINGS = 20

#: Seconds without a database access after which a node closes its SQLite
#: connection (reopened on the next access; see Store.release).
STORE_IDLE_SECONDS = 2.0


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("khashmir-explorer", appauthor=False))


class NodeCore(NodeAPI, NodeMaintenance, NodeRequests, RemoteInterface, MainlineAPI):
    """The inside of one DHT node (see the module's docstring); :class:`dht.node.facade.Node` is its API.

    The mixins before :class:`RemoteInterface` and :class:`MainlineAPI` in
    the bases provide what those two declare and leave to the core.
    """

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
        self.routers: set[Address] = set()  # bootstrap routers: asked, never in the table
        # the outgoing query budget (dht/core/budget.py) and the queries it holds back
        self._budget: QueryBudget[asyncio.Future[Any]] = QueryBudget(
            self.config.QUERY_BUDGET, self.config.QUERY_BUDGET_BURST, time.monotonic()
        )
        self._held: dict[asyncio.Future[Any], tuple[Any, ...]] = {}
        self._budget_timer: asyncio.TimerHandle | None = None
        #: Mainline: the client (``v``) of nodes that answered us, by id (as many as the table holds).
        self.clients: dict[bytes, str] = {}
        self.external = ids.ExternalAddressVotes(self.config.EXTERNAL_ADDRESS_VOTES)
        self.mainline: MainlineHandlers | None = (
            MainlineHandlers(self) if self.config.PROFILE == "mainline" else None
        )
        #: the network's Khashmir dispatch: storage queries answered off the receive path
        self.khashmir = KhashmirHandlers(self)

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
        handler = self.khashmir.dispatch if self.mainline is None else self.mainline.dispatch
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
        self.spawn(self._checkpoint_loop())
        if self.mainline is not None:
            self.mainline.started(now)
            self.spawn(self._token_loop())
        if len(self._table):
            self.spawn(self.refresh_table(force=True))

    def _open_store(self) -> Store:
        cfg = self.config
        store = Store(self.db_path, StoreLimits(cfg.MAX_VALUES, cfg.MAX_VALUES_PER_KEY, cfg.MAX_VALUES_PER_IP),
                      threaded=cfg.STORAGE_THREAD)
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
        self._drop_held()
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
        self._drop_held()
        self._transport.close()
        self._store.close(cancel_queued=True)  # the storage job running finishes, the queued ones never run
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
        if store.busy:  # jobs on the storage thread: not idle
            self._store_timer = asyncio.get_running_loop().call_later(STORE_IDLE_SECONDS, self._store_idle)
        elif idle >= STORE_IDLE_SECONDS:
            store.release()
        else:
            self._store_timer = asyncio.get_running_loop().call_later(
                STORE_IDLE_SECONDS - idle, self._store_idle
            )

    def _cancel_store_timer(self) -> None:
        if self._store_timer is not None:
            self._store_timer.cancel()
            self._store_timer = None

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
