"""BEP 44 targets, signature buffers and signatures against the BEP's vectors; the key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dht.errors import LocalError
from dht.mainline.keys import load_key, load_or_create_key, seed_bytes
from dht.wire import bep44

VALUE = b"12:Hello World!"  # the bencoded v of every vector
PUBLIC = bytes.fromhex("77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548")
SIG1 = bytes.fromhex(
    "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff"
    "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01"
)
SIG2 = bytes.fromhex(
    "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d"
    "df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08"
)


def test_vector_1_mutable() -> None:
    assert bep44.signature_buffer(VALUE, 1) == b"3:seqi1e1:v12:Hello World!"
    assert bep44.mutable_target(PUBLIC).hex() == "4a533d47ec9c7d95b1ad75f576cffc641853b750"
    assert bep44.verify(PUBLIC, SIG1, VALUE, 1)


def test_vector_2_mutable_with_salt() -> None:
    assert bep44.signature_buffer(VALUE, 1, b"foobar") == b"4:salt6:foobar3:seqi1e1:v12:Hello World!"
    assert bep44.mutable_target(PUBLIC, b"foobar").hex() == "411eba73b6f087ca51a3795d9c8c938d365e32c1"
    assert bep44.verify(PUBLIC, SIG2, VALUE, 1, b"foobar")


def test_vector_3_immutable() -> None:
    assert bep44.immutable_target(VALUE).hex() == "e5f96f6f38320f0f33959cb4d3d656452117aadb"


@pytest.mark.parametrize(
    "k,sig,v,seq,salt",
    [
        (PUBLIC, SIG1, VALUE, 2, b""),  # another seq
        (PUBLIC, SIG1, b"12:Hello World?", 1, b""),  # another value
        (PUBLIC, SIG1, VALUE, 1, b"foobar"),  # a salt not signed
        (PUBLIC, SIG2, VALUE, 1, b""),  # the salted signature without its salt
        (PUBLIC, b"\x00" * 64, VALUE, 1, b""),  # zeroed signature
        (PUBLIC[:31], SIG1, VALUE, 1, b""),  # short key
        (b"\xff" * 32, SIG1, VALUE, 1, b""),  # not a curve point / not the key
        (PUBLIC, SIG1[:63], VALUE, 1, b""),  # short signature
    ],
)
def test_wrong_signatures_fail_without_raising(k: bytes, sig: bytes, v: bytes, seq: int, salt: bytes) -> None:
    assert not bep44.verify(k, sig, v, seq, salt)


def test_sign_then_verify() -> None:
    key = Ed25519PrivateKey.generate()
    k = bep44.public_key_bytes(key)
    sig = bep44.sign(key, b"i42e", 7, b"s")
    assert len(k) == 32 and len(sig) == 64
    assert bep44.verify(k, sig, b"i42e", 7, b"s")
    assert not bep44.verify(k, sig, b"i42e", 8, b"s")


def test_a_key_file_is_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "item.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == seed_bytes(key) and len(seed_bytes(key)) == 32
    again = load_or_create_key(path)
    assert bep44.public_key_bytes(again) == bep44.public_key_bytes(key)
    assert [p.name for p in tmp_path.iterdir()] == ["item.key"]  # no temporary left


def test_bad_key_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 31)
    os.chmod(short, 0o600)
    with pytest.raises(LocalError, match="32-byte"):
        load_key(short)
    open_key = tmp_path / "open.key"
    open_key.write_bytes(b"x" * 32)
    os.chmod(open_key, 0o644)
    with pytest.raises(LocalError, match="readable by others"):
        load_or_create_key(open_key)
    with pytest.raises(LocalError, match="cannot"):
        load_or_create_key(tmp_path / "no-such-dir" / "k.key")
