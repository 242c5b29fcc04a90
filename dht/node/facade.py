"""A DHT node, as the explorer, the CLI and bench use it: the public API (docs/dht-api.md).

:class:`Node` is a thin facade: every name it has is documented in
docs/dht-api.md (tests/test_architecture.py checks), and each one hands
over to the node's inside, a :class:`dht.node.core.NodeCore` (routing
table, store, transport, requests, handlers, maintenance), which no caller
outside ``dht`` reaches.  Inside the package, :func:`core_of` is the one way
in (the lab kills a node abruptly; tests look at its table).

The coroutines raise on failure (:mod:`dht.core.errors`); they never return
status tuples.  Khashmir's (:meth:`Node.find_value`, :meth:`Node.get_value`,
:meth:`Node.store_value`) raise LocalError on a Mainline node and
Mainline's on a Khashmir one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from ..khashmir.lookups import StoreResult
from ..mainline.lookups import FoundItem, MutablePut, PeersFound, Sampling
from ..capture import CaptureWriter
from ..core.config import Config
from ..core.errors import LocalError
from ..mainline.protocol import MainlineProtocol
from ..core.contact import Address, Contact
from ..core.events import Event
from ..crawl import Census, CrawlSpec
from . import protocols, snapshots
from .crawling import Crawls
from .core import NodeCore
from .dual import IPV6_DIR, WANT_BOTH, Sides
from ..core.stats import StatsSnapshot
from ..storage import NodeStorage, StoredValueInfo
from ..mainline.stores.items import StoredItemInfo
from ..mainline.stores.peers import StoredPeerInfo
from ..core.table_info import BucketInfo
from ..rpc.shared_port import SharedPort
from ..wire.profiles import WireProfile


class Node:
    """One DHT node.  Create, ``await start()``, use, ``await stop()``."""

    __slots__ = ("_core", "_sides", "_crawls")

    def __init__(
        self,
        config: Config | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        db_name: str = "khashmir.db",
        storage: NodeStorage | None = None,
        host6: str | None = None,
        storage6: NodeStorage | None = None,
        shared_port: SharedPort | None = None,
    ) -> None:
        """``host6``: an IPv6 side too (Mainline, BEP 32; ``"::"`` on every interface),
        on ``port`` too when free, with ``storage6`` beside ``storage`` (a lab node's two
        slots); ``host`` may itself be IPv6 (a node of IPv6 only).  ``shared_port``: the
        IPv4 side listens at ``host`` (127.x.y.z) on that socket of a lab's, not on one
        of its own (:mod:`dht.rpc.shared_port`)."""
        if host6 is None:
            self._core = NodeCore(config, host=host, port=port, data_dir=data_dir, db_name=db_name, storage=storage,
                                  shared_port=shared_port)
            self._sides = Sides([self._core])
            self._crawls = Crawls(self._core)
            return
        if (storage is None) != (storage6 is None):
            raise LocalError("a lab node with an IPv6 side needs a storage slot for each side")
        self._core = NodeCore(config, host=host, port=port, data_dir=data_dir, db_name=db_name, storage=storage,
                              want=WANT_BOTH, shared_port=shared_port)
        six = NodeCore(config, host=host6, port=port, data_dir=self._core.data_dir / IPV6_DIR, db_name=db_name,
                       storage=storage6, want=WANT_BOTH)
        self._sides = Sides([self._core, six])
        self._crawls = Crawls(self._core)

    def __repr__(self) -> str:
        return f"<Node {self._core.profile.name} {self._core.id.hex()[:12] or '-'} {self.address}>"

    # --- identity and state ----------------------------------------------

    @property
    def id(self) -> bytes:
        """Our 20-byte id (valid after :meth:`start`)."""
        return self._core.id

    @property
    def address(self) -> Address:
        """(host, port) we listen on, after :meth:`start`."""
        return self._core.address

    @property
    def contact(self) -> Contact:
        """Ourselves as a contact (a wildcard host shown as 127.0.0.1)."""
        return self._core.contact

    @property
    def running(self) -> bool:
        return self._core.running

    @property
    def config(self) -> Config:
        return self._core.config

    @property
    def profile(self) -> WireProfile:
        """The wire spoken (``.name``: "khashmir" or "mainline")."""
        return self._core.profile

    @property
    def data_dir(self) -> Path:
        return self._core.data_dir

    @property
    def warnings(self) -> list[str]:
        """One line each: an unreadable database moved aside, a full disk, a new BEP 42 id..."""
        return self._core.warnings

    # --- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        """Lock the data directory, open the database, bind the socket(s) (see docs/dht-api.md)."""
        await self._sides.start()
        self._core = self._sides.primary

    async def stop(self) -> None:
        """Checkpoint, close the socket and the database, unlock the data directory."""
        await self._sides.stop()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """``callback(event)`` for every event of every side, in the loop thread; returns the unsubscribe."""
        stops = [side.subscribe(callback) for side in self._sides.all]
        if len(stops) == 1:
            return stops[0]

        def unsubscribe() -> None:
            for stop in stops:
                stop()

        return unsubscribe

    def capture_to(self, writer: CaptureWriter | None) -> None:
        """Write every datagram sent and received, of every side, to ``writer`` (None stops)."""
        for side in self._sides.running() or [self._core]:
            side.capture_to(writer)

    def set_query_budget(self, per_second: float, burst: int | None = None) -> None:
        """Queries a second each side may send (0: no budget), in bursts of ``burst``."""
        for side in self._sides.all:
            side.requests.set_query_budget(per_second, burst)

    # --- the address families ------------------------------------------------------

    @property
    def families(self) -> tuple[str, ...]:
        """The families the node listens on, the primary's first ("IPv4", "IPv6")."""
        return tuple(str(side.family) for side in self._sides.running())

    def address_of(self, family: str) -> Address | None:
        """(host, port) of the side of ``family`` ("IPv4" or "IPv6"), None: no such side."""
        side = self._side(family)
        return None if side is None else side.address

    def id_of(self, family: str) -> bytes | None:
        """The id of the side of ``family`` (each side has its own, BEP 42), None: no such side."""
        side = self._side(family)
        return None if side is None else side.id

    def routing_table_of(self, family: str) -> list[BucketInfo]:
        """The routing table of the side of ``family`` ([] for a family the node has not)."""
        side = self._side(family)
        return [] if side is None else snapshots.routing_table(side)

    def external_addresses(self) -> dict[str, tuple[str, int]]:
        """Our external address per family, as the votes have it (with its votes)."""
        found = {str(side.family): side.protocol.external_address() for side in self._sides.running()}
        return {family: address for family, address in found.items() if address is not None}

    def _side(self, family: str) -> NodeCore | None:
        return next((s for s in self._sides.running() if str(s.family) == family), None)

    # --- snapshots ---------------------------------------------------------

    def stats(self) -> StatsSnapshot:
        return snapshots.stats(self._core)

    def routing_table(self) -> list[BucketInfo]:
        return snapshots.routing_table(self._core)

    async def stored_values(self) -> list[StoredValueInfo]:
        return await protocols.stored_values(self._core.protocol)

    async def stored_peers(self) -> list[StoredPeerInfo]:
        return await protocols.stored_peers(self._core.protocol)

    async def stored_items(self) -> list[StoredItemInfo]:
        return await protocols.stored_items(self._core.protocol)

    # --- both profiles -----------------------------------------------------------

    async def join(self, host: str, port: int) -> Address:
        """Join through host:port (from the side of its family); our address as it sees us."""
        return await self._sides.side_for(host).protocol.join(host, port)

    async def bootstrap(self, addresses: Iterable[Address], routers: Iterable[Address] = ()) -> int:
        """Join each address (Mainline: find_node of our id, ``routers`` never in the table),
        then look up our neighbourhood, on each side; the contacts in the tables."""
        return await self._sides.bootstrap(list(addresses), list(routers))

    async def ping(self, host: str, port: int) -> bytes:
        """The id of the node at host:port."""
        return await self._sides.side_for(host).ping(host, port)

    async def find_node(self, target: bytes) -> list[Contact]:
        """The K closest contacts to ``target`` that answered, closest first (each side's)."""
        return await self._sides.find_node(target)

    # --- crawls (both profiles; dht/node/crawling.py) ------------------------------

    def start_crawl(self, spec: CrawlSpec) -> int:
        """Start a crawl as the node's task; its id, carried by its CrawlProgress and
        CrawlFinished events.  LocalError for a bad spec or a node not running."""
        return self._crawls.start(spec)

    def stop_crawl(self, crawl_id: int) -> None:
        """Stop a crawl: it keeps what it found and ends with its census (CrawlFinished)."""
        self._crawls.stop(crawl_id)

    async def crawl(self, spec: CrawlSpec) -> Census:
        """Run a crawl to its end (see docs/dht-api.md, Crawl); its census."""
        return await self._crawls.crawl(spec)

    # --- Khashmir -------------------------------------------------------------------

    async def find_value(self, key: bytes) -> list[Contact]:
        """The closest nodes that hold values for ``key``, closest first."""
        return await protocols.khashmir(self._core.protocol, "find_value").find_value(key)

    async def get_value(self, key: bytes) -> list[bytes]:
        return await protocols.khashmir(self._core.protocol, "get_value").get_value(key)

    async def store_value(self, key: bytes, value: bytes, local: bool = True) -> StoreResult:
        return await protocols.khashmir(self._core.protocol, "store_value").store_value(key, value, local)

    # --- Mainline -------------------------------------------------------------------

    async def get_peers(self, info_hash: bytes, scrape: bool = False) -> PeersFound:
        """Peers of both families on a dual-stack node (each side's lookup)."""
        self._mainline("get_peers")
        return await self._sides.get_peers(info_hash, scrape)

    async def announce_peer(self, info_hash: bytes, port: int, seed: bool = False, local: bool = True) -> int:
        self._mainline("announce_peer")
        return await self._sides.announce_peer(info_hash, port, seed, local)

    async def put_immutable(self, value: object, local: bool = True) -> bytes:
        self._mainline("put_immutable")
        return await self._sides.put_immutable(value, local)

    async def put_mutable(self, key: Any, value: object, salt: bytes = b"", local: bool = True) -> MutablePut:
        self._mainline("put_mutable")
        return await self._sides.put_mutable(key, value, salt, local)

    async def get_item(self, target: bytes, public_key: bytes | None = None, salt: bytes = b"") -> FoundItem | None:
        self._mainline("get_item")
        return await self._sides.get_item(target, public_key, salt)

    async def sample_infohashes(self, count: int = 20, target: bytes | None = None) -> Sampling:
        return await self._mainline("sample_infohashes").sample_infohashes(count, target)

    def _mainline(self, what: str) -> MainlineProtocol:
        protocol = protocols.mainline(self._core.protocol, what)
        if not self._core.running:
            raise LocalError("node is not running")
        return protocol


def core_of(node: Node) -> NodeCore:
    """The inside of ``node`` (its primary side), for ``dht``'s own modules and its tests (never khgui or bench)."""
    return node._core


def sides_of(node: Node) -> list[NodeCore]:
    """The inside of each side of ``node``, the primary first (for ``dht`` and its tests)."""
    return node._sides.all
