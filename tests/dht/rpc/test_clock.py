"""The node's one clock is the event loop's: deadlines computed from it are the loop's."""

from __future__ import annotations

import asyncio

from dht.rpc import clock


def test_the_clock_is_the_loop_s() -> None:
    async def read() -> tuple[float, float, float]:
        before = clock.now()
        loop_time = asyncio.get_running_loop().time()
        return before, loop_time, clock.now()

    before, loop_time, after = asyncio.run(read())
    assert before <= loop_time <= after  # one clock: the loop's time lies between two readings of ours
