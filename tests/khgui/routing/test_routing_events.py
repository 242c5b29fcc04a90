"""The routing panel is driven by the bridge's batches: it reads the node's table only when
attached, for a batch with routing events, or for a lab node's new view; its timer moves the clocks."""

from __future__ import annotations

import time
from typing import Any, Callable

from dht import events as ev
from khgui.bridge import EventBridge
from khgui.routing.panel import RoutingPanel

NEVER = 3_600_000  # ms: the panel's own timer never fires in these tests; they call tick()


def test_the_table_is_read_once_per_batch_of_routing_events_and_never_by_the_clock(
    qtbot: Any, live: Any, wait_for: Callable[..., None]
) -> None:
    controller, _bridge = live
    quiet = EventBridge(interval_ms=NEVER)  # attached to no node: only the batches pushed here
    panel = RoutingPanel(controller, quiet, tick_ms=NEVER)
    qtbot.addWidget(panel)
    assert panel.refreshes == 1 and panel.buckets.rowCount() > 0  # the one snapshot when attached
    contact = next(info.contact for r in panel.buckets.rows() for info in r.contacts)
    end = panel.history.times[-1]

    def ages() -> list[str]:
        return [panel.buckets.index(r, 3).data() for r in range(panel.buckets.rowCount())]

    assert not any(a.endswith(" h") for a in ages())
    panel.tick(time.monotonic() + 3 * 3600)  # three hours later, as far as the clocks are concerned
    assert panel.refreshes == 1  # no read of the node
    assert ages() and all(a.endswith(" h") for a in ages())  # the Age column moved on
    shown = panel.contact_table.model()  # and the contacts' Last seen, in the table's view
    assert shown.rowCount() and all(shown.index(r, 2).data() in ("never answered",) or
                                    shown.index(r, 2).data().endswith(" h ago") for r in range(shown.rowCount()))
    assert panel.history.times[-1] >= end + 3 * 3600 - 60  # and so did the history's curve

    quiet.push_many([ev.RequestTimedOut(time.monotonic(), contact.address, "ping", b"aa")])
    quiet.flush()
    assert panel.refreshes == 1  # no routing event: nothing to read

    now = time.monotonic()
    quiet.push_many([ev.ContactRefreshed(now, contact), ev.ContactRefreshed(now, contact),
                     ev.ContactFailed(now, contact, 1)])
    quiet.flush()
    assert panel.refreshes == 2  # one read for the batch, not one per event
    assert ages() and not any(a.endswith(" h") for a in ages())  # read now: the real ages again
    quiet.stop()


def test_a_lab_node_in_focus_is_read_again_when_its_view_is_new(
    qtbot: Any, live: Any, wait_for: Callable[..., None], run: Callable[[Any], Any]
) -> None:
    controller, _bridge = live
    quiet = EventBridge(interval_ms=NEVER)
    panel = RoutingPanel(controller, quiet, tick_ms=NEVER)
    qtbot.addWidget(panel)
    target = next(n for n in controller.lab.nodes if n.id != controller.node.id)
    assert run(controller.focus_node(target.id))
    focus = controller.focus
    panel.set_node(focus)
    read = panel.refreshes
    assert panel.buckets.contact_count() == sum(len(b.contacts) for b in focus.routing_table())
    panel.tick()
    assert panel.refreshes == read  # the same view: nothing to read
    run(focus.refresh())  # the controller takes a new view (twice a second)
    panel.tick()
    assert panel.refreshes == read + 1
    panel.tick()
    assert panel.refreshes == read + 1
    assert run(controller.focus_node(None))
    quiet.stop()
