"""Compact addresses, peers and node infos, and the ``v`` client version.

Shared by the wire profiles:

* a compact address is the IP in network order then the port as 2 bytes
  big-endian: 6 bytes for IPv4, 18 for IPv6 (BEP 5, BEP 32); it is the
  form of a ``values`` peer and of the top-level ``ip`` of BEP 42;
* a compact node info is the 20-byte id then a compact address: 26 bytes
  (IPv4, ``nodes``) or 38 bytes (IPv6, ``nodes6``); Mainline sends a
  node list as ONE string of concatenated infos;
* ``v`` is a client code of two characters and two version bytes (BEP 5,
  BEP 20); :func:`decode_client_version` names the client and decodes the
  version where the client's scheme is known (libtorrent packs
  major, minor << 4 | tiny).

Decoders raise :class:`RemoteProtocolError` (the bytes came from a peer);
encoders raise :class:`LocalError` for an address we were given wrongly.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
import sys
from dataclasses import dataclass

from ..core.contact import Contact, packed_host, unchecked_contact
from ..core.errors import LocalError, RemoteProtocolError

Address = tuple[str, int]

_NODE_V4 = struct.Struct("!20s4sH")  # a node info: id, IPv4 address, port
#: Contacts of the IPv4 node infos decoded, by their 26 bytes (cleared past
#: _CONTACTS_KEPT: the infos come from peers).  A network hands out the same
#: nodes again and again, so most infos of an answer are one dictionary lookup.
_CONTACTS: dict[bytes, Contact] = {}
_CONTACTS_KEPT = 8192

ID_BYTES = 20
COMPACT_V4 = 6
COMPACT_V6 = 18
NODE_V4 = ID_BYTES + COMPACT_V4  # 26
NODE_V6 = ID_BYTES + COMPACT_V6  # 38


def _packed_ip(host: str) -> bytes:
    try:  # through the C parser, kept: this runs for every peer and ``ip`` of every answer
        return packed_host(host)
    except (OSError, TypeError, ValueError):
        pass
    try:
        return ipaddress.ip_address(host).packed
    except ValueError:
        raise LocalError(f"not an IP address: {host!r}") from None


def is_ipv6(host: str) -> bool:
    """True for an IPv6 address text (a host we were given, not from a peer)."""
    return len(_packed_ip(host)) == 16


@functools.lru_cache(maxsize=1024)
def encode_compact_address(address: Address) -> bytes:
    """:func:`encode_address`, kept per address: every answer carries its requester's
    (``ip``, BEP 42), and a node answers the same few addresses again and again."""
    return encode_address(address)


def encode_address(address: Address) -> bytes:
    """(host, port) -> 6 or 18 compact bytes."""
    host, port = address
    if not isinstance(port, int) or not 0 <= port <= 0xFFFF:
        raise LocalError(f"port out of range: {port!r}")
    return _packed_ip(host) + port.to_bytes(2, "big")


@functools.lru_cache(maxsize=1024)
def decode_compact_address(data: bytes) -> Address:
    """:func:`decode_address` of exactly 6 or 18 bytes, kept per value: a response's
    ``ip`` (BEP 42) is nearly always the same few addresses, ours as others see it."""
    return decode_address(data)


def decode_address(data: bytes) -> Address:
    """6 or 18 compact bytes -> (host, port)."""
    if not isinstance(data, bytes) or len(data) not in (COMPACT_V4, COMPACT_V6):
        raise RemoteProtocolError("a compact address is 6 or 18 bytes")
    if len(data) == COMPACT_V4:
        host = socket.inet_ntop(socket.AF_INET, data[:4])
    else:
        host = str(ipaddress.IPv6Address(data[:16]))  # its canonical form, as Contact checks it
    return sys.intern(host), int.from_bytes(data[-2:], "big")


def encode_nodes(contacts: list[Contact] | tuple[Contact, ...], ipv6: bool = False) -> bytes:
    """Contacts of one family -> ONE string of concatenated node infos."""
    size = NODE_V6 if ipv6 else NODE_V4
    out = b"".join([c.compact() for c in contacts])  # a Contact's id is 20 bytes (checked when made)
    if len(out) != size * len(contacts):
        raise LocalError("nodes of the wrong address family for " + ("nodes6" if ipv6 else "nodes"))
    return out


def decode_nodes(data: object, ipv6: bool = False) -> tuple[Contact, ...]:
    """ONE string of 26-byte (or 38-byte for ``nodes6``) infos -> contacts."""
    size = NODE_V6 if ipv6 else NODE_V4
    if not isinstance(data, bytes) or len(data) % size:
        raise RemoteProtocolError(f"nodes{'6' if ipv6 else ''} must be a string of {size}-byte infos")
    if ipv6:
        out = []
        for i in range(0, len(data), size):
            host, port = decode_address(data[i + ID_BYTES : i + size])
            out.append(Contact(data[i : i + ID_BYTES], host, port))
        return tuple(out)
    # IPv4, inlined: every answer of every lookup comes through here.  A 20-byte
    # slice, inet_ntoa of 4 bytes and a 16-bit port make a valid contact by
    # construction, so it is made unchecked; contacts are shared (they are frozen).
    known = _CONTACTS
    if len(known) > _CONTACTS_KEPT:
        known.clear()
    made = []
    for i in range(0, len(data), NODE_V4):
        info = data[i : i + NODE_V4]
        contact = known.get(info)
        if contact is None:
            node_id, packed, port = _NODE_V4.unpack(info)
            contact = known[info] = unchecked_contact(node_id, sys.intern(socket.inet_ntoa(packed)), port)
        made.append(contact)
    return tuple(made)


def decode_peers(values: object) -> tuple[Address, ...]:
    """A ``values`` list of 6- or 18-byte compact peers -> addresses."""
    if not isinstance(values, list):
        raise RemoteProtocolError("values must be a list of compact peers")
    return tuple(decode_address(v) for v in values)


# --- the client version ``v`` -------------------------------------------------

#: Client codes seen in ``v`` (BEP 20 codes and those common in the DHT).
CLIENT_NAMES: dict[str, str] = {
    "KE": "Khashmir Explorer",
    "LT": "libtorrent (Rasterbar)",
    "lt": "libTorrent (rakshasa)",
    "UT": "\u00b5Torrent",
    "UM": "\u00b5Torrent for Mac",
    "TR": "Transmission",
    "BT": "BitTorrent",
    "BC": "BitComet",
    "BI": "BiglyBT",
    "AZ": "Vuze",
    "DE": "Deluge",
    "qB": "qBittorrent",
    "KT": "KTorrent",
    "ML": "MLDonkey",
    "WW": "WebTorrent",
    "XL": "Xunlei",
    "SD": "Thunder",
    "GR": "GetRight",
    "JS": "Justseed.it",
}

#: Our own ``v``: "KE" then version 0.1.
OUR_CLIENT = b"KE\x00\x01"


@dataclass(frozen=True, slots=True)
class ClientVersion:
    """A peer's ``v``: the raw bytes, the two-letter code, a name and a version."""

    raw: bytes
    code: str
    name: str | None
    version: str

    def __str__(self) -> str:
        return f"{self.name or self.code} {self.version}".strip()


def decode_client_version(raw: object) -> ClientVersion | None:
    """``v`` as a :class:`ClientVersion`; None when absent or not a 3+ byte string.

    ``v`` is informational: a malformed one is ignored rather than refused.
    """
    if not isinstance(raw, bytes) or len(raw) < 3:
        return None
    return _client_version(raw)


def client_text(raw: object) -> str | None:
    """``str()`` of ``v``'s :class:`ClientVersion` (what a node shows of a client); None as
    :func:`decode_client_version`.  Kept per ``v``: every answer carries one."""
    if not isinstance(raw, bytes) or len(raw) < 3:
        return None
    return _client_text(raw)


@functools.lru_cache(maxsize=1024)
def _client_text(raw: bytes) -> str:
    return str(_client_version(raw))


@functools.lru_cache(maxsize=1024)  # every answer carries one; a network has few
def _client_version(raw: bytes) -> ClientVersion:
    code = raw[:2].decode("latin-1")
    ver = raw[2:]
    if code == "LT" and len(ver) == 2:
        version = f"{ver[0]}.{ver[1] >> 4}.{ver[1] & 0xF}"
    elif len(ver) == 2 and code in CLIENT_NAMES:
        version = f"{ver[0]}.{ver[1]}"
    else:
        version = ver.hex()
    return ClientVersion(raw, code, CLIENT_NAMES.get(code), version)


#: ``WireProfile.features``: messages carry their sender's client and version (``v``).
CLIENT_VERSION = "client_version"
#: ``WireProfile.features``: node ids are checked against their IP address (BEP 42).
BEP42 = "bep42"
#: ``WireProfile.features``: values stored and found under keys (Khashmir's store_value, get_value).
VALUES = "values"
#: ``WireProfile.features``: peers announced and found for info-hashes (BEP 5), and scrapes (BEP 33).
PEERS = "peers"
#: ``WireProfile.features``: immutable and mutable items (BEP 44).
ITEMS = "items"
#: ``WireProfile.features``: info-hash samples (BEP 51).
SAMPLES = "samples"
#: ``WireProfile.features``: a public network on the Internet to join, through routers (read-only, BEP 43).
PUBLIC_NETWORK = "public_network"
#: ``WireProfile.features``: IPv4 and IPv6, a node dual-stack (BEP 32: ``nodes6``, 18-byte peers, ``want``).
IPV6 = "ipv6"
