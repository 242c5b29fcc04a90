"""A node's rows and their counts in memory: the jobs its store's thread runs.

Values are kept per (key, value) with the time of their last store and the
IP address of their publisher (the first to store them; ``""`` for this node
itself or for values of a database made before publishers were kept).
Which value gives up its room when the store is full is :mod:`.fairness`'s;
the SQL of one node's rows, in a file of its own or in its lab's, is
:mod:`.layout`'s.

The number of values per key and per publisher is kept in memory
(:meth:`NodeRows.count` reads them when the store opens; each job that adds
or deletes a value keeps them), so answering find_value and checking quotas
never needs the database.  The jobs write the counts before their result is
delivered; they may be read on any thread.

Every method that reads or writes the database is a job of the store's
storage thread (:class:`~.store.Store` hands them to its worker).  It goes
through what the rows see of their store (:class:`StoreHost`): the
connection (opened again if it was released), a write transaction
(committed, or rolled back and raised as :class:`StorageFault`: nothing
stored before is touched) and the fault log.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..core.contact import Contact, is_ipv4
from ..core.errors import StorageFault
from .database import digest
from .fairness import StoreLimits, Tally, make_room
from .layout import Layout

__all__ = ["NodeRows", "StoreHost", "StoreOutcome", "StoredValueInfo"]


@dataclass(frozen=True, slots=True)
class StoredValueInfo:
    key: bytes
    value: bytes
    stored_at: float  # wall clock, time.time()
    publisher: str = ""  # IP address of the first to store it; "" this node (or unknown)


class StoreOutcome(NamedTuple):
    refreshed: bool  # the value was there already: only its time changed
    evicted: tuple[tuple[bytes, bytes], ...]  # (key, value) removed to make room


class StoreHost(Protocol):
    """What a node's rows see of their store: its connection, write transactions and fault log."""

    @property
    def conn(self) -> sqlite3.Connection: ...

    def _write(self, doing: str) -> AbstractContextManager[sqlite3.Connection]: ...

    def _fault(self, exc: sqlite3.Error, doing: str) -> StorageFault: ...


class NodeRows:
    """The rows of the node ``slot`` in ``sql``'s layout, through ``store``; the counts of its values."""

    def __init__(self, store: StoreHost, sql: Layout, slot: int, limits: StoreLimits) -> None:
        self._store = store
        self._sql = sql
        self.slot = slot
        self.limits = limits
        self._mine: dict[str, Any] = {"slot": slot}  # the parameter naming our rows
        self._counts: dict[bytes, int] = {}
        self.value_count = 0
        self._publishers = Tally()

    def count(self, conn: sqlite3.Connection) -> None:
        """Count the values per key and per publisher (the store has just opened)."""
        self._counts = {bytes(k): int(n) for k, n in conn.execute(self._sql.count_by_key, self._mine)}
        self.value_count = sum(self._counts.values())
        for name, n in conn.execute(self._sql.count_by_publisher, self._mine):
            self._publishers.add(str(name), int(n))

    def checkpoint(
        self, node_id: bytes, contacts: list[Contact], expire_before: float | None
    ) -> tuple[StorageFault | None, list[tuple[bytes, bytes]]]:
        fault: StorageFault | None = None
        expired: list[tuple[bytes, bytes]] = []
        try:
            self.save_self_id(node_id)
            self.save_contacts(contacts)
        except StorageFault as exc:
            fault = exc
        if expire_before is not None:
            try:
                expired = self.expire(expire_before)
            except StorageFault as exc:
                fault = fault or exc
        return fault, expired

    # --- own id and routing table ---------------------------------------

    def self_id(self) -> bytes | None:
        try:
            row = self._store.conn.execute(self._sql.self_id, self._mine).fetchone()
        except sqlite3.Error as exc:
            raise self._store._fault(exc, "read the node's id") from None
        if row and isinstance(row[0], bytes) and len(row[0]) == 20:
            return bytes(row[0])
        return None

    def save_self_id(self, node_id: bytes) -> None:
        with self._store._write("save the node's id") as conn:
            for statement in self._sql.save_self_id:
                conn.execute(statement, {"slot": self.slot, "id": node_id})

    def save_contacts(self, contacts: list[Contact]) -> None:
        with self._store._write(f"save the routing table ({len(contacts)} contacts)") as conn:
            conn.execute(self._sql.delete_contacts, self._mine)
            conn.executemany(
                self._sql.insert_contact,
                [{"slot": self.slot, "id": c.id, "host": c.host, "port": c.port} for c in contacts],
            )

    def contacts(self) -> list[Contact]:
        """The saved contacts (rows that are not a 20-byte id and IPv4 address are skipped)."""
        try:
            rows = self._store.conn.execute(self._sql.contacts, self._mine).fetchall()
        except sqlite3.Error as exc:
            raise self._store._fault(exc, "read the routing table") from None
        return [
            Contact(bytes(i), h, p) for i, h, p in rows
            if isinstance(i, bytes) and len(i) == 20 and is_ipv4(h) and isinstance(p, int) and 0 <= p <= 65535
        ]

    # --- values ------------------------------------------------------------

    def store_value(self, key: bytes, value: bytes, now: float, publisher: str = "") -> StoreOutcome:
        """Store (or refresh) a value from ``publisher`` and commit.

        Raises :class:`StoreRefused` (the limits) or :class:`StorageFault`
        (the disk); either way nothing stored before is changed.
        """
        row = {"slot": self.slot, "key": key, "digest": digest(value), "value": value, "now": now,
               "publisher": publisher}
        with self._store._write("store a value") as conn:
            cur = conn.execute(self._sql.refresh, row)
            if cur.rowcount:
                return StoreOutcome(True, ())
            evicted = make_room(conn, self.limits, self._publishers, self._counts.get(key, 0), self.value_count,
                                key, publisher, self._sql, self.slot)
            for _k, _v, _p, rowid in evicted:
                conn.execute(self._sql.delete_row, {"rowid": rowid})
            conn.execute(self._sql.insert_value, row)
        for k, _v, p, _rowid in evicted:
            self._forget(k, p)
        self.value_count += 1
        self._counts[key] = self._counts.get(key, 0) + 1
        self._publishers.add(publisher)
        return StoreOutcome(False, tuple((k, v) for k, v, _p, _r in evicted))

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
            row = self._store.conn.execute(
                self._sql.has_value, {"slot": self.slot, "key": key, "digest": digest(value)}
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._store._fault(exc, "read values") from None
        return row is not None

    def values(self, key: bytes) -> list[bytes]:
        try:
            rows = self._store.conn.execute(self._sql.values, {"slot": self.slot, "key": key}).fetchall()
        except sqlite3.Error as exc:
            raise self._store._fault(exc, "read values") from None
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
        when = {"slot": self.slot, "before": before}
        with self._store._write("expire values") as conn:
            rows = conn.execute(self._sql.expiring, when).fetchall()
            conn.execute(self._sql.expire, when)
        expired = []
        for k, v, p in rows:
            self._forget(bytes(k), str(p))
            expired.append((bytes(k), bytes(v)))
        return expired

    def all_values(self) -> list[StoredValueInfo]:
        try:
            rows = self._store.conn.execute(self._sql.all_values, self._mine).fetchall()
        except sqlite3.Error as exc:
            raise self._store._fault(exc, "read values") from None
        return [StoredValueInfo(bytes(k), bytes(v), float(t), str(p)) for k, v, t, p in rows]
