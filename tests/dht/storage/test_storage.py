"""Persistence: the SQLite store, restarts, corrupt files and expiry."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest
from dhtutil import FAST, HOST, run, running_node, wait_until

from dht.node import core_of
from dht import Config, Contact, Node
from dht.errors import LocalError, StorageError
from dht.events import Event, ValueExpired
from dht.storage import Store

KEY = hashlib.sha1(b"stored key").digest()


# --- the store itself ------------------------------------------------------------

def test_store_values_refresh_count_and_expire(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    assert store.values(KEY) == [] and store.totals() == (0, 0)
    assert store.store_value(KEY, b"a", 100.0).refreshed is False
    assert store.store_value(KEY, b"b", 200.0).refreshed is False
    assert store.store_value(b"k" * 20, b"a", 300.0).refreshed is False
    assert store.store_value(KEY, b"a", 400.0).refreshed is True  # a refresh, not a new value
    assert sorted(store.values(KEY)) == [b"a", b"b"]
    assert store.count_values(KEY) == 2 and store.value_count == 3
    assert store.totals() == (2, 3)
    assert store.has_value(KEY, b"b") and not store.has_value(KEY, b"c")
    # b (200) and the other key's a (300) are older than 350; KEY's a was refreshed at 400.
    assert sorted(store.expire(350.0)) == sorted([(KEY, b"b"), (b"k" * 20, b"a")])
    assert store.values(KEY) == [b"a"] and store.value_count == 1
    assert store.expire(350.0) == []
    infos = store.all_values()
    assert [(i.key, i.value, i.stored_at) for i in infos] == [(KEY, b"a", 400.0)]
    store.close()


def test_store_keeps_id_contacts_and_values_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path)
    contacts = [Contact(bytes([i]) * 20, "127.0.0.1", 4000 + i) for i in range(5)]
    store.save_self_id(b"S" * 20)
    store.save_contacts(contacts)
    store.store_value(KEY, b"v", 5.0)
    store.close()
    again = Store(path)
    assert again.self_id() == b"S" * 20
    assert sorted(again.contacts(), key=lambda c: c.id) == contacts
    assert again.values(KEY) == [b"v"] and again.value_count == 1
    again.save_contacts(contacts[:2])  # replaces the saved table
    assert sorted(again.contacts(), key=lambda c: c.id) == contacts[:2]
    again.close()


def test_unusable_data_dir_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(StorageError):
        Store(blocker / "sub" / "db.sqlite")

    async def scenario() -> None:
        node = Node(FAST, host=HOST, data_dir=blocker / "sub")
        with pytest.raises(StorageError):
            await node.start()
        assert not node.running
        assert issubclass(StorageError, LocalError)

    run(scenario())


# --- a node's database ------------------------------------------------------------

def test_acknowledged_store_is_in_the_database_file(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path / "a") as a, running_node(tmp_path / "b") as b:
            await a.join(*b.address)
            result = await a.store_value(KEY, b"durable")
            assert {c.id for c in result.accepted} == {a.id, b.id}
            # Right after the acknowledgement, another connection sees the row.
            for node in (a, b):
                conn = sqlite3.connect(core_of(node).db_path)
                try:
                    rows = conn.execute("SELECT key, value FROM stored").fetchall()
                finally:
                    conn.close()
                assert [(bytes(k), bytes(v)) for k, v in rows] == [(KEY, b"durable")]

    run(scenario())


def test_restarted_node_keeps_its_id_and_rejoins_through_saved_contacts(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0)

    async def scenario() -> None:
        async with running_node(tmp_path / "b", config) as b:
            a = Node(config, host=HOST, data_dir=tmp_path / "a")
            await a.start()
            first_id = a.id
            await a.join(*b.address)
            assert core_of(a).table.get(b.id) is not None
            await a.stop()
            # While a is down, b stores a value that only b holds.
            key = hashlib.sha1(b"while a was down").digest()
            result = await b.store_value(key, b"hello again")
            assert [c.id for c in result.accepted] == [b.id]

            again = Node(config, host=HOST, data_dir=tmp_path / "a")
            await again.start()  # no bootstrap
            try:
                assert again.id == first_id
                assert again.address[1] != 0
                assert [c.id for c in core_of(again).table.contacts()] == [b.id]
                assert await again.get_value(key) == [b"hello again"]
                # It spoke to its old contact, which now knows its new address.
                def b_knows_new_address() -> bool:
                    entry = core_of(b).table.get(first_id)
                    return entry is not None and entry.contact.address == again.address

                await wait_until(b_knows_new_address, what="b learns a's new address")
                entry = core_of(b).table.get(first_id)
                assert entry is not None and entry.contact.address == again.address
            finally:
                await again.stop()

    run(scenario())


def test_corrupt_database_is_moved_aside_with_one_warning(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    data_dir.mkdir()
    garbage = b"this is not an SQLite database\x00" + os.urandom(4096)
    (data_dir / "khashmir.db").write_bytes(garbage)

    async def scenario() -> None:
        async with running_node(data_dir) as node:
            assert len(node.warnings) == 1
            warning = node.warnings[0]
            assert "\n" not in warning and "moved aside" in warning
            aside = [p for p in data_dir.iterdir() if ".corrupt-" in p.name]
            assert len(aside) == 1 and aside[0].name.startswith("khashmir.db.corrupt-")
            assert aside[0].read_bytes() == garbage
            assert str(aside[0]) in warning
            # A fresh database works.
            result = await node.store_value(KEY, b"fresh")
            assert result.accepted and core_of(node).store.values(KEY) == [b"fresh"]

    run(scenario())
    assert Store(data_dir / "khashmir.db").values(KEY) == [b"fresh"]


def test_healthy_database_gives_no_warning(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node:
            first = node.id
        async with running_node(tmp_path) as node:
            assert node.warnings == [] and node.id == first
        assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]

    run(scenario())


# --- expiry -----------------------------------------------------------------------

def test_values_expire_after_key_expire_with_an_event(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node:
            events: list[Event] = []
            node.subscribe(events.append)
            expire = node.config.KEY_EXPIRE
            now = time.time()
            core_of(node).store.store_value(KEY, b"old", now - expire - 5)
            core_of(node).store.store_value(KEY, b"young", now - expire + 600)
            core_of(node).store.store_value(b"o" * 20, b"older", now - 2 * expire)
            assert core_of(node).maintenance.expire_values() == 2
            assert core_of(node).store.values(KEY) == [b"young"]
            assert core_of(node).store.values(b"o" * 20) == []
            expired = [(e.key, e.value) for e in events if isinstance(e, ValueExpired)]
            assert sorted(expired) == sorted([(KEY, b"old"), (b"o" * 20, b"older")])
            assert node.stats().values == 1
            assert core_of(node).maintenance.expire_values() == 0

    run(scenario())


def test_a_store_refresh_keeps_a_value_alive(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0, KEY_EXPIRE=0.2)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node:
            await node.store_value(KEY, b"kept")
            await node.store_value(KEY, b"dropped")
            stored = {v.value: v.stored_at for v in await node.stored_values()}
            # Wait (bounded) until "dropped" is older than KEY_EXPIRE, then refresh "kept".
            await wait_until(lambda: time.time() - stored[b"dropped"] > 0.25, what="age")
            await node.store_value(KEY, b"kept")
            assert core_of(node).maintenance.expire_values() == 1
            assert core_of(node).store.values(KEY) == [b"kept"]

    run(scenario())


def test_checkpoint_saves_contacts_and_rotates_tokens(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path / "a") as a, running_node(tmp_path / "b") as b:
            await a.join(*b.address)
            secrets = list(core_of(a).protocol.tokens.secrets)
            core_of(a).maintenance.checkpoint(maintenance=False)
            assert core_of(a).protocol.tokens.secrets[1:] == secrets[: len(core_of(a).protocol.tokens.secrets) - 1]
            conn = sqlite3.connect(core_of(a).db_path)
            try:
                rows = conn.execute("SELECT id, host, port FROM contacts").fetchall()
                self_rows = conn.execute("SELECT id FROM self").fetchall()
            finally:
                conn.close()
            assert [(bytes(i), h, p) for i, h, p in rows] == [(b.id, b.address[0], b.address[1])]
            assert [bytes(r[0]) for r in self_rows] == [a.id]

    run(scenario())


def test_the_checkpoint_loop_expires_values_and_saves_contacts(tmp_path: Path) -> None:
    """With a short CHECKPOINT_INTERVAL the node's own maintenance does the work."""
    config = Config(KRPC_TIMEOUT=1.0, CHECKPOINT_INTERVAL=0.05, KEY_EXPIRE=0.2)

    async def scenario() -> None:
        async with running_node(tmp_path / "a", config) as a, running_node(tmp_path / "b", config) as b:
            events: list[Event] = []
            a.subscribe(events.append)
            await a.join(*b.address)
            core_of(a).store.store_value(KEY, b"short-lived", time.time())
            secrets = list(core_of(a).protocol.tokens.secrets)
            await wait_until(lambda: any(isinstance(e, ValueExpired) for e in events), what="expiry")
            assert core_of(a).store.values(KEY) == []
            assert core_of(a).protocol.tokens.secrets[0] not in secrets  # rotated by the checkpoints
            conn = sqlite3.connect(core_of(a).db_path)
            try:
                rows = conn.execute("SELECT id FROM contacts").fetchall()
            finally:
                conn.close()
            assert [bytes(r[0]) for r in rows] == [b.id]

    run(scenario())


# --- one node per data directory --------------------------------------------------

def test_a_second_node_on_a_held_data_directory_is_refused_and_the_first_keeps_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as first:
            second = Node(FAST, host=HOST, data_dir=tmp_path)
            with pytest.raises(StorageError) as info:
                await second.start()
            assert str(info.value) == f"data directory {tmp_path} is in use by another node (in this process)"
            assert not second.running
            assert (tmp_path / "khashmir.pid").read_text().strip() == str(os.getpid())
            # Another file name in the same directory is the same directory.
            third = Node(FAST, host=HOST, data_dir=tmp_path, db_name="other.db")
            with pytest.raises(StorageError):
                await third.start()
            assert first.running and (await first.store_value(KEY, b"still mine")).accepted
            first_id = first.id
        assert not (tmp_path / "khashmir.pid").exists()
        async with running_node(tmp_path) as again:  # free once the first stopped
            assert again.id == first_id and core_of(again).store.values(KEY) == [b"still mine"]

    run(scenario())


def test_an_aborted_node_frees_its_data_directory(tmp_path: Path) -> None:
    async def scenario() -> None:
        node = Node(FAST, host=HOST, data_dir=tmp_path)
        await node.start()
        core_of(node).abort()
        async with running_node(tmp_path) as again:
            assert again.id == node.id

    run(scenario())


def test_a_lab_locks_its_one_directory(tmp_path: Path) -> None:
    from dht import Lab

    async def scenario() -> None:
        lab = Lab(3, FAST, data_dir=tmp_path / "lab")
        await lab.start()
        try:
            assert {n.data_dir for n in lab.nodes} == {tmp_path / "lab"}
            assert (tmp_path / "lab" / "khashmir.lock").exists()
            other = Lab(1, FAST, data_dir=tmp_path / "lab")  # a second lab on the same directory
            with pytest.raises(StorageError, match="in use by another node"):
                await other.start()
            alone = Node(FAST, host=HOST, data_dir=tmp_path / "lab")  # or a node of its own
            with pytest.raises(StorageError, match="in use by another node"):
                await alone.start()
            assert all(n.running for n in lab.nodes)
        finally:
            await lab.stop()
        again = Lab(1, FAST, data_dir=tmp_path / "lab")  # free once the lab has stopped
        await again.start()
        await again.stop()

    run(scenario())
