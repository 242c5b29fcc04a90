"""The capture bar: says the window shows a capture, picks the viewpoint, scrubs the timeline.

:class:`CaptureBarPanel` is a plain widget (the session puts it in a
toolbar row of its own): a banner line "Capture FILE — not a live node",
the progress and summary of the reading, a "Seen from" combo and the
timeline slider with the time it points at.  It only emits what the user
asks (:attr:`viewpoint_chosen`, :attr:`seek_requested`); the session acts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from ..common.text import format_clock, format_peer

Address = tuple[str, int]
SLIDER_STEPS = 1000
SEEK_DELAY_MS = 150  # scrubbing: seek once the slider rests this long


class CaptureBarPanel(QWidget):
    """Banner, viewpoint and timeline of an open capture.

    Signals:
        viewpoint_chosen(object): an address (host, port) or None for every node.
        seek_requested(float): the wall-clock time the user scrubbed to.
        close_requested(): the user closed the capture.
    """

    viewpoint_chosen = Signal(object)
    seek_requested = Signal(float)
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CaptureBar")
        self.banner = QLabel()
        self.banner.setObjectName("captureBanner")
        self.banner.setStyleSheet("QLabel#captureBanner { background: #fff3cd; color: #5d4200; padding: 4px 8px;"
                                  " border: 1px solid #e0c36c; border-radius: 3px; font-weight: bold; }")
        self.progress = QLabel()
        self.progress.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("Close capture")
        self.close_button.clicked.connect(self.close_requested.emit)
        self.viewpoint = QComboBox()
        self.viewpoint.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.viewpoint.setMinimumContentsLength(24)
        self.viewpoint.setToolTip("Show the traffic as this address saw it, or every exchange once")
        self.viewpoint.activated.connect(lambda _i: self.viewpoint_chosen.emit(self.viewpoint.currentData()))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setToolTip("Scrub through the capture")
        self.slider.setEnabled(False)
        self.time_label = QLabel("\u2013")
        self._span = (0.0, 0.0)
        self._seek = QTimer(self)
        self._seek.setSingleShot(True)
        self._seek.setInterval(SEEK_DELAY_MS)
        self._seek.timeout.connect(lambda: self.seek_requested.emit(self.slider_time()))
        self.slider.valueChanged.connect(self._moved)

        top = QHBoxLayout()
        top.addWidget(self.banner, 1)
        top.addWidget(self.close_button)
        row = QHBoxLayout()
        row.addWidget(QLabel("Seen from"))
        row.addWidget(self.viewpoint)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self.progress)

    def show_capture(self, name: str) -> None:
        self.banner.setText(f"Showing capture {name} \u2014 recorded traffic, not a live node "
                            f"(Close capture starts the lab and our node again)")

    def set_viewpoints(self, addresses: list[tuple[Address, int]], current: Address | None) -> None:
        """The busiest addresses (with their message counts) and the one shown."""
        self.viewpoint.blockSignals(True)
        self.viewpoint.clear()
        self.viewpoint.addItem("every node (as requester)", None)
        for address, count in addresses:
            self.viewpoint.addItem(f"{format_peer(address)} ({count:,})", address)
        index = self.viewpoint.findData(current) if current is not None else 0
        self.viewpoint.setCurrentIndex(max(0, index))
        self.viewpoint.blockSignals(False)

    def set_span(self, first: float, last: float) -> None:
        """The capture's time span known so far (wall clock)."""
        self._span = (first, max(first, last))
        self.slider.setEnabled(last > first)
        if not self._seek.isActive():
            self.time_label.setText(format_clock(self.slider_time()))

    def slider_time(self) -> float:
        first, last = self._span
        return first + (last - first) * self.slider.value() / SLIDER_STEPS

    def set_time(self, when: float) -> None:
        """Move the slider to ``when`` without asking for a seek."""
        first, last = self._span
        self.slider.blockSignals(True)
        self.slider.setValue(round((when - first) / (last - first) * SLIDER_STEPS) if last > first else 0)
        self.slider.blockSignals(False)
        self.time_label.setText(format_clock(when))

    def _moved(self, _value: int) -> None:
        self.time_label.setText(format_clock(self.slider_time()))
        self._seek.start()
