"""Datagrams between the nodes of a forming lab, carried in the process instead of by the kernel.

While a lab forms (:mod:`dht.lab.formation`) it plays the network's
history: tens of thousands of pings between its own nodes, all on one
event loop, on a perfect network.  Sent through the sockets, each datagram
costs a send and a receive system call, a wake-up of the selector and a
callback of the loop on top of what the nodes themselves do with it: about
a fifth of a formation's time.  So while it forms, a :class:`Fabric` takes
what a lab node sends to another lab node of the same process and hands it
to that node's transport (``receive_one``: what ``datagram_received``, the
asyncio entry point, does with one datagram, without trying the socket for
more) from one callback of the loop per batch, in the
order sent.  The bytes are the same: each node encodes, decodes, counts,
limits and captures (``--capture``) them as any datagram; only the kernel
is left out.

Only during formation (:meth:`Fabric.open` .. :meth:`Fabric.close`, which
:meth:`dht.lab.lab.Lab.start` does), and not in a lab that records a
capture (what the lab records then also went on the wire, so that a
capture of the loopback interface made beside it agrees): once formed, the lab's nodes talk
through their sockets as the hosts they stand for, seen by any tool on the
loopback interface and by the network conditions of the lab
(:class:`~dht.lab.conditions.ConditionedTransport` carries a datagram on the
fabric only on a perfect network).  A datagram to an address that is not an
open lab node's (a node outside the lab, a node stopped meanwhile) goes
through the socket as always.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from ..core.contact import Address

log = logging.getLogger(__name__)


class Receiver(Protocol):
    """A lab node's transport, as the fabric hands it a datagram."""

    def receive_one(self, data: bytes, addr: tuple[Any, ...]) -> None: ...


class Fabric:
    """The in-process path between a lab's nodes while it forms (see the module's docstring)."""

    def __init__(self) -> None:
        #: each open lab node's address -> its protocol and its (conditioned) transport
        self._peers: dict[Address, tuple[Receiver, asyncio.BaseTransport]] = {}
        self._queue: list[tuple[Receiver, asyncio.BaseTransport, bytes, Address]] = []
        self.carried = 0
        """Datagrams carried so far (none of them went through a socket)."""

    @property
    def is_open(self) -> bool:
        return bool(self._peers)

    def open(self, peers: dict[Address, tuple[Receiver, asyncio.BaseTransport]]) -> None:
        """Carry what is sent to these addresses: each a node's protocol and transport."""
        self._peers = dict(peers)

    def close(self) -> None:
        """From now on every datagram goes through the sockets (those queued are still handed over)."""
        self._peers = {}

    def carry(self, data: bytes, source: Address, destination: Any) -> bool:
        """Hand ``data`` from ``source`` to the lab node at ``destination`` on the loop's next
        pass; False (nothing done) when no open lab node of this fabric listens there."""
        peer = self._peers.get(destination)
        if peer is None or peer[1].is_closing():
            return False
        if not self._queue:
            asyncio.get_running_loop().call_soon(self._deliver)
        self._queue.append((peer[0], peer[1], data, source))
        self.carried += 1
        return True

    def _deliver(self) -> None:
        queue, self._queue = self._queue, []
        for protocol, transport, data, source in queue:
            if transport.is_closing():
                continue  # stopped meanwhile: as a closed socket, it reads nothing
            try:
                protocol.receive_one(data, source)
            except Exception:  # the protocol's bug: the rest of the batch is still handed over
                log.exception("lab node at %s:%d failed on a datagram", *source)
