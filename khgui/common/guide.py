"""Help ▸ Guide: what each panel shows and a glossary, from ``resources/guide/guide.md``.

:class:`GuideDialog` is a non-modal window beside the main one (it can stay
open while the user tries what it explains).  The text ships in
``resources/guide/`` (found by :func:`khgui.resources.resource_path`, in a
checkout, the wheel and the PyInstaller bundle alike) as Markdown, shown by
a QTextBrowser in the theme's palette, its links (the BEPs, the Kademlia
paper) opened in the desktop's browser.  A find box searches the text.
A missing file is a message in the dialog, never an exception.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut, QTextDocument
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QTextBrowser, QVBoxLayout, QWidget,
)

from ..resources import resource_path
from .theme import set_state

GUIDE_PARTS = ("guide", "guide.md")


def guide_text() -> str:
    """The guide's Markdown; FileNotFoundError (saying where it looked) when it is missing."""
    path = resource_path(*GUIDE_PARTS)
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileNotFoundError(f"the guide's text was not found at {path}: {exc.strerror or exc}") from exc


class GuideDialog(QDialog):
    """The guide: the panels explained and the glossary, searchable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Khashmir Explorer guide")
        self.setObjectName("GuideDialog")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setObjectName("guide")
        self.find_edit = QLineEdit()
        self.find_edit.setPlaceholderText("find in the guide (Enter: next)\u2026")
        self.find_edit.setClearButtonEnabled(True)
        self.find_edit.textChanged.connect(lambda _t: self.find_next(from_start=True))
        self.find_edit.returnPressed.connect(self.find_next)
        self.find_note = QLabel()
        set_state(self.find_note, "hint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.find_edit, 1)
        top.addWidget(self.find_note)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self.find_edit.setFocus)
        try:
            self.browser.setMarkdown(guide_text())
            self.loaded = True
        except FileNotFoundError as exc:
            self.browser.setPlainText(f"{str(exc)[:1].upper()}{str(exc)[1:]}.\n\nThe guide ships in the "
                                      "resources folder of Khashmir Explorer; reinstalling it brings it back.")
            self.loaded = False
        self.resize(self.sizeHint())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """760x640, or 90 % of the screen's available height when that is less (it fits 1280x720)."""
        width, height = 760, 640
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            width, height = min(width, int(area.width() * 0.9)), min(height, int(area.height() * 0.9))
        return QSize(width, height)

    def text(self) -> str:
        return self.browser.toPlainText()

    def find_next(self, from_start: bool = False) -> bool:
        """Select the next occurrence of the find box's text (wrapping round); whether one was found."""
        needle = self.find_edit.text()
        if not needle:
            self.find_note.setText("")
            return False
        if from_start:
            cursor = self.browser.textCursor()
            cursor.movePosition(cursor.MoveOperation.Start)
            self.browser.setTextCursor(cursor)
        found = self.browser.find(needle)
        if not found:  # wrap round
            cursor = self.browser.textCursor()
            cursor.movePosition(cursor.MoveOperation.Start)
            self.browser.setTextCursor(cursor)
            found = self.browser.find(needle, QTextDocument.FindFlag(0))
        self.find_note.setText("" if found else "not found")
        return bool(found)


def show_guide(parent: QWidget) -> GuideDialog:
    """Show the guide (one per parent: raised again if open)."""
    dialog = parent.findChild(GuideDialog)
    if dialog is None:
        dialog = GuideDialog(parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
