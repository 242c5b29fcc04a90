"""Keys the user types: parsing them, and remembering their texts and values.

A key is 40 hex digits used as is, or any other text hashed with SHA-1
(``dht.key_from_text``).  :func:`parse_key_text` never raises: it returns
the key, or None with the reason to show inline.

:class:`KeyRegistry` remembers the text each key was made from (so the
values panel can show ``"hello"`` next to its SHA-1 key) and the values the
user stored through the form (so they can be marked and republished).  One
application-wide instance is returned by :func:`default_registry`; panels
take an optional ``registry`` argument so tests can use their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

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


class KeyRegistry(QObject):
    """Key texts and published values.

    Signals:
        changed(): a text or a published value was added or updated.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._texts: dict[bytes, str] = {}
        self._published: dict[tuple[bytes, bytes], float] = {}

    # -- key texts -----------------------------------------------------------

    def remember_text(self, key: bytes, text: str) -> None:
        """Remember that ``key`` was made from ``text`` (hex input is not remembered)."""
        if text and text.lower() != key.hex() and self._texts.get(key) != text:
            self._texts[key] = text
            self.changed.emit()

    def text_for(self, key: bytes) -> str | None:
        return self._texts.get(key)

    # -- published values ------------------------------------------------------

    def mark_published(self, key: bytes, value: bytes, when: float | None = None) -> None:
        """Record that the user stored ``value`` under ``key`` at wall time ``when``."""
        self._published[(key, value)] = time.time() if when is None else when
        self.changed.emit()

    def forget_published(self, key: bytes, value: bytes) -> None:
        if self._published.pop((key, value), None) is not None:
            self.changed.emit()

    def is_published(self, key: bytes, value: bytes) -> bool:
        return (key, value) in self._published

    def published(self) -> dict[tuple[bytes, bytes], float]:
        """A copy of ``{(key, value): last published wall time}``."""
        return dict(self._published)

    def due(self, now: float, period: float) -> list[tuple[bytes, bytes]]:
        """Published values last stored ``period`` seconds or more before ``now``."""
        return [kv for kv, when in self._published.items() if now - when >= period]


_default: KeyRegistry | None = None


def default_registry() -> KeyRegistry:
    """The application-wide registry (created on first use)."""
    global _default
    if _default is None:
        _default = KeyRegistry()
    return _default
