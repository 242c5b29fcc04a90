"""Persistent state of a node in SQLite: own id, contacts, values.

One database file per node.  Values are kept per (key, value) with the time
of their last store; :meth:`Store.store_value` commits before it returns, so
a store acknowledged on the wire survives a killed process (WAL journal).

The connection is opened at start-up and may be closed while the node is
idle (:meth:`Store.release`, so that hundreds of lab nodes in one process do
not each keep SQLite's caches); it is reopened on the next access.  The
number of values per key is kept in memory (as the total already was), so
answering find_value never needs the database.

A database that cannot be read as SQLite is moved aside (never deleted) and a
fresh one started; :attr:`Store.warning` says so in one line.  One that
cannot be opened at all raises :class:`StorageError`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .contact import Contact
from .errors import StorageError

#: Page cache of a connection reopened after :meth:`Store.release`.
REOPENED_CACHE_PAGES = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS self (id BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (id BLOB PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kv (
    key BLOB NOT NULL, value BLOB NOT NULL, last_stored REAL NOT NULL,
    PRIMARY KEY (key, value)
);
CREATE INDEX IF NOT EXISTS kv_time ON kv (last_stored);
"""


@dataclass(frozen=True, slots=True)
class StoredValueInfo:
    key: bytes
    value: bytes
    stored_at: float  # wall clock, time.time()


class Store:
    """A node's SQLite database (``path`` may be ``":memory:"``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.warning: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        #: time.monotonic() of the last database access
        self.last_used = time.monotonic()
        #: called when a released connection is opened again
        self.on_open: Callable[[], None] | None = None
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError as exc:
            if self.path == ":memory:" or not os.path.exists(self.path):
                raise StorageError(f"cannot open database {self.path}: {exc}") from None
            aside = f"{self.path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
            try:
                os.replace(self.path, aside)
                for suffix in ("-wal", "-shm"):
                    if os.path.exists(self.path + suffix):
                        os.replace(self.path + suffix, aside + suffix)
            except OSError as move_exc:
                raise StorageError(
                    f"database {self.path} is unreadable ({exc}) and could not be moved aside: {move_exc}"
                ) from None
            self.warning = f"database {self.path} was unreadable ({exc}); moved aside to {aside}"
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc2:
                raise StorageError(f"cannot open database {self.path}: {exc2}") from None
        self._counts: dict[bytes, int] = {
            bytes(k): int(n) for k, n in self._conn.execute("SELECT key, COUNT(*) FROM kv GROUP BY key")
        }
        self.value_count = sum(self._counts.values())
        # The integrity check leaves SQLite's memory grown; give it back.
        self._conn.execute("PRAGMA shrink_memory")

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, opened again if it was released."""
        self.last_used = time.monotonic()
        conn = self._conn
        if conn is None:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA synchronous=NORMAL")
                # A few pages are enough while reopened (the database is
                # small and read rarely: counts are in memory).  Shrinking
                # frees the bulk of pages SQLite allocates up front with the
                # first read; with so small a cache it is not allocated again.
                conn.execute(f"PRAGMA cache_size={REOPENED_CACHE_PAGES}")
                conn.execute("PRAGMA shrink_memory")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open database {self.path}: {exc}") from None
            self._conn = conn
            if self.on_open is not None:
                self.on_open()
        return conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def release(self) -> None:
        """Close the connection until the next access (a no-op for ":memory:")."""
        if self._conn is not None and self.path != ":memory:":
            self._conn.close()
            self._conn = None

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = os.path.dirname(self.path) or "."
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create data directory {parent}: {exc.strerror}") from None
            if os.path.exists(self.path) and not os.access(self.path, os.R_OK | os.W_OK):
                raise StorageError(f"database {self.path} is not readable and writable")
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            raise StorageError(f"cannot open database {self.path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-256")
            conn.executescript(SCHEMA)
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {row}")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc):
                raise StorageError(f"database {self.path} is in use by another node") from None
            raise sqlite3.DatabaseError(str(exc)) from None
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- own id and routing table -------------------------------------

    def self_id(self) -> bytes | None:
        row = self.conn.execute("SELECT id FROM self").fetchone()
        if row and isinstance(row[0], bytes) and len(row[0]) == 20:
            return bytes(row[0])
        return None

    def save_self_id(self, node_id: bytes) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute("DELETE FROM self")
            self.conn.execute("INSERT INTO self (id) VALUES (?)", (node_id,))

    def save_contacts(self, contacts: list[Contact]) -> None:
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute("DELETE FROM contacts")
            self.conn.executemany(
                "INSERT OR REPLACE INTO contacts (id, host, port) VALUES (?, ?, ?)",
                [(c.id, c.host, c.port) for c in contacts],
            )

    def contacts(self) -> list[Contact]:
        rows = self.conn.execute("SELECT id, host, port FROM contacts").fetchall()
        return [Contact(bytes(i), h, int(p)) for i, h, p in rows if len(i) == 20]

    # --- values ------------------------------------------------------

    def store_value(self, key: bytes, value: bytes, now: float) -> bool:
        """Store (or refresh) a value and commit; True if it was already there."""
        with self.conn:
            self.conn.execute("BEGIN")
            cur = self.conn.execute(
                "UPDATE kv SET last_stored = ? WHERE key = ? AND value = ?", (now, key, value)
            )
            if cur.rowcount:
                return True
            self.conn.execute(
                "INSERT INTO kv (key, value, last_stored) VALUES (?, ?, ?)", (key, value, now)
            )
        self.value_count += 1
        self._counts[key] = self._counts.get(key, 0) + 1
        return False

    def has_value(self, key: bytes, value: bytes) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM kv WHERE key = ? AND value = ?", (key, value)
        ).fetchone()
        return row is not None

    def values(self, key: bytes) -> list[bytes]:
        rows = self.conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchall()
        return [bytes(r[0]) for r in rows]

    def count_values(self, key: bytes) -> int:
        return self._counts.get(key, 0)

    def totals(self) -> tuple[int, int]:
        """(distinct keys, values) stored."""
        return len(self._counts), self.value_count

    def expire(self, before: float) -> list[tuple[bytes, bytes]]:
        """Delete values last stored before ``before``; returns them."""
        with self.conn:
            self.conn.execute("BEGIN")
            rows = self.conn.execute(
                "SELECT key, value FROM kv WHERE last_stored < ?", (before,)
            ).fetchall()
            self.conn.execute("DELETE FROM kv WHERE last_stored < ?", (before,))
        self.value_count -= len(rows)
        expired = [(bytes(k), bytes(v)) for k, v in rows]
        for k, _ in expired:
            left = self._counts.get(k, 0) - 1
            if left > 0:
                self._counts[k] = left
            else:
                self._counts.pop(k, None)
        return expired

    def all_values(self) -> list[StoredValueInfo]:
        rows = self.conn.execute(
            "SELECT key, value, last_stored FROM kv ORDER BY last_stored DESC"
        ).fetchall()
        return [StoredValueInfo(bytes(k), bytes(v), float(t)) for k, v, t in rows]
