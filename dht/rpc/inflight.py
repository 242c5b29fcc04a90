"""The requests one lookup has out, and their soft timeouts.

A lookup (:func:`dht.rpc.iterate.iterate`, the get of :func:`dht.rpc.iterate.get_value`)
sends through :class:`InFlight`: each request goes out with its contact's
soft timeout (srtt + 4 rttvar of that contact's answers, or the node's when it
has none, clamped to SOFT_TIMEOUT_MIN..MAX: :mod:`dht.core.rtt`), its outcome is
handed to the lookup's ``settle``, and a request still silent at its soft
deadline is handed to ``slow`` (the lookup asks one more candidate and still
waits for it: its answer counts when it comes).  The soft deadlines are the
node's request table's (:meth:`dht.core.requests.RequestTable.late_due`), on
the node's one timer: a request is late when it has been out, once sent, for
its soft timeout (one the query budget holds back is not late yet).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Callable

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


class InFlight:
    """The requests of one lookup, each sent with its contact's soft timeout.

    ``settle(contact, future)`` is called when one settles, ``slow(contact,
    soft)`` when it has not within its soft timeout (told by the request
    table, once); a request that cannot be sent at all is ``failed(contact)``
    at once.  :meth:`cancel` ends the lookup's part: nothing more is told
    slow, and the requests still unsettled are cancelled: one the query
    budget holds back is then never sent (one already sent still tells the
    routing table how it went).
    """

    def __init__(
        self, node: "LookupNode", progress: "Progress", failed: Callable[[Contact], None],
        settle: Callable[[Contact, asyncio.Future[dict[bytes, Any]]], None],
        slow: Callable[[Contact, float], None],
    ) -> None:
        self.node, self.progress = node, progress
        self.failed, self.settle, self.slow = failed, settle, slow
        self.unsettled: list[asyncio.Future[Any]] = []  # slow ones too: cancelled with the lookup
        self.ended = False

    def send(self, contact: Contact, method: str, args: Any) -> bool:
        """Ask ``contact``; False if the request could not be sent (it is failed)."""
        soft = self.node.soft_timeout(contact)
        try:
            fut = self.node.request(
                contact, method, args, soft, functools.partial(self.settle, contact),
                functools.partial(self._late, contact, soft),
            )
        except DHTError as exc:
            self.failed(contact)
            self.progress.outcome(contact, *describe(exc))
            return False
        self.progress.queried_one(contact, soft)
        if not fut.done():
            self.unsettled.append(fut)
        return True

    def _late(self, contact: Contact, soft: float) -> None:
        if not self.ended:
            self.slow(contact, soft)

    def cancel(self) -> None:
        self.ended = True
        for fut in self.unsettled:
            fut.cancel()
        self.unsettled.clear()
