"""Lab formation: how fast N nodes form a joined network, what they cost, whether it works.

For each size a fresh worker process forms a :class:`dht.Lab` of N nodes
(``lab.start()``: every node started, joined to the first and introduced to
its K closest and a few peers per bucket range, over KRPC on loopback) and
measures:

* **form**: wall time of ``lab.start()``, and its stages (nodes started,
  joined, introduced) from ``lab.formation``;
* **mem/node**: the worker's RSS after formation and ``--settle`` seconds of
  quiet, minus its RSS before the first node was made (after a 2-node
  warm-up lab, so one-time costs are not counted per node), divided by N;
  **db/node**: the size of the lab's database files (the lab's own data
  directory is on tmpfs where there is one: memory too, outside the RSS);
  **fd/node**: the worker's open files after formation / N;
* **joined**: nodes with contacts; **neighbourhood**: nodes whose table
  holds all of their K closest nodes (checked against every node's id);
* **get after store**: ``--keys`` values stored from random nodes, then one
  get per key from another random node (``--parallel`` at a time): found,
  median and p95 time.

Baseline, in the same run (``--baseline-sizes``, default 200 and 1000): the
formation the lab used before, rebuilt here from the public API on the same
addresses and the same tmpfs: each node joins the first and one random other
one after the other, then looks up its own neighbourhood and then a random
id in every bucket (16 nodes at a time), as ``Node.bootstrap`` does.

With a data directory (``--data-dir-sizes``, default: the ``--sizes``): the
same lab given a directory of its own on disk (under ``--disk``, default the
system's temporary directory), as ``dht swarm --data-dir D`` does, where
the lab keeps its one database (``lab.db``) instead of on tmpfs.

The literal target of the issue is also measured (``--swarm N``, default
2000; 0 skips): seconds from launching ``python -m dht swarm --nodes N`` to
its ready line, with and without ``--data-dir`` (a fresh directory under
``--disk``), the process's open files per node then, then SIGTERM: seconds
to exit and its exit status; ``--swarm-runs R`` times each R times
(alternating), ``--baseline-tree DIR`` times the ``dht`` of another checkout
(a worktree of main, say) the same way, alternating with this one's, and
prints the ratio of their CPU to the ready line; ``--sizes ''`` times the
swarm only.

In worker processes (``--processes P``): each of ``--sizes`` is formed as a
:class:`dht.LabProcesses` of P workers instead (and nothing else is measured),
from a fresh bench process per size: **ready** (wall time of ``start()``),
**mem/node** (the workers' RSS summed after ``--settle`` seconds, minus that of
the same P workers with one node each, / N), **fd/node**, **buckets** per table
and whether each node of a sample (``--sample``, default 300) holds all of its
K closest, its table read over the pipe (``inspect``).

    python -m bench.bench_lab [--sizes 200,1000,2000,5000] [--baseline-sizes 200,1000]
        [--data-dir-sizes 200,2000] [--disk DIR] [--keys 200] [--parallel 5] [--settle 2]
        [--swarm 2000] [--swarm-runs 1] [--baseline-tree DIR] [--json FILE] [--strict]
    python -m bench.bench_lab --processes 2 --sizes 2000,10000 [--sample 300] [--settle 2]

Loopback only; every loop is bounded; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from bench.memory import rss_bytes

TARGET_FORM_S = 30.0
#: Seconds 100,000 nodes in worker processes may take to be ready (issue 24).
TARGET_DEEP_S = 600.0
TARGET_SIZE = 2000
#: Seconds a bench worker may take per node of its lab (at least --worker-timeout).
WORKER_SECONDS_PER_NODE = 0.04
TARGET_MEM = 50 * 1024
#: ``dht swarm --nodes 2000 --data-dir D``: seconds to its ready line.
TARGET_SWARM_DATA_DIR_S = 10.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_files(pid: int | str = "self") -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0




def disk_bytes(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- the old formation, from the public API, for the baseline ------------------------

def host_of(index: int) -> str:
    """As the lab does: 127.0.0.2 upwards, skipping .0 and .255 (and 127.0.0.1)."""
    n = index + 1
    return f"127.{n // (254 * 256) % 256}.{n // 254 % 256}.{n % 254 + 1}"


class OldLab:
    """N nodes formed as the lab did before: joins, then lookups."""

    def __init__(self, size: int, config: Any) -> None:
        from dht import Node

        shm = Path("/dev/shm")
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.data_dir = Path(tempfile.mkdtemp(prefix="bench-oldlab-", dir=where))
        self.nodes = [
            Node(config, host=host_of(i), port=0, data_dir=self.data_dir / f"node-{i:03d}") for i in range(size)
        ]

    async def start(self) -> None:
        nodes = self.nodes
        await asyncio.gather(*(n.start() for n in nodes))
        first = nodes[0]
        for n in nodes[1:]:
            peers = {first.address, random.choice(nodes).address}
            peers.discard(n.address)
            for address in peers:
                await n.join(*address)
        sem = asyncio.Semaphore(16)

        async def settle(n: Any) -> None:
            async with sem:
                own = n.id
                await n.find_node(own[:-1] + bytes([(own[-1] + 1) % 256]))

        await asyncio.gather(*(settle(n) for n in nodes))

        async def refresh(n: Any) -> None:
            async with sem:
                for bucket in n.routing_table():
                    await n.find_node(random.randrange(bucket.lo, bucket.hi).to_bytes(20, "big"))

        await asyncio.gather(*(refresh(n) for n in nodes))

    async def stop(self) -> None:
        import shutil

        await asyncio.gather(*(n.stop() for n in self.nodes), return_exceptions=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


# --- one worker: form, measure, use ---------------------------------------------------

def neighbourhoods(nodes: list[Any], k: int) -> tuple[int, int]:
    """(nodes holding all of their k closest, nodes with contacts)."""
    ids = [int.from_bytes(n.id, "big") for n in nodes]
    complete = joined = 0
    for n, me in zip(nodes, ids):
        known = {int.from_bytes(c.contact.id, "big") for b in n.routing_table() for c in b.contacts}
        joined += bool(known)
        closest = heapq.nsmallest(k, (i for i in ids if i != me), key=lambda i: i ^ me)
        complete += all(i in known for i in closest)
    return complete, joined


def table_shape(nodes: list[Any]) -> dict[str, float]:
    """Buckets per table and contacts per node: mean, min and max over the lab's nodes."""
    buckets, contacts = [], []
    for n in nodes:
        table = n.routing_table()
        buckets.append(len(table))
        contacts.append(sum(len(b.contacts) for b in table))
    return {"buckets_mean": statistics.mean(buckets), "buckets_min": min(buckets), "buckets_max": max(buckets),
            "contacts_mean": statistics.mean(contacts), "contacts_min": min(contacts),
            "contacts_max": max(contacts)}


async def use(nodes: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    from dht import key_from_text

    rnd = random.Random(args.seed)
    texts = [f"lab bench key {i}" for i in range(args.keys)]
    values = [b"lab bench value %d" % i for i in range(args.keys)]
    stored = 0
    for i in range(0, args.keys, args.parallel):
        batch = range(i, min(i + args.parallel, args.keys))
        results = await asyncio.gather(
            *(rnd.choice(nodes).store_value(key_from_text(texts[j]), values[j]) for j in batch)
        )
        stored += sum(1 for r in results if r.accepted)

    async def get(j: int) -> tuple[bool, float]:
        t0 = time.perf_counter()
        try:
            found = await asyncio.wait_for(rnd.choice(nodes).get_value(key_from_text(texts[j])), 60)
        except asyncio.TimeoutError:
            return False, time.perf_counter() - t0
        return values[j] in found, time.perf_counter() - t0

    outcomes: list[tuple[bool, float]] = []
    for i in range(0, args.keys, args.parallel):
        outcomes += await asyncio.gather(*(get(j) for j in range(i, min(i + args.parallel, args.keys))))
    times = [t for _, t in outcomes]
    return {
        "stored": stored,
        "found": sum(1 for ok, _ in outcomes if ok),
        "gets": len(outcomes),
        "median_s": statistics.median(times),
        "p95_s": percentile(times, 0.95),
    }


async def workload(args: argparse.Namespace) -> dict[str, Any]:
    from dht import Config, Lab

    config = Config()
    warm = Lab(2, config)
    await warm.start()
    await warm.stop()
    gc.collect()
    rss0 = rss_bytes()
    size = args.size
    fds0 = open_files()
    directory = tempfile.mkdtemp(prefix="bench-lab-", dir=args.disk) if args.data_dir else None
    t0 = time.perf_counter()
    lab: Any = Lab(size, config, data_dir=directory) if args.worker == "lab" else OldLab(size, config)
    await lab.start()
    form_s = time.perf_counter() - t0
    fds = (open_files() - fds0) / size
    await asyncio.sleep(args.settle)
    gc.collect()
    mem = (rss_bytes() - rss0) / size
    db = disk_bytes(lab.data_dir) / size
    complete, joined = neighbourhoods(lab.nodes, config.K)
    shape = table_shape(lab.nodes)
    stages = None
    if args.worker == "lab" and lab.formation is not None:
        f = lab.formation
        stages = {"started_s": f.started_s, "joined_s": f.joined_s, "introduced_s": f.introduced_s,
                  "requests": f.requests, "failed": f.failed}
    gets = await use(lab.nodes, args)
    t1 = time.perf_counter()
    await lab.stop()
    stop_s = time.perf_counter() - t1
    if directory is not None:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    return {
        "mode": args.worker, "size": size, "form_s": form_s, "stages": stages, "mem_per_node": mem,
        "db_per_node": db, "complete": complete, "joined": joined, "gets": gets, "data_dir": args.data_dir,
        "fds_per_node": fds, "stop_s": stop_s, "shape": shape,
    }


def pid_rss(pid: int | None) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


async def procs_workload(args: argparse.Namespace) -> dict[str, Any]:
    """A lab of ``args.size`` nodes in ``args.processes`` worker processes (see the docstring)."""
    from dht import Config, LabProcesses

    config = Config()
    p = args.processes
    warm = LabProcesses(p, config, processes=p, niceness=args.niceness)  # one node a worker: the workers' own cost
    await warm.start()
    await asyncio.sleep(args.settle)
    base = sum(pid_rss(pid) for pid in warm.pids)
    await warm.stop()
    size = args.size
    labs = LabProcesses(size, config, processes=p, niceness=args.niceness)
    t0 = time.perf_counter()
    await labs.start()
    ready_s = time.perf_counter() - t0
    fds = sum(open_files(pid or 0) for pid in labs.pids) / size
    await asyncio.sleep(args.settle)
    rss = sum(pid_rss(pid) for pid in labs.pids)
    infos = await labs.overview()
    ids = [int.from_bytes(i.id, "big") for i in infos]
    sample = random.Random(args.seed).sample(infos, min(args.sample, len(infos)))
    complete = 0
    for i in range(0, len(sample), 50):
        views = await asyncio.gather(*(labs.inspect(info.id) for info in sample[i : i + 50]))
        for view in views:
            me = int.from_bytes(view.info.id, "big")
            known = {int.from_bytes(c.contact.id, "big") for b in view.routing for c in b.contacts}
            closest = heapq.nsmallest(config.K, (x for x in ids if x != me), key=lambda x: x ^ me)
            complete += all(x in known for x in closest)
    buckets = [i.buckets for i in infos]
    t1 = time.perf_counter()
    await labs.stop()
    return {"mode": "procs", "size": size, "processes": labs.processes, "ready_s": ready_s,
            "rss": rss, "mem_per_node": (rss - base) / size, "fds_per_node": fds, "sampled": len(sample),
            "complete": complete, "joined": sum(1 for i in infos if i.contacts),
            "buckets_mean": statistics.mean(buckets), "buckets_min": min(buckets), "buckets_max": max(buckets),
            "contacts_mean": statistics.mean(i.contacts for i in infos), "stop_s": time.perf_counter() - t1,
            "load": os.getloadavg()[0], "timings": labs.timings, "crossing": labs.crossing}


def report_procs(results: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    print(f"Labs in worker processes (dht.LabProcesses, --processes {args.processes}, workers' niceness "
          f"{args.niceness}); K closest checked on a sample of {args.sample} nodes")
    print()
    head = (f"{'size':>6} {'procs':>5} {'ready':>7} {'mem/node':>9} {'RSS':>8} {'fd/node':>7} {'buckets':>14} "
            f"{'contacts':>8} {'joined':>13} {'K closest':>11} {'stop':>5} {'load':>5}")
    print(head)
    print("-" * len(head))
    ok = True
    for r in results:
        n = r["size"]
        print(f"{n:>6} {r['processes']:>5} {r['ready_s']:>6.1f}s {r['mem_per_node'] / 1024:>7.1f}KB "
              f"{r['rss'] / 2**20:>6.0f}MB {r['fds_per_node']:>7.2f} {r['buckets_mean']:>5.2f} "
              f"[{r['buckets_min']:>2}-{r['buckets_max']:>2}] {r['contacts_mean']:>8.1f} {r['joined']:>6}/{n:<6} "
              f"{r['complete']:>4}/{r['sampled']:<4}  {r['stop_s']:>4.1f}s {r['load']:>5.2f}")
    print("ready: LabProcesses.start(); mem/node: the workers' RSS, minus that of the same workers with one"
          " node each, / N; RSS: the workers' together")
    print()
    for r in results:
        crossing, planned = r.get("crossing", (0, 0))
        steps = ", ".join(f"{name} {secs:.1f}" for name, secs in r.get("timings", {}).items())
        print(f"{r['size']:>6}: seconds of each step: {steps}; introductions and joins crossing between"
              f" workers {crossing}/{planned} ({crossing / max(1, planned):.0%})")
    print()
    for r in results:
        n = r["size"]
        checks = [(f"{n:>6} nodes in {r['processes']} processes: every node joined, the sample with all its K closest",
                   r["joined"] == n and r["complete"] == r["sampled"], f"{r['joined']}/{n}, {r['complete']}/{r['sampled']}")]
        if n == 10_000:
            checks.append((f"{n:>6} nodes in {r['processes']} processes: ready within {TARGET_FORM_S:.0f} s",
                           r["ready_s"] <= TARGET_FORM_S, f"{r['ready_s']:.1f} s"))
        if n == 100_000:
            checks.append((f"{n:>6} nodes in {r['processes']} processes: ready within {TARGET_DEEP_S / 60:.0f} min",
                           r["ready_s"] <= TARGET_DEEP_S, f"{r['ready_s']:.1f} s"))
        for name, good, detail in checks:
            ok &= good
            print(f"{'PASS' if good else 'FAIL'}  {name:<80} {detail}")
    return ok


def run_worker(mode: str, size: int, args: argparse.Namespace, data_dir: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bench_lab", "--worker", mode, "--size", str(size),
           "--keys", str(args.keys), "--parallel", str(args.parallel), "--settle", str(args.settle),
           "--seed", str(args.seed), "--processes", str(args.processes), "--sample", str(args.sample),
           "--niceness", str(args.niceness)]
    if data_dir:
        cmd += ["--data-dir"] + (["--disk", args.disk] if args.disk else [])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    t0 = time.perf_counter()
    # A bound that grows with the lab (100,000 nodes on a loaded machine take more than 15 minutes).
    timeout = max(args.worker_timeout, WORKER_SECONDS_PER_NODE * size)
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            result["worker_s"] = time.perf_counter() - t0
            return result
    sys.stderr.write(proc.stderr[-4000:])
    raise RuntimeError(f"worker {mode} {size} failed with exit code {proc.returncode}")


def time_swarm(size: int, timeout: float, disk: str | None = None, tree: str | None = None) -> dict[str, Any]:
    """Seconds from launching ``python -m dht swarm --nodes N`` (with ``--data-dir``, a
    fresh directory under ``disk``, when given) to its ready line; open files then.
    ``tree``: run the ``dht`` of that checkout instead of this one's (a baseline)."""
    import shutil

    root = tree or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "dht", "swarm", "--nodes", str(size)]
    directory = tempfile.mkdtemp(prefix="bench-swarm-", dir=disk or None) if disk is not None else None
    if directory is not None:
        cmd += ["--data-dir", directory]
    env = {**os.environ, "PYTHONPATH": root}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # the ready line (or "" if it died)
        ready_s = time.perf_counter() - t0
        cpu_s = cpu_seconds(proc.pid)
        rss = 0
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                rss = next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
        fds = open_files(proc.pid)
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=timeout)
        return {"size": size, "ready_s": ready_s, "line": line, "rss": rss, "status": proc.returncode, "tree": tree,
                "stderr": err.strip()[-500:], "data_dir": directory is not None, "fds": fds,
                "stop_s": time.perf_counter() - t1, "load": os.getloadavg()[0], "cpu_s": cpu_s}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def report(results: list[dict[str, Any]], swarms: list[dict[str, Any]], args: argparse.Namespace) -> bool:
    from dht import Config

    k = Config().K
    print(f"Lab formation: {args.keys} keys stored then got per size, {args.parallel} at a time; K={k}")
    print()
    head = (f"{'size':>5} {'formation':<9} {'form':>7} {'start':>6} {'join':>5} {'intro':>6} {'req/node':>8} "
            f"{'mem/node':>8} {'db/node':>7} {'fd/node':>7} {'stop':>5} {'joined':>11} {'neighbourhood':>13} | "
            f"{'get after store':>15} {'median':>7} {'p95':>7} | {'wall':>5}")
    print(head)
    print("-" * len(head))
    for r in results:
        s, g, n = r["stages"], r["gets"], r["size"]
        stages = (f"{s['started_s']:>5.1f}s {s['joined_s']:>4.1f}s {s['introduced_s']:>5.1f}s "
                  f"{s['requests'] / n:>8.1f}") if s else f"{'':>6} {'':>5} {'':>6} {'':>8}"
        kind = ("new+dir" if r.get("data_dir") else "new") if r["mode"] == "lab" else "old"
        print(f"{n:>5} {kind:<9} {r['form_s']:>6.1f}s {stages} "
              f"{r['mem_per_node'] / 1024:>6.1f}KB {r['db_per_node'] / 1024:>5.1f}KB "
              f"{r.get('fds_per_node', float('nan')):>7.2f} {r.get('stop_s', float('nan')):>4.1f}s "
              f"{r['joined']:>5}/{n:<5} {100 * r['complete'] / n:>12.1f}% | "
              f"{g['found']:>5}/{g['gets']:<4} {100 * g['found'] / g['gets']:>4.0f}% "
              f"{g['median_s'] * 1000:>6.0f} {g['p95_s'] * 1000:>7.0f} | {r['worker_s']:>4.0f}s")
    print("new: Lab.start (join the first, introductions); new+dir: the same with a data directory on disk;"
          " old: join the first and a random other, then a lookup"
          " of the own neighbourhood and one per bucket (the lab's formation before);\nform: wall time of the"
          " formation; start/join/intro: its stages; req/node: requests sent per node while forming (new);"
          " mem/node: RSS growth / N;\ndb/node: database files / N (on tmpfs: memory outside the RSS);"
          " fd/node: open files / N; stop: Lab.stop;"
          " neighbourhood: nodes holding all of their K closest; median/p95: get time in ms")
    print()
    print("Tables once formed (the lab's look: buckets per table, contacts per node, mean [min-max]):")
    for r in results:
        shape = r.get("shape")
        if shape:
            kind = ("new+dir" if r.get("data_dir") else "new") if r["mode"] == "lab" else "old"
            print(f"{r['size']:>5} {kind:<9} buckets {shape['buckets_mean']:>5.2f} "
                  f"[{shape['buckets_min']}-{shape['buckets_max']}]  contacts {shape['contacts_mean']:>6.2f} "
                  f"[{shape['contacts_min']}-{shape['contacts_max']}]")
    for swarm in swarms:
        print()
        given = f" --data-dir {args.disk or tempfile.gettempdir()}/..." if swarm["data_dir"] else ""
        if swarm.get("tree"):
            given += f" (baseline: {swarm['tree']})"
        print(f"python -m dht swarm --nodes {swarm['size']}{given}: ready line after {swarm['ready_s']:.1f} s "
              f"({swarm['cpu_s']:.1f} s of CPU) "
              f"({swarm['line']!r}), {swarm['fds'] / swarm['size']:.2f} open files per node, "
              f"RSS {swarm['rss'] / 2**20:.0f} MB = {swarm['rss'] / swarm['size'] / 1024:.0f} KB"
              f" per node (whole process), SIGTERM -> exit {swarm['status']} after {swarm['stop_s']:.1f} s"
              f" (load average {swarm['load']:.2f})")
    for dd in (True, False):
        ours = [x["cpu_s"] for x in swarms if x["data_dir"] == dd and not x.get("tree")]
        theirs = [x["cpu_s"] for x in swarms if x["data_dir"] == dd and x.get("tree")]
        walls = [x["ready_s"] for x in swarms if x["data_dir"] == dd and not x.get("tree")]
        base_walls = [x["ready_s"] for x in swarms if x["data_dir"] == dd and x.get("tree")]
        if ours and theirs:
            print(f"\nswarm{' --data-dir' if dd else ''}, this tree / the baseline, medians of {len(ours)}: "
                  f"CPU to the ready line {statistics.median(ours):.1f} / {statistics.median(theirs):.1f} s = "
                  f"{statistics.median(ours) / statistics.median(theirs):.2f} x; ready "
                  f"{statistics.median(walls):.1f} / {statistics.median(base_walls):.1f} s")
    print()
    ok_all = True
    checks: list[tuple[str, bool, str]] = []
    for r in (x for x in results if x["mode"] == "lab"):
        n, g = r["size"], r["gets"]
        checks.append((f"{n:>5} nodes  every node joined, with all of its K closest",
                       r["joined"] == n and r["complete"] == n, f"{r['joined']}/{n}, {r['complete']}/{n}"))
        checks.append((f"{n:>5} nodes  memory per node <= 50 KB (RSS)", r["mem_per_node"] <= TARGET_MEM,
                       f"{r['mem_per_node'] / 1024:.1f} KB (+{r['db_per_node'] / 1024:.1f} KB database files)"))
        checks.append((f"{n:>5} nodes  >= 99% of gets after a store find the value", g["found"] >= 0.99 * g["gets"],
                       f"{g['found']}/{g['gets']}"))
        if n == TARGET_SIZE:
            checks.append((f"{n:>5} nodes  formed within {TARGET_FORM_S:.0f} s", r["form_s"] <= TARGET_FORM_S,
                           f"{r['form_s']:.1f} s"))
        old = next((x for x in results if x["mode"] == "old" and x["size"] == n), None)
        if old is not None:
            checks.append((f"{n:>5} nodes  new formation faster than the old (ratio)", r["form_s"] < old["form_s"],
                           f"{r['form_s']:.1f} s vs {old['form_s']:.1f} s = {r['form_s'] / old['form_s']:.2f} x"))
    for swarm in (x for x in swarms if not x.get("tree")):
        dd, target = (" --data-dir", TARGET_SWARM_DATA_DIR_S) if swarm["data_dir"] else ("", TARGET_FORM_S)
        if swarm["data_dir"] and swarm["size"] != TARGET_SIZE:
            target = TARGET_FORM_S
        checks.append((f"dht swarm --nodes {swarm['size']}{dd}: ready line within {target:.0f} s, clean exit",
                       swarm["ready_s"] <= target and swarm["status"] == 0 and bool(swarm["line"]),
                       f"{swarm['ready_s']:.1f} s, exit {swarm['status']}"))
    for name, ok, detail in checks:
        ok_all &= ok
        print(f"{'PASS' if ok else 'FAIL'}  {name:<62} {detail}")
    return ok_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,1000,2000,5000", help="lab sizes (default 200,1000,2000,5000)")
    parser.add_argument("--baseline-sizes", default="200,1000",
                        help="sizes formed the old way too (default 200,1000; '' for none)")
    parser.add_argument("--keys", type=int, default=200, help="values stored and got per size (default 200)")
    parser.add_argument("--parallel", type=int, default=5, help="stores/gets at a time (default 5)")
    parser.add_argument("--settle", type=float, default=2.0, help="idle seconds before memory is measured")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir-sizes", default=None,
                        help="sizes formed with a data directory on disk too (default: --sizes; '' for none)")
    parser.add_argument("--disk", default=None,
                        help="where data directories are made (default: the system's temporary directory)")
    parser.add_argument("--swarm", type=int, default=2000,
                        help="time `dht swarm --nodes N`, with and without --data-dir, too (0: don't)")
    parser.add_argument("--swarm-runs", type=int, default=1,
                        help="times each swarm is timed, alternating with and without --data-dir (default 1)")
    parser.add_argument("--baseline-tree", default=None,
                        help="a checkout (e.g. a worktree of main) whose `dht swarm` is timed too, alternating")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--worker-timeout", type=float, default=900.0, help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=0,
                        help="form each of --sizes in this many worker processes instead (dht.LabProcesses)")
    parser.add_argument("--niceness", type=int, default=0,
                        help="with --processes: added to the workers' nice value (default 0, as dht swarm's;"
                             " the window's labs use 5)")
    parser.add_argument("--sample", type=int, default=300,
                        help="with --processes: nodes whose K closest are checked (default 300)")
    parser.add_argument("--worker", choices=("lab", "old", "procs"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        job = procs_workload(args) if args.worker == "procs" else workload(args)
        print("RESULT " + json.dumps(asyncio.run(job)), flush=True)
        return 0
    if args.processes:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        if not 1 <= args.processes <= 64 or not sizes or min(sizes) < args.processes or max(sizes) > 100_000 \
                or args.sample < 1:
            parser.error("--processes must be in [1, 64], sizes in [processes, 100000], --sample >= 1")
        results = []
        for size in sizes:
            results.append(run_worker("procs", size, args))
            print(f"procs {size} nodes done (load average {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"procs": results}, f, indent=1)
        return 0 if report_procs(results, args) or not args.strict else 1
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    baseline = [int(s) for s in args.baseline_sizes.split(",") if s.strip()]
    on_disk = sizes if args.data_dir_sizes is None else [int(s) for s in args.data_dir_sizes.split(",") if s.strip()]
    every = sizes + baseline + on_disk
    if not (sizes or args.swarm) or (every and (min(every) < 2 or max(every) > 10_000)) \
            or not 1 <= args.keys <= 2000:
        parser.error("sizes must be in [2, 10000] (--sizes '' times the swarm only), --keys in [1, 2000]")
    if not 0 <= args.swarm <= 10_000 or args.parallel < 1 or not 1 <= args.swarm_runs <= 20:
        parser.error("--swarm must be in [0, 10000], --swarm-runs in [1, 20], --parallel >= 1")
    results = []
    t0 = time.perf_counter()
    for size in sorted(set(sizes) | set(baseline) | set(on_disk)):
        for mode, data_dir in (("lab", False), ("lab", True), ("old", False)):
            wanted = on_disk if data_dir else sizes if mode == "lab" else baseline
            if size in wanted:
                results.append(run_worker(mode, size, args, data_dir))
                print(f"[{time.perf_counter() - t0:.0f}s] {mode}{' with a data dir' if data_dir else ''} {size} nodes"
                      f" done (load average {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
    trees = [None] + ([os.path.abspath(args.baseline_tree)] if args.baseline_tree else [])
    swarms = [time_swarm(args.swarm, 600.0, disk, tree) for _ in range(args.swarm_runs)
              for disk in (args.disk or "", None) for tree in trees] if args.swarm else []
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"labs": results, "swarms": swarms}, f, indent=1)
    ok = report(results, swarms, args)
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
