"""What a lookup sees of its node (:class:`LookupNode`), and the events it reports (:class:`Progress`).

Every lookup, :func:`dht.rpc.iterate.iterate` and the profiles' own
(:mod:`dht.khashmir.lookups`, :mod:`dht.mainline.lookups`), reaches its node
through :class:`LookupNode` alone and reports through one :class:`Progress`:
LookupStarted, LookupQueried, LookupAnswered and LookupFinished, built only
when someone listens.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Protocol

from . import clock
from ..core.contact import Contact
from ..core.events import LookupAnswered, LookupFinished, LookupQueried, LookupStarted
from ..core.khash import distance

if TYPE_CHECKING:
    from ..core.config import Config
    from ..core.events import EventBus
    from ..core.routing import RoutingTable
    from ..storage import Store
    from ..wire.profiles import WireProfile


class LookupNode(Protocol):
    """What a lookup needs of a node, and no more (:class:`dht.node.core.NodeCore` has it).

    The lookups of this module and :mod:`dht.mainline.lookups` see a node
    only through this (and :class:`dht.mainline.lookups.MainlineLookupNode`):
    its id and settings, the table to start from, requests that tell the
    table their outcome, and the event bus their progress goes to.
    """

    @property
    def id(self) -> bytes: ...
    @property
    def config(self) -> "Config": ...
    @property
    def profile(self) -> "WireProfile": ...
    @property
    def events(self) -> "EventBus": ...
    @property
    def contact(self) -> Contact: ...
    @property
    def table(self) -> "RoutingTable": ...
    @property
    def store(self) -> "Store": ...

    def request(
        self, contact: Contact, method: str, args: Any, soft_timeout: float | None = None,
        on_done: Callable[[asyncio.Future[Any]], None] | None = None, late: Callable[[], None] | None = None,
    ) -> asyncio.Future[Any]: ...

    def soft_timeout(self, contact: Contact | None = None) -> float: ...

    def next_lookup_id(self) -> int: ...


def slow_detail(what: str, soft: float) -> str:
    """A slow request's detail: silent past its soft timeout, still waited for."""
    return f"no {what} in {soft * 1000:.0f} ms (its soft timeout): asked one more, still waiting"


def _log2(a: bytes, b: bytes) -> float:
    return float(distance(a, b).bit_length() - 1)


class Progress:
    """Emits one lookup's events (nothing when nobody listens)."""

    def __init__(self, node: LookupNode, kind: str, target: bytes) -> None:
        self.node = node
        self.kind = kind
        self.target = target
        self.id = node.next_lookup_id()
        self.start = clock.now()
        self.queried = 0
        self.bus = node.events
        if self.bus.active:
            self.bus.emit(LookupStarted(self.start, self.id, kind, target))

    def queried_one(self, contact: Contact, soft_timeout: float | None = None) -> None:
        self.queried += 1
        if self.bus.active:
            self.bus.emit(
                LookupQueried(clock.now(), self.id, contact, _log2(contact.id, self.target), soft_timeout)
            )

    def outcome(self, contact: Contact, outcome: str, detail: str = "") -> None:
        if self.bus.active:
            now = clock.now()
            self.bus.emit(
                LookupAnswered(
                    now, self.id, contact, _log2(contact.id, self.target), outcome,
                    now - self.start, detail,
                )
            )

    def finished(self, found: int) -> None:
        if self.bus.active:
            now = clock.now()
            self.bus.emit(
                LookupFinished(now, self.id, self.kind, self.target, now - self.start, self.queried, found)
            )
