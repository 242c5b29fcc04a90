"""The one throttling point between the DHT's event stream and Qt.

:class:`EventBridge` subscribes to a node's events.  Each event is only
appended to a bounded deque (no Qt call per event); a QTimer drains the
deque every ``interval_ms`` and emits :attr:`EventBridge.batch` with the
pending events, in order, when there are any.  When the deque is full the
oldest events are discarded and counted in :attr:`EventBridge.dropped`.
"""

from __future__ import annotations

import collections
import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_MS = 100
DEFAULT_MAXLEN = 200_000


class EventBridge(QObject):
    """Collects a node's events and hands them to Qt in batches.

    Signals:
        batch(list): the events collected since the last batch, oldest first.
    """

    batch = Signal(list)

    def __init__(
        self,
        parent: QObject | None = None,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        maxlen: int = DEFAULT_MAXLEN,
    ) -> None:
        super().__init__(parent)
        self._pending: collections.deque[Any] = collections.deque(maxlen=maxlen)
        self._maxlen = maxlen
        self._unsubscribe: Callable[[], None] | None = None
        self._node: Any = None
        self.dropped = 0
        """Events discarded because the queue was full."""
        self.received = 0
        """Events received since creation."""
        self.delivered = 0
        """Events emitted in batches since creation."""
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    # -- configuration -----------------------------------------------------

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    @interval_ms.setter
    def interval_ms(self, value: int) -> None:
        self._timer.setInterval(max(1, int(value)))

    @property
    def node(self) -> Any:
        """The node attached, or None."""
        return self._node

    @property
    def pending(self) -> int:
        """Events waiting for the next batch."""
        return len(self._pending)

    # -- node --------------------------------------------------------------

    def attach(self, node: Any) -> None:
        """Listen to ``node``'s events (detaching from any previous node)."""
        self.detach()
        self._node = node
        self._unsubscribe = node.subscribe(self.push)

    def detach(self) -> None:
        """Stop listening; events still pending are delivered at the next tick."""
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            finally:
                self._unsubscribe = None
        self._node = None

    def push(self, event: Any) -> None:
        """Queue one event (the node's subscriber callback; no Qt here)."""
        pending = self._pending
        if len(pending) == self._maxlen:
            self.dropped += 1
        pending.append(event)
        self.received += 1

    def push_many(self, events: list[Any]) -> None:
        """Queue several events at once (used by tests and benchmarks)."""
        for event in events:
            self.push(event)

    # -- Qt side -----------------------------------------------------------

    def flush(self) -> None:
        """Emit the pending events as one batch, if there are any."""
        pending = self._pending
        if not pending:
            return
        events = list(pending)
        pending.clear()
        self.delivered += len(events)
        self.batch.emit(events)

    def stop(self) -> None:
        """Detach and stop the timer (before the application quits)."""
        self.detach()
        self._timer.stop()
