"""The Network map panel: the ring view, its controls, a legend and the lab's formation progress.

:class:`NetworkMapPanel` owns a :class:`NetworkMapModel` and a
:class:`NetworkMapView`.  The controller feeds it: :meth:`set_nodes` with
each overview of the lab, :meth:`lookup_events` with ``(asker id, event)``
pairs (our node's lookups from the event bridge; the lab's, when "lab
lookups" is ticked, from ``LabThread.watch``), :meth:`set_progress` while
the lab forms.  Only the overview is polled (see :mod:`khgui.map.model` for
why); the lookups and the progress are events.  While the panel is hidden in a
shown window (the map is a tab behind the routing table by default), an
overview is only kept, not shown: the model takes in the last one when the
panel is shown (:meth:`pending_nodes`), so that a lab of 10,000 nodes costs
the window's thread nothing each second, and its first fill (a quarter of a
second at 10,000 nodes) happens when a user asks for the map, not while the
lab forms and our node joins.  It re-emits the view's requests (focus, kill, revive, add)
for the controller to act on; it never touches the network itself.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from dht import LabNodeInfo
from dht.events import LookupAnswered, LookupQueried, LookupStarted

from .model import NetworkMapModel
from ..common import theme
from ..common.onscreen import on_screen
from .palette import COLOR_MODES, outcome_color
from .view import NetworkMapView

MODE_LABELS = {"state": "alive / dead", "buckets": "bucket count", "fill": "table fill"}


def _swatch(color: QColor, size: int = 10) -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawEllipse(0, 0, size - 1, size - 1)
    p.end()
    return pm


class NetworkMapPanel(QWidget):
    """The map of every lab node.

    Signals (node ids as bytes):
        focus_requested(bytes), kill_requested(bytes), revive_requested(bytes), add_requested()
        lab_lookups_toggled(bool): whether to draw the lab's own lookups too.
    """

    focus_requested = Signal(bytes)
    kill_requested = Signal(bytes)
    revive_requested = Signal(bytes)
    add_requested = Signal()
    lab_lookups_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = NetworkMapModel(self)
        self.view = NetworkMapView(self.model, self)
        self.mode = QComboBox()
        for mode in COLOR_MODES:
            self.mode.addItem(MODE_LABELS[mode], mode)
        self.mode.setToolTip("What a node's colour says")
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.lab_lookups = QCheckBox("lab lookups")
        self.lab_lookups.setToolTip("Draw the lookups of the lab's background workload too, not only ours")
        self.lab_lookups.toggled.connect(self.lab_lookups_toggled.emit)
        self.reset = QPushButton("Reset view")
        self.reset.setToolTip("Whole ring (wheel: zoom, drag: pan, 0: reset)")
        self.reset.clicked.connect(self.view.reset_view)
        self.counts = QLabel("no lab")
        self.counts.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.legend = QHBoxLayout()
        self.legend.setSpacing(6)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("colour:"))
        bar.addWidget(self.mode)
        bar.addWidget(self.lab_lookups)
        bar.addWidget(self.reset)
        bar.addStretch(1)
        arcs = QHBoxLayout()
        arcs.setSpacing(6)
        arcs.addWidget(QLabel("queries:"))
        self.arc_swatches: dict[str, QLabel] = {}
        for outcome in ("pending", "answered", "values", "timeout", "error"):
            swatch = QLabel()
            self.arc_swatches[outcome] = swatch
            arcs.addWidget(swatch)
            arcs.addWidget(QLabel(outcome))
        arcs.addStretch(1)
        nodes = QHBoxLayout()
        nodes.addLayout(self.legend)
        nodes.addStretch(1)
        nodes.addWidget(self.counts)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(bar)
        layout.addWidget(self.progress)
        layout.addWidget(self.view, 1)
        layout.addLayout(arcs)
        layout.addLayout(nodes)

        self.view.focus_requested.connect(self.focus_requested.emit)
        self.view.kill_requested.connect(self.kill_requested.emit)
        self.view.revive_requested.connect(self.revive_requested.emit)
        self.view.add_requested.connect(self.add_requested.emit)
        self._legend_shown: list[tuple[str, QColor]] = []
        self._pending: tuple[Sequence[LabNodeInfo], LabNodeInfo | None] | None = None
        self.model.modelReset.connect(self._count)
        self.model.dataChanged.connect(self._count)
        self.model.rowsInserted.connect(self._count)
        theme.manager().changed.connect(self._show_legend)
        self._show_legend()

    # -- fed by the controller ------------------------------------------------------

    def set_nodes(self, infos: Sequence[LabNodeInfo], own: LabNodeInfo | None = None) -> None:
        """Show this overview, or, while the panel is hidden in a shown window, keep it for
        when the panel is shown."""
        window = self.window()
        if window is not self and window.isVisible() and not on_screen(self):
            self._pending = (infos, own)
            return
        self._pending = None
        self.model.set_nodes(infos, own)

    def pending_nodes(self) -> int:
        """How many nodes (ours too) the overview kept for the panel's next show holds (0: none kept)."""
        if self._pending is None:
            return 0
        infos, own = self._pending
        return len(infos) + (own is not None)

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt's name)
        self.on_shown()
        super().showEvent(event)

    def on_shown(self) -> None:
        """Take in the overview kept while off screen (also when the dock's tab is selected)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.model.set_nodes(*pending)

    def set_progress(self, stage: str, done: int, total: int) -> None:
        """Formation progress: a bar until the lab has formed."""
        if stage == "formed" or total <= 0:
            self.progress.hide()
            return
        self.progress.show()
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        what = "nodes listening" if stage == "starting" else "introductions"
        self.progress.setFormat(f"forming: {what} %p%")

    def lookup_events(self, events: Iterable[tuple[bytes, Any]]) -> None:
        """Draw lookups: ``(asker id, LookupStarted | LookupQueried | LookupAnswered)`` pairs."""
        view = self.view
        for source, event in events:
            if isinstance(event, LookupStarted):
                view.lookup_started(source, event.lookup, event.target)
            elif isinstance(event, LookupQueried):
                view.query_sent(source, event.lookup, event.contact.id)
            elif isinstance(event, LookupAnswered) and event.contact.id != source:
                view.query_settled(source, event.lookup, event.contact.id, event.outcome)

    def set_focus_node(self, node_id: bytes | None) -> None:
        self.view.set_focus_node(node_id)

    # -- internals ----------------------------------------------------------------------

    def _mode_changed(self) -> None:
        self.view.set_color_mode(self.mode.currentData())
        self._show_legend()

    def _show_legend(self, *args: Any) -> None:
        self._legend_shown = self.view.legend()
        for outcome, swatch in self.arc_swatches.items():  # the theme's, as in the look-up plot
            swatch.setPixmap(_swatch(outcome_color(outcome)))
        while self.legend.count():
            item = self.legend.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.legend.addWidget(QLabel("nodes:"))
        for label, color in self._legend_shown:
            swatch = QLabel()
            swatch.setPixmap(_swatch(color))
            self.legend.addWidget(swatch)
            self.legend.addWidget(QLabel(label))

    def _count(self, *args: Any) -> None:
        total, alive = self.model.counts()
        crawled, suspects = self.model.crawl_counts()
        text = f"{total:,} lab nodes, {alive:,} alive" if total else "no lab"
        if crawled or suspects:
            text += f"; crawl: {crawled:,} other nodes, {suspects:,} suspicious"
        self.counts.setText(text)
        if self.view.legend() != self._legend_shown:  # its widgets remade only when it says something new
            self._show_legend()
