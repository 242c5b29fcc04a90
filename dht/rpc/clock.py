"""The node's one clock: the event loop's time.

Everything above the sans-IO core that needs ``now`` -- the transport's
request table and limits, the request path, lookups, maintenance, the
handlers' stores, labs -- reads it here and passes it down; the core never
reads a clock (tests/test_sans_io.py).  It is the clock asyncio's timers run
on: an event loop's ``time()`` is ``time.monotonic()`` (``BaseEventLoop``,
and qasync's loop, which keeps it), so a deadline computed from :func:`now`
is the one ``call_at`` waits for, on the loop or off it (a node made before
its loop runs, a snapshot taken from another thread).  It is read on every
datagram, so it is the clock itself, not a function around it
(tests/dht/rpc/test_clock.py checks that it is the loop's).
"""

from __future__ import annotations

import time
from typing import Callable

#: Seconds on the loop's clock.
now: Callable[[], float] = time.monotonic
