"""Khashmir Explorer's entry point: arguments, Qt application, qasync loop.

``main()`` parses the command line, creates the QApplication with qasync's
event loop, the :class:`EventBridge`, the :class:`NetworkController` and the
main window, starts the network (a local lab of 32 nodes by default, or the
``--bootstrap`` addresses), and runs until the window closes.  With
``--screenshot FILE`` or ``--self-test`` it runs :mod:`khgui.automation`
instead and exits with its status.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import traceback
from types import TracebackType
from typing import Any

LAUNCH = time.monotonic()
log = logging.getLogger("khgui")
DEFAULT_LAB = 32
MAX_LAB = 10_000
#: The most worker processes a lab may be given (--lab-processes).
MAX_LAB_PROCESSES = 64


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; else since import)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rpartition(")")[2].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - LAUNCH


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; bad arguments exit 2 with a one-line message."""
    from dht.cli import OneLineParser, address_argument, int_in_range, port_number

    p = OneLineParser(prog="khgui", description="Khashmir Explorer: watch a Kademlia DHT at work.")
    p.add_argument("--bootstrap", metavar="HOST:PORT", type=address_argument, action="append", default=[],
                   help="join this node (repeatable); no local lab unless --lab is given")
    p.add_argument("--profile", choices=("khashmir", "mainline"), default="khashmir",
                   help="the DHT our node and the lab speak: apt-p2p's Khashmir (default) or BitTorrent's Mainline")
    p.add_argument("--public", action="store_true",
                   help="join the public Mainline DHT on the Internet through the routers of Network \u25b8 "
                        "Public DHT routers (read-only by default); implies --profile mainline and no lab "
                        "unless --lab is given; asking for it here stands for the window's confirmation")
    p.add_argument("--port", type=port_number, default=0, help="UDP port of our node (default: any free port)")
    p.add_argument("--data-dir", metavar="DIR", default=None, help="directory of our node's database")
    p.add_argument("--lab", metavar="N", type=int_in_range(0, MAX_LAB), default=None,
                   help=f"local lab size on 127.0.0.1 (default {DEFAULT_LAB} without --bootstrap; 0 for none)")
    p.add_argument("--lab-processes", metavar="P", type=int_in_range(0, MAX_LAB_PROCESSES), default=None,
                   help="worker processes of a lab of 100 nodes or more (default: one per core; "
                        "0: a thread of this process)")
    p.add_argument("--open", metavar="FILE", default=None,
                   help="show a pcap or pcapng capture instead of a live node (no lab, no node)")
    p.add_argument("--capture", metavar="FILE", default=None,
                   help="record every datagram of our node to FILE (pcapng)")
    p.add_argument("--capture-lab", action="store_true", help="with --capture: record every lab node too")
    p.add_argument("--krpc-timeout", metavar="SECONDS", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--screenshot", metavar="FILE", default=None,
                   help="save a screenshot once the panels are populated, then quit")
    p.add_argument("--map-screenshot", metavar="FILE", default=None,
                   help="with --screenshot: also save the network map with the demo look-up drawn across it")
    p.add_argument("--self-test", action="store_true", help="join, store and look up through the form; exit 0 if OK")
    p.add_argument("--soak", metavar="EVENTS", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--theme", choices=("system", "light", "dark", "none"), default=None,
                   help="colour theme for this run (default: the View \u25b8 Theme choice, else system: "
                        "follow the desktop); none: Qt's plain style")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    args = p.parse_args(argv)
    if args.open and (args.capture or args.bootstrap or args.lab):
        p.error("--open shows a capture: it takes no --capture, --bootstrap or --lab")
    if args.capture_lab and not args.capture:
        p.error("--capture-lab needs --capture FILE")
    if args.capture_lab and args.lab_processes:
        p.error("--capture-lab records the lab's nodes in this process: it takes no --lab-processes")
    if args.map_screenshot and not args.screenshot:
        p.error("--map-screenshot needs --screenshot FILE")
    if args.public:
        if args.bootstrap or args.open or args.self_test or args.screenshot or args.soak:
            p.error("--public joins the Internet: it takes no --bootstrap, --open, --self-test or --screenshot")
        args.profile = "mainline"
        if args.lab is None:
            args.lab = 0
    if args.open:
        args.lab = 0
    if args.lab is None:
        args.lab = 0 if args.bootstrap else DEFAULT_LAB
    if not args.bootstrap and args.lab == 0 and (args.self_test or args.screenshot or args.soak):
        p.error("--self-test and --screenshot need a lab or --bootstrap")
    if args.krpc_timeout is not None and args.krpc_timeout <= 0:
        p.error("--krpc-timeout must be positive")
    return args


def _setup_logging(args: argparse.Namespace) -> None:
    headless = bool(args.self_test or args.screenshot or args.soak)
    level = logging.WARNING - 10 * args.verbose
    root = logging.getLogger()
    root.setLevel(min(level, logging.WARNING))
    handler: logging.Handler
    if headless and not args.verbose:
        handler = logging.NullHandler()  # stderr is for the one-line verdict
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root.addHandler(handler)


class ErrorReporter:
    """sys.excepthook and the asyncio exception handler: log, then tell the window."""

    def __init__(self) -> None:
        self.window: Any = None
        self.errors: list[str] = []

    def report(self, text: str) -> None:
        self.errors.append(text)
        if self.window is not None:
            try:
                self.window.show_error(text)
            except Exception:  # never raise from the hook
                log.debug("could not show error", exc_info=True)

    def excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        self.report(f"Unexpected error: {kind.__name__}: {exc}".splitlines()[0])

    def loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if exc is None:
            log.warning("asyncio: %s", context.get("message"))
            return
        if isinstance(exc, (ConnectionResetError, asyncio.CancelledError)):
            log.debug("asyncio: %s", context.get("message"), exc_info=exc)
            return
        self.excepthook(type(exc), exc, exc.__traceback__)


async def _run(args: argparse.Namespace, app: Any, reporter: ErrorReporter) -> int:
    from PySide6.QtCore import QSettings

    from dht import Config

    from .bridge import EventBridge
    from .controller import NetworkController
    from .window.main_window import APPLICATION, ORGANIZATION, MainWindowView

    headless = bool(args.self_test or args.screenshot or args.soak)
    config = Config(PROFILE=args.profile)
    if args.krpc_timeout is not None:
        config = config.replace(KRPC_TIMEOUT=args.krpc_timeout)
    data_dir = args.data_dir
    tmp = None
    if data_dir is None and headless:
        tmp = tempfile.TemporaryDirectory(prefix="khgui-")
        data_dir = tmp.name
    bridge = EventBridge()
    host = "127.0.0.1" if not args.bootstrap else "0.0.0.0"
    controller = NetworkController(bridge=bridge, config=config, host=host)
    # A lab of 100 nodes or more runs in worker processes, unless its nodes are to be recorded here.
    controller.lab_control.processes = 0 if args.capture_lab else args.lab_processes
    if not args.open:
        controller.mark_starting()  # the window says so until the lab and our node run
    window = MainWindowView(controller, bridge, QSettings(ORGANIZATION, APPLICATION), persist=not headless)
    reporter.window = window
    closed = asyncio.get_running_loop().create_future()
    window.closed.connect(lambda: None if closed.done() else closed.set_result(None))
    window.show()
    rc = 0
    if args.open:
        try:
            window.capture.open(args.open)
            await closed
        finally:
            window.capture.close_capture()
            bridge.stop()
            window.close()
        return 0
    if args.capture:
        window.capture.record(args.capture, include_lab=args.capture_lab)
    try:
        start = controller.start(args.lab, args.bootstrap or None, args.port, data_dir)
        if args.public:
            start = _then_public(start, controller, window)
        if headless:
            from .automation import run_headless

            rc = await run_headless(args, window, controller, start, reporter, process_age)
        else:
            controller.spawn(start)
            await closed
    finally:
        window.capture.recorder.stop()
        bridge.stop()
        await controller.stop()
        window.close()
        if tmp is not None:
            tmp.cleanup()
    return rc


async def _then_public(start: Any, controller: Any, window: Any) -> bool:
    """Start (a lab, if asked, and our node), then join the public Mainline DHT (``--public``)."""
    if not await start:
        return False
    window.public.set_confirmed()  # asked for on the command line
    return bool(await controller.join_public(window.public.routers(), window.public.read_only(),
                                             query_budget=window.budget.public()))


def _has_display() -> bool:
    """False on a Linux machine with no X11 or Wayland display and no Qt platform chosen."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    """Run Khashmir Explorer; returns the exit status."""
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen bundle's lab worker processes start here (a no-op elsewhere)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _setup_logging(args)
    if not _has_display():
        if args.screenshot or args.self_test:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless runs need no screen
        else:
            print("khgui: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                  "set QT_QPA_PLATFORM=offscreen to run headless", file=sys.stderr)
            return 2
    import qasync
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from .display import PlatformGuard
    from .common import theme
    from .resources import icon
    from .window.main_window import APPLICATION, ORGANIZATION

    settings_dir = os.environ.get("KHGUI_SETTINGS_DIR")
    if settings_dir:
        from PySide6.QtCore import QSettings

        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    guard = PlatformGuard()  # a platform plugin that cannot start: one line, exit 2
    qInstallMessageHandler(guard.handler)
    instance = QApplication.instance()
    app = instance if isinstance(instance, QApplication) else QApplication([sys.argv[0]])
    guard.started = True
    guard.watch_xlib()  # the display going away: one line, not Xlib's own two
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setDesktopFileName("khashmir-explorer")
    app.setWindowIcon(icon("app"))
    app.setQuitOnLastWindowClosed(False)  # the loop ends when _run returns
    if args.theme != "none":
        from PySide6.QtCore import QSettings

        saved = QSettings(ORGANIZATION, APPLICATION).value("view/theme", "system", str)
        mode = args.theme or (saved if saved in theme.MODES else "system")
        theme.manager().set_mode(mode)
    reporter = ErrorReporter()
    sys.excepthook = reporter.excepthook
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(reporter.loop_handler)
    try:
        rc = int(loop.run_until_complete(_run(args, app, reporter)))
    except KeyboardInterrupt:
        rc = 130
    except Exception as exc:
        if guard.display_lost:
            # The display went away: Qt stopped the event loop under us, and it cannot run
            # again to stop the nodes.  One line, then exit at once: what was stored is
            # committed, the data directory's lock ends with the process, and the tasks
            # left would only fail one by one with no loop to run on.
            print(guard.lost_line(), file=sys.stderr)
            sys.stderr.flush()
            sys.stdout.flush()
            guard.exit(1)
        else:  # a bug: one line, not a traceback
            log.exception("khgui failed")
            print(f"khgui: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        rc = 1
    finally:
        sys.excepthook = sys.__excepthook__
        loop.close()
        asyncio.set_event_loop(None)
    return rc
