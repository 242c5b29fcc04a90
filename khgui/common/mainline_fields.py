"""The Mainline fields of a KRPC message, decoded for the traffic panel's tree.

:func:`mainline_field` turns one field of a Mainline message into
``(summary, children)`` the way :func:`khgui.common.text.message_tree`
does, or returns None for a field it leaves to the generic decoding:

* ``v``: the client name and version (``dht.decode_client_version``:
  ``LT\\x02\\x11`` is "libtorrent (Rasterbar) 2.1.1"), with its code;
* ``ip`` (BEP 42): our address as the responder sees it, ``host:port``;
* ``values``: compact peers (6 bytes IPv4, 18 bytes IPv6) as ``host:port``;
* ``nodes6``: 38-byte compact IPv6 contacts as ``id@[host]:port``;
* ``samples`` (BEP 51): the 20-byte info-hashes, in hex;
* ``info_hash``, ``k`` and ``sig`` (BEP 44) in hex; ``BFsd``/``BFpe`` (BEP 33)
  as bloom filters with their size.

Hostile input is only ever shown: a field of the wrong size falls back to
the generic decoding, never raises.
"""

from __future__ import annotations

import socket
import struct
from typing import Any, Callable

from dht import decode_client_version

Tree = tuple[str, list[tuple[str, Any]]]
_HEX_KEYS = {b"info_hash": 20, b"k": 32, b"sig": 64}
_BLOOM_KEYS = (b"BFsd", b"BFpe")


def compact_address(data: bytes) -> str | None:
    """A 6-byte (IPv4) or 18-byte (IPv6) compact address as ``host:port``; None otherwise."""
    if len(data) == 6:
        return f"{socket.inet_ntop(socket.AF_INET, data[:4])}:{struct.unpack('!H', data[4:])[0]}"
    if len(data) == 18:
        return f"[{socket.inet_ntop(socket.AF_INET6, data[:16])}]:{struct.unpack('!H', data[16:])[0]}"
    return None


def _nodes6(data: bytes) -> list[str] | None:
    if not data or len(data) % 38:
        return None
    return [f"{data[i:i + 8].hex()}\u2026@{compact_address(data[i + 20:i + 38])}" for i in range(0, len(data), 38)]


def mainline_field(key: bytes | None, value: Any, leaf: Callable[[str], Any]) -> Tree | None:
    """``(summary, children)`` for a Mainline field, or None; ``leaf(text)`` makes a child leaf."""
    if key == b"v" and isinstance(value, bytes):
        client = decode_client_version(value)
        if client is None:
            return None
        return f"{client} ({client.code}, 0x{value.hex()})", []
    if key == b"ip" and isinstance(value, bytes):
        address = compact_address(value)
        return (f"{address} (our address as they see it)", []) if address else None
    if key == b"values" and isinstance(value, list) and value:
        peers = [compact_address(v) if isinstance(v, bytes) else None for v in value]
        if any(p is None for p in peers):
            return None
        return f"{len(peers)} peers", [(f"[{i}]", leaf(p)) for i, p in enumerate(peers) if p]
    if key == b"nodes6" and isinstance(value, bytes):
        nodes = _nodes6(value)
        return (f"{len(nodes)} IPv6 nodes", [(f"[{i}]", leaf(n)) for i, n in enumerate(nodes)]) if nodes else None
    if key == b"samples" and isinstance(value, bytes) and len(value) % 20 == 0:
        hashes = [value[i:i + 20].hex() for i in range(0, len(value), 20)]
        return f"{len(hashes)} info-hashes", [(f"[{i}]", leaf(h)) for i, h in enumerate(hashes)]
    if key in _HEX_KEYS and isinstance(value, bytes) and len(value) == _HEX_KEYS[key]:
        return value.hex(), []
    if key in _BLOOM_KEYS and isinstance(value, bytes):
        return f"bloom filter ({len(value)} bytes, {sum(bin(b).count('1') for b in value)} bits set)", []
    return None
