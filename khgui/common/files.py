"""Where the Save and Open dialogs start: the folder last used, kept in QSettings.

Each kind of file has its folder (``files/<kind>_dir``): ``export`` for
every export (traffic, samples, routing table, hops) and ``capture`` for
captures, which File ▸ Record capture sets and File ▸ Open capture starts
in.  With none kept yet (or one that is gone), the user's documents folder
(``QStandardPaths.DocumentsLocation``), else their home.

The dialogs draw a file's icon from its kind only (:class:`PlainIcons`):
Qt's own icon provider asks the MIME database, which reads a file's first
bytes when its name says nothing -- and reading /proc/kmsg or a FIFO blocks
the GUI thread for good (typing /proc/kmsg as a file name froze the app).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtCore import QFileInfo
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QWidget

KINDS = ("export", "capture")


def _key(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"file kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return f"files/{kind}_dir"


def default_dir() -> str:
    """The user's documents folder when it exists, else their home folder."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    if documents and os.path.isdir(documents):
        return documents
    return str(Path.home())


def start_dir(settings: QSettings, kind: str) -> str:
    """The folder a ``kind`` dialog starts in: the last one used (if still there), else :func:`default_dir`."""
    kept = str(settings.value(_key(kind), "", str) or "")
    return kept if kept and os.path.isdir(kept) else default_dir()


def start_path(settings: QSettings, kind: str, name: str) -> str:
    """``name`` in :func:`start_dir`: a Save dialog's proposed file."""
    return os.path.join(start_dir(settings, kind), name)


def remember_dir(settings: QSettings, kind: str, path: str) -> None:
    """Keep the folder of ``path`` (a file chosen or written) for the next ``kind`` dialog."""
    if path:
        folder = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
        settings.setValue(_key(kind), folder)


def app_settings() -> QSettings:
    """The application's QSettings (the names the application set; the window's)."""
    return QSettings()


class PlainIcons(QFileIconProvider):
    """File icons by kind (folder or file), never by content: no file is ever opened to draw one."""

    def icon(self, what: object) -> QIcon:
        if isinstance(what, QFileInfo):
            kind = QFileIconProvider.IconType.Folder if what.isDir() else QFileIconProvider.IconType.File
            return super().icon(kind)
        return super().icon(what)  # type: ignore[call-overload, no-any-return]

    def type(self, info: QFileInfo) -> str:
        return "Folder" if info.isDir() else "File"


def file_dialog(parent: QWidget, title: str, folder: str, name_filter: str) -> QFileDialog:
    """A QFileDialog that never reads a file to draw it (:class:`PlainIcons`)."""
    dialog = QFileDialog(parent, title, folder, name_filter)
    icons = PlainIcons()
    dialog.setIconProvider(icons)
    dialog._khgui_icons = icons  # type: ignore[attr-defined]  # kept alive as long as the dialog
    return dialog


def open_dialog(parent: QWidget, settings: QSettings, kind: str, title: str, name_filter: str,
                chosen: Callable[[str], object]) -> QFileDialog:
    """A window-modal Open dialog in the folder last used for ``kind``; ``chosen(path)`` when one is chosen."""
    dialog = file_dialog(parent, title, start_dir(settings, kind), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    return _opened(dialog, settings, kind, chosen)


def save_dialog(parent: QWidget, settings: QSettings, kind: str, title: str, name: str, name_filter: str,
                suffix: str, chosen: Callable[[str], object]) -> QFileDialog:
    """A window-modal Save dialog in the folder last used for ``kind``, proposing ``name``;
    ``chosen(path)`` runs when a file is chosen (its folder is kept for next time)."""
    dialog = file_dialog(parent, title, start_dir(settings, kind), name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(suffix)
    dialog.selectFile(name)
    return _opened(dialog, settings, kind, chosen)


def _opened(dialog: QFileDialog, settings: QSettings, kind: str, chosen: Callable[[str], object]) -> QFileDialog:
    """Show ``dialog`` window-modal; a file chosen keeps its folder for ``kind`` and goes to ``chosen``."""

    def selected(path: str) -> None:
        remember_dir(settings, kind, path)
        chosen(path)

    dialog.fileSelected.connect(selected)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
