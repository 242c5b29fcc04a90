"""The outgoing query budget (Network ▸ Query budget…) and the status bar's Mainline pieces, on a Mainline lab."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from dht import Config
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.window.budget import LAB_KEY, PUBLIC_DEFAULT, BudgetError, QueryBudget, parse_budget
from khgui.window.main_window import MainWindowView

MAINLINE = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)


@pytest.fixture
def window(qtbot: Any, qasync_loop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[MainWindowView]:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=MAINLINE)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    view = MainWindowView(controller, bridge, settings, persist=False)
    qtbot.addWidget(view)
    view.show()
    assert qasync_loop.run_until_complete(controller.start(lab_size=16, data_dir=str(tmp_path / "node")))
    yield view
    qasync_loop.run_until_complete(controller.stop())
    bridge.stop()


def test_parse_budget_bounds() -> None:
    assert parse_budget("0") == 0.0 and parse_budget(" 12,5 ") == 12.5 and parse_budget(1000) == 1000.0
    for bad in ("-1", "1001", "abc", "", "nan"):
        with pytest.raises(BudgetError, match="from 0 \\(no budget\\) to 1000 queries a second"):
            parse_budget(bad)


def test_budget_dialog_applies_to_our_node_and_refuses_bad_input(window: MainWindowView, qtbot: Any) -> None:
    node = window.controller.node
    assert window.controller.network == "lab"
    assert node.stats().query_budget == 0.0  # the lab's default: none
    budget = window.budget
    assert budget.public() == PUBLIC_DEFAULT and budget.for_network("public") == PUBLIC_DEFAULT
    window.budget_dialog()
    dialog = window.dialogs.budget
    assert dialog.public_edit.text() == f"{PUBLIC_DEFAULT:g}" and dialog.lab_edit.text() == "0"
    dialog.lab_edit.setText("5000")
    assert not dialog.try_accept()
    assert "from 0 (no budget) to 1000" in dialog.message() and "'5000'" in dialog.message()
    assert dialog.isVisible() and budget.lab() == 0.0 and node.stats().query_budget == 0.0  # nothing changed
    dialog.lab_edit.setText("abc")
    assert not dialog.try_accept() and "'abc'" in dialog.message()
    dialog.lab_edit.setText("7.5")
    assert dialog.try_accept()
    assert budget.lab() == 7.5 and node.stats().query_budget == 7.5
    window._update_counts()
    assert window.mainline_status.budget.text() == "budget 7.5/s, 0 waiting"


def test_saved_budget_out_of_range_is_a_message_and_the_default(window: MainWindowView) -> None:
    window.settings.setValue(LAB_KEY, "99999")
    window.apply_budget()
    assert "saved the query budget must be a number from 0" in window.banner.text()
    assert "using no budget" in window.banner.text()
    assert window.controller.node.stats().query_budget == 0.0
    assert QueryBudget(window.settings).lab() == 0.0  # the bad value is gone


def test_status_shows_external_address_and_id_fit(window: MainWindowView, qasync_loop: Any) -> None:
    window._update_counts()
    status = window.mainline_status
    stats = window.controller.node.stats()
    if stats.external_address:
        assert status.external.text().startswith(f"ext. {stats.external_address} ({stats.external_votes} vote")
    else:
        assert status.external.text() == "ext. address unknown"
    expected = {None: "BEP 42 n/a", True: "id \u2713 BEP 42", False: "id \u2717 BEP 42"}
    assert status.id_fit.text() == expected[stats.id_valid]
    # a snapshot with a vote leader and an id that does not fit it
    import dataclasses

    shown = dataclasses.replace(stats, external_address="203.0.113.7", external_votes=11, id_valid=False,
                                query_budget=20.0, queries_waiting=3)
    status.show_stats(shown)
    assert status.external.text() == "ext. 203.0.113.7 (11 votes)"
    assert status.id_fit.text() == "id \u2717 BEP 42" and status.id_fit.property("state") == "warn"
    assert status.budget.text() == "budget 20/s, 3 waiting" and status.budget.property("state") == "warn"
    status.show_node(None)
    assert status.external.text() == "ext. address unknown" and status.budget.text() == ""
