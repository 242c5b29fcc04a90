"""Join beyond loopback: our node on 127.0.0.1 moves to all interfaces, keeping its id,
data directory and port, and the window says so (offscreen, a real lab on loopback).

No datagram leaves loopback here: the move is made as a join to another
address would make it (:meth:`NetworkController.move_to_all_interfaces`),
then our node joins the lab on 127.x from 0.0.0.0; which addresses call for
a move is checked on :func:`khgui.node_control.must_move`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings

from dht import Node
from khgui.node_control import must_move
from khgui.window.main_window import MainWindowView


def test_only_a_loopback_node_sending_elsewhere_must_move() -> None:
    assert must_move("127.0.0.1", "192.168.1.20") and must_move("127.0.0.5", "67.215.246.10")
    assert not must_move("127.0.0.1", "127.0.0.2")  # a lab node: loopback to loopback
    assert not must_move("0.0.0.0", "192.168.1.20")  # all interfaces reach everywhere
    assert not must_move("192.168.1.5", "10.0.0.1")


def test_our_node_moves_to_all_interfaces_with_its_id_and_data_dir_and_joins_from_there(
    qtbot: Any, live: Any, run: Callable[[Any], Any], wait_for: Callable[..., None], tmp_path: Path
) -> None:
    controller, bridge = live
    window = MainWindowView(controller, bridge, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                            persist=False)
    qtbot.addWidget(window)
    before: Node = controller.node
    host, port = before.address
    assert host == "127.0.0.1"
    nodes: list[Any] = []
    controller.node_changed.connect(nodes.append)

    assert run(controller.own_node.move_to_all_interfaces("to reach 192.0.2.1"))
    after = controller.node
    assert after is not before and not before.running and after.running
    assert after.address == ("0.0.0.0", port)  # the same port, all interfaces
    assert after.id == before.id and after.data_dir == before.data_dir
    assert after.data_dir == tmp_path / "node"  # the live fixture's
    assert nodes[-1] is after  # the panels follow the new node
    text = window.statusBar().currentMessage()
    assert text.startswith(f"our node moved from 127.0.0.1:{port} to all interfaces (0.0.0.0:{port}) "
                           "to reach 192.0.2.1"), text

    # From 0.0.0.0 a query to the lab on 127.x is answered: our node joins it again.
    assert run(window.join_address(*controller.lab.nodes[0].address)) and controller.joined
    assert controller.node is after and after.address[0] == "0.0.0.0"  # loopback: no second move
    assert run(after.ping(*controller.lab.nodes[3].address)) == controller.lab.nodes[3].id
    wait_for(lambda: window.status.node_id.full_id() == after.id.hex())
