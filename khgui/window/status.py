"""Status-bar pieces and the inline error banner of the main window.

:class:`NodeIdView` shows our node id and copies it to the clipboard when
clicked (saying so in a tooltip where it was clicked).  :class:`StatusPanel`
holds the status bar's labels, the recording indicator and the busy
indicator; it takes only the width its labels need, so the status bar's
messages ("killed lab node …") have the rest.  :class:`BannerPanel` is the
inline error message shown at the top of the window (instead of message
boxes or tracebacks): its text wraps rather than being cut, and it stays
until dismissed.  :class:`MessageLog` keeps the last messages and errors,
each with its time, behind a status-bar button, so none is lost when the
status bar moves on or the banner is dismissed.
"""

from __future__ import annotations

from typing import Any, Sequence

import collections
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QProgressBar, QToolButton, QToolTip, QWidget

from ..common.text import format_clock, format_peer, plural
from ..common.theme import set_state
from ..resources import icon


class NodeIdView(QLabel):
    """Our node id; click to copy the full hex id to the clipboard.

    Signals:
        copied(str): the id text copied.
    """

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("no node", parent)
        self._full = ""
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to copy our node id")

    def set_id(self, node_id: bytes | None) -> None:
        self._full = node_id.hex() if node_id else ""
        self.setText(f"id {self._full[:8]}\u2026" if self._full else "no node")
        self.setToolTip(f"{self._full}\nClick to copy" if self._full else "no node")

    def full_id(self) -> str:
        return self._full

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._full and event.button() == Qt.MouseButton.LeftButton:
            QGuiApplication.clipboard().setText(self._full)
            QToolTip.showText(event.globalPosition().toPoint(), "node id copied to the clipboard", self)
            self.copied.emit(self._full)
        super().mousePressEvent(event)


class RecordingView(QLabel):
    """"● REC n packets" while a capture is recorded (hidden otherwise); click to stop.

    Signals:
        clicked(): the user asked to stop recording.
    """

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recording")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        set_state(self, "error")
        self.hide()

    def show_recording(self, path: str, packets: int) -> None:
        """Shown with the packets written so far ("" path: hidden)."""
        if not path:
            self.hide()
            return
        self.setText(f"\u25cf REC {packets:,} packets")
        self.setToolTip(f"Recording to {path}\nClick to stop recording (File \u25b8 Stop recording)")
        self.show()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)


class StatusPanel(QWidget):
    """Network (profile, lab size, joined or not), node id, address, contacts, buckets,
    the recording indicator and the busy indicator."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node_id = NodeIdView()
        self.network = QLabel("\u2013")
        self.network.setToolTip("The DHT our node speaks, and the network it is on")
        self.address = QLabel("\u2013")
        self.contacts = QLabel("0 contacts")
        self.buckets = QLabel("0 buckets")
        self.recording = RecordingView()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setFixedWidth(90)
        self.busy.setTextVisible(False)
        self.busy.setToolTip("look-ups running")
        self.busy.hide()
        self._joined = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        for w in (self.recording, self.network, self.node_id, self.address, self.contacts, self.buckets, self.busy):
            layout.addWidget(w)

    def show_node(self, node: Any) -> None:
        self.node_id.set_id(node.id if node is not None else None)
        if node is None:
            self.address.setText("\u2013")
        else:
            families = tuple(getattr(node, "families", ()) or ())
            if len(families) > 1:  # a dual-stack node (BEP 32): each side's address
                self.address.setText(" \u00b7 ".join(format_peer(node.address_of(f)) for f in families))
            else:
                self.address.setText(format_peer(node.address))

    def show_network(self, text: str) -> None:
        """The profile and the network, e.g. "Mainline \u00b7 local lab of 32 nodes"
        or "Khashmir \u00b7 not joined (lab of 32 nodes)"."""
        self.network.setText(text)

    def show_counts(self, contacts: int, buckets: int) -> None:
        """Our table's size; while not joined its contacts are only those saved from before."""
        if self._joined or not contacts:
            self.contacts.setText(plural(contacts, "contact"))
            self.contacts.setToolTip("Contacts in the routing table of the node shown")
        else:
            self.contacts.setText(plural(contacts, "saved contact"))
            self.contacts.setToolTip("Contacts kept from an earlier run or network; none has answered "
                                     "on a network joined now")
        set_state(self.contacts, "" if self._joined or not contacts else "hint")
        self.buckets.setText(plural(buckets, "bucket"))

    def show_joined(self, joined: bool) -> None:
        self._joined = joined
        set_state(self.network, "ok" if joined else "warn")

    @property
    def joined(self) -> bool:
        return self._joined

    def set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def show_recording(self, path: str, packets: int) -> None:
        """The recording indicator: "● REC n packets" while recording ("" path: hidden)."""
        self.recording.show_recording(path, packets)


def fit_fields(available: int, fixed: Sequence[QWidget], optional: Sequence[QWidget], spacing: int = 10) -> None:
    """Show as many of ``optional`` (most wanted first) as fit in ``available`` pixels
    beside the visible ``fixed`` widgets; hide the rest, so that none is squeezed."""
    used = sum(w.sizeHint().width() + spacing for w in fixed if not w.isHidden())
    fits = True
    for w in optional:
        width = w.sizeHint().width() + spacing
        fits = fits and used + width <= available
        w.setVisible(fits)
        if fits:
            used += width


class MessageLog(QToolButton):
    """The last messages and errors, newest first, in the menu of a status-bar button.

    Clicking an entry copies its text to the clipboard.
    """

    def __init__(self, parent: QWidget | None = None, limit: int = 50) -> None:
        super().__init__(parent)
        self.setObjectName("messageLog")
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip("The last messages and errors (click one to copy it)")
        self.entries: collections.deque[tuple[float, str, bool]] = collections.deque(maxlen=limit)
        self._menu = QMenu(self)
        self._menu.aboutToShow.connect(self._fill)
        self.setMenu(self._menu)
        self._errors = 0
        self._update()

    def add(self, text: str, error: bool = False, when: float | None = None) -> None:
        self.entries.append((time.time() if when is None else when, text, error))
        self._errors += error
        self._update()

    def texts(self) -> list[str]:
        """The entries' texts, oldest first."""
        return [text for _, text, _ in self.entries]

    def _update(self) -> None:
        n = len(self.entries)
        self.setText(f"Log ({n})" if not self._errors else f"Log ({n}, \u26a0 {self._errors})")
        self.setEnabled(n > 0)

    def _fill(self) -> None:
        self._menu.clear()
        for when, text, error in reversed(self.entries):
            mark = "\u26a0 " if error else ""
            action = QAction(f"{format_clock(when)[:8]}  {mark}{text}", self._menu)
            action.triggered.connect(lambda _c=False, t=text: QGuiApplication.clipboard().setText(t))
            self._menu.addAction(action)
        self._errors = 0
        self._update()


class BannerPanel(QWidget):
    """An error message with a close button; its text wraps, and it stays until dismissed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(icon("close"))
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.close_button = close
        self.messages: collections.deque[str] = collections.deque(maxlen=100)
        self.hide()

    def show_message(self, text: str) -> None:
        self.messages.append(text)
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
