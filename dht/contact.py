"""Contacts: a node's id with its UDP address, and their compact form.

Compact node info (as on the wire): 26 bytes, the id, the IPv4 address as
4 bytes and the port as 2 bytes big-endian.
"""

from __future__ import annotations

import socket
import struct
import sys
from dataclasses import dataclass

from .errors import RemoteProtocolError

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
