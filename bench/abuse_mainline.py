"""bench_abuse's Mainline section: scrape floods, item and peer store takeover, a voted id change, CPU per answer.

One Mainline dht.Node on 127.0.0.1 runs on the bench's event loop;
attackers and clients (:mod:`bench.abuse_clients`) run in their own
processes (spawn) on their own loopback addresses, attackers niced as in
:mod:`bench.bench_abuse`:

* scrape flood (default limits): a 500-peer swarm announced from 500
  addresses, then get_peers with ``scrape=1`` from 40 addresses at 9/s each
  and from ``--ips`` addresses at 2/s each, while the settled legitimate
  client pings (>= 45 of 50 answered); when the flood stops, a fresh
  address pings until answered (within 1 s);
* items: 50 addresses put one immutable item each, then one address puts
  720 items whose targets it ground to share their first byte with our id
  (>= 90 % of the 50 stay), then a newcomer puts one and it is found;
* peers: one address fills the whole peer store (its share raised to the
  store's 2,000 info-hashes), then a newcomer announces a new info-hash and
  a third address finds it; and with the default share;
* id change: 150 fake nodes on their own addresses answer our lookups, first
  truthfully, then with ``ip`` = 203.0.113.9 until our BEP 42 id changes;
  the contacts that had answered, before and after (and after the lookup of
  the new id that follows);
* CPU: the node's CPU seconds per plain get_peers and per scrape answer on
  the 500-peer swarm (limits raised so that every query is answered); with
  ``--baseline DIR`` also for the dht package in DIR (e.g. a checkout of
  main), in a subprocess of the same run, and the ratio.

The store and CPU parts raise LOOPBACK_LIMIT_FACTOR: they measure the
stores' rules and the answers' cost, not the rate limits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.abuse_clients import (
    LIAR_ADDRESS, SWARM, cpu_client_main, items_main, liars_main, peers_main, populate_main, probe_main,
)
from dht import Config, Node

ML = Config(PROFILE="mainline")
UNLIMITED = ML.replace(LOOPBACK_LIMIT_FACTOR=1_000_000.0)
NODE_HOST = "127.0.0.1"
LIARS = 150  # fake nodes for the id change (liars_main)


# --- the node side ------------------------------------------------------------------

async def wait_conn(conn: Any, proc: Any, limit: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while not conn.poll():
        if time.monotonic() > deadline or (not proc.is_alive() and not conn.poll()):
            proc.kill()
            raise RuntimeError("a bench process did not report in time")
        await asyncio.sleep(0.02)
    result: dict[str, Any] = conn.recv()
    proc.join(5)
    return result


def spawn(ctx: Any, target: Any, *args: Any) -> tuple[Any, Any]:
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(*args, child), daemon=True)
    proc.start()
    child.close()
    return proc, parent


async def start(tmp: str, name: str, config: Config) -> Node:
    node = Node(config, host=NODE_HOST, port=0, data_dir=os.path.join(tmp, name))
    await node.start()
    return node


async def populate(ctx: Any, node: Node, n: int = 500) -> int:
    proc, conn = spawn(ctx, populate_main, node.address, n)
    announced: int = (await wait_conn(conn, proc, 120))["announced"]
    return announced


async def scrape_flood(tmp: str, n_ips: int, per_ip: float, args: Any) -> dict[str, Any]:
    from bench.bench_abuse import attacker_main, legit_main  # the shared flooder and pinger

    node = await start(tmp, f"ml-scrape-{n_ips}", ML)
    ctx = mp.get_context("spawn")
    measuring, stop = ctx.Event(), ctx.Event()
    try:
        swarm = await populate(ctx, node)
        attacker, a_conn = spawn(ctx, attacker_main, node.address, "scrape", n_ips, per_ip, args.attacker_nice,
                                 measuring, stop)
        legit, l_conn = spawn(ctx, legit_main, node.address, args.rate, ML.SETTLE_SECONDS + 1.0,
                              args.pings, measuring)
        cpu0 = time.process_time()
        lr = await wait_conn(l_conn, legit, 180)
        stop.set()
        ar = await wait_conn(a_conn, attacker, 60)
        cpu = time.process_time() - cpu0
        probe, p_conn = spawn(ctx, probe_main, node.address)
        pr = await wait_conn(p_conn, probe, 60)
        snap = node.stats()
    finally:
        stop.set()
        await node.stop()
    return {"legit": lr, "attack": ar, "probe": pr, "stats": snap, "swarm": swarm, "cpu": cpu}


async def items(tmp: str, share: int | None) -> dict[str, Any]:
    stores = ML.STORES if share is None else dataclasses.replace(ML.STORES, dht_max_items_per_ip=share)
    node = await start(tmp, f"ml-items-{share}", UNLIMITED.replace(STORES=stores))
    ctx = mp.get_context("spawn")
    try:
        cpu0 = time.process_time()
        proc, conn = spawn(ctx, items_main, node.address, node.id, 50, 720)
        r = await wait_conn(conn, proc, 600)
        r["node_cpu"] = time.process_time() - cpu0
        r["share"] = stores.dht_max_items_per_ip
    finally:
        await node.stop()
    return r


async def peers(tmp: str, share: int | None) -> dict[str, Any]:
    stores = ML.STORES if share is None else dataclasses.replace(ML.STORES, dht_max_peers_per_ip=share)
    node = await start(tmp, f"ml-peers-{share}", UNLIMITED.replace(STORES=stores))
    ctx = mp.get_context("spawn")
    try:
        proc, conn = spawn(ctx, peers_main, node.address, ML.STORES.dht_max_torrents + 100)
        r = await wait_conn(conn, proc, 600)
        r["share"] = stores.dht_max_peers_per_ip
    finally:
        await node.stop()
    return r


def room(ids: list[bytes], own: bytes, k: int) -> int:
    """How many of ``ids`` a table of K-buckets split around ``own`` holds at most
    (each bucket away from ``own`` holds K; the one covering it splits)."""
    key = int.from_bytes(own, "big")
    held = 0
    rest = [int.from_bytes(i, "big") for i in ids]
    for bit in range(159, -1, -1):
        if len(rest) <= k:
            return held + len(rest)
        far = [i for i in rest if (i ^ key) >> bit & 1]
        held += min(k, len(far))
        rest = [i for i in rest if not (i ^ key) >> bit & 1]
    return held + min(k, len(rest))


def table_size(node: Node) -> int:
    return sum(len(b.contacts) for b in node.routing_table())


def answered_contacts(node: Node) -> int:
    return sum(1 for b in node.routing_table() for c in b.contacts if c.last_seen is not None)


async def id_change(tmp: str) -> dict[str, Any]:
    node = await start(tmp, "ml-id", UNLIMITED)
    ctx = mp.get_context("spawn")
    lying, stop = ctx.Event(), ctx.Event()
    liars, conn = spawn(ctx, liars_main, LIARS, lying, stop)
    try:
        report = await wait_conn_keep(conn, liars, 30)
        addresses = [tuple(a) for a in report["addresses"]]
        await node.bootstrap(addresses[:4])
        for _ in range(12):  # a table as full as lookups make it
            await node.find_node(os.urandom(20))
        old = node.id
        before = answered_contacts(node)
        entries_before = table_size(node)
        lying.set()
        after = entries_after = None
        for _ in range(30):  # our lookups until the votes carry
            await node.find_node(os.urandom(20))
            if node.id != old:
                after = answered_contacts(node)
                entries_after = table_size(node)
                break
        t_change = time.monotonic()
        deadline = t_change + 10
        while time.monotonic() < deadline and node.id != old:  # the refresh that follows the change
            await asyncio.sleep(0.1)
            if answered_contacts(node) >= before:
                break
        later = answered_contacts(node)
        refill = time.monotonic() - t_change
        changed = node.id != old
    finally:
        stop.set()
        liars.join(10)
        await node.stop()
    k = ML.K
    return {"before": before, "after": after, "later": later, "changed": changed, "refill": refill,
            "entries_before": entries_before, "entries_after": entries_after,
            "room_before": room(report["ids"], old, k), "room_after": room(report["ids"], node.id, k)}


async def wait_conn_keep(conn: Any, proc: Any, limit: float) -> dict[str, Any]:
    """A report from a process that goes on running."""
    deadline = time.monotonic() + limit
    while not conn.poll():
        if time.monotonic() > deadline or not proc.is_alive():
            proc.kill()
            raise RuntimeError("a bench process did not report in time")
        await asyncio.sleep(0.02)
    result: dict[str, Any] = conn.recv()
    return result


async def cpu_per_answer(tmp: str, rounds: int = 20, n_ips: int = 50) -> dict[str, float]:
    """CPU seconds of this process per answer, plain get_peers and scrape, on a 500-peer swarm."""
    node = await start(tmp, "ml-cpu", UNLIMITED)
    ctx = mp.get_context("spawn")
    out: dict[str, float] = {}
    try:
        await populate(ctx, node)
        for scrape in (False, True, False, True):  # twice each: the second of each is kept (warm)
            cpu0 = time.process_time()
            proc, conn = spawn(ctx, cpu_client_main, node.address, scrape, rounds, n_ips)
            r = await wait_conn(conn, proc, 300)
            out["scrape" if scrape else "get_peers"] = (time.process_time() - cpu0) / max(1, r["answers"])
    finally:
        await node.stop()
    return out


def cpu_baseline(directory: str) -> dict[str, float] | None:
    """:func:`cpu_per_answer` for the dht package in ``directory``, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        os.symlink(Path(directory).resolve() / "dht", Path(tmp) / "dht")
        os.symlink(Path(__file__).resolve().parent, Path(tmp) / "bench")
        done = subprocess.run(
            [sys.executable, "-c", "import asyncio, json, tempfile, dht\n"
             "from bench.abuse_mainline import cpu_per_answer\n"
             "with tempfile.TemporaryDirectory() as d:\n"
             "    print(json.dumps({'dht': dht.__file__, **asyncio.run(cpu_per_answer(d))}))"],
            cwd=tmp, capture_output=True, text=True, timeout=900,
        )
    if done.returncode != 0:
        print(done.stderr[-2000:])
        return None
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def section(tmp: str, args: Any) -> bool:
    """Run the Mainline parts asked for; True when every target is met."""
    ok_all = True
    if "ml-scrape" in args.only:
        print(f"Mainline scrape flood: get_peers scrape=1 on a 500-peer swarm; legitimate client "
              f"({args.pings} pings at {args.rate:g}/s, settled first); then a fresh address pings until answered")
        print(f"  caps: reply bytes charged before the answer is built (REPLY_BURST_PER_IP "
              f"{ML.REPLY_BURST_PER_IP:,}), expensive answers {ML.GLOBAL_EXPENSIVE_RATE:g}/s "
              f"(burst {ML.GLOBAL_EXPENSIVE_BURST}) for all sources")
        for n_ips, per_ip in ((40, 9.0), (args.ips, 2.0)):
            r = await scrape_flood(tmp, n_ips, per_ip, args)
            lg, at, pr, st = r["legit"], r["attack"], r["probe"], r["stats"]
            keep = lg["answered"] >= args.pings * 0.9
            back = pr["waited"] is not None and pr["waited"] <= 1.0
            ok_all &= keep and back
            waited = "never" if pr["waited"] is None else f"{pr['waited']:.2f} s"
            drops = {k: v for k, v in st.drops.items() if v}
            print(f"  {n_ips} IPs x {per_ip:g}/s: sent {at['sent']:,} in {at['elapsed']:.1f} s, "
                  f"{at['answers']:,} scrapes answered; legit {lg['answered']}/{lg['asked']} "
                  f"(p50 {lg['p50_ms']:.1f} ms) >= {int(args.pings * 0.9)}: {verdict(keep)}; "
                  f"answered {waited} after the flood (<= 1 s): {verdict(back)}; node CPU "
                  f"{r['cpu']:.1f} s over the flood; drops {drops}")
        print("  libtorrent: one global dht_upload_rate_limit (8000 B/s) checked before building an "
              "answer; no cap on scrapes as such")
        print()
    if "ml-items" in args.only:
        for share in (ML.STORES.dht_max_dht_items, None):
            r = await items(tmp, share)
            kept = r["kept"] >= 0.9 * r["stored"]
            ok_all &= kept and r["newcomer"]
            print(f"Mainline items (share {r['share']}): 50 addresses put 1 item each ({r['stored']} stored); "
                  f"one address put {r['taken']} of 720 ground near our id and holds {r['attacker_held']}; "
                  f"the others' kept {r['kept']}/{r['stored']} (>= 90 %): {verdict(kept)}; a newcomer "
                  f"stored and found: {verdict(r['newcomer'])}; node CPU "
                  f"{r['node_cpu'] / (2 * (r['taken'] + 50)) * 1e3:.2f} ms per query")
        print("  libtorrent: dht_max_dht_items 700, the least important item (popularity, distance) "
              "evicted; no per-address quota")
        print()
    if "ml-peers" in args.only:
        for share in (ML.STORES.dht_max_torrents, None):
            r = await peers(tmp, share)
            ok = r["announced"] and r["found"] == 1
            ok_all &= bool(ok)
            print(f"Mainline peers (share {r['share']}): one address announced {r['filled']} of "
                  f"{ML.STORES.dht_max_torrents + 100} info-hashes (store: {ML.STORES.dht_max_torrents}); "
                  f"{r['held_sampled']}/{r['sampled']} sampled still held; a newcomer announced "
                  f"{'and was found' if ok else 'and was NOT found'}: {verdict(bool(ok))}")
        print("  libtorrent: dht_max_torrents 2000, dht_max_peers 500; a full store refuses "
              "newcomers (no per-address quota)")
        print()
    if "ml-id" in args.only:
        r = await id_change(tmp)
        after = r["after"]
        ok = r["changed"] and r["later"] >= 0.9 * r["before"]
        ok_all &= bool(ok)
        print(f"Mainline id change: {LIARS} nodes answering our lookups voted {LIAR_ADDRESS}; id changed: "
              f"{r['changed']}; answered contacts {r['before']} (of {r['entries_before']} in the table; room for "
              f"{r['room_before']} of the {LIARS} around the old id) before, {after} (of {r['entries_after']}) "
              f"right after, {r['later']} (room for {r['room_after']} around the new id) {r['refill']:.1f} s "
              f"later, every bucket refreshed: >= 90 % of before: {verdict(bool(ok))}")
        print("  libtorrent: update_node_id re-adds the nodes keeping their confirmed state")
        print()
    if "ml-cpu" in args.only:
        now = await cpu_per_answer(tmp)
        line = (f"Mainline CPU per answer (500-peer swarm, this tree): get_peers {now['get_peers'] * 1e3:.3f} ms, "
                f"scrape {now['scrape'] * 1e3:.3f} ms")
        print(line)
        if args.baseline:
            base = cpu_baseline(args.baseline)
            if base is None:
                print(f"  baseline {args.baseline}: failed")
            else:
                print(f"  baseline {base['dht']}: get_peers {base['get_peers'] * 1e3:.3f} ms, scrape "
                      f"{base['scrape'] * 1e3:.3f} ms; ratio this/baseline: get_peers "
                      f"{now['get_peers'] / base['get_peers']:.2f}, scrape {now['scrape'] / base['scrape']:.2f}")
        print()
    return ok_all
