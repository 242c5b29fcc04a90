"""Status-bar pieces and the inline error banner of the main window.

:class:`NodeIdView` shows our node id and copies it to the clipboard when
clicked.  :class:`StatusPanel` holds the status bar's labels and the busy
indicator.  :class:`BannerPanel` is the inline, dismissable error message
shown at the top of the window (instead of message boxes or tracebacks).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from ..common.text import plural
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
            self.copied.emit(self._full)
        super().mousePressEvent(event)


class StatusPanel(QWidget):
    """Network (profile, lab size), node id, address, contacts, buckets and the busy indicator."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.node_id = NodeIdView()
        self.network = QLabel("\u2013")
        self.network.setToolTip("The DHT our node speaks, and the network it is on")
        self.address = QLabel("\u2013")
        self.contacts = QLabel("0 contacts")
        self.buckets = QLabel("0 buckets")
        self.joined = QLabel("not joined")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate
        self.busy.setFixedWidth(90)
        self.busy.setTextVisible(False)
        self.busy.setToolTip("look-ups running")
        self.busy.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for w in (self.network, self.node_id, self.address, self.joined, self.contacts, self.buckets, self.busy):
            layout.addWidget(w)

    def show_node(self, node: Any) -> None:
        self.node_id.set_id(node.id if node is not None else None)
        if node is None:
            self.address.setText("\u2013")
        else:
            host, port = node.address
            self.address.setText(f"{host}:{port}")

    def show_network(self, text: str) -> None:
        """The profile and the network, e.g. "Mainline \u00b7 local lab"; never squeezed
        (the status bar gives the other fields less room first)."""
        self.network.setText(text)
        self.network.setMinimumWidth(self.network.fontMetrics().horizontalAdvance(text) + 6)

    def show_counts(self, contacts: int, buckets: int) -> None:
        self.contacts.setText(plural(contacts, "contact"))
        self.buckets.setText(plural(buckets, "bucket"))

    def show_joined(self, joined: bool) -> None:
        self.joined.setText("joined" if joined else "not joined")
        set_state(self.joined, "ok" if joined else "warn")

    def set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)


class BannerPanel(QWidget):
    """A one-line error message with a close button; hides itself after a while."""

    def __init__(self, parent: QWidget | None = None, timeout_ms: int = 20_000) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setIcon(icon("close"))
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(timeout_ms)
        self._timer.timeout.connect(self.hide)
        self.messages: list[str] = []
        self.hide()

    def show_message(self, text: str) -> None:
        self.messages.append(text)
        self.label.setText(text)
        self.show()
        self._timer.start()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
