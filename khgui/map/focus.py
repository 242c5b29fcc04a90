"""A lab node in focus: what the panels read of a node, for a node of a :class:`dht.LabThread` or :class:`dht.LabProcesses`.

The routing, values, statistics and traffic panels read a node through a
few members: ``id``, ``config``, ``running``, ``routing_table()``,
``stats()``, ``await stored_values()`` (Mainline: ``await stored_peers()``,
``await stored_items()``), ``await store_value()`` and
``subscribe()`` (through the event bridge).  :class:`FocusedNode` offers
those members for any lab node, wherever the lab runs: the synchronous
reads return the last :class:`dht.NodeView` taken on the lab's loop
(:meth:`refresh`, which the controller calls twice a second while the node
is in focus), the coroutines run on the lab's loop, and the node's events
come from the lab's ``watch``, batched to our loop and handed to each
subscriber one by one, in order.  :attr:`FocusedNode.out_of_date` says
whether events came since the view was taken: a caller may take a new view
only then (the node's counters and ages aside, which have no event).  Nothing here runs a lab node's code on
our loop, so a node of a threaded lab, or of a lab in worker processes, can be inspected safely.
"""

from __future__ import annotations

from typing import Any, Callable

from dht import Config, Contact, LabProcesses, LabThread, NodeView, StatsSnapshot, StoredValueInfo
from dht.errors import LocalError


class FocusedNode:
    """One lab node, read from the GUI's loop (see the module docstring)."""

    is_lab_node = True

    def __init__(self, labs: LabThread | LabProcesses, view: NodeView, config: Config) -> None:
        self.labs = labs
        self.view = view
        self.config = config
        self.id = view.info.id
        self.warnings: list[str] = []
        self._subscribers: list[Callable[[Any], None]] = []
        self._unwatch: Any = None
        self.events_since_view = 0
        """The node's events delivered since :attr:`view` was taken."""

    @classmethod
    async def open(cls, labs: LabThread | LabProcesses, node_id: bytes, config: Config) -> "FocusedNode":
        """Take a first view of the node and start following its events."""
        node = cls(labs, await labs.inspect(node_id), config)
        node._unwatch = await labs.watch(node._deliver, node_id)
        return node

    async def close(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        self._subscribers.clear()
        if unwatch is not None and self.labs.running:
            try:
                await unwatch()
            except LocalError:
                pass  # the lab stopped meanwhile

    async def refresh(self) -> NodeView:
        """Take a new view of the node (on the lab's loop)."""
        seen = self.events_since_view
        self.view = await self.labs.inspect(self.id)
        self.events_since_view -= seen  # those that came during the read may be in it or not
        return self.view

    @property
    def out_of_date(self) -> bool:
        """Whether events came since the view was taken."""
        return self.events_since_view > 0

    # -- what a panel reads of a node ---------------------------------------------

    @property
    def running(self) -> bool:
        return self.view.info.alive

    @property
    def address(self) -> tuple[str, int]:
        return self.view.info.address

    @property
    def contact(self) -> Contact:
        return Contact(self.id, self.view.info.host, self.view.info.port)

    def routing_table(self) -> list[Any]:
        return list(self.view.routing)

    def stats(self) -> StatsSnapshot:
        if self.view.stats is None:
            raise LocalError(f"lab node {self.id.hex()[:8]} is dead")
        return self.view.stats

    async def stored_values(self) -> list[StoredValueInfo]:
        return list((await self.refresh()).values)

    async def stored_peers(self) -> list[Any]:
        """Mainline: the peers announced to this lab node (``StoredPeerInfo``)."""
        return list((await self.refresh()).peers)

    async def stored_items(self) -> list[Any]:
        """Mainline: the BEP 44 items this lab node holds (``StoredItemInfo``), as of the same view."""
        return list(self.view.items)

    async def store_value(self, key: bytes, value: bytes, local: bool = True) -> Any:
        """Store from this lab node (on the lab's loop, wherever it runs)."""
        return await self.labs.store_from(self.id, key, value, local)

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _deliver(self, batch: list[tuple[bytes, Any]]) -> None:
        self.events_since_view += len(batch)
        for callback in tuple(self._subscribers):
            for _, event in batch:
                callback(event)

    def __repr__(self) -> str:
        return f"FocusedNode({self.id.hex()[:8]} at {self.view.info.host}:{self.view.info.port})"
