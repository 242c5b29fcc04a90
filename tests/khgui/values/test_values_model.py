"""Tests of the stored values model: snapshot, events, expiry ticking, published marks."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from dht import StoredValueInfo as Info  # what node.stored_values() returns
from dht.events import ValueExpired, ValueStored
from khgui.common.keys import KeyRegistry
from khgui.values.model import EXPIRES, KEY, STORED, TEXT, VALUE, StoredValuesModel

K1, K2 = b"\x01" * 20, b"\x02" * 20


class Clock:
    def __init__(self, now: float = 10_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(qtbot=None) -> tuple[StoredValuesModel, KeyRegistry, Clock]:
    registry, clock = KeyRegistry(), Clock()
    model = StoredValuesModel(registry, key_expire=3600.0, clock=clock)
    return model, registry, clock


def test_modeltester(qtmodeltester) -> None:
    model, registry, clock = make()
    model.set_snapshot([Info(K1, b"hello", clock.now - 60), Info(K2, b"\x00\xff", clock.now)])
    qtmodeltester.check(model)


def test_snapshot_then_events(qtbot) -> None:
    model, registry, clock = make()
    model.set_snapshot([Info(K1, b"hello", clock.now - 60)])
    assert model.index(0, KEY).data() == K1.hex()
    assert model.index(0, VALUE).data() == '"hello"'
    assert model.index(0, EXPIRES).data() == "59 min 00 s"
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    model.add_events([ValueStored(1.0, K2, b"\x00\xff", clock.now, False),
                      ValueStored(1.0, K2, b"more", clock.now, False),
                      ValueStored(1.0, K1, b"hello", clock.now, True)])
    assert inserts == [(1, 2)]  # one insert for the batch
    assert model.rowCount() == 3
    assert model.index(1, VALUE).data() == "0x00ff"
    assert model.index(0, EXPIRES).data() == "1 h 00 min"  # refreshed
    model.add_events([ValueExpired(2.0, K2, b"\x00\xff"), ValueExpired(2.0, K2, b"unknown")])
    assert model.pairs() == [(K1, b"hello"), (K2, b"more")]
    assert model.key_count() == 2


def test_tick_is_one_data_changed_over_time_columns(qtbot) -> None:
    model, registry, clock = make()
    model.set_snapshot([Info(K1, b"a", clock.now), Info(K2, b"b", clock.now)])
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    clock.now += 125
    with qtbot.waitSignal(model.dataChanged) as blocker:
        model.tick()
    top, bottom = blocker.args[0], blocker.args[1]
    assert (top.row(), top.column(), bottom.row(), bottom.column()) == (0, STORED, 1, EXPIRES)
    assert not resets
    assert model.index(0, EXPIRES).data() == "57 min 55 s"
    assert model.index(0, STORED).data() == "2 min 05 s ago"
    clock.now += 3600
    assert model.index(0, EXPIRES).data() == "expired"


def test_registry_texts_and_published_marks(qtbot) -> None:
    model, registry, clock = make()
    model.set_snapshot([Info(K1, b"hello", clock.now)])
    with qtbot.waitSignal(model.dataChanged):
        registry.remember_text(K1, "greeting")
    assert model.index(0, TEXT).data() == "greeting"
    registry.mark_published(K1, b"hello", clock.now)
    assert model.index(0, KEY).data().startswith("\u2605 ")
    assert model.index(0, KEY).data(Qt.ItemDataRole.FontRole).bold()
    registry.remember_text(K2, K2.hex())  # hex input is not a text
    assert registry.text_for(K2) is None
    assert registry.due(clock.now + 3500, 3420) == [(K1, b"hello")]
    assert registry.due(clock.now + 100, 3420) == []


def test_published_values_held_elsewhere(qtbot, qtmodeltester) -> None:
    model, registry, clock = make()
    model.set_snapshot([Info(K1, b"here", clock.now - 5)])
    registry.mark_published(K2, b"away", clock.now - 100)
    assert model.rowCount() == 2 and model.held_here(0) and not model.held_here(1)
    assert model.index(1, KEY).data().startswith("\u2605 ") and "held elsewhere" in model.index(1, TEXT).data()
    assert 3490 <= model.expires_in(1) <= 3500 and model.local_count() == 1 and model.key_count() == 1
    qtmodeltester.check(model)
    inserted: list[int] = []
    model.rowsInserted.connect(lambda *a: inserted.append(1))
    model.add_events([ValueStored(1.0, K2, b"away", clock.now, False)])  # our node stores it now
    assert model.rowCount() == 2 and model.held_here(1) and not inserted
    model.add_events([ValueExpired(2.0, K2, b"away")])  # expired here, still published: held elsewhere
    assert model.rowCount() == 2 and not model.held_here(1)
    registry.forget_published(K2, b"away")
    assert model.rowCount() == 1 and model.pairs() == [(K1, b"here")]
    model.clear()
    registry.mark_published(K2, b"away", clock.now)
    assert model.rowCount() == 0  # no node: nothing listed
