"""Contacts: a node's id with its UDP address, and addresses as people type them.

Compact node info (as on the wire): 26 bytes, the id, the IPv4 address as
4 bytes and the port as 2 bytes big-endian (Mainline's ``nodes6`` uses 38
bytes, with the 16-byte IPv6 address).  A :class:`Contact` holds an IP
address in its canonical text form, checked when it is made: every contact
can be packed, and nothing a peer sends (or a user types) can make
:meth:`Contact.compact` fail later, in a handler or a lookup.  The Khashmir
wire carries IPv4 only: its nodes listen on IPv4 sockets and
:meth:`Contact.from_compact` reads 26-byte infos, so IPv6 contacts exist only
for the Mainline profile.

Addresses typed by a user go through two steps.  :func:`parse_address` is
synchronous and checks the text (``host:port``, ``[IPv6]:port``; a missing host
is refused at once, with one line saying what is wrong).  :func:`dht.rpc.resolve.resolve_address`
then turns a host name into an address through the event loop's
``getaddrinfo`` (run in its executor, so the loop never blocks).  Replies come
from the resolved address, which is why requests must be sent to it and not
to the name (``localhost`` answers as ``127.0.0.1``).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from dataclasses import dataclass

from .errors import AddressError, LocalError, RemoteProtocolError

COMPACT_SIZE = 26
Address = tuple[str, int]

#: How long a host name may take to resolve before :func:`resolve_address` gives up.
RESOLVE_TIMEOUT = 10.0

IPV6_REFUSED = "IPv6 addresses are not supported: the Khashmir wire carries IPv4 only"


def is_ipv6(host: object) -> bool:
    """Whether ``host`` is an IPv6 address in canonical (compressed, lower-case) form."""
    if not isinstance(host, str) or ":" not in host:
        return False
    try:
        return str(ipaddress.IPv6Address(host)) == host
    except ValueError:
        return False


def is_ipv4(host: object) -> bool:
    """Whether ``host`` is an IPv4 address in strict dotted-quad form."""
    if not isinstance(host, str):
        return False
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return False
    return True


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Contact:
    """A node as we know it on the network: a 20-byte id, an IP address, a port.

    Construction checks all three (raising :class:`AddressError` for the
    address, :class:`LocalError` for the id), so :meth:`compact` never fails.
    """

    id: bytes
    host: str
    port: int

    def __post_init__(self) -> None:
        if not isinstance(self.id, bytes) or len(self.id) != 20:
            raise LocalError(f"a contact's id must be 20 bytes, not {self.id!r:.60}")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise AddressError(f"port {self.port!r} is out of range 0-65535")
        if not is_ipv4(self.host) and not is_ipv6(self.host):
            if isinstance(self.host, str) and ":" in self.host:
                raise AddressError(f"{self.host!r:.80} is not an IPv6 address in canonical form")
            raise AddressError(
                f"{self.host!r:.80} is not an IPv4 address (resolve host names with dht.resolve_address)"
            )

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def compact(self) -> bytes:
        """The compact node info: 26 bytes for IPv4, 38 for IPv6 (Mainline's ``nodes6``)."""
        return self.id + packed_host(self.host) + self.port.to_bytes(2, "big")

    @classmethod
    def from_compact(cls, data: bytes) -> "Contact":
        if not isinstance(data, bytes) or len(data) != COMPACT_SIZE:
            raise RemoteProtocolError("compact node info must be 26 bytes")
        host = sys.intern(socket.inet_ntoa(data[20:24]))  # one string per address
        (port,) = struct.unpack("!H", data[24:26])
        return cls(data[:20], host, port)

    def __str__(self) -> str:
        return f"{self.id.hex()[:8]}@{self.host}:{self.port}"


#: Hosts' packed addresses (every node and every ``ip`` of every answer we send is
#: packed); cleared past _PACKED_KEPT.
_PACKED_HOSTS: dict[str, bytes] = {}
_PACKED_KEPT = 8192


def packed_host(host: str) -> bytes:
    """An IP address's 4 or 16 packed bytes, kept once made; OSError (TypeError for a
    non-string) when ``host`` is not an IP address in a form ``inet_pton`` reads."""
    packed = _PACKED_HOSTS.get(host)
    if packed is None:
        packed = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        if len(_PACKED_HOSTS) >= _PACKED_KEPT:
            _PACKED_HOSTS.clear()
        _PACKED_HOSTS[host] = packed
    return packed


_object_new = object.__new__
_object_setattr = object.__setattr__


def unchecked_contact(node_id: bytes, host: str, port: int) -> Contact:
    """A :class:`Contact` made without its checks, for decoders whose bytes make it
    valid by construction (a 20-byte slice, ``inet_ntoa`` of 4 bytes, a 16-bit
    port): every answer of every lookup carries 8 of them, and the checks were a
    third of their decoding.  Anything else makes contacts with ``Contact(...)``."""
    contact: Contact = _object_new(Contact)
    _object_setattr(contact, "id", node_id)
    _object_setattr(contact, "host", host)
    _object_setattr(contact, "port", port)
    return contact


def ipv6_literal(host: str) -> str | None:
    """``host`` (``::1`` or ``[::1]``) as a canonical IPv6 address, None when it is not
    one (AddressError when it looks like one and is not)."""
    if not (host.startswith("[") or ":" in host):
        return None
    inner = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.IPv6Address(inner))
    except ValueError:
        raise AddressError(f"{host!r:.80} is not an IPv6 address") from None


def check_host(host: str) -> None:
    """Raise :class:`AddressError` unless ``host`` is an IPv4 or IPv6 address or a host
    name (an IPv6 address is refused later, by a Khashmir node: its wire is IPv4 only)."""
    if not host:
        raise AddressError("missing host")
    if ipv6_literal(host) is not None:
        return
    if any(ch.isspace() for ch in host):
        raise AddressError("host must not contain spaces")
    if len(host) > 253 or not all(ch.isalnum() or ch in "-._" for ch in host) or not host.isascii():
        raise AddressError(f"{host!r:.80} is not a host name or an IPv4 address")
    labels = host.rstrip(".").split(".")
    if all(label.isdigit() for label in labels) and not is_ipv4(host):
        raise AddressError(f"{host} is not a valid IPv4 address (expected four numbers 0-255)")


def parse_address(text: str) -> Address:
    """``"host:port"`` to ``(host, port)``; the host may be a name (see :func:`resolve_address`).

    IPv6 is written ``[::1]:4000`` (the host comes back canonical, without
    brackets).  Raises :class:`AddressError` with one line saying what is
    wrong: a bare IPv6 address (``::1:4000``, whose port cannot be told) and
    a missing host (``:4000``) are refused at once.  Used by the CLI and the
    explorer alike.
    """
    text = text.strip()
    if not text:
        raise AddressError("enter an address as host:port")
    if text.startswith("["):
        inner, sep, port_text = text[1:].partition("]")
        if not sep or not port_text.startswith(":"):
            raise AddressError(f"missing ':port' after {text!r:.80} (expected [IPv6]:port)")
        host = ipv6_literal(inner) or ""
        if not host:
            raise AddressError(f"{inner!r:.80} is not an IPv6 address")
        return host, _port(port_text[1:])
    if text.count(":") > 1:
        raise AddressError(f"write an IPv6 address with its port as [address]:port, not {text!r:.80}")
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise AddressError(f"missing ':port' after {text!r:.80} (expected host:port)")
    host = host.strip()
    if not host:
        raise AddressError(f"missing host before ':{port_text:.20}' (expected host:port)")
    port = _port(port_text)
    check_host(host)
    return host, port


def _port(port_text: str) -> int:
    if not port_text.isdigit() or not port_text.isascii():
        raise AddressError(f"port {port_text!r:.20} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise AddressError(f"port {port} is out of range 1-65535")
    return port
