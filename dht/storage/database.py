"""The database file of a node: its schema, how it is opened, migrated and reopened.

Theory of operation.  One SQLite file per node (``":memory:"`` in tests),
or one for all the nodes of a lab (:mod:`.lab_database`, its schema
:data:`.layout.LAB_SCHEMA`),
opened in WAL mode with ``synchronous=NORMAL``, so a committed write
survives a killed process, and a short WAL (checkpoint every
:data:`WAL_AUTOCHECKPOINT` pages, file truncated to :data:`JOURNAL_LIMIT`).

Size on disk: a value is identified by the SHA-256 of its bytes
(:func:`digest`), so no index holds the value itself (an index entry of a
1 KB value overflows a page: that, and pages too small for three such rows,
made 100,000 values of 1 KB take 607 MB).  The value rows sit in
:data:`PAGE_SIZE` pages.

Opening (:func:`open_database`) checks the file (``quick_check``) and the
directory: a directory that cannot be created or written, a file in use by
another node, a full or read-only disk raise :class:`StorageError` naming the
cause and move nothing.  A file that cannot be read as SQLite is moved aside
(never deleted) and a fresh one started (:func:`open_or_move_aside` says so
in one line).  A database of the first schema (table ``kv``) is migrated in
place, keeping its values, and rewritten with today's page size.

A connection released while the node is idle is reopened by
:func:`reopen_database` with a tiny page cache; a directory made read-only
under us reopens the file immutable, so the values stay readable while
writes fail.  :func:`cause` names an SQLite error for a person.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time

from .datadir import make_writable, no_space, not_writable
from ..core.errors import StorageError

log = logging.getLogger(__name__)

#: Page cache of a connection reopened after :meth:`Store.release`.
REOPENED_CACHE_PAGES = 4
#: Page size of new databases: a page holds seven 1 KB value rows (4 KB pages hold three).
PAGE_SIZE = 8192
#: WAL pages after which SQLite checkpoints; the WAL file is truncated to JOURNAL_LIMIT.
WAL_AUTOCHECKPOINT = 128
JOURNAL_LIMIT = 1 << 20

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


def directory_of(path: str) -> str:
    """The directory holding the database file ("" for ``":memory:"``)."""
    return os.path.dirname(os.path.abspath(path)) if path != ":memory:" else ""


def cause(exc: sqlite3.Error, path: str) -> str:
    """Why SQLite failed, named for a person: disk full, read-only, permission denied, I/O."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = directory_of(path) or path
    if name.startswith("SQLITE_FULL") or "disk is full" in str(exc) or no_space(where):
        return f"disk full ({where})"
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")) or "readonly" in str(exc):
        return not_writable(where)
    if where and not os.access(where, os.W_OK):
        return not_writable(where)
    if name.startswith("SQLITE_IOERR"):
        return f"disk I/O error in {where}"
    return f"{exc} ({where})"


def open_or_move_aside(
    path: str, schema: str = SCHEMA, cache_kib: int = 256
) -> tuple[sqlite3.Connection, str | None]:
    """The database at ``path``, and a warning when an unreadable file was moved aside for a fresh one."""
    try:
        return open_database(path, schema, cache_kib), None
    except sqlite3.DatabaseError as exc:
        if path == ":memory:" or not os.path.exists(path):
            raise StorageError(f"cannot open database {path}: {exc}") from None
        aside = f"{path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.replace(path + suffix, aside + suffix)
        except OSError as move_exc:
            raise StorageError(
                f"database {path} is unreadable ({exc}) and could not be moved aside: {move_exc}"
            ) from None
        warning = f"database {path} was unreadable ({exc}); moved aside to {aside}"
        try:
            return open_database(path, schema, cache_kib), warning
        except sqlite3.DatabaseError as exc2:
            raise StorageError(f"cannot open database {path}: {exc2}") from None


def open_database(path: str, schema: str = SCHEMA, cache_kib: int = 256) -> sqlite3.Connection:
    """Open (creating, checking and migrating) the database with ``schema`` and a page cache of
    ``cache_kib`` KiB; a damaged file raises sqlite3.DatabaseError."""
    if path != ":memory:":
        make_writable(directory_of(path))
        if os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            raise StorageError(not_writable(path).replace("is not writable", "is not readable and writable"))
    fresh = path == ":memory:" or not os.path.exists(path) or os.path.getsize(path) == 0
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.OperationalError as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from None
    try:
        if fresh:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA cache_size=-{cache_kib}")
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")
        row = conn.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {row}")
        conn.executescript(schema)
        migrate(conn, path)
    except sqlite3.OperationalError as exc:
        # Not a damaged file (those raise DatabaseError and are moved
        # aside): locked, full, read-only, I/O -- say which, move nothing.
        conn.close()
        if "locked" in str(exc):
            raise StorageError(f"database {path} is in use by another node") from None
        raise StorageError(f"cannot open database {path}: {cause(exc, path)}") from None
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, path: str) -> None:
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
        log.warning("database %s migrated, but not compacted: %s", path, exc)
    finally:
        conn.execute("PRAGMA journal_mode=WAL")


def reopen_database(path: str) -> sqlite3.Connection:
    """The database again after a release: a small cache; immutable if its directory turned read-only."""
    directory = directory_of(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")
        conn.execute("SELECT 1 FROM self LIMIT 1")
    except sqlite3.Error:
        if directory and not os.access(directory, os.W_OK):
            # A directory made read-only under us: the values stay
            # readable (nobody can change the file now), writes fail.
            conn = sqlite3.connect(
                f"file:{path}?immutable=1", uri=True, isolation_level=None, check_same_thread=False
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
