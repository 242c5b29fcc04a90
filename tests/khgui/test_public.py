"""Joining the public Mainline DHT, on loopback only: a router list of an unused port (no network),
a Mainline lab node standing in for a router, the first-time dialog, the settings kept."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from dht import PUBLIC_ROUTERS, Config
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.node_control import free_udp_port
from khgui.window.main_window import MainWindowView
from khgui.window.public import PublicJoinDialog, PublicSettings, parse_routers

MAINLINE = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)


def test_router_lists_parse_or_say_what_is_wrong() -> None:
    assert parse_routers("a.example:1\n\n 127.0.0.1:6881 \n") == ([("a.example", 1), ("127.0.0.1", 6881)], "")
    routers, problem = parse_routers("a.example:1\nnoport")
    assert routers == [] and "line 2" in problem and "host:port" in problem
    assert "at least one router" in parse_routers("  \n")[1]


def test_settings_default_to_the_public_routers_read_only(tmp_path: Path) -> None:
    settings = PublicSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert settings.routers() == list(PUBLIC_ROUTERS) and settings.read_only() and not settings.confirmed()
    settings.set_routers([("127.0.0.1", 9)])
    settings.set_read_only(False)
    again = PublicSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert again.routers() == [("127.0.0.1", 9)] and not again.read_only()


def test_no_network_is_said_within_seconds(qasync_loop: Any, tmp_path: Path) -> None:
    """The routers do not answer (an unused loopback port): the window is told, nothing hangs."""
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=MAINLINE)
    errors: list[str] = []
    controller.error.connect(errors.append)
    dead = ("127.0.0.1", free_udp_port())
    run = qasync_loop.run_until_complete
    try:
        assert run(controller.start(lab_size=0, data_dir=str(tmp_path / "n")))
        began = time.monotonic()
        assert not run(controller.join_public([dead], host="127.0.0.1", timeout=5.0))
        took = time.monotonic() - began
        assert took < 5.5  # bounded: the KRPC timeout, or the join timeout at the latest
        assert errors and errors[-1].startswith("could not join the public Mainline DHT: ")
        assert f"127.0.0.1:{dead[1]}" in errors[-1] and "Is this computer online?" in errors[-1]
        assert controller.node is not None and controller.node.running and not controller.joined
        assert controller.node.config.READ_ONLY  # read-only by default
    finally:
        run(controller.stop())
        bridge.stop()


def test_joins_through_a_router_on_loopback(qasync_loop: Any, tmp_path: Path) -> None:
    """A Mainline lab node stands in for a public router: joined, read-only, named in the title."""
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=MAINLINE)
    run = qasync_loop.run_until_complete
    try:
        assert run(controller.start(lab_size=8, data_dir=str(tmp_path / "n")))
        router = controller.lab_runner.bootstrap_address
        assert run(controller.join_public([router], read_only=False, host="127.0.0.1", query_budget=20.0))
        assert controller.joined and controller.network_name() == "Mainline \u00b7 public DHT"
        assert controller.node.stats().query_budget == 20.0  # polite from the bootstrap on
        assert not controller.node.config.READ_ONLY and controller.node.address[0] == "127.0.0.1"
        assert run(controller.join_public([router], read_only=True, host="127.0.0.1"))
        assert controller.network_name() == "Mainline \u00b7 public DHT, read-only"
        assert controller.node.config.READ_ONLY
    finally:
        run(controller.stop())
        bridge.stop()


def test_menu_confirms_the_first_time_then_joins(qtbot: Any, qasync_loop: Any, tmp_path: Path,
                                                 wait_for: Any) -> None:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=MAINLINE, host="127.0.0.1")
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(window)
    window.show()
    joins: list[tuple[Any, ...]] = []
    real = controller.join_public

    budgets: list[float | None] = []

    async def recording(routers: Any, read_only: bool = True, host: str = "0.0.0.0", timeout: float = 8.0,
                        query_budget: float | None = None) -> bool:
        joins.append((routers, read_only))
        budgets.append(query_budget)
        return await real(routers, read_only, host="127.0.0.1", timeout=3.0,  # never all interfaces in a test
                          query_budget=query_budget)

    controller.join_public = recording  # type: ignore[method-assign]
    try:
        assert qasync_loop.run_until_complete(controller.start(lab_size=0, data_dir=str(tmp_path / "n")))
        assert window.commands.public.isEnabled()
        window.commands.public.trigger()
        dialog = window.dialogs.public
        assert isinstance(dialog, PublicJoinDialog) and dialog.isVisible() and not joins
        text = dialog.explanation.text()
        assert "UDP port" in text and "IP address" in text and "Read-only" in text
        assert dialog.read_only_box.isChecked()
        dialog.routers_edit.setPlainText("nonsense")
        assert "line 1" in dialog.hint.text() and not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
        dead = ("127.0.0.1", free_udp_port())
        dialog.routers_edit.setPlainText(f"{dead[0]}:{dead[1]}")
        assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
        dialog.accept()
        wait_for(lambda: "could not join the public Mainline DHT" in window.banner.text(), timeout=6)
        assert joins == [([dead], True)]
        assert PublicSettings(settings).routers() == [dead] and PublicSettings(settings).confirmed()
        # confirmed once: the next join goes straight ahead, no dialog
        window.dialogs.public = None
        errors: list[str] = []
        controller.error.connect(errors.append)
        window.commands.public.trigger()
        wait_for(lambda: len(joins) == 2 and bool(errors), timeout=6)
        assert window.dialogs.public is None and joins[1] == ([dead], True)
        assert budgets == [20.0, 20.0]  # the public budget (Network ▸ Query budget…), from the first query
        assert "could not join the public Mainline DHT" in errors[-1]
    finally:
        qasync_loop.run_until_complete(controller.stop())
        bridge.stop()


def test_khashmir_profile_cannot_join_the_public_dht(qtbot: Any, tmp_path: Path) -> None:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge)
    window = MainWindowView(controller, bridge, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                            persist=False)
    qtbot.addWidget(window)
    assert not window.commands.public.isEnabled() and "--profile mainline" in window.commands.public.toolTip()
    bridge.stop()
