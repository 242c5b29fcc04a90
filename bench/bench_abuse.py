"""Abuse: one dht.Node under floods, reflection, garbage and store spam from many loopback addresses.

The node (default :class:`dht.Config`, on 127.0.0.1) runs on this process's
event loop.  Attackers run in a *separate process* (multiprocessing, spawn),
on sockets bound to their own loopback addresses 127.0.x.y (every one of
127.0.0.0/8 is loopback on Linux), so the node sees them as distinct hosts,
at nice 10 (their CPU would not be the node's on the Internet);
a legitimate client runs in a third process on 127.0.0.2.  Each figure is
printed beside libtorrent's default for comparison, with PASS/FAIL per
target:

* flood: ping, find_node or get_value queries at full speed from 1 address
  and from ``--ips`` (1,000) addresses, while the legitimate client, settled
  before the flood, asks ~7 pings a second: it keeps at least 45 of its 50
  answers; no flooding address gets more than 100 answers in any second;
* reflection: an address asking get_value (each answer ~10x its query) just
  below the blocking rate gets no more bytes than its reply budget,
  REPLY_BURST_PER_IP + REPLY_RATE_PER_IP x seconds;
* garbage: 20,000 datagrams of every shape (random bytes, 60 KB, deep
  bencode nesting, distinct unknown ``y``, unknown methods, unexpected
  answers) grow the node's RSS by less than 20 MB -- once from many
  addresses (the limits drop most unparsed) and once from the node's own
  address, which the limits exempt, so that every datagram is decoded;
* storage: one address holds no more than MAX_VALUES_PER_IP values and a
  second address can still store ("not available" while the setting does
  not exist);
* Mainline (:mod:`bench.abuse_mainline`, ``ml-*``): scrape floods from 40
  and ``--ips`` addresses (honest pings >= 45/50, answered within 1 s after),
  one address grinding BEP 44 targets near our id (>= 90 % of the others'
  items stay, a newcomer stores), a peer store filled by one address (a
  newcomer announces and is found), a voted BEP 42 id change (answered
  contacts after >= 90 % of before), and CPU per get_peers and scrape answer
  (``--baseline DIR``: also for the dht package in DIR, in the same run).

    python -m bench.bench_abuse [--ips 1000] [--pings 50] [--rate 7] [--garbage 20000]
                                [--attacker-nice 10] [--baseline DIR] [--strict]
                                [--only flood reflect garbage storage ml-scrape ml-items ml-peers ml-id ml-cpu]

Loopback only (Linux: needs 127.0.x.y), port 0; every loop is bounded in
count and time; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import multiprocessing as mp
import os
import random
import resource
import socket
import sys
import tempfile
import time
from typing import Any

import bencodepy

from bench import abuse_mainline
from bench.abuse_mainline import spawn, wait_conn
from dht import Config, Node

CFG = Config()
NODE_HOST = "127.0.0.1"
LEGIT_HOST = "127.0.0.2"
VICTIM_HOST = "127.0.0.3"
STORE_HOSTS = ("127.0.0.4", "127.0.0.5")
LEGIT_ID = bytes.fromhex("1e" * 20)
KEY = hashlib.sha1(b"bench-abuse").digest()
ANSWER_WAIT = 2.0  # seconds the legitimate client waits for each answer
FLOOD_LIMIT = 60.0  # no flood lasts longer than this, whatever happens

# libtorrent's defaults (settings_pack), for comparison.
LT_BLOCK = "dht_block_ratelimit 5/s (50 in 10 s; 20 IPs tracked), then dht_block_timeout 300 s"
LT_UPLOAD = "dht_upload_rate_limit 8000 B/s, one budget for all addresses"


def attacker_host(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def make_queries(method: str, count: int = 256) -> list[bytes]:
    rnd = random.Random(5)
    out = []
    for i in range(count):
        args: dict[bytes, Any] = {b"id": bytes([0xa0 + i % 16]) * 20}
        if method == "find_node":
            args[b"target"] = rnd.randbytes(20)
        elif method == "get_value":
            args[b"key"], args[b"num"] = KEY, 0
        elif method == "scrape":
            args[b"info_hash"], args[b"scrape"] = abuse_mainline.SWARM, 1
        wire = b"get_peers" if method == "scrape" else method.encode()
        out.append(bencodepy.encode({b"t": i.to_bytes(2, "big"), b"y": b"q", b"q": wire, b"a": args}))
    return out


# --- the attackers (their own process) ----------------------------------------

def attacker_main(
    target: tuple[str, int], method: str, n_ips: int, per_second: float, nice: int, go: Any, stop: Any,
    conn: Any,
) -> None:
    """Send ``method`` queries from ``n_ips`` addresses (full speed if per_second is 0)."""
    raise_fd_limit()
    # On the Internet the attackers' CPU is not ours: niced, they take what the
    # node leaves on this machine's cores, and still flood at full speed.
    if nice:
        os.nice(nice)
    socks = []
    for i in range(n_ips):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((attacker_host(i) if method != "reflect" else VICTIM_HOST, 0))
        s.setblocking(False)
        socks.append(s)
    queries = make_queries("get_value" if method == "reflect" else method)
    nq = len(queries)
    answers = [0] * n_ips
    got_bytes = [0] * n_ips
    bins: dict[tuple[int, int], int] = {}
    go.wait(30)
    t0 = time.monotonic()
    reps = 64 if n_ips == 1 and not per_second else 1
    sent = j = 0
    next_send = t0
    while not stop.is_set():
        now = time.monotonic()
        if now - t0 > FLOOD_LIMIT:
            break
        due = not per_second or now >= next_send
        if per_second and not due:
            time.sleep(min(0.002, next_send - now))  # the attacker's own pacing
        if due:
            next_send += 1.0 / per_second if per_second else 0.0
            for s in socks:
                for _ in range(reps):
                    try:
                        s.sendto(queries[j % nq], target)
                    except OSError:
                        pass
                    j += 1
                    sent += 1
        for k, s in enumerate(socks):
            while True:
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                answers[k] += 1
                got_bytes[k] += len(data)
                sec = int(time.monotonic() - t0)
                bins[(k, sec)] = bins.get((k, sec), 0) + 1
    elapsed = time.monotonic() - t0
    for s in socks:
        s.close()
    conn.send({
        "sent": sent, "elapsed": elapsed, "answers": sum(answers), "max_ip_answers": max(answers),
        "max_per_second": max(bins.values(), default=0), "bytes": got_bytes,
    })
    conn.close()


# --- the legitimate client (its own process) ------------------------------------

def legit_main(
    target: tuple[str, int], rate: float, settle: float, count: int, measuring: Any, conn: Any
) -> None:
    """Ping at ``rate``/s: ``settle`` seconds before the flood, then ``count`` counted pings."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LEGIT_HOST, 0))
    interval = 1.0 / rate

    def ping(tid: bytes) -> None:
        sock.sendto(bencodepy.encode({b"t": tid, b"y": b"q", b"q": b"ping", b"a": {b"id": LEGIT_ID}}), target)

    pending: dict[bytes, float] = {}
    answered: dict[bytes, float] = {}
    sent_at: dict[bytes, float] = {}
    start = time.monotonic()
    n = 0
    counted = 0
    next_send = start
    phase_end = start + settle
    while True:
        now = time.monotonic()
        if counted >= count and not pending:
            break
        if now - start > settle + count * interval + 30:
            break
        if now >= next_send and counted < count:
            warm = now < phase_end
            if not warm and not measuring.is_set():
                measuring.set()
            tid = (b"w" if warm else b"m") + n.to_bytes(4, "big")
            n += 1
            ping(tid)
            if not warm:
                counted += 1
                pending[tid] = now + ANSWER_WAIT
                sent_at[tid] = now
            next_send += interval
        for tid, deadline in list(pending.items()):
            if now > deadline:
                del pending[tid]
        wait = max(0.001, min(next_send - now, 0.05))
        sock.settimeout(wait)
        try:
            data = sock.recv(4096)
        except (socket.timeout, BlockingIOError):
            continue
        try:
            tid = bencodepy.decode(data)[b"t"]
        except Exception:
            continue
        if tid in pending:
            del pending[tid]
            answered[tid] = time.monotonic() - sent_at[tid]
    sock.close()
    rtts = sorted(answered.values())
    conn.send({"answered": len(answered), "asked": counted,
               "p50_ms": rtts[len(rtts) // 2] * 1000 if rtts else float("nan")})
    conn.close()


# --- the node side ------------------------------------------------------

async def start_node(tmp: str, name: str, config: Config = CFG) -> Node:
    node = Node(config, host=NODE_HOST, port=0, data_dir=os.path.join(tmp, name))
    await node.start()
    for i in range(12):  # get_value answers of ~1.3 KB: 10x their query
        await node.store_value(KEY, bytes([i]) * 100)
    return node


async def flood(tmp: str, method: str, n_ips: int, args: argparse.Namespace) -> dict[str, Any]:
    node = await start_node(tmp, f"flood-{method}-{n_ips}")
    ctx = mp.get_context("spawn")
    measuring, stop = ctx.Event(), ctx.Event()
    try:
        attacker, a_conn = spawn(ctx, attacker_main, node.address, method, n_ips, 0.0, args.attacker_nice,
                                   measuring, stop)
        legit, l_conn = spawn(ctx, legit_main, node.address, args.rate, CFG.SETTLE_SECONDS + 1.0,
                              args.pings, measuring)
        lr = await wait_conn(l_conn, legit, 120)
        stop.set()
        ar = await wait_conn(a_conn, attacker, 30)
        snap = node.stats()
    finally:
        stop.set()
        await node.stop()
    return {"legit": lr, "attack": ar, "stats": snap}


async def reflect(tmp: str, seconds: float, nice: int) -> dict[str, Any]:
    """One address asks get_value at 40/s (below BLOCK_RATE) for ``seconds``."""
    node = await start_node(tmp, "reflect")
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    try:
        attacker, conn = spawn(ctx, attacker_main, node.address, "reflect", 1, 40.0, nice, go, stop)
        go.set()
        await asyncio.sleep(seconds)  # the bench's own clock: the attack lasts this long
        stop.set()
        r = await wait_conn(conn, attacker, 30)
        query = len(make_queries("get_value")[0])
        snap = node.stats()
    finally:
        await node.stop()
    return {"bytes": r["bytes"][0], "elapsed": r["elapsed"], "sent": r["sent"], "answers": r["answers"],
            "query": query, "stats": snap}


def garbage(n: int, seed: int = 3) -> list[bytes]:
    """``n`` datagrams of every shape a hostile peer might send."""
    rnd = random.Random(seed)
    shapes = []
    for i in range(n):
        kind = i % 8
        if kind == 0:
            d = rnd.randbytes(rnd.randint(1, 1472))
        elif kind == 1:  # huge (never valid): random, or bencode with a distinct unknown y
            d = rnd.randbytes(60_000) if i % 16 == 1 else bencodepy.encode(
                {b"t": b"aa", b"y": b"%d" % i + b"y" * 60_000})
        elif kind == 2:
            depth = rnd.randint(100, 700)
            d = b"l" * depth + b"e" * depth  # deep nesting
        elif kind == 3:
            d = bencodepy.encode({b"t": b"aa", b"y": b"%d" % i + b"y" * 1300})  # distinct unknown y
        elif kind == 4:
            d = bencodepy.encode({b"t": b"%d" % i, b"y": b"q", b"q": b"m%d" % i + b"x" * 1000,
                                  b"a": {b"id": b"G" * 20}})  # distinct unknown method
        elif kind == 5:
            d = bencodepy.encode({b"t": rnd.randbytes(20), b"y": b"r", b"r": {b"id": rnd.randbytes(20)}})
        elif kind == 6:
            d = bencodepy.encode({b"t": b"%d" % i, b"y": b"e", b"e": [201, rnd.randbytes(1000)]})
        else:
            d = b"d" + b"".join(b"%d:%s" % (len(k), k) + b"i1e" for k in
                                (b"k%05d" % j for j in range(rnd.randint(1, 100)))) + b"e"
        shapes.append(d)
    return shapes


async def garbage_rss(tmp: str, n: int, from_own_address: bool) -> dict[str, Any]:
    """Send ``n`` garbage datagrams; the node's RSS before and after, and how many it read."""
    node = await start_node(tmp, f"garbage-{from_own_address}")
    data = garbage(n)
    loop = asyncio.get_running_loop()
    try:
        socks = []
        hosts = [NODE_HOST] if from_own_address else [f"127.0.200.{i}" for i in range(1, 201)]
        for h in hosts:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((h, 0))
            s.setblocking(False)
            socks.append(s)
        gc.collect()
        before = rss_bytes()
        packets_before = node.stats().packets_in
        deadline = time.monotonic() + 120
        for start in range(0, n, 50):  # in chunks the socket buffer holds; the node reads each chunk
            for k, d in enumerate(data[start:start + 50]):
                try:
                    socks[(start + k) % len(socks)].sendto(d, node.address)
                except OSError:
                    pass
            target = node.stats().packets_in
            for _ in range(200):
                await asyncio.sleep(0)  # let the loop read what was sent
                if node.stats().packets_in == target:
                    break
                target = node.stats().packets_in
            if time.monotonic() > deadline:
                break
        await asyncio.sleep(0.2)
        read = node.stats().packets_in - packets_before
        gc.collect()
        after = rss_bytes()
        snap = node.stats()
        for s in socks:
            s.close()
    finally:
        await node.stop()
    del loop
    return {"grew": after - before, "read": read, "stats": snap}


async def storage(tmp: str) -> dict[str, Any] | None:
    quota = getattr(CFG, "MAX_VALUES_PER_IP", None)
    if quota is None:
        return None
    # Paced well within the rate limits would take quota / QUERY_RATE seconds:
    # raise the loopback budgets so that the quota, not the rate, is measured.
    node = await start_node(tmp, "storage", CFG.replace(LOOPBACK_LIMIT_FACTOR=1000.0))
    loop = asyncio.get_running_loop()
    try:
        results = []
        for host in STORE_HOSTS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, 0))
            s.settimeout(2.0)

            def ask(msg: dict[bytes, Any], s: socket.socket = s) -> dict[bytes, Any]:
                s.sendto(bencodepy.encode(msg), node.address)
                reply: dict[bytes, Any] = bencodepy.decode(s.recv(4096))
                return reply

            fid = bytes([ord(host[-1])]) * 20
            r = await loop.run_in_executor(None, ask, {b"t": b"f", b"y": b"q", b"q": b"find_node",
                                                       b"a": {b"id": fid, b"target": KEY}})
            token = r[b"r"][b"token"]
            accepted = refused = 0
            attempts = quota + 20 if host == STORE_HOSTS[0] else 1
            for i in range(attempts):
                key = hashlib.sha1(b"%s-%d" % (host.encode(), i)).digest()
                r = await loop.run_in_executor(None, ask, {
                    b"t": b"s", b"y": b"q", b"q": b"store_value",
                    b"a": {b"id": fid, b"key": key, b"value": b"v" * 1000, b"token": token}})
                if r.get(b"y") == b"r":
                    accepted += 1
                else:
                    refused += 1
            s.close()
            results.append((host, accepted, refused))
    finally:
        await node.stop()
    return {"quota": quota, "results": results}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


async def main_async(args: argparse.Namespace) -> int:
    ok_all = True
    print(f"bench_abuse: a dht.Node on {NODE_HOST} with the default limits "
          f"(QUERY_RATE {CFG.QUERY_RATE:g}/s, QUERY_BURST {CFG.QUERY_BURST}, BLOCK_RATE {CFG.BLOCK_RATE:g}/s "
          f"over {CFG.BLOCK_WINDOW:g} s -> {CFG.BLOCK_DURATION:g} s block, REPLY {CFG.REPLY_RATE_PER_IP:g} B/s "
          f"burst {CFG.REPLY_BURST_PER_IP} per IP, global {CFG.GLOBAL_QUERY_RATE:g} q/s and "
          f"{CFG.GLOBAL_REPLY_RATE:g} B/s for unsettled sources)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s), load average {os.getloadavg()[0]:.2f}, "
          f"attackers at nice {args.attacker_nice}")
    print(f"libtorrent defaults: {LT_BLOCK}; {LT_UPLOAD}")
    print()
    with tempfile.TemporaryDirectory(prefix="bench-abuse-") as tmp:
        if "flood" in args.only:
            print(f"flood: legitimate client ({LEGIT_HOST}, {args.rate:g} pings/s, settled first) "
                  f"answered of {args.pings}; the flood's answers per address")
            print(f"{'flood':<22} {'sent/s':>9} {'legit':>7} {'p50 ms':>7} {'max/s/IP':>9} "
                  f"{'answers':>8} {'drops':>8} {'blocked':>8}")
            for method in ("ping", "find_node", "get_value"):
                for n_ips in (1, args.ips):
                    r = await flood(tmp, method, n_ips, args)
                    lg, at, st = r["legit"], r["attack"], r["stats"]
                    keep = lg["answered"] >= args.pings * 0.9
                    cap = at["max_per_second"] <= 100
                    ok_all &= keep and cap
                    label = f"{method} x {n_ips} IP{'s' if n_ips > 1 else ''}"
                    print(f"{label:<22} {at['sent'] / at['elapsed']:>9.0f} {lg['answered']:>4}/{lg['asked']:<2} "
                          f"{lg['p50_ms']:>7.1f} {at['max_per_second']:>9} {at['answers']:>8} {st.dropped:>8} "
                          f"{st.blocked_peers:>8}   legit >= {int(args.pings * 0.9)}: {verdict(keep)}; "
                          f"flooder <= 100/s: {verdict(cap)}")
            print(f"  libtorrent default: an address is blocked after 50 messages in 10 s (5/s) for 300 s; "
                  f"ours after {CFG.BLOCK_RATE * CFG.BLOCK_WINDOW:.0f} in {CFG.BLOCK_WINDOW:g} s "
                  f"({CFG.BLOCK_RATE:g}/s) for {CFG.BLOCK_DURATION:g} s, answered at most "
                  f"{CFG.QUERY_BURST} + {CFG.QUERY_RATE:g}/s before")
            print()
        if "reflect" in args.only:
            r = await reflect(tmp, args.reflect_seconds, args.attacker_nice)
            budget = CFG.REPLY_BURST_PER_IP + CFG.REPLY_RATE_PER_IP * r["elapsed"]
            ok = r["bytes"] <= budget
            ok_all &= ok
            print(f"reflection: {VICTIM_HOST} (never verified) asked get_value at 40/s for {r['elapsed']:.1f} s "
                  f"({r['sent']} queries of {r['query']} B): got {r['answers']} answers, {r['bytes']:,} B "
                  f"= {r['bytes'] / r['elapsed']:,.0f} B/s; budget {budget:,.0f} B "
                  f"({CFG.REPLY_BURST_PER_IP:,} + {CFG.REPLY_RATE_PER_IP:,.0f} B/s): {verdict(ok)}")
            print(f"  reply budget drops {r['stats'].drops['reply budget']}, rate limited "
                  f"{r['stats'].drops['rate limited']}; libtorrent default: {LT_UPLOAD} "
                  f"(no per-address budget)")
            print()
        if "garbage" in args.only:
            for own in (True, False):
                r = await garbage_rss(tmp, args.garbage, own)
                ok = r["grew"] < 20 * 2**20
                ok_all &= ok
                where = (f"from {NODE_HOST}, the node's own address (exempt: every datagram decoded)" if own
                         else "from 200 addresses 127.0.200.x (default limits)")
                drops = {k: v for k, v in r["stats"].drops.items() if v}
                print(f"garbage {args.garbage:,} datagrams {where}: node read {r['read']:,}, RSS grew "
                      f"{r['grew'] / 2**20:.1f} MB (target < 20 MB): {verdict(ok)}")
                print(f"  drops by reason: {drops}")
            print("  libtorrent: a fixed 20-entry blocker (no per-address state to grow); ours: "
                  f"at most LIMITS_MAX_PEERS {CFG.LIMITS_MAX_PEERS:,} addresses, a fixed set of drop "
                  f"reasons, datagrams longer than {CFG.MAX_DATAGRAM_SIZE} B dropped unparsed")
            print()
        if "storage" in args.only:
            r = await storage(tmp)
            if r is None:
                print("storage: not available (Config has no MAX_VALUES_PER_IP yet)")
            else:
                (h1, acc1, ref1), (h2, acc2, _) = r["results"]
                ok1 = acc1 <= r["quota"]
                ok2 = acc2 == 1
                ok_all &= ok1 and ok2
                print(f"storage: {h1} stored {acc1} of {acc1 + ref1} values (quota MAX_VALUES_PER_IP "
                      f"{r['quota']}): {verdict(ok1)}; then {h2} stored {acc2} of 1: {verdict(ok2)}")
                print("  libtorrent: BEP 44 items and peers per info-hash are capped "
                      "(dht_max_dht_items 700, dht_max_peers 500), not per address")
        ok_all &= await abuse_mainline.section(tmp, args)
    print()
    print(f"overall: {verdict(ok_all)}")
    return 0 if ok_all or not args.strict else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ips", type=int, default=1000, help="flooding addresses (default 1000)")
    parser.add_argument("--pings", type=int, default=50, help="the legitimate client's counted pings (default 50)")
    parser.add_argument("--rate", type=float, default=7.0, help="its pings per second (default 7)")
    parser.add_argument("--garbage", type=int, default=20_000, help="garbage datagrams (default 20000)")
    parser.add_argument("--reflect-seconds", type=float, default=6.0, help="reflection attack length (default 6)")
    parts = ["flood", "reflect", "garbage", "storage", "ml-scrape", "ml-items", "ml-peers", "ml-id", "ml-cpu"]
    parser.add_argument("--only", nargs="+", default=parts, choices=parts, help="run only these parts")
    parser.add_argument("--baseline", metavar="DIR",
                        help="ml-cpu: also measure the dht package of DIR (a checkout), in the same run")
    parser.add_argument("--attacker-nice", type=int, default=10,
                        help="niceness of the attackers' process (default 10; 0: as the node)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.ips <= 10_000 or not 1 <= args.pings <= 1000 or not 0.5 <= args.rate <= 50:
        parser.error("--ips must be in [1, 10000], --pings in [1, 1000], --rate in [0.5, 50]")
    if not 0 <= args.attacker_nice <= 19:
        parser.error("--attacker-nice must be in [0, 19]")
    if not 1 <= args.garbage <= 200_000 or not 1 <= args.reflect_seconds <= 60:
        parser.error("--garbage must be in [1, 200000] and --reflect-seconds in [1, 60]")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
