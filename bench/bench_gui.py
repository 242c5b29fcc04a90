"""GUI benchmarks of Khashmir Explorer (not a test).

1. Ingest: synthetic but realistic DatagramSent/DatagramReceived events go
   through a real EventBridge into the real TrafficPanel at increasing
   rates, while a 16 ms asyncio heartbeat measures how late the loop runs.
   Reports, per rate, the heartbeat's p99 lateness; the best rate with p99
   under 20 ms is the figure (target >= 10,000 events/s).
2. Launch: ``python -m khgui --screenshot`` with a 32-node lab as a
   subprocess: wall time, and the app's own time-to-populated (target < 3 s).
3. Map (``--map 2000,10000``): the network map panel fed synthetic
   ``dht.LabNodeInfo`` overviews (real dht type; a third of the nodes change
   per overview, as a forming lab's do; 1 %, as a formed lab's), offscreen at 900x800.  Reports per
   size the GUI-thread CPU (``time.thread_time``) of one overview
   (``set_nodes``: the model, the view's arrays, the counts and the legend),
   of one paint of the node layer (redrawn: the overview changed it), of
   one pan frame (a drag step: the layer redrawn) and of one frame with
   only the arcs redrawn, and of a hit test (``node_at``).  Medians of
   repeated runs; the ratio column is 10,000 nodes against 2,000.

``--profile mainline``: the same on the Mainline profile, with Mainline's
messages (get_peers, find_node, announce_peer, sample_infohashes; nodes as
one string, compact peers, ``v`` and ``ip``) decoded by the traffic panel.

Run: ``QT_QPA_PLATFORM=offscreen python bench/bench_gui.py [--profile mainline] [--map 2000,10000]
[--only-map]``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

RATES = (2_000, 5_000, 10_000, 20_000, 40_000, 80_000)
SECONDS_PER_RATE = 2.0
HEARTBEAT = 0.016
LATE_LIMIT_MS = 20.0


def mainline_bodies(k: int) -> tuple[str, dict[bytes, object], dict[bytes, object]]:
    """Method, query arguments and answer of the k-th Mainline exchange."""
    method = ("get_peers", "find_node", "announce_peer", "sample_infohashes")[k % 4]
    args: dict[bytes, object] = {b"id": os.urandom(20)}
    answer: dict[bytes, object] = {b"id": os.urandom(20)}
    if method == "get_peers":
        args[b"info_hash"] = os.urandom(20)
        answer[b"token"] = os.urandom(4)
        if k % 8 == 0:
            answer[b"values"] = [os.urandom(6) for _ in range(12)]
        else:
            answer[b"nodes"] = os.urandom(26 * 8)
    elif method == "find_node":
        args[b"target"] = os.urandom(20)
        answer[b"nodes"] = os.urandom(26 * 8)
    elif method == "announce_peer":
        args.update({b"info_hash": os.urandom(20), b"port": 6881, b"token": os.urandom(4), b"implied_port": 1})
    else:
        args[b"target"] = os.urandom(20)
        answer.update({b"interval": 21600, b"num": 40, b"samples": os.urandom(20 * 20), b"nodes": os.urandom(26 * 8)})
    return method, args, answer


def make_events(n: int, start: float, lag: int = 128, mainline: bool = False) -> list[object]:
    """``n`` events alike a busy node's: queries out, answers in, with RTTs.

    Each answer has its query's peer and transaction id (so the panel pairs
    them and updates the request row) and arrives ``lag`` events after it, so
    at 10,000 events/s about an eighth of the answers land in a later batch
    than their query (a ``dataChanged`` on rows already shown).  Every 16th
    query gets no answer (it stays pending); its slot holds a query from
    another node.  Built once, before timing.
    """
    from dht import events as ev

    methods = ("find_node", "get_value", "ping", "store_value")
    queries: list[object] = []
    answers: dict[int, object] = {}
    for k in range((n + 1) // 2):
        peer = ("127.0.0.1", 40000 + k % 64)
        tid = (k & 0xFFFF).to_bytes(2, "big")
        if mainline:
            method, args, body = mainline_bodies(k)
            q: dict[bytes, object] = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args, b"v": b"KE\x00\x01"}
            r: dict[bytes, object] = {b"t": tid, b"y": b"r", b"r": body, b"v": b"LT\x02\x11",
                                      b"ip": bytes([127, 0, 0, 1, 0x1a, 0xe1])}
        else:
            method = methods[k % 4]
            q = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": {b"id": os.urandom(20), b"target": os.urandom(20)}}
            r = {b"t": tid, b"y": b"r", b"r": {b"id": os.urandom(20), b"nodes": os.urandom(26 * 8)}}
        queries.append(ev.DatagramSent(start, peer, "q", method, tid, 92, q))
        if k % 16 != 15:
            answers[k] = ev.DatagramReceived(start, peer, "r", method, tid, 260, r, rtt=0.0005 + (k % 50) / 1000)
    out: list[object] = []
    half = lag // 2
    for k, query in enumerate(queries):
        out.append(query)
        answer = answers.get(k - half)
        if answer is None:  # a query from another node instead
            tid = (k & 0xFFFF).to_bytes(2, "big")
            q = {b"t": tid, b"y": b"q", b"q": b"ping", b"a": {b"id": os.urandom(20)}}
            answer = ev.DatagramReceived(start, ("10.0.0.9", 6881 + k % 16), "q", "ping", tid, 56, q)
        out.append(answer)
    return out[:n]


async def ingest_at(rate: int, bridge: object, pool: list[object]) -> tuple[float, float, int, float]:
    """Feed ``rate`` events/s for SECONDS_PER_RATE.

    Returns (p99 late ms, max late ms, events, GUI-thread CPU %).  The CPU share
    (``time.thread_time``: bridge, panel, painting, feeder and heartbeat) does
    not depend on what else the machine runs, unlike the lateness.
    """
    lateness: list[float] = []
    stop = False

    async def heartbeat() -> None:
        loop = asyncio.get_running_loop()
        expected = loop.time() + HEARTBEAT
        while not stop:
            await asyncio.sleep(max(0.0, expected - loop.time()))
            now = loop.time()
            lateness.append(max(0.0, now - expected) * 1000)
            expected = now + HEARTBEAT

    async def feed() -> int:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        sent = 0
        while (elapsed := loop.time() - t0) < SECONDS_PER_RATE:
            due = int(elapsed * rate) - sent
            if due > 0:
                for j in range(due):
                    bridge.push(pool[(sent + j) % len(pool)])  # type: ignore[attr-defined]
                sent += due
            await asyncio.sleep(0.005)
        return sent

    cpu0, wall0 = time.thread_time(), time.perf_counter()
    hb = asyncio.ensure_future(heartbeat())
    sent = await feed()
    stop = True
    await hb
    cpu = (time.thread_time() - cpu0) / (time.perf_counter() - wall0) * 100
    arr = np.array(lateness or [0.0])
    return float(np.percentile(arr, 99)), float(arr.max()), sent, cpu


def bench_ingest(profile: str = "khashmir") -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from khgui.bridge import EventBridge
    from khgui.controller import NetworkController
    from khgui.traffic.panel import TrafficPanel

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from dht import Config

    bridge = EventBridge()
    controller = NetworkController(bridge, config=Config(PROFILE=profile))
    panel = TrafficPanel(controller, bridge)
    panel.resize(900, 500)
    panel.show()
    pool = make_events(20_000, time.monotonic(), mainline=profile == "mainline")  # prebuilt: not timed
    loop.run_until_complete(asyncio.sleep(0.5))  # first paints (fonts, layout) before any measurement
    best = 0
    print(f"ingest ({profile}): rate (events/s) -> heartbeat p99 / max lateness (ms), events, dropped, GUI-thread CPU")
    for rate in RATES:
        p99, worst, sent, cpu = loop.run_until_complete(ingest_at(rate, bridge, pool))
        ok = p99 < LATE_LIMIT_MS and bridge.dropped == 0
        print(f"  {rate:>7,}/s -> p99 {p99:6.1f} ms, max {worst:6.1f} ms, {sent:,} events, "
              f"{bridge.dropped} dropped, cpu {cpu:5.1f}% {'OK' if ok else 'over'}")
        if ok:
            best = rate
    print(f"ingest: {best:,} events/s absorbed with heartbeat p99 < {LATE_LIMIT_MS:.0f} ms (target >= 10,000)")
    bridge.stop()
    panel.close()
    loop.close()
    return best


def bench_launch(lab: int = 32, profile: str = "khashmir") -> float:
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "shot.png")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KHGUI_SETTINGS_DIR=tmp)
        t0 = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "khgui", "--profile", profile, "--lab", str(lab), "--screenshot", png,
                                 "--data-dir", os.path.join(tmp, "d")], capture_output=True, text=True, env=env,
                                timeout=120)
        wall = time.perf_counter() - t0
    match = re.search(r"populated after ([0-9.]+) s", result.stdout)
    populated = float(match.group(1)) if match else float("nan")
    status = "OK" if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()}"
    print(f"launch ({lab}-node {profile} lab): populated after {populated:.2f} s (app's own clock), "
          f"process wall time incl. demo look-up and shutdown {wall:.2f} s [{status}] (target < 3 s)")
    return populated


def synthetic_overview(n: int, seed: int, dead_every: int = 23) -> list[object]:
    """``n`` lab nodes as ``dht.LabNodeInfo`` (random ids, loopback addresses, a dead one in ``dead_every``)."""
    import random

    from dht import LabNodeInfo

    rng = random.Random(seed)
    out: list[object] = []
    for i in range(n):
        buckets = rng.randrange(5, 14)
        contacts = rng.randrange(8, buckets * 8 + 1)
        out.append(LabNodeInfo(rng.randbytes(20), f"127.0.{i // 250}.{i % 250 + 2}", 20000 + i % 40000,
                               i % dead_every != 5, contacts, buckets, contacts / (buckets * 8)))
    return out


def next_overview(infos: list[object], round_: int) -> list[object]:
    """The next second's overview: a third of the nodes with one contact more (or fewer)."""
    from dataclasses import replace

    out = list(infos)
    for i in range(round_ % 3, len(out), 3):
        info = out[i]
        out[i] = replace(info, contacts=max(1, info.contacts + (1 if round_ % 2 else -1)))  # type: ignore[type-var]
    return out


def bench_map(sizes: list[int]) -> dict[int, dict[str, float]]:
    """GUI-thread CPU of the network map per overview, paint, pan frame and hit test (ms, medians)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication

    from khgui.map.panel import NetworkMapPanel

    app = QApplication.instance() or QApplication([])
    results: dict[int, dict[str, float]] = {}

    def cpu_ms(action: object, repeat: int) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.thread_time()
            action()  # type: ignore[operator]
            times.append((time.thread_time() - t0) * 1000)
        return float(np.median(times))

    print("map: nodes -> GUI-thread CPU (ms, median) of one overview (a third of the nodes changed since the "
          "last; a formed lab's: 1 %), one node-layer paint, one pan frame, one arcs-only frame (150 arcs; 3,000), one hit test")
    for n in sizes:
        panel = NetworkMapPanel()
        panel.resize(900, 800)
        panel.show()
        app.processEvents()  # bench only: lay the panel out before timing
        view = panel.view
        infos = synthetic_overview(n, seed=n)
        own = synthetic_overview(1, seed=7)[0]
        panel.set_nodes(infos, own)
        view.repaint()
        rounds = [0]

        def overview_prepared() -> None:
            panel.set_nodes(prepared[rounds[0] % len(prepared)], own)
            rounds[0] += 1

        calm = [list(infos) for _ in range(2)]  # a formed lab: 1 % of the nodes change per second
        for r, overview_ in enumerate(calm):
            for i in range(r, n, 100):
                overview_[i] = next_overview([infos[i]], r + 1)[0]

        def overview_calm() -> None:
            rounds[0] += 1
            panel.set_nodes(calm[rounds[0] % 2], own)

        steady_ms = cpu_ms(overview_calm, 12)
        prepared = [next_overview(infos, r) for r in range(1, 7)]  # built before timing
        set_ms = cpu_ms(overview_prepared, 12)

        def layer() -> None:
            overview_prepared()
            view.repaint()

        paint_ms = cpu_ms(layer, 12) - set_ms
        pan = [0]

        def pan_frame() -> None:
            pan[0] += 1
            view._pan = QPointF(float(pan[0] % 7), float(pan[0] % 5))
            view.repaint()

        view.set_zoom(1.0)
        pan_ms = cpu_ms(pan_frame, 12)
        ids = [i.id for i in infos[:200]]  # type: ignore[attr-defined]
        for k in range(150):
            view.query_sent(ids[k], k // 10, ids[k + 1], 0.0 + time.monotonic())
        arcs_ms = cpu_ms(view.repaint, 12)
        view.clear_arcs()
        now = time.monotonic()
        for k in range(3000):  # MAX_ARCS: the lab's lookups watched
            asked = infos[(k * 7919) % n].id  # type: ignore[attr-defined]
            view.query_sent(ids[k % 200], k // 10, asked, now)
            if k % 2:
                view.query_settled(ids[k % 200], k // 10, asked, "answered", now)
        many_ms = cpu_ms(view.repaint, 8)
        view.clear_arcs()
        points = [view.node_position(r) + QPointF(2.0, 1.0) for r in range(0, n, max(1, n // 50))]
        hit_ms = cpu_ms(lambda: [view.node_at(p) for p in points], 5) / len(points)
        assert all(view.node_at(view.node_position(r)) >= 0 for r in range(0, n, max(1, n // 50)))
        results[n] = {"overview": set_ms, "calm": steady_ms, "paint": paint_ms, "pan": pan_ms, "arcs": arcs_ms,
                      "arcs3000": many_ms, "hit": hit_ms}
        print(f"  {n:>6,} nodes -> overview {set_ms:6.1f} ms (1 % changed: {steady_ms:5.1f} ms), node layer {paint_ms:6.1f} ms, pan frame "
              f"{pan_ms:6.1f} ms, arcs frame {arcs_ms:6.1f} ms (3,000 arcs: {many_ms:5.1f} ms), hit test {hit_ms * 1000:6.1f} us", flush=True)
        panel.close()
        panel.deleteLater()
    if len(sizes) >= 2:
        a, b = results[sizes[0]], results[sizes[-1]]
        print(f"map: {sizes[-1]:,} / {sizes[0]:,} nodes: " + ", ".join(
            f"{k} x{b[k] / a[k]:.1f}" if a[k] > 0 else f"{k} -" for k in a))
    return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("khashmir", "mainline"), default="khashmir")
    parser.add_argument("--map", default="2000,10000", help="node counts of the map bench (empty: none)")
    parser.add_argument("--only-map", action="store_true", help="only the map bench")
    options = parser.parse_args()
    if options.map:
        bench_map([int(n) for n in options.map.split(",") if n])
    if not options.only_map:
        bench_ingest(options.profile)
        bench_launch(profile=options.profile)
