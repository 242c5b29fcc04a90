"""The one base of the table models: rows, headers, ROW_ROLE and SORT_ROLE, one notification per batch;
and every panel's table sorts by that one SORT_ROLE."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt

from dht import Config
from khgui.bridge import EventBridge
from khgui.common.table import ROW_ROLE, SORT_ROLE, TableModel
from khgui.controller import NetworkController
from khgui.routing.panel import RoutingPanel
from khgui.samples.panel import SamplesPanel
from khgui.stats.panel import StatsPanel
from khgui.values.mainline_panel import MainlineValuesPanel
from khgui.values.panel import ValuesPanel


class Pairs(TableModel[tuple[str, int]]):
    """A name and a number: the columns and cells are all a model says."""

    columns = ("Name", "Number")

    def cell(self, row: tuple[str, int], column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return row[0] if column == 0 else f"{row[1]:,}"
        if role == SORT_ROLE:
            return row[column]
        return None


def _signals(model: TableModel[Any]) -> list[tuple[Any, ...]]:
    seen: list[tuple[Any, ...]] = []
    model.modelReset.connect(lambda: seen.append(("reset",)))
    model.dataChanged.connect(lambda a, b, _roles=None: seen.append(("changed", a.row(), b.row(), a.column(), b.column())))
    model.rowsInserted.connect(lambda _p, first, last: seen.append(("inserted", first, last)))
    model.rowsRemoved.connect(lambda _p, first, last: seen.append(("removed", first, last)))
    return seen


def test_rows_headers_and_roles(qtmodeltester: Any) -> None:
    model = Pairs()
    qtmodeltester.check(model)
    model.replace_rows([("a", 1000), ("b", 2)], key=lambda r: r[0])
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (2, 2)
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == ["Name", "Number"]
    assert model.index(0, 1).data() == "1,000" and model.index(0, 1).data(SORT_ROLE) == 1000
    assert model.index(1, 0).data(ROW_ROLE) == ("b", 2)
    assert model.row_at(1) == ("b", 2) and model.row_at(2) is None and model.rows() == [("a", 1000), ("b", 2)]
    assert SORT_ROLE != ROW_ROLE


def test_each_batch_is_one_notification(qtmodeltester: Any) -> None:
    model = Pairs()
    model.replace_rows([("a", 1), ("b", 2)], key=lambda r: r[0])
    seen = _signals(model)
    model.replace_rows([("a", 5), ("b", 6)], key=lambda r: r[0])  # the same rows: their values changed
    assert seen == [("changed", 0, 1, 0, 1)] and model.index(1, 1).data() == "6"
    seen.clear()
    model.replace_rows([("a", 5), ("b", 6)], key=lambda r: r[0])  # nothing changed: nothing said
    assert seen == []
    model.replace_rows([("a", 5), ("b", 7)], key=lambda r: r[0])  # only the rows that changed
    assert seen == [("changed", 1, 1, 0, 1)]
    seen.clear()
    model.replace_rows([("a", 5), ("b", 7)], key=lambda r: r[0], changed_only=False)  # cells moving with a clock
    assert seen == [("changed", 0, 1, 0, 1)]
    seen.clear()
    model.replace_rows([("a", 5), ("c", 7)], key=lambda r: r[0])  # other rows: one reset
    assert seen == [("reset",)]
    seen.clear()
    model.insert_rows([("d", 8), ("e", 9), ("f", 10)])
    model.insert_rows([])
    assert seen == [("inserted", 2, 4)]
    seen.clear()
    model.remove_rows([0, 1, 3])  # two runs, from the bottom: row numbers stay valid
    assert seen == [("removed", 3, 3), ("removed", 0, 1)]
    assert [r[0] for r in model.rows()] == ["d", "f"]
    seen.clear()
    model.rows_changed(0, 1, 1, 1)
    model.rows_changed(1, 0)  # nothing
    assert seen == [("changed", 0, 1, 1, 1)]
    qtmodeltester.check(model)


def test_every_panels_table_sorts_by_the_one_sort_role(qtbot: Any, qasync_loop: Any) -> None:
    panels: list[Any] = []
    for config, kinds in ((Config(), (RoutingPanel, StatsPanel, ValuesPanel)),
                          (Config(PROFILE="mainline"), (MainlineValuesPanel, SamplesPanel))):
        bridge = EventBridge()
        controller = NetworkController(bridge, config=config)
        for kind in kinds:
            panel = kind(controller, bridge)
            qtbot.addWidget(panel)
            panels.append(panel)
        bridge.stop()
    proxies = [p for panel in panels for p in panel.findChildren(QSortFilterProxyModel)]
    assert len(proxies) >= 7  # contacts, methods, values, peers, items, hashes, clients
    assert {p.sortRole() for p in proxies} == {SORT_ROLE}
