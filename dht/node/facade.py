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
from ..core.stats import StatsSnapshot
from ..storage import NodeStorage, StoredValueInfo
from ..mainline.stores.items import StoredItemInfo
from ..mainline.stores.peers import StoredPeerInfo
from ..core.table_info import BucketInfo
from ..wire.profiles import WireProfile


class Node:
    """One DHT node.  Create, ``await start()``, use, ``await stop()``."""

    __slots__ = ("_core", "_crawls")

    def __init__(
        self,
        config: Config | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        db_name: str = "khashmir.db",
        storage: NodeStorage | None = None,
    ) -> None:
        self._core = NodeCore(config, host=host, port=port, data_dir=data_dir, db_name=db_name, storage=storage)
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
        """Lock the data directory, open the database, bind the socket (see docs/dht-api.md)."""
        await self._core.start()

    async def stop(self) -> None:
        """Checkpoint, close the socket and the database, unlock the data directory."""
        await self._core.stop()

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """``callback(event)`` for every event, in the loop thread; returns the unsubscribe."""
        return self._core.subscribe(callback)

    def capture_to(self, writer: CaptureWriter | None) -> None:
        """Write every datagram sent and received to ``writer`` (None stops)."""
        self._core.capture_to(writer)

    def set_query_budget(self, per_second: float, burst: int | None = None) -> None:
        """Queries a second this node may send (0: no budget), in bursts of ``burst``."""
        self._core.requests.set_query_budget(per_second, burst)

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
        """Join through host:port; our address as it sees us."""
        return await self._core.protocol.join(host, port)

    async def bootstrap(self, addresses: Iterable[Address], routers: Iterable[Address] = ()) -> int:
        """Join each address (Mainline: find_node of our id, ``routers`` never in the table),
        then look up our neighbourhood; the contacts in the table."""
        return await self._core.bootstrap(list(addresses), list(routers))

    async def ping(self, host: str, port: int) -> bytes:
        """The id of the node at host:port."""
        return await self._core.ping(host, port)

    async def find_node(self, target: bytes) -> list[Contact]:
        """The K closest contacts to ``target`` that answered, closest first."""
        return await self._core.find_node(target)

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
        return await self._mainline("get_peers").get_peers(info_hash, scrape)

    async def announce_peer(self, info_hash: bytes, port: int, seed: bool = False, local: bool = True) -> int:
        return await self._mainline("announce_peer").announce_peer(info_hash, port, seed, local)

    async def put_immutable(self, value: object, local: bool = True) -> bytes:
        return await self._mainline("put_immutable").put_immutable(value, local)

    async def put_mutable(self, key: Any, value: object, salt: bytes = b"", local: bool = True) -> MutablePut:
        return await self._mainline("put_mutable").put_mutable(key, value, salt, local)

    async def get_item(self, target: bytes, public_key: bytes | None = None, salt: bytes = b"") -> FoundItem | None:
        return await self._mainline("get_item").get_item(target, public_key, salt)

    async def sample_infohashes(self, count: int = 20, target: bytes | None = None) -> Sampling:
        return await self._mainline("sample_infohashes").sample_infohashes(count, target)

    def _mainline(self, what: str) -> MainlineProtocol:
        protocol = protocols.mainline(self._core.protocol, what)
        if not self._core.running:
            raise LocalError("node is not running")
        return protocol


def core_of(node: Node) -> NodeCore:
    """The inside of ``node``, for ``dht``'s own modules and its tests (never khgui or bench)."""
    return node._core
