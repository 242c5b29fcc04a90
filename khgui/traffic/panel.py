"""The traffic panel: live KRPC messages with filters, pause and export.

:class:`TrafficPanel` feeds each ``bridge.batch`` into a
:class:`TrafficModel` in one call, shows it through a
:class:`TrafficFilterModel` and shows the selected message decoded in a
:class:`MessageTreeView`.  While paused, events are buffered (at most the
model's cap; older ones dropped) and added on resume.  The table follows the
newest row unless the user scrolled away from the bottom.
"""

from __future__ import annotations

import collections
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSizePolicy,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from ..profile import CLIENT_VERSION, can
from ..common.labels import fit_placeholder
from ..common.theme import colors
from ..common.export import Exporter, ExportResult, jsonl_writer
from ..common.files import app_settings, save_dialog
from .filter import TrafficFilterModel, export_rows, shown_records
from .message_view import MessageTreeView
from .columns import COLUMNS, STATES
from .model import DEFAULT_CAP, TrafficModel

# The widest text each column normally shows; widths come from the font (fixed,
# Interactive: never ResizeToContents, which measures every row on each insert).
_SAMPLES = ("00:00:00.000", "\u2192 out", "192.168.10.10:65535", "store_value", "0123abcd\u2026", "9999",
            "error 203", "999.9 ms")


class TrafficPanel(QWidget):
    """Live RPC traffic of our node."""

    def __init__(self, controller: Any, bridge: Any, parent: QWidget | None = None, cap: int = DEFAULT_CAP) -> None:
        super().__init__(parent)
        self._controller = controller
        self.model = TrafficModel(cap, self)
        self.proxy = TrafficFilterModel(self)  # attached to the model only while filtering
        self.exporter = Exporter(self)  # Export…: written off the GUI thread
        self.exporter.finished.connect(self._exported)
        self._export_note = ""
        self._paused = False
        self._buffer: collections.deque[Any] = collections.deque(maxlen=cap)
        self._buffer_dropped = 0
        self._follow = True
        self._has_data = False
        self._status_text = ""
        self._build()
        self.model.methods_changed.connect(self._update_methods)
        self.model.modelReset.connect(self._update_status)
        bridge.batch.connect(self.on_batch)
        self._update_status()

    # -- construction -------------------------------------------------------------

    def _build(self) -> None:
        self.method_combo = QComboBox()
        self.method_combo.addItem("All methods", "")
        self.method_combo.currentIndexChanged.connect(
            lambda _i: self._set_filter(self.proxy.set_method, self.method_combo.currentData() or ""))
        self.peer_edit = QLineEdit()
        self.peer_edit.setPlaceholderText("peer\u2026")
        self.peer_edit.setToolTip("Only the messages whose peer address contains this text")
        self.peer_edit.setClearButtonEnabled(True)
        fit_placeholder(self.peer_edit)
        self.peer_edit.textChanged.connect(lambda text: self._set_filter(self.proxy.set_peer_text, text))
        self.direction_combo = QComboBox()
        for label, value in (("In and out", ""), ("\u2190 In", "in"), ("\u2192 Out", "out")):
            self.direction_combo.addItem(label, value)
        self.direction_combo.currentIndexChanged.connect(
            lambda _i: self._set_filter(self.proxy.set_direction, self.direction_combo.currentData() or ""))
        self.status_combo = QComboBox()
        self.status_combo.addItem("Any status", "")
        for state in STATES:
            self.status_combo.addItem(state, state)
        self.status_combo.currentIndexChanged.connect(
            lambda _i: self._set_filter(self.proxy.set_state, self.status_combo.currentData() or ""))
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("While paused, new messages are buffered (up to the row cap) "
                                     "and added when you resume")
        self.pause_button.toggled.connect(self.set_paused)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.export_button = QPushButton("Export\u2026")
        self.export_button.setToolTip("Save the rows shown (filtered) as JSON lines")
        self.export_button.clicked.connect(self._export_clicked)

        bar = QHBoxLayout()
        bar.addWidget(self.method_combo)
        bar.addWidget(self.peer_edit, 1)
        bar.addWidget(self.direction_combo)
        bar.addWidget(self.status_combo)
        bar.addSpacing(12)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.clear_button)
        bar.addWidget(self.export_button)

        self.table = QTableView()
        # The table shows the model itself while nothing is filtered; the proxy is
        # attached (and re-filters) only while a filter is set, see _set_filter.
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(False)
        vh = self.table.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 6)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        hh.setHighlightSections(False)
        metrics = self.table.fontMetrics()
        header_metrics = hh.fontMetrics()
        for col, sample in enumerate(_SAMPLES[: len(COLUMNS)]):
            width = max(metrics.horizontalAdvance(sample), header_metrics.horizontalAdvance(COLUMNS[col]))
            self.table.setColumnWidth(col, width + 18)  # cell margins and focus frame
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        bar_v = self.table.verticalScrollBar()
        bar_v.valueChanged.connect(self._on_scrolled)
        bar_v.rangeChanged.connect(self._on_range)

        self.message_view = MessageTreeView()
        self.message_view.mainline = can(self._controller.config, CLIENT_VERSION)  # v, ip, peers, samples, BEP 44
        # wide enough for a field name and a 40-digit id (the widest common value)
        readable = self.message_view.readable_width()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.message_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([560, readable + 40])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        self.status_label = QLabel()
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Rewritten after every batch: its size must not move the layout (no relayout
        # and repaint of the whole panel for a longer row count).
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status_label)

    # -- public -------------------------------------------------------------------

    def has_data(self) -> bool:
        return self._has_data

    def side_by_side_width(self) -> int:
        """The width under which the decoded message goes below the table, not beside it."""
        columns = sum(self.table.columnWidth(c) for c in range(self.model.columnCount()))
        return columns + self.message_view.readable_width() + 40

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        wide = event.size().width() >= self.side_by_side_width()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            total = event.size().width() if wide else event.size().height()
            self.splitter.setSizes([int(total * 0.62), int(total * 0.38)])

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def following(self) -> bool:
        """Whether the table scrolls to each new row."""
        return self._follow

    def on_batch(self, events: list[Any]) -> None:
        """One batch from the bridge: one model update (or buffered while paused)."""
        if self._paused:
            overflow = len(self._buffer) + len(events) - (self._buffer.maxlen or 0)
            if overflow > 0:
                self._buffer_dropped += min(overflow, len(self._buffer) + len(events))
            self._buffer.extend(events)
            self._update_status()
            return
        self._add(events)

    def set_paused(self, paused: bool) -> None:
        """Pause (buffer new messages) or resume (add what was buffered)."""
        if paused == self._paused:
            return
        self._paused = paused
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        if not paused and self._buffer:
            events = list(self._buffer)
            self._buffer.clear()
            self._buffer_dropped = 0
            self._add(events)
        self._update_status()

    def clear(self) -> None:
        """Remove every row (and anything buffered while paused)."""
        self._buffer.clear()
        self._buffer_dropped = 0
        self.model.clear()
        self.message_view.show_message(None)
        self._follow = True

    def export(self, path: str) -> int:
        """Write the rows shown to ``path`` as JSON lines; returns how many."""
        return export_rows(path, self.model, self.proxy if self._filtering() else None)

    # -- internals -----------------------------------------------------------------

    def _add(self, events: list[Any]) -> None:
        """One model update, then one status update (not one per model signal)."""
        self.model.add_events(events)
        if not self._has_data and self.model.rowCount():
            self._has_data = True
        self._update_status()

    def _filtering(self) -> bool:
        return self.table.model() is self.proxy

    def _set_filter(self, setter: Any, value: str) -> None:
        """Change one criterion; show the proxy only while some criterion is set.

        Unfiltered, the table shows the model directly: no proxy mapping per
        painted cell and no ``filterAcceptsRow`` call per new row.  The proxy is
        detached from the model meanwhile and re-filters once when attached.
        """
        setter(value)
        want = self.proxy.is_filtering()
        if want == self._filtering():
            return
        current = self.table.currentIndex()
        source_row = -1
        if current.isValid():
            source_row = self.proxy.mapToSource(current).row() if self._filtering() else current.row()
        if want:
            self.proxy.setSourceModel(self.model)
            self._show_model(self.proxy)
        else:
            self._show_model(self.model)
            self.proxy.setSourceModel(None)  # type: ignore[arg-type]
        if source_row >= 0:
            index = self.model.index(source_row, 0)
            if want:
                index = self.proxy.mapFromSource(index)
            if index.isValid():
                self.table.setCurrentIndex(index)
                self.table.selectRow(index.row())
                if not self._follow:
                    self.table.scrollTo(index)
            else:
                self.message_view.show_message(None)
        if self._follow:
            self.table.scrollToBottom()
        self._update_status()

    def _show_model(self, model: QAbstractItemModel) -> None:
        old = self.table.selectionModel()
        self.table.setModel(model)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        if old is not None:
            old.deleteLater()

    # -- slots --------------------------------------------------------------------

    def _export_clicked(self) -> None:
        self.file_dialog = save_dialog(self, app_settings(), "export", "Export traffic", "traffic.jsonl",
                                       "JSON lines (*.jsonl);;All files (*)", "jsonl", self._export_chosen)

    def _export_chosen(self, path: str) -> None:
        self.export_in_background(path)  # its outcome, a refusal too, is said in the panel

    def export_in_background(self, path: str) -> bool:
        """Write the rows shown to ``path`` off the GUI thread (khgui.common.export); False if refused."""
        records = shown_records(self.model, self.proxy if self._filtering() else None)
        return self.exporter.export(path, "messages", jsonl_writer(records))

    def _exported(self, result: ExportResult) -> None:
        colour = colors().error if not result.ok else colors().ok
        self._export_note = f"<span style='color:{colour}'>{result.message}</span>"  # kept in the status line
        self._update_status()

    def _update_methods(self, methods: list[str]) -> None:
        current = self.method_combo.currentData() or ""
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        self.method_combo.addItem("All methods", "")
        for method in methods:
            self.method_combo.addItem(method, method)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(current)))
        self.method_combo.blockSignals(False)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.message_view.show_message(None)
            return
        row = self.proxy.mapToSource(current).row() if current.model() is self.proxy else current.row()
        raw = self.model.raw(row)
        kind = {"q": "query", "r": "response", "e": "error"}.get(raw["kind"], "datagram")
        title = f"{kind} {raw['method']}".strip()
        self.message_view.show_message(raw["message"], title)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.table.verticalScrollBar().maximum()

    def _on_range(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.table.verticalScrollBar().setValue(maximum)

    def _update_status(self, *args: Any) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount() if self._filtering() else total
        parts = [f"{shown:,} shown" + (f" of {total:,}" if shown != total else ""),
                 f"cap {self.model.cap:,} rows (oldest dropped)"]
        if self._paused:
            text = f"<b>Paused</b>: {len(self._buffer):,} new messages buffered, added on resume"
            if self._buffer_dropped:
                text += f" ({self._buffer_dropped:,} older ones dropped: buffer full)"
            parts.insert(0, text)
        text = " \u2014 ".join(parts + ([self._export_note] if self._export_note else []))
        if text != self._status_text:
            self._status_text = text
            self.status_label.setText(text)
