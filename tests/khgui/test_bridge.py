"""Tests of khgui.bridge.EventBridge: batching, order, bounds, attach/detach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from dht.node import core_of
from dht import Node
from dht.events import ValueStored
from khgui.bridge import EventBridge


def real_node(tmp_path: Path) -> Node:
    """A real (unstarted) dht.Node: its event bus is what the bridge subscribes to."""
    return Node(data_dir=tmp_path)


def stored(i: int) -> ValueStored:
    return ValueStored(float(i), i.to_bytes(20, "big"), b"v", float(i), False)


def subscribers(node: Node) -> int:
    return len(core_of(node).events._subscribers)


def test_batches_in_order(qtbot: QtBot, tmp_path: Path) -> None:
    bridge = EventBridge(interval_ms=10)
    node = real_node(tmp_path)
    bridge.attach(node)
    batches: list[list[Any]] = []
    bridge.batch.connect(batches.append)
    events = [stored(i) for i in range(1000)]
    for event in events:
        core_of(node).events.emit(event)
    assert not batches  # nothing per event
    qtbot.waitUntil(lambda: sum(map(len, batches)) == 1000, timeout=2000)
    assert [e for b in batches for e in b] == events
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


def test_detach_unsubscribes(qtbot: QtBot, tmp_path: Path) -> None:
    bridge = EventBridge(interval_ms=10)
    node = real_node(tmp_path / "a")
    bridge.attach(node)
    assert bridge.node is node and subscribers(node) == 1 and core_of(node).events.active
    bridge.detach()
    assert subscribers(node) == 0 and bridge.node is None and not core_of(node).events.active
    core_of(node).events.emit(stored(1))
    assert bridge.pending == 0
    other = real_node(tmp_path / "b")
    bridge.attach(other)
    bridge.attach(node)  # re-attaching detaches from the previous node
    assert subscribers(other) == 0 and subscribers(node) == 1
    bridge.interval_ms = 25
    assert bridge.interval_ms == 25
    bridge.stop()
