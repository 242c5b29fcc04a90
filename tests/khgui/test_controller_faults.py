"""The explorer with real dht nodes: host names, a held data directory, a full disk -- shown in the window."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from PySide6.QtCore import QSettings

from dht.node import core_of
from dht import Node
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.window.dialogs import JoinDialog
from khgui.window.main_window import MainWindowView

from tests.fsfaults import fill, tmpfs

from .conftest import FAST

IPV6 = "IPv6 addresses are not supported: the Khashmir wire carries IPv4 only"


@pytest.fixture
def window(qtbot: Any, tmp_path: Path) -> Iterator[Callable[[NetworkController], MainWindowView]]:
    """``window(controller)``: a main window showing ``controller``'s errors in its banner."""
    made: list[MainWindowView] = []

    def make(controller: NetworkController) -> MainWindowView:
        w = MainWindowView(controller, EventBridge(), QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                           persist=False)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make


def test_join_dialog_refuses_a_bare_ipv6_address_and_a_missing_host_as_you_type(qtbot: Any) -> None:
    dialog = JoinDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.buttons()[0]
    dialog.edit.setText("[::1]:4000")  # IPv6 as [address]:port (a Khashmir node refuses it when joining)
    assert ok.isEnabled() and dialog.address() == ("::1", 4000)
    for text, says in (("::1", "[address]:port"), (":4000", "missing host before ':4000'")):
        dialog.edit.setText(text)
        assert not ok.isEnabled() and says in dialog.hint.text() and dialog.address() is None
    dialog.edit.setText("localhost:4000")
    assert ok.isEnabled() and "resolved when joining" in dialog.hint.text()


def test_joining_by_host_name_resolves_it(run: Callable[[Any], Any], tmp_path: Path) -> None:
    peer = Node(FAST, host="127.0.0.1", data_dir=tmp_path / "peer")
    run(peer.start())
    controller = NetworkController(EventBridge(), config=FAST)
    errors: list[str] = []
    controller.error.connect(errors.append)
    try:
        assert run(controller.start(lab_size=0, bootstrap=[("localhost", peer.address[1])],
                                    data_dir=str(tmp_path / "ours")))
        assert controller.joined, errors
        assert controller.node is not None and core_of(controller.node).table.get(peer.id) is not None
        assert core_of(peer).table.get(controller.node.id) is not None
    finally:
        run(controller.stop())
        run(peer.stop())


def test_a_name_that_does_not_resolve_is_shown_in_the_banner(run: Callable[[Any], Any], tmp_path: Path,
                                                             window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import socket

    async def unknown(self: object, host: object, port: object, **kw: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")  # no DNS query leaves the machine

    controller = NetworkController(EventBridge(), config=FAST)
    w = window(controller)
    controller.error.connect(w.show_error)
    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", unknown)
    try:
        assert run(controller.start(lab_size=0, bootstrap=[("nowhere.example", 4000)], data_dir=str(tmp_path)))
        assert not controller.joined
        assert w.banner.text() == ("could not join nowhere.example:4000: "
                                   "cannot resolve nowhere.example: Name or service not known")
    finally:
        run(controller.stop())


def test_a_khashmir_node_joining_an_ipv6_address_says_so_in_one_line(run: Callable[[Any], Any], tmp_path: Path,
                                                                     window: Any) -> None:
    controller = NetworkController(EventBridge(), config=FAST)
    w = window(controller)
    controller.error.connect(w.show_error)
    try:
        assert run(controller.start(lab_size=0, bootstrap=[("::1", 4000)], data_dir=str(tmp_path)))
        assert not controller.joined
        assert IPV6 in w.banner.text() and "\n" not in w.banner.text()
    finally:
        run(controller.stop())


def test_a_second_explorer_on_a_held_data_directory_says_so_in_the_window(
        run: Callable[[Any], Any], tmp_path: Path, window: Any) -> None:
    first = NetworkController(EventBridge(), config=FAST)
    second = NetworkController(EventBridge(), config=FAST)
    w = window(second)
    second.error.connect(w.show_error)
    try:
        assert run(first.start(lab_size=0, data_dir=str(tmp_path)))
        assert not run(second.start(lab_size=0, data_dir=str(tmp_path)))
        assert second.node is None and first.node is not None and first.node.running
        assert w.banner.text() == (f"could not start our node: data directory {tmp_path} "
                                   "is in use by another node (in this process)")
    finally:
        run(second.stop())
        run(first.stop())


@pytest.fixture
def small_disk() -> Iterator[Path]:
    with tmpfs("2m") as where:
        yield where


def test_a_full_disk_is_shown_in_the_banner(run: Callable[[Any], Any], window: Any, small_disk: Path) -> None:
    controller = NetworkController(EventBridge(), config=FAST)
    w = window(controller)
    controller.error.connect(w.show_error)
    try:
        assert run(controller.start(lab_size=0, data_dir=str(small_disk / "node")))
        node = controller.node
        assert node is not None
        fill(small_disk)
        results = [run(node.store_value(os.urandom(20), b"x" * 1000)) for _ in range(10)]
        assert any(r.refused for r in results)
        assert "disk full" in w.banner.text() and str(small_disk / "node") in w.banner.text()
        assert "\n" not in w.banner.text()
    finally:
        run(controller.stop())
