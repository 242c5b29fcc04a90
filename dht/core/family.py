"""IP address families: the one home of what differs between a node's IPv4 and IPv6 sides.

A Mainline node may be dual-stack (BEP 32): one socket, machine and routing
table per family.  Everything that depends on the family -- its ``want``
name (``n4``/``n6``), its ``nodes`` key, the size of a compact node info, its
wildcard and loopback addresses, how an address is written with its port --
is a field of its :class:`Family` here, so no module asks ``":" in host`` or
compares a family number itself: it takes :func:`family_of` a host and reads
the family's fields.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .errors import AddressError


@dataclass(frozen=True, slots=True)
class Family:
    """One IP address family, as the DHT sees it."""

    #: 4 or 6
    version: int
    #: "IPv4" or "IPv6", as shown to people
    label: str
    #: the family's name in a query's ``want`` (BEP 32)
    want: bytes
    #: the key of the family's nodes in an answer (BEP 32)
    nodes_key: bytes
    #: bytes of one compact node info
    node_size: int
    #: the address that listens on every interface
    wildcard: str
    #: the loopback address
    loopback: str

    @property
    def nodes_field(self) -> str:
        """The answer's field of the family's nodes (``nodes``, ``nodes6``)."""
        return self.nodes_key.decode()

    @property
    def ipv6(self) -> bool:
        return self.version == 6

    def shown(self, host: str, port: int) -> str:
        """``host:port`` (``[host]:port`` for IPv6, as in a URL)."""
        return f"[{host}]:{port}" if self.ipv6 else f"{host}:{port}"

    def is_loopback(self, host: str) -> bool:
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return self.label


V4 = Family(4, "IPv4", b"n4", b"nodes", 26, "0.0.0.0", "127.0.0.1")
V6 = Family(6, "IPv6", b"n6", b"nodes6", 38, "::", "::1")
FAMILIES = (V4, V6)


def family_of(host: str) -> Family:
    """The family of an IP address text (AddressError for anything else)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise AddressError(f"{host!r} is not an IP address") from None
    return V6 if ip.version == 6 else V4


def is_v6(host: str) -> bool:
    """Whether ``host`` (an IP address text from a socket or a codec) is IPv6."""
    return ":" in host


def shown(address: tuple[str, int]) -> str:
    """An address as people write it: ``1.2.3.4:6881`` or ``[::1]:6881``."""
    host, port = address
    return f"[{host}]:{port}" if is_v6(host) else f"{host}:{port}"


def wanted(want: tuple[bytes, ...], own: Family) -> tuple[Family, ...]:
    """The families whose nodes a query's ``want`` asks for (BEP 32); none named, or
    none we know: the asker's own family, as libtorrent answers."""
    found = tuple(f for f in FAMILIES if f.want in want)
    return found or (own,)
