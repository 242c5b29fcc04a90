"""A one-way channel of items from one thread to an event loop, in batches.

Theory of operation.  A producer on any thread calls
:meth:`EventChannel.push`; the items wait in a bounded deque under a lock
(the oldest dropped and counted when full, so a flood costs memory once,
never without bound).  The first push of a batch arms the channel: one
``call_soon_threadsafe`` to the consumer's loop, which then waits
``interval`` seconds and delivers everything pushed meanwhile in one call,
oldest first.  So the consumer's loop is woken once per batch, not once per
item, however fast the producer goes.  After :meth:`EventChannel.close`
(or once the consumer's loop is closed) pushes are ignored.

:class:`dht.lab.thread.LabThread` carries a lab's events to the explorer's
loop through these.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Callable, Generic, TypeVar

from ..core.errors import LocalError

Item = TypeVar("Item")

#: Seconds between two batches of events delivered to the caller's loop.
DEFAULT_INTERVAL = 0.05
#: Events a channel keeps waiting for delivery (the oldest dropped beyond).
DEFAULT_MAX_EVENTS = 100_000


class EventChannel(Generic[Item]):
    """Items pushed on any thread, delivered in batches on ``loop``.

    ``deliver(items)`` runs on ``loop``, with every item pushed since the
    last batch, oldest first, at most once per ``interval`` seconds.  At
    most ``maxlen`` items wait; beyond, the oldest are dropped and counted
    in :attr:`dropped`.  After :meth:`close` pushes are ignored.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, deliver: Callable[[list[Item]], None],
        interval: float = DEFAULT_INTERVAL, maxlen: int = DEFAULT_MAX_EVENTS,
    ) -> None:
        if maxlen < 1 or interval < 0:
            raise LocalError("an event channel needs room for one item and a non-negative interval")
        self.loop = loop
        self.deliver = deliver
        self.interval = interval
        self._items: collections.deque[Item] = collections.deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._armed = False
        self._closed = False
        self.dropped = 0
        self.pushed = 0
        self.batches = 0

    def push(self, item: Item) -> None:
        """Queue one item (any thread); wakes the consumer's loop once per batch."""
        with self._lock:
            if self._closed:
                return
            items = self._items
            if len(items) == items.maxlen:
                self.dropped += 1
            items.append(item)
            self.pushed += 1
            if self._armed:
                return
            self._armed = True
        try:
            self.loop.call_soon_threadsafe(self._arm)
        except RuntimeError:  # the consumer's loop is closed
            self.close()

    def _arm(self) -> None:
        if self.interval > 0:
            self.loop.call_later(self.interval, self._flush)
        else:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._armed = False
            closed = self._closed
        if items and not closed:
            self.batches += 1
            self.deliver(items)

    @property
    def pending(self) -> int:
        return len(self._items)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._items.clear()
