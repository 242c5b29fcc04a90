"""The routing panel on a dual-stack Mainline node (BEP 32): a switch between the IPv4 and
IPv6 tables, each with its count, IPv6 contacts shown whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt

from dht import Config, Node

from khgui.routing.panel import RoutingPanel


def test_the_panel_switches_between_the_tables_of_each_family(
    qtbot: Any, mainline: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path,
) -> None:
    controller, bridge = mainline
    node = controller.node
    assert node.families == ("IPv4", "IPv6")  # the explorer's Mainline node is dual-stack
    panel = RoutingPanel(controller, bridge)
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    wait_for(lambda: panel.has_data(), 10)
    assert panel.family_bar.isVisible() and panel.family == "IPv4"
    v4_ports = {i.contact.port for r in panel.buckets.rows() for i in r.contacts}
    assert v4_ports and all(i.contact.host != "::1" for r in panel.buckets.rows() for i in r.contacts)

    # Another dual-stack node joins through our IPv6 side: our IPv6 table gets it.
    other = Node(Config(PROFILE="mainline"), host="127.0.0.1", host6="::1", data_dir=tmp_path / "other")
    six = node.address_of("IPv6")
    assert six is not None and six[0] == "::1"

    async def join() -> None:
        await other.start()
        await other.bootstrap([six])

    run(join())
    try:
        # (it is offered to our IPv6 table; a full bucket may keep it in its replacement cache)
        wait_for(lambda: any(c.contact.host == "::1" for b in node.routing_table_of("IPv6") for c in b.contacts), 10)
        panel.refresh()  # as the next batch of routing events does
        count = sum(len(b.contacts) for b in node.routing_table_of("IPv6"))
        assert panel.family_buttons["IPv6"].text() == f"IPv6 \u00b7 {count} contact{'s' if count != 1 else ''}"
        assert "contacts" in panel.family_buttons["IPv4"].text()
        qtbot.mouseClick(panel.family_buttons["IPv6"], Qt.MouseButton.LeftButton)
        assert panel.family == "IPv6"
        shown = [i.contact for r in panel.buckets.rows() for i in r.contacts]
        table6 = {c.contact.address for b in node.routing_table_of("IPv6") for c in b.contacts}
        assert {c.address for c in shown} == table6 and {c.host for c in shown} == {"::1"}
        assert [r for r in panel.buckets.rows() if r.own]  # built around our IPv6 side's id
        panel.show_family("IPv4")
        assert {i.contact.port for r in panel.buckets.rows() for i in r.contacts} >= v4_ports
    finally:
        run(other.stop())
