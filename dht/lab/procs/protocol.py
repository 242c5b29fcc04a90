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

A node as a command's answer gives it is a :data:`Row`, a plain tuple, not a
:class:`~dht.lab.views.LabNodeInfo`.  The overview of every node, once a
second in the explorer, is :data:`Columns`: one bytes of all the ids, arrays
of the numbers, one list of the hosts.  10,000 nodes of it unpickle some 20
times faster than as 10,000 tuples (a tuple and a bytes object each), and the
parent makes LabNodeInfos only of the nodes that changed (:func:`infos_of`).
"""

from __future__ import annotations

from array import array
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

Columns = tuple[bytes, list[str], "array[int]", bytes, "array[int]", "array[int]", "array[float]"]
"""Nodes of an overview: ids (20 bytes each, end to end), hosts, ports, alive (a byte each, 0 or 1),
contacts, buckets, fill."""


def row_of(node: Node, alive: bool) -> Row:
    """A node's :data:`Row` (on its loop)."""
    i = node_info(node, alive)
    return (i.id, i.host, i.port, i.alive, i.contacts, i.buckets, i.fill)


def info_of(row: Row, alive: bool | None = None) -> LabNodeInfo:
    """The :class:`LabNodeInfo` of a row (``alive`` given: as that)."""
    node_id, host, port, was_alive, contacts, buckets, fill = row
    return LabNodeInfo(node_id, host, port, was_alive if alive is None else alive, contacts, buckets, fill)


def columns_of(nodes: list[tuple[Node, bool]]) -> Columns:
    """The :data:`Columns` of ``(node, alive)`` pairs (on their loop)."""
    infos = [node_info(n, alive) for n, alive in nodes]
    return (b"".join(i.id for i in infos), [i.host for i in infos], array("H", [i.port for i in infos]),
            bytes(i.alive for i in infos), array("I", [i.contacts for i in infos]),
            array("I", [i.buckets for i in infos]), array("d", [i.fill for i in infos]))


def infos_of(columns: Columns, known: dict[bytes, LabNodeInfo]) -> list[LabNodeInfo]:
    """The LabNodeInfos of ``columns``: those of ``known`` (updated) where nothing changed."""
    ids, hosts, ports, alive, contacts, buckets, fill = columns
    out: list[LabNodeInfo] = []
    append, get = out.append, known.get
    for i, host in enumerate(hosts):
        node_id = ids[20 * i : 20 * i + 20]
        old = get(node_id)
        a, c, b = alive[i] == 1, contacts[i], buckets[i]
        if old is None or old.alive != a or old.contacts != c or old.buckets != b or old.port != ports[i] \
                or old.host != host:
            old = known[node_id] = LabNodeInfo(node_id, host, ports[i], a, c, b, fill[i])
        append(old)
    return out
