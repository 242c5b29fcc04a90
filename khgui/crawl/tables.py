"""The Crawl panel's census tabs: their sortable tables, their pages, and a suspicion's filter.

:func:`census_table` sets up a table of crawled nodes or suspicions (sorted
through a proxy on :data:`~khgui.common.table.SORT_ROLE`, its columns
fitted from the first :data:`RESIZE_ROWS` rows, in the census's order until
a header is clicked); :func:`page` lays out one tab (a line or bar over its
main widget); :func:`suspect_filter` is the filter text that shows the nodes
of one suspicion; :func:`suspicion_note` the line over the suspicions.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QHeaderView, QLayout, QTableView, QVBoxLayout, QWidget

from dht import Census

from ..common.table import sortable_table
from ..common.text import plural
from .model import KIND_NAMES

#: Rows read to fit the tables' columns to their contents (a census can hold 100,000 nodes).
RESIZE_ROWS = 200


def census_table(model: Any) -> tuple[QTableView, QSortFilterProxyModel]:
    """A sortable table of ``model`` (through a proxy, returned with it)."""
    view, proxy = sortable_table(model, QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setResizeContentsPrecision(RESIZE_ROWS)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the census's order (by id) until a header is clicked
    view.setMinimumHeight(70)
    return view, proxy


def page(top: QWidget | QLayout, main: QWidget) -> QWidget:
    """A tab: ``top`` (a line, a bar) over ``main``, which takes the height left."""
    tab = QWidget()
    layout = QVBoxLayout(tab)
    layout.setContentsMargins(2, 2, 2, 2)
    if isinstance(top, QLayout):
        layout.addLayout(top)
    else:
        layout.addWidget(top)
    layout.addWidget(main, 1)
    return tab


def suspect_filter(s: Any) -> str:
    """The filter that shows the nodes of suspicion ``s``: their one IP address, or the
    prefix their ids share, else the suspicion's kind."""
    hosts = {host for host, _port in s.addresses}
    if len(hosts) == 1:
        return f"{next(iter(hosts))}:"
    if s.target is not None and s.ids:
        shared = os.path.commonprefix([i.hex() for i in s.ids])
        return shared or str(KIND_NAMES.get(s.kind, s.kind))
    return str(KIND_NAMES.get(s.kind, s.kind))


def suspicion_note(census: Census | None) -> str:
    """The line over the suspicions of ``census`` (None: no crawl yet)."""
    if census is None:
        return "No crawl yet."
    if census.suspicions:
        return f"{plural(len(census.suspicions), 'sign')} of attack, each with its evidence (hover a row for its ids)."
    return ("No sign of attack in this census: no IP or /24 with many ids, "
            "no ids packed around a target, no ids that do not fit their IP.")
