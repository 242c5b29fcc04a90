"""What the routing table returns: the events it reports and the one decision it hands on.

Each call of :class:`dht.core.routing.RoutingTable` that changes it returns
what it did as events of :mod:`dht.core.events` (:data:`TableEvent`), stamped
with the ``now`` the table was given, which the node publishes as they are;
and, when a full bucket leaves a newcomer waiting, what it asks the node to
do (:class:`PingOldest`, a decision rather than an event).  Together they
are an :data:`Outcome`.  Nothing here sends or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .contact import Contact
from .events import (
    BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRefreshed, ContactRemoved, ContactReplaced,
)

#: Why a never-answered contact left its place (it waits in the cache).
ANSWERED_INSTEAD = "never answered; a contact that did took its place"

#: What the routing table reports it did: events of :mod:`dht.core.events`, stamped
#: with the ``now`` the table was given; the node publishes them as they are.
TableEvent = Union[
    ContactAdded, ContactRefreshed, BucketSplit, BucketsMerged, ContactFailed, ContactRemoved, ContactReplaced,
]


@dataclass(frozen=True, slots=True)
class PingOldest:
    """A decision, not an event: the bucket is full, so ping ``oldest``; ``new``
    (cached) takes its place if it fails.

    The table never sends, so it hands this order to the node, which pings and
    reports the outcome back (:meth:`RoutingTable.seen` or
    :meth:`RoutingTable.replace_stale`); what then happened is an event
    (ContactRefreshed, or ContactReplaced).  Nothing has happened yet when it
    is made, so no subscriber ever sees it.
    """

    oldest: Contact
    new: Contact


#: What a table call returns: what it did, and what it asks the node to do.
Outcome = Union[TableEvent, PingOldest]
