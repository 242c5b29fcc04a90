"""A lab's one database: N nodes in one file, each node's rows its own, kept across restarts."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from pathlib import Path

import pytest
from dhtutil import FAST, HOST, run

from dht import Lab, Node
from dht.errors import StorageError
from dht.node import core_of
from dht.storage import LAB_DB_NAME, LabDatabase, Store, StoreLimits

KEY = hashlib.sha1(b"lab key").digest()
OTHER = hashlib.sha1(b"other key").digest()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def slot_store(db: LabDatabase, number: int, limits: StoreLimits | None = None) -> Store:
    return db.slot(number).open_store(limits or StoreLimits(), True)


def test_a_lab_keeps_its_nodes_in_one_file_and_brings_back_their_ids_and_contacts(tmp_path: Path) -> None:
    async def scenario() -> None:
        lab = Lab(8, FAST, data_dir=tmp_path)
        await lab.start()
        try:
            assert [p for p in tmp_path.iterdir() if p.suffix == ".db"] == [tmp_path / LAB_DB_NAME]
            assert not [p for p in tmp_path.iterdir() if p.is_dir()]
            killed = await lab.kill_node(lab.nodes[5])  # an aborted node keeps what it saved
            nodes = lab.nodes[:5] + [killed] + lab.nodes[5:]
        finally:
            await lab.stop()
        ids = [n.id for n in nodes]
        tables = {n.id: {c.id for c in core_of(n).table.contacts()} for n in nodes}
        assert len(set(ids)) == 8
        # After the stop: only the lab's file (its log checkpointed away), the lock and no pid.
        assert files_in(tmp_path) == ["khashmir.lock", LAB_DB_NAME]

        db = LabDatabase(tmp_path)
        db.open()
        try:
            for number, node_id in enumerate(ids):
                store = slot_store(db, number)
                assert store.self_id() == node_id
                saved = {c.id for c in store.contacts()}
                if node_id != killed.id:  # saved on stop: the table as it was
                    assert saved == tables[node_id] and saved
                store.close()
        finally:
            db.close()

        again = Lab(8, FAST, data_dir=tmp_path)
        await again.start()
        try:
            assert [n.id for n in again.nodes] == ids  # each node's id is back, in its slot
            for node in again.nodes:
                assert len(core_of(node).table) >= 1
        finally:
            await again.stop()

    run(scenario(), timeout=60)


def test_one_node_s_values_are_not_another_s(tmp_path: Path) -> None:
    db = LabDatabase(tmp_path)
    db.open()
    try:
        a, b = slot_store(db, 0), slot_store(db, 1)
        a.save_self_id(b"a" * 20)
        b.save_self_id(b"b" * 20)
        a.store_value(KEY, b"of a", 100.0, "10.0.0.1")
        a.store_value(OTHER, b"old", 50.0)
        b.store_value(KEY, b"of b", 200.0)
        assert a.values(KEY) == [b"of a"] and b.values(KEY) == [b"of b"]
        assert not b.has_value(KEY, b"of a") and a.has_value(KEY, b"of a")
        assert b.values(OTHER) == [] and b.count_values(OTHER) == 0
        assert a.totals() == (2, 2) and b.totals() == (1, 1)
        assert a.count_from("10.0.0.1") == 1 and b.count_from("10.0.0.1") == 0
        assert [v.value for v in b.all_values()] == [b"of b"]
        assert b.expire(1000.0) == [(KEY, b"of b")]  # b's values only
        assert sorted(a.values(KEY) + a.values(OTHER)) == [b"of a", b"old"]
        # Refreshing a value another node holds too is a new value for this node.
        assert a.store_value(KEY, b"of b", 300.0).refreshed is False
        assert b.values(KEY) == []
        a.close()
        b.close()
        a2 = slot_store(db, 0)  # the counts come back, per node
        assert a2.self_id() == b"a" * 20 and a2.totals() == (2, 3) and a2.count_from("10.0.0.1") == 1
        assert slot_store(db, 1).self_id() == b"b" * 20
        assert slot_store(db, 2).self_id() is None and slot_store(db, 2).totals() == (0, 0)
    finally:
        db.close()


def test_store_limits_and_eviction_count_one_node_s_values_only(tmp_path: Path) -> None:
    db = LabDatabase(tmp_path)
    db.open()
    try:
        limits = StoreLimits(max_values=3)
        a, b = slot_store(db, 0, limits), slot_store(db, 1, limits)
        for i in range(3):
            b.store_value(KEY, b"b%d" % i, float(i), "10.0.0.9")
        for i in range(3):  # b's full store is not a's
            assert a.store_value(OTHER, b"a%d" % i, float(i), "10.0.0.%d" % (i + 1)).evicted == ()
        # a is full: the heaviest holder of a's values (all hold one) is not two ahead: refused.
        with pytest.raises(Exception, match="store is full"):
            a.store_value(KEY, b"new", 10.0, "10.0.0.7")
        # b's heaviest holder (10.0.0.9, three) gives up its oldest, in b only.
        outcome = b.store_value(OTHER, b"newcomer", 10.0, "10.0.0.7")
        assert outcome.evicted == ((KEY, b"b0"),)
        assert sorted(a.values(OTHER)) == [b"a0", b"a1", b"a2"]
    finally:
        db.close()


def test_one_node_s_abort_does_not_lose_the_others_jobs(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = LabDatabase(tmp_path)
        db.open()
        try:
            a, b = slot_store(db, 0), slot_store(db, 1)
            hold, holding = threading.Event(), threading.Event()

            def busy() -> None:  # keeps the one storage thread busy while jobs queue behind it
                holding.set()
                hold.wait(10)

            blocker = asyncio.ensure_future(db.worker.run(busy))
            await asyncio.get_running_loop().run_in_executor(None, holding.wait, 10)
            of_a = asyncio.ensure_future(a.store_value_async(KEY, b"of a", 1.0))
            of_b = asyncio.ensure_future(b.store_value_async(KEY, b"of b", 1.0))
            await asyncio.sleep(0)  # both queued behind the busy job
            assert db.worker.pending == 3
            a.close(cancel_queued=True)  # a's node aborts: its queued job never runs
            hold.set()
            await blocker
            assert (await of_b).refreshed is False
            with pytest.raises(asyncio.CancelledError):
                await of_a
            assert b.values(KEY) == [b"of b"]
            again = slot_store(db, 0)
            assert again.values(KEY) == [] and again.totals() == (0, 0)
        finally:
            db.close()

    run(scenario())


def test_a_slot_runs_one_node_at_a_time_and_needs_the_lab_s_database(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = LabDatabase(tmp_path)
        first = Node(FAST, host=HOST, data_dir=tmp_path, db_name=LAB_DB_NAME, storage=db.slot(0))
        with pytest.raises(StorageError, match="not open"):
            await first.start()
        db.open()
        try:
            await first.start()
            twin = Node(FAST, host=HOST, data_dir=tmp_path, db_name=LAB_DB_NAME, storage=db.slot(0))
            with pytest.raises(StorageError, match="running already"):
                await twin.start()
            other = Node(FAST, host=HOST, data_dir=tmp_path, db_name=LAB_DB_NAME, storage=db.slot(1))
            await other.start()
            assert first.running and other.running and first.id != other.id
            await first.stop()
            await twin.start()  # the slot is free again: the same node comes back
            assert twin.id == first.id
            await twin.stop()
            await other.stop()
        finally:
            db.close()

    run(scenario())


def test_a_directory_of_the_older_layout_is_kept_and_the_lab_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "node-000"
    old.mkdir()
    (old / "khashmir.db").write_bytes(b"an older lab's node database")
    (tmp_path / "node-001").mkdir()

    async def scenario() -> None:
        lab = Lab(2, FAST, data_dir=tmp_path)
        with caplog.at_level(logging.WARNING):
            await lab.start()
        try:
            warning = lab.database.warning
            assert warning is not None and "\n" not in warning
            assert "2 node directories of an older layout" in warning and "left as they are" in warning
            assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [warning]
        finally:
            await lab.stop()
        caplog.clear()
        again = Lab(2, FAST, data_dir=tmp_path)  # said once: the lab's file is there now
        with caplog.at_level(logging.WARNING):
            await again.start()
        await again.stop()
        assert again.database.warning is None and not caplog.records

    run(scenario())
    assert (old / "khashmir.db").read_bytes() == b"an older lab's node database"
    assert (tmp_path / "node-001").is_dir()


def test_while_a_lab_starts_its_nodes_their_ids_and_contacts_are_read_and_written_at_once(
    tmp_path: Path,
) -> None:
    from dht import Contact

    saved = [Contact(bytes([i]) * 20, f"127.0.0.{i + 2}", 6000 + i) for i in range(3)]
    db = LabDatabase(tmp_path)
    db.open()
    try:
        store = slot_store(db, 2)
        store.save_self_id(b"\x02" * 20)
        store.save_contacts(saved)
        store.close()
        db.conn.execute("INSERT INTO contacts (slot, id, host, port) VALUES (2, ?, 'not an ip', 1)", (b"\x09" * 20,))
        with db.starting():
            two, five = slot_store(db, 2), slot_store(db, 5)
            assert two.self_id() == b"\x02" * 20 and five.self_id() is None
            assert set(two.contacts()) == set(saved)  # the bad row skipped, as a store does
            assert five.contacts() == []
            five.save_self_id(b"\x05" * 20)
            two.save_self_id(b"\x22" * 20)
            # Not written yet: the lab's nodes are still starting (one transaction at the end).
            assert db.conn.execute("SELECT id FROM nodes WHERE slot = 5").fetchone() is None
        assert dict(db.conn.execute("SELECT slot, id FROM nodes")) == {2: b"\x22" * 20, 5: b"\x05" * 20}
        # Once started, a store reads and writes its own rows again.
        assert five.self_id() == b"\x05" * 20
        five.save_self_id(b"\x55" * 20)
        assert slot_store(db, 5).self_id() == b"\x55" * 20
        for s in (two, five):
            s.close()
    finally:
        db.close()
