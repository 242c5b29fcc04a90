"""A node's maintenance: checkpoints, bucket refreshes and verification pings.

Time-driven work: every CHECKPOINT_INTERVAL (jittered by 10%) a checkpoint
lets the protocol object begin it (Khashmir rotates its token secrets;
Mainline expires its peers and items), saves
our id and contacts, expires old values and refreshes stale buckets with a
lookup of a random id in each.  A disk that refuses the saves is reported by
the store and tried again next time; the node runs on.

Event-driven work, all by pings: a contact seen only in a query is pinged
so that it may be handed out once it answers (:meth:`verify_contact`); a
known id querying from another address has its known address pinged first
and the claimed one only if that fails (:meth:`check_moved`), so a
stranger can move only a contact that is gone; a full bucket's oldest
contact is pinged and replaced by the newcomer only if it does not answer
(:meth:`ping_oldest`).  Verification pings share one bound,
MAX_VERIFY_PINGS.  The outcome of each ping reaches the routing table
through the request path (:mod:`dht.node.requests`).

:class:`Maintenance` is one of the parts a :class:`dht.node.core.NodeCore`
is composed of; it sees the node through :class:`MaintenanceHost` alone, and
holds the count of verification pings out.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any, Coroutine, Protocol

from ..rpc import clock
from ..core import errors
from ..core.config import Config
from ..core.contact import Contact
from ..core.errors import KrpcError, RemoteProtocolError, StorageError
from ..core.events import EventBus, ValueExpired
from ..core.khash import new_id_in_range
from ..core.routing import Outcome, RoutingTable
from ..storage import Store

if TYPE_CHECKING:
    from .protocols import NodeProtocol

#: Rounds of lookups for buckets a forced refresh left empty (see refresh_table).
EMPTY_BUCKET_ROUNDS = 3


class Reports(Protocol):
    """Where the routing table's reports are acted on (the node's request path)."""

    def report(self, outcomes: list[Outcome]) -> None: ...


class MaintenanceHost(Protocol):
    """What a node's maintenance needs of it."""

    @property
    def id(self) -> bytes: ...
    @property
    def running(self) -> bool: ...
    @property
    def config(self) -> Config: ...
    @property
    def events(self) -> EventBus: ...
    @property
    def table(self) -> RoutingTable: ...
    @property
    def store(self) -> Store: ...
    @property
    def protocol(self) -> "NodeProtocol": ...
    @property
    def requests(self) -> Reports: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    def request(self, contact: Contact, method: str, args: Any) -> asyncio.Future[Any]: ...

    async def find_node(self, target: bytes) -> list[Contact]: ...


class Maintenance:
    """Checkpoints, refreshes and verification pings of one node."""

    def __init__(self, node: MaintenanceHost) -> None:
        self.node = node
        self._verifying = 0  # verification pings outstanding
        self._moving: set[bytes] | None = None  # ids whose claimed move is being checked (made when one is)
        self._checkpoint_timer: asyncio.TimerHandle | None = None  # the next checkpoint's

    def start_checkpoints(self) -> None:
        """Checkpoint every CHECKPOINT_INTERVAL (give or take a tenth), the first after a
        minute at most: a timer between checkpoints, not a task asleep (a lab runs
        thousands of nodes, and a sleeping task is about 1 KB)."""
        self._arm_checkpoint(min(60.0, self.node.config.CHECKPOINT_INTERVAL))

    def stop_checkpoints(self) -> None:
        """No more checkpoints (the one running, a task of the node's, is cancelled with them)."""
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
            self._checkpoint_timer = None

    def _arm_checkpoint(self, delay: float) -> None:
        self._checkpoint_timer = asyncio.get_running_loop().call_later(delay, self._checkpoint_due)

    def _checkpoint_due(self) -> None:
        self._checkpoint_timer = None
        if self.node.running:
            self.node.spawn(self._checkpoint_once())

    async def _checkpoint_once(self) -> None:
        try:
            await self.checkpoint_async()
        except StorageError:
            pass  # logged and reported by the store (once a minute at most); try again next time
        finally:
            if self.node.running and self._checkpoint_timer is None:
                interval = self.node.config.CHECKPOINT_INTERVAL
                self._arm_checkpoint(random.uniform(interval * 0.9, interval * 1.1))

    def checkpoint(self, maintenance: bool = True) -> None:
        """Rotate token secrets, save id and contacts, expire values, refresh.

        Waits for the store (the node's stop, tests); the periodic checkpoint
        is :meth:`checkpoint_async`, the loop free while the disk works.
        Raises :class:`StorageFault` when the disk refuses the saves (after
        the rest of the checkpoint is done).
        """
        was_open = self._checkpoint_begin()
        self._checkpoint_end(self.node.store.checkpoint(*self._checkpoint_args(maintenance)), maintenance, was_open)

    async def checkpoint_async(self, maintenance: bool = True) -> None:
        """:meth:`checkpoint` with the saves and the expiry on the storage thread."""
        was_open = self._checkpoint_begin()
        outcome = await self.node.store.checkpoint_async(*self._checkpoint_args(maintenance))
        self._checkpoint_end(outcome, maintenance, was_open)

    def _checkpoint_begin(self) -> bool:
        self.node.protocol.checkpoint_begin(clock.now())
        return self.node.store.is_open

    def _checkpoint_args(self, maintenance: bool) -> tuple[bytes, list[Contact], float | None]:
        expire_before = time.time() - self.node.config.KEY_EXPIRE if maintenance else None
        return self.node.id, self.node.table.contacts(), expire_before

    def _checkpoint_end(
        self, outcome: tuple[StorageError | None, list[tuple[bytes, bytes]]], maintenance: bool, was_open: bool
    ) -> None:
        fault, expired = outcome
        self._report_expired(expired)
        if maintenance:
            self.node.spawn(self.refresh_table())
        if not was_open and self.node.running:
            self.node.store.release()  # an idle node's database stays closed
        if fault is not None:
            raise fault

    def expire_values(self) -> int:
        expired = self.node.store.expire(time.time() - self.node.config.KEY_EXPIRE)  # StorageFault: nothing deleted
        self._report_expired(expired)
        return len(expired)

    def _report_expired(self, expired: list[tuple[bytes, bytes]]) -> None:
        if self.node.events.active:
            now = clock.now()
            for key, value in expired:
                self.node.events.emit(ValueExpired(now, key, value))

    async def refresh_table(self, force: bool = False) -> None:
        """Look up a random id in every stale bucket (every bucket if forced).

        Forced (after a join), buckets split off meanwhile may be left empty:
        a lookup of a random id in a wide range often converges on the half
        nearer us.  Each empty bucket away from our id then gets a lookup of
        its own, a few rounds at most (an empty range may just be empty).
        """
        now = clock.now()
        if force:
            ranges = [(b.lo, b.hi) for b in self.node.table.buckets]
        else:
            ranges = self.node.table.stale_buckets(now, self.node.config.BUCKET_STALENESS)
        for lo, hi in ranges:
            await self.node.find_node(new_id_in_range(lo, hi))
        if not force:
            return
        tried: set[tuple[int, int]] = set()
        for _ in range(EMPTY_BUCKET_ROUNDS):
            empty = [(b.lo, b.hi) for b in self.node.table.buckets
                     if not b.entries and not b.covers(self.node.table.own_key) and (b.lo, b.hi) not in tried]
            if not empty:
                return
            for lo, hi in empty:
                tried.add((lo, hi))
                await self.node.find_node(new_id_in_range(lo, hi))

    def verify_contact(self, contact: Contact) -> None:
        """Ping a contact seen only in a query, so that it may be handed out once it
        answers; at most MAX_VERIFY_PINGS at a time (the others wait for our lookups)."""
        if self._verifying >= self.node.config.MAX_VERIFY_PINGS or not self.node.running:
            return
        entry = self.node.table.get(contact.id)
        if entry is None or entry.answered or entry.contact.address != contact.address:
            return
        self._verifying += 1
        self.node.spawn(self._verify(contact))

    async def _verify(self, contact: Contact) -> None:
        try:
            await self.node.request(contact, "ping", {b"id": self.node.id})
        except errors.DHTError:
            pass  # the request's outcome is already in the table
        finally:
            self._verifying -= 1

    def check_moved(self, known: Contact, claimed: Contact) -> None:
        """A query from a known id came from another address.

        A query moves nothing: the known address is pinged and, only if it
        does not answer with that id, the claimed one; an answer there with
        the id moves the contact (in :meth:`dht.node.requests.Requests.request_address`).  So a stranger can
        only move a contact that is gone.  Shares MAX_VERIFY_PINGS with
        :meth:`verify_contact`; one check per id at a time.
        """
        if (self._verifying >= self.node.config.MAX_VERIFY_PINGS or not self.node.running
                or (self._moving is not None and known.id in self._moving)):
            return
        self._verifying += 1
        if self._moving is None:
            self._moving = set()
        self._moving.add(known.id)
        self.node.spawn(self._check_moved(known, claimed))

    async def _check_moved(self, known: Contact, claimed: Contact) -> None:
        ping = {b"id": self.node.id}
        try:
            try:
                await self.node.request(known, "ping", ping)
                return  # still where we knew it
            except (errors.RpcTimeout, RemoteProtocolError):
                pass
            await self.node.request(claimed, "ping", ping)
        except errors.DHTError:
            pass  # the outcome is already in the table
        finally:
            self._verifying -= 1
            if self._moving is not None:
                self._moving.discard(known.id)

    async def ping_oldest(self, oldest: Contact, new: Contact) -> None:
        try:
            await self.node.request(oldest, "ping", {b"id": self.node.id})
        except (errors.RpcTimeout, RemoteProtocolError):
            self.node.requests.report(self.node.table.replace_stale(oldest, new, clock.now()))
        except (KrpcError, errors.NodeStopped):
            pass
