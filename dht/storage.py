"""Persistent state of a node in SQLite: own id, contacts, values.

One database file per node, in a data directory that one node at a time may
use (see :mod:`dht.datadir`).

Values are kept per (key, value) with the time of their last store and the
IP address of their publisher (the first to store them; ``""`` for this node
itself or for values of a database made before publishers were kept).
:meth:`Store.store_value` commits before it returns, so a store acknowledged
on the wire survives a killed process (WAL journal).

Size on disk: a value is identified by the SHA-256 of its bytes, so no index
holds the value itself (an index entry of a 1 KB value overflows a page:
that, and pages too small for three such rows, made 100,000 values of 1 KB
take 607 MB).  The value rows sit in 8 KB pages and the WAL is kept short.

Fairness (see :class:`StoreLimits`): one IP holds at most ``max_per_ip``
values.  A store that finds its key or the whole store full makes room by
evicting the oldest value of the heaviest holder (the IP with the most
values there) when that holder has at least two more values there than the
storing IP; otherwise the store is refused.  So a flood, from one IP or
many, only ever gives up its own room: a publisher loses a value only while
it holds more than everybody else and two more than the one storing, so an
apt-p2p peer (one value per key) never loses its value under a key, and a
newcomer is refused only by a key or store whose every holder has at most
one value there.  The margin of two makes shares settle (the victim still
holds at least as many as the newcomer) instead of trading one value back
and forth.  Eviction rather than refusing the heaviest holder's next store:
refusing frees nothing, so a full store would stay full and shut newcomers
out.  The oldest of the heaviest holder's values goes first, as it is the
next its publisher must republish anyway.

Faults: a write the disk refuses (full, read-only, I/O error) is rolled back
and raises :class:`StorageFault` naming the cause ("disk full", "permission
denied: DIR is not writable"); nothing stored before is touched, and the
counts stay those of the database.  Faults are logged at most once a minute
(with how many more there were), and reported to :attr:`Store.on_fault` as
often.

The connection is opened at start-up and may be closed while the node is
idle (:meth:`Store.release`, so that hundreds of lab nodes in one process do
not each keep SQLite's caches); it is reopened on the next access.  The
number of values per key and per publisher is kept in memory, so answering
find_value and checking quotas never needs the database.

A database that cannot be read as SQLite is moved aside (never deleted) and a
fresh one started; :attr:`Store.warning` says so in one line.  One that
cannot be opened at all raises :class:`StorageError`.  A database of the
first schema (table ``kv``) is migrated in place, keeping its values.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from .contact import Contact, is_ipv4
from .datadir import cannot_create, no_space, not_writable
from .errors import StorageError, StorageFault, StoreRefused

log = logging.getLogger(__name__)

#: Page cache of a connection reopened after :meth:`Store.release`.
REOPENED_CACHE_PAGES = 4
#: Page size of new databases: a page holds seven 1 KB value rows (4 KB pages hold three).
PAGE_SIZE = 8192
#: WAL pages after which SQLite checkpoints; the WAL file is truncated to JOURNAL_LIMIT.
WAL_AUTOCHECKPOINT = 128
JOURNAL_LIMIT = 1 << 20
#: Seconds between two log lines about storage faults.
FAULT_LOG_INTERVAL = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS self (id BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (id BLOB PRIMARY KEY, host TEXT NOT NULL, port INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stored (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL,
    digest BLOB NOT NULL,
    value BLOB NOT NULL,
    last_stored REAL NOT NULL,
    publisher TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS stored_value ON stored (key, digest);
CREATE INDEX IF NOT EXISTS stored_time ON stored (last_stored);
CREATE INDEX IF NOT EXISTS stored_publisher ON stored (publisher, last_stored);
"""

#: The first schema's values table, migrated to ``stored``.
OLD_VALUES_TABLE = "kv"


def digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


@dataclass(frozen=True, slots=True)
class StoredValueInfo:
    key: bytes
    value: bytes
    stored_at: float  # wall clock, time.time()
    publisher: str = ""  # IP address of the first to store it; "" this node (or unknown)


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """Bounds on what a store keeps; 0 means no bound."""

    max_values: int = 0
    max_per_key: int = 0
    max_per_ip: int = 0


class StoreOutcome(NamedTuple):
    refreshed: bool  # the value was there already: only its time changed
    evicted: tuple[tuple[bytes, bytes], ...]  # (key, value) removed to make room


class Tally:
    """Counts per name with the largest one at hand (O(1) per change)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._by_count: dict[int, set[str]] = {}
        self.max = 0

    def get(self, name: str) -> int:
        return self.counts.get(name, 0)

    def add(self, name: str, n: int = 1) -> None:
        if n > 0:
            self._move(name, self.counts.get(name, 0), n)

    def remove(self, name: str) -> None:
        if self.counts.get(name, 0) > 0:
            self._move(name, self.counts[name], -1)

    def _move(self, name: str, old: int, step: int) -> None:
        """From ``old`` to ``old + step``; the max only ever falls by one (step -1)."""
        new = old + step
        if old:
            names = self._by_count[old]
            names.discard(name)
            if not names:
                del self._by_count[old]
        if new:
            self.counts[name] = new
            self._by_count.setdefault(new, set()).add(name)
            self.max = max(self.max, new)
        else:
            del self.counts[name]
        while self.max and self.max not in self._by_count:
            self.max -= 1

    def heaviest(self) -> str | None:
        names = self._by_count.get(self.max)
        return next(iter(names)) if names else None


class Store:
    """A node's SQLite database (``path`` may be ``":memory:"``)."""

    def __init__(self, path: str | Path, limits: StoreLimits | None = None) -> None:
        self.path = str(path)
        self.directory = os.path.dirname(os.path.abspath(self.path)) if self.path != ":memory:" else ""
        self.limits = limits or StoreLimits()
        self.warning: str | None = None
        self._conn: sqlite3.Connection | None = None
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
            bytes(k): int(n) for k, n in self._conn.execute("SELECT key, COUNT(*) FROM stored GROUP BY key")
        }
        self.value_count = sum(self._counts.values())
        self._publishers = Tally()
        for name, n in self._conn.execute("SELECT publisher, COUNT(*) FROM stored GROUP BY publisher"):
            self._publishers.add(str(name), int(n))
        # The integrity check leaves SQLite's memory grown; give it back.
        self._conn.execute("PRAGMA shrink_memory")

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
                conn = self._reopen()
            except sqlite3.Error as exc:
                raise self._fault(exc, "open the database") from None
            self._conn = conn
            if self.on_open is not None:
                self.on_open()
        return conn

    def _reopen(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
            conn.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")
            conn.execute("SELECT 1 FROM self LIMIT 1")
        except sqlite3.Error:
            if self.directory and not os.access(self.directory, os.W_OK):
                # A directory made read-only under us: the values stay
                # readable (nobody can change the file now), writes fail.
                conn = sqlite3.connect(
                    f"file:{self.path}?immutable=1", uri=True, isolation_level=None, check_same_thread=False
                )
            else:
                raise
        # A few pages are enough while reopened (the database is small and
        # read rarely: counts are in memory).  Shrinking frees the bulk of
        # pages SQLite allocates up front with the first read; with so small
        # a cache it is not allocated again.
        conn.execute(f"PRAGMA cache_size={REOPENED_CACHE_PAGES}")
        conn.execute("PRAGMA shrink_memory")
        return conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def release(self) -> None:
        """Close the connection until the next access (a no-op for ":memory:")."""
        if self._conn is not None and self.path != ":memory:":
            try:
                self._conn.close()
            except sqlite3.Error as exc:  # a final checkpoint the disk refused
                self._fault(exc, "close the database")
            self._conn = None

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = self.directory
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StorageError(cannot_create(exc, parent)) from None
            if not os.access(parent, os.W_OK):
                raise StorageError(not_writable(parent))
            if os.path.exists(self.path) and not os.access(self.path, os.R_OK | os.W_OK):
                raise StorageError(not_writable(self.path).replace("is not writable", "is not readable and writable"))
        fresh = self.path == ":memory:" or not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.OperationalError as exc:
            raise StorageError(f"cannot open database {self.path}: {exc}") from None
        try:
            if fresh:
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA cache_size=-256")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
            conn.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {row}")
            conn.executescript(SCHEMA)
            self._migrate(conn)
        except sqlite3.OperationalError as exc:
            # Not a damaged file (those raise DatabaseError and are moved
            # aside): locked, full, read-only, I/O -- say which, move nothing.
            conn.close()
            if "locked" in str(exc):
                raise StorageError(f"database {self.path} is in use by another node") from None
            raise StorageError(f"cannot open database {self.path}: {self.cause(exc)}") from None
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Move the first schema's values (table kv) into ``stored``, keeping them all."""
        old = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (OLD_VALUES_TABLE,)
        ).fetchone()
        if old is None:
            return
        conn.create_function("sha256", 1, digest, deterministic=True)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR IGNORE INTO stored (key, digest, value, last_stored, publisher) "
                f"SELECT key, sha256(value), value, last_stored, '' FROM {OLD_VALUES_TABLE}"
            )
            conn.execute(f"DROP TABLE {OLD_VALUES_TABLE}")
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise
        # Rewrite the file with today's page size (needs a rollback journal
        # while it runs); a disk too full for it keeps the old layout.
        try:
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("VACUUM")
        except sqlite3.Error as exc:
            log.warning("database %s migrated, but not compacted: %s", self.path, exc)
        finally:
            conn.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
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
        name = getattr(exc, "sqlite_errorname", "") or ""
        where = self.directory or self.path
        if name.startswith("SQLITE_FULL") or "disk is full" in str(exc) or no_space(where):
            return f"disk full ({where})"
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or "readonly" in str(exc):
            return not_writable(where)
        if where and not os.access(where, os.W_OK):
            return not_writable(where)
        if name.startswith("SQLITE_IOERR"):
            return f"disk I/O error in {where}"
        return f"{exc} ({where})"

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
                self.on_fault(text)
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

    # --- own id and routing table -------------------------------------

    def self_id(self) -> bytes | None:
        try:
            row = self.conn.execute("SELECT id FROM self").fetchone()
        except sqlite3.Error as exc:
            raise self._fault(exc, "read the node's id") from None
        if row and isinstance(row[0], bytes) and len(row[0]) == 20:
            return bytes(row[0])
        return None

    def save_self_id(self, node_id: bytes) -> None:
        with self._write("save the node's id") as conn:
            conn.execute("DELETE FROM self")
            conn.execute("INSERT INTO self (id) VALUES (?)", (node_id,))

    def save_contacts(self, contacts: list[Contact]) -> None:
        with self._write(f"save the routing table ({len(contacts)} contacts)") as conn:
            conn.execute("DELETE FROM contacts")
            conn.executemany(
                "INSERT OR REPLACE INTO contacts (id, host, port) VALUES (?, ?, ?)",
                [(c.id, c.host, c.port) for c in contacts],
            )

    def contacts(self) -> list[Contact]:
        """The saved contacts (rows that are not a 20-byte id and IPv4 address are skipped)."""
        try:
            rows = self.conn.execute("SELECT id, host, port FROM contacts").fetchall()
        except sqlite3.Error as exc:
            raise self._fault(exc, "read the routing table") from None
        return [
            Contact(bytes(i), h, p) for i, h, p in rows
            if isinstance(i, bytes) and len(i) == 20 and is_ipv4(h) and isinstance(p, int) and 0 <= p <= 65535
        ]

    # --- values ------------------------------------------------------

    def store_value(self, key: bytes, value: bytes, now: float, publisher: str = "") -> StoreOutcome:
        """Store (or refresh) a value from ``publisher`` and commit.

        Raises :class:`StoreRefused` (the limits) or :class:`StorageFault`
        (the disk); either way nothing stored before is changed.
        """
        vdigest = digest(value)
        limits = self.limits
        evicted: list[tuple[bytes, bytes, str, int]] = []
        with self._write("store a value") as conn:
            cur = conn.execute(
                "UPDATE stored SET last_stored = ? WHERE key = ? AND digest = ?", (now, key, vdigest)
            )
            if cur.rowcount:
                return StoreOutcome(True, ())
            mine = self._publishers.get(publisher)
            if limits.max_per_ip and mine >= limits.max_per_ip:
                who = publisher or "this node"
                raise StoreRefused(f"quota reached: {who} holds {mine} values here (limit {limits.max_per_ip} per IP)")
            if limits.max_per_key and self._counts.get(key, 0) >= limits.max_per_key:
                victim = self._victim_in_key(conn, key, publisher)
                if victim is None:
                    raise StoreRefused(f"too many values for this key (limit {limits.max_per_key})")
                evicted.append(victim)
            if limits.max_values and self.value_count - len(evicted) >= limits.max_values:
                victim = self._victim(conn, publisher, mine, evicted)
                if victim is None:
                    raise StoreRefused(f"store is full (limit {limits.max_values} values)")
                evicted.append(victim)
            for _k, _v, _p, rowid in evicted:
                conn.execute("DELETE FROM stored WHERE id = ?", (rowid,))
            conn.execute(
                "INSERT INTO stored (key, digest, value, last_stored, publisher) VALUES (?, ?, ?, ?, ?)",
                (key, vdigest, value, now, publisher),
            )
        for k, _v, p, _rowid in evicted:
            self._forget(k, p)
        self.value_count += 1
        self._counts[key] = self._counts.get(key, 0) + 1
        self._publishers.add(publisher)
        return StoreOutcome(False, tuple((k, v) for k, v, _p, _r in evicted))

    def _victim_in_key(
        self, conn: sqlite3.Connection, key: bytes, publisher: str
    ) -> tuple[bytes, bytes, str, int] | None:
        """The oldest value under ``key`` of its heaviest holder, if it holds two more there than ``publisher``."""
        counts = dict(conn.execute("SELECT publisher, COUNT(*) FROM stored WHERE key = ? GROUP BY publisher", (key,)))
        heaviest = max(counts, key=lambda p: counts[p])
        if counts[heaviest] < counts.get(publisher, 0) + 2:
            return None
        row = conn.execute(
            "SELECT id, value FROM stored WHERE key = ? AND publisher = ? ORDER BY last_stored LIMIT 1",
            (key, heaviest),
        ).fetchone()
        return (key, bytes(row[1]), heaviest, int(row[0]))

    def _victim(
        self, conn: sqlite3.Connection, publisher: str, mine: int, evicted: list[tuple[bytes, bytes, str, int]]
    ) -> tuple[bytes, bytes, str, int] | None:
        """The oldest value of the heaviest holder of all, if it holds two more than ``publisher``."""
        heaviest = self._publishers.heaviest()
        if heaviest is None or self._publishers.max < mine + 2:
            return None
        taken = {rowid for *_rest, rowid in evicted}
        for rowid, key, value in conn.execute(
            "SELECT id, key, value FROM stored WHERE publisher = ? ORDER BY last_stored LIMIT ?",
            (heaviest, len(taken) + 1),
        ):
            if rowid not in taken:
                return (bytes(key), bytes(value), heaviest, int(rowid))
        return None

    def _forget(self, key: bytes, publisher: str) -> None:
        self.value_count -= 1
        left = self._counts.get(key, 0) - 1
        if left > 0:
            self._counts[key] = left
        else:
            self._counts.pop(key, None)
        self._publishers.remove(publisher)

    def has_value(self, key: bytes, value: bytes) -> bool:
        try:
            row = self.conn.execute(
                "SELECT 1 FROM stored WHERE key = ? AND digest = ?", (key, digest(value))
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._fault(exc, "read values") from None
        return row is not None

    def values(self, key: bytes) -> list[bytes]:
        try:
            rows = self.conn.execute("SELECT value FROM stored WHERE key = ?", (key,)).fetchall()
        except sqlite3.Error as exc:
            raise self._fault(exc, "read values") from None
        return [bytes(r[0]) for r in rows]

    def count_values(self, key: bytes) -> int:
        return self._counts.get(key, 0)

    def count_from(self, publisher: str) -> int:
        """Values held from ``publisher`` (an IP address; "" this node)."""
        return self._publishers.get(publisher)

    def totals(self) -> tuple[int, int]:
        """(distinct keys, values) stored."""
        return len(self._counts), self.value_count

    def expire(self, before: float) -> list[tuple[bytes, bytes]]:
        """Delete values last stored before ``before``; returns them."""
        with self._write("expire values") as conn:
            rows = conn.execute(
                "SELECT key, value, publisher FROM stored WHERE last_stored < ?", (before,)
            ).fetchall()
            conn.execute("DELETE FROM stored WHERE last_stored < ?", (before,))
        expired = []
        for k, v, p in rows:
            self._forget(bytes(k), str(p))
            expired.append((bytes(k), bytes(v)))
        return expired

    def all_values(self) -> list[StoredValueInfo]:
        try:
            rows = self.conn.execute(
                "SELECT key, value, last_stored, publisher FROM stored ORDER BY last_stored DESC"
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._fault(exc, "read values") from None
        return [StoredValueInfo(bytes(k), bytes(v), float(t), str(p)) for k, v, t, p in rows]
