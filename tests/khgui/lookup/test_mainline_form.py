"""The Mainline form's consistency: Enter runs the row's action, sizes, the result tab, a mutable Get by key."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt

from dht import Config, mutable_target
from khgui.bridge import EventBridge
from khgui.common.keys import KeyRegistry
from khgui.controller import NetworkController
from khgui.lookup.mainline import MainlineLookupPanel
from khgui.samples.panel import walk_message


def make(qtbot: Any, controller: NetworkController, bridge: EventBridge) -> MainlineLookupPanel:
    panel = MainlineLookupPanel(controller, bridge, registry=KeyRegistry())
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    return panel


def rows(panel: MainlineLookupPanel) -> list[str]:
    return [panel.results.values_list.item(i).text() for i in range(panel.results.values_list.count())]


def test_enter_runs_put_in_the_item_field_and_get_in_the_target_field(qtbot: Any, qasync_loop: Any,
                                                                      mainline: Any, wait_for: Any) -> None:
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    panel.form.item_edit.setText("typed then Enter")
    qtbot.keyClick(panel.form.item_edit, Qt.Key.Key_Return)  # as the Value field's Enter stores
    wait_for(lambda: "Put immutable item" in panel.message(), timeout=10)
    target = panel.form.target_edit.text()
    assert len(target) == 40 and rows(panel) == [f"put immutable item {target}"]
    qtbot.keyClick(panel.form.target_edit, Qt.Key.Key_Return)
    wait_for(lambda: "Found immutable item" in panel.message(), timeout=10)
    assert "typed then Enter" in rows(panel)[0]


def test_empty_item_size_and_results_replaced_by_put_and_announce(qtbot: Any, qasync_loop: Any,
                                                                  mainline: Any) -> None:
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    run = qasync_loop.run_until_complete
    assert panel.form.item_size.text() == "empty"  # not "2 / 1,000 bytes"
    panel.form.item_edit.setText("hello")
    assert panel.form.item_size.text() == "7 / 1,000 bytes"  # 5:hello
    info_hash = os.urandom(20)
    assert run(panel.announce_from_form(info_hash.hex(), 0))
    assert run(panel.get_peers_from_form(info_hash.hex())) is not None
    assert any(":" in r for r in rows(panel))  # the peers found
    target = run(panel.put_from_form("replaces the peers"))
    assert rows(panel) == [f"put immutable item {target.hex()}"]  # the peers of the Get are gone
    assert run(panel.announce_from_form(info_hash.hex(), 6881))
    assert len(rows(panel)) == 1 and rows(panel)[0].startswith(f"announced {info_hash.hex()} on port 6881")


def test_mutable_get_by_someone_elses_public_key(qtbot: Any, qasync_loop: Any, mainline: Any,
                                                 tmp_path: Any) -> None:
    from dht import load_key, public_key_bytes
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    run = qasync_loop.run_until_complete
    # another publisher: a key pair of its own, put through dht directly
    other_file = tmp_path / "other.key"
    put = run(controller.run_lookup(controller.node.put_mutable(other_file, b"theirs", b"s")))
    other_key = public_key_bytes(load_key(other_file))
    assert put.target == mutable_target(other_key, b"s")
    panel.form.mutable_radio.setChecked(True)
    assert panel.form.pubkey_edit.isVisible()
    found = run(panel.get_from_form(mutable=True, salt="s", public_key_hex=other_key.hex()))
    assert found is not None and found.value == b"theirs" and found.public_key == other_key
    assert panel.form.target_edit.text() == put.target.hex()
    assert run(panel.get_from_form(mutable=True, salt="s", public_key_hex="abcd")) is None
    assert "64 hex digits" in panel.message()
    panel.form.pubkey_edit.setText(other_key.hex())
    assert run(panel.put_from_form("mine", mutable=True, salt="s")) is None
    assert "signs with our own key pair" in panel.message()


def test_walk_message_says_where_info_hashes_came_from() -> None:
    assert walk_message(5, 0, 5, 5) == ("Walk 5: no other node answered (a node asked recently is skipped "
                                        "until its interval is over); 5 info-hashes from our own store (5 new).")
    assert walk_message(2, 3, 1, 0) == "Walk 2: 3 nodes answered, 1 info-hash (0 new)."
