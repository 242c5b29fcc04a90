"""Our published values, kept in our node's data directory across restarts.

The values a user stores through the form are theirs to keep: the
:class:`~khgui.common.keys.KeyRegistry` remembers them (and the text each
key was made from), and once our node has started it is attached to
``published-values-<profile>.json`` in that node's data directory
(:func:`published_path`).  :func:`load` reads the file; :func:`save` writes
it whole, to a temporary file first, then renamed over the old one, so a
crash never leaves half a file.  A file that cannot be read or parsed is
moved aside (``.bad``) and named in the message, as the node does with an
unreadable database; nothing else is lost.

The format is JSON, one object per published value: the key and the value
in hex, the key's text when known and when it was last published (wall
clock, seconds).  At most :data:`MAX_PUBLISHED` values are kept (the
oldest published are dropped first).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

#: The file's name in our node's data directory ({profile}: khashmir or mainline).
FILE_NAME = "published-values-{profile}.json"
#: Published values kept at most (each up to MAX_VALUE_SIZE, 1,024 bytes).
MAX_PUBLISHED = 1000
VERSION = 1


@dataclass(frozen=True)
class Published:
    """One published value: ``key`` (20 bytes), ``value``, the key's ``text`` ("" unknown), ``when`` (wall)."""

    key: bytes
    value: bytes
    text: str
    when: float


class PublishedFileError(Exception):
    """The file could not be read or written; the text says which file and why."""


def published_path(data_dir: str | Path, profile: str) -> Path:
    """Where the published values of a node with this data directory and profile are kept."""
    return Path(data_dir) / FILE_NAME.format(profile=profile)


def load(path: Path) -> list[Published]:
    """The published values in ``path`` ([] when there is no such file).

    Raises :class:`PublishedFileError` when it cannot be read or parsed,
    after moving it aside to ``<path>.bad``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishedFileError(f"could not read {path}: {exc}") from exc
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("published"), list):
            raise ValueError("not a list of published values")
        items = [Published(bytes.fromhex(str(e["key"])), bytes.fromhex(str(e["value"])),
                           str(e.get("text", "")), float(e["when"])) for e in data["published"]]
        if any(len(p.key) != 20 for p in items):
            raise ValueError("a key is not 20 bytes")
    except (ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(path.name + ".bad")
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        raise PublishedFileError(f"{path} is damaged ({exc}); moved aside to {aside.name}, "
                                 f"starting with none") from exc
    return items[-MAX_PUBLISHED:]


def save(path: Path, items: list[Published]) -> None:
    """Write ``items`` (the newest MAX_PUBLISHED) to ``path``; PublishedFileError when it cannot."""
    kept = sorted(items, key=lambda p: p.when)[-MAX_PUBLISHED:]
    data = {"version": VERSION, "published": [
        {"key": p.key.hex(), "value": p.value.hex(), "text": p.text, "when": p.when} for p in kept]}
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise PublishedFileError(f"could not keep our published values in {path}: "
                                 f"{exc.strerror or exc}") from exc
