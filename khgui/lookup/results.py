"""What the look-up panel shows under its form: the lookup plot beside its tables.

:class:`LookupResults` is a splitter: on the left the plot of the followed
lookup's requests (:class:`~khgui.lookup.hops.LookupPlotView`), on the right
an optional summary line over three tabs: Hops (the hops table, with its
Export button under it), Found (the values or peers found) and Stored at
(where a store went).  It only builds and lays out these widgets over the
panel's models; what fills them, and what Export does, is the panel's.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton, QSplitter, QTableView,
    QTabWidget, QVBoxLayout, QWidget,
)

from .hops import HopsModel, LookupPlotView, StoreResultModel


class LookupResults(QSplitter):
    """The lookup plot beside the Hops, Found and Stored at tabs."""

    def __init__(self, hops: HopsModel, store_model: StoreResultModel, mono: Any) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.plot = LookupPlotView()
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.hide()
        self.values_list = QListWidget()
        self.values_list.setFont(mono)
        self.hops_view = _table(hops, (130, 56, 76, 72, 64))
        self.hops_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # "aea6c078…:49123": id and port
        self.store_view = _table(store_model, (190, 76))
        self.tabs = QTabWidget()
        self.export_button = QPushButton("Export hops\u2026")
        self.export_button.setToolTip("Save the hops table of the last look-up as CSV (whole ids)")
        hops_page = QWidget()  # the table, and its export under it (a tab-bar corner would crowd the tabs)
        hops_layout = QVBoxLayout(hops_page)
        hops_layout.setContentsMargins(0, 0, 0, 0)
        hops_layout.setSpacing(3)
        hops_layout.addWidget(self.hops_view, 1)
        export_row = QHBoxLayout()
        export_row.addStretch(1)
        export_row.addWidget(self.export_button)
        hops_layout.addLayout(export_row)
        self.tabs.addTab(hops_page, "Hops")
        self.tabs.addTab(self.values_list, "Found")
        self.tabs.addTab(self.store_view, "Stored at")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.summary_label)
        right_layout.addWidget(self.tabs, 1)
        self.addWidget(self.plot)
        self.addWidget(right)
        self.setStretchFactor(0, 4)  # the hops table's Took (and Detail) in view in a 1400-pixel window
        self.setStretchFactor(1, 5)
        self.setSizes([440, 550])
        self.plot.setMinimumHeight(240)  # the points and their 9-entry legend; a short dock scrolls instead


def _table(model: Any, widths: tuple[int, ...]) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    header = view.horizontalHeader()
    for col, width in enumerate(widths):  # never narrower than its header's text
        view.setColumnWidth(col, max(width, header.sectionSizeFromContents(col).width()))
    return view
