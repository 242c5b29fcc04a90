"""Snapshots of a node's routing table, as the explorer shows it.

:meth:`dht.node.facade.Node.routing_table` copies the live table into these frozen
values: one :class:`BucketInfo` per K-bucket with a :class:`ContactInfo`
per contact.  They hold no reference to the table, so a GUI or a lab thread
may keep and read them while the node goes on changing its buckets.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ids
from .contact import Contact
from .routing import RoutingTable


@dataclass(frozen=True, slots=True)
class ContactInfo:
    """A contact of the routing table as the explorer shows it.

    ``last_seen``: when it last answered one of our requests (monotonic),
    None if it never did (loaded from the database or seen only in a query).
    """

    contact: Contact
    last_seen: float | None
    failures: int
    rtt: float | None
    client: str | None = None
    """Mainline: the client it runs, from its ``v`` ("libtorrent (Rasterbar) 2.0.11")."""
    id_valid: bool | None = None
    """Mainline: whether its id fits its IP (BEP 42, :func:`dht.core.ids.id_matches_ip`); None when
    its address is exempt (local, private, loopback) or the node speaks Khashmir."""

    @property
    def answered(self) -> bool:
        """It has answered one of our requests (only such contacts are handed out)."""
        return self.last_seen is not None


@dataclass(frozen=True, slots=True)
class BucketInfo:
    lo: int
    hi: int
    last_accessed: float
    contacts: list[ContactInfo]




def bucket_infos(table: RoutingTable, clients: dict[bytes, str], mainline: bool = False) -> list[BucketInfo]:
    """A snapshot of ``table``; ``clients``: Mainline client names by id (``v``);
    ``mainline``: check each contact's id against its IP (BEP 42)."""
    return [
        BucketInfo(
            b.lo, b.hi, b.last_accessed,
            [
                ContactInfo(
                    e.contact, e.last_seen, e.failures, e.rtt, clients.get(e.contact.id),
                    ids.id_fits(e.contact.id, e.contact.host) if mainline else None,
                )
                for e in b.entries
            ],
        )
        for b in table.buckets
    ]
