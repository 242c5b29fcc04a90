"""The process's directory of contacts: routing tables share one Contact and key per node."""

from __future__ import annotations

import gc
import random

from dht.core import directory
from dht.core.contact import Contact
from dht.core.kbucket import Entry
from dht.core.routing import RoutingTable


def _contacts(rng: random.Random, n: int) -> list[Contact]:
    return [Contact(rng.randbytes(20), f"127.1.{i // 250}.{i % 250 + 1}", 6881) for i in range(n)]


def _entries(table: RoutingTable) -> dict[bytes, Entry]:
    return {e.contact.id: e for e in table.entries()}


def test_tables_keep_one_contact_and_one_key_per_node_whoever_decoded_it() -> None:
    """Three tables offered equal but distinct Contact objects (as three nodes decode them
    from their own datagrams) keep the same object and the same key int for each node."""
    rng = random.Random(7)
    nodes = _contacts(rng, 40)
    tables = [RoutingTable(rng.randbytes(20), 8) for _ in range(3)]
    for table in tables:
        for c in nodes:
            copy = Contact(bytes(bytearray(c.id)), c.host, c.port)  # equal, not the same object
            assert copy == c and copy is not c and copy.id is not c.id
            table.insert(copy, 1.0)
    held = [_entries(t) for t in tables]
    common = set(held[0]) & set(held[1]) & set(held[2])
    assert len(common) >= 8  # each table kept some of the same nodes
    for node_id in common:
        a, b, c = (h[node_id] for h in held)
        assert a.contact is b.contact is c.contact
        assert a.key is b.key is c.key and a.key == int.from_bytes(node_id, "big")


def test_a_contact_no_table_holds_leaves_the_directory() -> None:
    """The directory holds its contacts weakly: dropped by every table, a contact goes,
    and an equal one offered later is listed afresh (its own object, the right key)."""
    rng = random.Random(8)
    gc.collect()  # what earlier tests dropped
    before = directory.size()
    table = RoutingTable(rng.randbytes(20), 8)
    nodes = _contacts(rng, 30)
    for c in nodes:
        table.insert(c, 1.0)
    kept = len(table.entries())
    assert directory.size() >= before + kept
    ids = [e.contact.id for e in table.entries()]
    del table, nodes, c
    gc.collect()
    assert directory.size() == before
    again = Contact(ids[0], "127.9.9.9", 1)
    listed, key = directory.listed(again)
    assert listed is again and key == int.from_bytes(ids[0], "big")


def test_a_moved_contact_is_the_directory_s_one_at_its_new_address() -> None:
    """A node that answers from a new address is kept at it, as the directory's contact
    there, packed anew."""
    rng = random.Random(9)
    table = RoutingTable(rng.randbytes(20), 8)
    first = Contact(rng.randbytes(20), "127.2.0.1", 1000)
    table.insert(first, 1.0)
    (entry,) = table.entries()
    assert entry.compact().endswith(bytes([127, 2, 0, 1]) + (1000).to_bytes(2, "big"))
    moved = Contact(first.id, "127.2.0.2", 1001)
    table.insert(Contact(first.id, moved.host, moved.port), 2.0, contacted=True)
    (entry,) = table.entries()
    assert entry.contact == moved and entry.contact is directory.listed(moved)[0]
    assert entry.compact().endswith(bytes([127, 2, 0, 2]) + (1001).to_bytes(2, "big"))
