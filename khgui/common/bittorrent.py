"""What the user types on the Mainline form: info-hashes, magnet links, BEP 44 inputs.

:func:`parse_info_hash` takes 40 hex digits or a magnet link
(``magnet:?xt=urn:btih:`` followed by 40 hex digits or 32 base32
characters, BEP 9) and never raises: it returns the 20-byte info-hash, or
None with a message saying what to type instead.  :func:`check_value` and
:func:`check_salt` apply BEP 44's limits (a value of at most 1000 bytes
bencoded, a salt of at most 64 bytes) before anything is sent.

:func:`mutable_key` reads the key pair of mutable items from its file in
the data directory (the raw 32-byte Ed25519 seed that ``Node.put_mutable``
creates on first use, mode 0600) through ``dht.load_key``, saying what to
do when it cannot; the targets (``dht.mutable_target``,
``dht.immutable_item_target``) and the info-hash parser
(``dht.info_hash_from_text``) are dht's own, shared with the ``dht`` CLI.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dht import info_hash_from_text, load_key
from dht.errors import LocalError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

#: BEP 44: the largest value (bencoded), and the largest salt, in bytes.
MAX_ITEM_BYTES = 1000
MAX_SALT_BYTES = 64
#: The key pair's file name in the data directory.
KEY_FILE_NAME = "bep44-ed25519.key"


@dataclass(frozen=True)
class ParsedHash:
    """An info-hash, or None with the message to show; ``source`` says how it was written."""

    info_hash: bytes | None
    message: str
    source: str = ""

    @property
    def ok(self) -> bool:
        return self.info_hash is not None


def parse_info_hash(text: str) -> ParsedHash:
    """Parse an info-hash field: 40 hex digits or a magnet link (never raises)."""
    text = text.strip()
    try:
        info_hash = info_hash_from_text(text)
    except LocalError as exc:
        message = str(exc)
        return ParsedHash(None, message[:1].upper() + message[1:] + ".")
    if text.lower().startswith("magnet:"):
        names = [v for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(text).query) if k == "dn"]
        name = f" \u201c{names[0][:60]}\u201d" if names else ""
        return ParsedHash(info_hash, f"info-hash {info_hash.hex()} \u2014 from the magnet link{name}", "magnet")
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


def mutable_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """The key pair in ``path``; KeyFileError saying what to do when it cannot be used."""
    p = Path(path)
    if not p.exists():
        raise KeyFileError(f"No key file at {p}: Put a mutable item first (it creates the key pair), "
                           f"or copy your key file there.")
    try:
        return load_key(p)
    except LocalError as exc:
        raise KeyFileError(f"{str(exc)[:1].upper()}{str(exc)[1:]}: fix it, or move the file away "
                           f"to make a new key pair.") from None
