"""Headless runs of the app: ``--screenshot FILE`` and ``--self-test``.

Both wait on real conditions (joined, more than one bucket, traffic rows,
statistics samples) with deadlines, never fixed sleeps.  The self-test
checks that the routing table holds K contacts that answered us, stores a
value under a random key through the look-up form and checks that nodes
other than ours accepted it and that the look-up finds it, checks that every
panel received data, and reports any failure as one line on stderr.  On
the Mainline profile the self-test announces and gets peers, and puts and
gets an immutable and a mutable item (twice: the seq must rise), all
through the form; the screenshot shows a get peers, and two more pictures
the Samples and the stored-data panels (:mod:`khgui.automation_mainline`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .profile import PEERS, can

if TYPE_CHECKING:
    from dht import Node

    from .controller import NetworkController
    from .traffic.panel import TrafficPanel
    from .window.main_window import MainWindowView

JOIN_TIMEOUT = 30.0
PANEL_TIMEOUT = 20.0
#: Milliseconds between two beats of the UI heartbeat (a QTimer: what repaints wait behind).
HEARTBEAT_MS = 16


class StallMonitor:
    """A QTimer beating every HEARTBEAT_MS on the GUI thread; records how late each beat came.

    The largest lateness is the longest the window could not repaint or
    react: the "largest UI stall" the self-test prints, with the beats' p99
    and the GUI thread's CPU share meanwhile (``time.thread_time``: what the
    window's own work costs, whatever else the machine runs).

    The headless runs start it once the window is shown *and has painted
    once* (:meth:`start_after_first_paint`): creating the widgets, loading
    fonts and laying out and painting the first frame happen before a user
    sees any window, so no one perceives them as a frozen window (they are
    the start-up time, reported apart as the app's clock).  From the first
    frame on, every late beat counts: the lab forming, our node joining,
    the panels and the map first taking in every lab node, the demo store
    and look-up.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.late_ms: list[float] = []
        self._timer = QTimer()
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)
        self._expected = 0.0
        self._cpu = self._wall = 0.0  # at start, then spent until stop
        self.started = True  # False while start_after_first_paint waits for the first frame

    def start(self) -> None:
        self._expected = time.monotonic() + HEARTBEAT_MS / 1000
        self._cpu, self._wall = time.thread_time(), time.monotonic()
        self._timer.start()

    def start_after_first_paint(self, window: Any, timeout_s: float = 5.0) -> None:
        """:meth:`start` once ``window`` (shown) has painted its first frame: Qt paints
        it as it handles the first expose of the native window, so the monitor starts
        at the first check (every few ms, on the GUI thread) that finds the window
        exposed (or after ``timeout_s``, on a platform that exposes nothing)."""
        from PySide6.QtCore import QTimer

        self.started = False
        deadline = time.monotonic() + timeout_s
        check = QTimer()
        check.setInterval(4)

        def poll() -> None:
            handle = window.windowHandle()
            if (handle is not None and handle.isExposed()) or time.monotonic() > deadline:
                check.stop()
                self.started = True
                self.start()

        check.timeout.connect(poll)
        self._first_frame = check  # kept alive as long as the monitor
        check.start()

    def stop(self) -> None:
        self._timer.stop()
        if self._wall == 0.0:  # never started
            return
        self._cpu, self._wall = time.thread_time() - self._cpu, time.monotonic() - self._wall

    def cpu_share(self) -> float:
        """The GUI thread's CPU time over the wall time between start and stop (0-1)."""
        return self._cpu / self._wall if self._wall > 0 else 0.0

    def _beat(self) -> None:
        now = time.monotonic()
        self.late_ms.append(max(0.0, now - self._expected) * 1000)
        self._expected = now + HEARTBEAT_MS / 1000

    def largest(self) -> float:
        return max(self.late_ms, default=0.0)

    def p99(self) -> float:
        if not self.late_ms:
            return 0.0
        ordered = sorted(self.late_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * (len(ordered) - 1) + 0.5))]

    def summary(self) -> str:
        return (f"largest UI stall {self.largest():.0f} ms, heartbeat p99 {self.p99():.0f} ms "
                f"over {len(self.late_ms)} beats, GUI thread CPU {self.cpu_share() * 100:.0f} %")


class CheckFailed(Exception):
    """A condition of the headless run did not hold; the message says which."""


async def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
    """Poll ``condition`` on the event loop until true; CheckFailed(what) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what} (waited {timeout:.0f} s)")
        await asyncio.sleep(poll)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return str(value).encode("utf-8")


async def _joined(window: "MainWindowView", controller: "NetworkController", start: Awaitable[bool],
                  errors: list[str], min_buckets: int = 2) -> "Node":
    """Our node, once started, joined and its routing panel showing ``min_buckets`` buckets."""
    if not await start:
        raise CheckFailed(f"could not start: {errors[-1] if errors else 'unknown error'}")
    await wait_for(lambda: controller.joined or bool(errors), JOIN_TIMEOUT, "node did not join the network")
    if not controller.joined:
        raise CheckFailed(f"could not join: {errors[-1]}")
    def ready() -> bool:
        return bool(window.routing.buckets.rowCount() >= min_buckets and window.routing.has_data())

    async def poke() -> None:  # in a small lab, look-ups make us meet more nodes
        await asyncio.sleep(1.0)
        while not ready() and controller.node is not None:
            try:
                await controller.run_lookup(controller.node.find_node(os.urandom(20)))
            except Exception:
                await asyncio.sleep(0.1)

    poker = asyncio.ensure_future(poke())
    try:
        await wait_for(ready, PANEL_TIMEOUT, "")
    except CheckFailed:
        raise CheckFailed(f"routing panel showed {window.routing.buckets.rowCount()} buckets with "
                          f"{window.routing.buckets.contact_count()} contacts, wanted {min_buckets}+ buckets "
                          f"(waited {PANEL_TIMEOUT:.0f} s)") from None
    finally:
        poker.cancel()
    node = controller.node
    if node is None:
        raise CheckFailed("our node stopped")
    return node


async def _populate(window: Any, names: tuple[str, ...], timeout: float) -> None:
    def ready() -> bool:
        data = window.panels_with_data()
        return all(data.get(n, False) for n in names if n in window.panels)

    try:
        await wait_for(ready, timeout, "panels without data")
    except CheckFailed:
        missing = [n for n, ok in window.panels_with_data().items() if n in names and not ok]
        raise CheckFailed(f"panels without data: {', '.join(missing)} (waited {timeout:.0f} s)") from None


async def screenshot(args: argparse.Namespace, window: "MainWindowView", controller: "NetworkController", start: Awaitable[bool],
                     errors: list[str], process_age: Callable[[], float]) -> int:
    await _joined(window, controller, start, errors)
    await _populate(window, ("routing", "traffic", "stats"), PANEL_TIMEOUT)
    lookup: Any = window.lookup
    populated = process_age()
    if args.map_screenshot:
        window.drain_lookups()
        window.map.view.clear_arcs()  # the map shows the demo look-up, not the join's
    if can(controller.config, PEERS):  # Mainline: a get peers in the picture
        from .automation_mainline import fill_mainline_panels

        await fill_mainline_panels(window)  # samples, stored peers and items (their own pictures below)
        try:
            demo = os.urandom(20).hex()
            await asyncio.wait_for(lookup.announce_from_form(demo), 10)
            await asyncio.wait_for(lookup.get_peers_from_form(demo), 10)
            await _populate(window, ("lookup",), 5)
            await _next_batch(window)
            _select_answer(window.traffic, "get_peers")
        except (Exception, asyncio.TimeoutError):  # the picture is still worth taking
            pass
    else:  # Khashmir: a store and a look-up in the picture
        try:
            await asyncio.wait_for(lookup.store_from_form("hello", "world"), 10)
            await asyncio.wait_for(lookup.lookup_from_form("hello"), 10)
            await _populate(window, ("lookup",), 5)
        except (Exception, asyncio.TimeoutError):  # the picture is still worth taking
            pass
    await _next_batch(window)
    if args.map_screenshot:  # first: the look-up's arcs fade within seconds
        await _map_screenshot(window, args.map_screenshot)
    pixmap = window.grab()
    if pixmap.isNull() or not pixmap.save(args.screenshot):
        raise CheckFailed(f"could not save the screenshot to {args.screenshot}")
    print(f"khgui: populated after {populated:.2f} s; screenshot {pixmap.width()}x{pixmap.height()} "
          f"saved to {args.screenshot}", flush=True)
    if window.samples is not None:  # Mainline: the Samples and stored-data panels too
        from .automation_mainline import save_panel_pictures

        for extra in await save_panel_pictures(window, args.screenshot):
            print(f"khgui: {extra} saved", flush=True)
    return 0


def _select_answer(traffic: "TrafficPanel", method: str) -> None:
    """Select the newest incoming ``method`` message in the traffic panel (its decoding in the picture)."""
    from .traffic.columns import DIR, METHOD

    model = traffic.table.model()
    for row in range(model.rowCount() - 1, -1, -1):
        if model.index(row, METHOD).data() == method and "in" in str(model.index(row, DIR).data()):
            traffic.table.selectRow(row)
            return


async def _map_screenshot(window: "MainWindowView", path: str) -> None:
    """Save the network map panel, with the look-up's queries still drawn across it."""
    panel = window.map
    dock = window.docks["map"]
    dock.show()
    dock.raise_()  # a hidden map only keeps the last overview: it fills when shown
    await wait_for(lambda: panel.model.rowCount() > 1, 10, "the network map has no nodes")
    window.drain_lookups()
    await asyncio.sleep(0)
    pixmap = panel.grab()
    if pixmap.isNull() or not pixmap.save(path):
        raise CheckFailed(f"could not save the map screenshot to {path}")
    arcs = len(panel.view.arcs())
    print(f"khgui: network map {pixmap.width()}x{pixmap.height()} with {panel.model.rowCount()} nodes and "
          f"{arcs} query arcs saved to {path}", flush=True)


async def _next_batch(window: Any, timeout: float = 2.0) -> None:
    """Wait for one more bridge batch (or the timeout) so the views are current."""
    seen = window.bridge.delivered
    try:
        await wait_for(lambda: window.bridge.delivered > seen, timeout, "no batch")
    except CheckFailed:
        pass
    await asyncio.sleep(0)


def live_contacts(node: Any) -> int:
    """Contacts of our routing table that have answered one of our requests."""
    return sum(1 for b in node.routing_table() for c in b.contacts if c.answered)


async def _form_store_and_lookup(lookup: Any, key: str, value: str) -> Any:
    """Store ``value`` under ``key`` and look it up, through the form; the StoreResult."""
    try:
        result = await asyncio.wait_for(lookup.store_from_form(key, value), 30)
    except asyncio.TimeoutError:
        raise CheckFailed("storing through the form timed out") from None
    except Exception as exc:
        raise CheckFailed(f"storing through the form failed: {type(exc).__name__}: {exc}") from None
    if result is None:
        raise CheckFailed(f"storing {key[:8]}... through the form did not run")
    try:
        values = await asyncio.wait_for(lookup.lookup_from_form(key), 30)
    except asyncio.TimeoutError:
        raise CheckFailed("looking up through the form timed out") from None
    except Exception as exc:
        raise CheckFailed(f"looking up through the form failed: {type(exc).__name__}: {exc}") from None
    found = [_as_bytes(v) for v in (values or [])]
    if value.encode("utf-8") not in found:
        raise CheckFailed(f"look-up of {key[:8]}... returned {len(found)} values, not the one stored")
    return result


async def self_test(args: argparse.Namespace, window: "MainWindowView", controller: "NetworkController", start: Awaitable[bool],
                    errors: list[str], process_age: Callable[[], float]) -> int:
    node = await _joined(window, controller, start, errors)
    missing = [n for n in ("routing", "traffic", "values", "lookup", "stats") if n not in window.panels]
    if missing:
        raise CheckFailed(f"panels missing from the window: {', '.join(missing)}")
    # The table holds at least K contacts that answered us (or every lab node, in a
    # smaller lab): a table of dead saved contacts fails here.
    want = node.config.K if controller.lab is None else min(node.config.K, controller.lab_size)
    try:
        await wait_for(lambda: live_contacts(node) >= want, PANEL_TIMEOUT, "")
    except CheckFailed:
        raise CheckFailed(f"the routing table holds {live_contacts(node)} contacts that answered us, "
                          f"wanted {want} (waited {PANEL_TIMEOUT:.0f} s)") from None
    lookup: Any = window.lookup
    if can(controller.config, PEERS):
        return await _mainline_self_test(window, lookup, node)
    # A random key: the value must be held by the network, not only by us.
    key = os.urandom(20).hex()
    value = f"hello from {os.getpid()} at {time.time():.0f}"
    result = await _form_store_and_lookup(lookup, key, value)
    others = [c for c in result.accepted if c.id != node.id]
    if not others:
        refused = "; ".join(f"{c.host}:{c.port}: {why}" for c, why in result.refused) or "none refused"
        raise CheckFailed(f"no node other than ours accepted the store of {key[:8]}... ({refused})")
    # And our own id as a key: we are the closest node to it, so the value is
    # also stored locally and the values panel has something to show.
    await _form_store_and_lookup(lookup, node.id.hex(), value)
    await _populate(window, tuple(window.panels), PANEL_TIMEOUT)
    print(f"khgui self-test: {live_contacts(node)} live contacts; {key[:8]}... stored at "
          f"{len(others)} other nodes and found", flush=True)
    return 0


async def _form(what: str, aw: Awaitable[Any], lookup: Any, timeout: float = 30) -> Any:
    """Await a call of the Mainline form; CheckFailed with the form's message if it gave nothing."""
    try:
        result = await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{what} through the form timed out") from None
    if result is None:
        raise CheckFailed(f"{what} through the form failed: {lookup.message()}")
    return result


async def _mainline_self_test(window: Any, lookup: Any, node: Any) -> int:
    """Announce and get peers, put and get an immutable and a mutable item, through the form."""
    info_hash = os.urandom(20).hex()
    accepted = await _form("announcing", lookup.announce_from_form(info_hash, 0), lookup)
    if accepted < 1:
        raise CheckFailed(f"no node accepted the announce of {info_hash[:8]}...")
    found = await _form("getting peers", lookup.get_peers_from_form(f"magnet:?xt=urn:btih:{info_hash}"), lookup)
    if (node.address[0], node.address[1]) not in [tuple(p) for p in found.peers]:
        raise CheckFailed(f"get peers of {info_hash[:8]}... found {len(found.peers)} peers, not our node")
    text = f"hello from {os.getpid()} at {time.time():.0f}"
    target = await _form("putting an immutable item", lookup.put_from_form(text), lookup)
    item = await _form("getting the immutable item", lookup.get_from_form(target.hex()), lookup)
    if _as_bytes(item.value) != text.encode("utf-8"):
        raise CheckFailed(f"get item {target.hex()[:8]}... returned {item.value!r:.60}, not the value put")
    salt = f"self-test {os.getpid()}"
    first = await _form("putting a mutable item", lookup.put_from_form(text, mutable=True, salt=salt), lookup)
    second = await _form("putting it again", lookup.put_from_form(text + " (2)", mutable=True, salt=salt), lookup)
    if second.seq <= first.seq:
        raise CheckFailed(f"the second put of the mutable item went out with seq {second.seq}, "
                          f"not above {first.seq}")
    mutable = await _form("getting the mutable item", lookup.get_from_form(mutable=True, salt=salt), lookup)
    if mutable.seq != second.seq or _as_bytes(mutable.value) != (text + " (2)").encode("utf-8"):
        raise CheckFailed(f"get of the mutable item found seq {mutable.seq}, wanted {second.seq} "
                          f"with the second value")
    # The stored-values panel lists Khashmir values only: dht has no public list of
    # the peers and items a Mainline node holds yet.
    await _populate(window, tuple(n for n in window.panels if n != "values"), PANEL_TIMEOUT)
    print(f"khgui self-test: {live_contacts(node)} live contacts; announce of {info_hash[:8]}... accepted by "
          f"{accepted} nodes and found ({len(found.peers)} peers); immutable {target.hex()[:8]}... and mutable "
          f"{second.target.hex()[:8]}... (seq {first.seq} then {second.seq}) put and found", flush=True)
    return 0


async def soak(args: argparse.Namespace, window: "MainWindowView", controller: "NetworkController", start: Awaitable[bool],
               errors: list[str], process_age: Callable[[], float], timeout: float = 90.0) -> int:
    """Run look-ups against the lab until ``args.soak`` events went through the bridge."""
    node = await _joined(window, controller, start, errors)
    deadline = time.monotonic() + timeout

    async def worker() -> None:
        while window.bridge.delivered < args.soak and time.monotonic() < deadline:
            target = os.urandom(20)
            try:
                await controller.run_lookup(node.find_node(target))
                await controller.run_lookup(node.get_value(target))
            except Exception:  # a timeout under load is not the point here
                await asyncio.sleep(0.01)

    workers = [asyncio.ensure_future(worker()) for _ in range(8)]
    try:
        await wait_for(lambda: window.bridge.delivered >= args.soak, timeout,
                       f"fewer than {args.soak} events passed through the bridge")
    finally:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    print(f"khgui soak: {window.bridge.delivered} events in {process_age():.1f} s, "
          f"{window.bridge.dropped} dropped", flush=True)
    return 0


async def run_headless(args: argparse.Namespace, window: "MainWindowView", controller: "NetworkController", start: Awaitable[bool],
                       reporter: Any, process_age: Callable[[], float]) -> int:
    """Run the screenshot or the self-test; 0 on success, 1 with one line on stderr otherwise."""
    errors: list[str] = []
    controller.error.connect(errors.append)
    what = "self-test" if args.self_test else "soak" if args.soak else "screenshot"
    monitor = StallMonitor()
    monitor.start_after_first_paint(window)  # the window's creation and first frame are start-up time
    try:
        if args.soak:
            rc = await soak(args, window, controller, start, errors, process_age)
        elif args.self_test:
            rc = await self_test(args, window, controller, start, errors, process_age)
        else:
            rc = await screenshot(args, window, controller, start, errors, process_age)
        if args.self_test and reporter.errors:
            raise CheckFailed(f"unexpected error during the run: {reporter.errors[0]}")
    except CheckFailed as exc:
        print(f"khgui {what} failed: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:
        print(f"khgui {what} failed: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr, flush=True)
        return 1
    finally:
        monitor.stop()
    print(f"khgui {what}: {monitor.summary()}", flush=True)
    if args.self_test:
        print(f"khgui self-test: OK after {process_age():.2f} s", flush=True)
    return rc
