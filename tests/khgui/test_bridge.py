"""Tests of khgui.bridge.EventBridge: batching, order, bounds, attach/detach."""

from __future__ import annotations

from typing import Any, Callable

from pytestqt.qtbot import QtBot

from khgui.bridge import EventBridge


class FakeNode:
    """Just the subscribe() part of dht.Node."""

    def __init__(self) -> None:
        self.subscribers: list[Callable[[Any], None]] = []

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, event: Any) -> None:
        for cb in list(self.subscribers):
            cb(event)


def test_batches_in_order(qtbot: QtBot) -> None:
    bridge = EventBridge(interval_ms=10)
    node = FakeNode()
    bridge.attach(node)
    batches: list[list[Any]] = []
    bridge.batch.connect(batches.append)
    for i in range(1000):
        node.emit(i)
    assert not batches  # nothing per event
    qtbot.waitUntil(lambda: sum(map(len, batches)) == 1000, timeout=2000)
    assert [e for b in batches for e in b] == list(range(1000))
    assert len(batches) <= 2
    bridge.stop()


def test_no_empty_batches(qtbot: QtBot) -> None:
    bridge = EventBridge(interval_ms=5)
    batches: list[list[Any]] = []
    bridge.batch.connect(batches.append)
    qtbot.wait(60)
    assert batches == []
    bridge.push("x")
    with qtbot.waitSignal(bridge.batch, timeout=1000) as blocker:
        pass
    assert blocker.args == [["x"]]
    bridge.stop()


def test_bounded_and_counts_dropped(qtbot: QtBot) -> None:
    bridge = EventBridge(interval_ms=10_000, maxlen=100)
    bridge.push_many(list(range(250)))
    assert bridge.pending == 100
    assert bridge.dropped == 150
    with qtbot.waitSignal(bridge.batch, timeout=1000) as blocker:
        bridge.flush()
    assert blocker.args[0] == list(range(150, 250))
    assert bridge.delivered == 100 and bridge.received == 250
    bridge.stop()


def test_detach_unsubscribes(qtbot: QtBot) -> None:
    bridge = EventBridge(interval_ms=10)
    node = FakeNode()
    with qtbot.waitSignal(bridge.attached, timeout=1000):
        bridge.attach(node)
    assert bridge.node is node and len(node.subscribers) == 1
    bridge.detach()
    assert node.subscribers == [] and bridge.node is None
    node.emit("late")
    assert bridge.pending == 0
    other = FakeNode()
    bridge.attach(other)
    bridge.attach(node)  # re-attaching detaches from the previous node
    assert other.subscribers == [] and len(node.subscribers) == 1
    bridge.interval_ms = 25
    assert bridge.interval_ms == 25
    bridge.stop()
