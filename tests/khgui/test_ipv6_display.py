"""IPv6 addresses in the explorer: whole and bracketed with their port, our dual-stack node's
address of each family in the status bar, its external address per family."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from dht import Config, Node

from khgui.common.text import format_peer
from khgui.window.mainline_status import MainlineStatusView
from khgui.window.status import StatusPanel


def test_an_ipv6_address_is_shown_whole_in_brackets() -> None:
    assert format_peer(("2001:db8:0:1::7", 6881)) == "[2001:db8:0:1::7]:6881"
    assert format_peer(("10.0.0.1", 6881)) == "10.0.0.1:6881"


def test_the_status_bar_shows_each_side_of_a_dual_stack_node(qtbot: Any, run: Callable[[Any], Any],
                                                             tmp_path: Path) -> None:
    node = Node(Config(PROFILE="mainline"), host="127.0.0.1", host6="::1", data_dir=tmp_path)
    run(node.start())
    try:
        status = StatusPanel()
        qtbot.addWidget(status)
        status.show_node(node)
        v4, v6 = node.address_of("IPv4"), node.address_of("IPv6")
        assert v4 is not None and v6 is not None
        assert status.address.text() == f"127.0.0.1:{v4[1]} \u00b7 [::1]:{v6[1]}"
        mainline = MainlineStatusView()
        qtbot.addWidget(mainline)
        mainline.show_node(node)
        assert node.external_addresses() == {}  # loopback: nobody has voted
        before = mainline.external.text()
        mainline.show_externals({"IPv4": ("203.0.113.7", 3)})  # the primary's alone: as show_stats has it
        assert mainline.external.text() == before
        mainline.show_externals({"IPv4": ("203.0.113.7", 3), "IPv6": ("2001:db8::7", 1)})
        assert mainline.external.text() == "ext. IPv4 203.0.113.7 (3 votes) \u00b7 IPv6 2001:db8::7 (1 vote)"
    finally:
        run(node.stop())
