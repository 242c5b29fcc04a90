"""Mainline's argument and response checks: raw dicts to typed messages.

A peer's query arguments: unknown keys are ignored, wrong or missing known
ones raise :class:`WireError` 203 (BEP 44 puts: 205 ``v`` too big, 207 salt
too big; :func:`check_signature`, run after the token check, 206).  A
peer's answer to us: anything malformed raises :class:`RemoteProtocolError`.
"""

from __future__ import annotations

from typing import Any

import bencodepy

from ...core.errors import RemoteProtocolError
from .. import bep44
from ..bloom import BLOOM_BYTES
from ..codes import MAINLINE, Meaning, WireError
from ..common import decode_nodes, decode_peers
from .messages import (
    MAX_SAMPLE_INTERVAL,
    AnnouncePeer,
    FindNode,
    Get,
    GetPeers,
    IdResponse,
    ItemResponse,
    Nodes,
    NodesResponse,
    PeersResponse,
    Ping,
    Put,
    SampleInfohashes,
    SamplesResponse,
)

# --- argument checks (a peer's query: WireError 203) ------------------------------

def _protocol(message: str) -> WireError:
    return MAINLINE.error(Meaning.PROTOCOL, message)


def _id(args: dict[bytes, Any], key: bytes) -> bytes:
    value = args.get(key)
    if not isinstance(value, bytes) or len(value) != 20:
        raise _protocol(f"{'missing' if value is None else 'bad'} {key.decode()}: 20 bytes needed")
    return value


def _bytes(args: dict[bytes, Any], key: bytes) -> bytes:
    value = args.get(key)
    if not isinstance(value, bytes):
        raise _protocol(f"{'missing' if value is None else 'bad'} {key.decode()}: a string needed")
    return value


def _opt_int(args: dict[bytes, Any], key: bytes) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _protocol(f"bad {key.decode()}: an integer needed")
    return value


def _flag(args: dict[bytes, Any], key: bytes) -> bool:
    value = _opt_int(args, key)
    return bool(value)


def _want(args: dict[bytes, Any]) -> tuple[bytes, ...]:
    value = args.get(b"want")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(w, bytes) for w in value):
        raise _protocol("bad want: a list of strings needed")
    return tuple(value)


def _parse_ping(a: dict[bytes, Any]) -> Ping:
    return Ping(_id(a, b"id"))


def _parse_find_node(a: dict[bytes, Any]) -> FindNode:
    return FindNode(_id(a, b"id"), _id(a, b"target"), _want(a))


def _parse_get_peers(a: dict[bytes, Any]) -> GetPeers:
    return GetPeers(_id(a, b"id"), _id(a, b"info_hash"), _want(a), _flag(a, b"noseed"), _flag(a, b"scrape"))


def _parse_announce_peer(a: dict[bytes, Any]) -> AnnouncePeer:
    node_id, info_hash, token = _id(a, b"id"), _id(a, b"info_hash"), _bytes(a, b"token")
    implied = _flag(a, b"implied_port")
    port = _opt_int(a, b"port")
    if port is None:
        if not implied:
            raise _protocol("missing port")
        port = 0
    elif not 0 <= port <= 0xFFFF or (port == 0 and not implied):
        raise _protocol("bad port")
    return AnnouncePeer(node_id, info_hash, port, token, implied, _flag(a, b"seed"))


def _parse_get(a: dict[bytes, Any]) -> Get:
    return Get(_id(a, b"id"), _id(a, b"target"), _opt_int(a, b"seq"))


def _parse_put(a: dict[bytes, Any]) -> Put:
    node_id, token = _id(a, b"id"), _bytes(a, b"token")
    if b"v" not in a:
        raise _protocol("missing v")
    v: bytes = bencodepy.encode(a[b"v"])
    if len(v) > bep44.MAX_VALUE_BYTES:
        raise MAINLINE.error(Meaning.VALUE_TOO_BIG, f"v is {len(v)} bytes bencoded (at most {bep44.MAX_VALUE_BYTES})")
    if b"k" not in a:
        return Put(node_id, token, v)
    k, sig = _bytes(a, b"k"), _bytes(a, b"sig")
    if len(k) != bep44.PUBLIC_KEY_BYTES:
        raise _protocol("bad k: 32 bytes needed")
    if len(sig) != bep44.SIGNATURE_BYTES:
        raise _protocol("bad sig: 64 bytes needed")
    salt = a.get(b"salt", b"")
    if not isinstance(salt, bytes):
        raise _protocol("bad salt: a string needed")
    if len(salt) > bep44.MAX_SALT_BYTES:
        raise MAINLINE.error(Meaning.SALT_TOO_BIG, f"salt is {len(salt)} bytes (at most {bep44.MAX_SALT_BYTES})")
    seq = _opt_int(a, b"seq")
    if seq is None:
        raise _protocol("missing seq")
    if not 0 <= seq <= bep44.MAX_SEQ:
        raise _protocol("seq out of range")
    return Put(node_id, token, v, k, seq, sig, salt, _opt_int(a, b"cas"))


def _parse_sample_infohashes(a: dict[bytes, Any]) -> SampleInfohashes:
    return SampleInfohashes(_id(a, b"id"), _id(a, b"target"))


def check_signature(put: Put) -> None:
    """A mutable put's signature, checked after its token: WireError 206 when bad."""
    if put.k is None or put.sig is None or put.seq is None:
        return
    if not bep44.verify(put.k, put.sig, put.v, put.seq, put.salt):
        raise MAINLINE.error(Meaning.INVALID_SIGNATURE)


# --- response checks (a peer's answer to us: RemoteProtocolError) -----------------

def _rid(r: dict[bytes, Any]) -> bytes:
    node_id = r.get(b"id")
    if not isinstance(node_id, bytes) or len(node_id) != 20:
        raise RemoteProtocolError("response without a 20-byte id")
    return node_id


def _rnodes(r: dict[bytes, Any]) -> tuple[Nodes, Nodes]:
    nodes = decode_nodes(r[b"nodes"]) if b"nodes" in r else ()
    nodes6 = decode_nodes(r[b"nodes6"], ipv6=True) if b"nodes6" in r else ()
    return nodes, nodes6


def _rtoken(r: dict[bytes, Any]) -> bytes | None:
    token = r.get(b"token")
    if token is not None and not isinstance(token, bytes):
        raise RemoteProtocolError("token must be a string")
    return token


def _rint(r: dict[bytes, Any], key: bytes, required: bool) -> int | None:
    value = r.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RemoteProtocolError(f"{key.decode()} must be a non-negative integer")
    return value


def _rbytes(r: dict[bytes, Any], key: bytes, size: int) -> bytes | None:
    value = r.get(key)
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) != size:
        raise RemoteProtocolError(f"{key.decode()} must be {size} bytes")
    return value


def _response_id(r: dict[bytes, Any]) -> IdResponse:
    return IdResponse(_rid(r))


def _response_nodes(r: dict[bytes, Any]) -> NodesResponse:
    return NodesResponse(_rid(r), *_rnodes(r))


def _response_peers(r: dict[bytes, Any]) -> PeersResponse:
    values = decode_peers(r[b"values"]) if b"values" in r else ()
    return PeersResponse(
        _rid(r), _rtoken(r), values, *_rnodes(r),
        _rbytes(r, b"BFsd", BLOOM_BYTES), _rbytes(r, b"BFpe", BLOOM_BYTES),
    )


def _response_item(r: dict[bytes, Any]) -> ItemResponse:
    v: bytes | None = bencodepy.encode(r[b"v"]) if b"v" in r else None
    k = _rbytes(r, b"k", bep44.PUBLIC_KEY_BYTES)
    sig = _rbytes(r, b"sig", bep44.SIGNATURE_BYTES)
    seq = _rint(r, b"seq", required=False)
    if v is None or k is None:
        k = sig = None  # BEP 44: k and sig go with v (a seq alone says "not newer"); no k: immutable
    elif seq is None or sig is None:
        raise RemoteProtocolError("a mutable item needs seq and sig")
    return ItemResponse(_rid(r), _rtoken(r), *_rnodes(r), v, k, seq, sig)


def _response_samples(r: dict[bytes, Any]) -> SamplesResponse:
    """BEP 51's answer; an ``interval`` past 6 hours is read as 6 hours."""
    samples = r.get(b"samples")
    if not isinstance(samples, bytes) or len(samples) % 20:
        raise RemoteProtocolError("samples must be a string of 20-byte info-hashes")
    interval = _rint(r, b"interval", required=True)
    num = _rint(r, b"num", required=True)
    assert interval is not None and num is not None
    return SamplesResponse(
        _rid(r), min(interval, MAX_SAMPLE_INTERVAL), num, tuple(samples[i : i + 20] for i in range(0, len(samples), 20)), *_rnodes(r)
    )


