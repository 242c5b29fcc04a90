"""A dual-stack mixed swarm on loopback: libtorrent sessions and our Mainline nodes on IPv4
and IPv6 (::1, IPv6's one loopback address).

libtorrent runs one DHT node per listen socket (its IPv4 and IPv6 tables are
two nodes, each with its own id, as BEP 32 has it); ours run one side per
family (:mod:`dht.node.dual`).  :class:`DualSwarm` starts ``lt_count``
libtorrent sessions listening on 127.0.6x.1 and ::1, one dual-stack node of
ours (127.0.90.1 and ::1) and one of IPv6 only (::1): whatever the IPv6-only
node finds or gives, it does over IPv6.  Ours bootstrap from every libtorrent
address; each session is told our addresses with ``add_dht_node``; start
waits until libtorrent's IPv6 table holds every IPv6 node of ours.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import libtorrent as lt

from dht import Config, Node

from .ltlab import LtNode, settings_for
from .mixed import LoopThread, MixedSwarm


class DualLtNode(LtNode):
    """A libtorrent session listening on an IPv4 loopback address and on ::1."""

    address6: tuple[str, int] = ("::1", 0)

    def start(self, timeout: float = 10.0) -> None:
        settings = settings_for(self.host)
        settings["listen_interfaces"] = f"{self.host}:0,[::1]:0"
        # ::1 is one address for all: libtorrent keeps several nodes of it only unrestricted.
        settings["dht_restrict_routing_ips"] = settings["dht_restrict_search_ips"] = False
        self.session = lt.session(settings)
        ports: dict[str, int] = {}
        deadline = time.monotonic() + timeout
        while len(ports) < 2:
            alert = self.wait_for(
                lambda a: isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.udp,
                max(0.1, deadline - time.monotonic()), "listening on UDP, both families",
            )
            ports[str(alert.address)] = alert.port
        self.port = ports[self.host]
        self.address6 = ("::1", ports["::1"])

    def table_endpoints(self, timeout: float = 5.0) -> set[tuple[str, int]]:
        """The endpoints in all of this session's DHT tables (one per family):
        ``post_dht_stats`` names each node's id, ``dht_live_nodes`` lists its table."""
        self.session.post_dht_stats()
        ids: list[str] = []
        for _ in range(2):
            stats = self.wait_for(lambda a: isinstance(a, lt.dht_stats_alert), timeout, "dht stats")
            found = re.search(r"\(([0-9a-f]{40})\)", stats.message())
            if found:
                ids.append(found.group(1))
        endpoints: set[tuple[str, int]] = set()
        for nid in ids:
            self.session.dht_live_nodes(lt.sha1_hash(bytes.fromhex(nid)))
            live = self.wait_for(lambda a: a.__class__.__name__ == "dht_live_nodes_alert", timeout, "live nodes")
            endpoints.update((str(n["endpoint"][0]), int(n["endpoint"][1])) for n in live.nodes)
        return endpoints


class DualSwarm(MixedSwarm):
    """The mixed swarm's run and close, with dual-stack sessions and ours (see the module's docstring)."""

    def __init__(self, lt_count: int = 2) -> None:
        self.lt: list[DualLtNode] = [DualLtNode(f"127.0.{64 + i}.1") for i in range(lt_count)]
        self.config = Config(PROFILE="mainline", KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)
        self.data = Path(tempfile.mkdtemp(prefix="dual-swarm-"))
        #: one dual-stack node, one of IPv6 only
        self.dual = Node(self.config, host="127.0.90.1", host6="::1", data_dir=self.data / "dual")
        self.six = Node(self.config, host="::1", data_dir=self.data / "six")
        self.ours = [self.dual, self.six]
        self.thread = LoopThread()

    def our_ipv6_addresses(self) -> set[tuple[str, int]]:
        found = {node.address_of("IPv6") for node in self.ours}
        return {a for a in found if a is not None}

    def start(self, timeout: float = 30.0) -> None:
        for node in self.lt:
            node.start()
        for node in self.lt:
            for other in self.lt:
                if other is not node:
                    node.session.add_dht_node(other.address)
                    node.session.add_dht_node(other.address6)
        lt_addresses = [a for n in self.lt for a in (n.address, n.address6)]

        async def start_ours() -> None:
            for node in self.ours:
                await node.start()
            for node in self.ours:
                await node.bootstrap(lt_addresses)

        self.thread.run(start_ours(), timeout)
        ours = [a for node in self.ours for a in (node.address_of(f) for f in node.families) if a is not None]
        for node in self.lt:
            for address in ours:
                node.session.add_dht_node(address)
        deadline = time.monotonic() + timeout
        for node in self.lt:
            while not self.our_ipv6_addresses() <= node.table_endpoints():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"libtorrent at {node.host}: our IPv6 nodes not in its tables")
                node.session.wait_for_alert(100)
