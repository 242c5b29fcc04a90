"""KRPC messages: bytes to typed messages and back (sans-IO).

A KRPC datagram is one bencoded dict: ``t`` transaction id, ``y`` type
(``q`` query, ``r`` response, ``e`` error), then ``q``+``a`` (method and
arguments), ``r`` (response dict) or ``e`` (``[code, text]``).

:func:`decode` verifies a datagram exactly as the wire notes say and raises
:class:`RemoteProtocolError` for anything else; :func:`check_arguments`
validates a query's arguments against the method table and raises
:class:`KrpcError` 203/204.  :func:`encode_response` keeps a response within
the 1472-byte UDP limit, dropping values or answering 206.
"""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple, Union

import bencode2
import bencodepy

from ..core import errors
from ..core.errors import RemoteProtocolError
from .codes import KHASHMIR, Meaning
from .envelope import ErrorBody, QueryBody, open_envelope

UDP_PACKET_LIMIT = 1472
TID_BYTES = 20

#: Argument kinds of the method table.
ID = "id"  # a 20-byte string
BYTES = "bytes"  # any byte string
INT = "int"  # an integer

#: The remote interface: method -> its arguments in knode order (after ``id``).
METHODS: dict[str, tuple[tuple[str, str], ...]] = {
    "ping": (("id", ID),),
    "join": (("id", ID),),
    "find_node": (("id", ID), ("target", ID)),
    "find_value": (("id", ID), ("key", ID)),
    "get_value": (("id", ID), ("key", ID), ("num", INT)),
    "store_value": (("id", ID), ("key", ID), ("value", BYTES), ("token", BYTES)),
}


class Query(NamedTuple):
    tid: bytes
    method: str
    args: dict[bytes, Any]


class Response(NamedTuple):
    tid: bytes
    values: dict[bytes, Any]


class Error(NamedTuple):
    tid: bytes
    code: int
    message: str


Message = Union[Query, Response, Error]


def new_tid() -> bytes:
    """A fresh transaction id (20 bytes, as the original), unguessable: from ``secrets``."""
    return secrets.token_bytes(TID_BYTES)


def decode(data: bytes) -> tuple[Message, dict[bytes, Any]]:
    """Parse and verify one datagram; returns the message and the raw dict."""
    try:  # canonical bencoding (what every node sends) through the C decoder
        msg = bencode2.bdecode(data)
    except Exception:  # not canonical, or not bencode: the lenient decoder (the seed's) says which
        return _decode_slow(data)
    # The common case checked inline (what open_envelope checks, for a well-formed
    # query or response of exact types); anything else takes the general path below.
    if type(msg) is dict:
        tid = msg.get(b"t")
        if type(tid) is bytes:
            kind = msg.get(b"y")
            if kind == b"q":
                method = msg.get(b"q")
                args = msg.get(b"a")
                if type(method) is bytes and type(args) is dict:
                    return Query(tid, method.decode("latin-1"), args), msg
            elif kind == b"r":
                values = msg.get(b"r")
                if type(values) is dict:
                    return Response(tid, values), msg
    return _message(msg)


def _decode_slow(data: bytes) -> tuple[Message, dict[bytes, Any]]:
    """:func:`decode` of what the C decoder refused: the lenient decoder, then the envelope."""
    try:
        msg = bencodepy.decode(data)
    except Exception as exc:  # bencodepy raises several types on bad input
        raise RemoteProtocolError(f"not bencode: {exc}") from None
    return _message(msg)


def _message(msg: Any) -> tuple[Message, dict[bytes, Any]]:
    """The message of a decoded datagram, its envelope checked (RemoteProtocolError if bad)."""
    tid, kind, body = open_envelope(msg, error_items_exact=True)
    if isinstance(body, QueryBody):
        return Query(tid, body.method, body.args), msg
    if isinstance(body, ErrorBody):
        return Error(tid, body.code, body.text), msg
    return Response(tid, body), msg


_Compiled = tuple[Any, frozenset[bytes], tuple[tuple[str, bytes, str], ...]]
_COMPILED: dict[str, _Compiled] = {}


def _compiled(method: str, spec: tuple[tuple[str, str], ...]) -> _Compiled:
    """The method's argument names as bytes, computed once per spec."""
    c = _COMPILED.get(method)
    if c is None or c[0] is not spec:
        c = _COMPILED[method] = (
            spec,
            frozenset(name.encode() for name, _ in spec),
            tuple((name, name.encode(), kind) for name, kind in spec),
        )
    return c


def check_arguments(query: Query) -> list[Any]:
    """The query's arguments in method order, or KrpcError 203/204."""
    spec = METHODS.get(query.method)
    if spec is None:
        raise KHASHMIR.error(Meaning.METHOD_UNKNOWN, f"method {query.method!r} unknown")
    c = _COMPILED.get(query.method)
    _, names, fields = c if c is not None and c[0] is spec else _compiled(query.method, spec)
    args = query.args
    for k in args:
        if k not in names:
            unexpected = sorted(k for k in args if k not in names)
            shown = ", ".join(k.decode("latin-1") for k in unexpected)
            raise KHASHMIR.error(Meaning.PROTOCOL, f"unexpected argument(s) {shown}")
    values: list[Any] = []
    for name, key, kind in fields:
        if key not in args:
            raise KHASHMIR.error(Meaning.PROTOCOL, f"missing argument {name}")
        value = args[key]
        if kind == ID:
            ok = isinstance(value, bytes) and len(value) == 20
        elif kind == INT:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, bytes)
        if not ok:
            want = {INT: "an integer", ID: "20 bytes", BYTES: "a string"}[kind]
            raise KHASHMIR.error(Meaning.PROTOCOL, f"argument {name} must be {want}")
        values.append(value)
    return values


def _encode(value: Any) -> bytes:
    """Canonical bencoding, in C (the same bytes as bencodepy's); what the C encoder
    will not take (a type of ours it does not know) goes through bencodepy."""
    try:
        data: bytes = bencode2.bencode(value)
    except Exception:
        data = bencodepy.encode(value)
    return data


def encode_message(msg: dict[bytes, Any]) -> bytes:
    """A KRPC message dict's datagram (canonical bencoding)."""
    return _encode(msg)


def encode_query(tid: bytes, method: str, args: dict[bytes, Any]) -> bytes:
    data: bytes = _encode({b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args})
    return data


def encode_error(tid: bytes, code: int, message: str) -> bytes:
    data: bytes = _encode({b"t": tid, b"y": b"e", b"e": [code, message.encode("utf-8")]})
    return data


def encode_response(tid: bytes, values: dict[bytes, Any]) -> tuple[bytes, dict[bytes, Any]]:
    """Encode a response within UDP_PACKET_LIMIT.

    Values are dropped until it fits; a response without values that is too
    long becomes error 206.  Returns the bytes and the dict actually sent.
    """
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"r", b"r": values}
    data = _encode(msg)
    if len(data) <= UDP_PACKET_LIMIT:
        return data, msg
    vals = values.get(b"values")
    if isinstance(vals, list) and vals:
        kept = list(vals)
        excess = len(data) - UDP_PACKET_LIMIT
        # Drop values from the end.  A list's encoding is its items' encodings
        # side by side, so each dropped item saves exactly its own encoded
        # length, whatever its type (a handler may put any bencodable item in).
        while kept and excess > 0:
            excess -= len(_encode(kept.pop()))
        trimmed = dict(values)
        trimmed[b"values"] = kept
        msg = {b"t": tid, b"y": b"r", b"r": trimmed}
        data = _encode(msg)
        if len(data) <= UDP_PACKET_LIMIT:
            return data, msg
    err = {b"t": tid, b"y": b"e", b"e": [errors.RESPONSE_TOO_LONG, b"response too long"]}
    return _encode(err), err


def error_dict(tid: bytes, code: int, message: str) -> dict[bytes, Any]:
    return {b"t": tid, b"y": b"e", b"e": [code, message.encode("utf-8")]}


# --- checking responses we receive ------------------------------------

def response_id(values: dict[bytes, Any]) -> bytes:
    """The responder's id from a response, verified."""
    node_id = values.get(b"id")
    if not isinstance(node_id, bytes) or len(node_id) != 20:
        raise RemoteProtocolError("response without a 20-byte id")
    return node_id


def response_nodes(values: dict[bytes, Any]) -> list[bytes]:
    nodes = values.get(b"nodes")
    if not isinstance(nodes, list) or not all(
        isinstance(n, bytes) and len(n) == 26 for n in nodes
    ):
        raise RemoteProtocolError("response nodes must be a list of 26-byte strings")
    return nodes


def response_values(values: dict[bytes, Any]) -> list[bytes]:
    vals = values.get(b"values")
    if not isinstance(vals, list) or not all(isinstance(v, bytes) for v in vals):
        raise RemoteProtocolError("response values must be a list of strings")
    return vals


def response_int(values: dict[bytes, Any], name: bytes) -> int:
    value = values.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise RemoteProtocolError(f"response {name.decode()} must be an integer")
    return value
