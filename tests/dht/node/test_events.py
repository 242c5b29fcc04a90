"""The event stream: what a node reports, and that it costs nothing unheard."""

from __future__ import annotations

import asyncio
import hashlib
import time
import typing
from pathlib import Path
from typing import Any

import pytest
from dhtutil import HOST, STEADY, free_udp_port, run, running_node, running_nodes, silent_udp_port, wait_until

from dht.core.outcomes import TableEvent
from dht.node import core_of
from dht import Config, Contact, Lab, Node, events
from dht.events import (
    BucketSplit, BucketsMerged, ContactAdded, ContactFailed, ContactRemoved, DatagramDropped, DatagramReceived,
    DatagramSent, Event, EventBus, LookupAnswered, LookupFinished, LookupQueried, LookupStarted,
    RequestTimedOut, ValueStored,
)

KEY = hashlib.sha1(b"evented").digest()


def of(kind: type, seen: list[Event]) -> list[Any]:
    return [e for e in seen if isinstance(e, kind)]


def test_bus_is_active_only_with_subscribers() -> None:
    bus = EventBus()
    assert bus.active is False
    got: list[Event] = []
    unsubscribe = bus.subscribe(got.append)
    assert bus.active is True
    ev = DatagramDropped(1.0, ("127.0.0.1", 1), 3, "test")
    bus.emit(ev)
    assert got == [ev]
    unsubscribe()
    assert bus.active is False
    bus.emit(ev)
    assert got == [ev]
    unsubscribe()  # twice is harmless
    assert bus.active is False


def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    got: list[Event] = []

    def broken(event: Event) -> None:
        raise ValueError("subscriber bug")

    bus.subscribe(broken)
    bus.subscribe(got.append)
    ev = DatagramDropped(1.0, ("127.0.0.1", 1), 3, "test")
    bus.emit(ev)
    assert got == [ev]
    assert any("subscriber" in r.getMessage() for r in caplog.records)


def test_store_and_get_produce_traffic_lookup_and_storage_events(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, STEADY) as (a, b):
            seen_a: list[Event] = []
            seen_b: list[Event] = []
            a.subscribe(seen_a.append)
            b.subscribe(seen_b.append)
            t0 = time.monotonic()
            await a.join(*b.address)
            await a.store_value(KEY, b"value")
            assert await a.get_value(KEY) == [b"value"]
            t1 = time.monotonic()

            # Traffic: every query a sent was answered, with a round-trip time.
            sent_q = of(DatagramSent, seen_a)
            recv_r = [e for e in of(DatagramReceived, seen_a) if e.kind == "r"]
            assert {e.method for e in sent_q if e.kind == "q"} >= {"join", "find_node", "store_value", "find_value"}
            assert {e.tid for e in sent_q if e.kind == "q"} == {e.tid for e in recv_r}
            for e in recv_r:
                assert e.rtt is not None and 0 <= e.rtt <= t1 - t0
                assert e.peer == b.address and e.message[b"t"] == e.tid
            for e in sent_q:
                assert t0 <= e.time <= t1 and e.size == len(krpc_bytes(e.message))
            # b saw the same queries arrive, with no rtt, and answered each.
            recv_q = [e for e in of(DatagramReceived, seen_b) if e.kind == "q"]
            assert {e.tid for e in recv_q} == {e.tid for e in sent_q if e.kind == "q"}
            assert all(e.rtt is None for e in recv_q)
            assert {e.tid for e in of(DatagramSent, seen_b) if e.kind == "r"} == {e.tid for e in recv_q}

            # Lookups: ids tie the events of one lookup together.
            started = {e.lookup: e for e in of(LookupStarted, seen_a)}
            finished = {e.lookup: e for e in of(LookupFinished, seen_a)}
            assert set(started) == set(finished)
            assert {e.kind for e in started.values()} == {"store_value", "get_value"}
            for e in of(LookupQueried, seen_a) + of(LookupAnswered, seen_a):
                assert e.lookup in started
            for lookup_id, st in started.items():
                fin = finished[lookup_id]
                assert (fin.kind, fin.target) == (st.kind, st.target) == (st.kind, KEY)
                queried = [e for e in of(LookupQueried, seen_a) if e.lookup == lookup_id]
                assert fin.queried == len(queried) > 0
                assert fin.elapsed >= 0 and st.time <= fin.time
            store_id = next(i for i, e in started.items() if e.kind == "store_value")
            outcomes = [e.outcome for e in of(LookupAnswered, seen_a) if e.lookup == store_id]
            assert outcomes.count("stored") == 2  # on b and on a itself
            assert finished[store_id].found == 2
            get_id = next(i for i, e in started.items() if e.kind == "get_value")
            assert finished[get_id].found == 1

            # Routing and storage.
            assert [e.contact for e in of(ContactAdded, seen_a)] == [b.contact]
            assert [e.contact for e in of(ContactAdded, seen_b)] == [a.contact]
            assert of(ContactAdded, seen_b)[0].bucket == (0, 2**160)
            stored_b = of(ValueStored, seen_b)
            assert [(e.key, e.value, e.refreshed) for e in stored_b] == [(KEY, b"value", False)]
            assert abs(stored_b[0].stored_at - time.time()) < 60

    run(scenario())


def krpc_bytes(message: dict[bytes, Any]) -> bytes:
    import bencodepy

    data: bytes = bencodepy.encode(message)
    return data


def test_some_node_of_a_lab_splits_its_buckets(tmp_path: Path) -> None:
    seen: dict[int, list[Event]] = {}

    class WatchedLab(Lab):
        def _new_node(self) -> Node:
            node = super()._new_node()
            log: list[Event] = []
            seen[id(node)] = log
            node.subscribe(log.append)
            return node

    async def scenario() -> None:
        lab = WatchedLab(20, STEADY, data_dir=tmp_path)
        await lab.start()
        try:
            splits = 0
            for node in lab.nodes:
                log = seen[id(node)]
                node_splits = of(BucketSplit, log)
                merges = of(BucketsMerged, log)
                splits += len(node_splits)
                for e in node_splits:
                    assert e.mid == (e.lo + e.hi) // 2
                    assert e.lo <= int.from_bytes(node.id, "big") < e.hi
                # The table is what the events say it is.
                assert len(node.routing_table()) == 1 + len(node_splits) - len(merges)
                # Every contact in the table was announced, in the bucket where it was added.
                added = {e.contact.id for e in of(ContactAdded, log)}
                assert {c.id for c in core_of(node).table.contacts()} <= added
            assert splits > 0
            first = lab.nodes[0]  # everyone joined it: more than K contacts, so it split
            assert of(BucketSplit, seen[id(first)])
        finally:
            await lab.stop()

    run(scenario())


def test_request_to_a_dead_port_times_out_and_the_contact_fails(tmp_path: Path) -> None:
    dead_port = silent_udp_port()  # bound, never answering: no ICMP comes back

    async def scenario() -> None:
        async with running_node(tmp_path, Config(KRPC_TIMEOUT=0.3)) as node:
            seen: list[Event] = []
            node.subscribe(seen.append)
            ghost = Contact(b"G" * 20, HOST, dead_port)
            core_of(node).requests.insert_node(ghost)
            assert of(ContactAdded, seen)[0].contact == ghost
            await node.find_node(b"T" * 20)
            await wait_until(lambda: bool(of(ContactFailed, seen)), what="ContactFailed")
            [timed_out] = of(RequestTimedOut, seen)
            assert timed_out.peer == (HOST, dead_port) and timed_out.method == "find_node"
            [failed] = of(ContactFailed, seen)
            assert failed.contact == ghost and failed.failures == 1
            answers = [e for e in of(LookupAnswered, seen) if e.contact == ghost]
            assert answers and answers[-1].outcome == "timeout"
            assert node.stats().methods["find_node"].failed == 1

    run(scenario())


def test_request_to_a_closed_port_fails_at_once_and_the_contact_leaves(tmp_path: Path) -> None:
    closed_port = free_udp_port()  # nothing listens: ICMP port unreachable comes back

    async def scenario() -> None:
        async with running_node(tmp_path, Config(KRPC_TIMEOUT=5.0)) as node:
            seen: list[Event] = []
            node.subscribe(seen.append)
            ghost = Contact(b"G" * 20, HOST, closed_port)
            core_of(node).requests.insert_node(ghost)
            started = time.monotonic()
            await node.find_node(b"T" * 20)
            assert time.monotonic() - started < 1.0  # not its 5 s full timeout
            [timed_out] = of(RequestTimedOut, seen)
            assert timed_out.peer == (HOST, closed_port)
            [removed] = of(ContactRemoved, seen)
            assert removed.contact == ghost and removed.reason == "port unreachable"
            assert core_of(node).table.get(ghost.id) is None

    run(scenario())


def test_no_subscriber_means_no_event_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an event was built with nobody listening")

    import dht.khashmir.remote
    import dht.lab.formation
    import dht.lab.lab
    import dht.lab.procs.client
    import dht.core.routing
    import dht.mainline.handlers
    import dht.node.core
    import dht.node.crawling
    import dht.node.maintenance
    import dht.node.requests
    import dht.rpc.progress
    import dht.machine.machine
    import dht.rpc.transport

    event_classes = typing.get_args(events.Event)
    patched = set()
    modules = (
        dht.machine.machine, dht.rpc.transport, dht.node.core, dht.node.requests, dht.node.maintenance, dht.khashmir.remote,
        dht.rpc.progress, dht.mainline.handlers, dht.lab.lab, dht.lab.formation, dht.node.crawling,
        dht.lab.procs.client,
    )
    for module in modules:
        for cls in event_classes:
            if getattr(module, cls.__name__, None) is cls:
                monkeypatch.setattr(module, cls.__name__, forbidden)
                patched.add(cls)
    # Every event the node emits is built in one of those modules, but the routing
    # table's: what it reports are those events, which the node publishes as they are.
    # The events of answers and of new senders it builds only for a listener (the
    # rest are rare, and a refill's ContactAdded it acts on itself: none in this scenario).
    for cls in (events.ContactAdded, events.ContactRefreshed, events.ContactFailed):
        monkeypatch.setattr(dht.core.routing, cls.__name__, forbidden)
    table_events = set(typing.get_args(TableEvent))
    assert table_events and patched == set(event_classes) - table_events

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2) as (a, b):
            assert not core_of(a).events.active and not core_of(b).events.active
            assert await a.ping(*b.address) == b.id
            await a.join(*b.address)
            await a.store_value(KEY, b"quiet")
            assert await b.get_value(KEY) == [b"quiet"]
            assert core_of(a).maintenance.expire_values() == 0
            # The patch is in the path: with a listener, building an event fails.
            a.subscribe(lambda e: None)
            with pytest.raises(AssertionError, match="nobody listening"):
                await a.ping(*b.address)

    run(scenario())


def test_unsubscribed_callback_gets_nothing_more(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 2) as (a, b):
            got: list[Event] = []
            unsubscribe = a.subscribe(got.append)
            await a.ping(*b.address)
            count = len(got)
            assert count >= 2  # the ping out, the answer in
            unsubscribe()
            assert not core_of(a).events.active
            await a.ping(*b.address)
            assert len(got) == count

    run(scenario())


def test_dropped_datagrams_are_reported(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node:
            seen: list[Event] = []
            node.subscribe(seen.append)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(HOST, 0))
            try:
                transport.sendto(b"not krpc", node.address)
                await wait_until(lambda: bool(of(DatagramDropped, seen)), what="DatagramDropped")
            finally:
                transport.close()
            [dropped] = of(DatagramDropped, seen)
            assert dropped.size == len(b"not krpc") and dropped.reason.startswith("not bencode")

    run(scenario())
