"""Capture benchmarks (not a test): write, decode and open a 1,000,000-datagram capture.

1. Write: a synthetic but realistic capture of one busy node (127.0.0.1:6881)
   talking to 2,000 peers: its queries out (find_node, find_value,
   get_value, store_value, ping; 20-byte transaction ids, real argument
   shapes) and their answers (8 compact nodes, tokens, values; one in 50 an
   error, one in 32 unanswered), queries from peers and our answers: 1M
   datagrams through :class:`dht.CaptureWriter`.
2. Decode: the whole file through :class:`dht.CaptureReader` +
   :class:`dht.KrpcDecoder`, against the baseline of only reading it
   (``CaptureReader`` alone) in the same run; and ``dht decode FILE`` as a
   subprocess (output to /dev/null).
3. Open: a fresh ``khgui`` main window (offscreen) opens the file through
   File > Open capture: time to the first rows in the traffic panel, time to
   the whole file decoded into the panels, and the process's RSS before the
   file, peak, and along the way (bounded by the traffic panel's row cap).

Run: ``QT_QPA_PLATFORM=offscreen python bench/bench_capture.py [DATAGRAMS]``
(``taskset -c 0,1`` to pin to 2 cores).
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import bencodepy

DATAGRAMS = 1_000_000
LOCAL = ("127.0.0.1", 6881)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def _messages(rng: random.Random) -> tuple[list[tuple[str, dict[bytes, object]]], list[dict[bytes, object]]]:
    """Pools of realistic query bodies and answers (encoded per datagram with a fresh tid)."""
    ident = rng.randbytes(20)
    queries: list[tuple[str, dict[bytes, object]]] = []
    for i in range(256):
        key = rng.randbytes(20)
        queries += [
            ("find_node", {b"id": ident, b"target": key}),
            ("find_value", {b"id": ident, b"key": key}),
            ("get_value", {b"id": ident, b"key": key, b"num": 0}),
            ("store_value", {b"id": ident, b"key": key, b"value": b"http://10.0.%d.%d:9977/p%d" % (i, i, i),
                             b"token": rng.randbytes(20)}),
            ("ping", {b"id": ident}),
        ]
    answers = []
    for _ in range(256):
        answers += [
            {b"id": rng.randbytes(20), b"nodes": [rng.randbytes(26) for _ in range(8)], b"token": rng.randbytes(20)},
            {b"id": rng.randbytes(20), b"nodes": [rng.randbytes(26) for _ in range(8)], b"num": rng.randrange(3)},
            {b"id": rng.randbytes(20), b"values": [rng.randbytes(40) for _ in range(rng.randrange(1, 4))]},
            {b"id": rng.randbytes(20)},
        ]
    return queries, answers


def write_capture(path: str, datagrams: int) -> int:
    from dht import CaptureWriter

    rng = random.Random(1)
    queries, answers = _messages(rng)
    peers = [(f"10.{i // 250}.{i % 250}.{1 + i % 7}", 1024 + rng.randrange(60000)) for i in range(2000)]
    t = time.time() - datagrams * 0.0005
    written = 0
    with CaptureWriter(path, flush_each=False) as w:
        while written < datagrams:
            peer = rng.choice(peers)
            method, args = rng.choice(queries)
            tid = rng.randbytes(20)
            incoming = rng.random() < 0.3  # a peer's query to us
            src, dst = (peer, LOCAL) if incoming else (LOCAL, peer)
            q = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args}
            w.write(t, src, dst, bencodepy.encode(q))
            written += 1
            t += 0.00025
            roll = rng.random()
            if roll < 1 / 32 or written >= datagrams:
                continue  # unanswered
            if roll < 1 / 32 + 1 / 50:
                a = {b"t": tid, b"y": b"e", b"e": [203, b"method unknown"]}
            else:
                a = {b"t": tid, b"y": b"r", b"r": rng.choice(answers)}
            w.write(t + 0.002 + rng.random() * 0.05, dst, src, bencodepy.encode(a))
            written += 1
            t += 0.00025
    return written


def decode_in_process(path: str) -> dict[str, float]:
    from dht import CaptureReader, KrpcDecoder

    start = time.perf_counter()
    with CaptureReader(path) as reader:
        n = sum(1 for _ in reader)
    read_only = time.perf_counter() - start
    start = time.perf_counter()
    decoder = KrpcDecoder()
    with CaptureReader(path) as reader:
        for d in reader:
            decoder.feed(d)
    full = time.perf_counter() - start
    return {"datagrams": n, "read_s": read_only, "decode_s": full, "messages": decoder.messages,
            "pairs": decoder.pairs, "rss_mb": rss_mb(), "peak_mb": peak_mb()}


def gui_open(path: str) -> dict[str, object]:
    """In a fresh process: open the capture in the main window; time first rows and the whole file."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from khgui.bridge import EventBridge
    from khgui.controller import NetworkController
    from khgui.window.main_window import MainWindowView

    app = QApplication.instance() or QApplication([])
    bridge = EventBridge()
    settings_file = os.path.join(tempfile.mkdtemp(prefix="bench-capture-"), "s.ini")
    window = MainWindowView(NetworkController(bridge), bridge, QSettings(settings_file, QSettings.Format.IniFormat),
                            persist=False)
    window.show()
    result: dict[str, object] = {"rss_before_mb": rss_mb()}
    along: list[tuple[int, float]] = []
    model = window.panels["traffic"].model
    start = time.perf_counter()
    opened = window.capture.open(path)
    assert opened, window.banner.text()

    def poll() -> None:
        now = time.perf_counter() - start
        if "first_rows_s" not in result and model.rowCount() > 0:
            result["first_rows_s"] = now
        session = window.capture.session
        scan = session.scan if session is not None else None
        if scan is not None:
            if not along or scan.messages - along[-1][0] >= 100_000:
                along.append((scan.messages, rss_mb()))
            if scan.finished:
                result["full_decode_s"] = now
                result["messages"] = scan.messages
                result["rows"] = model.rowCount()
                result["cap"] = model.cap
                result["summary"] = scan.summary
                app.quit()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(poll)
    timer.start()
    app.exec()
    result["rss_along_mb"] = [(n, round(m)) for n, m in along]
    result["rss_end_mb"] = rss_mb()
    result["peak_mb"] = peak_mb()
    return result


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--gui":
        print(json.dumps(gui_open(sys.argv[2])))
        return
    datagrams = int(sys.argv[1]) if len(sys.argv) > 1 else DATAGRAMS
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        path = os.path.join(tmp, "busy.pcapng")
        start = time.perf_counter()
        n = write_capture(path, datagrams)
        took = time.perf_counter() - start
        size = os.path.getsize(path)
        print(f"write: {n:,} datagrams, {size / 1e6:.0f} MB in {took:.1f} s "
              f"({took / n * 1e6:.1f} us/datagram, bencoding included)")
        d = decode_in_process(path)
        print(f"decode (dht.CaptureReader + KrpcDecoder): {d['messages']:,} messages, {d['pairs']:,} pairs in "
              f"{d['decode_s']:.1f} s; reading alone {d['read_s']:.1f} s (decode/read {d['decode_s'] / d['read_s']:.2f}x); "
              f"peak RSS {d['peak_mb']:.0f} MB")
        start = time.perf_counter()
        with open(os.devnull, "w") as null:
            rc = subprocess.run([sys.executable, "-m", "dht", "decode", path], stdout=null, timeout=600).returncode
        print(f"dht decode FILE > /dev/null: {time.perf_counter() - start:.1f} s, exit {rc}")
        out = subprocess.run([sys.executable, __file__, "--gui", path], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            print("gui open failed:", out.stderr.strip().splitlines()[-1:] or out.returncode)
            return
        g = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"khgui open: first rows {g['first_rows_s'] * 1000:.0f} ms, whole file into the panels "
              f"{g['full_decode_s']:.1f} s ({g['messages']:,} messages; {g['rows']:,} rows kept, cap {g['cap']:,})")
        print(f"khgui RSS: {g['rss_before_mb']:.0f} MB before opening, {g['rss_end_mb']:.0f} MB at the end, "
              f"peak {g['peak_mb']:.0f} MB; along the way (messages, MB): {g['rss_along_mb']}")


if __name__ == "__main__":
    main()
