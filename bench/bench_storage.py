"""Bytes on disk per stored value (not a test).

A real :class:`dht.Node` on 127.0.0.1 is sent N ``store_value`` queries of
1 KB values (random keys) over the wire, from 100 publisher addresses
(127.0.i.1, each with its own token), with a few queries in flight at a
time; every store is committed before its answer, as always.  Then the
bench reports the node's database, its WAL and shared-memory files, and
bytes per value, while the node runs and after it stopped.  Target: at
most about 1.5 KB on disk per 1 KB value (the first schema took 607 MB for
100,000).

Run: ``python -m bench.bench_storage [N]`` (default 100,000).  The rate
limits are lifted for loopback (``LOOPBACK_LIMIT_FACTOR``): this measures
the disk, not the defences.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import bencodepy

from dht import Config, Node

PUBLISHERS = 100
IN_FLIGHT = 32


def on_disk(directory: Path) -> dict[str, int]:
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        p = directory / f"khashmir.db{suffix}"
        sizes["db" + suffix] = p.stat().st_size if p.exists() else 0
    return sizes


def query(tid: bytes, method: bytes, args: dict[bytes, object]) -> bytes:
    data: bytes = bencodepy.encode({b"t": tid, b"y": b"q", b"q": method, b"a": args})
    return data


def publish(address: tuple[str, int], host: str, count: int) -> int:
    """Store ``count`` values from ``host``; the number acknowledged (blocking, in a thread)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(10.0)
    me = os.urandom(20)
    try:
        sock.sendto(query(b"f", b"find_node", {b"id": me, b"target": me}), address)
        token = bencodepy.decode(sock.recv(65535))[b"r"][b"token"]
        acked = sent = answers = 0
        while answers < count:
            while sent - answers < IN_FLIGHT and sent < count:
                args = {b"id": me, b"key": os.urandom(20), b"value": os.urandom(1024), b"token": token}
                sock.sendto(query(b"s%d" % sent, b"store_value", args), address)
                sent += 1
            kind = bencodepy.decode(sock.recv(65535)).get(b"y")
            if kind in (b"r", b"e"):  # else a query of the node's (a verification ping)
                answers += 1
                acked += kind == b"r"
        return acked
    finally:
        sock.close()


async def run(n: int) -> None:
    config = Config(LOOPBACK_LIMIT_FACTOR=1e6, MAX_VALUES=max(n, 1), MAX_VALUES_PER_IP=max(n // PUBLISHERS + 1, 1))
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        directory = Path(tmp)
        node = Node(config, host="127.0.0.1", port=0, data_dir=directory)
        await node.start()
        try:
            start = time.perf_counter()
            shares = [n // PUBLISHERS + (1 if i < n % PUBLISHERS else 0) for i in range(PUBLISHERS)]
            loop = asyncio.get_running_loop()
            acked = 0
            for batch in range(0, PUBLISHERS, 4):  # four publishers at a time, each in a thread
                jobs = [
                    loop.run_in_executor(None, publish, node.address, f"127.0.{i + 1}.1", shares[i])
                    for i in range(batch, min(batch + 4, PUBLISHERS))
                ]
                acked += sum(await asyncio.gather(*jobs))
            elapsed = time.perf_counter() - start
            stats = node.stats()
            sizes = on_disk(directory)
            total = sum(sizes.values())
            print(f"{acked} of {n} stores of 1024 B acknowledged in {elapsed:.1f} s "
                  f"({acked / elapsed:,.0f} stores/s over the wire, one commit each); node holds {stats.values}")
            print("on disk while running: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items())
                  + f"; total {total / 1e6:.1f} MB = {total / max(acked, 1):,.0f} B per value")
        finally:
            await node.stop()
        total = sum(on_disk(directory).values())
        per_value = total / max(acked, 1)
        print(f"after stop: {total / 1e6:.1f} MB = {per_value:,.0f} B per value")
        print(f"target <= 1.5 KB per 1 KB value: {'PASS' if per_value <= 1536 else 'FAIL'}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    asyncio.run(run(n))


if __name__ == "__main__":
    main()
