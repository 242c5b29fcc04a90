"""The stored-data panel on a Mainline lab: peers announced to a node and its BEP 44 items."""

from __future__ import annotations

import asyncio
import re

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from dht import Config, StoredItemInfo, StoredPeerInfo
from dht import events as ev
from khgui.bridge import EventBridge
from khgui.values.mainline import StoredItemsModel, StoredPeersModel
from khgui.values.mainline_panel import MainlineValuesPanel

MAINLINE = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0, SOFT_TIMEOUT_MAX=0.3)


def test_models_pass_modeltester_and_tick_expiry(qtmodeltester: Any) -> None:
    now = [100.0]
    peers = StoredPeersModel(clock=lambda: now[0])
    items = StoredItemsModel(clock=lambda: now[0])
    qtmodeltester.check(peers)
    qtmodeltester.check(items)
    h = b"\x11" * 20
    peers.set_snapshot([StoredPeerInfo(h, "127.0.0.2", 6881, True, 90.0, 400.0),
                        StoredPeerInfo(h, "127.0.0.3", 6882, False, 95.0, 150.0)])
    items.set_snapshot([StoredItemInfo(b"\x22" * 20, b"5:hello", None, b"", None, 90.0, 7300.0),
                        StoredItemInfo(b"\x33" * 20, b"2:v2", b"k" * 32, b"salt", 2, 99.0, 7300.0)])
    qtmodeltester.check(peers)
    qtmodeltester.check(items)
    assert [peers.index(r, 1).data() for r in range(2)] == ["127.0.0.2:6881", "127.0.0.3:6882"]
    assert peers.index(0, 2).data() == "seed" and peers.index(1, 2).data() == "peer"
    assert peers.info_hash_count() == 1
    assert [items.index(r, 1).data() for r in range(2)] == ["immutable", "mutable"]
    assert items.index(0, 2).data() == "\u2013" and items.index(1, 2).data() == "2"
    assert "hello" in items.index(0, 3).data()
    before = peers.index(1, 3).data()
    changed: list[Any] = []
    peers.dataChanged.connect(lambda a, b, roles: changed.append((a.column(), b.column())))
    now[0] = 130.0
    assert peers.tick() == 0
    assert changed == [(3, 3)] and peers.index(1, 3).data() != before  # one dataChanged, the last column
    removed: list[tuple[int, int]] = []
    peers.rowsRemoved.connect(lambda _parent, first, last: removed.append((first, last)))
    now[0] = 150.0  # the second peer's time is up: it leaves, as it leaves the node's store
    assert peers.tick() == 1 and removed == [(1, 1)]
    assert [peers.index(r, 1).data() for r in range(peers.rowCount())] == ["127.0.0.2:6881"]
    qtmodeltester.check(peers)
    now[0] = 10_000.0
    assert items.tick() == 2 and items.rowCount() == 0


def test_panel_shows_announced_peers_and_items_ours_and_a_lab_nodes(qtbot: Any, qasync_loop: Any, mainline: Any,
                                                                   wait_for: Any) -> None:
    controller, bridge = mainline
    panel = MainlineValuesPanel(controller, bridge, tick_ms=50)
    qtbot.addWidget(panel)
    panel.show()
    wait_for(lambda: panel.loads >= 1)
    assert panel.peers_view.model().rowCount() == 0 and "0 peers" in panel.status_label.text()
    run = qasync_loop.run_until_complete
    own = controller.node.id
    info_hash = own[:-1] + bytes([own[-1] ^ 1])  # we are its closest node: the announce lands on us
    assert run(controller.node.announce_peer(info_hash, 6881, seed=True))
    view = panel.peers_view.model()
    wait_for(lambda: view.rowCount() >= 1)
    row = next(r for r in range(view.rowCount()) if view.index(r, 0).data() == info_hash.hex())
    assert view.index(row, 1).data() == f"127.0.0.1:6881" or view.index(row, 1).data().endswith(":6881")
    assert view.index(row, 2).data() == "seed" and view.index(row, 3).data()
    # The lab's own traffic may announce to us too: the status and the tab count what is listed.
    rows, hashes = view.rowCount(), len({view.index(r, 0).data() for r in range(view.rowCount())})
    assert re.search(rf"holds {rows} peers? of {hashes} info-hash", panel.status_label.text()), panel.status_label.text()
    assert panel.has_data() and f"({rows})" in panel.tabs.tabText(0)

    # an item lands on the nodes closest to its target: ours, or lab nodes (shown in focus)
    target = run(controller.node.put_immutable(b"in the store"))

    async def others() -> list[Any]:
        infos = await controller.lab_runner.overview()
        return [i.id for i in infos if i.alive and i.id != own]

    def holds_item() -> bool:
        items = panel.items_view.model()
        return any(items.index(r, 0).data() == target.hex() for r in range(items.rowCount()))

    run(panel.load_snapshot())
    for node_id in [None] + run(others()):
        if node_id is not None:
            assert run(controller.focus_node(node_id))
            panel.on_node_changed(controller.focus)
            run(panel.load_snapshot())
        if holds_item():
            break
    else:
        raise AssertionError("no node shows the item put")
    items = panel.items_view.model()
    row = next(r for r in range(items.rowCount()) if items.index(r, 0).data() == target.hex())
    assert items.index(row, 1).data() == "immutable" and "in the store" in items.index(row, 3).data()
    if controller.focus is not None:
        assert "This lab node holds" in panel.status_label.text()
    assert run(controller.focus_node(None))


def test_panel_reads_the_store_when_a_batch_brings_an_announce_and_not_otherwise(
        qtbot: Any, qasync_loop: Any, mainline: Any, wait_for: Any) -> None:
    controller, _bridge = mainline
    quiet = EventBridge(interval_ms=3_600_000)  # attached to no node: only the batches pushed here
    panel = MainlineValuesPanel(controller, quiet, tick_ms=3_600_000)
    qtbot.addWidget(panel)
    wait_for(lambda: panel.loads == 1)  # the one snapshot when attached
    run = qasync_loop.run_until_complete
    node = controller.node
    announced: list[Any] = []
    unsubscribe = node.subscribe(lambda e: announced.append(e) if type(e) is ev.PeerAnnounced else None)
    info_hash = node.id[:-1] + bytes([node.id[-1] ^ 1])  # we are its closest node: the announce lands on us
    assert run(node.announce_peer(info_hash, 6881, seed=True))
    wait_for(lambda: any(e.info_hash == info_hash for e in announced))
    unsubscribe()
    panel.tick()
    quiet.push_many([ev.RequestTimedOut(0.0, ("127.0.0.1", 1), "ping", b"aa")])
    quiet.flush()
    run(asyncio.sleep(0.1))
    assert panel.loads == 1  # neither the clock nor other events read the store
    assert not any(panel.peers.index(r, 0).data() == info_hash.hex() for r in range(panel.peers.rowCount()))
    before = panel.peers_view.model().rowCount()
    quiet.push_many(announced)
    quiet.flush()
    wait_for(lambda: panel.loads == 2)  # one read for the batch
    view = panel.peers_view.model()
    assert any(view.index(r, 0).data() == info_hash.hex() for r in range(view.rowCount()))
    assert f"({view.rowCount()})" in panel.tabs.tabText(0) and view.rowCount() > before
    quiet.stop()
