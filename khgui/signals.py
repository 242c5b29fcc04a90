"""The network controller's signals and its tasks, shared by the parts it is composed of.

:class:`NetworkSignals` declares what the window hears from the network
(our node started or stopped, joined, the lab forming and changing, errors
and messages); :class:`~khgui.controller.NetworkController` is one, and
hands it to the parts it holds (:class:`~khgui.lab_control.LabControl`,
:class:`~khgui.node_control.OwnNode`), which emit through it.
:class:`Tasks` runs their coroutines as tasks of the loop, reporting what
they raise, and counts the node calls the user waits for (:attr:`Tasks.busy`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Coroutine, TypeVar

from PySide6.QtCore import QObject, Signal

from .failures import describe_error, expected

log = logging.getLogger(__name__)
T = TypeVar("T")


class NetworkSignals(QObject):
    """What the window hears from the network.

    Signals:
        node_changed(object): our new Node, or None when it stopped.
        joined_changed(bool): whether our node is joined to a network.
        lab_changed(int): the number of running lab nodes.
        error(str): a one-line message for the user.
        busy_changed(bool): True while lookups run.
        message(str): a one-line informational message (status bar).
        lab_progress(str, int, int): the lab forming: stage, done, total ("formed" at the end).
        lab_nodes(list): an overview of every lab node (``dht.LabNodeInfo``), once a second.
        lab_node_changed(object): one lab node killed, revived or added (its ``LabNodeInfo``).
        lab_lookups(list): ``(lab node id, event)`` lookup events of the lab, while watched.
        focus_changed(object): the ``FocusedNode`` now in focus, or None for our own node.
        conditions_changed(object): the lab's ``dht.Conditions``.
        network_changed(): the network our node is on changed.
    """

    node_changed = Signal(object)
    joined_changed = Signal(bool)
    lab_changed = Signal(int)
    error = Signal(str)
    busy_changed = Signal(bool)
    message = Signal(str)
    lab_progress = Signal(str, int, int)
    lab_nodes = Signal(list)
    lab_node_changed = Signal(object)
    lab_lookups = Signal(list)
    focus_changed = Signal(object)
    conditions_changed = Signal(object)
    network_changed = Signal()

    def fail(self, what: str, exc: BaseException) -> None:
        """Log ``exc`` (with its traceback if it is a bug) and emit "what: why" as :attr:`error`."""
        text = f"{what}: {describe_error(exc)}"
        log.warning("%s", text, exc_info=not expected(exc))
        self.error.emit(text)


class Tasks:
    """The controller's tasks, and the node calls the window shows as busy."""

    def __init__(self, signals: NetworkSignals) -> None:
        self._signals = signals
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy = 0

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Run ``coro`` as a task of the running loop, reporting what it raises."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: "asyncio.Task[Any]") -> None:
            self._tasks.discard(t)
            if not t.cancelled():
                exc = t.exception()
                if exc is not None:
                    self._signals.fail("unexpected error", exc)

        task.add_done_callback(done)
        return task

    def cancel(self) -> None:
        """Cancel every task spawned and still running."""
        for task in list(self._tasks):
            task.cancel()

    @property
    def busy(self) -> bool:
        return self._busy > 0

    async def run_lookup(self, coro: Awaitable[T], report: bool = False) -> T | None:
        """Await a node call (lookup, store, ...) while :attr:`busy` is True.

        Exceptions propagate to the caller (so a form can show them inline),
        unless ``report`` is True: then DHT and OS errors are emitted as
        errors and None is returned.
        """
        self._busy += 1
        if self._busy == 1:
            self._signals.busy_changed.emit(True)
        try:
            return await coro
        except Exception as exc:
            if report and expected(exc):
                self._signals.fail("look-up failed", exc)
                return None
            raise
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._signals.busy_changed.emit(False)
