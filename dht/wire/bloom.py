"""BEP 33 scrape bloom filters: ``BFsd`` (seeds) and ``BFpe`` (peers).

A filter is 256 bytes (m = 2048 bits) with k = 2: an IP's packed bytes
(4 or 16, never a port) are SHA-1 hashed, and bits ``h[0] | h[1] << 8`` and
``h[2] | h[3] << 8`` (each mod m) are set, bit ``i`` being ``1 << (i % 8)``
of byte ``i // 8``.  The number of distinct IPs in a filter is estimated
from its zero bits ``c`` (at most m - 1) as
``log(c / m) / (k * log(1 - 1 / m))``; the union of filters is their OR,
so estimates from several nodes are combined by OR-ing first.  The
estimate breaks down near 8000 entries, which is why a store keeps fewer
(BEP 33 asks for at most 6000 per swarm).

A store answering scrapes hashes an IP once, when it joins a swarm
(:func:`bit_indices`, kept with the IP), and keeps each swarm's two filters
from one scrape to the next: a joining IP sets its bits in them
(:meth:`ScrapeBloom.set_bits`), and only a leaving one has them remade from
the kept bits, at the next scrape.  So a scrape flood costs no hashing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import socket
from typing import Iterable

from ..core.errors import RemoteProtocolError

BLOOM_BYTES = 256
BLOOM_BITS = BLOOM_BYTES * 8
HASHES = 2


class ScrapeBloom:
    """A mutable 256-byte BEP 33 bloom filter."""

    __slots__ = ("bits",)

    def __init__(self, data: bytes | None = None) -> None:
        if data is None:
            self.bits = bytearray(BLOOM_BYTES)
        else:
            if not isinstance(data, bytes) or len(data) != BLOOM_BYTES:
                raise RemoteProtocolError(f"a scrape bloom filter is {BLOOM_BYTES} bytes")
            self.bits = bytearray(data)

    def add_ip(self, ip: str | bytes) -> None:
        """Insert an IP (text, or its 4 or 16 packed bytes)."""
        self.set_bits(bit_indices(ip))

    def set_bits(self, indices: tuple[int, ...]) -> None:
        """Set the bits :func:`bit_indices` gave for an IP."""
        for index in indices:
            self.bits[index // 8] |= 1 << (index % 8)

    def union(self, other: "ScrapeBloom") -> "ScrapeBloom":
        out = ScrapeBloom()
        out.bits = bytearray(a | b for a, b in zip(self.bits, other.bits))
        return out

    def estimate(self) -> float:
        """The estimated number of distinct IPs inserted."""
        zeros = BLOOM_BITS - sum(bin(b).count("1") for b in self.bits)
        c = min(BLOOM_BITS - 1, zeros)
        return math.log(c / BLOOM_BITS) / (HASHES * math.log(1 - 1 / BLOOM_BITS))

    def to_bytes(self) -> bytes:
        return bytes(self.bits)

    @classmethod
    def of(cls, ips: Iterable[str | bytes]) -> "ScrapeBloom":
        bloom = cls()
        for ip in ips:
            bloom.add_ip(ip)
        return bloom


def packed_ip(ip: str) -> bytes:
    """An IP address text's 4 or 16 bytes (what BEP 33 hashes)."""
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)
    except OSError:
        return ipaddress.ip_address(ip).packed  # forms inet_pton does not read (ValueError if none)


def bit_indices(ip: str | bytes) -> tuple[int, ...]:
    """The HASHES bits an IP (text, or packed) sets in a BEP 33 filter."""
    h = hashlib.sha1(ip if isinstance(ip, bytes) else packed_ip(ip)).digest()
    return tuple((h[2 * i] | h[2 * i + 1] << 8) % BLOOM_BITS for i in range(HASHES))
