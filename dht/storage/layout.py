"""Where one node's rows are: in a database file of its own, or in its lab's shared file.

A node started alone (``dht node``, the explorer's own node) keeps its id,
contacts and values in a file of its own, with the schema of
:data:`dht.storage.database.SCHEMA`.  The nodes of a lab share one file
(:mod:`.lab_database`), whose every table has a ``slot`` column naming the
node a row belongs to (:data:`LAB_SCHEMA`).  The :class:`Store` does the same
things in both; only its SQL differs, and that is all this module holds: a
:class:`Layout` of the statements for each, with named parameters, so a
statement of one node's rows is always given ``:slot`` (unused in a file of
its own, where every row is the node's; there the node's condition is the
constant ``1``, which SQLite drops from its plan).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LAB_SCHEMA", "LAB_LAYOUT", "Layout", "NODE_LAYOUT"]

#: The tables of a lab's shared file: every row names its node by its slot in the lab.
LAB_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (slot INTEGER PRIMARY KEY, id BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (
    slot INTEGER NOT NULL,
    id BLOB NOT NULL,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    PRIMARY KEY (slot, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stored (
    id INTEGER PRIMARY KEY,
    slot INTEGER NOT NULL,
    key BLOB NOT NULL,
    digest BLOB NOT NULL,
    value BLOB NOT NULL,
    last_stored REAL NOT NULL,
    publisher TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS stored_value ON stored (slot, key, digest);
CREATE INDEX IF NOT EXISTS stored_time ON stored (slot, last_stored);
CREATE INDEX IF NOT EXISTS stored_publisher ON stored (slot, publisher, last_stored);
"""


@dataclass(frozen=True, slots=True)
class Layout:
    """The SQL of one node's rows (named parameters; ``:slot`` is always given)."""

    shared: bool
    self_id: str
    save_self_id: tuple[str, ...]
    delete_contacts: str
    insert_contact: str
    contacts: str
    count_by_key: str
    count_by_publisher: str
    refresh: str
    insert_value: str
    delete_row: str
    has_value: str
    values: str
    expiring: str
    expire: str
    all_values: str
    publishers_in_key: str
    oldest_in_key: str
    oldest_of: str


def _layout(shared: bool) -> Layout:
    mine = "slot = :slot" if shared else "1"
    slot_col, slot_val = ("slot, ", ":slot, ") if shared else ("", "")
    return Layout(
        shared=shared,
        self_id="SELECT id FROM nodes WHERE slot = :slot" if shared else "SELECT id FROM self",
        save_self_id=(
            ("INSERT OR REPLACE INTO nodes (slot, id) VALUES (:slot, :id)",) if shared
            else ("DELETE FROM self", "INSERT INTO self (id) VALUES (:id)")
        ),
        delete_contacts=f"DELETE FROM contacts WHERE {mine}",
        insert_contact=(
            f"INSERT OR REPLACE INTO contacts ({slot_col}id, host, port) VALUES ({slot_val}:id, :host, :port)"
        ),
        contacts=f"SELECT id, host, port FROM contacts WHERE {mine}",
        count_by_key=f"SELECT key, COUNT(*) FROM stored WHERE {mine} GROUP BY key",
        count_by_publisher=f"SELECT publisher, COUNT(*) FROM stored WHERE {mine} GROUP BY publisher",
        refresh=f"UPDATE stored SET last_stored = :now WHERE {mine} AND key = :key AND digest = :digest",
        insert_value=(
            f"INSERT INTO stored ({slot_col}key, digest, value, last_stored, publisher) "
            f"VALUES ({slot_val}:key, :digest, :value, :now, :publisher)"
        ),
        delete_row="DELETE FROM stored WHERE id = :rowid",
        has_value=f"SELECT 1 FROM stored WHERE {mine} AND key = :key AND digest = :digest",
        values=f"SELECT value FROM stored WHERE {mine} AND key = :key",
        expiring=f"SELECT key, value, publisher FROM stored WHERE {mine} AND last_stored < :before",
        expire=f"DELETE FROM stored WHERE {mine} AND last_stored < :before",
        all_values=(
            f"SELECT key, value, last_stored, publisher FROM stored WHERE {mine} ORDER BY last_stored DESC"
        ),
        publishers_in_key=f"SELECT publisher, COUNT(*) FROM stored WHERE {mine} AND key = :key GROUP BY publisher",
        oldest_in_key=(
            f"SELECT id, value FROM stored WHERE {mine} AND key = :key AND publisher = :publisher "
            "ORDER BY last_stored LIMIT 1"
        ),
        oldest_of=(
            f"SELECT id, key, value FROM stored WHERE {mine} AND publisher = :publisher "
            "ORDER BY last_stored LIMIT :limit"
        ),
    )


#: A node's own file: every row is the node's.
NODE_LAYOUT = _layout(shared=False)
#: A lab's shared file: a node's rows are those of its slot.
LAB_LAYOUT = _layout(shared=True)
