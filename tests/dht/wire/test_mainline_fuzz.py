"""Property-based: hostile bytes through the Mainline codec.

Whatever arrives, :func:`decode`, :func:`parse_query` and
:func:`parse_response` either return typed values or raise
:class:`RemoteProtocolError` / :class:`KrpcError` (a Mainline
:class:`WireError`); never any other exception.  A query that parses
re-encodes to the same typed arguments; every code raised is a Mainline one.
"""

from __future__ import annotations

from typing import Any

import bencodepy
from hypothesis import given, settings
from hypothesis import strategies as st

from dht.errors import KrpcError, RemoteProtocolError
from dht.wire import mainline as ml
from dht.wire.codes import MAINLINE, Meaning, WireError

SETTINGS = settings(max_examples=400, deadline=None, database=None)

ids = st.binary(min_size=20, max_size=20)
leaf = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.binary(max_size=40)
    | ids
    | st.binary(min_size=26, max_size=26)
    | st.binary(min_size=64, max_size=64)
    | st.binary(min_size=32, max_size=32)
)
values: st.SearchStrategy[Any] = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.binary(max_size=8), inner, max_size=3),
    max_leaves=8,
)
KEYS = [b"id", b"target", b"info_hash", b"port", b"token", b"implied_port", b"seed", b"noseed", b"scrape",
        b"want", b"v", b"k", b"seq", b"sig", b"salt", b"cas", b"nodes", b"nodes6", b"values", b"BFsd", b"BFpe",
        b"samples", b"interval", b"num"]
arg_dicts = st.dictionaries(st.sampled_from(KEYS) | st.binary(max_size=6), values, max_size=8)
methods = st.sampled_from(sorted(ml.METHODS) + ["join", "vote", ""])


def plausible(draw: st.DrawFn, method: str) -> dict[bytes, Any]:
    """Arguments (or, for "r", response values) of the right types, as a peer would send."""
    a: dict[bytes, Any] = {b"id": draw(ids)}
    small = st.integers(0, 3)
    if method in ("find_node", "get", "sample_infohashes") or method == "vote":
        a[b"target"] = draw(ids)
    if method in ("get_peers", "announce_peer"):
        a[b"info_hash"] = draw(ids)
        a[b"scrape"], a[b"noseed"] = draw(small), draw(small)
    if method in ("announce_peer", "put"):
        a[b"token"] = draw(st.binary(max_size=8))
        a[b"port"], a[b"implied_port"] = draw(st.integers(0, 70000)), draw(small)
    if method == "get":
        a[b"seq"] = draw(st.integers(-2, 2**64))
    if method == "put":
        a[b"v"] = draw(values)
        if draw(st.booleans()):
            a[b"k"], a[b"sig"] = draw(st.binary(min_size=32, max_size=32)), draw(st.binary(min_size=64, max_size=64))
            a[b"seq"], a[b"salt"] = draw(st.integers(-2, 2**64)), draw(st.binary(max_size=70))
    if method == "r":
        a[b"nodes"] = b"".join(i + b"\x7f\x00\x00\x01\x1a\xe1" for i in draw(st.lists(ids, max_size=3)))
        a[b"values"] = draw(st.lists(st.binary(min_size=6, max_size=6) | st.binary(min_size=18, max_size=18), max_size=3))
        a[b"token"] = draw(st.binary(max_size=8))
        a[b"samples"] = b"".join(draw(st.lists(ids, max_size=3)))
        a[b"interval"], a[b"num"] = draw(st.integers(-1, 30000)), draw(st.integers(-1, 100))
        if draw(st.booleans()):
            a[b"v"], a[b"seq"] = draw(values), draw(st.integers(-1, 5))
            if draw(st.booleans()):
                a[b"k"], a[b"sig"] = draw(st.binary(min_size=32, max_size=32)), draw(st.binary(min_size=64, max_size=64))
    if draw(st.booleans()):  # one field retyped or gone
        key = draw(st.sampled_from(sorted(a)))
        if draw(st.booleans()):
            del a[key]
        else:
            a[key] = draw(values)
    return a


@st.composite
def messages(draw: st.DrawFn) -> dict[bytes, Any]:
    kind = draw(st.sampled_from([b"q", b"q", b"r", b"r", b"e", b"x"]))
    msg: dict[bytes, Any] = {b"t": draw(st.binary(max_size=4)), b"y": kind}
    if kind == b"q":
        method = draw(methods)
        msg[b"q"] = method.encode()
        msg[b"a"] = plausible(draw, method) if draw(st.integers(0, 3)) else draw(arg_dicts)
    elif kind == b"r":
        msg[b"r"] = plausible(draw, "r") if draw(st.integers(0, 3)) else draw(arg_dicts)
    elif kind == b"e":
        msg[b"e"] = draw(st.lists(values, max_size=3))
    for key in draw(st.lists(st.sampled_from([b"v", b"ip", b"ro"]), max_size=3, unique=True)):
        msg[key] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        del msg[draw(st.sampled_from(sorted(msg)))]
    return msg


def exercise(data: bytes) -> None:
    try:
        msg = ml.decode(data)
    except RemoteProtocolError:
        return
    if isinstance(msg, ml.Query):
        try:
            args = ml.parse_query(msg)
        except WireError as exc:
            assert exc.profile == "mainline" and MAINLINE.meaning(exc.code) is not Meaning.UNKNOWN
            return
        if isinstance(args, ml.Put):
            try:
                ml.check_signature(args)
            except WireError as exc:
                assert exc.code == 206
        again = ml.decode(ml.encode_query(msg.tid, args))
        assert isinstance(again, ml.Query) and ml.parse_query(again) == args
    elif isinstance(msg, ml.Response):
        for method in ml.METHODS:
            try:
                typed = ml.parse_response(method, msg)
            except RemoteProtocolError:
                continue
            assert typed.id == msg.values[b"id"]
            # What we parsed re-encodes to the same typed answer.
            back = ml.decode(ml.encode_response(msg.tid, typed))
            assert isinstance(back, ml.Response) and ml.parse_response(method, back) == typed
    else:
        assert isinstance(msg.code, int) and isinstance(msg.message, str)
        assert isinstance(msg.meaning, Meaning)


@SETTINGS
@given(msg=messages())
def test_structured_messages(msg: dict[bytes, Any]) -> None:
    exercise(bencodepy.encode(msg))


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    exercise(data)


@SETTINGS
@given(msg=messages(), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=4))
def test_mutated_datagrams(msg: dict[bytes, Any], flips: list[tuple[int, int]]) -> None:
    data = bytearray(bencodepy.encode(msg))
    for pos, bits in flips:
        data[pos % len(data)] ^= bits
    exercise(bytes(data))


def test_errors_are_typed() -> None:
    # The families the codec may raise are exactly these two.
    assert issubclass(WireError, KrpcError)
    assert not issubclass(RemoteProtocolError, KrpcError)
