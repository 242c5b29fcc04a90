"""What the user typed and published, shared between panels.

:class:`KeyRegistry` remembers the text each key was made from (so the
values panel can show ``"hello"`` next to its SHA-1 key) and the values the
user stored through the form (so they can be marked and republished).  One
application-wide instance is returned by :func:`default_registry`; panels
take an optional ``registry`` argument so tests can use their own.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal


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
