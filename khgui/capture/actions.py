"""File ▸ Open capture…, Record capture… and Stop recording, for the main window.

:class:`CaptureActions` owns the three actions, the record dialog
(:class:`RecordCaptureDialog`), the :class:`CaptureRecorder` and the
:class:`CaptureSession` of an open capture.  The main window only adds the
actions to its File menu; ``khgui --open`` and ``--capture`` call
:meth:`CaptureActions.open` and :meth:`CaptureActions.record`.  Every
failure (a file that cannot be written or read) is a message in the window.
Before Open capture… stops a running lab and node it says so and asks
(:func:`stop_note`; "Don't ask again" is kept in the settings); Close
capture starts them again.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMenu, QMessageBox,
    QPushButton, QVBoxLayout, QWidget,
)

from dht import CaptureError, CaptureReader
from dht.errors import LocalError

from .recording import CaptureRecorder
from .session import CaptureSession

CAPTURE_FILTER = "Captures (*.pcapng *.pcap *.cap);;All files (*)"
#: Settings key: False once the user asked not to be told again that opening a capture stops the network.
CONFIRM_KEY = "capture/confirm_open"


def stop_note(lab_size: int, node_runs: bool) -> str:
    """What opening a capture stops, and what brings it back ("" when nothing runs)."""
    what = [w for w in ("our node" if node_runs else "", f"the local lab of {lab_size} nodes" if lab_size else "")
            if w]
    if not what:
        return ""
    return (f"Showing a capture stops {' and '.join(what)} while the capture is shown. "
            f"File \u25b8 Close capture starts {'them' if len(what) > 1 else 'it'} again and rejoins the network.")


class RecordCaptureDialog(QDialog):
    """Where to record, and whether the whole lab is recorded too."""

    def __init__(self, path: str, include_lab: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record capture")
        self.path_edit = QLineEdit(path)
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        self.lab_check = QCheckBox("Every node of the local lab too (one file; each datagram once)")
        self.lab_check.setChecked(include_lab)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Record every datagram our node sends and receives (pcapng, Wireshark reads it):"))
        layout.addLayout(row)
        layout.addWidget(self.lab_check)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record capture", self.path_edit.text(), CAPTURE_FILTER)
        if path:
            self.path_edit.setText(path)

    def path(self) -> str:
        return self.path_edit.text().strip()


class CaptureActions(QObject):
    """The capture entries of the File menu and what they do."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.recorder = CaptureRecorder(window.controller, self)
        self.session: CaptureSession | None = None
        self.open_action = self._action("&Open capture\u2026", self.open_dialog, QKeySequence.StandardKey.Open,
                                        "Show a pcap or pcapng capture (ours, tcpdump's, Wireshark's)")
        self.record_action = self._action("&Record capture\u2026", self.record_dialog, "Ctrl+Shift+R",
                                          "Record our node's datagrams (or the whole lab's) as pcapng")
        self.stop_action = self._action("&Stop recording", self.stop_recording, None, "Close the capture file")
        self.open_action.setToolTip("Show a pcap or pcapng capture (ours, tcpdump's, Wireshark's); "
                                    "the lab and our node stop until Close capture")
        self.close_action = self._action("&Close capture", self.close_capture, None,
                                         "Back to the live network: the lab and our node start again")
        self.confirm: QMessageBox | None = None  # the "this stops the network" question while open
        self.stop_action.setEnabled(False)
        self.close_action.setEnabled(False)
        self.recorder.changed.connect(self._recording_changed)

    def _action(self, text: str, slot: Any, shortcut: Any, tip: str) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def add_to_menu(self, menu: QMenu) -> None:
        for action in (self.open_action, self.close_action, None, self.record_action, self.stop_action):
            menu.addSeparator() if action is None else menu.addAction(action)

    # -- open ---------------------------------------------------------------------

    def open_dialog(self) -> None:
        """File ▸ Open capture…: say what it stops (unless told not to), then choose the file."""
        controller = self.window.controller
        note = stop_note(controller.lab_size, controller.node is not None)
        settings = self.window.settings
        if not note or self.session is not None or not settings.value(CONFIRM_KEY, True, bool):
            self._choose_file()
            return
        box = QMessageBox(QMessageBox.Icon.Information, "Open capture", note,
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, self.window)
        box.setInformativeText("The capture is shown in the traffic and statistics panels.")
        dont_ask = QCheckBox("Don't ask again", box)  # parented: PySide would free a bare temporary
        box.setCheckBox(dont_ask)
        box.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            self.confirm = None
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Open):
                if dont_ask.isChecked():
                    settings.setValue(CONFIRM_KEY, False)
                self._choose_file()
            box.deleteLater()

        box.finished.connect(done)
        self.confirm = box
        box.open()

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open capture", "", CAPTURE_FILTER)
        if path:
            self.open(path)

    def open(self, path: str) -> bool:
        """Show the capture at ``path``; False (and a message) when it is not one."""
        try:
            CaptureReader(path).close()  # fails now on a missing, empty or foreign file
        except CaptureError as exc:
            self.window.show_error(f"cannot open capture: {exc}")
            return False
        if self.session is not None:
            self.session.close()
        self.recorder.stop()
        self.record_action.setEnabled(False)
        self.session = CaptureSession(self.window, path)
        self.session.bar.close_requested.connect(self.close_capture)
        self.session.start()
        self.close_action.setEnabled(True)
        return True

    def close_capture(self) -> None:
        if self.session is None:
            return
        self.session.close()
        self.session.deleteLater()
        self.session = None
        self.close_action.setEnabled(False)
        self.record_action.setEnabled(True)

    # -- record ---------------------------------------------------------------------

    def record_dialog(self) -> None:
        dialog = RecordCaptureDialog(os.path.abspath("khashmir.pcapng"), self.recorder.include_lab, self.window)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            if result and dialog.path():
                self.record(dialog.path(), dialog.lab_check.isChecked())
            dialog.deleteLater()

        dialog.finished.connect(done)
        dialog.open()

    def record(self, path: str, include_lab: bool = False) -> bool:
        """Start recording to ``path``; False (and a message) when it cannot be written."""
        try:
            self.recorder.start(path, include_lab)
        except LocalError as exc:
            self.window.show_error(str(exc))
            return False
        what = "our node and the lab" if include_lab else "our node"
        self.window.show_message(f"recording {what} to {path}")
        return True

    def stop_recording(self) -> None:
        path, packets = self.recorder.path, self.recorder.packets
        self.recorder.stop()
        if path:
            self.window.show_message(f"recorded {packets:,} packets to {path}")

    def _recording_changed(self, recording: bool) -> None:
        self.stop_action.setEnabled(recording)
        self.record_action.setText("&Record capture\u2026" if not recording else "&Record to another file\u2026")
