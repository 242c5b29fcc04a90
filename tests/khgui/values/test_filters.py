"""The filter boxes of the Stored values, Stored peers & items and Samples tables."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings

from khgui.common.keys import KeyRegistry
from khgui.samples.panel import SamplesPanel
from khgui.values.mainline_panel import MainlineValuesPanel
from khgui.values.panel import ValuesPanel


def shown(view_model: Any, column: int = 0) -> set[str]:
    return {view_model.index(r, column).data() for r in range(view_model.rowCount())}


def test_stored_values_filter_by_key_text_and_value(qtbot: Any, qasync_loop: Any, live: Any, wait_for: Any) -> None:
    controller, bridge = live
    node = controller.node
    registry = KeyRegistry()
    panel = ValuesPanel(controller, bridge, registry=registry)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    qasync_loop.run_until_complete(node.store_value(node.id, b"apples"))
    qasync_loop.run_until_complete(node.store_value(node.id, b"pears"))
    wait_for(lambda: {b"apples", b"pears"} <= {v for _k, v in panel.model.pairs()})
    proxy = panel.table.model()
    panel.filter_edit.setText("APPLE")  # any case
    assert proxy.rowCount() == 1 and "apples" in proxy.index(0, 2).data()
    assert f"1 of {panel.model.rowCount()} rows match the filter" in panel.status_label.text()
    panel.filter_edit.setText(node.id.hex()[:12])  # the key column too
    assert proxy.rowCount() >= 2
    panel.filter_edit.clear()
    assert proxy.rowCount() == panel.model.rowCount()


def test_stored_peers_and_samples_filter(qtbot: Any, qasync_loop: Any, mainline: Any, wait_for: Any,
                                         tmp_path: Any) -> None:
    controller, bridge = mainline
    panel = MainlineValuesPanel(controller, bridge, tick_ms=50)
    qtbot.addWidget(panel)
    panel.show()
    own = controller.node.id
    hashes = [own[:-1] + bytes([own[-1] ^ i]) for i in (1, 2)]  # we are their closest node
    for h in hashes:
        assert qasync_loop.run_until_complete(controller.node.announce_peer(h, 6881))
    view = panel.peers_view.model()
    wait_for(lambda: {h.hex() for h in hashes} <= shown(view))
    panel.filter_edit.setText(hashes[1].hex().upper())
    assert shown(view) == {hashes[1].hex()}
    assert f"(1 of {panel.peers.rowCount()})" in panel.tabs.tabText(0)

    samples = SamplesPanel(controller, bridge, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(samples)
    seen = [os.urandom(20) for _ in range(5)]
    samples.hashes.add_walk(seen)
    table = samples.hash_table.model()
    assert table.rowCount() == 5
    samples.filter_edit.setText(seen[3].hex()[:10])
    assert shown(table) == {seen[3].hex()}
