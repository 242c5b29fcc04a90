"""One database for all the nodes of a lab: one file, one connection, one storage thread.

Theory of operation.  A lab runs hundreds or thousands of nodes in one
process.  Given a data directory of its own and a SQLite file each, a node
cost a directory, a lock file, a pid file and a database (3 more files
while open), and starting a lab of 2,000 meant creating, checking and
syncing 2,000 databases.  So a lab keeps all its nodes' rows in one file,
``lab.db`` (:data:`LAB_DB_NAME`) in the lab's directory, with the schema of
:data:`.layout.LAB_SCHEMA`: one connection (its page cache shared by all),
one :class:`~.worker.StorageWorker` (one storage thread, while there is
work), and one lock on the directory (:class:`~.datadir.DataDirLock`,
held by the :class:`LabDatabase` while it is open).

Keys: a node's rows are keyed by its *slot*, its number in the lab (the
same number that gives it its loopback address and its link delay), and
its id is a column of its row in ``nodes``.  Not by its id, because the id
is what the node reads from its rows when it starts (so the rows must be
found before the id is known), and because a node's id may change while it
runs (a Mainline node takes a BEP 42 id once it learns its address): keyed
by id, every contact and value of the node would have to move with it.  A
node restarted on its slot (a lab revived on the same directory, a killed
node revived) finds its id and contacts there.

Each node gets a :class:`LabSlot` (the ``storage`` a lab hands to
:class:`dht.node.Node`): the lock its node takes while running (the slot,
so that no two running nodes share one) and its :class:`~.store.Store`, a
view of its rows on the shared connection.  A node that aborts cancels its
own queued jobs only; the others' run.

Starting a lab's nodes (:meth:`LabDatabase.starting`): each node reads its
id and saved contacts and writes its id as it starts, three jobs on the
storage thread and one commit per node.  While the lab starts its nodes,
its slots' stores (:class:`LabStore`) take them from one read of every
slot's id and contacts instead, and the new ids are written together, in
one transaction, once every node has started.

A directory used by an older version (one ``node-NNN`` directory and
database per node) is not migrated: the lab starts afresh in ``lab.db``
beside them, says so in one line (:attr:`LabDatabase.warning`), and leaves
them as they are.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Iterator, Mapping, Protocol

from .datadir import DataDirLock
from ..core.contact import Contact, is_ipv4
from ..core.errors import StorageError
from .database import open_or_move_aside
from .fairness import StoreLimits
from .layout import LAB_SCHEMA
from .store import Store
from .worker import StorageWorker

__all__ = ["LAB_CACHE_KIB", "LAB_DB_NAME", "LabDatabase", "LabSlot", "LabStore", "NodeLock", "NodeStorage",
           "SlotLock"]

log = logging.getLogger(__name__)

#: The lab's database file in its directory.
LAB_DB_NAME = "lab.db"
#: Page cache of the lab's one connection (shared by all its nodes).
LAB_CACHE_KIB = 4096
#: The per-node directories of the layout before one file per lab.
OLD_NODE_DIRS = "node-[0-9][0-9][0-9]*"


class NodeLock(Protocol):
    """What a node holds while it runs so that no other node uses its rows (DataDirLock, SlotLock)."""

    @property
    def held(self) -> bool: ...
    def acquire(self) -> None: ...
    def release(self) -> None: ...


class NodeStorage(Protocol):
    """Storage handed to a node instead of a data directory of its own (:class:`LabSlot`)."""

    def lock(self) -> NodeLock: ...
    def open_store(self, limits: StoreLimits, threaded: bool) -> Store: ...


class LabDatabase:
    """The one database of a lab's nodes (see the module's docstring)."""

    def __init__(self, directory: str | Path, threaded: bool = True) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LAB_DB_NAME
        self.threaded = threaded
        self.worker = StorageWorker(f"storage:{self.directory.name}", threaded)
        self._lock = DataDirLock(self.directory)
        self._conn: sqlite3.Connection | None = None
        self._running: set[int] = set()  # slots whose node runs
        self._start: _StartBatch | None = None  # while the lab starts its nodes
        #: one line when something was moved aside or left as it is (an older layout)
        self.warning: str | None = None

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"the lab's database {self.path} is not open")
        return self._conn

    def open(self) -> None:
        """Lock the directory and open (or create) ``lab.db``; StorageError saying why not."""
        if self._conn is not None:
            return
        self._lock.acquire()
        try:
            fresh = not self.path.exists()
            self._conn, moved = self.worker.call(open_or_move_aside, str(self.path), LAB_SCHEMA, LAB_CACHE_KIB)
        except BaseException:
            self._lock.release()
            raise
        old = sorted(p.name for p in self.directory.glob(OLD_NODE_DIRS) if p.is_dir())
        if fresh and old:
            dirs = "node directory" if len(old) == 1 else "node directories"
            moved = (f"{moved}; " if moved else "") + (
                f"lab directory {self.directory} holds {len(old)} {dirs} of an older layout "
                f"({old[0]}...): left as they are, the lab starts afresh in {LAB_DB_NAME}"
            )
        self.warning = moved
        if moved:
            log.warning("%s", moved)

    @contextlib.contextmanager
    def starting(self, preset: Mapping[int, bytes] | None = None) -> Iterator[None]:
        """While the lab starts its nodes: their ids and contacts read at once, their
        new ids written together at the end (see the module's docstring).
        ``preset``: the id a slot's node takes when its slot has none yet (a lab whose
        ids are chosen before its nodes start)."""
        self._start = self.worker.call(self._read_all)
        if preset:
            for slot, node_id in preset.items():
                self._start.ids.setdefault(slot, node_id)
        try:
            yield
        finally:
            batch, self._start = self._start, None
            if batch.new_ids:
                try:
                    self.worker.call(self._write_ids, batch.new_ids)
                except sqlite3.Error as exc:  # the disk refused: saved at each node's next checkpoint
                    log.warning("could not save the ids of the lab's nodes in %s: %s", self.path, exc)

    def _read_all(self) -> _StartBatch:
        conn = self.conn
        batch = _StartBatch()
        for slot, node_id in conn.execute("SELECT slot, id FROM nodes"):
            if isinstance(node_id, bytes) and len(node_id) == 20:
                batch.ids[slot] = bytes(node_id)
        for slot, node_id, host, port in conn.execute("SELECT slot, id, host, port FROM contacts"):
            if isinstance(node_id, bytes) and len(node_id) == 20 and is_ipv4(host) and isinstance(port, int) \
                    and 0 <= port <= 65535:
                batch.contacts.setdefault(slot, []).append(Contact(bytes(node_id), host, port))
        return batch

    def _write_ids(self, ids: dict[int, bytes]) -> None:
        conn = self.conn  # in autocommit mode: one explicit transaction for all
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO nodes (slot, id) VALUES (?, ?)", ids.items())
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def slot(self, number: int) -> LabSlot:
        """What the lab hands node ``number`` for its storage."""
        return LabSlot(self, number)

    def close(self) -> None:
        """Close the file (the jobs queued are done first), end the thread, unlock the directory."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            self.worker.call(conn.close)
        except sqlite3.Error as exc:  # a final checkpoint the disk refused
            log.warning("closing the lab's database %s: %s", self.path, exc)
        finally:
            self.worker.join()
            self._lock.release()


class SlotLock:
    """The lock a lab node takes while it runs: its slot, so that no two nodes run on one."""

    __slots__ = ("database", "number", "held")

    def __init__(self, database: LabDatabase, number: int) -> None:
        self.database = database
        self.number = number
        self.held = False

    def acquire(self) -> None:
        db = self.database
        if not db.is_open:
            raise StorageError(f"the lab's database {db.path} is not open")
        if self.number in db._running:
            raise StorageError(f"lab node {self.number} is running already ({db.path})")
        db._running.add(self.number)
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.database._running.discard(self.number)


class LabSlot:
    """A lab node's storage: its slot in the lab's database (the hook of :class:`dht.node.Node`)."""

    __slots__ = ("database", "number")

    def __init__(self, database: LabDatabase, number: int) -> None:
        self.database = database
        self.number = number

    def lock(self) -> SlotLock:
        return SlotLock(self.database, self.number)

    def open_store(self, limits: StoreLimits, threaded: bool) -> Store:
        """The node's rows in the lab's file (``threaded`` is the lab's: one thread for all)."""
        db = self.database
        return LabStore(db, limits, self.number)


class _StartBatch:
    """Every slot's id and contacts as the lab starts, and the ids its nodes took."""

    __slots__ = ("ids", "contacts", "new_ids")

    def __init__(self) -> None:
        self.ids: dict[int, bytes] = {}
        self.contacts: dict[int, list[Contact]] = {}
        self.new_ids: dict[int, bytes] = {}


class LabStore(Store):
    """A lab node's store: its rows of the lab's file, read and written as a
    :class:`~.store.Store`'s are, but while the lab starts its nodes
    (:meth:`LabDatabase.starting`) its id and contacts come from the lab's one read
    and its id is written with the others'."""

    def __init__(self, database: LabDatabase, limits: StoreLimits, slot: int) -> None:
        super().__init__(database.path, limits, database.threaded, shared=database, slot=slot)
        self.database = database

    def self_id(self) -> bytes | None:
        batch = self.database._start
        return super().self_id() if batch is None else batch.ids.get(self.slot)

    def contacts(self) -> list[Contact]:
        batch = self.database._start
        return super().contacts() if batch is None else list(batch.contacts.get(self.slot, ()))

    def save_self_id(self, node_id: bytes) -> None:
        batch = self.database._start
        if batch is None:
            super().save_self_id(node_id)
        else:
            batch.new_ids[self.slot] = node_id
