"""A local lab: N nodes in one process on loopback, joined to one another.

Used by the GUI's default network, the CLI's ``swarm`` and the tests.  Each
node has its own database under the lab's data directory (a temporary one
unless given).  Nodes can be added and killed at run time to watch the
routing tables heal.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
from pathlib import Path

from .capture import CaptureWriter
from .config import Config
from .contact import Address
from .errors import DHTError, LocalError
from .khash import new_id
from .node import Node


class Lab:
    def __init__(
        self,
        size: int,
        config: Config | None = None,
        host: str = "127.0.0.1",
        base_port: int | None = None,
        data_dir: str | Path | None = None,
        capture: CaptureWriter | None = None,
    ) -> None:
        if size < 1:
            raise LocalError(f"a lab needs at least one node, not {size}")
        self.size = size
        self.config = config or Config()
        self.host = host
        self.base_port = base_port
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="khashmir-lab-"))
        self.nodes: list[Node] = []
        self._serial = 0
        self._traffic: asyncio.Task[None] | None = None
        self.capture = capture  # every node's datagrams go there (dht.capture)

    @property
    def bootstrap_address(self) -> Address:
        if not self.nodes:
            raise LocalError("the lab has no running node")
        return self.nodes[0].contact.address

    def _new_node(self) -> Node:
        index = self._serial
        self._serial += 1
        port = 0 if self.base_port is None else self.base_port + index
        return Node(self.config, host=self.host, port=port, data_dir=self.data_dir / f"node-{index:03d}")

    async def start(self) -> None:
        """Start every node, then join each to a few others and let them look around."""
        nodes = [self._new_node() for _ in range(self.size)]
        try:
            await asyncio.gather(*(n.start() for n in nodes))
        except BaseException:
            for n in nodes:
                if n.running:
                    await n.stop()
            raise
        self.nodes = nodes
        if self.capture is not None:
            for n in nodes:
                n.capture_to(self.capture)
        first = nodes[0]
        # Everyone joins the first node and one random other, then finds its neighbours.
        for n in nodes[1:]:
            peers = {first.contact.address, random.choice(nodes).contact.address}
            peers.discard(n.contact.address)
            for address in peers:
                await n.join(*address)
        sem = asyncio.Semaphore(16)

        async def settle(n: Node) -> None:
            async with sem:
                await n.find_close_nodes()

        await asyncio.gather(*(settle(n) for n in nodes))

        async def refresh(n: Node) -> None:
            async with sem:
                await n.refresh_table(force=True)

        # Then, as Node.bootstrap does, a lookup in every bucket: without it a
        # table knows its neighbourhood but may have empty buckets elsewhere,
        # and a lookup can stall short of a key's closest nodes.
        await asyncio.gather(*(refresh(n) for n in nodes))

    async def add_node(self) -> Node:
        node = self._new_node()
        await node.start()
        if self.capture is not None:
            node.capture_to(self.capture)
        if self.nodes:
            await node.bootstrap([random.choice(self.nodes).contact.address])
        self.nodes.append(node)
        return node

    async def kill_node(self, node: Node | None = None) -> Node:
        """Stop a node abruptly (no goodbye, like a crash); a random one if none given."""
        if not self.nodes:
            raise LocalError("the lab has no running node")
        if node is None:
            node = random.choice(self.nodes[1:] or self.nodes)
        self.nodes.remove(node)
        node.abort()
        return node

    async def resize(self, size: int) -> None:
        if size < 0:
            raise LocalError(f"lab size must not be negative, not {size}")
        while len(self.nodes) > size:
            await self.kill_node(self.nodes[-1])
        while len(self.nodes) < size:
            await self.add_node()

    def start_traffic(self, per_second: float = 2.0) -> None:
        """Keep the lab busy: random nodes look up, store and get random keys.

        A quiet lab shows nothing; this is the background workload that the
        explorer's default network runs so there is always traffic to watch.
        """
        if per_second <= 0:
            raise LocalError(f"lab traffic rate must be positive, not {per_second}")
        self.stop_traffic()
        self._traffic = asyncio.ensure_future(self._traffic_loop(1.0 / per_second))

    def stop_traffic(self) -> None:
        if self._traffic is not None:
            self._traffic.cancel()
            self._traffic = None

    async def _traffic_loop(self, interval: float) -> None:
        keys: list[bytes] = []
        while True:
            await asyncio.sleep(random.expovariate(1.0 / interval))
            if not self.nodes:
                continue
            node = random.choice(self.nodes)
            roll = random.random()
            try:
                if roll < 0.4:
                    await node.find_node(new_id())
                elif roll < 0.7 or not keys:
                    key = new_id()
                    await node.store_value(key, b"lab value %d" % random.randrange(1_000_000))
                    keys = (keys + [key])[-64:]
                else:
                    await node.get_value(random.choice(keys))
            except DHTError:
                pass  # a killed node, a timeout: part of the show

    async def stop(self) -> None:
        self.stop_traffic()
        nodes, self.nodes = self.nodes, []
        await asyncio.gather(*(n.stop() for n in nodes), return_exceptions=True)
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
