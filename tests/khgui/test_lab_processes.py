"""The explorer on a lab in worker processes: the map and panels show it, a dead worker is shown."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSettings

from dht import LabProcesses
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.window.main_window import MainWindowView

from .conftest import FAST


def test_a_process_lab_forms_the_window_shows_it_and_a_dead_worker_is_shown(
    qtbot: Any, qasync_loop: asyncio.AbstractEventLoop, wait_for: Callable[..., None],
    run: Callable[[Any], Any], tmp_path: Path
) -> None:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=FAST)
    controller.lab_control.processes = 2
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(window)
    window.show()
    try:
        assert run(controller.start(lab_size=120, data_dir=str(tmp_path / "node")))
        labs = controller.lab_runner
        assert isinstance(labs, LabProcesses) and controller.lab is None and controller.lab_size == 120
        assert os.getpid() not in labs.pids  # none of the lab's nodes in the window's process
        window.docks["map"].raise_()  # the map fills when shown
        wait_for(lambda: window.map.model.counts() == (120, 120), 10)

        # A node of the other worker in focus: the panels show it; a store from it is answered.
        infos = run(labs.overview())
        target = next(i for i in infos if i.host == "127.0.0.3")  # node 1: worker 1's
        assert run(controller.focus_node(target.id))
        wait_for(lambda: window.routing.buckets.contact_count() > 0)
        assert window.status.node_id.full_id() == target.id.hex()
        focus = controller.lab_control.focus
        assert focus is not None
        result = run(focus.store_value(os.urandom(20), b"from the window"))
        assert result.accepted

        pid = labs.pids[1]
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: any("lab worker process 1 ended" in m for m in window.log.texts()), 10)
        assert "signal 9" in window.banner.text() and "60 nodes are dead" in window.banner.text()
        wait_for(lambda: window.map.model.counts() == (120, 60), 10)
        assert controller.lab_size == 60
        window.grab().save(str(tmp_path / "lost.png"))
    finally:
        run(controller.stop())
        bridge.stop()
