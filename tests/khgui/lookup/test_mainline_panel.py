"""Tests of the Mainline look-up panel against a real Mainline lab of 16 nodes on loopback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from dht import Config
from khgui.common.text import format_peer
from khgui.bridge import EventBridge
from khgui.common.bittorrent import KEY_FILE_NAME
from khgui.common.keys import KeyRegistry
from khgui.controller import NetworkController
from khgui.lookup.mainline import MainlineLookupPanel

MAINLINE = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)


def make(qtbot: Any, controller: NetworkController, bridge: EventBridge) -> MainlineLookupPanel:
    panel = MainlineLookupPanel(controller, bridge, registry=KeyRegistry())
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    return panel


def test_network_name_says_profile_and_lab(mainline: Any) -> None:
    controller, _ = mainline
    assert controller.profile == "mainline" and controller.node.profile.name == "mainline"
    assert controller.network_name() == "Mainline \u00b7 local lab of 16 nodes"


def test_announce_then_get_peers_lists_us_and_draws(qtbot: Any, qasync_loop: Any, mainline: Any,
                                                    wait_for: Any) -> None:
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    assert panel.form_widget.isEnabled() and not panel.reason_label.isVisible()
    info_hash = os.urandom(20)
    accepted = qasync_loop.run_until_complete(panel.announce_from_form(info_hash.hex(), 0))
    assert accepted and accepted >= 1, panel.message()
    assert f"to {accepted} node" in panel.message()
    found = qasync_loop.run_until_complete(panel.get_peers_from_form(f"magnet:?xt=urn:btih:{info_hash.hex()}"))
    assert found is not None and found.info_hash == info_hash
    own = f"{controller.node.address[0]}:{controller.node.address[1]}"
    rows = [panel.results.values_list.item(i).text() for i in range(panel.results.values_list.count())]
    assert own in rows
    assert "scrape:" in panel.message() and "peer" in panel.message()
    # the get_peers lookup, not the lab's traffic, is what the plot and hops show
    wait_for(lambda: panel.results.plot.point_count() > 0)
    assert panel.hops.rowCount() == panel.results.plot.point_count()
    assert panel.lookup_id is not None and panel.has_data()


def test_put_and_get_items_immutable_and_mutable(qtbot: Any, qasync_loop: Any, mainline: Any,
                                                 wait_for: Any) -> None:
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    run = qasync_loop.run_until_complete
    target = run(panel.put_from_form("hello mainline"))
    assert isinstance(target, bytes) and panel.form.target_edit.text() == target.hex()
    item = run(panel.get_from_form(target.hex()))
    assert item is not None and item.value == b"hello mainline" and not item.mutable
    assert "hello mainline" in panel.results.values_list.item(0).text()
    wait_for(lambda: panel.results.plot.point_count() > 0)

    key_file = Path(controller.node.data_dir) / KEY_FILE_NAME
    assert not key_file.exists()
    assert run(panel.get_from_form(mutable=True, salt="s")) is None  # no key pair yet
    assert "No key file" in panel.message() and "Put a mutable item first" in panel.message()
    first = run(panel.put_from_form("v1", mutable=True, salt="s"))
    assert first is not None and first.seq == 1 and key_file.exists()
    assert key_file.stat().st_mode & 0o077 == 0
    second = run(panel.put_from_form("v2", mutable=True, salt="s"))
    assert second.seq == 2 and second.target == first.target and "seq 2" in panel.message()
    found = run(panel.get_from_form(mutable=True, salt="s"))
    assert found is not None and found.mutable and found.seq == 2 and found.value == b"v2"
    assert any("seq 2" in panel.results.values_list.item(i).text() for i in range(panel.results.values_list.count()))
    # another salt is another item: nobody holds it
    assert run(panel.get_from_form(mutable=True, salt="other")) is None
    assert "No node holds" in panel.message()


def test_bad_input_is_a_message_never_a_call(qtbot: Any, qasync_loop: Any, mainline: Any) -> None:
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    run = qasync_loop.run_until_complete
    assert run(panel.get_peers_from_form("not a hash")) is None
    assert "40 hex digits" in panel.message() and not panel.running
    assert run(panel.announce_from_form("magnet:?xt=urn:btih:xyz")) is None
    assert "must be 40 hex digits or 32 base32" in panel.message()
    panel.form.hash_edit.setText(os.urandom(20).hex())  # changing the field clears its message
    assert panel.message() == ""
    assert run(panel.put_from_form("x" * 1000)) is None
    assert "BEP 44 allows 1,000" in panel.message()
    assert panel.form.item_size.property("state") == "error" and panel.form.item_size.text().startswith("1,005 /")
    assert run(panel.put_from_form("v", mutable=True, salt="s" * 65)) is None
    assert "salt is 65 bytes" in panel.message()
    assert run(panel.get_from_form("abcd")) is None
    assert "40 hex digits" in panel.message()
    key_file = Path(controller.node.data_dir) / KEY_FILE_NAME
    key_file.write_bytes(b"not a key")
    key_file.chmod(0o600)
    assert run(panel.put_from_form("v", mutable=True, salt="")) is None
    assert "seed, not 9 bytes" in panel.message() and "move the file away" in panel.message()
    assert run(panel.get_from_form(mutable=True)) is None
    assert "seed, not 9 bytes" in panel.message()
    assert panel.lookup_id is None and panel.hops.rowCount() == 0  # none of them started a lookup


def test_disabled_without_network(qtbot: Any, qasync_loop: Any) -> None:
    bridge = EventBridge(interval_ms=10_000)
    controller = NetworkController(bridge, config=MAINLINE)
    panel = make(qtbot, controller, bridge)
    assert not panel.form_widget.isEnabled() and "No node" in panel.reason_label.text()
    assert qasync_loop.run_until_complete(panel.get_peers_from_form(os.urandom(20).hex())) is None
    assert "No node" in panel.message()
    assert controller.network_name() == "Mainline \u00b7 not joined"


def test_traffic_and_routing_speak_mainline(qtbot: Any, qasync_loop: Any, mainline: Any, wait_for: Any) -> None:
    """A get_peers answer of the lab, selected in the traffic panel: v, ip and nodes decoded."""
    from khgui.routing.panel import RoutingPanel
    from khgui.traffic.panel import TrafficPanel

    controller, bridge = mainline
    traffic = TrafficPanel(controller, bridge)
    routing = RoutingPanel(controller, bridge)
    qtbot.addWidget(traffic)
    qtbot.addWidget(routing)
    assert traffic.message_view.mainline
    qasync_loop.run_until_complete(controller.node.get_peers(os.urandom(20)))
    table = traffic.table
    traffic.method_combo.setCurrentIndex(traffic.method_combo.findData("get_peers"))
    traffic.direction_combo.setCurrentIndex(traffic.direction_combo.findData("in"))
    model = table.model()

    def answer_row() -> int | None:  # the lab's traffic sends us get_peers queries too: take an answer
        rows = [r for r in range(model.rowCount()) if model.index(r, 7).data()]  # an RTT: an answer
        return rows[0] if rows else None

    wait_for(lambda: answer_row() is not None)
    table.selectRow(answer_row())
    texts = dict(traffic.message_view.texts())
    assert texts["v"] == "Khashmir Explorer 0.1 (KE, 0x4b450001)"  # the lab runs our dht: client code KE
    node = controller.node  # dual-stack: the answer came to one of its sides
    ours = [format_peer(a) for a in (node.address_of(f) for f in node.families) if a is not None]
    assert any(texts["ip"].startswith(f"{a} ") for a in ours), (texts["ip"], ours)
    nodes = "nodes" if "nodes" in texts else "nodes6"  # an answer to our IPv6 side carries nodes6
    assert "nodes" in texts[nodes] and (nodes == "nodes6" or texts[nodes].endswith("bytes)")), texts
    # routing-table contacts show the client they told us, with its code
    wait_for(lambda: any(c.client for b in controller.node.routing_table() for c in b.contacts))
    def shown() -> set[str]:
        return {routing.contacts.index(r, 5).data() for r in range(routing.contacts.rowCount())}

    wait_for(lambda: "KE \u00b7 Khashmir Explorer 0.1" in shown())


def test_get_peers_marks_values_only_on_answers_with_peers(qtbot: Any, qasync_loop: Any, mainline: Any,
                                                           wait_for: Any) -> None:
    """The scrape after a get_peers asks the closest nodes again: an answer without peers is "answered"."""
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    run = qasync_loop.run_until_complete
    nobody = os.urandom(20)
    found = run(panel.get_peers_from_form(nobody.hex()))
    assert found is not None and found.peers == []
    wait_for(lambda: panel.results.plot.point_count() > 0 and "queried" not in panel.hops.outcomes())
    assert "values" not in panel.hops.outcomes() and "values" not in panel.results.plot.counts()
    assert panel.results.plot.counts().get("answered", 0) >= 1
    # once announced, the nodes holding the peer answer with values (and only those)
    info_hash = os.urandom(20)
    assert run(panel.announce_from_form(info_hash.hex(), 6881))
    found = run(panel.get_peers_from_form(info_hash.hex()))
    assert found is not None and found.peers
    wait_for(lambda: "values" in panel.hops.outcomes() and "queried" not in panel.hops.outcomes())
    assert panel.results.plot.counts()["values"] == panel.hops.outcomes().count("values")


def test_form_fits_its_dock_at_1280x720(qtbot: Any, tmp_path: Path) -> None:
    """A magnet link's long name or a key file's path wraps: no horizontal scroll bar in the dock."""
    from PySide6.QtCore import QSettings

    from khgui.window.main_window import MainWindowView

    bridge = EventBridge()
    controller = NetworkController(bridge, config=MAINLINE)
    window = MainWindowView(controller, bridge, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                            persist=False)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    panel = window.panels["lookup"]
    scroll = window.docks["lookup"].widget()
    qtbot.waitUntil(lambda: scroll.viewport().width() > 300, timeout=2000)
    name = ".".join(["A-Very-Long-Torrent-Name"] * 8)
    panel.form.hash_edit.setText(f"magnet:?xt=urn:btih:{'ab' * 20}&dn={name}")
    panel.form.mutable_radio.setChecked(True)
    panel.form.key_label.setText("Mutable: the first Put creates a key pair in /" + "long-directory-name/" * 12)
    assert name[:40] in panel.form.hash_preview.text()
    qtbot.waitUntil(lambda: panel.minimumSizeHint().width() <= scroll.viewport().width(), timeout=2000)
    assert scroll.horizontalScrollBar().maximum() == 0
    shown = panel.form.hash_preview.shown_text()  # elided to fit, the whole text in the tooltip
    assert "\u2026" in shown and len(shown) < len(panel.form.hash_preview.text())
    assert panel.form.hash_preview.toolTip() == panel.form.hash_preview.text()
