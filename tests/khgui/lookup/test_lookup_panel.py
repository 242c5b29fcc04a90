"""Tests of the store and look up panel against a real lab of 8 nodes."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from khgui.bridge import EventBridge
from khgui.common.keys import KeyRegistry
from khgui.controller import NetworkController
from khgui.lookup.panel import LookupPanel


def make(qtbot, controller, bridge, registry=None) -> LookupPanel:
    panel = LookupPanel(controller, bridge, registry=registry or KeyRegistry())
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    return panel


def test_disabled_without_network(qtbot, qasync_loop) -> None:
    bridge = EventBridge(interval_ms=10_000)
    controller = NetworkController(bridge)
    panel = make(qtbot, controller, bridge)
    assert not panel.form_widget.isEnabled()
    assert panel.reason_label.isVisible() and "No node" in panel.reason_label.text()
    assert qasync_loop.run_until_complete(panel.lookup_from_form("hello")) == []
    assert "No node" in panel.message()
    assert not panel.has_data()


def test_store_then_lookup_finds_value_and_draws(qtbot, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    registry = KeyRegistry()
    panel = make(qtbot, controller, bridge, registry)
    assert panel.form_widget.isEnabled() and not panel.reason_label.isVisible()
    busy: list[bool] = []
    controller.busy_changed.connect(busy.append)
    result = qasync_loop.run_until_complete(panel.store_from_form("greeting", "hello world"))
    assert result is not None and result.accepted
    assert busy[:2] == [True, False]
    assert panel.store_model.rowCount() == len(result.accepted) + len(result.refused)
    assert "Stored at" in panel.message()
    key = result.key
    assert registry.text_for(key) == "greeting" and registry.is_published(key, b"hello world")
    wait_for(lambda: "stored" in panel.hops.outcomes())

    values = qasync_loop.run_until_complete(panel.lookup_from_form("greeting"))
    assert values == [b"hello world"]
    assert panel.results.values_list.count() == 1 and "hello world" in panel.results.values_list.item(0).text()
    wait_for(lambda: panel.results.plot.point_count() > 0 and "values" in panel.results.plot.counts())
    assert panel.hops.rowCount() == panel.results.plot.point_count()
    assert panel.has_data()
    # the same key as 40 hex digits finds it too
    assert qasync_loop.run_until_complete(panel.lookup_from_form(key.hex())) == [b"hello world"]
    assert panel.message_state() == "ok"


def test_finding_nothing_is_not_shown_as_a_success(qtbot, qasync_loop, live) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    assert qasync_loop.run_until_complete(panel.lookup_from_form("nobody stored this")) == []
    assert panel.message() == "Found 0 values."
    assert panel.message_state() == "warn"  # the warning colour, not the success colour


def test_inline_errors(qtbot, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    assert qasync_loop.run_until_complete(panel.lookup_from_form("")) == []
    assert "Type a key" in panel.message()
    panel.key_edit.setText("abc")
    assert "SHA-1" in panel.key_preview.text()
    limit = controller.node.config.MAX_VALUE_SIZE
    assert qasync_loop.run_until_complete(panel.store_from_form("k", "x" * (limit + 1))) is None
    assert "limit" in panel.message() and "MAX_VALUE_SIZE" in panel.message()
    assert qasync_loop.run_until_complete(panel.store_from_form("k", "")) is None
    assert "Type a value" in panel.message()


def test_models_pass_modeltester(qtbot, qtmodeltester, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    qasync_loop.run_until_complete(panel.store_from_form("m", "v"))
    wait_for(lambda: panel.hops.rowCount() > 0)
    qtmodeltester.check(panel.hops)
    qtmodeltester.check(panel.store_model)


def test_hops_list_each_contact_once_with_headers_readable(qtbot, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    result = qasync_loop.run_until_complete(panel.store_from_form("once", "v"))
    assert result is not None and result.accepted
    wait_for(lambda: "stored" in panel.hops.outcomes())
    ids = [c.id for c in panel.hops.contacts()]
    assert len(ids) == len(set(ids))  # find_node then store_value to the same contact: one row
    assert {c.id for c in result.accepted} <= set(ids)
    assert panel.hops.rowCount() == panel.results.plot.point_count()
    header = panel.results.hops_view.horizontalHeader()
    for col in range(panel.hops.columnCount() - 1):  # the last one stretches
        assert header.sectionSize(col) >= header.sectionSizeFromContents(col).width(), panel.hops.columns[col]


def test_follows_only_the_lookup_it_started_across_leave_and_join(qtbot, qasync_loop, live, wait_for) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    assert qasync_loop.run_until_complete(panel.store_from_form("mine", "v")) is not None
    values = qasync_loop.run_until_complete(panel.lookup_from_form("mine"))
    assert values == [b"v"]
    mine = panel.lookup_id
    assert mine is not None
    wait_for(lambda: panel.results.plot.caption().startswith("get "))  # its LookupFinished arrived
    assert "values" in panel.results.plot.counts()
    rows, caption = panel.hops.rowCount(), panel.results.plot.caption()
    # Leave and join again: the new node's lookups (its own and the warm-up ones) never reuse
    # the id.  Ids go on from the process's count: a count of the new node's own, restarting
    # at 1, would give ids at or below `mine` (and `mine` itself after `mine` lookups, which
    # in a full test run is thousands), so a few lookups, all past `mine`, show it.
    qasync_loop.run_until_complete(controller.leave())
    assert qasync_loop.run_until_complete(controller.rejoin_lab())
    node = controller.node
    seen: list[int] = []
    node.subscribe(lambda ev: seen.append(ev.lookup) if hasattr(ev, "lookup") else None)
    for _ in range(3):
        qasync_loop.run_until_complete(node.find_node(os.urandom(20)))
    wait_for(lambda: bridge.pending == 0)
    assert seen and mine not in seen and min(seen) > mine
    assert panel.hops.rowCount() == rows and panel.results.plot.caption() == caption


def test_long_paste_is_not_cut_and_old_size_error_clears(qtbot, qasync_loop, live) -> None:
    from PySide6.QtGui import QGuiApplication

    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    panel.key_edit.setText("big")
    QGuiApplication.clipboard().setText("x" * 1_000_000)
    panel.value_edit.paste()
    assert len(panel.value_edit.text()) == 1_000_000  # no silent cut at QLineEdit's 32,767
    assert panel.value_size.text().startswith("1,000,000 / 1,024 bytes")
    assert panel.value_size.property("state") == "error"
    assert qasync_loop.run_until_complete(panel._run_store()) is None
    assert "The value is 1,000,000 bytes; the limit is 1,024" in panel.message()
    panel.value_edit.setText("small enough")
    assert panel.message() == ""  # the old size error went with the old value
    panel.key_edit.setText("")
    assert qasync_loop.run_until_complete(panel._run_store()) is None and "Type a key" in panel.message()
    panel.key_edit.setText("k")
    assert panel.message() == ""


def test_focus_key(qtbot, qasync_loop, live) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    with qtbot.waitActive(panel):
        panel.activateWindow()
    panel.value_edit.setFocus()
    panel.key_edit.setText("old")
    panel.focus_key()
    assert panel.key_edit.hasFocus() and panel.key_edit.selectedText() == "old"


def test_export_hops_writes_the_table_with_whole_ids(qtbot, qasync_loop, live, wait_for, tmp_path) -> None:
    import csv

    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    qasync_loop.run_until_complete(panel.lookup_from_form("hops to export"))
    wait_for(lambda: panel.hops.rowCount() > 0)
    out = tmp_path / "hops.csv"
    with qtbot.waitSignal(panel.exporter.finished, timeout=5000):
        assert panel.export_hops(str(out))
    rows = list(csv.reader(out.open()))
    assert rows[0] == list(panel.hops.columns)
    assert len(rows) == panel.hops.rowCount() + 1
    assert all(len(r[0].split("@")[0]) == 40 for r in rows[1:])  # whole ids, not the table's short ones
    assert panel.message().startswith(f"Exported {panel.hops.rowCount():,} hops to ")
