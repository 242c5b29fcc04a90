"""Persistent state of a node in SQLite: own id, contacts, values.

One database file per node, in a data directory that one node at a time may
use (see :mod:`dht.storage.datadir`).  Four modules:

* :mod:`.store`: :class:`Store`, what the node reads and writes (its id, its
  contacts, values with their publisher and time), in memory counts of
  values per key and per publisher, faults named and logged once a minute;
* :mod:`.fairness`: :class:`StoreLimits` and the eviction policy (the
  heaviest holder gives up its oldest value, with a margin of two), with
  :class:`Tally`, the per-publisher counts;
* :mod:`.worker`: :class:`StorageWorker`, the one thread that runs a store's
  SQLite jobs, so that the event loop never waits for the disk;
* :mod:`.database`: the file, its schema and pragmas, the migration of the
  first schema, an unreadable file moved aside.

Every name is re-exported here: ``from dht.storage import X`` is the way in.
"""

from .database import (
    JOURNAL_LIMIT, OLD_VALUES_TABLE, PAGE_SIZE, REOPENED_CACHE_PAGES, SCHEMA, WAL_AUTOCHECKPOINT, digest,
)
from .fairness import StoreLimits, Tally
from .store import FAULT_LOG_INTERVAL, Store, StoredValueInfo, StoreOutcome
from .worker import StorageWorker

__all__ = [
    "FAULT_LOG_INTERVAL", "JOURNAL_LIMIT", "OLD_VALUES_TABLE", "PAGE_SIZE", "REOPENED_CACHE_PAGES", "SCHEMA",
    "WAL_AUTOCHECKPOINT", "StorageWorker", "Store", "StoreLimits", "StoreOutcome", "StoredValueInfo", "Tally", "digest",
]
