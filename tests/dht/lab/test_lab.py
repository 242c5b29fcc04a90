"""The local lab: N nodes in one process, and lookups that survive dead nodes."""

from __future__ import annotations

import asyncio
import heapq
import os
import random
import socket
import sys
import time
from pathlib import Path

import pytest
from dhtutil import STEADY, run, wait_until

from dht.node import core_of
from dht import Config, Lab, Node
from dht.khashmir import lookups as khashmir_lookups
from dht.lab import lab as lab_module
from dht.errors import LocalError
from dht.events import Event, LookupAnswered, LookupFinished, LookupStarted


def test_lab_starts_joined_nodes_and_cleans_up() -> None:
    async def scenario() -> None:
        lab = Lab(6, STEADY)
        data_dir = lab.data_dir
        await lab.start()
        try:
            assert len(lab.nodes) == 6 and all(n.running for n in lab.nodes)
            assert len({n.address for n in lab.nodes}) == 6
            assert all(n.address[1] > 0 for n in lab.nodes)
            if not lab.shared_ip:  # Linux: each node on its own loopback address
                assert [n.address[0] for n in lab.nodes] == [f"127.0.0.{i}" for i in range(2, 8)]
            assert len({n.id for n in lab.nodes}) == 6
            assert lab.bootstrap_address == lab.nodes[0].contact.address
            for n in lab.nodes:
                assert len(core_of(n).table) >= 1
                assert core_of(n).db_path == data_dir / "lab.db"  # one database for the lab
            # Everyone can reach everyone's values.
            key = os.urandom(20)
            await lab.nodes[2].store_value(key, b"lab value")
            for n in lab.nodes:
                assert await n.get_value(key) == [b"lab value"]

            added = await lab.add_node()
            assert added in lab.nodes and added.running and len(lab.nodes) == 7
            assert len(core_of(added).table) >= 1
            assert await added.get_value(key) == [b"lab value"]

            killed = await lab.kill_node()
            assert killed is not lab.nodes[0] and not killed.running and killed not in lab.nodes
            await lab.resize(3)
            assert len(lab.nodes) == 3 and all(n.running for n in lab.nodes)
            await lab.resize(4)
            assert len(lab.nodes) == 4
            nodes = list(lab.nodes)
        finally:
            await lab.stop()
        assert lab.nodes == []
        assert all(not n.running for n in nodes)
        assert not data_dir.exists()
        with pytest.raises(LocalError):
            lab.bootstrap_address

    run(scenario())


def test_lab_keeps_a_given_data_dir(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = Lab(2, Config(KRPC_TIMEOUT=1.0), data_dir=tmp_path)
        await lab.start()
        await lab.stop()
        assert "lab.db" in {p.name for p in tmp_path.iterdir()}
        assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # no directory per node

    run(scenario())


def test_lab_arguments_are_checked() -> None:
    with pytest.raises(LocalError):
        Lab(0)

    async def scenario() -> None:
        lab = Lab(1, Config(KRPC_TIMEOUT=1.0))
        await lab.start()
        try:
            with pytest.raises(LocalError):
                await lab.resize(-1)
        finally:
            await lab.stop()
        with pytest.raises(LocalError):
            await lab.kill_node()

    run(scenario())


def test_gets_find_values_quickly_with_a_quarter_of_the_nodes_dead() -> None:
    """Soft timeouts: dead contacts cost a lookup little, far less than KRPC_TIMEOUT."""
    config = Config(KRPC_TIMEOUT=5.0)
    rng = random.Random(99)

    async def scenario() -> None:
        lab = Lab(20, config)
        await lab.start()
        try:
            stored: dict[bytes, tuple[bytes, list[bytes]]] = {}
            for _ in range(5):
                key, value = os.urandom(20), os.urandom(16)
                result = await rng.choice(lab.nodes).store_value(key, value)
                assert len(result.accepted) == 3
                stored[key] = (value, [c.id for c in result.accepted])
            # Kill a quarter of the nodes: one holder of each key where possible
            # (so lookups meet dead contacts right where the values are), the
            # rest at random -- but never the last live holder of a key.
            by_id = {n.id: n for n in lab.nodes}
            doomed: set[bytes] = set()

            def keeps_a_holder(extra: bytes) -> bool:
                dead = doomed | {extra}
                return all(any(h not in dead for h in holders) for _, holders in stored.values())

            for _, holders in stored.values():
                candidates = [
                    h for h in holders
                    if h != lab.nodes[0].id and h not in doomed and keeps_a_holder(h)
                ]
                if candidates and len(doomed) < 5:
                    doomed.add(candidates[0])
            assert doomed
            others = [n.id for n in lab.nodes[1:] if n.id not in doomed]
            rng.shuffle(others)
            for node_id in others:
                if len(doomed) >= 5:
                    break
                if keeps_a_holder(node_id):
                    doomed.add(node_id)
            assert len(doomed) == 5
            for node_id in doomed:
                await lab.kill_node(by_id[node_id])
            assert len(lab.nodes) == 15

            timeouts: list[LookupAnswered] = []

            def watch(event: Event) -> None:
                if isinstance(event, LookupAnswered) and event.outcome == "timeout":
                    timeouts.append(event)

            for n in lab.nodes:
                n.subscribe(watch)
            slowest = 0.0
            for key, (value, _) in stored.items():
                for reader in rng.sample(lab.nodes, 3):
                    start = time.monotonic()
                    values = await reader.get_value(key)
                    slowest = max(slowest, time.monotonic() - start)
                    assert value in values
                    # A find_node runs to the end, so it surely meets the dead holder.
                    start = time.monotonic()
                    closest = await reader.find_node(key)
                    slowest = max(slowest, time.monotonic() - start)
                    assert not {c.id for c in closest} & doomed
            assert slowest < config.KRPC_TIMEOUT / 2, f"a lookup took {slowest:.2f} s"
            # The lookups did meet dead contacts (and moved on from them).
            dead_addresses = {by_id[i].address for i in doomed}
            assert any(e.contact.address in dead_addresses for e in timeouts)
        finally:
            await lab.stop()

    run(scenario(), timeout=60)


def test_lab_background_traffic_runs_until_stopped() -> None:
    async def scenario() -> None:
        lab = Lab(4, Config(KRPC_TIMEOUT=1.0))
        await lab.start()
        try:
            with pytest.raises(LocalError):
                lab.start_traffic(0)
            kinds: list[str] = []

            def watch(event: Event) -> None:
                if isinstance(event, LookupStarted):
                    kinds.append(event.kind)

            for n in lab.nodes:
                n.subscribe(watch)
            lab.start_traffic(per_second=200)
            def busy() -> bool:
                stored = sum(n.stats().values for n in lab.nodes)
                return {"store_value", "find_node"} <= set(kinds) and stored > 0

            await wait_until(busy, timeout=10, what="lab traffic")
            task = lab._traffic
            assert task is not None and not task.done()
            lab.stop_traffic()
            assert lab._traffic is None
            await wait_until(task.done, what="traffic task ends")
            assert task.cancelled()
            lab.start_traffic(per_second=200)  # stop() also stops the traffic
            task = lab._traffic
        finally:
            await lab.stop()
        assert task is not None
        await wait_until(task.done, what="traffic task ends on stop")

    run(scenario())


def test_a_mainline_lab_s_traffic_announces_gets_peers_and_puts_items() -> None:
    """On Mainline the workload is Mainline's (a Khashmir store would only fail):
    nodes come to hold announced peers and BEP 44 items, and get_peers finds them."""
    async def scenario() -> None:
        lab = Lab(6, Config(PROFILE="mainline", KRPC_TIMEOUT=1.0))
        await lab.start()
        try:
            kinds: list[str] = []
            found: list[int] = []

            def watch(event: Event) -> None:
                if isinstance(event, LookupStarted):
                    kinds.append(event.kind)
                elif isinstance(event, LookupFinished) and event.kind == "get_peers":
                    found.append(event.found)

            for n in lab.nodes:
                n.subscribe(watch)
            lab.start_traffic(per_second=300)
            held = {"peers": 0, "items": 0}

            async def holding() -> None:
                held["peers"] = sum([len(await n.stored_peers()) for n in lab.nodes])
                held["items"] = sum([len(await n.stored_items()) for n in lab.nodes])

            wanted = {"find_node", "announce_peer", "get_peers", "put"}
            for _ in range(400):
                await holding()
                if held["peers"] and held["items"] and any(found) and wanted <= set(kinds):
                    break
                await asyncio.sleep(0.025)
            assert held["peers"] > 0 and held["items"] > 0, held
            assert any(found), "no get_peers of the lab's torrents found a peer"
            assert wanted <= set(kinds), set(kinds)
            assert "store_value" not in kinds
        finally:
            await lab.stop()

    run(scenario(), timeout=60)


async def publish_at(publisher: Node, holder: Node, key: bytes, value: bytes) -> None:
    """Store at one chosen node over the wire, as a publisher whose view ends there."""
    answer = await core_of(publisher).request(holder.contact, "find_node", {b"id": publisher.id, b"target": key})
    await core_of(publisher).request(
        holder.contact, "store_value",
        {b"id": publisher.id, b"key": key, b"value": value, b"token": answer[b"token"]},
    )


def test_two_publishers_on_two_holders_a_get_returns_both_values() -> None:
    """The apt-p2p case: two nodes published under one key, and its two closest
    nodes hold one value each.  Every get, from every other node, returns both."""

    async def scenario() -> None:
        lab = Lab(12, STEADY)
        await lab.start()
        try:
            for _ in range(3):
                key = os.urandom(20)
                by_distance = sorted(
                    lab.nodes, key=lambda n: int.from_bytes(n.id, "big") ^ int.from_bytes(key, "big")
                )
                first, second = by_distance[:2]
                p1, p2 = by_distance[-1], by_distance[-2]
                await publish_at(p1, first, key, b"from publisher 1")
                await publish_at(p2, second, key, b"from publisher 2")
                assert core_of(first).store.values(key) == [b"from publisher 1"]
                assert core_of(second).store.values(key) == [b"from publisher 2"]
                readers = [n for n in lab.nodes if n not in (first, second)]
                for reader in readers:
                    for _ in range(2):
                        assert sorted(await reader.get_value(key)) == [b"from publisher 1", b"from publisher 2"]
                # The explicit first-holder get stops at one holder: it misses a value.
                for reader in readers:
                    assert len(await khashmir_lookups.get_value(core_of(reader), key, first_holder=True)) == 1
            # From outside: the command line's one-shot get, a node of its own that joins the lab.
            host, port = lab.bootstrap_address
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "dht", "get", "--bootstrap", f"{host}:{port}", key.hex(),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), 30)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            assert proc.returncode == 0, err
            assert sorted(out.decode().splitlines()) == ["from publisher 1", "from publisher 2"]
        finally:
            await lab.stop()

    run(scenario(), timeout=60)


# --- addresses: a loopback address per node -------------------------------------------

def test_lab_hosts_are_distinct_loopback_addresses_never_127_0_0_1() -> None:
    hosts = [lab_module.lab_host(i) for i in range(70_000)]
    assert hosts[:3] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert hosts[252:254] == ["127.0.0.254", "127.0.1.1"]
    assert len(set(hosts)) == len(hosts)
    assert "127.0.0.1" not in hosts
    for host in hosts:
        octets = [int(x) for x in host.split(".")]
        assert octets[0] == 127 and 1 <= octets[3] <= 254
        socket.inet_aton(host)


needs_loopback_range = pytest.mark.skipif(
    not lab_module.loopback_per_node(), reason="only 127.0.0.1 can be bound on this platform"
)


@needs_loopback_range
def test_each_lab_node_listens_and_is_known_at_its_own_address() -> None:
    async def scenario() -> None:
        lab = Lab(10, STEADY)
        await lab.start()
        try:
            assert not lab.shared_ip
            hosts = {n.address[0] for n in lab.nodes}
            assert len(hosts) == 10 and "127.0.0.1" not in hosts
            assert lab.bootstrap_address == lab.nodes[0].address
            where = {n.id: n.address for n in lab.nodes}
            for n in lab.nodes:
                # Peers are known at the address they listen on: the source of their datagrams.
                for contact in core_of(n).table.contacts():
                    assert contact.address == where[contact.id]
            added = await lab.add_node()
            assert added.address[0] not in hosts
            assert any(c.address == added.address for n in lab.nodes[:-1] for c in core_of(n).table.contacts())
        finally:
            await lab.stop()

    run(scenario())


def test_an_explicit_host_puts_every_node_on_it() -> None:
    async def scenario() -> None:
        lab = Lab(4, STEADY, host="127.0.0.1")
        await lab.start()
        try:
            assert lab.shared_ip
            assert {n.address[0] for n in lab.nodes} == {"127.0.0.1"}
            assert len({n.address[1] for n in lab.nodes}) == 4
            key = os.urandom(20)
            await lab.nodes[1].store_value(key, b"shared")
            assert await lab.nodes[3].get_value(key) == [b"shared"]
        finally:
            await lab.stop()

    run(scenario())


def test_where_only_127_0_0_1_binds_the_lab_shares_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_bind = socket.socket.bind

    def bind(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "0.0.0.0", ""):
            raise OSError(99, "Cannot assign requested address")
        real_bind(self, address)  # type: ignore[arg-type]

    lab_module.loopback_per_node.cache_clear()
    monkeypatch.setattr(socket.socket, "bind", bind)
    try:
        assert lab_module.loopback_per_node() is False

        async def scenario() -> None:
            lab = Lab(3, STEADY)
            assert lab.shared_ip  # per-IP limits must be raised for the lab's own nodes
            await lab.start()
            try:
                assert {n.address[0] for n in lab.nodes} == {"127.0.0.1"}
                assert len({n.address for n in lab.nodes}) == 3
            finally:
                await lab.stop()

        run(scenario())
    finally:
        monkeypatch.undo()
        lab_module.loopback_per_node.cache_clear()


# --- formation --------------------------------------------------------------------

def test_a_formed_lab_has_every_node_joined_with_its_close_neighbourhood() -> None:
    size, k = 300, STEADY.K
    rng = random.Random(5)

    async def scenario() -> None:
        lab = Lab(size, STEADY)
        await lab.start()
        try:
            ids = [int.from_bytes(n.id, "big") for n in lab.nodes]
            first = lab.nodes[0]
            for n in lab.nodes:
                me = int.from_bytes(n.id, "big")
                known = {c.id for c in core_of(n).table.contacts()}
                closest = heapq.nsmallest(k, (i for i in ids if i != me), key=lambda i: i ^ me)
                missing = [i for i in closest if i.to_bytes(20, "big") not in known]
                assert not missing, f"node {n.address} lacks {len(missing)} of its {k} closest"
                if n is not first and first.id not in known:
                    # Everyone joined the bootstrap node: it is known unless
                    # its bucket was already full (of neighbours, kept first).
                    [bucket] = [b for b in n.routing_table() if b.lo <= ids[0] < b.hi]
                    assert len(bucket.contacts) == k
                # Contacts in buckets beyond the neighbourhood too.
                assert len(core_of(n).table.buckets) >= 4 and len(known) > k
            # Formed without a single lookup: joins and pings only, a bounded number.
            assert sum(n.stats().methods["find_node"].sent for n in lab.nodes) == 0
            formation = lab.formation
            assert formation is not None and formation.failed == 0
            assert size - 1 < formation.requests <= size * (1 + k + 2 * 10)
            # And the lab works: every get after a store finds its value.
            for i in range(20):
                key, value = os.urandom(20), b"formed %d" % i
                result = await rng.choice(lab.nodes).store_value(key, value)
                assert len(result.accepted) == 3
                assert value in await rng.choice(lab.nodes).get_value(key)
        finally:
            await lab.stop()

    run(scenario(), timeout=120)


def test_a_lab_forms_over_its_fabric_then_its_nodes_talk_through_their_sockets() -> None:
    async def scenario() -> None:
        lab = Lab(40, STEADY)
        await lab.start()
        try:
            formation = lab.formation
            assert formation is not None and formation.failed == 0
            carried = lab.fabric.carried
            # Every formation request and its answer were carried in the process (a join's
            # verification ping by the first node, too), and counted by the nodes as datagrams.
            assert carried >= 2 * formation.requests
            assert not lab.fabric.is_open
            # (those carried last, by the maintenance the formation set off, are handed over
            # on the loop's next pass)
            await wait_until(lambda: sum(n.stats().packets_in for n in lab.nodes) >= carried,
                             what="the carried datagrams received")
            # Once formed, through the sockets: answered, and nothing more carried.
            a, b = lab.nodes[1], lab.nodes[2]
            assert await a.ping(*b.contact.address) == b.id
            assert lab.fabric.carried == carried
        finally:
            await lab.stop()

    run(scenario(), timeout=60)


def test_a_lab_that_records_a_capture_forms_on_the_wire(tmp_path: Path) -> None:
    """What it records went through the sockets, so a capture of lo made beside it agrees."""
    from dht.capture import CaptureWriter

    async def scenario() -> None:
        with CaptureWriter(tmp_path / "lab.pcapng") as writer:
            lab = Lab(12, STEADY, capture=writer)
            await lab.start()
            try:
                assert lab.formation is not None and lab.formation.requests > 0
                assert lab.fabric.carried == 0
            finally:
                await lab.stop()

    run(scenario(), timeout=60)


def test_introductions_name_the_k_closest_and_some_in_every_bucket_range() -> None:
    rng = random.Random(7)
    ids = sorted(rng.getrandbits(160) for _ in range(500))
    for me in rng.sample(range(500), 40):
        near, far = lab_module.introductions(ids, me, 8, 2, rng)
        own = ids[me]
        expected = heapq.nsmallest(8, (i for i in ids if i != own), key=lambda i: i ^ own)
        assert [ids[i] for i in near] == expected  # closest first
        assert me not in near and me not in far and not set(near) & set(far)
        # Up to 2 in each sibling subtree that exists above the neighbourhood.
        depths = [160 - (ids[i] ^ own).bit_length() for i in far]
        assert all(depths.count(d) <= 2 for d in depths)
        assert 0 in depths or all(ids[j] >> 159 == own >> 159 for j in range(500))
    assert lab_module.introductions([5], 0, 8, 2, rng) == ([], [])


def test_joins_are_paced_within_the_first_node_s_global_query_budget() -> None:
    """With a small global budget (here 200 queries/s, a burst of 40) the first node
    would drop most of 149 joins sent as fast as the pool goes (each then waiting out
    the formation's timeout): paced, none is lost and every node is in a table."""
    config = Config(GLOBAL_QUERY_RATE=200.0, GLOBAL_QUERY_BURST=40)

    async def scenario() -> None:
        lab = Lab(150, config)
        try:
            await lab.start()
            assert lab.formation is not None and lab.formation.failed == 0
            first = core_of(lab.nodes[0])
            assert first.stats_counters.dropped == 0  # nothing over its budget
            assert first.stats_counters.method("join").received == 149
        finally:
            await lab.stop()

    run(scenario(), 60)


def test_no_older_collection_runs_while_labs_form_and_the_thresholds_come_back_after_the_last() -> None:
    import gc

    from dht.lab.quiet_gc import HELD_THRESHOLD, full_collections_held

    before = gc.get_threshold()
    seen: list[tuple[int, int]] = []

    async def scenario() -> None:
        first, second = Lab(4, STEADY), Lab(4, STEADY)
        first.subscribe(lambda e: seen.append(gc.get_threshold()[1:]))
        try:
            with full_collections_held():  # as a second lab forming beside it would
                await asyncio.gather(first.start(), second.start())
                assert gc.get_threshold()[1:] == (HELD_THRESHOLD, HELD_THRESHOLD)  # the outer holder still holds
        finally:
            await first.stop()
            await second.stop()

    run(scenario())
    assert seen and set(seen) == {(HELD_THRESHOLD, HELD_THRESHOLD)}  # every progress report of the forming lab
    assert gc.get_threshold() == before
