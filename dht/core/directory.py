"""The process's directory of contacts: one Contact object and one integer key per node.

Why.  In a lab every node is held in the routing tables of many others (a
table of 10 buckets: about 80 contacts; each lab node in about as many
tables), and each table made its own Contact of it from a datagram (with a
20-byte id of its own) and its own 160-bit integer key: about 160 bytes per
entry, most of a lab node's routing table.  :func:`listed` gives a routing
table the directory's one Contact equal to the one it is about to keep (the
same id, host and port), and that id's key, made once: the datagram's
contact is then dropped.  Every table of the process shares them.

The directory holds its contacts weakly: one no table (nor anything else)
holds any more leaves it, so a long-running node whose contacts come and go
keeps only those it still knows.  Each listed contact costs the directory
about 250 bytes once, whatever the number of tables that share it.

Thread-safe as dicts are: two threads listing the same contact at once may
each keep their own (equal) one, which is only a missed sharing.
"""

from __future__ import annotations

import weakref

from .contact import Contact

_Ident = tuple[bytes, str, int]

#: (id, host, port) -> (a weak reference to the one contact, the id as an integer)
_LISTED: dict[_Ident, tuple["weakref.KeyedRef[_Ident, Contact]", int]] = {}


def listed(contact: Contact) -> tuple[Contact, int]:
    """The directory's contact equal to ``contact`` (``contact`` itself when it is the
    first), and its id as a big-endian integer (one int object shared with it)."""
    ident = (contact.id, contact.host, contact.port)
    found = _LISTED.get(ident)
    if found is not None:
        known = found[0]()
        if known is not None:
            return known, found[1]
    key = int.from_bytes(contact.id, "big")
    _LISTED[ident] = (weakref.KeyedRef(contact, _gone, ident), key)
    return contact, key


def _gone(ref: "weakref.KeyedRef[_Ident, Contact]") -> None:
    """A listed contact was collected: forget it (unless listed anew since)."""
    found = _LISTED.get(ref.key)
    if found is not None and found[0] is ref:
        del _LISTED[ref.key]


def size() -> int:
    """Contacts listed now (those still held somewhere)."""
    return len(_LISTED)
