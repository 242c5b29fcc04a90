"""Tests of the shared formatting helpers, key parsing and the key registry."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from hypothesis import given, strategies as st

from khgui.common.keys import KeyRegistry, default_registry, parse_key_text
from khgui.common.text import (
    bytes_preview, decode_compact_nodes, format_duration, format_size, plural, jsonable, message_tree,
    printable_text,
)


def compact(node_id: bytes, host: str, port: int) -> bytes:
    return node_id + socket.inet_aton(host) + struct.pack("!H", port)


def test_bytes_as_text_or_hex() -> None:
    assert printable_text(b"hello") == "hello"
    assert printable_text(b"\x00\x01") is None
    assert printable_text(b"\xff") is None
    assert bytes_preview(b"hi") == '"hi"'
    assert bytes_preview(b"\x00\xff") == "0x00ff"
    assert bytes_preview(b"") == '""'
    assert bytes_preview(b"x" * 100, 10).endswith("\u2026\"")


def test_formats() -> None:
    assert format_size(999) == "999 B" and format_size(1500) == "1.5 kB"
    assert format_duration(59.9) == "59 s" and format_duration(125) == "2 min 05 s"
    assert format_duration(3700) == "1 h 01 min" and format_duration(-1) == "expired"
    assert plural(1, "bucket") == "1 bucket" and plural(0, "bucket") == "0 buckets"
    assert plural(1024, "contact") == "1,024 contacts" and plural(2, "entry", "entries") == "2 entries"


def test_compact_nodes_decoded() -> None:
    entry = compact(b"\xab" * 20, "10.1.2.3", 4000)
    assert decode_compact_nodes(entry * 2) == [f"{'ab' * 20}@10.1.2.3:4000"] * 2
    assert decode_compact_nodes(b"x" * 25) is None
    summary, children = message_tree({b"nodes": entry}, None)
    label, value = children[0]
    assert label == "nodes"
    summary, leaves = message_tree(value, b"nodes")
    assert summary.startswith("1 nodes") and message_tree(leaves[0][1])[0].endswith("@10.1.2.3:4000")
    # a list of compact entries (apt-p2p's form)
    summary, leaves = message_tree([entry, entry], b"nodes")
    assert summary == "2 nodes" and message_tree(leaves[1][1])[0].startswith("abababab")


def test_ids_shown_as_hex_in_tree() -> None:
    _summary, children = message_tree({b"id": b"A" * 20, b"q": b"ping", b"n": 3})
    shown = {label: message_tree(v, label.encode())[0] for label, v in children}
    assert shown == {"id": "41" * 20, "q": '"ping"', "n": "3"}


@given(st.recursive(st.binary(max_size=30) | st.integers(),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.binary(max_size=8), kids, max_size=4),
                    max_leaves=20))
def test_jsonable_always_serialises(message: object) -> None:
    json.dumps(jsonable(message))
    message_tree(message)


def test_parse_key_text() -> None:
    parsed = parse_key_text("hello")
    assert parsed.ok and parsed.key == hashlib.sha1(b"hello").digest() and parsed.hashed
    assert "SHA-1" in parsed.message
    hexkey = "ab" * 20
    parsed = parse_key_text(hexkey.upper())
    assert parsed.key == bytes.fromhex(hexkey) and not parsed.hashed and "as is" in parsed.message
    empty = parse_key_text("")
    assert not empty.ok and "Type a key" in empty.message
    assert "spaces" in parse_key_text(" x ").message


def test_registry(qtbot) -> None:
    registry = KeyRegistry()
    key = hashlib.sha1(b"k").digest()
    with qtbot.waitSignal(registry.changed):
        registry.remember_text(key, "k")
    assert registry.text_for(key) == "k"
    registry.mark_published(key, b"v", 100.0)
    assert registry.is_published(key, b"v") and registry.due(200.0, 50.0) == [(key, b"v")]
    registry.forget_published(key, b"v")
    assert not registry.published()
    assert default_registry() is default_registry()
