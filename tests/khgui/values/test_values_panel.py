"""Tests of the stored values panel against a real lab: snapshot, live events, republish."""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from khgui.bridge import EventBridge
from khgui.common.keys import KeyRegistry
from khgui.controller import NetworkController
from khgui.values.model import EXPIRES, KEY, TEXT
from khgui.values.panel import ValuesPanel


def make(qtbot, controller, bridge, registry) -> ValuesPanel:
    panel = ValuesPanel(controller, bridge, registry=registry)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    return panel


def test_no_node(qtbot) -> None:
    bridge = EventBridge(interval_ms=10_000)
    panel = make(qtbot, NetworkController(bridge), bridge, KeyRegistry())
    assert "No node" in panel.status_label.text() and not panel.has_data()
    assert panel.republish_box.isChecked()


def rows_of(panel, key: bytes) -> list[int]:
    """The rows of ``key`` (the lab's own traffic may store other values on our node)."""
    return [r for r in range(panel.model.rowCount()) if panel.model.pair(r)[0] == key]


def test_live_values_and_republish(qtbot, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    node = controller.node
    registry = KeyRegistry()
    # a value already stored before the panel exists comes from the snapshot
    key0 = node.id  # we are the closest node to our own id: the store lands here
    qasync_loop.run_until_complete(node.store_value(key0, b"before"))
    panel = make(qtbot, controller, bridge, registry)
    wait_for(lambda: len(rows_of(panel, key0)) == 1)
    assert panel.has_data()
    assert panel.table.model().index(rows_of(panel, key0)[0], KEY).data() == key0.hex()
    # a value stored later arrives through the bridge's events
    registry.remember_text(key0, "my own id")
    qasync_loop.run_until_complete(node.store_value(key0, b"after"))
    wait_for(lambda: len(rows_of(panel, key0)) == 2)
    first, second = rows_of(panel, key0)
    assert panel.model.pair(second) == (key0, b"after")
    assert panel.model.index(second, TEXT).data() == "my own id"
    n, keys = panel.model.rowCount(), len({key for key, _ in panel.model.pairs()})
    assert f"{n} values under {keys} key{'' if keys == 1 else 's'};" in panel.status_label.text()
    # expiry counts down from KEY_EXPIRE, refreshed by the timer with one dataChanged
    expire = node.config.KEY_EXPIRE
    assert panel.model.expires_in(first) <= expire
    changes: list[tuple[int, int]] = []
    panel.model.dataChanged.connect(lambda a, b, _roles=None: changes.append((a.column(), b.column())))
    resets: list[int] = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    wait_for(lambda: bool(changes))
    assert changes[0][0] <= EXPIRES <= changes[0][1] and not resets
    # a published value that is 57/60 of KEY_EXPIRE old is stored again
    registry.mark_published(key0, b"after", time.time() - expire)
    assert panel.model.index(rows_of(panel, key0)[1], KEY).data().startswith("\u2605")
    assert panel.republish_due() == 1
    assert panel.republish_due() == 0  # already in flight
    wait_for(lambda: panel.republished == 1)
    assert time.time() - registry.published()[(key0, b"after")] < 5
    assert "republished" in panel.status_label.text()
    # toggled off: nothing is republished
    panel.republish_box.setChecked(False)
    registry.mark_published(key0, b"after", time.time() - expire)
    panel.tick()
    assert panel.republished == 1


def test_node_gone_clears(qtbot, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    node = controller.node
    qasync_loop.run_until_complete(node.store_value(node.id, b"x"))
    panel = make(qtbot, controller, bridge, KeyRegistry())
    wait_for(lambda: panel.model.rowCount() == 1)
    qasync_loop.run_until_complete(controller.leave())
    assert panel.model.rowCount() == 0 and "No node" in panel.status_label.text()


def test_own_value_held_elsewhere_is_listed(qtbot, qasync_loop, live, wait_for) -> None:
    """A value published through the form lands on other nodes: it is listed, marked ★ held elsewhere."""
    from khgui.lookup.panel import LookupPanel

    controller, bridge = live
    node = controller.node
    registry = KeyRegistry()
    values = make(qtbot, controller, bridge, registry)
    form = LookupPanel(controller, bridge, registry=registry)
    qtbot.addWidget(form)
    far = bytes([node.id[0] ^ 0x80]) + node.id[1:]  # the other half of the id space from us
    result = qasync_loop.run_until_complete(form.store_from_form(far.hex(), "kept by others"))
    assert result is not None and result.accepted
    assert node.id not in {c.id for c in result.accepted}  # our node is not a holder
    # (the lab's own traffic may store other values on our node meanwhile)
    assert far not in {v.key for v in qasync_loop.run_until_complete(node.stored_values())}

    def ours() -> int | None:
        rows = [r for r in range(values.model.rowCount()) if values.model.pair(r) == (far, b"kept by others")]
        return rows[0] if rows else None

    wait_for(lambda: ours() is not None)
    row = ours()
    assert row is not None and not values.model.held_here(row)
    assert values.model.index(row, KEY).data().startswith("\u2605 ")
    assert "published, held elsewhere" in values.model.index(row, TEXT).data()
    assert "1 held elsewhere only" in values.status_label.text()
