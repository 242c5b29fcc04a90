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

import random
from dataclasses import dataclass
from typing import Any, Union

import bencodepy

from . import errors
from .errors import KrpcError, RemoteProtocolError

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


@dataclass(frozen=True, slots=True)
class Query:
    tid: bytes
    method: str
    args: dict[bytes, Any]


@dataclass(frozen=True, slots=True)
class Response:
    tid: bytes
    values: dict[bytes, Any]


@dataclass(frozen=True, slots=True)
class Error:
    tid: bytes
    code: int
    message: str


Message = Union[Query, Response, Error]


def new_tid() -> bytes:
    """A fresh random transaction id (20 bytes, as the original)."""
    return random.getrandbits(TID_BYTES * 8).to_bytes(TID_BYTES, "big")


class _NotCanonical(Exception):
    """Input the fast decoder leaves to bencodepy."""


_MAX_FAST_DEPTH = 32  # deeper nesting goes to bencodepy (which allows 100)


def _bdecode_str(x: bytes, f: int) -> tuple[bytes, int]:
    c = x[f]
    if x[f + 1] == 58 and 48 <= c <= 57:  # one-digit length: keys, names
        start = f + 2
        end = start + c - 48
    elif x[f + 2] == 58 and 49 <= c <= 57 and 48 <= x[f + 1] <= 57:  # two digits: ids
        start = f + 3
        end = start + (c - 48) * 10 + x[f + 1] - 48
    else:
        colon = x.index(b":", f)
        digits = x[f:colon]
        if not digits.isdigit() or (digits[0] == 48 and len(digits) > 1):
            raise _NotCanonical
        start = colon + 1
        end = start + int(digits)
    if end > len(x):
        raise _NotCanonical
    return x[start:end], end


def _bdecode_value(x: bytes, f: int, depth: int) -> tuple[Any, int]:
    c = x[f]
    if 48 <= c <= 57:  # a string
        return _bdecode_str(x, f)
    if c == 100:  # d
        if depth > _MAX_FAST_DEPTH:
            raise _NotCanonical
        d: dict[bytes, Any] = {}
        f += 1
        while x[f] != 101:
            k, f = _bdecode_str(x, f)
            if 48 <= x[f] <= 57:
                d[k], f = _bdecode_str(x, f)
            else:
                d[k], f = _bdecode_value(x, f, depth + 1)
        return d, f + 1
    if c == 108:  # l
        if depth > _MAX_FAST_DEPTH:
            raise _NotCanonical
        items: list[Any] = []
        f += 1
        while x[f] != 101:
            if 48 <= x[f] <= 57:
                v, f = _bdecode_str(x, f)
            else:
                v, f = _bdecode_value(x, f, depth + 1)
            items.append(v)
        return items, f + 1
    if c == 105:  # i
        end = x.index(b"e", f + 1)
        text = x[f + 1 : end]
        body = text[1:] if text[:1] == b"-" else text
        if not body.isdigit() or (body[0] == 48 and len(text) > 1):
            raise _NotCanonical
        return int(text), end + 1
    raise _NotCanonical


def bdecode(data: bytes) -> Any:
    """bencodepy.decode, faster for canonical bencode.

    Canonical input (lengths and integers without sign or leading-zero
    oddities, at most 32 levels deep, nothing after the value) is decoded
    here into exactly what bencodepy returns for it; anything else is handed
    to bencodepy itself, so what is accepted or refused, and the errors
    raised, are bencodepy's.
    """
    if type(data) is bytes:
        try:
            obj, end = _bdecode_value(data, 0, 0)
            if end == len(data):
                return obj
        except (_NotCanonical, IndexError, ValueError):
            pass
    return bencodepy.decode(data)


def decode(data: bytes) -> tuple[Message, dict[bytes, Any]]:
    """Parse and verify one datagram; returns the message and the raw dict."""
    try:
        msg = bdecode(data)
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
    if kind == b"q":
        method = msg.get(b"q")
        args = msg.get(b"a")
        if not isinstance(method, bytes) or not isinstance(args, dict):
            raise RemoteProtocolError("query needs a string q and a dict a")
        return Query(tid, method.decode("latin-1"), args), msg
    if kind == b"r":
        values = msg.get(b"r")
        if not isinstance(values, dict):
            raise RemoteProtocolError("response needs a dict r")
        return Response(tid, values), msg
    if kind == b"e":
        err = msg.get(b"e")
        if (
            not isinstance(err, list)
            or len(err) != 2
            or not isinstance(err[0], int)
            or not isinstance(err[1], bytes)
        ):
            raise RemoteProtocolError("error needs e: [int, string]")
        return Error(tid, err[0], err[1].decode("utf-8", "replace")), msg
    raise RemoteProtocolError(f"unknown message type {kind!r}")


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
        raise KrpcError(errors.METHOD_UNKNOWN, f"method {query.method!r} unknown")
    _, names, fields = _compiled(query.method, spec)
    args = query.args
    for k in args:
        if k not in names:
            unexpected = sorted(k for k in args if k not in names)
            shown = ", ".join(k.decode("latin-1") for k in unexpected)
            raise KrpcError(errors.MALFORMED_REQUEST, f"unexpected argument(s) {shown}")
    values: list[Any] = []
    for name, key, kind in fields:
        if key not in args:
            raise KrpcError(errors.MALFORMED_REQUEST, f"missing argument {name}")
        value = args[key]
        if kind == ID:
            ok = isinstance(value, bytes) and len(value) == 20
        elif kind == INT:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, bytes)
        if not ok:
            want = {INT: "an integer", ID: "20 bytes", BYTES: "a string"}[kind]
            raise KrpcError(errors.MALFORMED_REQUEST, f"argument {name} must be {want}")
        values.append(value)
    return values


class _NotPlain(Exception):
    """A value :func:`bencode` leaves to bencodepy."""


_LENGTH_PREFIX = [b"%d:" % n for n in range(UDP_PACKET_LIMIT + 1)]


def _bencode_into(obj: Any, out: list[bytes]) -> None:
    t = type(obj)
    prefix = _LENGTH_PREFIX
    if t is bytes:
        n = len(obj)
        out.append(prefix[n] if n <= UDP_PACKET_LIMIT else b"%d:" % n)
        out.append(obj)
    elif t is dict:
        out.append(b"d")
        for k in sorted(obj):
            if type(k) is not bytes:
                raise _NotPlain
            n = len(k)
            out.append(prefix[n] if n <= UDP_PACKET_LIMIT else b"%d:" % n)
            out.append(k)
            v = obj[k]
            if type(v) is bytes:
                n = len(v)
                out.append(prefix[n] if n <= UDP_PACKET_LIMIT else b"%d:" % n)
                out.append(v)
            else:
                _bencode_into(v, out)
        out.append(b"e")
    elif t is list:
        out.append(b"l")
        for item in obj:
            if type(item) is bytes:
                n = len(item)
                out.append(prefix[n] if n <= UDP_PACKET_LIMIT else b"%d:" % n)
                out.append(item)
            else:
                _bencode_into(item, out)
        out.append(b"e")
    elif t is int:
        out.append(b"i%de" % obj)
    else:
        raise _NotPlain


def bencode(obj: Any) -> bytes:
    """bencodepy.encode, faster for plain bytes/int/list/dict-with-bytes-keys values.

    The output is byte for byte bencodepy's; anything else (str, bool,
    tuples, str keys, subclasses) is handed to bencodepy itself.
    """
    out: list[bytes] = []
    try:
        _bencode_into(obj, out)
    except (_NotPlain, TypeError):
        data: bytes = bencodepy.encode(obj)
        return data
    return b"".join(out)


def encode_query(tid: bytes, method: str, args: dict[bytes, Any]) -> bytes:
    return bencode({b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args})


def encode_error(tid: bytes, code: int, message: str) -> bytes:
    return bencode({b"t": tid, b"y": b"e", b"e": [code, message.encode("utf-8")]})


def encode_response(tid: bytes, values: dict[bytes, Any]) -> tuple[bytes, dict[bytes, Any]]:
    """Encode a response within UDP_PACKET_LIMIT.

    Values are dropped until it fits; a response without values that is too
    long becomes error 206.  Returns the bytes and the dict actually sent.
    """
    msg: dict[bytes, Any] = {b"t": tid, b"y": b"r", b"r": values}
    data = bencode(msg)
    if len(data) <= UDP_PACKET_LIMIT:
        return data, msg
    vals = values.get(b"values")
    if isinstance(vals, list) and vals:
        kept = list(vals)
        excess = len(data) - UDP_PACKET_LIMIT
        # Drop values (largest saving first is not needed: drop from the end).
        while kept and excess > 0:
            dropped = kept.pop()
            excess -= len(dropped) + len(str(len(dropped))) + 1
        trimmed = dict(values)
        trimmed[b"values"] = kept
        msg = {b"t": tid, b"y": b"r", b"r": trimmed}
        data = bencode(msg)
        if len(data) <= UDP_PACKET_LIMIT:
            return data, msg
    err = {b"t": tid, b"y": b"e", b"e": [errors.RESPONSE_TOO_LONG, b"response too long"]}
    return bencode(err), err


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
