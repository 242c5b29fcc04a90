"""The traffic panel: live KRPC messages with filters, pause and export.

:class:`TrafficPanel` feeds each ``bridge.batch`` into a
:class:`TrafficModel` in one call, shows it through a
:class:`TrafficFilterModel` and shows the selected message decoded in a
:class:`MessageTreeView`.  While paused, events are buffered (at most the
model's cap; older ones dropped) and added on resume.  The table follows the
newest row unless the user scrolled away from the bottom.

:class:`MessageTreeView` turns a message dict (bytes keys) into tree items:
printable bytes as text, others as hex, ids as hex and compact node lists as
their ``id@host:port`` entries.
"""

from __future__ import annotations

import collections
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
    QPushButton, QSplitter, QTableView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from ..common.text import message_tree
from .filter import TrafficFilterModel, export_rows
from .model import COLUMNS, DEFAULT_CAP, STATES, TrafficModel

_WIDTHS = (96, 56, 130, 86, 76, 46, 96, 70)


class TrafficPanel(QWidget):
    """Live RPC traffic of our node."""

    def __init__(self, controller: Any, bridge: Any, parent: QWidget | None = None, cap: int = DEFAULT_CAP) -> None:
        super().__init__(parent)
        self._controller = controller
        self.model = TrafficModel(cap, self)
        self.proxy = TrafficFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self._paused = False
        self._buffer: collections.deque[Any] = collections.deque(maxlen=cap)
        self._buffer_dropped = 0
        self._follow = True
        self._has_data = False
        self._build()
        self.model.methods_changed.connect(self._update_methods)
        self.model.rowsInserted.connect(self._on_rows_changed)
        self.model.rowsRemoved.connect(self._on_rows_changed)
        self.model.modelReset.connect(self._on_rows_changed)
        self.proxy.rowsInserted.connect(self._update_status)
        bridge.batch.connect(self.on_batch)
        self._update_status()

    # -- construction -------------------------------------------------------------

    def _build(self) -> None:
        self.method_combo = QComboBox()
        self.method_combo.addItem("All methods", "")
        self.method_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_method(self.method_combo.currentData() or ""))
        self.peer_edit = QLineEdit()
        self.peer_edit.setPlaceholderText("peer contains\u2026")
        self.peer_edit.setClearButtonEnabled(True)
        self.peer_edit.textChanged.connect(self.proxy.set_peer_text)
        self.direction_combo = QComboBox()
        for label, value in (("In and out", ""), ("\u2190 In", "in"), ("\u2192 Out", "out")):
            self.direction_combo.addItem(label, value)
        self.direction_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_direction(self.direction_combo.currentData() or ""))
        self.status_combo = QComboBox()
        self.status_combo.addItem("Any status", "")
        for state in STATES:
            self.status_combo.addItem(state, state)
        self.status_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_state(self.status_combo.currentData() or ""))
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
        self.table.setModel(self.proxy)
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
        for col, width in enumerate(_WIDTHS[: len(COLUMNS)]):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        bar_v = self.table.verticalScrollBar()
        bar_v.valueChanged.connect(self._on_scrolled)
        bar_v.rangeChanged.connect(self._on_range)

        self.message_view = MessageTreeView()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.message_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([640, 360])

        self.status_label = QLabel()
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status_label)

    # -- public -------------------------------------------------------------------

    def has_data(self) -> bool:
        return self._has_data

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
        self.model.add_events(events)

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
            self.model.add_events(events)
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
        return export_rows(path, self.model, self.proxy)

    # -- slots --------------------------------------------------------------------

    def _export_clicked(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export traffic", "traffic.jsonl", "JSON lines (*.jsonl);;All files (*)")
        if not path:
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            count = self.export(path)
        except OSError as exc:
            self.status_label.setText(f"<span style='color:#c62828'>Export failed: {exc.strerror or exc}</span>")
            return
        finally:
            QApplication.restoreOverrideCursor()
        self.status_label.setText(f"Exported {count:,} messages to {path}")

    def _update_methods(self, methods: list[str]) -> None:
        current = self.method_combo.currentData() or ""
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        self.method_combo.addItem("All methods", "")
        for method in methods:
            self.method_combo.addItem(method, method)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(current)))
        self.method_combo.blockSignals(False)

    def _on_rows_changed(self, *args: Any) -> None:
        if self.model.rowCount() and not self._has_data:
            self._has_data = True
        self._update_status()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self.message_view.show_message(None)
            return
        row = self.proxy.mapToSource(current).row()
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
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        parts = [f"{shown:,} shown" + (f" of {total:,}" if shown != total else ""),
                 f"cap {self.model.cap:,} rows (oldest dropped)"]
        if self._paused:
            text = f"<b>Paused</b>: {len(self._buffer):,} new messages buffered, added on resume"
            if self._buffer_dropped:
                text += f" ({self._buffer_dropped:,} older ones dropped: buffer full)"
            parts.insert(0, text)
        self.status_label.setText(" \u2014 ".join(parts))


_MAX_ITEMS = 2000  # never build a huge tree for a malicious message


class MessageTreeView(QTreeWidget):
    """Shows one message; :meth:`show_message` replaces what is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["Field", "Value"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.header().setStretchLastSection(True)
        self._count = 0

    def show_message(self, message: dict[bytes, Any] | None, title: str = "message") -> None:
        """Show ``message`` (None clears the view)."""
        self.clear()
        if message is None:
            return
        self._count = 0
        summary, children = message_tree(message)
        root = QTreeWidgetItem([title, summary])
        self.addTopLevelItem(root)
        self._add_children(root, children)
        self.expandAll()
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, min(self.columnWidth(0), 170))

    def _add_children(self, parent: QTreeWidgetItem, children: list[tuple[str, Any]]) -> None:
        for label, value in children:
            if self._count >= _MAX_ITEMS:
                parent.addChild(QTreeWidgetItem(["\u2026", "(truncated)"]))
                return
            self._count += 1
            key = label.encode("utf-8") if isinstance(label, str) else None
            summary, grand = message_tree(value, key)
            item = QTreeWidgetItem([label, summary])
            item.setToolTip(1, summary)
            parent.addChild(item)
            if grand:
                self._add_children(item, grand)

    def texts(self) -> list[tuple[str, str]]:
        """Every ``(field, value)`` shown, depth first (for tests)."""
        out: list[tuple[str, str]] = []

        def walk(item: QTreeWidgetItem | None) -> None:
            if item is None:
                return
            out.append((item.text(0), item.text(1)))
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.topLevelItemCount()):
            walk(self.topLevelItem(i))
        return out
