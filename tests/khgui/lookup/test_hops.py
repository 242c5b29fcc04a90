"""The hops table of a lookup: what it shows when the lookup ends with requests still out."""

from __future__ import annotations

import os
from typing import Any

from dht import Contact
from dht.events import LookupAnswered, LookupQueried

from khgui.lookup.hops import DETAIL, NOT_WAITED, OUTCOME, SOFT, TOOK, HopsModel


def contact(i: int) -> Contact:
    return Contact(os.urandom(20), f"127.0.{i}.1", 6881)


def test_requests_still_out_at_the_end_are_not_waited_for(qtmodeltester: Any) -> None:
    """A Mainline lookup ends once the K closest answered: a request still out is shown
    "not waited for" (not "waiting" forever); answered and timed-out rows are kept."""
    model = HopsModel()
    a, b, c = contact(1), contact(2), contact(3)
    model.start(100.0)
    model.add_events([
        LookupQueried(100.001, 7, a, 150.0), LookupQueried(100.002, 7, b, 140.0),
        LookupQueried(100.003, 7, c, 155.0),
        LookupAnswered(100.004, 7, a, 150.0, "answered", 0.004),
        LookupAnswered(100.2, 7, c, 155.0, "timeout", 0.2, "no answer in 50 ms, moving on"),
    ])
    assert model.outcomes() == ["answered", "queried", "timeout"]
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
    model.finish()
    assert model.outcomes() == ["answered", "unawaited", "timeout"]
    assert changed == [(1, 1)]
    assert model.index(1, OUTCOME).data() == "not waited for"
    assert NOT_WAITED in model.index(1, DETAIL).data()
    assert model.index(0, OUTCOME).data() == "answered" and model.index(2, OUTCOME).data() == "timeout"
    assert set(model.points()) == {"answered", "unawaited", "timeout"}
    qtmodeltester.check(model)
    model.finish()  # again: nothing left to change
    assert changed == [(1, 1)]


def test_a_slow_request_shows_its_soft_timeout_and_its_late_answer(qtmodeltester: Any) -> None:
    """Each row shows the soft timeout its request was judged by; a request silent past
    it is "slow" (still waited for), and its late answer replaces that outcome."""
    model = HopsModel()
    a, b = contact(1), contact(2)
    model.start(100.0)
    model.add_events([
        LookupQueried(100.0, 3, a, 150.0, 0.05), LookupQueried(100.0, 3, b, 140.0, 0.3),
        LookupAnswered(100.05, 3, a, 150.0, "slow", 0.05, "no answer in 50 ms (its soft timeout)"),
    ])
    assert model.index(0, SOFT).data() == "50 ms" and model.index(1, SOFT).data() == "300 ms"
    assert model.outcomes() == ["slow", "queried"]
    assert model.index(0, TOOK).data() == ""  # no answer yet
    model.add_events([LookupAnswered(100.075, 3, a, 150.0, "values", 0.075)])
    assert model.outcomes() == ["values", "queried"]
    assert model.index(0, TOOK).data() == "75.0 ms"
    assert "answered late, 75 ms after asking" in model.index(0, DETAIL).data()
    model.add_events([LookupAnswered(100.4, 3, b, 140.0, "slow", 0.4)])
    model.finish()  # ended with b still slow: not waited for
    assert model.outcomes() == ["values", "unawaited"]
    qtmodeltester.check(model)


def test_the_plot_legend_lists_the_outcomes_drawn(qtbot: Any) -> None:
    from khgui.lookup.hops import LookupPlotView

    plot = LookupPlotView()
    qtbot.addWidget(plot)
    assert plot.legend_labels() == []  # empty: the plot's note says what it will show
    plot.set_points({"answered": ([0.01], [150.0]), "slow": ([0.02], [151.0])})
    assert plot.legend_labels() == ["slow, still waited for", "answered"]
    assert len(plot.legend.items) == 2
    plot.set_points({"values": ([0.01], [150.0])})
    assert plot.legend_labels() == ["values"] and len(plot.legend.items) == 1
