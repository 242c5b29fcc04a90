"""Ping answer latency during a store flood, storage thread vs inline (not a test).

A real :class:`dht.Node` on 127.0.0.1 runs on this process's event loop.  A
client in a separate process (multiprocessing, spawn: it never takes this
process's CPU or GIL) floods it with ``store_value`` queries of 1 KB values
(random keys, ``--in-flight`` outstanding), while a second socket in that process
pings it every PING_INTERVAL and times each answer.  Each scenario runs
twice in the same run, with the same load:

* ``inline``: ``Config(STORAGE_THREAD=False)``, SQLite inside the receive
  path (the behaviour before issue 9), the baseline;
* ``thread``: the default, SQLite on the node's storage thread.

Scenarios: ``flood`` (the disk as it is) and ``locked`` (another SQLite
connection holds the database with ``BEGIN EXCLUSIVE`` for LOCK_MS out of
every LOCK_EVERY_MS, a busy disk or a backup: the node's writes wait).
Reported: ping round-trip p50 / p99 / max, pings lost (no answer within
1 s), stores acknowledged per second; the target is a p99 under the thread
at most half the inline one in the ``locked`` scenario.

Run: ``python -m bench.bench_storage_latency [--seconds 4] [--in-flight 32] [--strict]``.
The rate limits do not apply (client and node share 127.0.0.1: see
``OWN_ADDRESS_LIMIT_FACTOR``); the quotas are lifted: this measures the
receive path, not the defences.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bencodepy

from dht import Config, Node

IN_FLIGHT = 32
PING_INTERVAL = 0.005
LOCK_MS = 50
LOCK_EVERY_MS = 250


def query(tid: bytes, method: bytes, args: dict[bytes, object]) -> bytes:
    data: bytes = bencodepy.encode({b"t": tid, b"y": b"q", b"q": method, b"a": args})
    return data


def pinger(address: tuple[str, int], stop: threading.Event, rtts: list[float], lost: list[int]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(1.0)
    me = os.urandom(20)
    n = 0
    try:
        while not stop.is_set():
            n += 1
            tid = b"p%d" % n
            sent = time.perf_counter()
            sock.sendto(query(tid, b"ping", {b"id": me}), address)
            try:
                while True:
                    msg = bencodepy.decode(sock.recv(65535))
                    if msg.get(b"t") == tid:
                        rtts.append(time.perf_counter() - sent)
                        break
            except socket.timeout:
                lost[0] += 1
            time.sleep(PING_INTERVAL)
    finally:
        sock.close()


def load(address: tuple[str, int], seconds: float, in_flight: int, out: Any) -> None:
    """In the client process: flood stores, ping meanwhile; report through ``out``."""
    stop = threading.Event()
    rtts: list[float] = []
    lost = [0]
    ping_thread = threading.Thread(target=pinger, args=(address, stop, rtts, lost))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10.0)
    me = os.urandom(20)
    sock.sendto(query(b"f", b"find_node", {b"id": me, b"target": me}), address)
    token = bencodepy.decode(sock.recv(65535))[b"r"][b"token"]
    acked = errors = sent = answers = 0
    ping_thread.start()
    start = time.perf_counter()
    deadline = start + seconds
    try:
        while time.perf_counter() < deadline or answers < sent:
            while sent - answers < in_flight and time.perf_counter() < deadline:
                args = {b"id": me, b"key": os.urandom(20), b"value": os.urandom(1024), b"token": token}
                sock.sendto(query(b"s%d" % sent, b"store_value", args), address)
                sent += 1
            try:
                kind = bencodepy.decode(sock.recv(65535)).get(b"y")
            except socket.timeout:
                break
            if kind in (b"r", b"e"):
                answers += 1
                acked += kind == b"r"
                errors += kind == b"e"
    finally:
        elapsed = time.perf_counter() - start
        stop.set()
        ping_thread.join()
        sock.close()
    out.put({"rtts": rtts, "lost": lost[0], "acked": acked, "errors": errors, "elapsed": elapsed})


def locker(db: Path, stop: threading.Event) -> None:
    """Hold the database for LOCK_MS out of every LOCK_EVERY_MS."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=10.0)
    try:
        while not stop.wait(LOCK_EVERY_MS / 1000 - LOCK_MS / 1000):
            conn.execute("BEGIN EXCLUSIVE")
            time.sleep(LOCK_MS / 1000)
            conn.execute("ROLLBACK")
    finally:
        conn.close()


def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


async def measure(threaded: bool, locked: bool, seconds: float, in_flight: int) -> dict[str, Any]:
    config = Config(STORAGE_THREAD=threaded, MAX_VALUES=10_000_000, MAX_VALUES_PER_IP=10_000_000,
                    MAX_VALUES_PER_KEY=10_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-storage-latency-") as tmp:
        node = Node(config, host="127.0.0.1", port=0, data_dir=Path(tmp))
        await node.start()
        stop = threading.Event()
        lock_thread = threading.Thread(target=locker, args=(node.data_dir / "khashmir.db", stop)) if locked else None
        try:
            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            proc = ctx.Process(target=load, args=(node.address, seconds, in_flight, out))
            if lock_thread is not None:
                lock_thread.start()
            proc.start()
            loop = asyncio.get_running_loop()
            result: dict[str, Any] = await loop.run_in_executor(None, out.get, True, seconds + 60)
            await loop.run_in_executor(None, proc.join, 10)
        finally:
            stop.set()
            if lock_thread is not None:
                lock_thread.join()
            await node.stop()
    return result


def row(name: str, r: dict[str, Any]) -> str:
    rtts = r["rtts"]
    ms = [x * 1000 for x in (percentile(rtts, 0.5), percentile(rtts, 0.99), max(rtts, default=float("nan")))]
    return (f"  {name:<7} ping p50 {ms[0]:7.2f} ms  p99 {ms[1]:7.2f} ms  max {ms[2]:7.2f} ms  "
            f"({len(rtts)} pings, {r['lost']} lost); {r['acked'] / r['elapsed']:,.0f} stores/s acked, "
            f"{r['errors']} errors")


async def run(seconds: float, in_flight: int, strict: bool) -> int:
    failed = False
    for scenario, locked in (("flood", False), ("locked", True)):
        inline = await measure(False, locked, seconds, in_flight)
        thread = await measure(True, locked, seconds, in_flight)
        p_inline, p_thread = percentile(inline["rtts"], 0.99), percentile(thread["rtts"], 0.99)
        print(f"{scenario}: store flood ({in_flight} in flight)"
              + (f", database held {LOCK_MS} ms of every {LOCK_EVERY_MS} ms" if locked else ""))
        print(row("inline", inline))
        print(row("thread", thread))
        ratio = p_inline / p_thread if p_thread else float("inf")
        line = f"  ping p99 inline / thread = {ratio:.1f}x"
        if locked:
            ok = p_thread * 2 <= p_inline
            failed |= not ok
            line += f"; target thread p99 <= half of inline: {'PASS' if ok else 'FAIL'}"
        print(line)
    return 1 if strict and failed else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=4.0, help="load per measurement (default 4)")
    p.add_argument("--in-flight", type=int, default=IN_FLIGHT, help=f"stores outstanding (default {IN_FLIGHT})")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args()
    sys.exit(asyncio.run(run(args.seconds, args.in_flight, args.strict)))


if __name__ == "__main__":
    main()
