"""The Crawl panel's models, charts and summaries, and the network map's crawl rows, fed dht's own
census dataclasses (a census as a crawl ends it: nodes, clients, suspicions)."""

from __future__ import annotations

import csv
import io
import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from dht import Census, CrawledNode, LabNodeInfo, Suspicion
from khgui.common.export import EXPORT_ROLE
from khgui.common.table import SORT_ROLE
from khgui.crawl.charts import CensusCharts
from khgui.crawl.export import census_record, nodes_csv_writer
from khgui.crawl.model import ADDRESS, ANSWERED, BEP42, ID, LISTED, RTT, SUSPICION, CrawledNodesModel, SuspicionsModel
from khgui.crawl.summary import answer_counts, client_shares, describe_census, rtt_histogram
from khgui.map.model import NetworkMapModel
from khgui.map.palette import SUSPECT
from khgui.map.panel import NetworkMapPanel


def ident(first: int, rest: int = 0) -> bytes:
    return bytes([first]) + bytes([rest]) * 19


def node(first: int, host: str, answered: bool = True, rtt: float | None = 0.05, client: str | None = "LT 2.0",
         bep42: bool | None = True, listed: int = 2) -> CrawledNode:
    return CrawledNode(ident(first), (host, 6881), 1.0, 2.0, answered, rtt if answered else None,
                       client if answered else None, None, bep42, False, tuple(ident(200 + i) for i in range(listed)))


def census(nodes: list[CrawledNode], suspicions: tuple[Suspicion, ...] = (), kind: str = "full",
           clients: dict[str, int] | None = None, zone: tuple[int, bytes] | None = None) -> Census:
    answered = [n for n in nodes if n.answered]
    return Census(kind, 10.0, 12.5, tuple(nodes), float(len(nodes)), len(nodes) * 0.9, len(nodes) * 1.1,
                  len(answered) / len(nodes) if nodes else 0.0, clients or {}, None, suspicions,
                  zone_bits=zone[0] if zone else None, zone_prefix=zone[1] if zone else None,
                  in_zone=len(nodes), asked=len(nodes) * 3, answered=len(answered))


SYBIL = Suspicion("horizontal", "12 ids on one IP address, 10.0.0.9", (ident(3), ident(4)), (("10.0.0.9", 6881),))


def sample() -> Census:
    nodes = [node(1, "10.0.0.1", rtt=0.010), node(2, "10.0.0.2", rtt=0.200, client="UT 3.5"),
             node(3, "10.0.0.9", bep42=False), node(4, "10.0.0.9", answered=False, bep42=None, listed=1)]
    return census(nodes, (SYBIL,), clients={"LT": 2, "UT": 1})


def test_nodes_and_suspicions_models(qtmodeltester: Any) -> None:
    model = CrawledNodesModel()
    qtmodeltester.check(model)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    c = sample()
    model.set_census(c)
    qtmodeltester.check(model)
    assert resets == [1] and model.rowCount() == 4
    assert model.index(0, ID).data(EXPORT_ROLE) == ident(1).hex() and model.index(0, ID).data().endswith("\u2026")
    assert model.index(1, RTT).data() == "200.0" and model.index(1, RTT).data(SORT_ROLE) == pytest.approx(0.2)
    assert model.index(3, RTT).data() == "" and model.index(3, RTT).data(SORT_ROLE) == float("inf")
    assert model.index(3, ANSWERED).data() == "no" and model.index(2, BEP42).data() == "does not fit"
    assert model.index(3, BEP42).data() == "\u2014" and model.index(3, LISTED).data(SORT_ROLE) == 1
    assert model.index(2, ADDRESS).data() == "10.0.0.9:6881"
    assert [model.index(r, SUSPICION).data() for r in range(4)] == ["", "", "horizontal Sybil", "horizontal Sybil"]
    model.set_census(None)
    assert model.rowCount() == 0 and model.suspicions_of(ident(3)) == ()

    suspicions = SuspicionsModel()
    qtmodeltester.check(suspicions)
    suspicions.set_census(c)
    qtmodeltester.check(suspicions)
    assert suspicions.rowCount() == 1
    assert [suspicions.index(0, col).data() for col in range(5)] == [
        "horizontal Sybil", "2", "10.0.0.9:6881", "", "12 ids on one IP address, 10.0.0.9"]
    assert ident(4).hex() in suspicions.index(0, 4).data(Qt.ItemDataRole.ToolTipRole)


def test_summaries_of_a_census() -> None:
    c = sample()
    assert client_shares(c) == [("LT", pytest.approx(200 / 3)), ("UT", pytest.approx(100 / 3))]
    many = census([node(1, "10.0.0.1")], clients={f"C{i}": 10 - i for i in range(10)})
    shares = client_shares(many, most=3)
    assert [name for name, _s in shares] == ["C0", "C1", "C2", "other"] and sum(s for _n, s in shares) == 100.0
    hist = rtt_histogram(c.nodes, bins=4)
    assert sum(hist.counts) == 3 and hist.edges[0] == 0.0 and hist.edges[-1] == pytest.approx(200.0)
    assert hist.counts[0] == 1 and hist.counts[-1] == 1  # 10 ms in the first bin, 200 ms in the last
    assert answer_counts(c) == (3, 1)
    # a zone crawl counts only the nodes of its zone: ids starting with bit 0 here
    zone = census([node(0x10, "10.0.0.1"), node(0x20, "10.0.0.2", answered=False), node(0x90, "10.0.0.3")],
                  kind="zone", zone=(1, b"\x00"))
    assert answer_counts(zone) == (1, 1)
    text = describe_census(c)
    assert text.startswith("Full crawl: 2.5 s, 12 queries; 4 nodes found, 3 answered (75 % of those asked).")
    assert "1 suspicion (see Suspicions)" in text and "ids not checked" in text
    later = census([node(1, "10.0.0.1"), node(2, "10.0.0.7"), node(5, "10.0.0.5")])
    assert describe_census(later, diff=later.compare(c)).endswith(
        "Since the last full crawl: 1 joined, 1 left, 1 changed address or id.")
    model = CrawledNodesModel()
    model.set_census(c)
    out = io.StringIO()
    assert nodes_csv_writer(c.nodes, model.suspected())(out) == 4
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(model.columns) and rows[1][:4] == [ident(1).hex(), "10.0.0.1:6881", "yes", "10.000"]
    assert [r[-1] for r in rows[1:]] == ["", "", "horizontal Sybil", "horizontal Sybil"]
    assert rows[3] == [model.index(2, col).data(EXPORT_ROLE) for col in range(len(model.columns))]
    record = census_record(c, c.nodes[:2])
    assert record["suspicions"][0]["ids"] == [ident(3).hex(), ident(4).hex()]
    assert [(n["host"], n["port"]) for n in record["nodes"]] == [("10.0.0.1", 6881), ("10.0.0.2", 6881)]
    assert record["nodes"][0]["rtt"] == pytest.approx(0.010) and record["found"] == 4


def test_census_charts_follow_the_census(qtbot: Any) -> None:
    charts = CensusCharts()
    qtbot.addWidget(charts)
    assert charts.clients.note.shown and charts.answers.note.shown and charts.rtt_note.shown
    c = sample()
    charts.show_census(c)
    assert charts.clients.shown() == {"LT": pytest.approx(200 / 3), "UT": pytest.approx(100 / 3)}
    assert charts.answers.shown() == {"answered": 3, "silent": 1}
    assert charts.bep42.shown() == {"fits": 2, "does not fit": 1, "not checked": 1}
    assert sum(charts.rtt.counts) == 3 and not charts.rtt_note.shown and not charts.clients.note.shown
    xs, ys = charts.rtt_curve.getData()
    assert list(ys) == list(charts.rtt.counts)
    ticks = charts.clients.item.getAxis("bottom")._tickLevels[0]
    assert [label for _x, label in ticks] == ["LT", "UT"]
    quiet = census([node(1, "10.0.0.1", client=None)])  # a network whose answers carry no client
    charts.show_census(quiet)
    assert charts.clients.shown() == {} and charts.clients.note.shown
    assert "carry none" in charts.clients.note.text()
    charts.show_census(None)
    assert charts.answers.shown() == {} and charts.rtt_note.shown


def lab_info(first: int, alive: bool = True) -> LabNodeInfo:
    return LabNodeInfo(ident(first), f"127.0.0.{first}", 7000 + first, alive, 8, 3, 0.5)


def test_the_map_draws_crawled_nodes_and_marks_suspects(qtbot: Any, qtmodeltester: Any) -> None:
    panel = NetworkMapPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 500)
    model, view = panel.model, panel.view
    qtmodeltester.check(model)
    model.set_nodes([lab_info(3), lab_info(9)], lab_info(50))  # a lab node (3) is one of the census's suspects
    c = sample()
    model.set_crawl(c)
    qtmodeltester.check(model)
    states = {model.index(r, 0).data(Qt.ItemDataRole.ToolTipRole): model.index(r, 2).data()
              for r in range(model.rowCount())}
    assert states == {ident(3).hex(): "alive", ident(9).hex(): "alive", ident(50).hex(): "ours",
                      ident(1).hex(): "crawled", ident(2).hex(): "crawled", ident(4).hex(): "silent"}
    assert model.counts() == (2, 2) and model.crawl_counts() == (3, 2)
    suspects = {model.row_node(r).id for r in range(model.rowCount()) if model.row_node(r).suspicious}
    assert suspects == {ident(3), ident(4)}
    assert panel.counts.text() == "2 lab nodes, 2 alive; crawl: 3 other nodes, 2 suspicious"
    # the view draws the suspects in their own colour (the silent one too), and says so in its legend
    scene = view.scene()
    marked = {model.row_node(int(r)).id for r in scene.groups[SUSPECT.name()]}
    assert marked == {ident(3), ident(4)} and model.row_of(ident(4)) not in set(scene.dead.tolist())
    assert ("suspicious", SUSPECT) in view.legend()
    assert "crawled node" in view.tooltip_text(model.row_of(ident(1)))
    menu = {a.text(): a for a in view.context_menu(model.row_of(ident(1))).actions() if a.text()}
    assert not menu["Focus this node"].isEnabled() and not menu["Kill"].isEnabled()
    view.grab()
    assert view.painted_nodes == 6
    # the next overview of the lab keeps the crawl's nodes
    model.set_nodes([lab_info(3), lab_info(9, alive=False)], lab_info(50))
    qtmodeltester.check(model)
    assert model.rowCount() == 6 and model.counts() == (2, 1)
    # a census larger than the map draws: the suspects first, then those that answered
    model.set_crawl(c, limit=2)
    assert {model.row_node(r).id for r in range(model.rowCount()) if model.row_node(r).crawled} == {ident(4)}
    model.set_crawl(c, limit=3)  # ident(3) is a lab node; then ident(4) (a suspect), then one that answered
    crawled = {model.row_node(r).id for r in range(model.rowCount()) if model.row_node(r).crawled}
    assert ident(4) in crawled and len(crawled) == 2 and crawled <= {ident(1), ident(2), ident(4)}
    model.set_crawl(None)
    assert model.rowCount() == 3 and model.crawl_counts() == (0, 0)
    assert all(label != "suspicious" for label, _c in view.legend())
    assert panel.counts.text() == "2 lab nodes, 1 alive"
