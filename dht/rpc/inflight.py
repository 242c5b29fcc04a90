"""The requests one lookup has out, and their soft timeouts.

A lookup (:func:`dht.rpc.iterate.iterate`, the get of :func:`dht.rpc.iterate.get_value`)
sends through :class:`InFlight`: each request goes out with its contact's
soft timeout (srtt + 4 rttvar of that contact's answers, or the node's when it
has none, clamped to SOFT_TIMEOUT_MIN..MAX: :mod:`dht.core.rtt`), its outcome is
handed to the lookup's ``settle``, and a request still silent at its soft
deadline is handed to ``slow`` (the lookup asks one more candidate and still
waits for it: its answer counts when it comes).  One timer serves the whole lookup, set for the earliest soft
deadline out: most lookups end before it fires, and a timer per request
(made, pushed on the loop's heap, cancelled) was pure cost on every request.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Callable

from . import clock
from ..core.contact import Contact
from ..core.errors import DHTError, KrpcError, RpcTimeout

if TYPE_CHECKING:
    from .progress import LookupNode, Progress


def describe(exc: BaseException) -> tuple[str, str]:
    """(outcome, detail) of a failed request, for a lookup's events."""
    if isinstance(exc, RpcTimeout):
        return "timeout", str(exc)
    if isinstance(exc, KrpcError):
        return "error", str(exc)
    return "error", str(exc) or type(exc).__name__


#: A soft deadline this close is taken as passed (the loop may run a timer a hair early).
_SOFT_EARLY = 0.001


class InFlight:
    """The requests of one lookup, each sent with its contact's soft timeout.

    ``settle(contact, future)`` is called when one settles, ``slow(contact,
    soft)`` when it has not within its soft timeout; a request that cannot be
    sent at all is ``failed(contact)`` at once.  One timer serves the whole
    lookup, set for the earliest soft deadline of the requests out (most
    lookups end before it: a timer per request was pure cost); when it fires
    it reports every request past its deadline and is set for the next one.
    :meth:`cancel` drops it when the lookup ends, and the requests still
    unsettled: one the query budget holds back is then never sent (one
    already sent still tells the routing table how it went).
    """

    def __init__(
        self, node: "LookupNode", progress: "Progress", failed: Callable[[Contact], None],
        settle: Callable[[Contact, asyncio.Future[dict[bytes, Any]]], None],
        slow: Callable[[Contact, float], None],
    ) -> None:
        self.node, self.progress = node, progress
        self.failed, self.settle, self.slow = failed, settle, slow
        self.loop = asyncio.get_running_loop()
        self.out: dict[asyncio.Future[Any], tuple[Contact, float, float]] = {}  # -> (contact, deadline, soft)
        self.timer: asyncio.Handle | None = None  # qasync's call_at gives a plain Handle (no when())
        self.timer_at = 0.0
        self.unsettled: list[asyncio.Future[Any]] = []  # slow ones too: cancelled with the lookup

    def send(self, contact: Contact, method: str, args: Any) -> bool:
        """Ask ``contact``; False if the request could not be sent (it is failed)."""
        soft = self.node.soft_timeout(contact)
        try:
            fut = self.node.request(contact, method, args, soft, functools.partial(self.settle, contact))
        except DHTError as exc:
            self.failed(contact)
            self.progress.outcome(contact, *describe(exc))
            return False
        self.progress.queried_one(contact, soft)
        if not fut.done():
            deadline = clock.now() + soft
            self.out[fut] = (contact, deadline, soft)
            self.unsettled.append(fut)
            if self.timer is None or deadline < self.timer_at:
                self._arm(deadline)
        return True

    def _arm(self, deadline: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_at(deadline, self._expire)
        self.timer_at = deadline

    def _expire(self) -> None:
        self.timer = None
        now = clock.now() + _SOFT_EARLY
        expired: list[tuple[Contact, float]] = []
        following: float | None = None
        for fut, (contact, deadline, soft) in list(self.out.items()):
            if fut.done():
                del self.out[fut]
            elif deadline <= now:
                del self.out[fut]
                expired.append((contact, soft))
            elif following is None or deadline < following:
                following = deadline
        if following is not None:
            self._arm(following)
        for contact, soft in expired:  # may send more (and set the timer earlier)
            self.slow(contact, soft)

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.out.clear()
        for fut in self.unsettled:
            fut.cancel()
        self.unsettled.clear()
