"""Crawls measured against a lab's ground truth: completeness, size estimates, Sybil detection.

Issue 21's figures, each in one run against the lab it measures (Mainline
labs on loopback, conditions from :class:`dht.Conditions`, the truth from
:class:`dht.LabTruth`).  One node outside the lab (127.0.0.1) bootstraps
from the lab and crawls it through the public API (``node.crawl``).

* **full**: a lab of ``--nodes`` (default 2,000) with 5 % loss: one full
  crawl; the share of the lab's live nodes it found (goal >= 99.5 %), the
  share it heard answer, and its seconds.
* **zone**: the same lab, then 20 % of its nodes silenced (they never
  answer, as behind a NAT) and 5 % loss: ``--trials`` (20) zone crawls of
  random prefixes of ``--zone-bits`` bits (default: the zone holds about
  500 nodes); per crawl the estimate's relative error against the lab's
  size (silent nodes included: they are part of the network), whether the
  95 % interval holds it, and the seconds (goals: median error <= 5 %,
  seconds <= 10).  Beside them, in the same lab and conditions, today's two
  estimators, ``--trials`` times each: the routing header's (a random lab
  node's ``stats().network_size``, from its 8 closest contacts) and the
  Samples panel's (a BEP 51 walk from a fresh outside node,
  ``estimate_network_size`` of the walk's closest).
* **sybil**: a lab of ``--sybil-nodes`` (500) with 5 % loss, given a
  horizontal cluster (50 ids on one IP) and a vertical one (20 ids sharing
  40 bits with a random target): ``--trials`` full crawls, each counting
  as a find when a suspicion of that kind holds at least 90 % of the
  cluster's ids; then a clean lab of the same size, ``--trials`` full
  crawls, where any suspicion is a false alarm (goals 20/20 and 0).

    python -m bench.bench_crawl [--nodes 2000] [--trials 20] [--zone-bits B]
        [--sybil-nodes 500] [--skip full,zone,sybil] [--json FILE] [--strict]

Loopback only; every loop is bounded; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dht.errors import LocalError
from dht import Conditions, Config, CrawlSpec, Lab, LabTruth, Node, estimate_network_size

GOAL_FOUND = 0.995
GOAL_MEDIAN_ERROR = 0.05
GOAL_SECONDS = 10.0
LOSS = 0.05
SILENT = 0.2
ZONE_TARGET = 500  # nodes a zone should hold, when --zone-bits is not given
HORIZONTAL, VERTICAL, SHARED_BITS = 50, 20, 40


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def outside_node(lab: Lab, tmp: Path, config: Config | None = None) -> Node:
    me = Node(config or lab.config, data_dir=tmp / f"me-{random.getrandbits(32):08x}")
    await me.start()
    for attempt in range(5):  # the bootstrap's answer may be lost (5 % loss each way)
        try:
            await me.bootstrap([lab.bootstrap_address])
            return me
        except LocalError:
            continue
    await me.stop()
    raise LocalError("the lab's bootstrap node did not answer 5 times")


async def new_lab(size: int, seed: int) -> Lab:
    lab = Lab(size, Config(PROFILE="mainline"), seed=seed)
    t0 = time.perf_counter()
    await lab.start()
    print(f"  lab of {size} formed in {time.perf_counter() - t0:.1f} s", flush=True)
    return lab


async def full_and_zone(args: argparse.Namespace, tmp: Path, out: dict[str, Any]) -> None:
    rng = random.Random(args.seed)
    lab = await new_lab(args.nodes, args.seed)
    truth = LabTruth(lab, rng)
    me = await outside_node(lab, tmp)
    try:
        lab.set_conditions(Conditions(loss=LOSS))
        if "full" not in args.skip:
            t0 = time.perf_counter()
            census = await me.crawl(CrawlSpec("full"))
            seconds = time.perf_counter() - t0
            live = truth.running()
            found = {n.id for n in census.nodes} & live
            heard = {n.id for n in census.nodes if n.answered} & live
            out["full"] = {"nodes": len(live), "found": len(found), "found_share": len(found) / len(live),
                           "answered_share": len(heard) / len(live), "queries": census.asked,
                           "seconds": seconds, "estimate": census.estimate}
            print(f"full crawl, {len(live)} nodes, {100 * LOSS:.0f} % loss: found {len(found)} "
                  f"({100 * len(found) / len(live):.2f} %), heard {100 * len(heard) / len(live):.1f} %, "
                  f"{census.asked} queries, {seconds:.1f} s", flush=True)
        if "zone" not in args.skip:
            truth.silence(SILENT)
            size = len(truth.running())
            bits = args.zone_bits if args.zone_bits is not None else max(
                0, round(math.log2(size / ZONE_TARGET)))
            crawls: list[dict[str, Any]] = []
            for trial in range(args.trials):
                prefix = rng.getrandbits(160).to_bytes(20, "big")
                t0 = time.perf_counter()
                census = await me.crawl(CrawlSpec("zone", zone_bits=bits, zone_prefix=prefix))
                seconds = time.perf_counter() - t0
                assert census.estimate is not None and census.low is not None and census.high is not None
                zone = truth.in_zone(bits, prefix)
                found = {n.id for n in census.nodes} & zone
                crawls.append({"estimate": census.estimate, "error": abs(census.estimate - size) / size,
                               "covered": census.low <= size <= census.high, "seconds": seconds,
                               "zone": len(zone), "zone_found": len(found), "queries": census.asked,
                               "low": census.low, "high": census.high})
                print(f"  zone crawl {trial + 1}: {census.estimate:.0f} ({census.low:.0f}-{census.high:.0f}) "
                      f"for {size}, zone {len(found)}/{len(zone)} found, {seconds:.1f} s", flush=True)
            header, walks = [], []
            for trial in range(args.trials):
                node = rng.choice(lab.nodes)
                header.append(abs(node.stats().network_size - size) / size)
                # fresh (no node's BEP 51 interval holds it back), with a 2 s RPC timeout (not 20:
                # loopback answers in ms, so only lost datagrams wait, and they are not waited for)
                walker = await outside_node(lab, tmp, lab.config.replace(KRPC_TIMEOUT=2.0))
                try:
                    sampling = await walker.sample_infohashes(20)
                finally:
                    await walker.stop()
                estimate, _ = estimate_network_size(sampling.target, [c.id for c in sampling.closest])
                walks.append(abs(estimate - size) / size)
                print(f"  walk {trial + 1}: {estimate} from {len(sampling.closest)} closest; "
                      f"a lab node's routing header {node.stats().network_size}", flush=True)
            errors = [c["error"] for c in crawls]
            seconds_each = [c["seconds"] for c in crawls]
            out["zone"] = {
                "nodes": size, "silent": len(truth.silent), "loss": LOSS, "bits": bits, "crawls": crawls,
                "median_error": statistics.median(errors), "p90_error": percentile(errors, 0.9),
                "covered": sum(c["covered"] for c in crawls), "median_seconds": statistics.median(seconds_each),
                "max_seconds": max(seconds_each),
                "header_median_error": statistics.median(header), "header_p90_error": percentile(header, 0.9),
                "walk_median_error": statistics.median(walks), "walk_p90_error": percentile(walks, 0.9),
            }
    finally:
        await me.stop()
        await lab.stop()


def sybil_found(census: Any, kind: str, ids: set[bytes]) -> bool:
    return any(s.kind == kind and len(set(s.ids) & ids) >= 0.9 * len(ids) for s in census.suspicions)


async def sybils(args: argparse.Namespace, tmp: Path, out: dict[str, Any]) -> None:
    rng = random.Random(args.seed + 1)
    lab = await new_lab(args.sybil_nodes, args.seed + 1)
    truth = LabTruth(lab, rng)
    await truth.add_sybils(HORIZONTAL)
    await truth.add_sybils(VERTICAL, target=rng.getrandbits(160).to_bytes(20, "big"), shared_bits=SHARED_BITS)
    horizontal, vertical = truth.sybils
    lab.set_conditions(Conditions(loss=LOSS))
    me = await outside_node(lab, tmp)
    found_h = found_v = other = 0
    seconds = []
    try:
        for trial in range(args.trials):
            t0 = time.perf_counter()
            census = await me.crawl(CrawlSpec("full"))
            seconds.append(time.perf_counter() - t0)
            found_h += sybil_found(census, "horizontal", horizontal)
            found_v += sybil_found(census, "vertical", vertical)
            other += sum(1 for s in census.suspicions if not set(s.ids) & (horizontal | vertical))
    finally:
        await me.stop()
        await lab.stop()
    lab = await new_lab(args.sybil_nodes, args.seed + 2)
    lab.set_conditions(Conditions(loss=LOSS))
    me = await outside_node(lab, tmp)
    alarms = 0
    try:
        for trial in range(args.trials):
            census = await me.crawl(CrawlSpec("full"))
            alarms += len(census.suspicions)
    finally:
        await me.stop()
        await lab.stop()
    out["sybil"] = {"nodes": args.sybil_nodes, "trials": args.trials, "horizontal_found": found_h,
                    "vertical_found": found_v, "other_suspicions": other, "clean_false_alarms": alarms,
                    "median_seconds": statistics.median(seconds)}


def report(out: dict[str, Any], args: argparse.Namespace) -> bool:
    ok = True
    print()

    def line(passed: bool, name: str, detail: str) -> None:
        nonlocal ok
        ok = ok and passed
        print(f"{'PASS' if passed else 'FAIL'}  {name:<58} {detail}")

    if "full" in out:
        f = out["full"]
        line(f["found_share"] >= GOAL_FOUND, f"full crawl of {f['nodes']} nodes, 5 % loss: found",
             f"{100 * f['found_share']:.2f} % (goal >= {100 * GOAL_FOUND:.1f} %) in {f['seconds']:.1f} s, "
             f"{f['queries']} queries, heard {100 * f['answered_share']:.1f} %")
    if "zone" in out:
        z = out["zone"]
        n = len(z["crawls"])
        line(z["median_error"] <= GOAL_MEDIAN_ERROR,
             f"zone estimate ({z['bits']} bits) of {z['nodes']} nodes, 20 % silent, 5 % loss",
             f"median error {100 * z['median_error']:.1f} %, p90 {100 * z['p90_error']:.1f} % over {n} crawls "
             f"(goal <= {100 * GOAL_MEDIAN_ERROR:.0f} %); 95 % interval held it {z['covered']}/{n}")
        line(z["median_seconds"] <= GOAL_SECONDS, "  seconds per zone crawl",
             f"median {z['median_seconds']:.1f} s, max {z['max_seconds']:.1f} s (goal <= {GOAL_SECONDS:.0f} s)")
        print(f"      today's estimators, same lab: routing header (8 closest) median error "
              f"{100 * z['header_median_error']:.1f} %, p90 {100 * z['header_p90_error']:.1f} %; "
              f"BEP 51 walk median {100 * z['walk_median_error']:.1f} %, p90 {100 * z['walk_p90_error']:.1f} %")
    if "sybil" in out:
        s = out["sybil"]
        t = s["trials"]
        line(s["horizontal_found"] == t, f"horizontal Sybil ({HORIZONTAL} ids on one IP), {s['nodes']} nodes",
             f"found in {s['horizontal_found']}/{t} full crawls ({s['median_seconds']:.1f} s each)")
        line(s["vertical_found"] == t, f"vertical Sybil ({VERTICAL} ids around a target)",
             f"found in {s['vertical_found']}/{t} full crawls")
        line(s["clean_false_alarms"] == 0 and s["other_suspicions"] == 0, "no false alarm",
             f"{s['clean_false_alarms']} suspicions in {t} crawls of a clean lab, "
             f"{s['other_suspicions']} beside the clusters")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000, help="lab size of the full and zone crawls")
    parser.add_argument("--trials", type=int, default=20, help="zone crawls, Sybil crawls, clean crawls")
    parser.add_argument("--zone-bits", type=int, default=None, help="zone prefix bits (default: ~500 nodes a zone)")
    parser.add_argument("--sybil-nodes", type=int, default=500, help="lab size of the Sybil crawls")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: full, zone, sybil")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    args.skip = {s for s in args.skip.split(",") if s}
    logging.basicConfig(level=logging.CRITICAL)  # lab nodes stopping while queried: not the figures
    out: dict[str, Any] = {"nodes": args.nodes, "trials": args.trials, "cpus": os.cpu_count()}

    async def run() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
            if not {"full", "zone"} <= args.skip:
                await full_and_zone(args, Path(tmp), out)
            if "sybil" not in args.skip:
                await sybils(args, Path(tmp), out)

    t0 = time.perf_counter()
    asyncio.run(run())
    out["seconds"] = time.perf_counter() - t0
    ok = report(out, args)
    print(f"\n{out['seconds']:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
