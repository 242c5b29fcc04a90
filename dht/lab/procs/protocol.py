"""What a lab's parent and its worker processes say to each other over their pipe.

One :func:`multiprocessing.Pipe` per worker carries pickled tuples both ways.

* Parent to worker, a command: ``(rid, op, args)``: ``rid`` a number the
  parent chose, ``op`` one of :data:`OPS`, ``args`` a tuple of plain values.
* Worker to parent: the answer to a command, ``(REPLY, rid, True, result)``
  or ``(REPLY, rid, False, "one line")`` (the worker's error, raised in the
  parent as a :class:`~dht.core.errors.LocalError`); a batch of the lab part's
  own events, ``(LAB, running, dropped, [(b"", event), ...])``; a batch of a
  watch's events, ``(WATCH, wid, dropped, [(node id, event), ...])``.  Both
  batches come at most once per ``interval`` from a bounded channel
  (:class:`~dht.lab.event_channel.EventChannel`, the oldest dropped and
  counted: ``dropped`` is the worker's count so far).

A node as the overview gives it is a :data:`Row`, a plain tuple, not a
:class:`~dht.lab.views.LabNodeInfo`: 10,000 of them pickle and unpickle
about three times faster, and the parent makes the infos (:func:`info_of`).
"""

from __future__ import annotations

from typing import Any

from ..views import LabNodeInfo, node_info
from ...node.facade import Node

#: Message kinds from a worker.
REPLY = "reply"
LAB = "lab"
WATCH = "watch"

#: The commands a worker carries out (:class:`dht.lab.procs.worker.Worker`).
OPS = frozenset({
    "start", "plan", "stage", "formed", "overview", "inspect", "kill", "revive", "add", "resize",
    "set_conditions", "start_traffic", "stop_traffic", "watch", "unwatch", "store_from", "stop",
})

Row = tuple[bytes, str, int, bool, int, int, float]
"""A node of the overview: id, host, port, alive, contacts, buckets, fill (as :class:`LabNodeInfo`)."""

Command = tuple[int, str, tuple[Any, ...]]


def row_of(node: Node, alive: bool) -> Row:
    """A node's :data:`Row` (on its loop)."""
    i = node_info(node, alive)
    return (i.id, i.host, i.port, i.alive, i.contacts, i.buckets, i.fill)


def info_of(row: Row, alive: bool | None = None) -> LabNodeInfo:
    """The :class:`LabNodeInfo` of a row (``alive`` given: as that)."""
    node_id, host, port, was_alive, contacts, buckets, fill = row
    return LabNodeInfo(node_id, host, port, was_alive if alive is None else alive, contacts, buckets, fill)
