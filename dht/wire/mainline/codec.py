"""Mainline's codec: datagrams in and out, through the method table.

:func:`decode` checks a datagram's envelope; :func:`parse_query` and
:func:`parse_response` turn its contents into typed values by the explicit
:data:`METHODS` table; :func:`encode_query`, :func:`encode_response` and
:func:`encode_error` make datagrams, with our ``v``, ``ro`` when read-only
and the requester's ``ip`` (BEP 42) in answers.  Canonical bencoding (what
Mainline clients send) is read and written by ``bencode2``, in C; anything
else falls back to ``bencode.py``, so a non-canonical datagram is still
read (and a non-canonical put refused with 203).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import bencode2
import bencodepy

from ...core.errors import LocalError, RemoteProtocolError
from ..codes import MAINLINE, Meaning, WireError
from ..envelope import ErrorBody, QueryBody, open_envelope
from ..common import (
    OUR_CLIENT, Address, decode_address, decode_compact_address, encode_address, encode_compact_address, encode_nodes,
)
from .checks import (
    _id,
    _parse_announce_peer,
    _parse_find_node,
    _parse_get,
    _parse_get_peers,
    _parse_ping,
    _parse_put,
    _parse_sample_infohashes,
    _protocol,
    _response_id,
    _response_item,
    _response_nodes,
    _response_peers,
    _response_samples,
    _want,
)
from .messages import (
    MAX_SAMPLE_INTERVAL,
    UDP_PACKET_LIMIT,
    AnnouncePeer,
    Error,
    FindNode,
    Get,
    GetPeers,
    IdResponse,
    ItemResponse,
    Message,
    Nodes,
    NodesResponse,
    PeersResponse,
    Ping,
    Put,
    Query,
    QueryArgs,
    Response,
    ResponseValues,
    SampleInfohashes,
    SamplesResponse,
)

def decode(data: bytes) -> Message:
    """Parse and check one datagram's envelope, or raise RemoteProtocolError."""
    return decode_raw(data)[0]


def decode_raw(data: bytes) -> tuple[Message, dict[bytes, Any]]:
    """:func:`decode`, with the decoded dict (for events and captures)."""
    strict = True
    try:  # canonical bencoding (what every Mainline client sends) through the C decoder
        msg = bencode2.bdecode(data)
    except Exception:  # not canonical, or not bencode: the lenient decoder says which
        strict = False
        try:
            msg = bencodepy.decode(data)
        except Exception as exc:  # bencodepy raises several types on bad input
            raise RemoteProtocolError(f"not bencode: {exc}") from None
    else:
        # The common case checked inline (what open_envelope and the code below check,
        # for a well-formed query or response of exact types); anything else, below.
        if type(msg) is dict:
            tid = msg.get(b"t")
            if type(tid) is bytes:
                kind = msg.get(b"y")
                v = msg.get(b"v")
                if kind == b"q":
                    method = msg.get(b"q")
                    args = msg.get(b"a")
                    if type(method) is bytes and type(args) is dict:
                        return Query(
                            tid, method.decode("latin-1"), args, msg.get(b"ro") == 1, v if type(v) is bytes else None
                        ), msg
                elif kind == b"r":
                    values = msg.get(b"r")
                    if type(values) is dict:
                        ip_field = msg.get(b"ip")
                        ip = None
                        if type(ip_field) is bytes and len(ip_field) in (6, 18):
                            ip = decode_compact_address(ip_field)
                        return Response(tid, values, v if type(v) is bytes else None, ip), msg
    return _message(msg, data, strict)


def _message(msg: Any, data: bytes, strict: bool) -> tuple[Message, dict[bytes, Any]]:
    """The message of a decoded datagram, its envelope checked (RemoteProtocolError if
    bad); ``strict``: ``data`` was canonical bencoding (read by the C decoder)."""
    tid, _, body = open_envelope(msg, error_items_exact=False)
    v = msg.get(b"v")
    client = v if isinstance(v, bytes) else None
    if isinstance(body, QueryBody):
        canonical = True
        if body.method == "put" and not strict:
            canonical = bencodepy.encode(msg) == data
        ro = msg.get(b"ro") == 1
        return Query(tid, body.method, body.args, ro, client, canonical), msg
    if isinstance(body, ErrorBody):
        return Error(tid, body.code, body.text, client), msg
    ip_field = msg.get(b"ip")
    ip = None
    if isinstance(ip_field, bytes) and len(ip_field) in (6, 18):
        ip = decode_address(ip_field)
    return Response(tid, body, client, ip), msg


# --- encoding ----------------------------------------------------------------------

def _nodes_fields(out: dict[bytes, Any], nodes: Nodes, nodes6: Nodes) -> dict[bytes, Any]:
    if nodes:
        out[b"nodes"] = encode_nodes(nodes)
    if nodes6:
        out[b"nodes6"] = encode_nodes(nodes6, ipv6=True)
    return out


def _query_dict(args: QueryArgs) -> dict[bytes, Any]:
    a: dict[bytes, Any] = {b"id": args.id}
    if type(args) is Ping:  # the commonest, and nothing more to add
        return a
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
    if type(resp) is IdResponse:  # ping's, announce_peer's, put's: nothing more
        return r
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
    data: bytes = bencode2.bencode(msg)  # canonical, as bencodepy's, in C
    return data


def encode_query(tid: bytes, args: QueryArgs, *, ro: bool = False, client: bytes | None = OUR_CLIENT) -> bytes:
    """A query datagram; ``ro`` marks us read-only (BEP 43)."""
    return encode_query_raw(tid, args, ro=ro, client=client)[0]


def encode_query_raw(
    tid: bytes, args: QueryArgs, *, ro: bool = False, client: bytes | None = OUR_CLIENT
) -> tuple[bytes, dict[bytes, Any]]:
    """:func:`encode_query`, with the dict sent."""
    method = QUERY_METHODS.get(type(args))
    if method is None:
        raise LocalError(f"not a Mainline query: {args!r}")
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": _query_dict(args)}
    if ro:
        msg[b"ro"] = 1
    return _envelope(msg, client), msg


def encode_response(
    tid: bytes, resp: ResponseValues, requester: Address | None = None, *, client: bytes | None = OUR_CLIENT
) -> bytes:
    """A response datagram with ``ip`` (BEP 42) when the requester is given.

    A get_peers answer too long for :data:`UDP_PACKET_LIMIT` loses values
    until it fits (the rest is still there for the next asker).
    """
    return encode_response_raw(tid, resp, requester, client=client)[0]


def encode_response_raw(
    tid: bytes, resp: ResponseValues, requester: Address | None = None, *, client: bytes | None = OUR_CLIENT
) -> tuple[bytes, dict[bytes, Any]]:
    """:func:`encode_response`, with the dict sent."""
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"r", b"r": _response_dict(resp)}
    if requester is not None:
        msg[b"ip"] = encode_compact_address(requester)
    data = _envelope(msg, client)
    values = msg[b"r"].get(b"values")
    while len(data) > UDP_PACKET_LIMIT and values:
        excess = len(data) - UDP_PACKET_LIMIT
        drop = max(1, excess // (len(values[-1]) + 3))
        del values[-drop:]
        if not values:
            del msg[b"r"][b"values"]
        data = _envelope(msg, client)
    return data, msg


def encode_error(tid: bytes, error: WireError, *, client: bytes | None = OUR_CLIENT) -> bytes:
    """An error datagram; ``error`` must be a Mainline one (codes never cross profiles)."""
    return encode_error_raw(tid, error, client=client)[0]


def encode_error_raw(tid: bytes, error: WireError, *, client: bytes | None = OUR_CLIENT) -> tuple[bytes, dict[bytes, Any]]:
    """:func:`encode_error`, with the dict sent."""
    if error.profile != MAINLINE.profile:
        raise LocalError(f"a {error.profile} error code cannot go out on the Mainline wire")
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"e", b"e": [error.code, error.message.encode("utf-8")]}
    return _envelope(msg, client), msg


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

