"""The routing table's address limits: how many contacts may share one IP and one /24.

libtorrent's ``dht_restrict_routing_ips``: with ``max_per_ip`` at most that
many contacts (buckets and caches together) share one IP address in the
whole table, and with ``max_per_subnet`` at most that many share one /24 in
one bucket.  Loopback addresses count as one host each for the /24 rule
(all of 127/8 is this machine, where labs put their nodes), and
``exempt_host`` (our own loopback address, where a lab on one address puts
all its nodes) is exempt from both.  :class:`AddressLimits` counts and
checks; the table holds and releases each contact it keeps or drops.

When an address answers one of our requests with an id the table has no
room for there, :func:`gives_way` names who leaves for it: whoever else we
knew at that very address, or else a never-answered contact at the same IP.
Nothing here sends or reads a clock.
"""

from __future__ import annotations

import sys

from .contact import Address, Contact
from .kbucket import Entry, KBucket


def subnet_of(host: str) -> str:
    """The /24 a host is in, for the per-bucket rule; a loopback host is its own."""
    if host.startswith("127."):
        return host
    subnet = _SUBNETS.get(host)
    if subnet is None:
        subnet = sys.intern(host.rpartition(".")[0])
        if len(_SUBNETS) >= _SUBNETS_KEPT:
            _SUBNETS.clear()
        _SUBNETS[host] = subnet
    return subnet


#: Hosts' /24s, kept once made (every table asks for every contact's at each offer;
#: one string per host for all the nodes of a process), cleared past _SUBNETS_KEPT.
_SUBNETS: dict[str, str] = {}
_SUBNETS_KEPT = 8192


class AddressLimits:
    """How many contacts may share one IP address (in the whole table) and one
    /24 (in one bucket, its cache included); None: no limit.

    ``exempt_host`` (our own loopback address: a lab on one address) is never
    limited nor counted.  ``counts`` is kept by :meth:`hold` and :meth:`release`
    for every contact the table keeps, in a bucket or a cache.
    """

    def __init__(self, max_per_ip: int | None, max_per_subnet: int | None,
                 exempt_host: str | None = None) -> None:
        self.max_per_ip = max_per_ip
        self.max_per_subnet = max_per_subnet
        self.exempt_host = exempt_host
        self.counts: dict[str, int] = {}  # host -> contacts the table keeps at it

    def allows(self, contact: Contact, bucket: KBucket, moving: Entry | None = None) -> bool:
        """Whether ``bucket`` may take ``contact`` (``moving``: its own entry, not counted)."""
        host = contact.host
        if host == self.exempt_host:
            return True
        if self.max_per_ip is not None and self.counts.get(host, 0) >= self.max_per_ip:
            return False
        if self.max_per_subnet is not None:
            subnet = subnet_of(host)
            same = 0
            exempt = self.exempt_host
            for e in bucket.entries + bucket.replacements:
                c = e.contact
                if e is not moving and c.host != exempt and subnet_of(c.host) == subnet:
                    same += 1
            if same >= self.max_per_subnet:
                return False
        return True

    def hold(self, contact: Contact) -> None:
        if contact.host != self.exempt_host:
            self.counts[contact.host] = self.counts.get(contact.host, 0) + 1

    def release(self, contact: Contact) -> None:
        host = contact.host
        if host == self.exempt_host:
            return
        left = self.counts.get(host, 0) - 1
        if left > 0:
            self.counts[host] = left
        else:
            self.counts.pop(host, None)


def gives_way(buckets: list[KBucket], address: Address, key: int) -> tuple[Entry, str] | None:
    """``address`` answered us with id ``key``: who gives way there, and why (None: nobody).

    Whoever else we knew at that very address is gone; failing that, a
    contact at the same IP that never answered us (a saved contact of an
    earlier run, say, where a restarted host now listens on another port)
    gives way to this one, which just did.
    """
    unanswered: Entry | None = None
    for b in buckets:
        for e in b.entries + b.replacements:
            if e.key == key:
                continue
            if e.contact.address == address:
                return e, "its address answers with another id"
            if unanswered is None and not e.answered and e.contact.host == address[0]:
                unanswered = e
    if unanswered is None:
        return None
    return unanswered, "never answered; another node answers at its IP"
