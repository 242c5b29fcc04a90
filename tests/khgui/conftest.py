"""Shared fixtures of the GUI tests: offscreen Qt, temporary QSettings, a qasync loop, a live lab.

QT_QPA_PLATFORM is set to ``offscreen`` before Qt is imported.  QSettings
(native and ini) point at a temporary directory for the whole session, so
tests never read or write the user's real settings.

pytest-qt processes Qt events around every test phase.  Under qasync, Qt's
events include the asyncio loop's timers, so a node's pending callbacks
(a refresh lookup, a verify ping) would run there with no running loop and
crash on ``asyncio.get_running_loop()`` -- which never happens in the app,
where the loop runs for as long as Qt does.  :func:`_process_events_in_loop`,
:class:`QasyncTestLoop` and the QtBot waits run those events with the test's
qasync loop marked running, as the app does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import pytestqt.plugin
from pytestqt.qtbot import QtBot
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from dht import Config
from khgui.bridge import EventBridge
from khgui.controller import NetworkController

FAST = Config(KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)
MAINLINE = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)

_LOOP: list[asyncio.AbstractEventLoop] = []  # the qasync loop of the test running, if any
_qt_process_events = pytestqt.plugin._process_events


@contextlib.contextmanager
def _running(loop: asyncio.AbstractEventLoop | None) -> Iterator[None]:
    """``loop`` marked as the running loop meanwhile (unless one runs, or it is closed)."""
    if loop is None or loop.is_closed() or asyncio._get_running_loop() is not None:
        yield
        return
    asyncio._set_running_loop(loop)
    try:
        yield
    finally:
        asyncio._set_running_loop(None)


def _process_events_in_loop() -> None:
    """pytest-qt's event processing, with the test's qasync loop as the running loop."""
    with _running(_LOOP[-1] if _LOOP else None):
        _qt_process_events()


pytestqt.plugin._process_events = _process_events_in_loop


def _in_loop(wait: Callable[..., Any]) -> Callable[..., Any]:
    """A QtBot wait (it spins Qt's event loop) with the test's qasync loop marked running."""
    def waiting(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _running(_LOOP[-1] if _LOOP else None):
            return wait(self, *args, **kwargs)

    return waiting


QtBot.waitUntil = _in_loop(QtBot.waitUntil)  # type: ignore[method-assign]
QtBot.wait = _in_loop(QtBot.wait)  # type: ignore[method-assign]


class QasyncTestLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop, but its run_until_complete's last pass over Qt's events
    (qasync runs one after the loop stopped, with no running loop) runs with
    this loop marked running."""

    def run_until_complete(self, future: Any) -> Any:
        future = asyncio.ensure_future(future, loop=self)
        future.add_done_callback(lambda _f: self.stop())
        self.run_forever()
        with _running(self):
            QApplication.instance().eventDispatcher().processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
        if not future.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return future.result()
LAB_SIZE = 16


@pytest.fixture(scope="session", autouse=True)
def temp_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every QSettings of the session lives in a temporary directory."""
    path = tmp_path_factory.mktemp("qsettings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(path))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    old = os.environ.get("KHGUI_SETTINGS_DIR")
    os.environ["KHGUI_SETTINGS_DIR"] = str(path)  # for subprocesses
    yield path
    if old is None:
        os.environ.pop("KHGUI_SETTINGS_DIR", None)
    else:
        os.environ["KHGUI_SETTINGS_DIR"] = old


@pytest.fixture(autouse=True)
def _no_hidden_windows_left(qapp: QApplication) -> Iterator[None]:
    """The hidden top-level widgets a test leaves are deleted after it.

    pyqtgraph's plots keep their menus ("Plot Options", the view box's menu with
    its check boxes, spin boxes and combo boxes) as parentless widgets, and the
    Python side of a plot whose C++ side went with its window keeps them: some
    280 widgets per window, alive until the process ends.  Every theme switch
    restyles every widget of the application, so a test switching themes late
    in a full run took 30-70 s instead of 1 s.  What pytest-qt closes is
    deleted first (its ``deleteLater`` waits for an event loop), then what is
    left, hidden, of what the test made.
    """
    before = set(qapp.topLevelWidgets())
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    left = [w for w in qapp.topLevelWidgets() if w not in before and not w.isVisible()]
    for widget in left:
        widget.deleteLater()
    if left:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def qasync_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on the test QApplication, closed at teardown."""
    loop = QasyncTestLoop(QApplication.instance())
    asyncio.set_event_loop(loop)
    _LOOP.append(loop)
    yield loop
    loop.run_until_complete(asyncio.sleep(0))
    _LOOP.remove(loop)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def wait_for(qasync_loop: asyncio.AbstractEventLoop) -> Callable[..., None]:
    """``wait_for(predicate, timeout=5.0)``: run the loop (Qt events too) until it holds."""

    async def poll(predicate: Callable[[], bool], timeout: float) -> None:
        deadline = qasync_loop.time() + timeout
        while not predicate():
            if qasync_loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.02)

    def wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        qasync_loop.run_until_complete(poll(predicate, timeout))

    return wait


@pytest.fixture
def run(qasync_loop: asyncio.AbstractEventLoop) -> Callable[[Any], Any]:
    """``run(coro)``: run a coroutine to completion on the qasync loop."""
    return qasync_loop.run_until_complete


def _lab_controller(loop: asyncio.AbstractEventLoop, tmp_path: Path,
                    config: Config) -> Iterator[tuple[NetworkController, EventBridge]]:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=config)
    errors: list[str] = []
    controller.error.connect(errors.append)
    assert loop.run_until_complete(controller.start(lab_size=LAB_SIZE, data_dir=str(tmp_path / "node"))), errors
    assert controller.joined, errors
    yield controller, bridge
    loop.run_until_complete(controller.stop())
    bridge.stop()


@pytest.fixture
def live(qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[tuple[NetworkController, EventBridge]]:
    """A controller whose node joined a lab of LAB_SIZE nodes on 127.0.0.1 (port 0)."""
    yield from _lab_controller(qasync_loop, tmp_path, FAST)


@pytest.fixture
def mainline(qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[tuple[NetworkController, EventBridge]]:
    """A controller whose Mainline node joined a Mainline lab of LAB_SIZE nodes on 127.0.0.1."""
    yield from _lab_controller(qasync_loop, tmp_path, MAINLINE)


@pytest.fixture
def poke_until(qasync_loop: asyncio.AbstractEventLoop) -> Callable[..., None]:
    """``poke_until(controller, predicate, timeout)``: random look-ups until ``predicate()`` holds.

    In a small lab our node only learns the nodes it talks to; look-ups of
    random ids make it talk to more of them (and notice dead ones).
    """

    async def poke(controller: NetworkController, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = qasync_loop.time() + timeout
        while not predicate():
            if qasync_loop.time() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            node = controller.node
            try:
                await controller.run_lookup(node.find_node(os.urandom(20)))
            except Exception:  # timeouts while nodes die are expected
                pass
            await asyncio.sleep(0.05)

    def run(controller: NetworkController, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        qasync_loop.run_until_complete(poke(controller, predicate, timeout))

    return run
