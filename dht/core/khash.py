"""Ids and keys: 160-bit SHA-1 numbers, XOR distance, and key text.

As apt-p2p's ``khash``: ids are 20 byte strings, compared as big-endian
integers; the distance between two ids is their XOR.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import random
import re
import urllib.parse

from .errors import LocalError

ID_BYTES = 20
ID_SPACE = 1 << 160
_HEX40 = re.compile(r"[0-9a-fA-F]{40}")


def new_id() -> bytes:
    """A fresh random id."""
    return os.urandom(ID_BYTES)


def id_to_int(node_id: bytes) -> int:
    return int.from_bytes(node_id, "big")


def int_to_id(value: int) -> bytes:
    return value.to_bytes(ID_BYTES, "big")


def distance(a: bytes, b: bytes) -> int:
    """XOR distance of two ids, as an integer."""
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


def log2_distance(a: bytes, b: bytes) -> float:
    """log2 of the XOR distance (bit length minus one; -1 for identical ids)."""
    return float(distance(a, b).bit_length() - 1)


def new_id_in_range(lo: int, hi: int) -> bytes:
    """A random id in [lo, hi)."""
    return int_to_id(random.randrange(lo, hi))


def key_from_text(text: str) -> bytes:
    """A key or target from user text: 40 hex digits as is, anything else SHA-1 hashed."""
    if not text:
        raise LocalError("empty key: give 40 hex digits or any text to hash")
    if _HEX40.fullmatch(text):
        return bytes.fromhex(text)
    return hashlib.sha1(text.encode("utf-8")).digest()


def info_hash_from_text(text: str) -> bytes:
    """An info-hash from user text: 40 hex digits, or a magnet link whose ``xt``
    is ``urn:btih:`` with 40 hex digits or 32 base32 characters (BEP 9).

    Raises :class:`LocalError` with one line saying what to type instead.
    """
    text = text.strip()
    if not text:
        raise LocalError("empty info-hash: give 40 hex digits or a magnet link (magnet:?xt=urn:btih:...)")
    if not text.lower().startswith("magnet:"):
        if _HEX40.fullmatch(text):
            return bytes.fromhex(text)
        raise LocalError(f"an info-hash is 40 hex digits (this is {len(text)} characters) or a magnet link")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(text).query)
    for xt in query.get("xt", []):
        if xt.lower().startswith("urn:btih:"):
            digits = xt[len("urn:btih:"):]
            if _HEX40.fullmatch(digits):
                return bytes.fromhex(digits)
            if len(digits) == 32:
                try:
                    return base64.b32decode(digits.upper())
                except (binascii.Error, ValueError):
                    pass
            raise LocalError(f"a magnet link's btih must be 40 hex digits or 32 base32 characters, not {digits!r:.60}")
    raise LocalError("the magnet link has no BitTorrent info-hash (xt=urn:btih:...)")
