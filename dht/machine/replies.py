"""What a handler returns, and the effects it asks for instead of calling its node.

A handler is a plain function of a query, its sender and ``now``.  It never
calls back into the node: what its answer makes happen beyond the answer
itself it returns beside it, as *effects*, and the machine
(:mod:`dht.machine.machine`) hands them to the shell in order:

* :class:`SenderSeen`: offer the query's sender to the routing table (as a
  contact that has not answered yet; ``verify``: ping it, as a joining node);
* any :class:`dht.core.events.Event`: told to subscribers (a value stored,
  a peer announced);

and a handler whose answer waits for the disk returns a :class:`Deferred`:
the storage job the shell must run, and how to make the answer from its
result.  :class:`QueryDropped` raised by a handler drops the query
unanswered, counted under its reason (a spent budget, a busy store).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ..core.contact import Address
from ..core.stats import DropReason


class QueryDropped(Exception):
    """Raised by a handler: drop the query unanswered, counted under ``reason``."""

    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


class SenderSeen(NamedTuple):
    """Offer a query's sender to the routing table; ``verify``: ping it."""

    node_id: bytes
    peer: Address
    verify: bool = False


class Answer(NamedTuple):
    """A handler's answer: the values its profile encodes (None: not answered, as a
    read-only Mainline node; a :class:`~dht.core.errors.KrpcError`: that error reply),
    then the effects, in the order they are to happen (an error reply's too: a
    query answered with an error still has its sender seen)."""

    values: Any
    effects: tuple[Any, ...] = ()


class Deferred(NamedTuple):
    """An answer that waits for storage.

    ``job`` is the storage work, a plain value the shell runs (its result, or
    the exception it raised, comes back to the machine);  ``finish`` makes the
    :class:`Answer` from the result (it may raise a KRPC error); ``release`` is
    called once when the job ends, however it ends (the handler's count of
    jobs in flight).  ``effects`` happen at once, before the job runs.
    """

    job: Any
    finish: Callable[[Any, float], Answer]
    release: Callable[[], None]
    effects: tuple[Any, ...] = ()
