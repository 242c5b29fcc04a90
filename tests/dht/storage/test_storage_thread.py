"""Storage off the receive path (issue 9): a blocked database holds up no ping.

The database is held locked by a second SQLite connection (``BEGIN
EXCLUSIVE``), so the node's store_value waits on its storage thread (up to
SQLite's busy timeout) until the test releases it.  Meanwhile a raw client's
pings are answered; after the release the store is acknowledged and the
value is there.  Also: the bound on storage queries in flight (the surplus
dropped, counted as "storage busy"), and a node stopped with storage work in
flight (what it admitted is answered and kept, what comes later is dropped).
No sleeps: the tests wait on the node's own state and on its answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

import bencodepy
from dhtutil import FAST, RawClient, query, raw_client, run, running_node, wait_until

from dht import Config, Node, events
from dht.khashmir.dispatch import INLINE_HANDLERS
from dht.node import core_of
from dht.storage import Store, StorageWorker

KEY = b"K" * 20
CID = b"C" * 20


@contextlib.contextmanager
def locked(db: Path) -> Iterator[sqlite3.Connection]:
    """The node's database held by another connection: its writes wait until the block ends."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


async def token(client: RawClient, node: Node) -> bytes:
    reply = await client.ask_decoded(query("find_node", {b"id": CID, b"target": KEY}, b"tk"), node.address)
    return bytes(reply[b"r"][b"token"])


def store(tid: bytes, value: bytes, tok: bytes) -> bytes:
    return query("store_value", {b"id": CID, b"key": KEY, b"value": value, b"token": tok}, tid)


async def pong(client: RawClient, node: Node, tid: bytes) -> dict[bytes, Any]:
    """A ping's answer; it must be the next thing the node says."""
    reply = bencodepy.decode(await client.ask(query("ping", {b"id": CID}, tid), node.address))
    assert reply == {b"t": tid, b"y": b"r", b"r": {b"id": node.id}}, reply
    return reply


def pending(client: RawClient) -> list[dict[bytes, Any]]:
    """What the node said that nobody has read yet (no waiting)."""
    out = []
    while not client.queue.empty():
        out.append(bencodepy.decode(client.queue.get_nowait()[0]))
    return out


def test_pings_are_answered_while_a_store_waits_for_a_locked_database(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            tok = await token(client, node)
            assert (await client.ask_decoded(store(b"s0", b"before", tok), node.address))[b"y"] == b"r"
            with locked(core_of(node).db_path):
                client.send(store(b"s1", b"while locked", tok), node.address)
                await wait_until(lambda: core_of(node).store.busy, what="the store on the storage thread")
                for i in range(3):
                    await pong(client, node, b"p%d" % i)  # answered, the store still waiting
                assert core_of(node).store.busy and len(core_of(node).protocol.handlers.in_flight) == 1
                assert pending(client) == []  # not acknowledged while the database is locked
            reply = bencodepy.decode((await client.recv())[0])
            assert reply == {b"t": b"s1", b"y": b"r", b"r": {b"id": node.id}}
            assert sorted(core_of(node).store.values(KEY)) == [b"before", b"while locked"]
            assert not core_of(node).protocol.handlers.in_flight

    run(scenario())


def test_get_value_is_answered_from_the_storage_thread_with_the_same_bytes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            tok = await token(client, node)
            await client.ask(store(b"s0", b"one", tok), node.address)
            get = query("get_value", {b"id": CID, b"key": KEY, b"num": 0}, b"g1")
            reply = await client.ask(get, node.address)
            assert reply == bencodepy.encode({b"t": b"g1", b"y": b"r", b"r": {b"id": node.id, b"values": [b"one"]}})
            bad = bencodepy.decode(await client.ask(
                query("get_value", {b"id": CID, b"key": KEY, b"num": -1}, b"g2"), node.address))
            assert bad[b"t"] == b"g2" and bad[b"e"][0] == 204  # checked at once, as before

    run(scenario())


def test_storage_queries_over_the_bound_are_dropped_and_counted(tmp_path: Path) -> None:
    config = FAST.replace(MAX_STORAGE_QUERIES=2)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client() as client:
            seen: list[events.Event] = []
            node.subscribe(seen.append)
            tok = await token(client, node)
            with locked(core_of(node).db_path):
                for i in range(5):
                    client.send(store(b"s%d" % i, b"v%d" % i, tok), node.address)
                await pong(client, node, b"p")  # the five handled: two in flight, three dropped
                assert len(core_of(node).protocol.handlers.in_flight) == 2
                assert node.stats().drops["storage busy"] == 3
                dropped = [e for e in seen if isinstance(e, events.DatagramDropped)]
                assert [e.reason for e in dropped] == ["storage busy"] * 3
                # A get is dropped too while the bound is reached; a find_node is not.
                client.send(query("get_value", {b"id": CID, b"key": KEY, b"num": 0}, b"g"), node.address)
                find = await client.ask_decoded(query("find_node", {b"id": CID, b"target": KEY}, b"f"), node.address)
                assert find[b"t"] == b"f"
                assert node.stats().drops["storage busy"] == 4
            acks = [bencodepy.decode((await client.recv())[0]) for _ in range(2)]
            assert sorted(a[b"t"] for a in acks) == [b"s0", b"s1"] and all(a[b"y"] == b"r" for a in acks)
            assert sorted(core_of(node).store.values(KEY)) == [b"v0", b"v1"]
            await pong(client, node, b"after")
            assert pending(client) == []  # the dropped ones are never answered
            # Room again: the next store is taken.
            assert (await client.ask_decoded(store(b"s9", b"v9", tok), node.address))[b"y"] == b"r"

    run(scenario())


def test_a_node_stopped_with_storage_work_in_flight_loses_nothing_acknowledged(tmp_path: Path) -> None:
    async def scenario() -> None:
        node = Node(FAST, host="127.0.0.1", port=0, data_dir=tmp_path)
        await node.start()
        async with raw_client() as client:
            tok = await token(client, node)
            with locked(core_of(node).db_path) as lock:
                for i in range(3):
                    client.send(store(b"s%d" % i, b"admitted %d" % i, tok), node.address)
                await wait_until(lambda: core_of(node).store.busy, what="the stores on the storage thread")
                stopping = asyncio.ensure_future(node.stop())
                await pong(client, node, b"p")  # the stopping node still answers pings
                assert not node.running and not stopping.done()
                client.send(store(b"late", b"too late", tok), node.address)
                await pong(client, node, b"p2")
                assert node.stats().drops["storage busy"] == 1  # nothing new admitted while stopping
                lock.execute("ROLLBACK")
                await stopping
        acks = pending(client)
        assert sorted(a[b"t"] for a in acks) == [b"s0", b"s1", b"s2"] and all(a[b"y"] == b"r" for a in acks)
        again = Store(tmp_path / "khashmir.db")
        try:
            assert sorted(again.values(KEY)) == [b"admitted 0", b"admitted 1", b"admitted 2"]
        finally:
            again.close()

    run(scenario())


def test_a_stopping_node_gives_up_on_storage_the_disk_holds_longer_than_krpc_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        node = Node(FAST, host="127.0.0.1", port=0, data_dir=tmp_path)  # KRPC_TIMEOUT 1 s
        await node.start()
        transport = core_of(node).transport
        async with raw_client() as client:
            tok = await token(client, node)
            assert (await client.ask_decoded(store(b"s0", b"acknowledged", tok), node.address))[b"y"] == b"r"
            with locked(core_of(node).db_path) as lock:
                client.send(store(b"s1", b"running", tok), node.address)
                client.send(store(b"s2", b"queued", tok), node.address)
                await pong(client, node, b"p")
                await wait_until(lambda: core_of(node).store.busy, what="the stores on the storage thread")
                stopping = asyncio.ensure_future(node.stop())
                await wait_until(lambda: not transport.answering, what="the answers given up")
                await pong(client, node, b"p2")  # the loop is free while the store waits for the disk
                assert not stopping.done() and core_of(node).store.busy
                lock.execute("ROLLBACK")  # the running store may now commit, unanswered
                await stopping
        assert pending(client) == []  # neither answered: as if the datagrams were lost
        again = Store(tmp_path / "khashmir.db")
        try:
            kept = again.values(KEY)
        finally:
            again.close()
        assert b"acknowledged" in kept and b"queued" not in kept  # the queued store never ran

    run(scenario())


def test_storage_thread_off_answers_inline_as_before(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path, FAST.replace(STORAGE_THREAD=False)) as node, raw_client() as client:
            tok = await token(client, node)
            assert core_of(node).protocol.handlers.handlers is INLINE_HANDLERS
            replies = await client.replies_before_ping(store(b"s", b"inline", tok), node.address)
            assert [bencodepy.decode(r)[b"t"] for r in replies] == [b"s"]  # answered before the next datagram
            assert core_of(node).store.values(KEY) == [b"inline"] and not core_of(node).store.worker.threaded

    run(scenario())


def test_storage_worker_runs_jobs_in_order_one_thread_at_a_time_and_notifies_the_caller() -> None:
    worker = StorageWorker()
    threads: list[int] = []
    notified: list[tuple[int, str]] = []
    main = threading.get_ident()

    def job(i: int) -> int:
        threads.append(threading.get_ident())
        worker.notify(lambda text: notified.append((threading.get_ident(), text)), f"job {i}")
        assert worker.call(lambda: worker.on_worker)  # a job calling the store runs there and then
        return i

    async def jobs(first: int) -> list[int]:
        return list(await asyncio.gather(*(worker.run(job, i) for i in range(first, first + 5))))

    try:
        assert run(jobs(0)) == [0, 1, 2, 3, 4]
        assert len(set(threads)) == 1 and threads[0] != main  # the storage thread
        # A synchronous call with nothing queued runs on the caller's thread (it waits anyway).
        assert worker.call(job, 5) == 5 and threads[5] == main
        # Callbacks ran on the waiting thread, in order.
        assert notified == [(main, f"job {i}") for i in range(6)]
        assert worker.pending == 0
        worker.stop_thread()
        assert run(jobs(6)) == list(range(6, 11))  # a thread again for the next jobs
        assert threads[6] != main
    finally:
        worker.join()


def test_an_idle_storage_thread_ends_by_itself_and_the_next_job_starts_another() -> None:
    """A lab of hundreds of nodes keeps threads only for the ones busy with storage."""
    worker = StorageWorker(idle=0.05)
    seen: list[threading.Thread] = []

    def job() -> None:
        seen.append(threading.current_thread())

    try:
        run(worker.run(job))
        first = seen[0]
        assert first is not threading.current_thread()
        first.join(5.0)  # nothing more to do: it ends after ``idle`` seconds (bounded wait)
        assert not first.is_alive() and worker._thread is None
        run(worker.run(job))
        assert seen[1] is not first  # a new thread: the idle one had ended
        assert worker.pending == 0
    finally:
        worker.join()
    assert worker._thread is None


def test_a_synchronous_call_queues_behind_the_jobs_given_before() -> None:
    worker = StorageWorker()
    order: list[str] = []
    gate = threading.Event()

    async def scenario() -> None:
        blocked = asyncio.ensure_future(worker.run(lambda: (gate.wait(5), order.append("async"))))
        await asyncio.sleep(0)  # one loop step: the job is submitted (a yield, not a wait)
        assert worker.pending == 1
        threading.Thread(target=gate.set).start()  # released from another thread while we wait below
        worker.call(lambda: order.append("sync"))
        await blocked

    try:
        run(scenario())
        assert order == ["async", "sync"]
    finally:
        worker.join()


def test_joining_with_cancel_queued_skips_the_jobs_not_started() -> None:
    worker = StorageWorker()
    gate = threading.Event()
    ran: list[int] = []

    def job(i: int) -> int:
        if i == 0:
            gate.wait(5)
        ran.append(i)
        return i

    async def scenario() -> list[Any]:
        futures = [asyncio.ensure_future(worker.run(job, i)) for i in range(3)]
        await wait_until(lambda: worker.pending == 3, what="the jobs given")
        joiner = threading.Thread(target=worker.join, kwargs={"cancel_queued": True})
        joiner.start()  # an aborted node: waits for the running job only
        await wait_until(lambda: worker._discarding, what="the queue discarded")
        gate.set()
        joiner.join(5)
        return await asyncio.gather(*futures, return_exceptions=True)

    results = run(scenario())
    assert results[0] == 0 and ran == [0]
    assert all(isinstance(r, asyncio.CancelledError) for r in results[1:])
    assert worker.pending == 0


def test_config_bound_is_validated() -> None:
    assert Config().MAX_STORAGE_QUERIES == 256 and Config().STORAGE_THREAD is True
    for bad in (0, -1, 1.5):
        try:
            Config(MAX_STORAGE_QUERIES=bad)  # type: ignore[arg-type]
        except Exception as exc:
            assert "MAX_STORAGE_QUERIES" in str(exc)
        else:
            raise AssertionError(f"{bad} accepted")


def test_the_local_node_stores_and_reads_its_own_values_on_the_storage_thread(tmp_path: Path) -> None:
    """A lookup asks the local node too: its store_value and get_value run on the
    storage thread as a peer's do, never SQLite on the loop (the store's synchronous
    calls are made to fail here, and the node stores and gets all the same)."""

    async def scenario() -> None:
        async with running_node(tmp_path, FAST) as node:
            store = core_of(node).store

            def on_the_loop(*args: Any) -> Any:
                raise AssertionError("SQLite on the loop")

            store.store_value = on_the_loop  # type: ignore[method-assign]
            store.values = on_the_loop  # type: ignore[method-assign]
            result = await node.store_value(KEY, b"mine")
            assert [c.id for c in result.accepted] == [node.id]
            assert await node.get_value(KEY) == [b"mine"]

    run(scenario())


def test_a_bug_in_the_local_node_s_own_storage_query_is_answered_201_not_left_hanging(tmp_path: Path) -> None:
    """Our own store_value on the storage thread failing with a bug: logged, and the store
    sees the server error a peer would get, rather than waiting forever."""

    async def scenario() -> None:
        async with running_node(tmp_path, FAST) as node:
            async def broken(*args: Any) -> Any:
                raise RuntimeError("a bug")

            core_of(node).store.store_value_async = broken  # type: ignore[method-assign]
            result = await asyncio.wait_for(node.store_value(KEY, b"mine"), 10)
            assert not result.accepted
            assert [(c.id, "server error" in why) for c, why in result.refused] == [(node.id, True)]

    run(scenario())
