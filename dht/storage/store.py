"""A node's store in SQLite: its own id, its routing table's contacts and the values it holds.

:meth:`Store.store_value` commits before it returns, so a store acknowledged
on the wire survives a killed process (WAL journal).  What the rows hold and
the counts of values kept in memory are :mod:`.rows`'s (the jobs the
storage thread runs); which value gives up its room when the store is full
is :mod:`.fairness`'s; the file, its schema and migration are
:mod:`.database`'s.  This module is the store's face and its connection.

Faults: a write the disk refuses (full, read-only, I/O error) is rolled back
and raises :class:`StorageFault` naming the cause ("disk full", "permission
denied: DIR is not writable"); nothing stored before is touched, and the
counts stay those of the database.  Faults are logged at most once a minute
(with how many more there were), and reported to :attr:`Store.on_fault` as
often.

Threads: every database access is a job of the store's
:class:`~.worker.StorageWorker`, run on its one storage thread, which owns
the connection.  The synchronous methods wait for their job (the CLI, tests,
the checkpoint); the ``*_async`` ones (:meth:`Store.store_value_async`,
:meth:`Store.values_async`, :meth:`Store.expire_async`,
:meth:`Store.all_values_async`) let the event loop answer meanwhile: that is
how the Khashmir handlers store and read (:mod:`dht.khashmir.dispatch`).
The in-memory counts are written by the jobs (before the job's result is
delivered) and read on any thread.

The connection is opened at start-up and may be closed while the node is
idle (:meth:`Store.release`, so that hundreds of lab nodes in one process do
not each keep SQLite's caches); it is reopened on the next access.

A lab node's store is a view of its rows in the lab's shared file
(:class:`~.lab_database.LabDatabase`, ``shared`` and ``slot``): the same
methods, the SQL of :data:`~.layout.LAB_LAYOUT`, the lab's connection and
storage thread, its jobs in a :class:`~.worker.JobGroup` of its own.  It is
never released (the lab's one connection stays open), and closing it closes
only the view: its jobs are done first, or (its node aborted) its jobs
queued are skipped, the other nodes' run.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, TypeVar

from ..core.contact import Contact
from ..core.errors import StorageFault
from . import database
from .database import directory_of, open_or_move_aside, reopen_database
from .fairness import StoreLimits
from .layout import LAB_LAYOUT, NODE_LAYOUT
from .rows import NodeRows, StoredValueInfo, StoreOutcome
from .worker import JobGroup, StorageWorker

__all__ = ["FAULT_LOG_INTERVAL", "SharedFile", "Store"]

T = TypeVar("T")


class SharedFile(Protocol):
    """A database several nodes' stores share (:class:`~.lab_database.LabDatabase`)."""

    worker: StorageWorker

    @property
    def conn(self) -> sqlite3.Connection: ...

log = logging.getLogger(__name__)

#: Seconds between two log lines about storage faults.
FAULT_LOG_INTERVAL = 60.0


def _nothing() -> None:
    pass


class Store:
    """A node's SQLite database (``path`` may be ``":memory:"``), or its rows in its lab's."""

    def __init__(
        self, path: str | Path, limits: StoreLimits | None = None, threaded: bool = True,
        *, shared: SharedFile | None = None, slot: int = 0,
    ) -> None:
        """Open (or create) the database; ``threaded`` False: run SQLite on the caller's
        thread (the baseline before the storage thread, for benchmarks).  ``shared``: the
        node's rows are those of ``slot`` in that lab's database (``path`` its file, and
        ``threaded`` its say)."""
        self.path = str(path)
        self.directory = directory_of(self.path)
        self.limits = limits or StoreLimits()
        self._conn: sqlite3.Connection | None = None
        self.warning: str | None = None
        self._closed = False
        #: time.monotonic() of the last database access
        self.last_used = time.monotonic()
        #: called when a released connection is opened again
        self.on_open: Callable[[], None] | None = None
        #: called with a one-line text when a fault is logged (at most once a FAULT_LOG_INTERVAL)
        self.on_fault: Callable[[str], None] | None = None
        self.faults = 0
        #: the clock of the fault log's once-a-minute limit
        self.clock: Callable[[], float] = time.monotonic
        #: False while the caller reports faults itself (a node stopping says it in one line)
        self.log_faults = True
        self._fault_logged = -FAULT_LOG_INTERVAL
        self._faults_unlogged = 0
        self._shared = shared
        self.slot = slot
        self._rows = NodeRows(self, NODE_LAYOUT if shared is None else LAB_LAYOUT, slot, self.limits)
        self._group = JobGroup() if shared is not None else None
        self.worker = (
            StorageWorker(f"storage:{Path(self.path).parent.name}", threaded) if shared is None else shared.worker
        )
        self._call(self._open)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return self.worker.call(fn, *args, group=self._group)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.worker.run(fn, *args, group=self._group)

    def _open(self) -> None:
        if self._shared is None:
            conn, self.warning = open_or_move_aside(self.path)
        else:
            conn = self._shared.conn
        self._conn = conn
        self._rows.count(conn)
        if self._shared is None:
            # The integrity check leaves SQLite's memory grown; give it back.
            conn.execute("PRAGMA shrink_memory")

    # --- the connection ------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, opened again if it was released."""
        self.last_used = time.monotonic()
        conn = self._conn
        if conn is None:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            try:
                conn = reopen_database(self.path)
            except sqlite3.Error as exc:
                raise self._fault(exc, "open the database") from None
            self._conn = conn
            if self.on_open is not None:
                self.worker.notify(self.on_open)
        return conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def busy(self) -> bool:
        """Whether storage jobs are queued or running."""
        return self.worker.pending > 0

    def release(self) -> None:
        """Close the connection until the next access (a no-op for ":memory:" and in a lab's
        shared file), and let the storage thread end; not while jobs are pending (the idle
        timer tries again)."""
        if self.busy or self._conn is None or self.path == ":memory:" or self._shared is not None:
            return
        self._call(self._release)
        self.worker.stop_thread()

    def _release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error as exc:  # a final checkpoint the disk refused
                self._fault(exc, "close the database")
            self._conn = None

    def close(self, cancel_queued: bool = False) -> None:
        """Close the database and end the storage thread.  The jobs queued are done first,
        unless ``cancel_queued`` (a node aborted): then only the running one finishes."""
        if self._closed:
            return
        if self._shared is not None:
            self._close_view(cancel_queued)
            return
        if cancel_queued:
            self.worker.join(cancel_queued=True)
            self._closed = True
            self._close()  # no storage thread any more: this thread owns the connection
            self.worker.drain_notices()
            return
        try:
            self._call(self._close)
        finally:
            self._closed = True
            self.worker.join()

    def _close_view(self, cancel_queued: bool) -> None:
        """Close a lab node's view of the shared file (the file and thread are the lab's)."""
        assert self._group is not None
        if cancel_queued:
            self._group.cancelled = True  # its queued jobs are skipped; the other nodes' run
        else:
            try:
                self._call(_nothing)  # what it gave before is done
            except Exception:
                pass  # the shared connection is gone (the lab closed it): nothing left to do
        self._closed = True
        self._conn = None
        self.worker.drain_notices()

    def _close(self) -> None:
        self._closed = True
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                self._fault(exc, "close the database")
            self._conn = None

    # --- faults ------------------------------------------------------

    def cause(self, exc: sqlite3.Error) -> str:
        """Why SQLite failed, named for a person: disk full, read-only, permission denied, I/O."""
        return database.cause(exc, self.path)

    def _fault(self, exc: sqlite3.Error, doing: str) -> StorageFault:
        """Count and (at most once a FAULT_LOG_INTERVAL) log a fault; the error to raise."""
        why = self.cause(exc)
        text = f"cannot {doing}: {why}"
        self.faults += 1
        now = self.clock()
        if not self.log_faults:
            pass
        elif now - self._fault_logged >= FAULT_LOG_INTERVAL:
            more = f" ({self._faults_unlogged} more storage faults since the last report)" if self._faults_unlogged else ""
            log.warning("%s%s", text, more)
            self._fault_logged = now
            self._faults_unlogged = 0
            if self.on_fault is not None:
                self.worker.notify(self.on_fault, text)
        else:
            self._faults_unlogged += 1
        fault = StorageFault(text)
        fault.why = why
        return fault

    @contextlib.contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed, or rolled back and raised as a StorageFault."""
        try:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._fault(exc, doing) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite has rolled back already
            if isinstance(exc, sqlite3.Error):
                raise self._fault(exc, doing) from None
            raise

    # --- the API: each call a job on the storage thread -----------------

    async def settled(self) -> None:
        """Wait, the loop free, until the jobs given before are done (or skipped, cancelled)."""
        if self.worker.pending:
            await self._run(_nothing)

    def checkpoint(
        self, node_id: bytes, contacts: list[Contact], expire_before: float | None
    ) -> tuple[StorageFault | None, list[tuple[bytes, bytes]]]:
        """Save id and contacts, then expire values stored before ``expire_before`` (None:
        none), as one job; returns the first fault (the rest is done anyway) and what expired."""
        return self._call(self._rows.checkpoint, node_id, contacts, expire_before)

    async def checkpoint_async(
        self, node_id: bytes, contacts: list[Contact], expire_before: float | None
    ) -> tuple[StorageFault | None, list[tuple[bytes, bytes]]]:
        """:meth:`checkpoint`, the loop free meanwhile."""
        return await self._run(self._rows.checkpoint, node_id, contacts, expire_before)

    def self_id(self) -> bytes | None:
        return self._call(self._rows.self_id)

    def save_self_id(self, node_id: bytes) -> None:
        self._call(self._rows.save_self_id, node_id)

    def save_contacts(self, contacts: list[Contact]) -> None:
        self._call(self._rows.save_contacts, contacts)

    def contacts(self) -> list[Contact]:
        """The saved contacts (rows that are not a 20-byte id and IPv4 address are skipped)."""
        return self._call(self._rows.contacts)

    def store_value(self, key: bytes, value: bytes, now: float, publisher: str = "") -> StoreOutcome:
        """Store (or refresh) a value from ``publisher`` and commit.

        Raises :class:`StoreRefused` (the limits) or :class:`StorageFault`
        (the disk); either way nothing stored before is changed.
        """
        return self._call(self._rows.store_value, key, value, now, publisher)

    async def store_value_async(self, key: bytes, value: bytes, now: float, publisher: str = "") -> StoreOutcome:
        """:meth:`store_value`, the loop free meanwhile."""
        return await self._run(self._rows.store_value, key, value, now, publisher)

    def has_value(self, key: bytes, value: bytes) -> bool:
        return self._call(self._rows.has_value, key, value)

    def values(self, key: bytes) -> list[bytes]:
        return self._call(self._rows.values, key)

    async def values_async(self, key: bytes) -> list[bytes]:
        return await self._run(self._rows.values, key)

    def expire(self, before: float) -> list[tuple[bytes, bytes]]:
        """Delete values last stored before ``before``; returns them."""
        return self._call(self._rows.expire, before)

    async def expire_async(self, before: float) -> list[tuple[bytes, bytes]]:
        return await self._run(self._rows.expire, before)

    def all_values(self) -> list[StoredValueInfo]:
        return self._call(self._rows.all_values)

    async def all_values_async(self) -> list[StoredValueInfo]:
        return await self._run(self._rows.all_values)

    # --- the counts, in memory (on any thread) -------------------------

    @property
    def value_count(self) -> int:
        """Values stored."""
        return self._rows.value_count

    def count_values(self, key: bytes) -> int:
        return self._rows.count_values(key)

    def count_from(self, publisher: str) -> int:
        """Values held from ``publisher`` (an IP address; "" this node)."""
        return self._rows.count_from(publisher)

    def totals(self) -> tuple[int, int]:
        """(distinct keys, values) stored."""
        return self._rows.totals()
