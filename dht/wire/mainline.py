"""The Mainline DHT wire (BEP 5, 33, 42, 43, 44, 51): bytes <-> typed messages.

Theory of operation.  A datagram is one bencoded dict.  :func:`decode`
checks the envelope (``t``, ``y`` and the ``q``/``a``, ``r`` or ``e`` of
its kind) and returns a :class:`Query`, :class:`Response` or :class:`Error`
with the top-level extras: ``v`` (the sender's client version, shown by
:func:`dht.wire.common.decode_client_version`), ``ro`` (BEP 43: a read-only
sender, to answer but never to add to a table) and ``ip`` (BEP 42: our own
address as the responder saw it).  Anything that is not such a message
raises :class:`RemoteProtocolError`: the caller drops and counts it.

The method table :data:`METHODS` then gives, per method, the typed
arguments of a query (:func:`parse_query`) and the typed answer of a
response to our query of that method (:func:`parse_response`; a response
does not say its method, the asker knows it).  Query arguments are checked
the Mainline way: unknown arguments are ignored (``want``, ``noseed``,
``scrape``, ``seed`` are understood), wrong or missing known ones raise a
:class:`WireError` with the profile's code (203 protocol error, 204 method
unknown; BEP 44 puts 205 ``v`` too big, 207 salt too big, and, from
:func:`check_signature`, 206).  As libtorrent does, an unknown method
that carries a 20-byte ``target`` or ``info_hash`` is read as find_node.

Node lists are ONE string of 26-byte infos (``nodes``) or 38-byte infos
(``nodes6``, BEP 32, decoded and encoded here); peers are 6- or 18-byte
compact strings.  Transaction ids we make are 2 bytes (:func:`new_tid`);
any id a peer sends is echoed as it came.  A BEP 44 ``v`` travels as its
bencoded bytes: a put whose datagram is not canonical bencoding (unsorted
keys) is refused with 203, as BEP 44 asks, since its hash or signature
would not be over the bytes sent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Union

import bencodepy

from ..contact import Contact
from ..errors import LocalError, RemoteProtocolError
from . import bep44
from .bloom import BLOOM_BYTES
from .codes import MAINLINE, Meaning, WireError
from .common import (
    OUR_CLIENT,
    Address,
    decode_address,
    decode_nodes,
    decode_peers,
    encode_address,
    encode_nodes,
)

TID_BYTES = 2
#: Replies are kept within one datagram of this size (values dropped to fit).
UDP_PACKET_LIMIT = 1472
#: BEP 51: the permissible ``interval`` range.
MAX_SAMPLE_INTERVAL = 21600

Nodes = tuple[Contact, ...]


def new_tid(rng: random.Random | None = None) -> bytes:
    """A fresh 2-byte transaction id."""
    return (rng or random).getrandbits(TID_BYTES * 8).to_bytes(TID_BYTES, "big")


# --- typed query arguments ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ping:
    id: bytes


@dataclass(frozen=True, slots=True)
class FindNode:
    id: bytes
    target: bytes
    want: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class GetPeers:
    id: bytes
    info_hash: bytes
    want: tuple[bytes, ...] = ()
    noseed: bool = False
    scrape: bool = False


@dataclass(frozen=True, slots=True)
class AnnouncePeer:
    id: bytes
    info_hash: bytes
    port: int
    token: bytes
    implied_port: bool = False
    seed: bool = False

    def peer_port(self, source_port: int) -> int:
        """The port to store: the datagram's source port under ``implied_port``."""
        return source_port if self.implied_port else self.port


@dataclass(frozen=True, slots=True)
class Get:
    id: bytes
    target: bytes
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Put:
    """A BEP 44 put; ``v`` is the bencoded value.  Mutable when ``k`` is set."""

    id: bytes
    token: bytes
    v: bytes
    k: bytes | None = None
    seq: int | None = None
    sig: bytes | None = None
    salt: bytes = b""
    cas: int | None = None

    @property
    def mutable(self) -> bool:
        return self.k is not None

    @property
    def target(self) -> bytes:
        if self.k is None:
            return bep44.immutable_target(self.v)
        return bep44.mutable_target(self.k, self.salt)


@dataclass(frozen=True, slots=True)
class SampleInfohashes:
    id: bytes
    target: bytes


QueryArgs = Union[Ping, FindNode, GetPeers, AnnouncePeer, Get, Put, SampleInfohashes]


# --- typed responses --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IdResponse:
    """The answer to ping, announce_peer and put: the responder's id."""

    id: bytes


@dataclass(frozen=True, slots=True)
class NodesResponse:
    id: bytes
    nodes: Nodes = ()
    nodes6: Nodes = ()


@dataclass(frozen=True, slots=True)
class PeersResponse:
    """get_peers: peers and/or nodes, a token, BEP 33 filters when scraped."""

    id: bytes
    token: bytes | None = None
    values: tuple[Address, ...] = ()
    nodes: Nodes = ()
    nodes6: Nodes = ()
    seeds_bloom: bytes | None = None  # BFsd
    peers_bloom: bytes | None = None  # BFpe


@dataclass(frozen=True, slots=True)
class ItemResponse:
    """BEP 44 get: an item (``v`` bencoded) or only its ``seq``, with nodes and a token."""

    id: bytes
    token: bytes | None = None
    nodes: Nodes = ()
    nodes6: Nodes = ()
    v: bytes | None = None
    k: bytes | None = None
    seq: int | None = None
    sig: bytes | None = None

    def holds(self, target: bytes, salt: bytes = b"") -> bool:
        """True when the item is the one looked up: its hash (immutable) or key and signature."""
        if self.v is None:
            return False
        if self.k is None:
            return bep44.immutable_target(self.v) == target
        if self.seq is None or self.sig is None:
            return False
        return bep44.mutable_target(self.k, salt) == target and bep44.verify(
            self.k, self.sig, self.v, self.seq, salt
        )


@dataclass(frozen=True, slots=True)
class SamplesResponse:
    """BEP 51 sample_infohashes."""

    id: bytes
    interval: int
    num: int
    samples: tuple[bytes, ...] = ()
    nodes: Nodes = ()
    nodes6: Nodes = ()


ResponseValues = Union[IdResponse, NodesResponse, PeersResponse, ItemResponse, SamplesResponse]


# --- envelopes --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Query:
    tid: bytes
    method: str
    args: dict[bytes, Any]
    ro: bool = False
    client: bytes | None = None
    canonical: bool = True  # the datagram is canonical bencoding (checked for put only)


@dataclass(frozen=True, slots=True)
class Response:
    tid: bytes
    values: dict[bytes, Any]
    client: bytes | None = None
    ip: Address | None = None  # BEP 42: our address as the responder saw it


@dataclass(frozen=True, slots=True)
class Error:
    tid: bytes
    code: int
    message: str
    client: bytes | None = None

    @property
    def meaning(self) -> Meaning:
        return MAINLINE.meaning(self.code)


Message = Union[Query, Response, Error]


def decode(data: bytes) -> Message:
    """Parse and check one datagram's envelope, or raise RemoteProtocolError."""
    try:
        msg = bencodepy.decode(data)
    except Exception as exc:  # bencodepy raises several types on bad input
        raise RemoteProtocolError(f"not bencode: {exc}") from None
    if not isinstance(msg, dict):
        raise RemoteProtocolError("not a dict")
    tid = msg.get(b"t")
    kind = msg.get(b"y")
    if not isinstance(tid, bytes):
        raise RemoteProtocolError("missing or non-string t")
    if not isinstance(kind, bytes):
        raise RemoteProtocolError("missing or non-string y")
    v = msg.get(b"v")
    client = v if isinstance(v, bytes) else None
    if kind == b"q":
        method = msg.get(b"q")
        args = msg.get(b"a")
        if not isinstance(method, bytes) or not isinstance(args, dict):
            raise RemoteProtocolError("query needs a string q and a dict a")
        canonical = True
        if method == b"put":
            canonical = bencodepy.encode(msg) == data
        ro = msg.get(b"ro") == 1
        return Query(tid, method.decode("latin-1"), args, ro, client, canonical)
    if kind == b"r":
        values = msg.get(b"r")
        if not isinstance(values, dict):
            raise RemoteProtocolError("response needs a dict r")
        ip_field = msg.get(b"ip")
        ip = None
        if isinstance(ip_field, bytes) and len(ip_field) in (6, 18):
            ip = decode_address(ip_field)
        return Response(tid, values, client, ip)
    if kind == b"e":
        err = msg.get(b"e")
        if (
            not isinstance(err, list)
            or len(err) < 2
            or not isinstance(err[0], int)
            or not isinstance(err[1], bytes)
        ):
            raise RemoteProtocolError("error needs e: [int, string]")
        return Error(tid, err[0], err[1].decode("utf-8", "replace"), client)
    raise RemoteProtocolError(f"unknown message type {kind!r}")


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


# --- encoding ----------------------------------------------------------------------

def _nodes_fields(out: dict[bytes, Any], nodes: Nodes, nodes6: Nodes) -> dict[bytes, Any]:
    if nodes:
        out[b"nodes"] = encode_nodes(nodes)
    if nodes6:
        out[b"nodes6"] = encode_nodes(nodes6, ipv6=True)
    return out


def _query_dict(args: QueryArgs) -> dict[bytes, Any]:
    a: dict[bytes, Any] = {b"id": args.id}
    if isinstance(args, (FindNode, SampleInfohashes)):
        a[b"target"] = args.target
        if isinstance(args, FindNode) and args.want:
            a[b"want"] = list(args.want)
    elif isinstance(args, GetPeers):
        a[b"info_hash"] = args.info_hash
        if args.want:
            a[b"want"] = list(args.want)
        if args.noseed:
            a[b"noseed"] = 1
        if args.scrape:
            a[b"scrape"] = 1
    elif isinstance(args, AnnouncePeer):
        a.update({b"info_hash": args.info_hash, b"port": args.port, b"token": args.token})
        if args.implied_port:
            a[b"implied_port"] = 1
        if args.seed:
            a[b"seed"] = 1
    elif isinstance(args, Get):
        a[b"target"] = args.target
        if args.seq is not None:
            a[b"seq"] = args.seq
    elif isinstance(args, Put):
        a[b"token"] = args.token
        a[b"v"] = bencodepy.decode(args.v)
        if args.k is not None:
            a.update({b"k": args.k, b"seq": args.seq, b"sig": args.sig})
            if args.salt:
                a[b"salt"] = args.salt
            if args.cas is not None:
                a[b"cas"] = args.cas
    return a


def _response_dict(resp: ResponseValues) -> dict[bytes, Any]:
    r: dict[bytes, Any] = {b"id": resp.id}
    if isinstance(resp, NodesResponse):
        _nodes_fields(r, resp.nodes, resp.nodes6)
    elif isinstance(resp, PeersResponse):
        if resp.token is not None:
            r[b"token"] = resp.token
        if resp.values:
            r[b"values"] = [encode_address(p) for p in resp.values]
        _nodes_fields(r, resp.nodes, resp.nodes6)
        if resp.seeds_bloom is not None:
            r[b"BFsd"] = resp.seeds_bloom
        if resp.peers_bloom is not None:
            r[b"BFpe"] = resp.peers_bloom
    elif isinstance(resp, ItemResponse):
        if resp.token is not None:
            r[b"token"] = resp.token
        _nodes_fields(r, resp.nodes, resp.nodes6)
        if resp.seq is not None:
            r[b"seq"] = resp.seq
        if resp.v is not None:
            r[b"v"] = bencodepy.decode(resp.v)
            if resp.k is not None and resp.sig is not None:
                r[b"k"] = resp.k
                r[b"sig"] = resp.sig
    elif isinstance(resp, SamplesResponse):
        r.update({
            b"interval": min(max(resp.interval, 0), MAX_SAMPLE_INTERVAL),
            b"num": resp.num,
            b"samples": b"".join(resp.samples),
        })
        _nodes_fields(r, resp.nodes, resp.nodes6)
    return r


def _envelope(msg: dict[bytes, Any], client: bytes | None) -> bytes:
    if client is not None:
        msg[b"v"] = client
    data: bytes = bencodepy.encode(msg)
    return data


def encode_query(tid: bytes, args: QueryArgs, *, ro: bool = False, client: bytes | None = OUR_CLIENT) -> bytes:
    """A query datagram; ``ro`` marks us read-only (BEP 43)."""
    method = QUERY_METHODS.get(type(args))
    if method is None:
        raise LocalError(f"not a Mainline query: {args!r}")
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": _query_dict(args)}
    if ro:
        msg[b"ro"] = 1
    return _envelope(msg, client)


def encode_response(
    tid: bytes, resp: ResponseValues, requester: Address | None = None, *, client: bytes | None = OUR_CLIENT
) -> bytes:
    """A response datagram with ``ip`` (BEP 42) when the requester is given.

    A get_peers answer too long for :data:`UDP_PACKET_LIMIT` loses values
    until it fits (the rest is still there for the next asker).
    """
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"r", b"r": _response_dict(resp)}
    if requester is not None:
        msg[b"ip"] = encode_address(requester)
    data = _envelope(msg, client)
    values = msg[b"r"].get(b"values")
    while len(data) > UDP_PACKET_LIMIT and values:
        excess = len(data) - UDP_PACKET_LIMIT
        drop = max(1, excess // (len(values[-1]) + 3))
        del values[-drop:]
        if not values:
            del msg[b"r"][b"values"]
        data = _envelope(msg, client)
    return data


def encode_error(tid: bytes, error: WireError, *, client: bytes | None = OUR_CLIENT) -> bytes:
    """An error datagram; ``error`` must be a Mainline one (codes never cross profiles)."""
    if error.profile != MAINLINE.profile:
        raise LocalError(f"a {error.profile} error code cannot go out on the Mainline wire")
    return _envelope({b"t": tid, b"y": b"e", b"e": [error.code, error.message.encode("utf-8")]}, client)


# --- the method table ------------------------------------------------------------

@dataclass(frozen=True)
class Method:
    """One Mainline method: its query arguments and its response, typed."""

    name: str
    query: type
    parse_args: Callable[[dict[bytes, Any]], QueryArgs]
    parse_response: Callable[[dict[bytes, Any]], ResponseValues]


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ping", Ping, _parse_ping, _response_id),
        Method("find_node", FindNode, _parse_find_node, _response_nodes),
        Method("get_peers", GetPeers, _parse_get_peers, _response_peers),
        Method("announce_peer", AnnouncePeer, _parse_announce_peer, _response_id),
        Method("get", Get, _parse_get, _response_item),
        Method("put", Put, _parse_put, _response_id),
        Method("sample_infohashes", SampleInfohashes, _parse_sample_infohashes, _response_samples),
    )
}
QUERY_METHODS: dict[type, str] = {m.query: m.name for m in METHODS.values()}


def parse_query(query: Query) -> QueryArgs:
    """A query's typed arguments, or a WireError (203 bad arguments, 204 unknown method, 205, 207)."""
    method = METHODS.get(query.method)
    if method is None:
        for key in (b"target", b"info_hash"):
            target = query.args.get(key)
            if isinstance(target, bytes) and len(target) == 20:
                return FindNode(_id(query.args, b"id"), target, _want(query.args))
        raise MAINLINE.error(Meaning.METHOD_UNKNOWN, f"method {query.method!r} unknown")
    if method.name == "put" and not query.canonical:
        raise _protocol("put is not canonical bencoding")
    return method.parse_args(query.args)


def parse_response(method: str, response: Response) -> ResponseValues:
    """The typed answer to our query of ``method``, or RemoteProtocolError."""
    spec = METHODS.get(method)
    if spec is None:
        raise LocalError(f"not a Mainline method: {method!r}")
    return spec.parse_response(response.values)
