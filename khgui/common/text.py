"""Formatting of DHT data for display: bytes, keys, sizes, times, messages.

Pure functions without Qt, so they are cheap to test and reuse.  Bytes are
shown as text when they are printable UTF-8, otherwise as hex; 26-byte
compact node lists are decoded to ``id@host:port`` entries.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

COMPACT_SIZE = 26
ID_SIZE = 20
# Offset from time.monotonic() to time.time(), fixed at import.
MONOTONIC_TO_WALL = time.time() - time.monotonic()

_ID_KEYS = frozenset({b"id", b"target", b"key", b"token"})
_NODE_KEYS = frozenset({b"nodes"})


def printable_text(data: bytes) -> str | None:
    """``data`` decoded as UTF-8 when it is printable text, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(ch.isprintable() or ch in "\t\n\r" for ch in text):
        return text
    return None


def bytes_preview(data: bytes, limit: int = 64) -> str:
    """A one-line preview: text in quotes when printable, else hex (truncated)."""
    text = printable_text(data)
    if text is not None:
        text = text.replace("\n", "\u21b5").replace("\r", "").replace("\t", " ")
        if len(text) > limit:
            text = text[: limit - 1] + "\u2026"
        return f'"{text}"'
    hexed = data.hex()
    if len(hexed) > limit:
        hexed = hexed[: limit - 1] + "\u2026"
    return f"0x{hexed}" if hexed else "(empty)"


def format_size(size: int) -> str:
    """``1234`` -> ``"1.2 kB"``; small sizes in bytes."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


def format_duration(seconds: float) -> str:
    """A short duration: ``"59 s"``, ``"12 min 03 s"``, ``"1 h 02 min"``."""
    if seconds < 0:
        return "expired"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 bucket``, ``2 buckets``, ``1,024 contacts``."""
    return f"{n:,} {noun if n == 1 else (many or noun + 's')}"


def format_clock(wall: float) -> str:
    """Wall-clock time of day with milliseconds: ``"14:03:27.512"``."""
    t = time.localtime(wall)
    return time.strftime("%H:%M:%S", t) + f".{int((wall % 1) * 1000):03d}"


def monotonic_to_wall(t: float) -> float:
    return t + MONOTONIC_TO_WALL


def format_peer(peer: tuple[str, int]) -> str:
    """``host:port``, an IPv6 address whole in brackets (``[2001:db8::1]:6881``), as typed in Join."""
    host, port = peer
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def decode_compact_nodes(data: bytes) -> list[str] | None:
    """``id@host:port`` for each 26-byte entry, or None if ``data`` is not such a list."""
    if not data or len(data) % COMPACT_SIZE:
        return None
    out = []
    for i in range(0, len(data), COMPACT_SIZE):
        entry = data[i : i + COMPACT_SIZE]
        host = socket.inet_ntoa(entry[20:24])
        (port,) = struct.unpack("!H", entry[24:26])
        out.append(f"{entry[:20].hex()}@{host}:{port}")
    return out


def short_node(entry: str) -> str:
    """``id@host:port`` with the id cut to 16 hex digits."""
    node_id, _, where = entry.partition("@")
    return f"{node_id[:16]}\u2026@{where}" if len(node_id) > 16 else entry


def _key_name(key: Any) -> str:
    if isinstance(key, bytes):
        text = printable_text(key)
        return text if text is not None else f"0x{key.hex()}"
    return str(key)


def describe_bytes(data: bytes, key: bytes | None = None) -> str:
    """The display text of a bytes value found under ``key`` in a message."""
    if key in _ID_KEYS and len(data) == ID_SIZE:
        return data.hex()
    text = printable_text(data)
    if text is not None:
        return f'"{text}"'
    return f"0x{data.hex()}" if data else "(empty)"


def message_tree(message: Any, key: bytes | None = None,
                 mainline: bool = False) -> tuple[str, list[tuple[str, Any]]]:
    """A message as ``(summary, [(label, child), ...])`` for a tree widget.

    Leaves are returned with an empty child list.  Dicts and lists become
    branches; a compact node list becomes a branch of ``id@host:port`` leaves.
    ``mainline``: Mainline's fields too (``v``, ``ip``, peers, samples, BEP 44:
    :mod:`khgui.common.mainline_fields`).
    """
    if mainline and key is not None:
        from .mainline_fields import mainline_field

        tree = mainline_field(key, message, _Leaf)
        if tree is not None:
            return tree
    if isinstance(message, dict):
        children = [(_key_name(k), v) for k, v in message.items()]
        return f"dict ({len(message)})", children
    if isinstance(message, (list, tuple)):
        if key in _NODE_KEYS and message and all(isinstance(v, bytes) and len(v) == COMPACT_SIZE
                                                 for v in message):
            entries = [(decode_compact_nodes(v) or [""])[0] for v in message]
            return f"{len(message)} nodes", [(f"[{i}]", _Leaf(short_node(n))) for i, n in enumerate(entries)]
        return f"list ({len(message)})", [(f"[{i}]", v) for i, v in enumerate(message)]
    if isinstance(message, bytes):
        if key in _NODE_KEYS:
            decoded = decode_compact_nodes(message)
            if decoded is not None:
                return f"{len(decoded)} nodes ({len(message)} bytes)", [
                    (f"[{i}]", _Leaf(short_node(n))) for i, n in enumerate(decoded)
                ]
        return describe_bytes(message, key), []
    if isinstance(message, _Leaf):
        return message.text, []
    return repr(message), []


class _Leaf:
    """A pre-formatted leaf text inside :func:`message_tree`."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def jsonable(message: Any) -> Any:
    """A JSON-serialisable copy: bytes keys/values as text when printable, else ``0x``-hex."""
    if isinstance(message, dict):
        return {_json_key(k): jsonable(v) for k, v in message.items()}
    if isinstance(message, (list, tuple)):
        return [jsonable(v) for v in message]
    if isinstance(message, bytes):
        text = printable_text(message)
        return text if text is not None else "0x" + message.hex()
    if isinstance(message, (int, float, str, bool)) or message is None:
        return message
    return repr(message)


def _json_key(key: Any) -> str:
    if isinstance(key, bytes):
        text = printable_text(key)
        return text if text is not None else "0x" + key.hex()
    return str(key)
