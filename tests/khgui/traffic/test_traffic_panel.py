"""Tests of the traffic panel: batches from the bridge, pause, filters, selection, follow."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.traffic.panel import TrafficPanel

from .test_traffic_model import recv_q, recv_r, sent_e, sent_q


def make_panel(qtbot, cap: int = 1000) -> tuple[TrafficPanel, EventBridge]:
    bridge = EventBridge(interval_ms=10_000)
    controller = NetworkController(bridge)
    panel = TrafficPanel(controller, bridge, cap=cap)
    qtbot.addWidget(panel)
    panel.resize(1000, 400)
    panel.show()
    qtbot.waitExposed(panel)
    return panel, bridge


def test_batches_reach_the_table(qtbot) -> None:
    panel, bridge = make_panel(qtbot)
    assert not panel.has_data()
    bridge.push_many([sent_q(b"aa"), recv_r(b"aa")])
    bridge.flush()
    assert panel.has_data()
    assert panel.table.model().rowCount() == 2
    assert panel.table.model().index(0, 6).data() == "ok"
    assert "2 shown" in panel.status_label.text()
    assert panel.method_combo.count() == 2 and panel.method_combo.itemText(1) == "ping"


def test_pause_buffers_then_resume_adds(qtbot) -> None:
    panel, bridge = make_panel(qtbot)
    panel.pause_button.click()
    assert panel.paused and panel.pause_button.text() == "Resume"
    bridge.push_many([sent_q(b"aa"), recv_r(b"aa"), recv_q(b"bb")])
    bridge.flush()
    assert panel.model.rowCount() == 0 and panel.buffered == 3
    assert "3 new messages buffered" in panel.status_label.text()
    panel.pause_button.click()
    assert not panel.paused and panel.model.rowCount() == 3 and panel.buffered == 0
    panel.clear_button.click()
    assert panel.model.rowCount() == 0


def test_filter_widgets_and_selection_tree(qtbot) -> None:
    panel, bridge = make_panel(qtbot)
    bridge.push_many([sent_q(b"aa"), recv_r(b"aa"), recv_q(b"bb"), sent_e(b"bb")])
    bridge.flush()
    panel.direction_combo.setCurrentIndex(panel.direction_combo.findData("in"))
    assert panel.table.model().rowCount() == 2
    panel.direction_combo.setCurrentIndex(0)
    panel.status_combo.setCurrentIndex(panel.status_combo.findData("error"))
    assert panel.table.model().rowCount() == 2
    panel.status_combo.setCurrentIndex(0)
    qtbot.keyClicks(panel.peer_edit, "10.0.0.7")
    assert panel.table.model().rowCount() == 2
    panel.peer_edit.clear()
    panel.method_combo.setCurrentIndex(panel.method_combo.findData("find_node"))
    assert panel.table.model().rowCount() == 2
    panel.method_combo.setCurrentIndex(0)
    panel.table.selectRow(0)
    texts = dict(panel.message_view.texts())
    assert texts["q"] == '"ping"'
    assert texts["id"] == "01" * 20


def test_follows_newest_unless_scrolled_away(qtbot) -> None:
    panel, bridge = make_panel(qtbot)
    bar = panel.table.verticalScrollBar()
    bridge.push_many([sent_q(i.to_bytes(2, "big")) for i in range(200)])
    bridge.flush()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=2000)
    assert panel.following
    bar.setValue(0)
    assert not panel.following
    bridge.push_many([sent_q(i.to_bytes(2, "big")) for i in range(200, 300)])
    bridge.flush()
    old_max = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > old_max, timeout=2000)
    assert bar.value() == 0 and not panel.following
    bar.setValue(bar.maximum())
    bridge.push_many([sent_q(i.to_bytes(2, "big")) for i in range(300, 400)])
    bridge.flush()
    old_max = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > old_max and bar.value() == bar.maximum(), timeout=2000)
    assert panel.following


def test_panel_export(qtbot, tmp_path) -> None:
    panel, bridge = make_panel(qtbot)
    bridge.push_many([sent_q(b"aa"), recv_r(b"aa"), recv_q(b"bb")])
    bridge.flush()
    panel.direction_combo.setCurrentIndex(panel.direction_combo.findData("out"))
    path = tmp_path / "out.jsonl"
    assert panel.export(str(path)) == 1
    assert json.loads(path.read_text())["method"] == "ping"
