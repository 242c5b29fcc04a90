"""Persistent state of a node in SQLite: own id, contacts, values.

One database file per node, in a data directory that one node at a time may
use (see :mod:`dht.storage.datadir`), or one for all the nodes of a lab.  Seven modules:

* :mod:`.store`: :class:`Store`, what the node reads and writes (its id, its
  contacts, values with their publisher and time), its connection, faults
  named and logged once a minute;
* :mod:`.rows`: the jobs the store's thread runs on a node's rows, and the
  in-memory counts of values per key and per publisher;
* :mod:`.fairness`: :class:`StoreLimits` and the eviction policy (the
  heaviest holder gives up its oldest value, with a margin of two), with
  :class:`Tally`, the per-publisher counts;
* :mod:`.worker`: :class:`StorageWorker`, the one thread that runs a store's
  SQLite jobs, so that the event loop never waits for the disk;
* :mod:`.database`: the file, its schema and pragmas, the migration of the
  first schema, an unreadable file moved aside;
* :mod:`.lab_database`: :class:`LabDatabase`, the one file, connection and
  storage thread of all a lab's nodes, and :class:`LabSlot`, a node's part
  of it (what the lab hands a :class:`dht.node.Node` as its ``storage``);
* :mod:`.layout`: the SQL of one node's rows, in its own file or in its lab's.

Every name is re-exported here: ``from dht.storage import X`` is the way in.
"""

from .database import (
    JOURNAL_LIMIT, OLD_VALUES_TABLE, PAGE_SIZE, REOPENED_CACHE_PAGES, SCHEMA, WAL_AUTOCHECKPOINT, digest,
)
from .fairness import StoreLimits, Tally
from .lab_database import LAB_DB_NAME, LabDatabase, LabSlot, NodeLock, NodeStorage
from .rows import StoredValueInfo, StoreOutcome
from .store import FAULT_LOG_INTERVAL, Store
from .worker import JobGroup, StorageWorker

__all__ = [
    "FAULT_LOG_INTERVAL", "JOURNAL_LIMIT", "LAB_DB_NAME", "OLD_VALUES_TABLE", "PAGE_SIZE", "REOPENED_CACHE_PAGES",
    "SCHEMA", "WAL_AUTOCHECKPOINT", "JobGroup", "LabDatabase", "LabSlot", "NodeLock", "NodeStorage", "StorageWorker",
    "Store", "StoreLimits", "StoreOutcome", "StoredValueInfo", "Tally", "digest",
]
