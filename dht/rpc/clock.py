"""The node's one clock: the event loop's time.

Everything above the sans-IO core that needs ``now`` -- the transport's
request table and limits, the request path, lookups, maintenance, the
handlers' stores, labs -- reads it here and passes it down; the core never
reads a clock (tests/test_sans_io.py).  It is the running loop's
``time()`` (the monotonic clock asyncio's timers run on, so a deadline
computed from it is the one ``call_at`` waits for); off the loop (a node
made before its loop runs, a snapshot taken from another thread) the same
monotonic clock.
"""

from __future__ import annotations

import asyncio
import time


def now() -> float:
    """Seconds on the loop's clock."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:  # no loop running here: the clock the loop would use
        return time.monotonic()
