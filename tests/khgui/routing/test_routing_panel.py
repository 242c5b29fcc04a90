"""The routing panel with a live lab: buckets appear, splits are recorded, kills show up."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable

from khgui.routing.panel import RoutingPanel


def test_panel_shows_buckets_and_heals(qtbot: Any, live: Any, wait_for: Callable[..., None],
                                       run: Callable[[Any], Any], poke_until: Callable[..., None]) -> None:
    controller, bridge = live
    panel = RoutingPanel(controller, bridge)
    qtbot.addWidget(panel)
    panel.resize(520, 700)
    panel.show()
    poke_until(controller, lambda: panel.buckets.rowCount() > 1 and panel.has_data(), 10)
    assert panel.history.splits >= 1 or panel.history.count > 1
    assert "buckets" in panel.summary.text()
    own = [r for r in panel.buckets.rows() if r.own]
    assert len(own) == 1
    wait_for(lambda: panel.contacts.rowCount() > 0, 3)  # our bucket's contacts are listed

    node = controller.node
    lab_ports = {n.address[1] for n in controller.lab.nodes}
    known = {info.contact.port for r in panel.buckets.rows() for info in r.contacts}
    victims = [n for n in controller.lab.nodes if n.address[1] in known][:4]
    assert len(victims) == 4, f"only {len(victims)} known lab nodes to kill"  # else nothing is tested
    for victim in victims:
        run(controller.lab.kill_node(victim))
    dead = {v.address[1] for v in victims}
    assert dead <= lab_ports

    def shows_damage() -> bool:
        infos = [i for r in panel.buckets.rows() for i in r.contacts]
        present = {i.contact.port for i in infos}
        failing = any(i.failures and i.contact.port in dead for i in infos)
        return failing or not (dead & present)

    async def poke() -> None:  # lookups make our node talk to the dead contacts
        for _ in range(40):
            if shows_damage():
                return
            await controller.run_lookup(node.find_node(os.urandom(20)))
            await asyncio.sleep(0.05)

    run(poke())
    wait_for(shows_damage, 5)
    controller.node_changed.emit(None)
    assert panel.buckets.rowCount() == 0 and not panel.has_data()
