"""The routing view on a libtorrent swarm on loopback: its nodes appear with client code LT.

Three libtorrent 2.1 sessions (tests/interop/ltlab.py, each on its own
127.0.x.1, no public bootstrap) know each other; our Mainline node joins
them through the controller, as ``khgui --profile mainline --bootstrap``
does.  The routing panel, fed by the event bridge, must list them with
libtorrent's code LT in the Client column (and the Samples panel's census
count them under LT).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from dht import Config
from khgui.bridge import EventBridge
from khgui.controller import NetworkController
from khgui.routing.panel import RoutingPanel
from tests.interop.ltlab import LtSwarm

CONFIG = Config(PROFILE="mainline", KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)


@pytest.fixture
def swarm() -> Iterator[LtSwarm]:
    swarm = LtSwarm(3, subnet=50)
    try:
        swarm.start()
        yield swarm
    finally:
        swarm.close()


def test_libtorrent_nodes_appear_with_client_code_lt(qtbot: Any, qasync_loop: asyncio.AbstractEventLoop,
                                                     swarm: LtSwarm, tmp_path: Path, wait_for: Any) -> None:
    bridge = EventBridge(interval_ms=20)
    controller = NetworkController(bridge, config=CONFIG, host="127.0.80.1")
    errors: list[str] = []
    controller.error.connect(errors.append)
    panel = RoutingPanel(controller, bridge)
    qtbot.addWidget(panel)
    panel.show()
    addresses = [n.address for n in swarm.nodes]
    try:
        assert qasync_loop.run_until_complete(
            controller.start(lab_size=0, bootstrap=addresses, data_dir=str(tmp_path / "node"))), errors
        assert controller.joined, errors
        wanted = {f"{h}:{p}" for h, p in addresses}

        def lt_rows() -> dict[str, str]:
            """Address: Client cell of every contact shown, bucket by bucket, as the user clicks them."""
            shown: dict[str, str] = {}
            view = panel.contact_table.model()
            for row in range(panel.buckets.rowCount()):
                panel.trie.select(row)
                for r in range(view.rowCount()):
                    shown[view.index(r, 1).data()] = view.index(r, 5).data()
            return shown

        wait_for(lambda: wanted <= set(lt_rows()) and all(lt_rows()[a].startswith("LT") for a in wanted),
                 timeout=15)
        cells = lt_rows()
        for address in wanted:
            assert cells[address].startswith("LT \u00b7 libtorrent (Rasterbar) 2."), cells[address]
        assert any(r.code == "LT" and r.messages_in >= 3 for r in panel.census.rows())
    finally:
        qasync_loop.run_until_complete(controller.stop())
        bridge.stop()
