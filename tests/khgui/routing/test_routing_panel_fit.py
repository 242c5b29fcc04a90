"""The routing panel: columns the profile carries, no gap under the buckets, export of the whole table."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

from dht import BEP42, CLIENT_VERSION
from khgui.routing.model import CLIENT, ID_VALID
from khgui.routing.panel import RoutingPanel


def make(qtbot: Any, controller: Any, bridge: Any) -> RoutingPanel:
    panel = RoutingPanel(controller, bridge)
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    return panel


def test_khashmir_hides_client_and_bep42_columns_and_the_trie_fits_its_rows(
        qtbot: Any, live: Any, poke_until: Callable[..., None]) -> None:
    controller, bridge = live
    panel = make(qtbot, controller, bridge)
    assert not {CLIENT_VERSION, BEP42} & controller.node.profile.features
    assert panel.contact_table.isColumnHidden(CLIENT) and panel.contact_table.isColumnHidden(ID_VALID)
    poke_until(controller, lambda: panel.buckets.rowCount() > 1 and panel.has_data(), 10)
    qtbot.waitUntil(lambda: panel._fitted_rows == panel.buckets.rowCount(), timeout=3000)
    trie_height = panel.splitter.sizes()[0]
    rows_height = panel.trie.sizeHint().height()
    least = panel.trie_scroll.minimumSizeHint().height()  # a scroll area's own least height
    assert rows_height <= trie_height <= max(rows_height + 12, least + 2)  # the rows, not a tall empty gap
    assert panel.splitter.sizes()[1] > trie_height  # the contacts get the room


def test_mainline_shows_them_and_the_table_exports_whole_ids(qtbot: Any, mainline: Any, tmp_path: Path,
                                                             poke_until: Callable[..., None]) -> None:
    controller, bridge = mainline
    panel = make(qtbot, controller, bridge)
    assert not panel.contact_table.isColumnHidden(CLIENT) and not panel.contact_table.isColumnHidden(ID_VALID)
    poke_until(controller, lambda: panel.has_data(), 10)
    out = tmp_path / "table.csv"
    ids = {info.contact.id.hex() for r in panel.buckets.rows() for info in r.contacts}  # as shown now
    with qtbot.waitSignal(panel.exporter.finished, timeout=5000):
        assert panel.export_table(str(out))  # the snapshot is taken here, before the table changes again
    rows = list(csv.reader(out.open()))
    assert rows[0][:4] == ["bucket", "bucket_lo", "bucket_hi", "node_id"] and rows[0][-2:] == ["client", "bep42"]
    assert {row[3] for row in rows[1:]} == ids and all(len(row[3]) == 40 for row in rows[1:])
    assert "Exported" in panel.export_note.text() and panel.export_note.property("state") == "ok"
    assert not panel.export_table("/proc/table.csv")
    assert "/proc holds" in panel.export_note.text() and panel.export_note.property("state") == "error"
