"""File ▸ Record capture and Open capture: the dialogs start where the last capture was recorded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from khgui.common.files import default_dir

from .test_capture_gui import make_window


def test_open_capture_starts_where_record_wrote(qtbot: Any, tmp_path: Path, live: Any) -> None:
    controller, bridge = live
    window = make_window(qtbot, tmp_path, controller, bridge)
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
