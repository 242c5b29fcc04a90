"""The Crawl panel in the main window: docked beside the others, fed our node's crawl events even
while a lab node is in focus, its census handed to the network map; a lab's Sybil cluster (the lab's
ground truth, dht.LabTruth) listed with its evidence and marked on the map."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Qt

from dht import CrawledNode, LabTruth

from khgui.crawl.panel import CrawlPanel

from ..conftest import LAB_SIZE
from ..map.test_map_window import window_on


def test_a_crawl_in_the_window_reaches_the_panel_and_the_map(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path
) -> None:
    controller, window = window_on(qtbot, live, tmp_path)
    bridge = live[1]
    panel = window.crawl
    assert isinstance(panel, CrawlPanel) and window.docks["crawl"].windowTitle() == "Crawl"
    assert "crawl" not in window.panels and not panel.has_data()  # like the map: the headless runs skip it
    wait_for(lambda: window.map.model.rowCount() == LAB_SIZE + 1)
    # a lab node in focus: the window's bridge follows it, the crawl's events still come from our node
    lab_node = next(r.id for r in window.map.model.nodes() if not r.own)
    run(controller.focus_node(lab_node))
    assert controller.focus is not None and bridge.node is controller.focus
    panel.budget.setText("0")
    assert panel.start()
    wait_for(lambda: panel.census is not None, timeout=20)
    census = panel.census
    assert census is not None and panel.has_data()
    lab = {r.id for r in window.map.model.nodes() if not r.own and not r.crawled}
    assert lab <= {n.id for n in census.nodes}
    # the map: every node crawled is a lab node (none added), no suspicion in a clean lab
    assert window.map.model.crawl_counts() == (0, 0) and window.map.model.rowCount() == LAB_SIZE + 1
    assert panel.suspicions.rowCount() == 0 and "No sign of attack" in panel.suspicion_note.text()
    # a node the lab does not hold (as on the public DHT) is added to the map, until the network changes
    stranger = CrawledNode(b"\x99" * 20, ("192.0.2.7", 6881), census.started, census.finished, True, 0.05,
                           None, None, None, False, ())
    panel.census_ready.emit(dataclasses.replace(census, nodes=census.nodes + (stranger,)))
    assert window.map.model.crawl_counts() == (1, 0) and window.map.model.row_of(stranger.id) >= 0
    controller.network_changed.emit()
    assert window.map.model.crawl_counts() == (0, 0) and window.map.model.row_of(stranger.id) == -1


def test_a_sybil_cluster_is_listed_with_its_evidence_and_marked_on_the_map(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any], tmp_path: Path
) -> None:
    controller = live[0]
    lab = controller.lab  # a small lab runs on our loop
    assert lab is not None
    truth = LabTruth(lab)
    run(truth.add_sybils(12))  # twelve ids on one IP address: a horizontal Sybil
    sybils = truth.sybils[0]
    controller, window = window_on(qtbot, live, tmp_path)
    panel = window.crawl
    panel.budget.setText("0")
    assert panel.start()
    wait_for(lambda: panel.census is not None, timeout=20)
    census = panel.census
    assert census is not None
    # the Suspicions tab lists the cluster with its evidence; its nodes say so in the table
    assert panel.suspicions.rowCount() == 1 and panel.tabs.tabText(2) == "Suspicions (1)"
    suspicion = panel.suspicions.row_at(0)
    assert suspicion is not None and suspicion.kind == "horizontal" and set(suspicion.ids) == sybils
    assert panel.suspicions.index(0, 0).data() == "horizontal Sybil"
    assert "12 ids on one IP address" in panel.suspicions.index(0, 4).data()
    assert "1 suspicion" in panel.summary.text()
    panel.filter_edit.setText("horizontal")
    assert panel.node_table.model().rowCount() == 12
    # double-clicking the suspicion shows its nodes: those on its one IP address
    panel.filter_edit.clear()
    window.docks["crawl"].raise_()
    panel.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.suspicion_table.isVisible(), timeout=3000)
    rect = panel.suspicion_table.visualRect(panel.suspicion_table.model().index(0, 0))
    qtbot.mouseClick(panel.suspicion_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.suspicion_table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.tabs.currentIndex() == 1 and panel.filter_edit.text() == f"{suspicion.addresses[0][0]}:"
    shown = panel.shown_nodes()
    assert {n.id for n in shown} == sybils and len(shown) == 12
    # the map marks them (they are lab nodes: no row added), once the lab's overview has them
    model = window.map.model
    wait_for(lambda: sybils <= {r.id for r in model.nodes()})
    assert {r.id for r in model.nodes() if r.suspicious} == sybils
    assert model.crawl_counts() == (0, 12)
    assert "12 suspicious" in window.map.counts.text()
