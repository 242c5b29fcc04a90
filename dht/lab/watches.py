"""Watching lab nodes: their events, of chosen kinds, forwarded to an event channel.

A front end watches one node (the one it shows) or every node (for a few
kinds of event, such as the lookups drawn on a map) through
:meth:`LabThread.watch <dht.lab.thread.LabThread.watch>`.  A
:class:`NodeWatch` is one such watch on the lab's loop: it subscribes to
the nodes' own buses, keeps the events of the chosen kinds, and pushes each
as ``(node id, event)`` (:data:`Sourced`) into its
:class:`~dht.lab.event_channel.EventChannel`, which hands them to the
caller's loop in batches.  Watching every node includes the nodes added
later: the watch follows the lab's ``LabNodeChanged("added")``.  A node
nobody watches builds no event at all; a watched one builds every event
(its bus is active), so every node is watched only for a few kinds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..core.events import Event, LabNodeChanged
from ..node.facade import Node
from .event_channel import EventChannel

if TYPE_CHECKING:
    from .lab import Lab

Sourced = tuple[bytes, Event]
"""An event with the id of the lab node that emitted it (``b""``: the lab itself)."""


class NodeWatch:
    """One watch: its channel and its subscriptions (attached and detached on the lab's loop)."""

    def __init__(self, channel: EventChannel[Sourced], node_id: bytes | None, kinds: tuple[type, ...] | None) -> None:
        self.channel = channel
        self.node_id = node_id
        self.kinds = kinds
        self._unsubscribe: list[Callable[[], None]] = []
        self._seen: set[bytes] = set()

    def _hook(self, node: Node) -> None:
        if node.id in self._seen:
            return
        self._seen.add(node.id)
        push, kinds, source = self.channel.push, self.kinds, node.id

        def forward(event: Event) -> None:
            if kinds is None or isinstance(event, kinds):
                push((source, event))

        self._unsubscribe.append(node.subscribe(forward))

    async def attach(self, lab: Lab) -> None:
        """Subscribe to the watched node, or to every node and to the lab's additions."""
        if self.node_id is not None:
            self._hook(lab.node_by_id(self.node_id))
            return
        for node in lab.nodes + lab.dead:
            self._hook(node)

        def added(event: Event) -> None:
            if isinstance(event, LabNodeChanged) and event.change == "added":
                for node in lab.nodes[::-1]:
                    if node.id == event.contact.id:
                        self._hook(node)
                        break

        self._unsubscribe.append(lab.subscribe(added))

    def detach(self, lab: Lab) -> None:
        """Every subscription ended."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
