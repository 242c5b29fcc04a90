"""BEP 44 items: targets, the signature buffer, ed25519 signing and checks.

* immutable item: its target is SHA-1 of the bencoded ``v``;
* mutable item: its target is SHA-1 of the 32-byte ed25519 public key
  ``k`` followed by the salt (empty when none); the signature covers the
  bencoded pieces ``4:salt<len>:<salt>`` (only for a non-empty salt), then
  ``3:seqi<seq>e``, then ``1:v`` and the bencoded ``v``, built piece by
  piece so that no bencoding quirk can shift a length into the seq.

ed25519 is the ``cryptography`` package's; keys are handled as its
:class:`Ed25519PrivateKey` (a 32-byte seed on disk, see :mod:`dht.mainline.keys`).
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_VALUE_BYTES = 1000  # bencoded v (BEP 44: storing more may fail)
MAX_SALT_BYTES = 64
MAX_SEQ = (1 << 63) - 1  # BEP 44: seq should not exceed MAX_INT64
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def immutable_target(v: bytes) -> bytes:
    """Target of an immutable item: SHA-1 of its bencoded value ``v``."""
    return hashlib.sha1(v).digest()


def mutable_target(k: bytes, salt: bytes = b"") -> bytes:
    """Target of a mutable item: SHA-1 of public key + salt."""
    return hashlib.sha1(k + salt).digest()


def signature_buffer(v: bytes, seq: int, salt: bytes = b"") -> bytes:
    """The bytes signed for a mutable item (``v`` already bencoded)."""
    head = b"4:salt%d:%s" % (len(salt), salt) if salt else b""
    return head + b"3:seqi%de1:v" % seq + v


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of a private key's public key (``k`` on the wire)."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(key: Ed25519PrivateKey, v: bytes, seq: int, salt: bytes = b"") -> bytes:
    """The 64-byte signature of a mutable item."""
    return key.sign(signature_buffer(v, seq, salt))


def verify(k: bytes, sig: bytes, v: bytes, seq: int, salt: bytes = b"") -> bool:
    """True when ``sig`` is ``k``'s signature of the item; never raises on bad bytes."""
    if len(k) != PUBLIC_KEY_BYTES or len(sig) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(k).verify(sig, signature_buffer(v, seq, salt))
    except (InvalidSignature, ValueError):
        return False
    return True
