"""Deep labs: memory per node, open files, formation time and buckets per table at size.

For each profile and size a fresh worker process forms a :class:`dht.Lab` of N
nodes and measures:

* **mem/node**: the worker's RSS after formation and ``--settle`` seconds of
  quiet, minus its RSS before the lab was made (after a 2-node warm-up lab),
  divided by N (the lab's database is on tmpfs, outside the RSS);
* **fd/node**: the worker's open files after formation, per node;
* **form**: wall time of ``lab.start()``;
* **buckets**: buckets per routing table (mean, max) and contacts per node;
* **K closest**: nodes whose table holds all of their K closest (checked
  against every node's id; sampled: ``--check`` nodes, 0 for all);
* **socket**: whether the lab's nodes share one socket (:mod:`dht.rpc.shared_port`;
  ``--shared`` auto / yes / no; auto shares from 5,000 nodes on).

``--baseline-tree DIR`` runs the same workers on the ``dht`` of another checkout
(a worktree of main, say) in the same run, alternating, and prints the ratio
of memory per node (this one / baseline).  ``--top N`` also prints the
``N`` source lines that hold the most bytes per node (tracemalloc: slower,
and its RSS is not comparable).

    python -m bench.bench_depth [--profiles mainline,khashmir] [--sizes 2000,10000]
        [--shared auto|yes|no] [--baseline-tree DIR] [--settle 2] [--check 500] [--json FILE]

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
import statistics
import subprocess
import sys
import time
from typing import Any
from bench.memory import rss_bytes

#: Memory per node the issue asks for (bytes).
TARGET_PER_NODE = 30 * 1024




def k_closest_held(nodes: list[Any], k: int, sample: int, rng: random.Random) -> tuple[int, int]:
    """(checked nodes whose table holds all of their k closest, nodes checked)."""
    ids = [int.from_bytes(n.id, "big") for n in nodes]
    chosen = range(len(nodes)) if sample <= 0 or sample >= len(nodes) else rng.sample(range(len(nodes)), sample)
    complete = 0
    for i in chosen:
        me = ids[i]
        known = {int.from_bytes(c.contact.id, "big") for b in nodes[i].routing_table() for c in b.contacts}
        closest = heapq.nsmallest(k, (x for x in ids if x != me), key=lambda x: x ^ me)
        complete += all(x in known for x in closest)
    return complete, len(chosen)


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    from dht import Config, Lab


    config = Config(PROFILE=args.profile)
    warm = Lab(2, config)
    await warm.start()
    await warm.stop()
    gc.collect()
    if args.top:
        import tracemalloc

        tracemalloc.start(1)
    before = rss_bytes()
    shared = {"auto": None, "yes": True, "no": False}[args.shared]
    kwargs: dict[str, Any] = {} if shared is None else {"shared_socket": shared}
    try:
        lab = Lab(args.size, config, seed=args.seed, **kwargs)
    except TypeError:  # a tree without the option: a socket per node
        lab = Lab(args.size, config, seed=args.seed)
    t0 = time.perf_counter()
    await lab.start()
    form_s = time.perf_counter() - t0
    await asyncio.sleep(args.settle)
    gc.collect()
    after = rss_bytes()
    fds = len(os.listdir("/proc/self/fd"))
    tables = [n.routing_table() for n in lab.nodes]
    buckets = [len(t) for t in tables]
    contacts = [sum(len(b.contacts) for b in t) for t in tables]
    held, checked = k_closest_held(lab.nodes, config.K, args.check, random.Random(args.seed))
    top: list[str] = []
    if args.top:
        import tracemalloc

        snap = tracemalloc.take_snapshot()
        for stat in snap.statistics("lineno")[: args.top]:
            top.append(f"{stat.size / args.size:8.0f} B/node {stat.count / args.size:6.1f} objects  {stat.traceback}")
    shared_port = getattr(lab, "shared_port", None)
    result = {
        "profile": args.profile, "size": args.size, "form_s": form_s, "per_node": (after - before) / args.size,
        "fd_per_node": fds / args.size, "shared": shared_port is not None,
        "buckets_mean": statistics.mean(buckets), "buckets_max": max(buckets),
        "contacts_mean": statistics.mean(contacts), "k_closest": held, "checked": checked,
        "failed": lab.formation.failed if lab.formation is not None else None, "top": top,
        "dht": os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["dht"].__file__ or ""))),
    }
    await lab.stop()
    return result


def run_worker(profile: str, size: int, args: argparse.Namespace, tree: str | None) -> dict[str, Any]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # the script by its path, in the tree measured: ``-m`` would put this tree's dht first
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--profile", profile, "--size", str(size),
           "--shared", args.shared, "--settle", str(args.settle), "--check", str(args.check),
           "--seed", str(args.seed), "--top", str(args.top)]
    env = {**os.environ, "PYTHONPATH": tree or root}
    proc = subprocess.run(cmd, cwd=tree or root, env=env, capture_output=True, text=True, timeout=args.worker_timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            result["tree"] = tree
            return result
    sys.stderr.write(proc.stderr[-3000:])
    raise RuntimeError(f"worker {profile} {size} ({tree or 'this tree'}) failed: exit {proc.returncode}")


def show(r: dict[str, Any]) -> None:
    who = "baseline" if r["tree"] else "this"
    if r["tree"] and os.path.realpath(r["dht"]) != os.path.realpath(r["tree"]):
        raise RuntimeError(f"the baseline worker ran the dht of {r['dht']}, not of {r['tree']}")
    print(f"{r['profile']:9s} {r['size']:>7,} {who:8s} form {r['form_s']:6.1f} s  "
          f"mem/node {r['per_node'] / 1024:5.1f} KB  fd/node {r['fd_per_node']:.3f}  "
          f"{'shared socket' if r['shared'] else 'socket each  '}  buckets {r['buckets_mean']:.1f} "
          f"(max {r['buckets_max']})  contacts {r['contacts_mean']:.0f}  "
          f"K closest {r['k_closest']}/{r['checked']}", flush=True)
    for line in r["top"]:
        print("    " + line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", default="mainline,khashmir")
    parser.add_argument("--sizes", default="2000,10000")
    parser.add_argument("--shared", choices=("auto", "yes", "no"), default="auto",
                        help="nodes on one shared socket (auto: from 5,000 nodes)")
    parser.add_argument("--baseline-tree", default=None, help="also run another checkout's dht, alternating")
    parser.add_argument("--settle", type=float, default=2.0, help="idle seconds before memory is measured")
    parser.add_argument("--check", type=int, default=500, help="nodes whose K closest are checked (0: all)")
    parser.add_argument("--top", type=int, default=0, help="print the N lines holding most bytes (tracemalloc)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--worker-timeout", type=float, default=1800.0, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(asyncio.run(worker(args))), flush=True)
        return 0
    results: list[dict[str, Any]] = []
    ok = True
    for size in [int(s) for s in args.sizes.split(",") if s]:
        for profile in [p for p in args.profiles.split(",") if p]:
            trees: list[str | None] = [None] + ([args.baseline_tree] if args.baseline_tree else [])
            got = {}
            for tree in trees:
                try:
                    r = run_worker(profile, size, args, tree)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    if tree is None:
                        raise
                    print(f"{profile:9s} {size:>7,} baseline {exc}", flush=True)
                    continue
                show(r)
                results.append(r)
                got[tree] = r
            mine = got[None]
            if args.baseline_tree is not None and args.baseline_tree in got:
                base = got[args.baseline_tree]
                print(f"{'':9s} {'':>7s} ratio    mem/node {mine['per_node'] / base['per_node']:.2f}x  "
                      f"form {mine['form_s'] / base['form_s']:.2f}x  "
                      f"fd/node {mine['fd_per_node'] / base['fd_per_node']:.2f}x")
            passed = mine["per_node"] <= TARGET_PER_NODE
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'} {profile} {size:,}: memory per node "
                  f"{mine['per_node'] / 1024:.1f} KB (target <= {TARGET_PER_NODE // 1024} KB)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
