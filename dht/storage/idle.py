"""Closing an idle store's connection: a lab of hundreds of nodes keeps no SQLite caches it does not use.

A node's :class:`~dht.storage.Store` opens its database connection on the
first access after a release.  :class:`IdleRelease` closes it again once
it has not been used for ``seconds``: armed when the store opens
(:attr:`Store.on_open`), it checks then whether the store was used since
(its ``last_used``, the store's own monotonic stamp) and waits out the rest,
or waits again while storage jobs are running.  One timer per open store,
none for a closed one; :meth:`cancel` when the node stops.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .store import Store


class IdleRelease:
    """Release ``store``'s connection after ``seconds`` without use, while ``running()``."""

    def __init__(self, store: "Store", seconds: float, running: Callable[[], bool]) -> None:
        self.store = store
        self.seconds = seconds
        self.running = running
        self._timer: asyncio.TimerHandle | None = None

    def opened(self) -> None:
        """The store opened its connection: check after ``seconds``."""
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: it stays open until the node stops
            self._timer = loop.call_later(self.seconds, self._check)

    def _check(self) -> None:
        self._timer = None
        store = self.store
        if not self.running() or not store.is_open:
            return
        idle = time.monotonic() - store.last_used  # the store's own stamps
        loop = asyncio.get_running_loop()
        if store.busy:  # jobs on the storage thread: not idle
            self._timer = loop.call_later(self.seconds, self._check)
        elif idle >= self.seconds:
            store.release()
        else:
            self._timer = loop.call_later(self.seconds - idle, self._check)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
