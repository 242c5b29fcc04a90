"""The KRPC envelope both wire profiles share: ``t``, ``y`` and the body of a query, response or error.

A KRPC datagram is one bencoded dict: ``t`` the transaction id (a string),
``y`` the type, then ``q`` + ``a`` for a query (method name, argument dict),
``r`` for a response (a dict) or ``e`` for an error (``[code, text]``).
:func:`open_envelope` checks exactly that much of an already-decoded dict
and raises :class:`RemoteProtocolError` for anything else; each profile's
decoder (:func:`dht.wire.krpc.decode`, :func:`dht.wire.mainline.codec.decode_raw`)
then reads its own extra fields (Mainline: ``v``, ``ro``, ``ip``) and
builds its own typed message.  The profiles differ in one rule here:
Khashmir's error list has exactly two items, Mainline's at least two
(libtorrent and others append details), hence ``error_items_exact``.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

from ..core.errors import RemoteProtocolError


class QueryBody(NamedTuple):
    method: str
    args: dict[bytes, Any]


class ErrorBody(NamedTuple):
    code: int
    text: str


Body = Union[QueryBody, dict[bytes, Any], ErrorBody]


def open_envelope(msg: object, *, error_items_exact: bool) -> tuple[bytes, bytes, Body]:
    """``(tid, y, body)`` of a decoded datagram: y is ``b"q"`` (a :class:`QueryBody`),
    ``b"r"`` (the response dict) or ``b"e"`` (an :class:`ErrorBody`)."""
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
        return tid, kind, QueryBody(method.decode("latin-1"), args)
    if kind == b"r":
        values = msg.get(b"r")
        if not isinstance(values, dict):
            raise RemoteProtocolError("response needs a dict r")
        return tid, kind, values
    if kind == b"e":
        err = msg.get(b"e")
        if (
            not isinstance(err, list)
            or (len(err) != 2 if error_items_exact else len(err) < 2)
            or not isinstance(err[0], int)
            or not isinstance(err[1], bytes)
        ):
            raise RemoteProtocolError("error needs e: [int, string]")
        return tid, kind, ErrorBody(err[0], err[1].decode("utf-8", "replace"))
    raise RemoteProtocolError(f"unknown message type {kind!r}")
