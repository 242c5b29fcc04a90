"""What the user types on the Mainline form: info-hashes, magnet links, BEP 44 inputs.

:func:`parse_info_hash` takes 40 hex digits or a magnet link
(``magnet:?xt=urn:btih:`` followed by 40 hex digits or 32 base32
characters, BEP 9) and never raises: it returns the 20-byte info-hash, or
None with a message saying what to type instead.  :func:`check_value` and
:func:`check_salt` apply BEP 44's limits (a value of at most 1000 bytes
bencoded, a salt of at most 64 bytes) before anything is sent.

:func:`mutable_key` reads the key pair of mutable items from its file in
the data directory (the raw 32-byte Ed25519 seed that ``Node.put_mutable``
creates on first use, mode 0600) and :func:`mutable_target` is BEP 44's
target, SHA-1 of the public key and the salt: a Get of a mutable item needs
both before any lookup.  dht exports no key-file reader, so the file is
read here with ``cryptography``, the library dht itself uses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

#: BEP 44: the largest value (bencoded), and the largest salt, in bytes.
MAX_ITEM_BYTES = 1000
MAX_SALT_BYTES = 64
#: The key pair's file name in the data directory.
KEY_FILE_NAME = "bep44-ed25519.key"
SEED_BYTES = 32
_MAGNET_PREFIX = "urn:btih:"


@dataclass(frozen=True)
class ParsedHash:
    """An info-hash, or None with the message to show; ``source`` says how it was written."""

    info_hash: bytes | None
    message: str
    source: str = ""

    @property
    def ok(self) -> bool:
        return self.info_hash is not None


def _from_btih(text: str) -> bytes | None:
    if len(text) == 40:
        try:
            return bytes.fromhex(text)
        except ValueError:
            return None
    if len(text) == 32:
        try:
            return base64.b32decode(text.upper())
        except (binascii.Error, ValueError):
            return None
    return None


def parse_info_hash(text: str) -> ParsedHash:
    """Parse an info-hash field: 40 hex digits or a magnet link."""
    text = text.strip()
    if not text:
        return ParsedHash(None, "Type an info-hash: 40 hex digits, or a magnet link (magnet:?xt=urn:btih:\u2026)")
    if text.lower().startswith("magnet:"):
        query = urllib.parse.urlsplit(text).query
        topics = [v for k, v in urllib.parse.parse_qsl(query) if k == "xt"]
        btih = [t[len(_MAGNET_PREFIX):] for t in topics if t.lower().startswith(_MAGNET_PREFIX)]
        if not btih:
            return ParsedHash(None, "This magnet link has no BitTorrent info-hash: it needs "
                                    "xt=urn:btih: and 40 hex digits or 32 base32 characters.")
        info_hash = _from_btih(btih[0])
        if info_hash is None:
            return ParsedHash(None, f"The magnet link's info-hash {btih[0][:48]!r} is not 40 hex digits "
                                    f"or 32 base32 characters ({len(btih[0])} characters).")
        names = [v for k, v in urllib.parse.parse_qsl(query) if k == "dn"]
        name = f" \u201c{names[0][:60]}\u201d" if names else ""
        return ParsedHash(info_hash, f"info-hash {info_hash.hex()} \u2014 from the magnet link{name}", "magnet")
    info_hash = _from_btih(text) if len(text) == 40 else None
    if info_hash is None:
        return ParsedHash(None, f"An info-hash is 40 hex digits (this is {len(text)} characters"
                                f"{'' if len(text) != 40 else ', not all hex'}), or paste a magnet link.")
    return ParsedHash(info_hash, f"info-hash {info_hash.hex()} \u2014 40 hex digits", "hex")


def bencoded_text_size(text: str) -> int:
    """The size of ``text`` as a bencoded byte string (``len:bytes``)."""
    n = len(text.encode("utf-8"))
    return len(str(n)) + 1 + n


def check_value(text: str) -> str:
    """"" if ``text`` fits a BEP 44 item, else what to do."""
    if not text:
        return "Type the item's value (UTF-8 text)."
    size = bencoded_text_size(text)
    if size > MAX_ITEM_BYTES:
        return (f"The value is {size:,} bytes bencoded; BEP 44 allows {MAX_ITEM_BYTES:,}: "
                f"shorten it by {size - MAX_ITEM_BYTES:,} bytes.")
    return ""


def check_salt(text: str) -> str:
    """"" if ``text`` fits a BEP 44 salt, else what to do."""
    size = len(text.encode("utf-8"))
    if size > MAX_SALT_BYTES:
        return f"The salt is {size} bytes; BEP 44 allows {MAX_SALT_BYTES}: shorten it."
    return ""


class KeyFileError(Exception):
    """The key file is missing or unreadable; the message says what to do."""


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def mutable_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The key pair in ``path``; KeyFileError saying what to do when it cannot be used."""
    p = Path(path)
    try:
        st = p.stat()
        data = p.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"No key file at {p}: Put a mutable item first (it creates the key pair), "
                           f"or copy your key file there.") from None
    except OSError as exc:
        raise KeyFileError(f"Cannot read the key file {p}: {exc.strerror}. "
                           f"Make it readable by you (chmod 600), or move it away to make a new key pair.") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyFileError(f"The key file {p} is readable by others: chmod 600 it.")
    if len(data) != SEED_BYTES:
        raise KeyFileError(f"The key file {p} holds {len(data)} bytes, not a raw {SEED_BYTES}-byte Ed25519 "
                           f"seed: move it away to make a new key pair.")
    return Ed25519PrivateKey.from_private_bytes(data)


def immutable_target(value: bytes) -> bytes:
    """BEP 44: an immutable item's target, SHA-1 of its bencoded value (a byte string here)."""
    return hashlib.sha1(str(len(value)).encode("ascii") + b":" + value).digest()


def mutable_target(public_key: bytes, salt: bytes) -> bytes:
    """BEP 44: a mutable item's target, SHA-1 of the public key followed by the salt."""
    return hashlib.sha1(public_key + salt).digest()
