"""Mainline against libtorrent: get_peers lookups in a mixed swarm, and ping throughput.

**Mixed swarm.**  ``--lt`` libtorrent 2.1 sessions (127.1.i.1) and
``--ours`` nodes of ours (``Config(PROFILE="mainline")``, 127.2.i.1), every
node on a /24 of its own.  All of ours run on one asyncio loop in a thread
of this process, so a lookup's thread also answers for every node of ours
it asks; ``--processes`` runs each node of ours in a process of its own
instead, as a deployed node runs (and as each libtorrent session has
threads of its own outside the GIL).  Measured both ways on 2 cores: the
processes make our lookups slower, not faster (1.50x libtorrent's median
time against 1.49x on the shared loop in the same quiet hour; each hop
then waits for a sleeping process to be scheduled), so the gap is the
per-hop cost of Python's send, receive and bookkeeping, not the sharing.  Each session is told of ``--seeds`` random sessions and nodes of ours
(``add_dht_node``); each of our nodes bootstraps (find_node for its own id)
from ``--seeds`` random sessions; then ``--settle`` seconds pass for the
tables to fill by the nodes' own traffic.  Half the ``--hashes`` info-hashes
are announced by libtorrent sessions, half by our nodes.  Then, one at a
time, ``--lookups`` get_peers lookups start from a random node of ours
(``Node.get_peers``) and as many from a random libtorrent session
(``dht_get_peers``), each for one of the announced info-hashes:

* **time**: from the call until the lookup is over: ours, until
  ``get_peers`` returns; libtorrent's, until ``post_dht_stats`` shows no
  get_peers traversal active any more (polled; the poll adds well under a
  millisecond on loopback);
* **first peer**: until the first answer with the announced peer (ours: the
  first LookupAnswered "values" event of a second, watched lookup of the
  same info-hash, since the timed one runs with no event subscriber;
  libtorrent's: its first ``dht_get_peers_reply_alert``);
* **RPCs**: get_peers queries the lookup sent: ours from the node's own
  counters, libtorrent's from its ``dht.dht_get_peers_out`` session counter,
  read after the traversal ended (no announce runs meanwhile);
* **found**: lookups that returned the announced peer.

**Ping throughput.**  One node of ours (``python -m dht --profile mainline
node`` in a process of its own) and one libtorrent session (rate limits
raised), both on 127.0.0.1, pinged for ``--ping-seconds`` each by the same
raw asyncio client on 127.0.0.1 keeping ``--window`` pings outstanding:
answers per second.  (A node gives sources on its own address the
OWN_ADDRESS_LIMIT_FACTOR, so our per-IP rate limits do not cap this.)

    python -m bench.bench_mainline [--lt 32] [--ours 32] [--lookups 200] [--hashes 16]
        [--seeds 8] [--settle 5] [--ping-seconds 3] [--window 64] [--processes] [--json FILE] [--strict]
        [--family 4|6]

``--family 6`` runs the same on IPv6: every node, ours and libtorrent's, on
::1 (IPv6 loopback is one address, so libtorrent's per-IP routing
restrictions are off and our nodes' own-address exemption applies, as for a
lab sharing one IPv4 address), with nodes6, 18-byte peers and IPv6 BEP 42.

Targets: RPCs per lookup at most 1.0x libtorrent's, median time at most 1.0x.
Loopback only; every wait is bounded; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Coroutine, TypeVar

import bencodepy
import libtorrent as lt

from dht import Config, Node
from dht.events import Event, LookupAnswered, LookupStarted

R = TypeVar("R")
ALERTS = (lt.alert.category_t.dht_notification | lt.alert.category_t.dht_operation_notification
          | lt.alert.category_t.status_notification)


def lt_settings(host: str) -> dict[str, Any]:
    v6 = ":" in host
    return {
        "listen_interfaces": f"[{host}]:0" if v6 else f"{host}:0",
        # IPv6 loopback is the one address ::1: its tables must keep many nodes of one IP.
        "dht_restrict_routing_ips": not v6,
        "dht_restrict_search_ips": not v6,
        "outgoing_interfaces": host,
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        "alert_mask": ALERTS,
        "dht_block_ratelimit": 100000,
        "dht_upload_rate_limit": 100_000_000,
    }


class LtSession:
    """One libtorrent session; alerts are matched as they are popped (never kept:
    libtorrent frees them at the next pop)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.session = lt.session(lt_settings(host))
        self.port = 0
        self.wait(lambda a: isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.udp,
                  10.0, lambda a: setattr(self, "port", a.port))
        self.metric = {m.name: m.value_index for m in lt.session_stats_metrics()}

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def wait(self, match: Callable[[Any], bool], timeout: float, use: Callable[[Any], None],
             also: Callable[[Any], None] | None = None) -> None:
        """Pop alerts until one matches (``use`` reads it while valid); ``also`` sees every alert."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.session.wait_for_alert(20) is None:
                continue
            matched = False
            for alert in self.session.pop_alerts():  # the whole batch: the rest is freed at the next pop
                if also is not None:
                    also(alert)
                if not matched and match(alert):
                    use(alert)
                    matched = True
            if matched:
                return
        raise TimeoutError(f"libtorrent at {self.host}: no alert in {timeout} s")

    def routing_nodes(self) -> int:
        out: list[int] = []
        self.session.post_dht_stats()
        self.wait(lambda a: isinstance(a, lt.dht_stats_alert), 5.0,
                  lambda a: out.append(sum(b["num_nodes"] for b in a.routing_table)))
        return out[0]

    def counter(self, name: str) -> int:
        out: list[int] = []
        self.session.post_session_stats()
        self.wait(lambda a: isinstance(a, lt.session_stats_alert), 5.0, lambda a: out.append(a.values[name]))
        return out[0]

    def get_peers(self, info_hash: bytes, peer: tuple[str, int], timeout: float = 20.0) -> tuple[float, float | None, bool]:
        """(seconds until the traversal ended, seconds to the first answer with ``peer``, found)."""
        first: list[float] = []
        start = time.perf_counter()
        self.session.dht_get_peers(lt.sha1_hash(info_hash))

        def reply(alert: Any) -> None:
            if (not first and isinstance(alert, lt.dht_get_peers_reply_alert)
                    and bytes(alert.info_hash.to_bytes()) == info_hash
                    and peer in [tuple(p) for p in alert.peers()]):
                first.append(time.perf_counter() - start)

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active: list[bool] = []
            self.session.post_dht_stats()
            self.wait(lambda a: isinstance(a, lt.dht_stats_alert), 5.0,
                      lambda a: active.append(any(r["type"] == "get_peers" for r in a.active_requests)), reply)
            if not active[0]:
                return time.perf_counter() - start, (first[0] if first else None), bool(first)
        raise TimeoutError("libtorrent's get_peers did not end")

    def close(self) -> None:
        self.session.pause()


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, R], timeout: float = 60.0) -> R:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def our_get_peers(
    node: Node, info_hash: bytes, peer: tuple[str, int], timed: Callable[[], None] | None = None,
) -> tuple[float, float | None, bool, int]:
    """(seconds, seconds to the first answer with values, found, get_peers RPCs sent).

    The timed lookup runs with nobody subscribed to the node's events (as
    libtorrent's, which posts no alert per datagram); the first peer's time
    comes from a second lookup of the same info-hash, watched.  ``timed()`` is
    called as soon as the timed lookup ends."""
    sent = node.stats().methods["get_peers"].sent
    start = time.perf_counter()
    found = await node.get_peers(info_hash)
    elapsed = time.perf_counter() - start
    if timed is not None:
        timed()
    rpcs = node.stats().methods["get_peers"].sent - sent
    first: list[float] = []
    lookup: list[int] = []

    def watch(event: Event) -> None:
        if isinstance(event, LookupStarted) and event.kind == "get_peers" and event.target == info_hash and not lookup:
            lookup.append(event.lookup)
        elif (isinstance(event, LookupAnswered) and lookup and event.lookup == lookup[0]
              and event.outcome == "values" and event.contact.id != node.id and not first):
            first.append(event.elapsed)

    unsubscribe = node.subscribe(watch)
    try:
        await node.get_peers(info_hash)
    finally:
        unsubscribe()
    return elapsed, (first[0] if first else None), peer in found.peers, rpcs


def cpu_summary(cpu: list[float] | None, lookups: int) -> dict[str, float] | None:
    """Our side of the timed lookups, per lookup and per RPC (None with --processes)."""
    if cpu is None or not lookups or not cpu[1] + cpu[2]:
        return None
    seconds, sent, answered = cpu
    return {"us_per_lookup": seconds / lookups * 1e6, "sent_per_lookup": sent / lookups,
            "answered_per_lookup": answered / lookups, "us_per_rpc": seconds / (sent + answered) * 1e6}


def rpcs(nodes: list[Node]) -> tuple[int, int]:
    """(queries sent, queries answered) by ``nodes``, all methods."""
    sent = answered = 0
    for node in nodes:
        for m in node.stats().methods.values():
            sent += m.sent
            answered += m.received - m.errors
    return sent, answered


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class SharedLoop:
    """Our nodes on one asyncio loop in a thread of this process (the default)."""

    def __init__(self, config: Config, hosts: list[str], data: Path) -> None:
        self.loop = LoopThread()
        self.nodes = [Node(config, host=h, data_dir=data / f"n{i}") for i, h in enumerate(hosts)]
        #: the timed lookups: loop-thread CPU seconds, queries sent, queries answered (all our nodes)
        self.cpu: list[float] = [0.0, 0, 0]

    def start(self) -> list[tuple[str, int]]:
        async def start() -> None:
            await asyncio.gather(*(n.start() for n in self.nodes))

        self.loop.run(start())
        return [n.contact.address for n in self.nodes]

    def bootstrap(self, seeds: list[list[tuple[str, int]]]) -> None:
        async def bootstrap() -> None:
            await asyncio.gather(*(n.bootstrap(s) for n, s in zip(self.nodes, seeds)), return_exceptions=True)

        self.loop.run(bootstrap())

    def tables(self) -> list[int]:
        return [n.stats().contacts for n in self.nodes]

    def announce(self, index: int, info_hash: bytes, port: int) -> None:
        self.loop.run(self.nodes[index].announce_peer(info_hash, port))

    def get_peers(self, index: int, info_hash: bytes, peer: tuple[str, int]) -> tuple[float, float | None, bool, int]:
        """One timed lookup; its CPU on the loop thread and the RPCs of all our nodes
        meanwhile (queries sent, queries answered) are added to :attr:`cpu`."""
        async def lookup() -> tuple[float, float | None, bool, int]:
            before = rpcs(self.nodes)
            cpu = time.thread_time()  # the loop's thread: every node of ours runs on it

            def timed() -> None:
                self.cpu[0] += time.thread_time() - cpu
                sent, answered = rpcs(self.nodes)
                self.cpu[1] += sent - before[0]
                self.cpu[2] += answered - before[1]

            return await our_get_peers(self.nodes[index], info_hash, peer, timed)

        return self.loop.run(lookup())

    def close(self) -> None:
        async def stop() -> None:
            await asyncio.gather(*(n.stop() for n in self.nodes if n.running), return_exceptions=True)

        try:
            self.loop.run(stop(), 30)
        finally:
            self.loop.close()


def node_process(conn: Any, config: Config, host: str, data_dir: str) -> None:
    """One node of ours in a process of its own, doing what the bench asks over ``conn``."""
    async def main() -> None:
        node = Node(config, host=host, data_dir=data_dir)
        await node.start()
        loop = asyncio.get_running_loop()
        conn.send(node.contact.address)
        while True:
            command, *call = await loop.run_in_executor(None, conn.recv)
            if command == "stop":
                break
            try:
                if command == "bootstrap":
                    result: Any = await node.bootstrap(call[0])
                elif command == "table":
                    result = node.stats().contacts
                elif command == "announce":
                    result = await node.announce_peer(*call)
                else:
                    result = await our_get_peers(node, *call)
            except Exception as exc:  # reported to the bench, which decides
                result = exc
            conn.send(result)
        await node.stop()
        conn.send("stopped")

    asyncio.run(main())


class NodeProcesses:
    """Each node of ours in a process of its own (``--processes``)."""

    def __init__(self, config: Config, hosts: list[str], data: Path) -> None:
        ctx = mp.get_context("spawn")
        self.conns = []
        self.procs = []
        for i, host in enumerate(hosts):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=node_process, args=(theirs, config, host, str(data / f"n{i}")), daemon=True)
            proc.start()
            self.conns.append(mine)
            self.procs.append(proc)

    def _recv(self, conn: Any, timeout: float = 60.0) -> Any:
        if not conn.poll(timeout):
            raise RuntimeError("a node process did not answer in time")
        result = conn.recv()
        if isinstance(result, Exception):
            raise result
        return result

    def start(self) -> list[tuple[str, int]]:
        return [self._recv(c) for c in self.conns]

    def _all(self, calls: list[tuple[Any, ...]]) -> list[Any]:
        for conn, call in zip(self.conns, calls):
            conn.send(call)
        results = []
        for conn in self.conns:
            try:
                results.append(self._recv(conn))
            except Exception as exc:  # a bootstrap nobody answered: that node stays out
                results.append(exc)
        return results

    def bootstrap(self, seeds: list[list[tuple[str, int]]]) -> None:
        self._all([("bootstrap", s) for s in seeds])

    def tables(self) -> list[int]:
        return [int(r) for r in self._all([("table",)] * len(self.conns)) if isinstance(r, int)]

    def announce(self, index: int, info_hash: bytes, port: int) -> None:
        self.conns[index].send(("announce", info_hash, port))
        self._recv(self.conns[index])

    def get_peers(self, index: int, info_hash: bytes, peer: tuple[str, int]) -> tuple[float, float | None, bool, int]:
        self.conns[index].send(("get_peers", info_hash, peer))
        result: tuple[float, float | None, bool, int] = self._recv(self.conns[index])
        return result

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(("stop",))
            except OSError:
                pass
        for conn, proc in zip(self.conns, self.procs):
            conn.poll(30)
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def mixed_swarm(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    data = Path(tempfile.mkdtemp(prefix="bench-mainline-"))
    config = Config(PROFILE="mainline", KRPC_TIMEOUT=2.0, CONCURRENT_REQS=args.alpha)
    six = args.family == 6
    hosts = ["::1" if six else f"127.2.{i}.1" for i in range(args.ours)]
    t0 = time.perf_counter()
    ours = (NodeProcesses if args.processes else SharedLoop)(config, hosts, data)
    sessions: list[LtSession] = []
    try:
        sessions = [LtSession("::1" if six else f"127.1.{i}.1") for i in range(args.lt)]
        our_addresses = ours.start()
        addresses = [s.address for s in sessions] + our_addresses
        for s in sessions:
            for a in rng.sample([a for a in addresses if a != s.address], args.seeds):
                s.session.add_dht_node(a)
        ours.bootstrap([rng.sample([s.address for s in sessions], args.seeds) for _ in our_addresses])
        time.sleep(args.settle)  # the nodes' own refreshes fill the tables
        formed = time.perf_counter() - t0
        lt_tables = [s.routing_nodes() for s in sessions]
        our_tables = ours.tables()

        # Half the info-hashes announced from libtorrent, half from ours.
        hashes = [os.urandom(20) for _ in range(args.hashes)]
        announcer: dict[bytes, tuple[str, int]] = {}
        for i, h in enumerate(hashes):
            if i % 2 == 0:
                s = sessions[i % len(sessions)]
                s.session.dht_announce(lt.sha1_hash(h), 40000 + i, 0)
                announcer[h] = (s.host, 40000 + i)
            else:
                index = i % len(our_addresses)
                ours.announce(index, h, 40000 + i)
                announcer[h] = (our_addresses[index][0], 40000 + i)
        time.sleep(2.0)  # libtorrent's announces run in the background

        our_rows: list[tuple[float, float | None, bool, int]] = []
        lt_rows: list[tuple[float, float | None, bool, int]] = []
        metric = "dht.dht_get_peers_out"
        for i in range(args.lookups):
            h = hashes[i % len(hashes)]
            our_rows.append(ours.get_peers(rng.randrange(len(our_addresses)), h, announcer[h]))
            s = rng.choice(sessions)
            before = s.counter(metric)
            elapsed, first, found = s.get_peers(h, announcer[h])
            lt_rows.append((elapsed, first, found, s.counter(metric) - before))

        def summary(rows: list[tuple[float, float | None, bool, int]]) -> dict[str, Any]:
            firsts = [r[1] for r in rows if r[1] is not None]
            return {
                "lookups": len(rows),
                "found": sum(r[2] for r in rows),
                "median_ms": median([r[0] for r in rows]) * 1000,
                "p90_ms": (sorted(r[0] for r in rows)[int(0.9 * (len(rows) - 1))] * 1000) if rows else None,
                "median_first_peer_ms": median(firsts) * 1000,
                "median_rpcs": median([float(r[3]) for r in rows]),
                "mean_rpcs": statistics.mean(r[3] for r in rows) if rows else None,
            }

        return {
            "lt": args.lt, "ours": args.ours, "formed_s": formed, "family": args.family,
            "our_nodes": "a process each" if args.processes else "one loop in a thread",
            "lt_table_median": median([float(x) for x in lt_tables]),
            "our_table_median": median([float(x) for x in our_tables]),
            "ours_lookups": summary(our_rows), "libtorrent_lookups": summary(lt_rows),
            "our_cpu": cpu_summary(getattr(ours, "cpu", None), len(our_rows)),
        }
    finally:
        try:
            ours.close()
        finally:
            for s in sessions:
                s.close()
            shutil.rmtree(data, ignore_errors=True)


class PingClient(asyncio.DatagramProtocol):
    """Keeps ``window`` pings outstanding to one address; counts answers."""

    def __init__(self, target: tuple[str, int], window: int) -> None:
        self.target = target
        self.window = window
        self.answers = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.node_id = os.urandom(20)
        self.serial = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        assert self.transport is not None
        self.serial = (self.serial + 1) & 0xFFFF
        msg = {b"t": self.serial.to_bytes(2, "big"), b"y": b"q", b"q": b"ping", b"a": {b"id": self.node_id}}
        self.transport.sendto(bencodepy.encode(msg), self.target)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if b"1:y1:r" in data:  # an answer (queries the node sends us are not counted)
            self.answers += 1
            self.send()

    async def run(self, seconds: float) -> float:
        for _ in range(self.window):
            self.send()
        await asyncio.sleep(0.3)  # warm up: the node verifies us once
        start, counted = time.perf_counter(), self.answers
        await asyncio.sleep(seconds)
        rate = (self.answers - counted) / (time.perf_counter() - start)
        assert self.transport is not None
        self.transport.close()
        return rate


async def ping_rate(target: tuple[str, int], seconds: float, window: int) -> float:
    loop = asyncio.get_running_loop()
    local = "::1" if ":" in target[0] else "127.0.0.1"
    _, client = await loop.create_datagram_endpoint(lambda: PingClient(target, window), local_addr=(local, 0))
    return await client.run(seconds)


def ping_throughput(args: argparse.Namespace) -> dict[str, Any]:
    data = tempfile.mkdtemp(prefix="bench-mainline-ping-")
    loopback = "::1" if args.family == 6 else "127.0.0.1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dht", "--profile", "mainline", "node", "--host", loopback,
         "--ipv6", "only" if args.family == 6 else "off", "--data-dir", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )
    session = None
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"listening on \[?([^\s\]]+)\]?:(\d+)", line)
        if not match:
            raise RuntimeError(f"our node did not start: {line!r}")
        ours = asyncio.run(ping_rate((match.group(1), int(match.group(2))), args.ping_seconds, args.window))
        session = LtSession(loopback)
        theirs = asyncio.run(ping_rate(session.address, args.ping_seconds, args.window))
        return {"ours_pings_per_s": ours, "libtorrent_pings_per_s": theirs, "window": args.window}
    finally:
        proc.terminate()
        proc.wait(10)
        if session is not None:
            session.close()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lt", type=int, default=32)
    parser.add_argument("--ours", type=int, default=32)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--hashes", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--ping-seconds", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--alpha", type=int, default=Config().CONCURRENT_REQS,
                        help="CONCURRENT_REQS of our nodes (libtorrent's search_branching is 5)")
    parser.add_argument("--processes", action="store_true",
                        help="each node of ours in a process of its own (default: all on one loop in a thread)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--family", type=int, choices=(4, 6), default=4,
                        help="4: every node on its own 127.x.y.1 (default); 6: every node, ours and "
                             "libtorrent's, on ::1 (IPv6's one loopback address; per-IP limits relaxed)")
    args = parser.parse_args()
    swarm = mixed_swarm(args)
    ours, theirs = swarm["ours_lookups"], swarm["libtorrent_lookups"]
    print(f"mixed swarm (IPv{args.family}): {args.lt} libtorrent + {args.ours} ours ({swarm['our_nodes']}), formed in {swarm['formed_s']:.1f} s; "
          f"median table: libtorrent {swarm['lt_table_median']:.0f}, ours {swarm['our_table_median']:.0f}")
    print(f"{'get_peers from':16} {'found':>7} {'median ms':>10} {'p90 ms':>8} {'1st peer ms':>12} {'RPCs (median)':>14} {'RPCs (mean)':>12}")
    for name, row in (("ours", ours), ("libtorrent", theirs)):
        print(f"{name:16} {row['found']:>3}/{row['lookups']:<3} {row['median_ms']:>10.1f} {row['p90_ms']:>8.1f} "
              f"{row['median_first_peer_ms']:>12.1f} {row['median_rpcs']:>14.1f} {row['mean_rpcs']:>12.1f}")
    rpc_ratio = ours["mean_rpcs"] / theirs["mean_rpcs"] if theirs["mean_rpcs"] else float("nan")
    time_ratio = ours["median_ms"] / theirs["median_ms"] if theirs["median_ms"] else float("nan")
    print(f"ours / libtorrent: RPCs {rpc_ratio:.2f}x (target <= 1.0), median time {time_ratio:.2f}x (target <= 1.0)")
    cpu = swarm["our_cpu"]
    if cpu is not None:
        print(f"our loop thread per timed lookup: {cpu['us_per_lookup']:.0f} us of CPU for {cpu['sent_per_lookup']:.1f} "
              f"queries sent and {cpu['answered_per_lookup']:.1f} answered by our nodes: {cpu['us_per_rpc']:.1f} us per RPC")
    passed = {"RPCs per lookup <= 1.0x libtorrent's": rpc_ratio <= 1.0,
              "median lookup time <= 1.0x libtorrent's": time_ratio <= 1.0,
              "every lookup found the peer": ours["found"] == ours["lookups"]}
    for what, ok in passed.items():
        print(f"{'PASS' if ok else 'FAIL'} {what}")
    pings = ping_throughput(args)
    print(f"ping answers/s from one client, {args.window} outstanding: ours {pings['ours_pings_per_s']:,.0f}, "
          f"libtorrent {pings['libtorrent_pings_per_s']:,.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"swarm": swarm, "pings": pings,
                                               "rpc_ratio": rpc_ratio, "time_ratio": time_ratio}, indent=2))
    if args.strict and not all(passed.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
