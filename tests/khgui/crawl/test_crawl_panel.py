"""The Crawl panel on real labs: a full crawl started from the form shows its census; bad input
is a message in the panel; Stop keeps what was found; the window docks the panel and the map
draws the crawl."""

from __future__ import annotations

import os
from typing import Any, Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from dht import CrawlSpec
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.crawl.model import ANSWERED, CLIENT
from khgui.crawl.panel import CrawlPanel

from ..conftest import LAB_SIZE

Live = tuple[NetworkController, EventBridge]


def lab_ids(controller: NetworkController, run: Callable[..., Any]) -> set[bytes]:
    """The ids of the lab's live nodes (the lab's own word: the truth a crawl is held to)."""
    runner = controller.lab_runner
    assert runner is not None
    return {info.id for info in run(runner.overview()) if info.alive}


def test_full_crawl_from_the_form_shows_the_census(mainline: Live, qtbot: Any, wait_for: Callable[..., None],
                                                   run: Callable[..., Any]) -> None:
    controller, _bridge = mainline
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    panel.set_kind("full")
    panel.budget.setText("0")  # a lab: no limit
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert panel.running and not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    wait_for(lambda: panel.census is not None, timeout=20)
    census = panel.census
    assert census is not None and census.kind == "full" and not panel.stopped
    # every live lab node is found, and each is a row of the table
    assert lab_ids(controller, run) <= {n.id for n in census.nodes}
    assert panel.nodes.rowCount() == len(census.nodes) >= LAB_SIZE
    assert panel.node_table.model().rowCount() == len(census.nodes)
    assert not panel.running and panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    # the charts: the lab's nodes all answer, all name our client (Mainline carries "v")
    answered = sum(1 for n in census.nodes if n.answered)
    assert panel.charts.answers.shown() == {"answered": answered, "silent": len(census.nodes) - answered}
    assert answered >= LAB_SIZE
    shares = panel.charts.clients.shown()
    assert shares and abs(sum(shares.values()) - 100.0) < 1e-6 and set(shares) == set(census.clients)
    assert sum(panel.charts.rtt.counts) == sum(1 for n in census.nodes if n.rtt is not None) > 0
    assert sum(panel.charts.bep42.shown().values()) == len(census.nodes)
    # the summary says how many were found and the estimate
    text = panel.summary.text()
    assert f"{len(census.nodes):,} nodes found" in text and "Network size: \u2248" in text
    # the estimate plot got the crawl's points, the last one the census's
    plot = panel.estimate_plot
    assert plot.points and plot.points[-1][1] == census.estimate and not plot.note.shown
    xs, ys = plot.estimate.getData()
    assert list(ys) == [p[1] for p in plot.points] and list(xs) == sorted(xs)
    # filter the table by client name
    client = next(n.client for n in census.nodes if n.client)
    panel.filter_edit.setText(client.split(" ")[0])
    proxy = panel.node_table.model()
    assert proxy.rowCount() == sum(1 for n in census.nodes if n.client and client.split(" ")[0].lower() in n.client.lower())
    assert all(proxy.index(r, ANSWERED).data() == "yes" for r in range(proxy.rowCount()))
    assert all(client.split(" ")[0] in proxy.index(r, CLIENT).data() for r in range(proxy.rowCount()))


def test_a_repeat_crawl_says_who_left(live: Live, qtbot: Any, wait_for: Callable[..., None], run: Callable[..., Any]) -> None:
    controller, _bridge = live
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    panel.budget.setText("0")
    assert panel.start()
    wait_for(lambda: panel.census is not None, timeout=20)
    first = panel.census
    assert first is not None
    before = lab_ids(controller, run)
    run(controller.lab_control.kill(None))
    gone = before - lab_ids(controller, run)
    assert len(gone) == 1
    assert panel.start()
    wait_for(lambda: panel.census is not first, timeout=20)
    second = panel.census
    assert second is not None and not any(n.answered for n in second.nodes if n.id in gone)
    diff = second.compare(first)
    assert gone <= {n.id for n in diff.left}  # the lab's truth: the node killed has left
    assert (f"Since the last full crawl: {len(diff.joined):,} joined, {len(diff.left):,} left, "
            f"{len(diff.changed):,} changed") in panel.summary.text()


def test_bad_input_is_a_message_in_the_panel(live: Live, qtbot: Any) -> None:
    controller, _bridge = live
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    panel.set_kind("table")
    for text, says in (("nowhere", "missing ':port'"), ("127.0.0.1:99999", "out of range"), ("", "HOST:PORT")):
        panel.table_address.setText(text)
        assert not panel.start()
        assert says in panel.message() and panel.message_label.property("state") == "error"
        assert not panel.running
    panel.set_kind("zone")
    panel.bits.setText("40")  # out of dht's range: its LocalError, as a message
    assert not panel.start()
    assert "zone_bits from 0 to" in panel.message() and not panel.running
    panel.bits.setText("four")
    assert not panel.start() and "whole number" in panel.message()
    panel.bits.setText("2")
    panel.budget.setText("-3")
    assert not panel.start() and "0 or more" in panel.message()
    panel.budget.setText("1e9")
    assert not panel.start() and "budget" in panel.message() and not panel.running
    panel.budget.setText("")
    assert panel.start() and panel.message() == ""  # a good spec clears the message


def test_stop_keeps_what_was_found(live: Live, qtbot: Any, wait_for: Callable[..., None]) -> None:
    controller, _bridge = live
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    panel.budget.setText("4")  # 4 queries a second: a full crawl of the lab would take half a minute
    assert panel.start()
    wait_for(lambda: panel.last_progress is not None and panel.last_progress.asked >= 2, timeout=10)
    assert "queries asked" in panel.progress_label.text() or "query asked" in panel.progress_label.text()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert not panel.stop_button.isEnabled() and panel.stop_button.text() == "Stopping\u2026"
    wait_for(lambda: panel.census is not None, timeout=10)
    census = panel.census
    assert census is not None and panel.stopped and not panel.running
    assert census.asked < 40 and len(census.nodes) >= 1
    assert "Full crawl, stopped:" in panel.summary.text()
    assert panel.start_button.isEnabled() and panel.start_button.text() == "Start crawl"


def test_exports_write_the_nodes_shown(live: Live, qtbot: Any, wait_for: Callable[..., None], tmp_path: Any) -> None:
    import csv
    import json

    controller, _bridge = live
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    assert not panel.export(str(tmp_path / "none.csv"), "csv") and "No census" in panel.message()
    panel.budget.setText("0")
    assert panel.start()
    wait_for(lambda: panel.census is not None, timeout=20)
    census = panel.census
    assert census is not None
    assert panel.export(str(tmp_path / "crawl.csv"), "csv")
    wait_for(lambda: panel.exporter.last is not None and not panel.exporter.busy)
    rows = list(csv.reader((tmp_path / "crawl.csv").open()))
    assert rows[0][:3] == ["id", "address", "answered"] and len(rows) == len(census.nodes) + 1
    assert {r[0] for r in rows[1:]} == {n.id.hex() for n in census.nodes}  # whole ids
    one = census.nodes[0]
    panel.filter_edit.setText(f"{one.address[0]}:{one.address[1]}")  # the JSON holds the nodes shown
    assert panel.export(str(tmp_path / "crawl.json"), "json")
    wait_for(lambda: panel.exporter.last is not None and panel.exporter.last.path.endswith(".json")
             and not panel.exporter.busy)
    data = json.loads((tmp_path / "crawl.json").read_text())
    assert data["kind"] == "full" and data["estimate"] == census.estimate
    assert [n["id"] for n in data["nodes"]] == [one.id.hex()]
    assert "Exported 1 crawled nodes" in panel.message()
    # a file that cannot be written: a message in the panel
    assert not panel.export("/proc/crawl.json", "json") and "could not export" in panel.message()


def test_zone_and_table_crawls_from_the_form(live: Live, qtbot: Any, wait_for: Callable[..., None],
                                             run: Callable[..., Any]) -> None:
    controller, _bridge = live
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    panel.show()
    panel.budget.setText("0")
    panel.set_kind("zone")
    assert panel.bits.isVisible() and not panel.table_address.isVisible()
    panel.bits.setText("1")  # half the id space: about half the lab
    assert panel.start()
    wait_for(lambda: panel.census is not None, timeout=20)
    zone = panel.census
    assert zone is not None and zone.kind == "zone" and zone.zone_bits == 1 and zone.estimate is not None
    assert zone.low is not None and zone.high is not None and zone.low <= zone.estimate <= zone.high
    assert "Zone crawl (1 bits" in panel.summary.text() and "(95 %:" in panel.summary.text()
    answered, silent = panel.charts.answers.shown().values()
    in_zone = [n for n in zone.nodes if (n.id[0] >> 7) == (zone.zone_prefix or b"\0")[0] >> 7]
    assert answered + silent == len(in_zone)  # the chart counts the zone's nodes only
    panel.set_kind("table")
    assert panel.table_address.isVisible() and not panel.bits.isVisible()
    runner = controller.lab_runner
    assert runner is not None
    host, port = runner.bootstrap_address
    panel.table_address.setText(f"{host}:{port}")
    previous = panel.census
    assert panel.start()
    wait_for(lambda: panel.census is not previous, timeout=20)
    table = panel.census
    assert table is not None and table.kind == "table" and table.table == (host, port)
    assert len(table.nodes) >= 8 and f"Table crawl of {host}:{port}" in panel.summary.text()


def test_a_crawl_that_cannot_run_says_why(live: Live, qtbot: Any, wait_for: Callable[..., None]) -> None:
    controller, _bridge = live
    panel = CrawlPanel(controller, batch_ms=20)
    qtbot.addWidget(panel)
    panel.set_kind("table")
    panel.table_address.setText("no-such-host.invalid:6881")  # a name: resolved when the crawl starts
    assert panel.start() and panel.running
    wait_for(lambda: not panel.running, timeout=20)
    assert panel.message().startswith("The crawl could not run: ") and panel.census is None
    assert panel.message_label.property("state") == "error" and panel.start_button.isEnabled()
