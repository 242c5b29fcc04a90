"""What the KRPC machine returns: the outputs the shell carries out, in order.

:class:`dht.machine.machine.KrpcMachine` never does I/O; each of its calls
returns a list of these, and the shell (:class:`dht.rpc.transport.KrpcTransport`)
does what each says: :class:`Send` a datagram, :class:`Settle` a request
(its callback is the requester's), tell a request it is :class:`Late`, tell a
query held back by the budget it was :class:`Stopped`, :class:`RunJob` on
storage; a handler's effects come as they are (:class:`~dht.machine.replies.SenderSeen`,
events).  They are named tuples: one is made for nearly every datagram.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

from ..core.contact import Address
from ..core.events import Event
from ..core.requests import Pending, Settle as SettleFn
from .replies import SenderSeen


class Send(NamedTuple):
    """A datagram to send, with what its ``DatagramSent`` event tells."""

    data: bytes
    peer: Address
    raw: dict[bytes, Any]
    method: str
    tid: bytes
    soft_timeout: float | None = None


class Settle(NamedTuple):
    """Tell a request its end: the answer, or the exception; ``rtt`` its sample."""

    pending: Pending
    answer: Any
    exc: BaseException | None
    rtt: float | None = None


class Late(NamedTuple):
    """Tell a request it is silent past its soft deadline (its ``late`` callback; once)."""

    pending: Pending


class Stopped(NamedTuple):
    """Tell a query the budget held back that it never goes: the node stopped."""

    settle: SettleFn


class RunJob(NamedTuple):
    """Run a storage job; give its result (or exception) to :meth:`KrpcMachine.job_done` with ``ref``."""

    ref: int
    job: Any


#: What the machine returns: datagrams, settles, storage jobs, and the handlers' effects.
Output = Union[Send, Settle, Late, Stopped, RunJob, SenderSeen, Event]
