"""Key text from the user: validation and a live description of the key.

A key is 40 hex digits used as is, or any other text hashed with SHA-1
(``dht.key_from_text``).  :func:`parse_key_text` never raises: it returns
the key, or None with the reason to show inline.
"""

from __future__ import annotations

from dataclasses import dataclass

from dht import key_from_text
from dht.errors import LocalError


@dataclass(frozen=True)
class ParsedKey:
    """The outcome of parsing key text: ``key`` is None when ``message`` is an error."""

    key: bytes | None
    message: str
    hashed: bool = False

    @property
    def ok(self) -> bool:
        return self.key is not None


def parse_key_text(text: str) -> ParsedKey:
    """Parse what the user typed in a key field."""
    if not text:
        return ParsedKey(None, "Type a key: 40 hex digits, or any text to hash with SHA-1")
    if text != text.strip():
        note = " (spaces around the text are part of it)"
    else:
        note = ""
    try:
        key = key_from_text(text)
    except LocalError as exc:
        return ParsedKey(None, str(exc))
    hashed = key.hex() != text.lower()
    how = "SHA-1 of the text" if hashed else "40 hex digits, used as is"
    return ParsedKey(key, f"key {key.hex()} \u2014 {how}{note}", hashed)
