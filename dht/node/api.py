"""The public coroutines of a Khashmir node, and its snapshots.

What khgui, bench and the CLI call (docs/dht-api.md): :meth:`join`,
:meth:`bootstrap`, :meth:`ping`, :meth:`find_node`, :meth:`find_value`,
:meth:`get_value`, :meth:`store_value`, and the snapshots :meth:`stats`,
:meth:`routing_table` and :meth:`stored_values`.  The coroutines run the
lookups of :mod:`dht.rpc.iterate` (Mainline: :mod:`dht.mainline.lookups`, whose
own coroutines are in :mod:`dht.node.mainline_api`); they raise on failure and
never return status tuples.  The Khashmir-only ones raise
:class:`LocalError` on a Mainline node.

A mixin of :class:`dht.node.core.NodeCore`, which holds the state; :class:`dht.node.facade.Node`
hands its public calls over to these.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Iterable, cast

from ..rpc import iterate
from ..khashmir import lookups as khashmir_lookups
from ..mainline import lookups as mainline_lookups
from ..core import errors, ids
from ..core.budget import QueryBudget
from ..core.config import Config
from ..core.contact import Address, Contact
from ..core.errors import LocalError, RemoteProtocolError
from ..mainline.handlers import MainlineHandlers
from ..core.routing import RoutingTable
from ..core.stats import Stats, StatsSnapshot
from ..storage import Store, StoredValueInfo
from ..core.table_info import BucketInfo, bucket_infos
from ..wire.profiles import WireProfile

if TYPE_CHECKING:
    from .core import NodeCore


class NodeAPI:
    """The public coroutines and snapshots of a node (a mixin of NodeCore)."""

    id: bytes
    running: bool
    config: Config
    profile: WireProfile
    stats_counters: Stats
    mainline: MainlineHandlers | None
    clients: dict[bytes, str]
    _table: RoutingTable | None
    _store: Store | None
    _started: float
    _budget: QueryBudget[asyncio.Future[Any]]
    external: ids.ExternalAddressVotes

    if TYPE_CHECKING:
        @property
        def table(self) -> RoutingTable: ...
        @property
        def store(self) -> Store: ...
        @property
        def contact(self) -> Contact: ...
        def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...
        def request_address(
            self, address: Address, expected_id: bytes | None, method: str, args: Any,
            soft_timeout: float | None = None, on_done: Callable[[asyncio.Future[Any]], None] | None = None,
            known: Contact | None = None,
        ) -> asyncio.Future[Any]: ...
        async def refresh_table(self, force: bool = False) -> None: ...
        def _khashmir(self, what: str) -> None: ...

    @property
    def _node(self) -> "NodeCore":
        return cast("NodeCore", self)

    async def join(self, host: str, port: int) -> Address:
        """Join through the node at host:port; returns our address as it sees it.

        Mainline has no join: a ping, whose answer's ``ip`` (BEP 42) says it.
        """
        if self.mainline is not None:
            envelope = await self.request_address((host, port), None, "ping", {b"id": self.id})
            ip: Address | None = envelope.ip
            return ip if ip is not None else self.contact.address
        values = await self.request_address((host, port), None, "join", {b"id": self.id})
        ip_addr = values.get(b"ip_addr")
        their_port = values.get(b"port")
        if not isinstance(ip_addr, bytes) or not isinstance(their_port, int):
            raise RemoteProtocolError("join response needs ip_addr and port")
        return ip_addr.decode("ascii", "replace"), their_port

    async def bootstrap(self, addresses: Iterable[Address], routers: Iterable[Address] = ()) -> int:
        """Join through each address, then look up our own neighbourhood.

        Mainline has no join: a find_node for our own id is sent through the
        addresses and ``routers`` (and on, as a lookup).  ``routers`` (e.g.
        :data:`dht.mainline.handlers.PUBLIC_ROUTERS`) are asked but never enter
        the table, as libtorrent keeps them out; ``addresses`` that answer
        do, as any node.  Returns the contacts in the table.
        """
        addresses = list(addresses)
        if self.mainline is not None or routers:
            return await mainline_lookups.bootstrap(self._node, addresses, list(routers))
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
        self.spawn(self.refresh_table(force=True))
        return len(self.table)

    async def find_close_nodes(self) -> list[Contact]:
        """find_node of the id one above ours, to fill our neighbourhood."""
        target = self.id[:-1] + bytes([(self.id[-1] + 1) % 256])
        return await self.find_node(target)

    async def ping(self, host: str, port: int) -> bytes:
        values = await self.request_address((host, port), None, "ping", {b"id": self.id})
        return self.profile.response_id(values)

    async def find_node(self, target: bytes) -> list[Contact]:
        lookup = await iterate.find_node(self._node, target)
        return [c.contact for c in lookup.closest_answered() if c.contact.id != self.id]

    async def find_value(self, key: bytes) -> list[Contact]:
        self._khashmir("find_value")
        lookup = await khashmir_lookups.find_value(self._node, key)
        return [c.contact for c in lookup.with_values()]

    async def get_value(self, key: bytes) -> list[bytes]:
        self._khashmir("get_value")
        return await khashmir_lookups.get_value(self._node, key)

    async def store_value(self, key: bytes, value: bytes, local: bool = True) -> khashmir_lookups.StoreResult:
        """Store at the STORE_REDUNDANCY closest nodes (this one too, if ``local``)."""
        self._khashmir("store_value")
        if len(value) > self.config.MAX_VALUE_SIZE:
            raise LocalError(
                f"value is {len(value)} bytes; the limit is {self.config.MAX_VALUE_SIZE}"
            )
        return await khashmir_lookups.store_value(self._node, key, value, local)

    def stats(self) -> StatsSnapshot:
        keys, values = self.store.totals() if self._store is not None and self.running else (0, 0)
        if self.mainline is not None:  # info-hashes and items held; peers and items
            ml = self.mainline
            keys, values = len(ml.peers) + len(ml.items), ml.peers.total_peers + len(ml.items)
        table = self._table
        snap = self.stats_counters.snapshot(
            contacts=len(table) if table else 0,
            buckets=len(table.buckets) if table else 0,
            k=self.config.K,
            keys=keys,
            values=values,
            uptime=time.monotonic() - self._started if self.running else 0.0,
            table=table,
        )
        budget = self._budget
        external = self.external.leader if self.mainline is not None else None
        return dataclasses.replace(
            snap,
            external_address=external,
            external_votes=self.external.leader_votes if external is not None else 0,
            id_valid=ids.id_fits(self.id, external) if external is not None and self.id else None,
            query_budget=budget.rate,
            queries_waiting=budget.waiting,
            queries_delayed=budget.delayed,
        )

    def routing_table(self) -> list[BucketInfo]:
        return bucket_infos(self.table, self.clients, mainline=self.mainline is not None)

    async def stored_values(self) -> list[StoredValueInfo]:
        return await self.store.all_values_async()
