"""One node call of the look-up panel, and the id of the lookup it starts.

The panel follows exactly the lookup its click started: :class:`LookupCall`
listens to the node while the call's first step runs -- the node emits the
call's ``LookupStarted`` synchronously there -- and keeps that event's
lookup id; lookup ids are unique in the process (``Node.next_lookup_id``),
so no other lookup, before or after a Leave/Join, is mixed in.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from dht.events import LookupStarted


class LookupCall:
    """Runs one node call and learns the id of the lookup it starts.

    ``node.get_value`` and ``node.store_value`` emit their ``LookupStarted``
    in the call's first, synchronous step; :meth:`run` listens to the node
    only until it has seen a ``LookupStarted`` of ``kinds`` for ``target`` (any
target when None: a call whose target it computes itself),
    so :attr:`lookup_id` is set before the bridge delivers any of that
    lookup's events.
    """

    def __init__(self, node: Any, kinds: tuple[str, ...], target: bytes | None,
                 on_id: Callable[[int], None] | None = None) -> None:
        self.node = node
        self.kinds = kinds
        self.target = target
        self.lookup_id: int | None = None
        self._on_id = on_id
        self._unsubscribe: Callable[[], None] | None = None

    def _catch(self, event: Any) -> None:
        if (self.lookup_id is None and type(event) is LookupStarted and event.kind in self.kinds
                and (self.target is None or event.target == self.target)):
            self.lookup_id = event.lookup
            self._stop()
            if self._on_id is not None:
                self._on_id(event.lookup)

    def _stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def run(self, start: Callable[[], Awaitable[Any]]) -> Any:
        """Await ``start()`` (e.g. ``lambda: node.get_value(key)``), listening for its id."""
        self._unsubscribe = self.node.subscribe(self._catch)
        try:
            return await start()
        finally:
            self._stop()
