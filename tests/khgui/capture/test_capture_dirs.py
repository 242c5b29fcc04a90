"""File ▸ Record capture and Open capture: the dialogs start where the last capture was recorded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from khgui.capture.actions import CONFIRM_KEY
from khgui.common.files import default_dir

from .test_capture_gui import make_window


def test_open_capture_starts_where_record_wrote(qtbot: Any, tmp_path: Path, live: Any) -> None:
    controller, bridge = live
    window = make_window(qtbot, tmp_path, controller, bridge)
    window.settings.setValue(CONFIRM_KEY, False)  # no "this stops the network" question first
    window.capture.open_dialog()
    dialog = window.capture.file_dialog
    assert isinstance(dialog, QFileDialog)
    assert dialog.directory().absolutePath() == default_dir() != os.getcwd()  # documents (or home) at first
    dialog.reject()
    folder = tmp_path / "captures"
    folder.mkdir()
    assert window.capture.record(str(folder / "ours.pcapng"))
    window.capture.stop_recording()
    window.capture.open_dialog()
    dialog = window.capture.file_dialog
    assert dialog.directory().absolutePath() == str(folder)
    dialog.reject()


OPEN_SCRIPT = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.window.main_window import MainWindowView

app = QApplication([])
bridge = EventBridge()
window = MainWindowView(NetworkController(bridge), bridge, QSettings(sys.argv[2], QSettings.Format.IniFormat),
                        persist=False)
for path in (sys.argv[1], "/proc/self/status"):
    print(window.capture.open(path), window.statusBar().currentMessage(), flush=True)
bridge.stop()
"""


def test_opening_a_fifo_or_a_proc_file_as_a_capture_is_a_message_not_a_frozen_app(tmp_path: Path) -> None:
    import subprocess
    import sys

    fifo = tmp_path / "pipe.pcapng"
    os.mkfifo(fifo)
    script = tmp_path / "open_script.py"
    script.write_text(OPEN_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(fifo), str(tmp_path / "s.ini")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, second = proc.stdout.splitlines()
    assert first == f"False cannot open capture {fifo}: it is a FIFO (named pipe), not a file"
    assert second.startswith("False cannot open capture /proc/self/status: /proc holds the system's special files")
