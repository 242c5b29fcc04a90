"""A mixed swarm on loopback: libtorrent sessions and our own Mainline nodes.

:class:`LoopThread` runs an asyncio loop in a thread of its own, so our
nodes answer libtorrent while a test waits on libtorrent's alerts in the
main thread.  :class:`MixedSwarm` starts ``lt_count`` libtorrent sessions
(127.0.60.1, 127.0.61.1, ...) and ``ours`` nodes of ours
(``Config(PROFILE="mainline")``, 127.0.70.1, 127.0.71.1, ...: each on a
/24 of its own, as libtorrent keeps one node per /24 in a bucket), then
joins them: each of our nodes bootstraps from the libtorrent sessions (a
find_node for its own id, Mainline's join) and each session is told of our
nodes with ``add_dht_node``; it waits until every libtorrent table holds
every other node (``post_dht_stats``).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Coroutine, TypeVar

from dht import Config, Node

from .ltlab import LtNode

R = TypeVar("R")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="our-nodes", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, R], timeout: float = 30.0) -> R:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class MixedSwarm:
    def __init__(self, lt_count: int, ours: int, config: Config | None = None) -> None:
        self.lt = [LtNode(f"127.0.{60 + i}.1") for i in range(lt_count)]
        # SOFT_TIMEOUT_MIN 1 s: a lookup never moves on from a live node merely slow
        # to be scheduled on a loaded machine (the tests count who answered).
        self.config = config or Config(PROFILE="mainline", KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)
        self.data = Path(tempfile.mkdtemp(prefix="mixed-swarm-"))
        self.ours = [
            Node(self.config, host=f"127.0.{70 + i}.1", data_dir=self.data / f"node-{i}") for i in range(ours)
        ]
        self.thread = LoopThread()

    def start(self, timeout: float = 20.0) -> None:
        for node in self.lt:
            node.start()
        for node in self.lt:
            for other in self.lt:
                if other is not node:
                    node.session.add_dht_node(other.address)
        lt_addresses = [n.address for n in self.lt]

        async def start_ours() -> None:
            for node in self.ours:
                await node.start()
            for node in self.ours:
                await node.bootstrap(lt_addresses)

        self.thread.run(start_ours(), timeout)
        for node in self.lt:
            for ours in self.ours:
                node.session.add_dht_node(ours.contact.address)
        want = len(self.lt) + len(self.ours) - 1
        deadline = time.monotonic() + timeout
        for node in self.lt:
            while node.routing_nodes() < want:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"libtorrent at {node.host} holds {node.routing_nodes()} of {want} nodes")
                node.session.wait_for_alert(100)

    def run(self, coro: Coroutine[Any, Any, R], timeout: float = 30.0) -> R:
        return self.thread.run(coro, timeout)

    def close(self) -> None:
        async def stop_ours() -> None:
            await asyncio.gather(*(n.stop() for n in self.ours), return_exceptions=True)

        try:
            self.thread.run(stop_ours(), 10)
        finally:
            self.thread.close()
            for node in self.lt:
                node.close()
            shutil.rmtree(self.data, ignore_errors=True)
