"""A local lab: N nodes in one process on loopback, joined to one another.

Used by the GUI's default network, the CLI's ``swarm``, the benchmarks and
the tests.  The lab's nodes share one database, ``lab.db`` in the lab's data
directory (a temporary one unless given), with one storage thread and one
lock on the directory; each node's rows are those of its number in the lab
(:mod:`dht.storage.lab_database`), so a lab started again on the same
directory brings back each node's id and contacts.  Nodes can be added and
killed at run time to watch the routing tables heal.

Addresses (:mod:`dht.lab.hosts`).  Each node listens on a loopback address
of its own, 127.0.0.2 upwards, so that a node's per-IP limits see the other
lab nodes as distinct hosts; where only 127.0.0.1 can be bound, or when a
``host`` is given, every node listens on that one address with ports of its
own, and :attr:`Lab.shared_ip` says so: per-IP limits must then be raised
for the lab's own nodes.

How a lab forms (:meth:`Lab.start`): every node starts, then the lab,
which knows every node's id, plays the part of the network's history --
each node is introduced by pings to its K closest and to a few nodes in
each bucket range further away, and joins the first -- instead of running
a real network's lookups; see :mod:`dht.lab.formation` for its theory of
operation.  Those datagrams go from node to node inside the process, not
through the sockets (:mod:`dht.lab.fabric`), unless the lab records a
capture.  A node added later with :meth:`Lab.add_node` joins the
ordinary way (join, find its neighbourhood, refresh its buckets), as a
newcomer would.

While it forms, the lab reports :class:`~dht.core.events.LabProgress` on its own
bus (:meth:`Lab.subscribe`), at most every :data:`PROGRESS_STEP` of a stage.

Conditions and churn (see :mod:`dht.lab.conditions`).  Every lab node's datagram
transport is wrapped so that what it sends is delayed or lost as the lab's
:class:`~dht.lab.conditions.Conditions` say (:meth:`Lab.set_conditions`, at any
time).  Under the public preset each node has its own base delay
(:meth:`Lab.one_way_delay`), drawn from the lab's seed and the node's
number, so the same node keeps it across changes of conditions and deaths.
Formation plays the network's history on a perfect network: conditions
given to the constructor apply once the lab is formed.  A killed node is kept in :attr:`Lab.dead`; :meth:`Lab.revive_node`
restarts it on its rows of the lab's database (same id, same address where the port is
still free) and joins it again.  With churn, a task kills and revives nodes
as a seeded :class:`~dht.lab.conditions.ChurnPlan` says (:mod:`dht.lab.churn`);
:meth:`Lab.apply_churn` is that task's step, given ``now`` (tests call it with a
fake clock).  The first node -- the bootstrap address -- is never killed by churn.
"""

from __future__ import annotations

import asyncio
import functools
import random
import shutil
import time
from pathlib import Path
from typing import Callable

from ..capture import CaptureWriter
from ..core.config import Config
from ..core.contact import Address
from ..core.errors import DHTError, LocalError
from ..core.events import Event, EventBus, LabConditionsChanged, LabNodeChanged, LabProgress
from ..node.facade import Node, core_of, sides_of
from ..rpc import clock
from ..rpc.shared_port import for_lab
from ..rpc.transport import KrpcTransport
from ..storage import LAB_DB_NAME, LabDatabase
from ..storage.openfiles import ensure_open_files
from .churn import ChurnRunner
from .conditions import ConditionedTransport, Conditions, LinkModel, NodeDelays
from .fabric import Fabric
from .formation import PROGRESS_STEP, Formation, form, introductions as introductions
from .ipv6 import join_ipv6_sides
from .hosts import lab_host as lab_host, loopback_per_node, node_address, scratch_dir as scratch_dir
from .quiet_gc import full_collections_held
from .traffic import traffic_loop

#: Nodes stopped at a time (each saves its table in the lab's database).
STOP_BATCH = 128

#: The lab database's slots of the nodes' IPv6 sides: node i's is IPV6_SLOTS + i.
IPV6_SLOTS = 1_000_000


class Lab:
    def __init__(
        self,
        size: int,
        config: Config | None = None,
        host: str | None = None,
        base_port: int | None = None,
        data_dir: str | Path | None = None,
        capture: CaptureWriter | None = None,
        conditions: Conditions | None = None,
        seed: int | None = None,
        host6: str | None = None,
        part: tuple[int, int] = (0, 1),
        shared_socket: bool | None = None,
        id_range: tuple[int, int] | None = None,
    ) -> None:
        """``host`` None: each node its own loopback address where the platform
        allows (else all on 127.0.0.1); a host given: every node on it (``"::1"``:
        a lab of IPv6 only).  ``host6`` (Mainline): every node dual-stack, its IPv6
        side on that one address (``"::1"``: per-IP limits relaxed for it, as for a
        shared IPv4 address), joined after the lab forms (see :meth:`start`).
        ``base_port`` None: ports chosen by the kernel; else node i on base_port + i.
        ``conditions``: delay, loss and churn from the start (default none);
        ``seed``: seeds the losses, delays and churn (None: random).
        ``part`` (k, N): this lab is part k of a lab of N parts, one per process
        (:mod:`dht.lab.procs`): its nodes are the lab's nodes k, k + N, k + 2N, ...
        (their addresses and database slots are those numbers); it starts them
        with :meth:`start_part` and forms them with the other parts
        (:class:`~dht.lab.formation.FormationPlan`).
        ``shared_socket``: the nodes' IPv4 sides on one socket, each at its own address
        (:mod:`dht.rpc.shared_port`), or a socket each (False); None: shared from
        LAB_SHARED_FROM nodes on.  Only where the system allows it and each node has a
        loopback address of its own (else a socket each).
        ``id_range`` (lo, hi): a node whose database slot has no id yet takes one drawn
        uniformly from [lo, hi) (from ``seed``), chosen before the nodes start; a lab
        part owns such a slice of the id space (:mod:`dht.lab.procs`).  None: any id."""
        if size < 1:
            raise LocalError(f"a lab needs at least one node, not {size}")
        self.size = size
        self.part, self.parts = part
        if not 0 <= self.part < self.parts:
            raise LocalError(f"a lab part must be one of 0..{self.parts - 1}, not {self.part}")
        self.config = config or Config()
        self.host = host
        self.host6 = host6
        self.shared_ip = host is not None or not loopback_per_node()
        """True when all nodes listen on one IP address: per-IP limits then
        see the whole lab as one host and must be raised for its nodes."""
        self.base_port = base_port
        if id_range is not None and not 0 <= id_range[0] < id_range[1] <= 1 << 160:
            raise LocalError(f"a lab's id range must lie in [0, 2**160) and not be empty, not {id_range}")
        self.id_range = id_range
        self._id_rng = random.Random(None if seed is None else seed + 17)
        self.shared_port = for_lab(size, shared_socket, not self.shared_ip, base_port)
        """The one socket of the nodes' IPv4 sides, None when each has its own."""
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else scratch_dir()
        self.database = LabDatabase(self.data_dir, self.config.STORAGE_THREAD)
        """The nodes' one database (``lab.db`` in :attr:`data_dir`), open while the lab runs."""
        self.nodes: list[Node] = []
        self.dead: list[Node] = []
        """Killed nodes, oldest death first: :meth:`revive_node` restarts them."""
        self.formation: Formation | None = None
        self.events = EventBus()
        """The lab's own events: LabProgress, LabNodeChanged, LabConditionsChanged."""
        self.link = LinkModel(conditions, random.Random(seed), NodeDelays(None if seed is None else seed + 3))
        """Decides what happens to each datagram a lab node sends (shared by all)."""
        self.fabric = Fabric()
        """Carries the datagrams between lab nodes while the lab forms (:mod:`dht.lab.fabric`)."""
        self.churner = ChurnRunner(self, seed)
        """Carries churn out: kills and revives nodes as :attr:`churn` says."""
        self.churn = self.churner.plan
        """When churn kills a node and revives it (a seeded :class:`~dht.lab.conditions.ChurnPlan`)."""
        self._serial = 0
        self._numbers: dict[Node, int] = {}  # each node's number: its address, directory and delay
        self._traffic: asyncio.Task[None] | None = None
        self.capture = capture  # every node's datagrams go there (dht.capture)

    # --- events and conditions --------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for the lab's own events; returns an unsubscribe function."""
        return self.events.subscribe(callback)

    def _emit(self, event: Event) -> None:
        if self.events.active:
            self.events.emit(event)

    def _changed(self, node: Node, change: str, by_churn: bool = False) -> None:
        if self.events.active:
            self.events.emit(LabNodeChanged(clock.now(), node.contact, change, by_churn))

    @property
    def conditions(self) -> Conditions:
        return self.link.conditions

    def set_conditions(self, conditions: Conditions) -> None:
        """Apply ``conditions`` from the next datagram on (and churn from now on).

        Needs the running loop when churn is to run.
        """
        old = self.link.conditions
        self.link.conditions = conditions
        if conditions.churn_per_min != old.churn_per_min or (
            conditions.churn_per_min > 0 and self.churner.task is None
        ):
            self._set_churn(conditions.churn_per_min)
        c = conditions
        self._emit(LabConditionsChanged(clock.now(), c.latency_ms, c.jitter_ms, c.loss, c.churn_per_min,
                                        c.preset))

    def _set_churn(self, rate: float) -> None:
        self.churner.set_rate(rate, started=bool(self.nodes))

    async def apply_churn(self, now: float) -> list[tuple[str, Node]]:
        """Carry out the kills and revivals churn has due by ``now``; returns them."""
        return await self.churner.apply(now)

    def _condition(self, node: Node) -> None:
        """Route what ``node`` sends (each side of it) through the lab's link model."""
        for side in sides_of(node):
            transport = side.transport
            inner = transport.transport
            if inner is not None and not isinstance(inner, ConditionedTransport):
                conditioned = ConditionedTransport(inner, self.link, self._numbers.get(node), self.fabric)
                conditioned.deliver = functools.partial(transport.transmit, inner)
                transport.transport = conditioned

    @staticmethod
    def _endpoints(node: Node) -> tuple[KrpcTransport, asyncio.BaseTransport]:
        """A running node's protocol (where its socket's datagrams go) and its socket's transport."""
        protocol = core_of(node).transport
        transport = protocol.transport
        assert transport is not None
        return protocol, transport.inner if isinstance(transport, ConditionedTransport) else transport

    def one_way_delay(self, node: Node) -> float:
        """Seconds the datagrams ``node`` sends are held back before jitter: its own
        base delay under the public preset, else the flat latency."""
        c = self.link.conditions
        if c.preset == "public":
            return self.link.delays.one_way(self._numbers[node])
        return c.latency_ms / 1000.0

    async def _start_conditioned(self, node: Node) -> None:
        await node.start()
        self._condition(node)
        if self.capture is not None:
            node.capture_to(self.capture)

    def node_by_id(self, node_id: bytes) -> Node:
        """The lab node (running or dead) with this id; LocalError if none."""
        for node in self.nodes + self.dead:
            if node.id == node_id:
                return node
        raise LocalError(f"no lab node has id {node_id.hex()}")

    @property
    def bootstrap_address(self) -> Address:
        if not self.nodes:
            raise LocalError("the lab has no running node")
        return self.nodes[0].contact.address

    def _new_node(self) -> Node:
        index = self._serial * self.parts + self.part  # its number in the whole lab
        self._serial += 1
        host, port = node_address(index, self.host, self.shared_ip, self.base_port)
        if self.shared_port is not None:
            port = 0  # the shared socket's
        six = None if self.host6 is None else self.database.slot(IPV6_SLOTS + index)
        node = Node(self.config, host=host, port=port, data_dir=self.data_dir, db_name=LAB_DB_NAME,
                    storage=self.database.slot(index), host6=self.host6, storage6=six,
                    shared_port=self.shared_port)
        self._numbers[node] = index
        return node

    async def start(self) -> None:
        """Start every node, introduce each to its neighbourhood, join each to the first, then the rest.

        No automatic full garbage collection runs meanwhile (:mod:`dht.lab.quiet_gc`).
        """
        with full_collections_held():
            await self._start()

    async def _start(self) -> None:
        t0 = time.perf_counter()
        nodes = await self.start_part()
        wanted = self.link.conditions
        self.link.conditions = Conditions()  # the network's history, played on a perfect network
        if self.capture is None:  # recorded, it goes on the wire: a capture of lo beside ours agrees
            self.fabric.open({n.contact.address: self._endpoints(n) for n in nodes})  # in the process
        try:
            self.formation = await form(nodes, self.config, self._emit, time.perf_counter() - t0)
            if self.host6 is not None:
                await join_ipv6_sides(nodes)
        finally:
            self.fabric.close()
            self.link.conditions = wanted
        self._emit(LabProgress(clock.now(), "formed", len(nodes), len(nodes)))
        if self.link.conditions.churn_per_min > 0:
            self._set_churn(self.link.conditions.churn_per_min)

    def hold_for_formation(self) -> Conditions:
        """A part's formation begins (:mod:`dht.lab.procs`): a perfect network, the fabric
        open between its own nodes; returns the conditions to give back with :meth:`formed`."""
        wanted = self.link.conditions
        self.link.conditions = Conditions()
        if self.capture is None:
            self.fabric.open({n.contact.address: self._endpoints(n) for n in self.nodes})
        return wanted

    def formed(self, wanted: Conditions) -> None:
        """A part's formation has ended: the fabric closed, ``wanted`` conditions (and churn) on."""
        self.fabric.close()
        self.link.conditions = wanted
        if wanted.churn_per_min > 0:
            self._set_churn(wanted.churn_per_min)

    async def start_part(self) -> list[Node]:
        """Start this lab's nodes (every node, or this part's), none introduced yet; returns them."""
        ensure_open_files(self.size if self.shared_port is None or self.host6 else 0)
        self.database.open()  # StorageError: the directory is another lab's, or cannot be written
        nodes = [self._new_node() for _ in range(self.size)]
        step = max(1, int(self.size * PROGRESS_STEP))
        started = 0

        async def start_one(node: Node) -> None:
            nonlocal started
            await self._start_conditioned(node)
            started += 1
            if started % step == 0 or started == len(nodes):
                self._emit(LabProgress(clock.now(), "starting", started, len(nodes)))

        try:
            with self.database.starting(self._preset_ids(nodes)):  # ids and contacts read at once, new ids written at once
                await asyncio.gather(*(start_one(n) for n in nodes))
        except BaseException:
            for n in nodes:
                if n.running:
                    await n.stop()
            self.database.close()
            raise
        self.nodes = nodes
        return nodes

    def _preset_ids(self, nodes: list[Node]) -> dict[int, bytes] | None:
        """The ids ``nodes`` take where their slots have none: drawn from :attr:`id_range`."""
        if self.id_range is None:
            return None
        lo, hi = self.id_range
        rng = self._id_rng
        return {self._numbers[n]: rng.randrange(lo, hi).to_bytes(20, "big") for n in nodes}

    async def add_node(self) -> Node:
        ensure_open_files(len(self.nodes) + 1 if self.shared_port is None or self.host6 else 0)
        self.database.open()  # a no-op once the lab has started
        node = self._new_node()
        await self._start_conditioned(node)
        if self.nodes:
            await node.bootstrap([random.choice(self.nodes).contact.address])
        self.nodes.append(node)
        self._changed(node, "added")
        return node

    async def kill_node(self, node: Node | None = None, by_churn: bool = False) -> Node:
        """Stop a node abruptly (no goodbye, like a crash); a random one if none given.

        The node is kept in :attr:`dead` for :meth:`revive_node`.
        """
        if not self.nodes:
            raise LocalError("the lab has no running node")
        if node is None:
            node = random.choice(self.nodes[1:] or self.nodes)
        if node not in self.nodes:
            raise LocalError(f"lab node {node.id.hex()[:8]} is not running")
        self.nodes.remove(node)
        for side in sides_of(node):
            side.abort()
        # asyncio closes the socket in the loop's next iteration: let it, so
        # that the address is free again (for revive_node) when we return.
        await asyncio.sleep(0)
        self.dead.append(node)
        self._changed(node, "killed", by_churn)
        return node

    async def revive_node(self, node: Node | None = None, by_churn: bool = False) -> Node:
        """Restart a killed node on its rows of the lab's database (the longest dead if none given).

        It keeps its id, listens on its old address again (any free port if
        that one was taken meanwhile) and joins a running node, as a node
        coming back after a crash would.
        """
        if node is None:
            if not self.dead:
                raise LocalError("no lab node is dead")
            node = self.dead[0]
        if node not in self.dead:
            raise LocalError(f"lab node {node.id.hex()[:8]} is not dead")
        old_port = node.address[1]
        core_of(node).requested_port = old_port
        try:
            await self._start_conditioned(node)
        except LocalError:
            if self.base_port is not None:
                raise
            core_of(node).requested_port = 0  # the port was taken meanwhile
            await self._start_conditioned(node)
        self.dead.remove(node)
        peers = [n.contact.address for n in self.nodes]
        self.nodes.append(node)
        if peers:
            try:
                await node.bootstrap([random.choice(peers)])
            except DHTError:
                pass  # that peer died meanwhile: the node runs, its table fills as it is asked
        self._changed(node, "revived", by_churn)
        return node

    async def resize(self, size: int) -> None:
        if size < 0:
            raise LocalError(f"lab size must not be negative, not {size}")
        while len(self.nodes) > size:
            await self.kill_node(self.nodes[-1])
        while len(self.nodes) < size:
            await self.add_node()

    def start_traffic(self, per_second: float = 2.0) -> None:
        """Keep the lab busy: random nodes do what the profile's users do
        (:mod:`dht.lab.traffic`: look up, store and get; on Mainline announce,
        get peers, put and get items), ``per_second`` requests a second."""
        if per_second <= 0:
            raise LocalError(f"lab traffic rate must be positive, not {per_second}")
        self.stop_traffic()
        self._traffic = asyncio.ensure_future(traffic_loop(lambda: self.nodes, self.config.PROFILE, 1.0 / per_second))

    def stop_traffic(self) -> None:
        if self._traffic is not None:
            self._traffic.cancel()
            self._traffic = None

    async def stop(self) -> None:
        self.stop_traffic()
        await self.churner.stop()
        self.dead = []
        nodes, self.nodes = self.nodes, []
        for i in range(0, len(nodes), STOP_BATCH):
            await asyncio.gather(*(n.stop() for n in nodes[i : i + STOP_BATCH]), return_exceptions=True)
        self.database.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
