"""A lab on its own loop in a worker thread (dht.LabThread) and its event channel."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest
from dhtutil import run, wait_until

from dht.node import core_of
from dht import Conditions, Config, LabThread, Node
from dht.errors import LocalError, RpcTimeout
from dht.events import LabNodeChanged, LabProgress, LookupFinished, LookupStarted
from dht.lab.thread import EventChannel, Sourced

QUICK = Config(KRPC_TIMEOUT=0.5, SOFT_TIMEOUT_MIN=0.05, SOFT_TIMEOUT_MAX=0.2)


def test_channel_delivers_items_from_another_thread_in_order_in_few_batches() -> None:
    async def scenario() -> None:
        got: list[list[int]] = []
        threads: set[str] = set()

        def deliver(items: list[int]) -> None:
            threads.add(threading.current_thread().name)
            got.append(items)

        channel: EventChannel[int] = EventChannel(asyncio.get_running_loop(), deliver, interval=0.01)
        producer = threading.Thread(target=lambda: [channel.push(i) for i in range(5000)], name="producer")
        producer.start()
        await wait_until(lambda: sum(map(len, got)) == 5000, 5, "every item delivered")
        producer.join(5)
        assert [i for batch in got for i in batch] == list(range(5000))
        assert threads == {threading.current_thread().name}  # delivered on the consumer's loop
        assert channel.batches == len(got) < 5000 and channel.dropped == 0

    run(scenario())


def test_a_full_channel_drops_the_oldest_and_counts_them() -> None:
    async def scenario() -> None:
        got: list[int] = []
        channel: EventChannel[int] = EventChannel(asyncio.get_running_loop(), got.extend, interval=0.0, maxlen=10)
        for i in range(25):  # the loop does not run meanwhile: nothing is delivered yet
            channel.push(i)
        assert channel.pending == 10 and channel.dropped == 15
        await wait_until(lambda: len(got) == 10, 5, "the batch")
        assert got == list(range(15, 25))
        channel.close()
        channel.push(99)
        await asyncio.sleep(0)  # one loop turn: nothing may come (no wait on time)
        assert got == list(range(15, 25)) and channel.pending == 0
        with pytest.raises(LocalError):
            EventChannel(asyncio.get_running_loop(), got.extend, maxlen=0)

    run(scenario())


def test_a_threaded_lab_forms_on_its_own_loop_and_any_node_can_be_inspected(tmp_path: Path) -> None:
    async def scenario() -> None:
        caller = asyncio.get_running_loop()
        lab = LabThread(24, QUICK, seed=3, interval=0.01)
        lab_events: list[Sourced] = []
        lab.subscribe(lab_events.extend)
        with pytest.raises(LocalError):
            lab.bootstrap_address
        await lab.start()
        ours = Node(QUICK, host="127.0.0.1", data_dir=tmp_path / "ours")
        await ours.start()
        try:
            assert lab.loop is not caller and lab.running and lab.threaded
            assert await lab.run(lambda _: asyncio.get_running_loop()) is lab.loop
            await wait_until(lambda: any(isinstance(e, LabProgress) and e.stage == "formed"
                                         for _, e in lab_events), 5, "the formed event")
            stages = [e for _, e in lab_events if isinstance(e, LabProgress)]
            assert stages[-1].done == stages[-1].total == 24
            assert {"starting", "introducing"} <= {p.stage for p in stages}
            infos = await lab.overview()
            assert len(infos) == 24 == lab.size and all(i.alive for i in infos)
            assert all(i.contacts >= QUICK.K and i.buckets >= 1 and 0 < i.fill <= 1 for i in infos)
            # Our node, on the caller's loop, joins the lab on the other thread.
            assert await ours.bootstrap([lab.bootstrap_address]) >= 1

            target = infos[5]
            view = await lab.inspect(target.id)
            assert (view.info.id, view.info.address, view.info.alive) == (target.id, target.address, True)
            assert view.stats is not None and view.stats.contacts == view.info.contacts
            assert sum(len(b.contacts) for b in view.routing) == view.info.contacts >= QUICK.K
            key = os.urandom(20)
            await ours.store_value(key, b"seen from the map", local=False)
            holders = []
            for info in infos:
                values = (await lab.inspect(info.id)).values
                if any(v.key == key for v in values):
                    holders.append(info.id)
            assert len(holders) == 3  # STORE_REDUNDANCY lab nodes hold it, and each shows it

            # One node's lookups, watched from here, batched.
            seen: list[Sourced] = []
            unwatch = await lab.watch(seen.extend, target.id, (LookupStarted, LookupFinished))

            async def look(lab_: object) -> None:
                node = lab.lab.node_by_id(target.id)
                await node.find_node(os.urandom(20))

            await lab.call(look)
            await wait_until(lambda: any(isinstance(e, LookupFinished) for _, e in seen), 5, "watched lookup")
            assert {source for source, _ in seen} == {target.id}
            assert {type(e) for _, e in seen} == {LookupStarted, LookupFinished}
            await unwatch()

            # Kill, revive, add: reported, and seen in the overview.
            killed = await lab.kill(target.id)
            assert not killed.alive and killed.id == target.id
            after = {i.id: i for i in await lab.overview()}
            assert not after[target.id].alive and lab.size == 23
            with pytest.raises(LocalError):
                await lab.kill(target.id)  # the lab's error comes back here
            revived = await lab.revive(target.id)
            assert revived.alive and revived.address == target.address
            assert await ours.ping(*target.address) == target.id
            added = await lab.add()
            assert added.alive and added.id not in after
            await wait_until(lambda: sum(isinstance(e, LabNodeChanged) for _, e in lab_events) == 3, 5,
                             "three changes")
            assert [e.change for _, e in lab_events if isinstance(e, LabNodeChanged)] == [
                "killed", "revived", "added"]
            assert lab.size == 25

            # Conditions, from here: total loss and nothing answers.
            await lab.set_conditions(Conditions(loss=1.0))
            assert lab.conditions.loss == 1.0
            with pytest.raises(RpcTimeout):
                await ours.ping(*target.address)
        finally:
            await ours.stop()
            await lab.stop()
        assert not lab.running
        await wait_until(lambda: not lab.thread_alive, 5, "the lab thread ends")
        with pytest.raises(LocalError):
            await lab.overview()

    run(scenario(), timeout=60)


def test_a_watch_of_every_node_follows_nodes_added_later() -> None:
    async def scenario() -> None:
        lab = LabThread(6, QUICK, seed=4, interval=0.01)
        await lab.start()
        try:
            seen: list[Sourced] = []
            unwatch = await lab.watch(seen.extend, None, (LookupStarted,))
            added = await lab.add()  # it bootstraps: a lookup of its own
            await wait_until(lambda: added.id in {s for s, _ in seen}, 5, "the new node's lookup")
            assert await lab.run(lambda lab_: all(core_of(n).events.active for n in lab_.nodes))
            await unwatch()
            # Unwatched, no lab node builds events any more.
            assert await lab.run(lambda lab_: not any(core_of(n).events.active for n in lab_.nodes))
        finally:
            await lab.stop()

    run(scenario())


def test_an_unthreaded_lab_offers_the_same_interface_on_the_callers_loop() -> None:
    async def scenario() -> None:
        lab = LabThread(5, QUICK, seed=9, interval=0.0, threaded=False)
        changes: list[Sourced] = []
        lab.subscribe(changes.extend)
        await lab.start()
        try:
            assert lab.loop is asyncio.get_running_loop() and lab.running and not lab.thread_alive
            infos = await lab.overview()
            assert len(infos) == 5 == lab.size
            killed = await lab.kill(infos[2].id)
            assert not killed.alive and lab.size == 4
            assert [i.alive for i in await lab.overview()].count(False) == 1
            await lab.revive(infos[2].id)
            await wait_until(lambda: sum(isinstance(e, LabNodeChanged) for _, e in changes) == 2, 5, "changes")
            assert (await lab.inspect(infos[2].id)).info.alive
        finally:
            await lab.stop()
        assert not lab.running
        with pytest.raises(LocalError):
            await lab.overview()

    run(scenario())


def test_inspecting_a_mainline_lab_node_shows_its_peers_and_items() -> None:
    async def scenario() -> None:
        config = Config(PROFILE="mainline", KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0)
        lab = LabThread(8, config, seed=5, interval=0.01)
        await lab.start()
        try:
            info_hash = os.urandom(20)

            async def publish(lab_: object) -> bytes:
                node = lab.lab.nodes[0]
                await node.announce_peer(info_hash, 6881, seed=True, local=False)
                return await node.put_immutable(b"inspected", local=False)

            target = await lab.call(publish)
            views = [await lab.inspect(i.id) for i in await lab.overview()]
            peers = [p for v in views for p in v.peers]
            items = [i for v in views for i in v.items]
            assert peers and all((p.info_hash, p.port, p.seed) == (info_hash, 6881, True) for p in peers)
            assert items and all((i.target, i.value) == (target, b"9:inspected") for i in items)
            assert all(p.expires > p.added for p in peers) and all(i.expires > i.stored for i in items)
        finally:
            await lab.stop()

    run(scenario(), 60)
