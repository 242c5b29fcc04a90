"""What a front end sees of a lab node: a line of the lab's overview, and everything of one node.

:class:`LabNodeInfo` is one node as a map or a list shows it (who, where,
alive, how full its table is), cheap enough to take for every node of the
lab at once (:func:`node_info`).  :class:`NodeView` is everything the
explorer shows of one node -- its routing table, stored values, peers and
items, statistics -- taken at one moment (:func:`node_view`).  Both are
taken on the lab's loop and are plain frozen values afterwards, safe to
hand to another thread (:class:`~dht.lab.thread.LabThread` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.contact import Address
from ..core.errors import LocalError
from ..core.stats import StatsSnapshot
from ..core.table_info import BucketInfo
from ..mainline.stores.items import StoredItemInfo
from ..mainline.stores.peers import StoredPeerInfo
from ..node.facade import Node, core_of
from ..rpc import clock
from ..storage import StoredValueInfo


@dataclass(frozen=True, slots=True)
class LabNodeInfo:
    """One lab node as a map shows it: who, where, alive, and how full its table is."""

    id: bytes
    host: str
    port: int
    alive: bool
    contacts: int  # in its buckets
    buckets: int
    fill: float  # contacts / (buckets x K): 1.0 when every bucket is full

    @property
    def address(self) -> Address:
        return (self.host, self.port)


@dataclass(frozen=True, slots=True)
class NodeView:
    """Everything the explorer shows of one lab node, taken at one moment on the lab's loop."""

    info: LabNodeInfo
    routing: list[BucketInfo]
    values: list[StoredValueInfo]
    stats: StatsSnapshot | None  # None for a dead node
    time: float  # monotonic, when taken
    peers: list[StoredPeerInfo] = field(default_factory=list)  # Mainline: peers announced to it
    items: list[StoredItemInfo] = field(default_factory=list)  # Mainline: BEP 44 items put on it


def node_info(node: Node, alive: bool) -> LabNodeInfo:
    """The :class:`LabNodeInfo` of a node (on its loop)."""
    try:
        table = core_of(node).table  # a dead node keeps the table it had when it died
    except LocalError:  # never started
        contacts = buckets = 0
    else:
        buckets = len(table.buckets)
        contacts = sum(len(b.entries) for b in table.buckets)
    k = node.config.K
    fill = contacts / (buckets * k) if buckets else 0.0
    host, port = node.contact.address if node.id else node.address
    return LabNodeInfo(node.id, host, port, alive, contacts, buckets, fill)


async def node_view(node: Node) -> NodeView:
    """One node's routing table, stored values and statistics (on its loop)."""
    alive = node.running
    try:
        routing = node.routing_table()
    except LocalError:  # never started
        routing = []
    # info, table and statistics in one step (the stores are read after, on the
    # storage thread: the table may change meanwhile, these three agree)
    info, stats, now = node_info(node, alive), node.stats() if alive else None, clock.now()
    values = await node.stored_values() if alive else []
    peers = await node.stored_peers()
    items = await node.stored_items()
    return NodeView(info, routing, values, stats, now, peers, items)
