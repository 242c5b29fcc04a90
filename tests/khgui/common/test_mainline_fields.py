"""Tests of the Mainline decoding of the traffic panel's message tree."""

from __future__ import annotations

import socket
import struct

from khgui.common.text import message_tree

ID = bytes(range(20))


def _compact(host: str, port: int) -> bytes:
    return socket.inet_aton(host) + struct.pack("!H", port)


def _flat(tree: tuple[str, list], key: bytes | None = None) -> dict[str, str]:
    """label -> summary for every field of a message, nested ones as a.b."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: object, k: bytes | None) -> None:
        summary, children = message_tree(value, k, True)
        out[prefix] = summary
        for label, child in children:
            walk(f"{prefix}.{label}" if prefix else label, child, label.encode())

    walk("", tree, key)
    return out


def test_get_peers_response_decoded() -> None:
    message = {
        b"t": b"aa", b"y": b"r", b"v": b"LT\x02\x11", b"ip": _compact("203.0.113.7", 6881),
        b"r": {b"id": ID, b"token": b"tok", b"values": [_compact("10.1.2.3", 51413), _compact("127.0.0.5", 1)],
               b"nodes": ID + _compact("127.0.0.9", 4000),
               b"BFsd": b"\x01" * 256, b"samples": ID + bytes(20)},
    }
    f = _flat(message)
    assert f["v"].startswith("libtorrent") and "2.1.1" in f["v"] and "(LT," in f["v"]
    assert f["ip"].startswith("203.0.113.7:6881")
    assert f["r.values"] == "2 peers"
    assert f["r.values.[0]"] == "10.1.2.3:51413" and f["r.values.[1]"] == "127.0.0.5:1"
    assert f["r.nodes"].startswith("1 nodes") and f["r.nodes.[0]"].endswith("@127.0.0.9:4000")
    assert f["r.BFsd"] == "bloom filter (256 bytes, 256 bits set)"
    assert f["r.samples"] == "2 info-hashes" and f["r.samples.[0]"] == ID.hex()


def test_bep44_and_ipv6_fields() -> None:
    v6 = socket.inet_pton(socket.AF_INET6, "::1") + struct.pack("!H", 7)
    f = _flat({b"a": {b"k": b"\x02" * 32, b"sig": b"\x03" * 64, b"info_hash": ID, b"seq": 3},
               b"r": {b"nodes6": ID + v6, b"values": [v6]}})
    assert f["a.k"] == "02" * 32 and f["a.sig"] == "03" * 64 and f["a.info_hash"] == ID.hex()
    assert f["a.seq"] == "3"
    assert f["r.nodes6"] == "1 IPv6 nodes" and f["r.nodes6.[0]"].endswith("@[::1]:7")
    assert f["r.values.[0]"] == "[::1]:7"


def test_hostile_or_khashmir_fields_fall_back() -> None:
    # the wrong sizes are shown as bytes, never raise
    f = _flat({b"ip": b"\x01\x02\x03", b"values": [b"abcde"], b"v": b"x", b"k": b"short"})
    assert f["ip"] == "0x010203" and f["values"] == "list (1)" and f["v"] == '"x"' and f["k"] == '"short"'
    # a Khashmir message: a 6-byte stored value is a value, not a peer
    summary, children = message_tree([b"abcdef"], b"values", False)
    assert summary == "list (1)"
    summary, _ = message_tree(_compact("1.2.3.4", 5), b"ip", False)
    assert "1.2.3.4" not in summary
