"""Keys the user types: parsing them, and remembering their texts and values.

A key is 40 hex digits used as is, or any other text hashed with SHA-1
(``dht.key_from_text``).  :func:`parse_key_text` never raises: it returns
the key, or None with the reason to show inline.

:class:`KeyRegistry` remembers the text each key was made from (so the
values panel can show ``"hello"`` next to its SHA-1 key) and the values the
user stored through the form (so they can be marked and republished).
Attached to a file (:meth:`KeyRegistry.attach`, in our node's data
directory, :mod:`.published`), it keeps the published values and their
key texts there, so they survive a restart.  One application-wide instance
is returned by :func:`default_registry`; the controller and the panels take
an optional ``registry`` argument so tests can use their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from dht import key_from_text
from dht.errors import LocalError

from . import published as published_file


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
        error(str): the file of published values could not be read or written.
    """

    changed = Signal()
    error = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._texts: dict[bytes, str] = {}
        self._published: dict[tuple[bytes, bytes], float] = {}
        self._path: Path | None = None

    # -- the file ----------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file the published values are kept in (None: not kept)."""
        return self._path

    def attach(self, path: Path) -> int:
        """Keep the published values in ``path`` from now on, adding those it holds.

        Values published while no file was attached are added to it; those of
        another file attached before stay in that file (another data directory,
        another node).  Returns how many values the file held; a damaged file is
        moved aside and reported through :attr:`error`.
        """
        if path == self._path:
            return 0
        if self._path is not None and self._published:
            self._published = {}
            self.changed.emit()
        self._path = path
        try:
            items = published_file.load(path)
        except published_file.PublishedFileError as exc:
            self.error.emit(str(exc))
            items = []
        for item in items:
            pair = (item.key, item.value)
            self._published[pair] = max(item.when, self._published.get(pair, 0.0))
            if item.text and item.key not in self._texts:
                self._texts[item.key] = item.text
        if len(items) != len(self._published):
            self._save()
        if items:
            self.changed.emit()
        return len(items)

    def _save(self) -> None:
        if self._path is None:
            return
        items = [published_file.Published(k, v, self._texts.get(k, ""), when)
                 for (k, v), when in self._published.items()]
        try:
            published_file.save(self._path, items)
        except published_file.PublishedFileError as exc:
            self.error.emit(str(exc))

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
        self._save()
        self.changed.emit()

    def forget_published(self, key: bytes, value: bytes) -> None:
        if self._published.pop((key, value), None) is not None:
            self._save()
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
