"""Contacts: a node's id with its UDP address, and their compact form.

Compact node info (as on the wire): 26 bytes, the id, the IPv4 address as
4 bytes and the port as 2 bytes big-endian.
"""

from __future__ import annotations

import socket
import struct
import sys
from dataclasses import dataclass

from .errors import AddressError, RemoteProtocolError

COMPACT_SIZE = 26
Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Contact:
    """A node as we know it on the network."""

    id: bytes
    host: str
    port: int

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def compact(self) -> bytes:
        """The 26-byte compact node info."""
        return self.id + socket.inet_aton(self.host) + struct.pack("!H", self.port)

    @classmethod
    def from_compact(cls, data: bytes) -> "Contact":
        if not isinstance(data, bytes) or len(data) != COMPACT_SIZE:
            raise RemoteProtocolError("compact node info must be 26 bytes")
        host = sys.intern(socket.inet_ntoa(data[20:24]))  # one string per address
        (port,) = struct.unpack("!H", data[24:26])
        return cls(data[:20], host, port)

    def __str__(self) -> str:
        return f"{self.id.hex()[:8]}@{self.host}:{self.port}"


def parse_address(text: str) -> Address:
    """``"host:port"`` (or ``"[v6]:port"``) to ``(host, port)``.

    Raises :class:`AddressError` with a short reason; used by the CLI and
    the explorer alike.
    """
    text = text.strip()
    if not text:
        raise AddressError("enter an address as host:port")
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[] ")
    if not sep or not host:
        raise AddressError("missing ':port' (expected host:port)")
    if not port_text.isdigit():
        raise AddressError(f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise AddressError(f"port {port} is out of range 1-65535")
    if any(ch.isspace() for ch in host):
        raise AddressError("host must not contain spaces")
    return host, port
