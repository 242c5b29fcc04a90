"""A dual-stack Mainline lab (IPv4 and IPv6 on every node) against an IPv4-only one, same run.

For each kind a fresh worker process forms a :class:`dht.Lab` of ``--nodes``
Mainline nodes and measures:

* **form**: wall time of ``lab.start()`` (dual: the formation on the IPv4
  sides, then every IPv6 side's join through the first node's, 32 at a time);
* **mem/node**: the worker's RSS after formation and ``--settle`` seconds of
  quiet, minus its RSS before the first node was made (after a 2-node
  warm-up lab, so one-time costs are not counted per node), divided by N;
* **tables**: the median contacts per table, per family;
* **found**: ``--lookups`` get_peers from random nodes for an info-hash
  announced by another: lookups that found the announcer (dual: both of its
  addresses).

The IPv4-only lab is the baseline (each node on its own 127.x.y.z); the dual
lab's nodes are the same plus an IPv6 side each on ::1 (IPv6's one loopback
address, per-IP limits relaxed for it as for a shared IPv4 address).

    python -m bench.bench_dual_lab [--nodes 500] [--lookups 20] [--settle 2] [--json FILE]

Loopback only; every wait is bounded; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from dht import Config, Lab

CONFIG = Config(PROFILE="mainline", KRPC_TIMEOUT=2.0)


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def contacts(node: Any, family: str) -> int:
    return sum(len(b.contacts) for b in node.routing_table_of(family))


async def measure(nodes: int, dual: bool, lookups: int, settle: float) -> dict[str, Any]:
    warm = Lab(2, CONFIG, host6="::1" if dual else None)
    await warm.start()
    await warm.stop()
    before = rss_bytes()
    lab = Lab(nodes, CONFIG, host6="::1" if dual else None)
    t0 = time.perf_counter()
    await lab.start()
    formed = time.perf_counter() - t0
    try:
        await asyncio.sleep(settle)
        mem = (rss_bytes() - before) / nodes
        families = lab.nodes[0].families
        tables = {f: statistics.median(contacts(n, f) for n in lab.nodes) for f in families}
        rng = random.Random(1)
        found = 0
        for _ in range(lookups):
            announcer, asker = rng.sample(lab.nodes, 2)
            info_hash = os.urandom(20)
            await announcer.announce_peer(info_hash, 6881)
            peers = set((await asker.get_peers(info_hash)).peers)
            wanted = {(a[0], 6881) for a in (announcer.address_of(f) for f in families) if a is not None}
            found += wanted <= peers
        return {"nodes": nodes, "dual": dual, "form_s": formed, "mem_per_node_kib": mem / 1024,
                "tables": tables, "found": found, "lookups": lookups}
    finally:
        await lab.stop()


def worker(conn: Any, nodes: int, dual: bool, lookups: int, settle: float) -> None:
    conn.send(asyncio.run(measure(nodes, dual, lookups, settle)))


def run_kind(nodes: int, dual: bool, lookups: int, settle: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    proc = ctx.Process(target=worker, args=(theirs, nodes, dual, lookups, settle), daemon=True)
    proc.start()
    try:
        if not ours.poll(900):
            raise TimeoutError("the worker did not finish in 900 s")
        result: dict[str, Any] = ours.recv()
        return result
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--lookups", type=int, default=20)
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    rows = [run_kind(args.nodes, dual, args.lookups, args.settle) for dual in (False, True)]
    print(f"{'lab':10} {'nodes':>6} {'form s':>8} {'mem/node KiB':>13} {'table (median)':>22} {'found':>7}")
    for r in rows:
        tables = ", ".join(f"{f} {n:.0f}" for f, n in r["tables"].items())
        print(f"{'dual' if r['dual'] else 'IPv4 only':10} {r['nodes']:>6} {r['form_s']:>8.1f} "
              f"{r['mem_per_node_kib']:>13.0f} {tables:>22} {r['found']:>3}/{r['lookups']:<3}")
    base, dual = rows
    print(f"dual / IPv4 only: formation {dual['form_s'] / base['form_s']:.2f}x, "
          f"memory per node {dual['mem_per_node_kib'] / base['mem_per_node_kib']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
