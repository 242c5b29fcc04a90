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
* request path: ``dht/node`` and the request table, RTT, stats and budget of
  ``dht/core`` (a request's future, its answer checked, the sender offered);
* routing table: the rest of ``dht/core`` (the table, its buckets, contacts);
* other.

cProfile makes Python calls dearer than C ones, so the shares are a guide;
the µs column scales them to the unprofiled CPU per query.

    python -m bench.bench_datagram [--seconds 2] [--method ping|find_node]

``--lab N`` measures instead the CPU of an RPC inside a lab, where a lab's
nodes spend it: a :class:`dht.Lab` of N nodes forms (its datagrams carried
from node to node in the process, no system call), and the loop thread's CPU
(``time.thread_time``) from the moment every node listens to the moment the
lab has formed is divided by the RPCs its nodes sent meanwhile (pings and
the joins' find_node, each asked by one node and answered by another).  A
second formation runs under cProfile for the function calls per RPC.  Each
run is a process of its own; with ``--baseline-tree DIR`` (a directory whose
``dht`` is another checkout's and whose ``bench`` is this one's) the same is
run on that tree too, the two alternated, and the medians compared:

    python -m bench.bench_datagram --lab 500 [--rounds 3] [--baseline-tree DIR]

Loopback only, port 0; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any

import bencode2

from dht import Config, Lab, Node
from dht.events import Event, LabProgress

from .bench_krpc import drive, received

STAGES = (
    "socket and loop", "transport shell", "limits", "machine", "wire", "handlers", "request path", "routing table",
    "other",
)
#: --lab: the lab's own share (its formation's scheduling, the in-process fabric) is shown apart
LAB_STAGES = STAGES[:-1] + ("lab", "other")


#: dht/core modules of a request's life (the rest of dht/core is the routing table's)
REQUEST_PATH = ("core/requests.py", "core/rtt.py", "core/stats.py", "core/budget.py", "core/events.py")


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
        if inner.startswith("node/") or inner in REQUEST_PATH:
            return "request path"
        if inner.startswith(("core/", "node/")):
            return "routing table"
        if inner.startswith("lab/"):
            return "lab"
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


# --- CPU per RPC inside a lab ------------------------------------------------------------

async def lab_worker(profile: str, size: int, calls: bool) -> dict[str, Any]:
    """One formation of a lab of ``size`` nodes: its loop thread's CPU (or, ``calls``, its
    function calls under cProfile) from every node listening to formed, and its RPCs."""
    lab = Lab(size, Config(PROFILE=profile))
    profiler = cProfile.Profile(time.thread_time) if calls else None
    marks: dict[str, float] = {}

    def on_event(event: Event) -> None:
        if not isinstance(event, LabProgress):
            return
        if event.stage == "starting" and event.done == event.total:
            marks["t0"] = time.thread_time()
            if profiler is not None:
                profiler.enable()
        elif event.stage == "formed" and "t1" not in marks:
            if profiler is not None:
                profiler.disable()
            marks["t1"] = time.thread_time()

    lab.subscribe(on_event)
    try:
        await lab.start()
        rpcs = sum(m.sent for n in lab.nodes for m in n.stats().methods.values())
        answered = sum(m.received for n in lab.nodes for m in n.stats().methods.values())
    finally:
        await lab.stop()
    out: dict[str, Any] = {"rpcs": rpcs, "answered": answered, "cpu_s": marks["t1"] - marks["t0"]}
    if profiler is not None:
        stats = pstats.Stats(profiler)
        out["calls"] = sum(v[1] for v in stats.stats.values())  # type: ignore[attr-defined]
        out["stages"] = by_stage(stats)
    return out


def run_lab_worker(tree: str | None, profile: str, size: int, calls: bool) -> dict[str, Any]:
    """:func:`lab_worker` in a process of its own, on ``tree``'s ``dht`` (None: this one's)."""
    root = tree or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, "-m", "bench.bench_datagram", "--lab-worker", profile, "--lab", str(size)]
    if calls:
        cmd.append("--calls")
    proc = subprocess.run(cmd, cwd=root, env={**os.environ, "PYTHONPATH": root}, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise RuntimeError(f"lab worker ({profile}, {tree or 'this tree'}) failed: {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def lab_main(args: argparse.Namespace) -> int:
    trees: list[str | None] = [None] + ([os.path.abspath(args.baseline_tree)] if args.baseline_tree else [])
    print(f"thread CPU per RPC inside a lab of {args.lab} nodes (its formation: every RPC asked by one lab node "
          f"and answered by another, carried in the process); medians of {args.rounds}; python "
          f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    for profile in ("khashmir", "mainline"):
        per: dict[str | None, list[float]] = {t: [] for t in trees}
        calls: dict[str | None, float] = {}
        stages: dict[str | None, dict[str, float]] = {}
        for _ in range(args.rounds):
            for tree in trees:
                r = run_lab_worker(tree, profile, args.lab, False)
                per[tree].append(r["cpu_s"] / max(r["rpcs"], 1))
        for tree in trees:
            r = run_lab_worker(tree, profile, args.lab, True)
            calls[tree] = r["calls"] / max(r["rpcs"], 1)
            stages[tree] = r["stages"]
        for tree in trees:
            name = "this tree" if tree is None else f"baseline {tree}"
            runs = ", ".join(f"{v * 1e6:.1f}" for v in per[tree])
            cpu = statistics.median(per[tree])
            print(f"  {profile:<9} {name}: {cpu * 1e6:.1f} µs per RPC asked and answered "
                  f"(runs {runs}); {calls[tree]:.0f} function calls per RPC")
            total = sum(stages[tree].values()) or 1.0
            print("            by stage (profiled shares scaled to the unprofiled µs): " + ", ".join(
                f"{stage} {stages[tree].get(stage, 0.0) / total * cpu * 1e6:.1f}" for stage in LAB_STAGES))
        if args.baseline_tree:
            ratio = statistics.median(per[None]) / statistics.median(per[trees[1]])
            print(f"  {profile:<9} this tree / the baseline: {ratio:.2f}x CPU, "
                  f"{calls[None] / calls[trees[1]]:.2f}x calls")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="measured seconds per run (default 2)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before measuring (default 1)")
    parser.add_argument("--outstanding", type=int, default=64, help="queries kept in flight (default 64)")
    parser.add_argument("--method", choices=("ping", "find_node"), default="ping", help="the query (default ping)")
    parser.add_argument("--lab", type=int, default=0, metavar="N",
                        help="measure thread CPU per RPC inside a forming lab of N nodes instead")
    parser.add_argument("--rounds", type=int, default=3, help="--lab: formations per tree and profile (default 3)")
    parser.add_argument("--baseline-tree", default=None, metavar="DIR",
                        help="--lab: also run DIR's dht (DIR/dht another checkout's, DIR/bench this one's)")
    parser.add_argument("--lab-worker", choices=("khashmir", "mainline"), help=argparse.SUPPRESS)
    parser.add_argument("--calls", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.lab_worker:
        print(json.dumps(asyncio.run(lab_worker(args.lab_worker, args.lab, args.calls))))
        return 0
    if args.lab:
        return lab_main(args)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
