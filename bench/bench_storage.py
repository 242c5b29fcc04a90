"""Bytes on disk per stored value (not a test).

Stores N values of 1 KB (random bytes, random keys, from 100 publisher IPs)
in a node's database one commit each, as store_value does, then reports the
database file, its WAL and shared-memory files, and bytes per value; then
expires everything and reports again.  Target: at most about 1.5 KB on disk
per 1 KB value (the first schema took 607 MB for 100,000).

Run: ``python bench/bench_storage.py [N]`` (default 100,000).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from dht.storage import Store


def on_disk(path: Path) -> dict[str, int]:
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        sizes["db" + suffix] = p.stat().st_size if p.exists() else 0
    return sizes


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        path = Path(tmp) / "khashmir.db"
        store = Store(path)
        start = time.perf_counter()
        now = time.time()
        for i in range(n):
            store.store_value(os.urandom(20), os.urandom(1024), now, publisher=f"10.0.{i % 100}.1")
        elapsed = time.perf_counter() - start
        sizes = on_disk(path)
        total = sum(sizes.values())
        print(f"{n} values of 1024 B in {elapsed:.1f} s ({n / elapsed:,.0f} stores/s, one commit each)")
        print("on disk while open: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items())
              + f"; total {total / 1e6:.1f} MB = {total / n:,.0f} B per value")
        store.close()
        sizes = on_disk(path)
        total = sum(sizes.values())
        print(f"after close: {total / 1e6:.1f} MB = {total / n:,.0f} B per value")
        again = Store(path)
        assert again.value_count == n, again.value_count
        again.expire(now + 1)
        again.close()
        print(f"after expiring all: {sum(on_disk(path).values()) / 1e6:.1f} MB (free pages are reused)")


if __name__ == "__main__":
    main()
