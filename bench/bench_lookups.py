"""Lookups in labs of 200 and 500 nodes: dht (Khashmir) against bmuller's kademlia.

For each lab size and each implementation, a fresh worker process starts N
nodes on one asyncio loop on loopback (our :class:`dht.Lab`, each node on
its own 127.0.x.y, joined to the first and introduced to its K closest and
a few peers per bucket range; for kademlia N ``kademlia.network.Server``
listening on 127.0.0.1 port 0, each bootstrapped to the first server and
one random other), then runs the same workload:

1. ``--keys`` stores (``--parallel`` at a time), each from a random node:
   ``node.store_value(sha1(text), value)`` / ``server.set(text, value)`` --
   both hash the same text with SHA-1, so the keys are the same;
2. one get per key from a random node (all alive): success (the stored value
   is among those returned), time, RPCs the getting node sent meanwhile.
   dht's get is the seed's: find_value to its end, then get_value from the
   holders among the closest (RETRIEVE_VALUES -10000: the closest
   STORE_REDUNDANCY holders); kademlia's ``get`` stops at the first value;
3. a quarter of the nodes killed (never the first: ``Lab.kill_node`` /
   ``server.stop()``), then one get per key again from a random live node.

Node choices come from one seeded generator, so both implementations get
the same sequence of (node index, key).  Gets run ``--parallel`` at a time,
on distinct nodes, so a node's request counter only sees its own get.

RPCs are the requests (queries) the getting node put on the wire during its
get: for dht the ``sent`` counters of its stats, for kademlia every datagram
of type request (first byte 0) through its socket, counted by a wrapper
around the protocol's transport.  A node asking itself is no RPC.

Memory per node: the worker process's resident set size (VmRSS) after the
nodes are started and the values stored, minus that before the first node
was created (but after a 2-node warm-up network was started and stopped,
so one-time costs such as lazy imports and SQLite's initialisation are not
counted per node), divided by N -- the same measure for both (dht's SQLite page
caches and files are C memory that tracemalloc would not see), measured
once the lab has been idle for ``--settle`` seconds (default 3).

Timeouts: dht uses its defaults unless ``--krpc-timeout`` is given
(KRPC_TIMEOUT 20 s, lookups move on from a silent node after the soft
timeout: srtt + 4 rttvar, clamped to [SOFT_TIMEOUT_MIN 0.05 s,
SOFT_TIMEOUT_MAX 2 s]); kademlia uses its own (rpcudp waits 5 s; ksize 20,
alpha 3).

    python -m bench.bench_lookups [--sizes 200,500] [--keys 50] [--parallel 5]

With ``--conditions none|public`` (``--loss``, ``--trials``) it measures
instead, with dht alone, store-then-get trials in a lab under those
conditions (:mod:`bench.lookup_trials`):

    python -m bench.bench_lookups --conditions public --loss 0.05 [--trials 200] [--sizes 200]

Besides the default dht (STORE_REDUNDANCY 3, the protocol's), each size is
also run with dht storing at ``--also-redundancy`` nodes (default 8 = K, as
BEP 5 practice stores at the K closest; 0 skips it), and the expected loss
with a quarter dead, P(all r holders dead) = 0.25^r, is printed for both.

Loopback only; every request loop is bounded; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from typing import Any, Awaitable, Callable
from bench.memory import rss_bytes

TARGETS = (
    "every get finds the value with all nodes alive",
    ">= 99% of gets find it with a quarter dead",
    "RPCs per get <= kademlia's",
    "median get with a quarter dead <= 0.2 x kademlia's",
    "memory per node <= 2 x kademlia's",
)




def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- the workload, common to both implementations ---------------------------------

class Impl:
    """What the workload needs from an implementation (one per worker process)."""

    name = ""

    async def start(self, size: int) -> None: ...
    async def warm_up(self) -> None: ...
    def count(self) -> int: ...
    def alive(self) -> list[int]: ...
    def rpcs_sent(self, index: int) -> int: ...
    async def store(self, index: int, text: str, value: bytes) -> bool: ...
    async def get(self, index: int, text: str, value: bytes) -> bool: ...
    async def kill(self, index: int) -> None: ...
    async def live_holders(self, text: str, value: bytes) -> int: ...
    async def stop(self) -> None: ...


async def run_batches(items: list[Any], parallel: int, fn: Callable[[Any], Awaitable[Any]]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(items), parallel):
        out.extend(await asyncio.gather(*(fn(x) for x in items[i : i + parallel])))
    return out


def pick_distinct(rnd: random.Random, population: list[int], count: int, parallel: int) -> list[int]:
    """``count`` random node indices, distinct within each batch of ``parallel``."""
    out: list[int] = []
    while len(out) < count:
        batch = rnd.sample(population, min(parallel, len(population), count - len(out)))
        out.extend(batch)
    return out


async def get_phase(
    impl: Impl, rnd: random.Random, texts: list[str], values: list[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    getters = pick_distinct(rnd, impl.alive(), len(texts), args.parallel)
    jobs = list(zip(getters, range(len(texts))))

    async def one(job: tuple[int, int]) -> tuple[bool, float, int]:
        index, k = job
        before = impl.rpcs_sent(index)
        t0 = time.perf_counter()
        try:
            ok = await asyncio.wait_for(impl.get(index, texts[k], values[k]), args.get_timeout)
        except asyncio.TimeoutError:
            ok = False
        elapsed = time.perf_counter() - t0
        return ok, elapsed, impl.rpcs_sent(index) - before

    t0 = time.perf_counter()
    results = await run_batches(jobs, args.parallel, one)
    wall = time.perf_counter() - t0
    times = [r[1] for r in results]
    rpcs = [r[2] for r in results]
    return {
        "ok": [r[0] for r in results],  # per key, in key order
        "gets": len(results),
        "found": sum(1 for r in results if r[0]),
        "median_s": statistics.median(times),
        "p95_s": percentile(times, 0.95),
        "max_s": max(times),
        "rpcs_mean": statistics.mean(rpcs),
        "rpcs_median": statistics.median(rpcs),
        "wall_s": wall,
    }


async def workload(impl: Impl, args: argparse.Namespace) -> dict[str, Any]:
    rnd = random.Random(args.seed)
    size = args.size
    # One-time costs (lazy imports, SQLite's and msgpack's first use) are not per node.
    await impl.warm_up()
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    await impl.start(size)
    start_s = time.perf_counter() - t0

    texts = [f"bench key {i}" for i in range(args.keys)]
    values = [b"bench value %d" % i for i in range(args.keys)]
    storers = [rnd.randrange(size) for _ in texts]
    t0 = time.perf_counter()
    before = [impl.rpcs_sent(i) for i in range(size)]
    stored = await run_batches(
        list(range(args.keys)), args.parallel, lambda k: impl.store(storers[k], texts[k], values[k])
    )
    store_s = time.perf_counter() - t0
    store_rpcs = sum(impl.rpcs_sent(i) for i in range(size)) - sum(before)
    await asyncio.sleep(args.settle)  # let late answers land and the lab go idle
    gc.collect()
    mem_per_node = (rss_bytes() - rss0) / size

    alive = await get_phase(impl, rnd, texts, values, args)
    alive.pop("ok")

    victims = rnd.sample(range(1, size), int(size * args.kill_fraction))
    for index in victims:
        await impl.kill(index)
    holders = [await impl.live_holders(t, v) for t, v in zip(texts, values)]
    dead = await get_phase(impl, rnd, texts, values, args)
    dead["killed"] = len(victims)
    dead["keys_with_live_holder"] = sum(1 for h in holders if h > 0)
    dead["found_of_live"] = sum(1 for ok, h in zip(dead.pop("ok"), holders) if ok and h > 0)

    await impl.stop()
    return {
        "failures": list(getattr(impl, "failures", [])),
        "impl": impl.name,
        "size": size,
        "start_s": start_s,
        "stored": sum(1 for s in stored if s),
        "store_s": store_s,
        "store_rpcs_mean": store_rpcs / max(1, args.keys),
        "mem_per_node": mem_per_node,
        "alive": alive,
        "dead": dead,
    }


# --- dht (ours) ----------------------------------------------------------------

class Ours(Impl):
    name = "dht"

    def __init__(self, args: argparse.Namespace) -> None:
        from dht import Config

        changes: dict[str, Any] = {}
        if args.krpc_timeout is not None:
            changes["KRPC_TIMEOUT"] = args.krpc_timeout
        if args.store_redundancy is not None:
            changes["STORE_REDUNDANCY"] = args.store_redundancy
        self.config = Config().replace(**changes)
        self.lab: Any = None
        self.nodes: list[Any] = []
        self.dead: set[int] = set()
        self.failures: list[str] = []

    async def warm_up(self) -> None:
        from dht import Lab, key_from_text

        lab = Lab(2, self.config)
        await lab.start()
        await lab.nodes[1].store_value(key_from_text("warm-up"), b"x")
        await lab.nodes[0].get_value(key_from_text("warm-up"))
        await lab.stop()

    async def start(self, size: int) -> None:
        from dht import Lab

        self.lab = Lab(size, self.config)
        await self.lab.start()
        self.nodes = list(self.lab.nodes)

    def count(self) -> int:
        return len(self.nodes)

    def alive(self) -> list[int]:
        return [i for i in range(len(self.nodes)) if i not in self.dead]

    def rpcs_sent(self, index: int) -> int:
        return sum(m.sent for m in self.nodes[index].stats().methods.values())

    async def store(self, index: int, text: str, value: bytes) -> bool:
        from dht import key_from_text
        from dht.errors import DHTError

        try:
            result = await self.nodes[index].store_value(key_from_text(text), value)
        except DHTError:
            return False
        return bool(result.accepted)

    async def get(self, index: int, text: str, value: bytes) -> bool:
        from dht import key_from_text
        from dht.errors import DHTError

        node = self.nodes[index]
        before = node.stats().methods
        try:
            found = await node.get_value(key_from_text(text))
        except DHTError as exc:
            self.failures.append(f"{text!r} from node {index}: {type(exc).__name__}: {exc}")
            return False
        if value not in found:
            after = node.stats().methods
            sent = {m: after[m].sent - before[m].sent for m in ("find_value", "get_value")}
            failed = {m: after[m].failed - before[m].failed for m in ("find_value", "get_value")}
            self.failures.append(
                f"{text!r} from node {index}: got {len(found)} value(s); live holders "
                f"{await self.live_holders(text, value)}; sent {sent}; failed {failed}"
            )
        return value in found

    async def kill(self, index: int) -> None:
        self.dead.add(index)
        await self.lab.kill_node(self.nodes[index])

    async def live_holders(self, text: str, value: bytes) -> int:
        from dht import key_from_text

        key = key_from_text(text)
        held = 0
        for i in self.alive():
            held += any(v.key == key and v.value == value for v in await self.nodes[i].stored_values())
        return held

    async def stop(self) -> None:
        await self.lab.stop()


# --- bmuller's kademlia ------------------------------------------------------------

class CountingTransport:
    """Wraps a datagram transport; counts the requests (rpcudp type byte 0) sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests = 0

    def sendto(self, data: bytes, addr: Any = None) -> None:
        if data[:1] == b"\x00":
            self.requests += 1
        self.inner.sendto(data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Theirs(Impl):
    name = "kademlia"

    def __init__(self, args: argparse.Namespace) -> None:
        for name in ("kademlia", "rpcudp"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self.servers: list[Any] = []
        self.counters: list[CountingTransport] = []
        self.dead: set[int] = set()

    async def warm_up(self) -> None:
        from kademlia.network import Server

        a, b = Server(), Server()
        await a.listen(0, interface="127.0.0.1")
        await b.listen(0, interface="127.0.0.1")
        await b.bootstrap([a.transport.get_extra_info("sockname")[:2]])
        await b.set("warm-up", b"x")
        await a.get("warm-up")
        a.stop()
        b.stop()

    async def start(self, size: int) -> None:
        from kademlia.network import Server

        rnd = random.Random(size)
        servers = [Server() for _ in range(size)]
        for s in servers:
            await s.listen(0, interface="127.0.0.1")
            counter = CountingTransport(s.protocol.transport)
            s.protocol.transport = counter
            self.counters.append(counter)
        self.servers = servers
        addrs = [s.transport.get_extra_info("sockname")[:2] for s in servers]
        sem = asyncio.Semaphore(16)

        async def boot(i: int) -> None:
            peers = {addrs[0], addrs[rnd.randrange(size)]}
            peers.discard(addrs[i])
            async with sem:
                await servers[i].bootstrap(sorted(peers))

        # Kademlia's own join: each bootstraps to the first node and one random other, 16 at a time.
        await asyncio.gather(*(boot(i) for i in range(1, size)))

    def count(self) -> int:
        return len(self.servers)

    def alive(self) -> list[int]:
        return [i for i in range(len(self.servers)) if i not in self.dead]

    def rpcs_sent(self, index: int) -> int:
        return self.counters[index].requests

    async def store(self, index: int, text: str, value: bytes) -> bool:
        return bool(await self.servers[index].set(text, value))

    async def get(self, index: int, text: str, value: bytes) -> bool:
        return bool(await self.servers[index].get(text) == value)

    async def kill(self, index: int) -> None:
        self.dead.add(index)
        self.servers[index].stop()

    async def live_holders(self, text: str, value: bytes) -> int:
        from kademlia.utils import digest

        key = digest(text)
        return sum(1 for i in self.alive() if self.servers[i].storage.get(key) == value)

    async def stop(self) -> None:
        for i in self.alive():
            self.servers[i].stop()
        await asyncio.sleep(0)
        # Cancel what kademlia leaves running (refresh crawls, pending stores).
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- driver --------------------------------------------------------------------------

def worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)
    impl: Impl = Ours(args) if args.worker == "dht" else Theirs(args)
    result = asyncio.run(workload(impl, args))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def run_worker(impl: str, size: int, args: argparse.Namespace, redundancy: int | None = None) -> dict[str, Any]:
    """One worker process; ``redundancy`` overrides dht's STORE_REDUNDANCY (and labels the row)."""
    redundancy = args.store_redundancy if redundancy is None else redundancy
    cmd = [
        sys.executable, "-m", "bench.bench_lookups", "--worker", impl, "--size", str(size),
        "--keys", str(args.keys), "--parallel", str(args.parallel), "--seed", str(args.seed),
        "--kill-fraction", str(args.kill_fraction), "--get-timeout", str(args.get_timeout),
        "--settle", str(args.settle),
    ]
    if args.krpc_timeout is not None:
        cmd += ["--krpc-timeout", str(args.krpc_timeout)]
    if redundancy is not None and impl == "dht":
        cmd += ["--store-redundancy", str(redundancy)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=args.worker_timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            result["worker_s"] = time.perf_counter() - t0
            result["label"] = impl
            if impl == "dht":
                from dht import Config

                result["redundancy"] = redundancy or Config().STORE_REDUNDANCY
                if redundancy is not None and redundancy != args.store_redundancy:
                    result["label"] = f"dht r={redundancy}"
            else:
                result["redundancy"] = 20  # kademlia's ksize: a value is stored at the 20 closest
            return result
    sys.stderr.write(proc.stderr[-4000:])
    raise RuntimeError(f"worker {impl} {size} failed with exit code {proc.returncode}")


def fmt_ms(s: float) -> str:
    return f"{s * 1000:.0f}" if s < 10 else f"{s:.1f}s"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    from dht import Config

    cfg = Config()
    print(f"Lookups: {args.keys} keys stored, then one get per key from a random node; "
          f"{args.parallel} at a time; seed {args.seed}")
    print(f"dht: K={cfg.K} CONCURRENT_REQS={cfg.CONCURRENT_REQS} "
          f"STORE_REDUNDANCY={args.store_redundancy or cfg.STORE_REDUNDANCY} RETRIEVE_VALUES={cfg.RETRIEVE_VALUES} "
          f"KRPC_TIMEOUT={args.krpc_timeout or cfg.KRPC_TIMEOUT:g}s soft timeout "
          f"[{cfg.SOFT_TIMEOUT_MIN:g}, {cfg.SOFT_TIMEOUT_MAX:g}]s;  "
          f"kademlia 2.2.3: ksize=20 alpha=3, rpcudp timeout 5s")
    print()
    head = (f"{'size':>4} {'impl':<8} {'start':>6} {'mem/node':>8} {'stored':>6} {'rpc/set':>7} | "
            f"{'found':>10} {'median':>7} {'p95':>7} {'rpc/get':>7} | "
            f"{'found':>11} {'of live':>7} {'median':>7} {'p95':>7} {'rpc/get':>7} | {'wall':>5}")
    print(f"{'':<46}| {'all nodes alive':^35} | {'a quarter of the nodes killed':^45} |")
    print(head)
    print("-" * len(head))
    for r in results:
        a, d = r["alive"], r["dead"]
        print(f"{r['size']:>4} {r.get('label', r['impl']):<8} {r['start_s']:>5.1f}s {r['mem_per_node'] / 1024:>6.0f}KB "
              f"{r['stored']:>3}/{args.keys:<2} {r['store_rpcs_mean']:>7.1f} | "
              f"{a['found']:>2}/{a['gets']:<2} {100 * a['found'] / a['gets']:>4.0f}% "
              f"{fmt_ms(a['median_s']):>7} {fmt_ms(a['p95_s']):>7} {a['rpcs_mean']:>7.1f} | "
              f"{d['found']:>2}/{d['gets']:<2} {100 * d['found'] / d['gets']:>5.1f}% "
              f"{d['found_of_live']:>3}/{d['keys_with_live_holder']:<3} "
              f"{fmt_ms(d['median_s']):>7} {fmt_ms(d['p95_s']):>7} {d['rpcs_mean']:>7.1f} | "
              f"{r['worker_s']:>4.0f}s")
    for r in results:
        for line in r.get("failures", []):
            print(f"  {r['size']} {r.get('label', r['impl'])} get failed: {line}")
    print("start: lab start-up; mem/node: RSS growth / N; rpc/set, rpc/get: requests the storing/getting node sent,"
          " mean; median/p95: get time in ms;\nof live: gets that found the value / keys that still had a live holder"
          " after the kill; wall: the worker process, start to end")
    print()
    print(f"Expected loss with {args.kill_fraction:g} of the nodes killed: a key whose r holders are all among the"
          f" dead is lost, P = {args.kill_fraction:g}^r")
    for r_ in sorted({r["redundancy"] for r in results}):
        p = args.kill_fraction ** r_
        print(f"  r={r_:<2}  P = {100 * p:.4g}% per key, {args.keys * p:.3g} of {args.keys} keys expected lost,"
              f" P(a run loses >= 1) = {100 * (1 - (1 - p) ** args.keys):.3g}%"
              f"{'  (kademlia, ksize)' if r_ == 20 else ''}")
    print()
    all_ok = True
    sizes = sorted({r["size"] for r in results})
    for size in sizes:
        ours = next((r for r in results if r["size"] == size and r["label"] == "dht"), None)
        theirs = next((r for r in results if r["size"] == size and r["impl"] == "kademlia"), None)
        if ours is None:
            continue
        checks: list[tuple[str, bool, str]] = []
        a, d = ours["alive"], ours["dead"]
        checks.append((TARGETS[0], a["found"] == a["gets"], f"{a['found']}/{a['gets']}"))
        rate = d["found"] / d["gets"]
        checks.append((TARGETS[1], rate >= 0.99, f"{100 * rate:.1f}%"))
        if theirs is not None:
            ta, td = theirs["alive"], theirs["dead"]
            ok = a["rpcs_mean"] <= ta["rpcs_mean"] and d["rpcs_mean"] <= td["rpcs_mean"]
            checks.append((TARGETS[2], ok, f"alive {a['rpcs_mean']:.1f} vs {ta['rpcs_mean']:.1f}, "
                                               f"1/4 dead {d['rpcs_mean']:.1f} vs {td['rpcs_mean']:.1f}"))
            ratio = d["median_s"] / td["median_s"] if td["median_s"] > 0 else float("inf")
            checks.append((TARGETS[3], ratio <= 0.2, f"{fmt_ms(d['median_s'])} vs {fmt_ms(td['median_s'])} ms"
                                                      f" = {ratio:.3f} x"))
            mratio = ours["mem_per_node"] / theirs["mem_per_node"] if theirs["mem_per_node"] > 0 else float("inf")
            checks.append((TARGETS[4], mratio <= 2.0, f"{ours['mem_per_node'] / 1024:.0f} KB vs "
                                                       f"{theirs['mem_per_node'] / 1024:.0f} KB = {mratio:.2f} x"))
        for extra in (r for r in results if r["size"] == size and r["label"] not in ("dht", "kademlia")):
            xd = extra["dead"]
            xrate = xd["found"] / xd["gets"]
            checks.append((f"{TARGETS[1]}, r={extra['redundancy']}", xrate >= 0.99,
                           f"{100 * xrate:.1f}%"))
        for name, ok, detail in checks:
            all_ok &= ok
            print(f"{size:>4} nodes  {'PASS' if ok else 'FAIL'}  {name:<52} {detail}")
    return all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None,
                        help="lab sizes, comma-separated (default 200,500; with --conditions 200)")
    parser.add_argument("--impl", default="both", choices=("both", "dht", "kademlia"))
    parser.add_argument("--keys", type=int, default=50, help="values stored and looked up (default 50)")
    parser.add_argument("--parallel", type=int, default=5, help="stores/gets at a time, on distinct nodes (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the node and victim choices (default 1)")
    parser.add_argument("--kill-fraction", type=float, default=0.25, help="nodes killed before the second gets")
    parser.add_argument("--krpc-timeout", type=float, default=None, help="dht KRPC_TIMEOUT (default: Config's, 20 s)")
    parser.add_argument("--store-redundancy", type=int, default=None,
                        help="dht STORE_REDUNDANCY (default: Config's, 3)")
    parser.add_argument("--also-redundancy", type=int, default=8, metavar="N",
                        help="also run dht with STORE_REDUNDANCY N (default 8 = K; 0: don't)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="idle seconds after the stores before memory is measured (default 3)")
    parser.add_argument("--get-timeout", type=float, default=120.0, help="a get slower than this fails (default 120 s)")
    parser.add_argument("--worker-timeout", type=float, default=900.0, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--conditions", choices=("none", "public"), default=None,
                        help="instead: store-then-get trials (dht alone) on a perfect network (none) or under "
                             "the public-Internet preset (public); see bench/lookup_trials.py")
    parser.add_argument("--loss", type=float, default=None,
                        help="with --conditions: the fraction of datagrams lost (default 0.05 public, 0 none)")
    parser.add_argument("--trials", type=int, default=200, help="with --conditions: trials (default 200)")
    parser.add_argument("--worker", choices=("dht", "kademlia"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.conditions is not None:
        return run_trials(parser, args)
    if args.loss is not None:
        parser.error("--loss needs --conditions none|public")
    sizes = [int(s) for s in (args.sizes or "200,500").split(",") if s.strip()]
    if not sizes or min(sizes) < 8 or max(sizes) > 2000 or not 1 <= args.keys <= 1000 or args.parallel < 1:
        parser.error("sizes must be in [8, 2000], --keys in [1, 1000], --parallel >= 1")
    from dht import Config

    impls = ["dht", "kademlia"] if args.impl == "both" else [args.impl]
    results = []
    t0 = time.perf_counter()
    for size in sizes:
        for impl in impls:
            results.append(run_worker(impl, size, args))
            print(f"[{time.perf_counter() - t0:.0f}s] {impl} {size} nodes done", file=sys.stderr, flush=True)
            extra = args.also_redundancy
            if impl == "dht" and extra > 0 and extra != (args.store_redundancy or Config().STORE_REDUNDANCY):
                results.append(run_worker(impl, size, args, redundancy=extra))
                print(f"[{time.perf_counter() - t0:.0f}s] {impl} STORE_REDUNDANCY={extra} {size} nodes done",
                      file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    ok = report(results, args)
    return 0 if ok or not args.strict else 1


def run_trials(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``--conditions``: store-then-get trials under those conditions (bench/lookup_trials.py)."""
    from bench import lookup_trials

    try:
        sizes = [int(s) for s in (args.sizes or str(lookup_trials.TRIALS_SIZE)).split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be numbers, not {args.sizes!r}")
    if not sizes or min(sizes) < 8 or max(sizes) > 2000 or not 1 <= args.trials <= 10_000 or args.parallel < 1:
        parser.error("sizes must be in [8, 2000], --trials in [1, 10000], --parallel >= 1")
    if args.loss is not None and not 0 <= args.loss < 1:
        parser.error(f"--loss must be from 0 to below 1, not {args.loss:g}")
    rows = lookup_trials.run(sizes, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    lookup_trials.report(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
