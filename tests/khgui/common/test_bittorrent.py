"""Tests of the Mainline form's input parsing: info-hashes, magnet links, BEP 44 limits, key files."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from dht import immutable_item_target, mutable_target, public_key_bytes
from khgui.common.bittorrent import KeyFileError, check_salt, check_value, mutable_key, parse_info_hash

HASH = bytes(range(20))


def test_info_hash_in_hex_and_magnet_links() -> None:
    assert parse_info_hash(HASH.hex()).info_hash == HASH
    assert parse_info_hash(f"  {HASH.hex().upper()} ").info_hash == HASH
    assert parse_info_hash(f"magnet:?xt=urn:btih:{HASH.hex()}&dn=Debian").info_hash == HASH
    b32 = base64.b32encode(HASH).decode("ascii")
    parsed = parse_info_hash(f"magnet:?dn=x&xt=urn:btih:{b32.lower()}&tr=udp://t:1")
    assert parsed.info_hash == HASH and parsed.source == "magnet" and "magnet" in parsed.message


@pytest.mark.parametrize("text, says", [
    ("", "Empty info-hash: give 40 hex digits or a magnet link"),
    ("abc", "40 hex digits (this is 3 characters"),
    ("z" * 40, "40 hex digits (this is 40 characters"),
    ("magnet:?dn=only-a-name", "no BitTorrent info-hash"),
    ("magnet:?xt=urn:sha1:" + "a" * 32, "no BitTorrent info-hash"),
    ("magnet:?xt=urn:btih:1234", "must be 40 hex digits or 32 base32"),
    ("magnet:?xt=urn:btih:" + "1" * 32, "must be 40 hex digits or 32 base32"),  # 1 is not base32
])
def test_malformed_info_hashes_say_what_to_type(text: str, says: str) -> None:
    parsed = parse_info_hash(text)
    assert parsed.info_hash is None and not parsed.ok
    assert says in parsed.message


def test_bep44_limits() -> None:
    assert check_value("x" * 996) == ""  # "996:" + 996 bytes = 1000
    assert "1,001 bytes bencoded" in check_value("x" * 997) and "shorten it by 1" in check_value("x" * 997)
    assert "Type" in check_value("")
    assert check_salt("s" * 64) == "" and "65 bytes" in check_salt("s" * 65)
    assert "66 bytes" in check_salt("\u00e9" * 33)  # UTF-8 bytes, not characters


def test_targets_follow_bep44() -> None:
    # BEP 44's test vector: the immutable item "Hello World!"
    assert immutable_item_target(b"Hello World!").hex() == "e5f96f6f38320f0f33959cb4d3d656452117aadb"
    k = bytes(32)
    assert mutable_target(k, b"salt") == hashlib.sha1(k + b"salt").digest()


def test_key_file_missing_unreadable_or_wrong(tmp_path: Path) -> None:
    path = tmp_path / "key"
    with pytest.raises(KeyFileError, match="No key file .* Put a mutable item first"):
        mutable_key(path)
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
    path.chmod(0o600)
    assert public_key_bytes(mutable_key(path)) == public_key_bytes(key)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="readable by others .*chmod 600 it: fix it, or move the file away"):
        mutable_key(path)
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="seed, not 5 bytes"):
        mutable_key(path)
    if os.geteuid() != 0:  # root reads anything
        path.chmod(0)
        with pytest.raises(KeyFileError, match="Cannot read key file"):
            mutable_key(path)
