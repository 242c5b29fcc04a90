"""Where a datagram's CPU goes: one query answered, stage by stage, for each profile.

Two floors first, in the same run: an asyncio responder that answers each
datagram with a fixed reply (the socket and the loop: a read, a ``sendto``),
and one that also decodes the query and encodes a reply of the node's shape
with bencode2 (C).  Then a :class:`dht.Node` answers pings (or find_node) from a client in another
process (``bench_krpc``'s client: pre-encoded queries, a window kept in
flight), first unprofiled -- the server's CPU per query, the figure to
compare -- then under cProfile.  The profile's own time is grouped by where
the code lives, and each built-in (a ``sendto``, a C decode, a ``dict.get``)
is charged to the module that called it:

* socket and loop: asyncio, selectors, the socket calls;
* transport shell: ``dht/rpc`` (the machine's asyncio shell, batched reads);
* limits: ``dht/core/limits.py`` (admission, reply budgets);
* machine: ``dht/machine`` (the sans-IO KRPC machine);
* wire: ``dht/wire``, bencode2 and bencodepy (decode, envelope, encode);
* handlers: ``dht/khashmir``, ``dht/mainline`` (dispatch, the answer);
* routing table: the rest of ``dht/core`` and ``dht/node`` (the sender offered
  to the table, its reports, stats);
* other.

cProfile makes Python calls dearer than C ones, so the shares are a guide;
the µs column scales them to the unprofiled CPU per query.

    python -m bench.bench_datagram [--seconds 2] [--method ping|find_node]

Loopback only, port 0; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import bencode2

from dht import Config, Node

from .bench_krpc import drive, received

STAGES = ("socket and loop", "transport shell", "limits", "machine", "wire", "handlers", "routing table", "other")


def stage_of(filename: str) -> str:
    """The stage a function's module belongs to (see the module's docstring)."""
    path = filename.replace(os.sep, "/")
    if "/dht/" in path:
        inner = path.split("/dht/", 1)[1]
        if inner.startswith("rpc/"):
            return "transport shell"
        if inner == "core/limits.py":
            return "limits"
        if inner.startswith("machine/"):
            return "machine"
        if inner.startswith("wire/"):
            return "wire"
        if inner.startswith(("khashmir/", "mainline/")):
            return "handlers"
        if inner.startswith(("core/", "node/")):
            return "routing table"
        return "other"
    if "bencode" in path:
        return "wire"
    if "/asyncio/" in path or path.endswith(("selectors.py", "socket.py")):
        return "socket and loop"
    return "other"


def by_stage(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of own time per stage; a built-in's time goes to its callers' stages."""
    out: dict[str, float] = defaultdict(float)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, callers) in raw.items():
        if filename != "~":
            out[stage_of(filename)] += tottime
            continue
        if "socket" in name or "select" in name or "epoll" in name:
            out["socket and loop"] += tottime  # a syscall is the socket's, whoever asks
            continue
        total = sum(c[2] for c in callers.values()) or 0.0
        for (cfile, _cl, _cn), c in callers.items():
            share = c[2] / total if total else 1.0 / len(callers)
            out[stage_of(cfile) if cfile != "~" else "other"] += tottime * share
        if not callers:
            out["other"] += tottime
    return out


class Floor(asyncio.DatagramProtocol):
    """A responder that does only the floor's work: ``parse`` False, a fixed reply; True,
    bencode2 decode of the query and encode of an answer of the node's shape."""

    REPLY_ID = bytes.fromhex("f0" * 20)

    def __init__(self, parse: bool) -> None:
        self.parse = parse
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        assert self.transport is not None
        if not self.parse:
            self.transport.sendto(b"d1:rd2:id20:" + self.REPLY_ID + b"e1:t2:aa1:y1:re", addr)
            return
        msg = bencode2.bdecode(data)
        self.transport.sendto(bencode2.bencode({b"t": msg[b"t"], b"y": b"r", b"r": {b"id": self.REPLY_ID}}), addr)


async def floor(parse: bool, method: str, args: argparse.Namespace) -> float:
    """CPU seconds per query of a :class:`Floor` responder."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Floor(parse), local_addr=("127.0.0.1", 0))
    try:
        result = await drive(transport.get_extra_info("sockname")[:2], method, args)
    finally:
        transport.close()
    return float(result["cpu_per_query"])


async def measure(profile: str, method: str, args: argparse.Namespace) -> tuple[float, dict[str, float], int]:
    """(unprofiled CPU s per query, profiled seconds per stage per query, queries profiled)."""
    with tempfile.TemporaryDirectory(prefix="bench-datagram-") as tmp:
        node = Node(Config(PROFILE=profile), host="127.0.0.1", port=0, data_dir=tmp)
        await node.start()
        try:
            plain = await drive(node.address, method, args)
            before = received(node, method)
            profiler = cProfile.Profile(time.process_time)  # CPU, not wall: a sendto or a poll may wait
            profiler.enable()
            try:
                await drive(node.address, method, args)
            finally:
                profiler.disable()
            count = received(node, method) - before
        finally:
            await node.stop()
    stages = by_stage(pstats.Stats(profiler))
    return plain["cpu_per_query"], {k: v / max(count, 1) for k, v in stages.items()}, count


async def main_async(args: argparse.Namespace) -> int:
    print(f"CPU per {args.method} answered, by stage; {args.seconds:g} s measured after {args.warmup:g} s "
          f"warm-up; python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    echo = await floor(False, args.method, args)
    parsed = await floor(True, args.method, args)
    print(f"floors: the socket and the loop {echo * 1e6:.1f} µs per query; with a bencode2 decode and "
          f"encode {parsed * 1e6:.1f} µs")
    for profile in ("khashmir", "mainline"):
        cpu, stages, count = await measure(profile, args.method, args)
        total = sum(stages.values()) or 1.0
        print(f"\n{profile}: {cpu * 1e6:.1f} µs of CPU per query unprofiled, {cpu / echo:.1f}x the socket's "
              f"floor, {(cpu - parsed) * 1e6:.1f} µs over the bencode floor ({count} queries profiled)")
        print(f"  {'stage':<16} {'share':>6} {'µs':>7}")
        for stage in STAGES:
            share = stages.get(stage, 0.0) / total
            print(f"  {stage:<16} {share * 100:>5.1f}% {share * cpu * 1e6:>7.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measured seconds per run (default 2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before measuring (default 1)")
    parser.add_argument("--outstanding", type=int, default=64, help="queries kept in flight (default 64)")
    parser.add_argument("--method", choices=("ping", "find_node"), default="ping", help="the query (default ping)")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
