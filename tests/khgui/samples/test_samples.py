"""The Samples panel and its models: BEP 51 walks on a real Mainline lab, the estimates, the CSV export,
and the Clients census fed with dht's own events."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from dht import Config, Contact
from dht import events as ev
from dht.events import DatagramReceived, DatagramSent
from khgui.bridge import EventBridge
from khgui.common.clients import OTHER, UNKNOWN, ClientCensus
from khgui.controller import NetworkController
from khgui.samples.chart import ClientsChartView
from khgui.samples.clients import ClientStatsModel
from khgui.samples.export import ExportError, write_samples_csv
from khgui.samples.model import SampledHashesModel, SizeEstimates
from khgui.samples.panel import SamplesPanel
from khgui.samples.sampler import DEFAULT_INTERVAL, MAX_INTERVAL, MIN_INTERVAL

MAINLINE = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)


def received(peer: tuple[str, int], v: bytes | None, size: int = 100) -> DatagramReceived:
    message: dict[bytes, Any] = {b"t": b"aa", b"y": b"r", b"r": {b"id": b"x" * 20}}
    if v is not None:
        message[b"v"] = v
    return DatagramReceived(1.0, peer, "r", "ping", b"aa", size, message)


def sent(peer: tuple[str, int], size: int = 50) -> DatagramSent:
    return DatagramSent(1.0, peer, "q", "ping", b"aa", size, {b"t": b"aa", b"y": b"q", b"q": b"ping"})


# -- models --------------------------------------------------------------------------


def test_hashes_model_counts_walks_and_passes_modeltester(qtmodeltester: Any) -> None:
    model = SampledHashesModel(max_rows=3, clock=lambda: 1000.0)
    qtmodeltester.check(model)
    a, b, c, d = (bytes([i]) * 20 for i in range(4))
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    assert model.add_walk([a, b, a], now=1000.0) == 2  # a hash counts once per walk
    assert model.add_walk([b, c, d], now=1030.0) == 1  # d does not fit: counted, not kept
    qtmodeltester.check(model)
    assert inserted == [(0, 1), (2, 2)]  # one insert per walk
    assert [model.times_seen(h) for h in (a, b, c, d)] == [1, 2, 1, 0] and model.not_kept == 1
    assert model.records()[1] == (b, 1000.0, 1030.0, 2)
    assert model.index(1, 0).data() == b.hex() and model.index(1, 3).data() == "2"


def test_size_estimates_median_and_spread() -> None:
    estimates = SizeEstimates(maxlen=4)
    assert estimates.summary().describe() == "no estimate yet"
    for value, error in ((100, 0.3), (120, 0.3), (0, 0.0), (80, 0.4), (400, 0.3), (110, 0.2)):
        estimates.add(value, error)  # 0: a walk that could not estimate, not counted
    summary = estimates.summary()
    assert summary.walks == 4 and [v for v, _e in estimates.values()] == [120, 80, 400, 110]  # the last 4
    assert summary.median == 115 and summary.low < summary.median < summary.high
    text = summary.describe()
    assert "\u2248115 nodes" in text and "4 walks" in text and "\u00b130 %" in text


def test_census_codes_traffic_and_contacts_from_dht_events(qtmodeltester: Any) -> None:
    census = ClientCensus(max_codes=3)
    lt, ut, quiet = ("127.0.0.2", 6881), ("127.0.0.3", 6881), ("127.0.0.4", 6881)
    census.add_events([received(lt, b"LT\x02\x11", 200), received(ut, b"UT\x01\x02"), received(quiet, None),
                       sent(lt, 60), sent(("127.0.0.9", 1))])
    assert census.code_of(lt) == "LT" and census.code_of(ut) == "UT" and census.code_of(quiet) is None
    from dht import ContactInfo

    def info(host: str, port: int, client: str | None = None) -> ContactInfo:
        return ContactInfo(Contact(os.urandom(20), host, port), 1.0, 0, None, client)

    contacts = [info(*lt), info(*ut), info("127.0.0.5", 1, "libtorrent (Rasterbar) 2.0.9"), info(*quiet)]
    rows = {r.code: r for r in census.rows(contacts)}
    assert rows["LT"].contacts == 2  # by address, and by the client name the table keeps
    assert (rows["LT"].messages_in, rows["LT"].bytes_in, rows["LT"].messages_out, rows["LT"].bytes_out) == (1, 200, 1, 60)
    assert rows["UT"].contacts == 1 and rows[UNKNOWN].contacts == 1 and rows[UNKNOWN].messages_out == 1
    # made-up codes beyond max_codes count as "other": a peer cannot grow the table
    census.add_events([received(("127.0.1.1", 1), b"ZZ\x00\x01"), received(("127.0.1.2", 1), b"YY\x00\x01")])
    assert OTHER in {r.code for r in census.rows()} and len(census.rows()) <= 5

    model = ClientStatsModel()
    qtmodeltester.check(model)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.set_rows(census.rows(contacts))
    model.set_rows(census.rows(contacts))  # same codes: a dataChanged, not a reset
    qtmodeltester.check(model)
    assert len(resets) == 1 and model.index(0, 0).data() == "LT" and model.index(0, 2).data() == "2"


def test_clients_chart_draws_shares(qtbot: Any) -> None:
    census = ClientCensus()
    census.add_events([received(("127.0.0.2", 1), b"LT\x02\x11")] * 3 + [received(("127.0.0.3", 1), b"UT\x01\x02")])
    chart = ClientsChartView()
    qtbot.addWidget(chart)
    chart.set_rows(census.rows())
    heights = chart.heights()
    assert chart.tick_labels() == ["LT", "UT"]
    assert heights["LT"][1] == pytest.approx(75.0) and heights["UT"][1] == pytest.approx(25.0)


def test_csv_export_writes_and_refuses_cleanly(tmp_path: Path) -> None:
    records = [(b"\x01" * 20, 0.0, 60.0, 2)]
    path = tmp_path / "samples.csv"
    assert write_samples_csv(path, records) == 1
    rows = list(csv.reader(path.open()))
    assert rows == [["info_hash", "first_seen", "last_seen", "times_seen"],
                    ["01" * 20, "1970-01-01T00:00:00+00:00", "1970-01-01T00:01:00+00:00", "2"]]
    with pytest.raises(ExportError, match="the folder .*missing does not exist; choose another folder"):
        write_samples_csv(tmp_path / "missing" / "x.csv", records)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.csv"]  # nothing left behind


# -- the panel on a live Mainline lab ------------------------------------------------------


def test_panel_walks_the_lab_estimates_and_exports(qtbot: Any, qasync_loop: Any, mainline: Any, tmp_path: Path,
                                                   wait_for: Any) -> None:
    controller, bridge = mainline
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    panel = SamplesPanel(controller, bridge, settings)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.sampler.interval == DEFAULT_INTERVAL and panel.interval_spin.value() == DEFAULT_INTERVAL
    run = qasync_loop.run_until_complete
    announced = [os.urandom(20) for _ in range(6)]
    for info_hash in announced:
        assert run(controller.node.announce_peer(info_hash, 6881))
    assert panel.sample_now()
    wait_for(lambda: panel.sampler.walks == 1, timeout=10)
    walk = panel.last_walk
    assert walk is not None and walk.sampling.answered >= 1
    seen = {r[0] for r in panel.hashes.records()}
    assert seen == set(walk.sampling.info_hashes) and seen & set(announced)
    table = panel.hash_table.model()
    assert table.rowCount() == len(seen)
    assert {table.index(r, 0).data() for r in range(table.rowCount())} == {h.hex() for h in seen}
    assert f"{len(seen)} info-hash" in panel.summary.text() and "1 walk" in panel.summary.text()
    if walk.estimate:  # a full neighbourhood answered: an estimate of a 17-node network
        assert "Network size: \u2248" in panel.estimate_label.text()
        assert 4 <= panel.estimates.summary().median <= 200
    assert panel.has_data()

    # export: a file, then an unwritable path -> a message in the panel and the window's banner
    errors: list[str] = []
    controller.error.connect(errors.append)
    out = tmp_path / "out.csv"
    assert panel.export_csv(str(out))  # written off the GUI thread: its message says when it is done
    wait_for(lambda: "Exported" in panel.message())
    assert len(out.read_text().splitlines()) == len(seen) + 1 and panel.exported == str(out)
    assert not panel.export_csv(str(tmp_path / "no-such-dir" / "out.csv"))
    assert "could not export" in panel.message() and errors and "could not export" in errors[-1]

    # the interval: kept in QSettings; out of range -> a message, the old value kept
    assert panel.set_interval(45) and settings.value("samples/interval") in (45, "45")
    assert not panel.set_interval(MAX_INTERVAL + 1) and not panel.set_interval(MIN_INTERVAL - 1)
    assert f"{MIN_INTERVAL} to {MAX_INTERVAL} s" in panel.message() and panel.sampler.interval == 45
    again = SamplesPanel(controller, bridge, settings)
    qtbot.addWidget(again)
    assert again.sampler.interval == 45 and again.interval_spin.value() == 45
    again.enabled_box.setChecked(False)
    assert not again.sampler.enabled and settings.value("samples/enabled") == "false"


def test_panel_clients_show_our_lab_as_ke(qtbot: Any, mainline: Any, wait_for: Any) -> None:
    controller, bridge = mainline
    panel = SamplesPanel(controller, bridge, tick_ms=50)
    qtbot.addWidget(panel)
    panel.show()
    wait_for(lambda: panel.clients.row_for("KE") is not None and panel.clients.row_for("KE").contacts > 0)
    row = panel.clients.row_for("KE")
    assert row.messages_in > 0 and row.name == "Khashmir Explorer"
    assert "KE" in panel.chart.tick_labels() and panel.chart.heights()["KE"][0] > 0
    table = panel.client_table.model()
    codes = [table.index(r, 0).data() for r in range(table.rowCount())]
    assert "KE" in codes


def test_sample_now_when_not_joined_says_so(qtbot: Any, qasync_loop: Any) -> None:
    bridge = EventBridge()
    controller = NetworkController(bridge, config=MAINLINE)
    panel = SamplesPanel(controller, bridge)
    qtbot.addWidget(panel)
    assert not panel.sample_now()
    assert "Not joined" in panel.message() and not panel.has_data()
    bridge.stop()


def test_panel_recounts_the_clients_only_when_events_say_they_changed(qtbot: Any, mainline: Any,
                                                                      wait_for: Any) -> None:
    controller, _bridge = mainline
    quiet = EventBridge(interval_ms=3_600_000)  # attached to no node: only the batches pushed here
    panel = SamplesPanel(controller, quiet, tick_ms=3_600_000)
    qtbot.addWidget(panel)
    assert panel.clients_out_of_date and panel.client_counts == 0  # nothing counted yet
    panel.tick()
    assert not panel.clients_out_of_date and panel.client_counts == 1
    contacts = sum(len(b.contacts) for b in controller.node.routing_table())
    assert contacts and sum(r.contacts for r in panel.clients.rows()) == contacts  # from the routing table
    panel.tick()
    quiet.push_many([ev.RequestTimedOut(0.0, ("127.0.0.1", 1), "ping", b"aa")])
    quiet.flush()
    panel.tick()
    assert panel.client_counts == 1  # no event about clients: no recount
    contact = next(c.contact for b in controller.node.routing_table() for c in b.contacts)
    quiet.push_many([ev.ContactRefreshed(0.0, contact), ev.ContactFailed(0.0, contact, 1)])
    quiet.flush()
    assert panel.clients_out_of_date
    panel.tick()
    assert panel.client_counts == 2 and not panel.clients_out_of_date  # one recount for them
    quiet.stop()
