"""Storage faults from the outside: a disk that fills up, a directory made read-only, no permission.

A small tmpfs is mounted for each test (``mount -t tmpfs -o size=...``), so
the disk really fills and really turns read-only (a remount); where mounting
is not allowed (not root, no mount namespace) these tests are skipped with
the reason.  Root ignores file permissions, so "permission denied" is shown
by running the CLI in a new user namespace, without that power.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from dhtutil import FAST, HOST, query, raw_client, run, running_node
from ..cli.test_cli import NODE_LINE, Running, assert_usage_error, dht

from tests.fsfaults import fill, mount, mounted, remount, tmpfs

from dht.node import core_of
from dht import Node
from dht.errors import StorageError
from dht.events import Event, NodeWarning
from dht.storage import Store

KEY = b"K" * 20


async def token_and_store(client: Any, node: Node, values: list[bytes], key: bytes = KEY) -> list[dict[bytes, Any]]:
    reply = await client.ask_decoded(query("find_node", {b"id": b"C" * 20, b"target": key}), node.address)
    token = reply[b"r"][b"token"]
    replies = []
    for i, value in enumerate(values):
        args = {b"id": b"C" * 20, b"key": key, b"value": value, b"token": token}
        replies.append(await client.ask_decoded(query("store_value", args, b"s%d" % i), node.address))
    return replies


def storage_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("dht")]


def test_a_full_disk_answers_201_logs_once_and_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with tmpfs("2m") as disk:
        data_dir = disk / "node"

        async def scenario() -> None:
            async with running_node(data_dir) as node, raw_client() as client:
                events: list[Event] = []
                node.subscribe(events.append)
                before = [b"acknowledged %d" % i for i in range(5)]
                assert all(r[b"y"] == b"r" for r in await token_and_store(client, node, before))
                filler = fill(disk)
                caplog.clear()
                with caplog.at_level(logging.INFO):
                    replies = await token_and_store(client, node, [b"x%03d" % i + b"!" * 900 for i in range(60)])
                refused = [r for r in replies if r[b"y"] == b"e"]
                # Pages free in the database may take a few; then every store is refused, with the cause.
                assert len(refused) >= 50, [r[b"y"] for r in replies]
                for r in refused:
                    code, text = r[b"e"]
                    assert code == 201 and b"disk full" in text, r
                # Once a minute at most in the log, no traceback; one warning in the window.
                records = storage_records(caplog)
                assert len(records) == 1 and records[0].exc_info is None, [r.getMessage() for r in records]
                assert "disk full" in records[0].getMessage()
                warnings = [e for e in events if isinstance(e, NodeWarning)]
                assert len(warnings) == 1 and "disk full" in warnings[0].text
                assert any("disk full" in w for w in node.warnings)
                # Everything acknowledged is there, and the counts are the database's.
                accepted = {v for v, r in zip([b"x%03d" % i + b"!" * 900 for i in range(60)], replies)
                            if r[b"y"] == b"r"}
                assert set(core_of(node).store.values(KEY)) == set(before) | accepted
                assert core_of(node).store.value_count == len(before) + len(accepted)
                # Room again: stores work again.
                filler.unlink()
                assert (await token_and_store(client, node, [b"after the disk was freed"]))[0][b"y"] == b"r"

        run(scenario())
        store = Store(data_dir / "khashmir.db")
        try:
            assert {b"acknowledged %d" % i for i in range(5)} <= set(store.values(KEY))
            assert b"after the disk was freed" in store.values(KEY)
        finally:
            store.close()


def test_a_database_that_cannot_be_read_answers_201_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A read fault (here the file damaged under the running node) in any handler."""

    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            assert (await token_and_store(client, node, [b"kept"]))[0][b"y"] == b"r"
            core_of(node).store.release()  # reopened on the next access, as after idling
            for suffix in ("", "-wal", "-shm"):
                Path(str(core_of(node).db_path) + suffix).unlink(missing_ok=True)
            core_of(node).db_path.write_bytes(b"this is not a database" * 100)
            caplog.clear()
            with caplog.at_level(logging.INFO):
                reply = await client.ask_decoded(
                    query("get_value", {b"id": b"C" * 20, b"key": KEY, b"num": 0}), node.address)
            assert reply[b"y"] == b"e", reply
            code, text = reply[b"e"]
            # The cause is named, as for a full disk; logged by the store, without a traceback.
            assert code == 201 and text.startswith(b"server error: cannot ") and b"not a database" in text, reply
            assert all(r.exc_info is None for r in caplog.records), [r.getMessage() for r in caplog.records]
            assert any("not a database" in r.getMessage() for r in storage_records(caplog))

    run(scenario())


def test_sigterm_on_a_full_disk_exits_0_with_one_line() -> None:
    with tmpfs("2m") as disk:
        node = Running("node", "--host", HOST, "--data-dir", str(disk / "node"))
        try:
            match = NODE_LINE.fullmatch(node.first_line())
            assert match
            stored = dht("store", "--bootstrap", f"{HOST}:{match.group(2)}", "kept", "acknowledged")
            assert stored.returncode == 0, stored.stderr
            fill(disk)
            status, err = node.stop()
        finally:
            node.kill()
        assert status == 0, err
        lines = err.splitlines()
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("dht: WARNING on stop, could not save the node's id and routing table")
        assert "disk full" in lines[0] and "values stored before are kept" in lines[0]
        (disk / "filler").unlink()
        store = Store(disk / "node" / "khashmir.db")
        try:
            assert [v.value for v in store.all_values()] == [b"acknowledged"]
        finally:
            store.close()


@contextlib.contextmanager
def bindmount(source: Path) -> Iterator[Path]:
    """``source`` mounted again elsewhere, so that this mount alone can be made read-only."""
    with mounted("--bind", str(source)) as where:
        yield where


def test_a_database_whose_directory_turns_read_only_refuses_writes_and_keeps_serving_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A read-only remount while the database is closed (an idle node closes it).

    (While a node runs, its lock file is open for writing, so the kernel
    refuses to make its file system read-only: the store is tested alone.)
    """
    with tmpfs("4m") as disk, bindmount(disk) as view:
        store = Store(view / "khashmir.db")
        try:
            store.store_value(KEY, b"before", time.time(), "10.0.0.1")
            store.release()
            result = mount("-o", "remount,bind,ro", str(view))
            assert result.returncode == 0, result.stderr
            said: list[str] = []
            store.on_fault = said.append
            caplog.clear()
            with caplog.at_level(logging.INFO):
                for i in range(20):
                    with pytest.raises(StorageError) as info:
                        store.store_value(KEY, b"after %d" % i, time.time(), "10.0.0.1")
                    assert str(info.value) == f"cannot store a value: read-only file system: {view} is not writable"
            assert len(storage_records(caplog)) == 1 and said == [str(info.value)]
            assert store.values(KEY) == [b"before"] and store.value_count == 1
        finally:
            store.close()
            mount("-o", "remount,bind,rw", str(view))


def test_a_read_only_data_directory_is_named_as_such(tmp_path: Path) -> None:
    with tmpfs("1m") as disk:
        (disk / "node").mkdir()
        remount(disk, "ro")
        try:
            line = assert_usage_error(dht("node", "--host", HOST, "--data-dir", str(disk / "node")))
            assert line == f"dht: read-only file system: {disk / 'node'} is not writable"

            async def scenario() -> None:
                node = Node(FAST, host=HOST, data_dir=disk / "node")
                with pytest.raises(StorageError) as info:
                    await node.start()
                assert str(info.value) == f"read-only file system: {disk / 'node'} is not writable"
                assert not node.running

            run(scenario())
        finally:
            remount(disk, "rw")


def test_permission_denied_is_named_as_such(tmp_path: Path) -> None:
    """Run without the power to override permissions: in a new user namespace
    (``unshare --user``) the process keeps its files but loses CAP_DAC_OVERRIDE."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a user namespace here: {probe.stderr.strip()}")
    held = tmp_path / "held"
    held.mkdir()
    (held / "node").mkdir()
    (held / "node").chmod(0o555)
    held.chmod(0o555)
    try:
        for target, says in (
            (held / "node", f"dht: permission denied: {held / 'node'} is not writable"),
            (held / "new", f"dht: permission denied: cannot create data directory {held / 'new'}"),
        ):
            result = subprocess.run(
                ["unshare", "--user", sys.executable, "-m", "dht", "node", "--host", HOST, "--data-dir", str(target)],
                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            )
            assert assert_usage_error(result) == says
        assert list((held / "node").iterdir()) == []
    finally:
        (held / "node").chmod(0o755)
        held.chmod(0o755)


def test_faults_are_reported_again_a_minute_later() -> None:
    """The log limit is per minute, not for good: a later fault is logged again."""
    with tmpfs("2m") as disk:
        store = Store(disk / "khashmir.db")
        try:
            filler = fill(disk)
            said: list[str] = []
            store.on_fault = said.append
            for i in range(30):
                with pytest.raises(StorageError):
                    store.store_value(KEY, os.urandom(1000), time.time(), "10.0.0.1")
            assert len(said) == 1 and store.faults == 30
            now = time.monotonic()
            store.clock = lambda: now + 61.0  # a minute later
            with pytest.raises(StorageError):
                store.store_value(KEY, os.urandom(1000), time.time(), "10.0.0.1")
            assert len(said) == 2
            filler.unlink()
            store.store_value(KEY, b"fine", time.time(), "10.0.0.1")
            assert store.values(KEY) == [b"fine"]
        finally:
            store.close()


def test_a_node_started_on_a_full_disk_says_so_and_moves_nothing_aside() -> None:
    with tmpfs("2m") as disk:
        data_dir = disk / "node"

        async def scenario() -> None:
            async with running_node(data_dir) as node:
                await node.store_value(KEY, b"kept")
            fill(disk)
            node = Node(FAST, host=HOST, data_dir=data_dir)
            with pytest.raises(StorageError) as info:
                await node.start()  # SQLite needs room for its WAL and shared memory
            assert str(info.value) == f"cannot open database {data_dir / 'khashmir.db'}: disk full ({data_dir})"
            assert not node.running

        run(scenario())
        assert not [p for p in (disk / "node").iterdir() if ".corrupt-" in p.name]
        (disk / "filler").unlink()
        store = Store(data_dir / "khashmir.db")
        try:
            assert store.values(KEY) == [b"kept"]
        finally:
            store.close()
