"""The datagram path's fast paths give exactly what the general paths give.

Both wires' decoders check a well-formed query or response inline, right after
the C decode, and hand anything else to the general envelope check
(``_message``).  Whatever the datagram -- well formed, of odd types, not an
envelope at all -- the decoder must return what the general path returns for
the same decoded dict, or raise the same error.  And the Mainline encoder's
shortcuts for ping (the query's and the answer's dicts) make the same bytes as
the dicts the general code builds.
"""

from __future__ import annotations

from typing import Any, Callable

import bencode2
import bencodepy
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dht.errors import LocalError, RemoteProtocolError
from dht.wire import krpc
from dht.wire import mainline as ml
from dht.wire.mainline import codec

ID = bytes(range(20))

scalars = (
    st.integers(min_value=-5, max_value=5) | st.binary(max_size=4)
    | st.sampled_from([b"q", b"r", b"e", b"ping", b"KE\x00\x01", b"\x7f\x00\x00\x01\x1a\xe1", ID])
)
anything: st.SearchStrategy[Any] = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.binary(max_size=3), inner, max_size=3),
    max_leaves=6,
)
# Envelopes near the common case: every field right for its kind, then at most one
# of them replaced by anything (or taken out), and the optional ones of any type.
base = st.fixed_dictionaries(
    {
        b"t": st.binary(max_size=4),
        b"y": st.sampled_from([b"q", b"r", b"e", b"x"]),
        b"q": st.sampled_from([b"ping", b"find_node", b"get_peers"]),
        b"a": st.fixed_dictionaries({b"id": st.just(ID)}),
        b"r": st.fixed_dictionaries({b"id": st.just(ID)}),
        b"e": st.tuples(st.integers(200, 205), st.binary(max_size=5)).map(list),
    },
    optional={
        b"v": st.just(b"LT\x01\x02") | anything,
        b"ro": st.sampled_from([0, 1, 2]) | anything,
        b"ip": st.sampled_from([b"\x7f\x00\x00\x01\x1a\xe1", bytes(18), bytes(7)]) | anything,
    },
)


def perturbed(msg: dict[bytes, Any], field: bytes | None, value: Any) -> dict[bytes, Any]:
    if field is not None:
        if value is None:
            msg.pop(field, None)
        else:
            msg[field] = value
    return msg


envelope = st.builds(
    perturbed, base, st.sampled_from([None, b"t", b"y", b"q", b"a", b"r", b"e"]), st.none() | anything
)
datagrams = envelope.map(bencodepy.encode) | anything.map(bencodepy.encode)


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except RemoteProtocolError as exc:
        return ("raised", str(exc))


@settings(max_examples=600, deadline=None, database=None)
@given(data=datagrams)
@example(data=b"d1:ad2:id20:" + ID + b"e1:q4:ping1:t2:aa1:y1:qe")
@example(data=b"d1:rd2:id20:" + ID + b"e1:t2:aa1:y1:re")
def test_khashmir_decode_is_the_general_path(data: bytes) -> None:
    assert outcome(lambda: krpc.decode(data)) == outcome(lambda: krpc._message(bencode2.bdecode(data)))


@settings(max_examples=600, deadline=None, database=None)
@given(data=datagrams)
@example(data=b"d1:ad2:id20:" + ID + b"e1:q4:ping2:roi1e1:t2:aa1:v4:LT\x01\x021:y1:qe")
@example(data=b"d2:ip6:\x7f\x00\x00\x01\x1a\xe11:rd2:id20:" + ID + b"e1:t2:aa1:v4:LT\x01\x021:y1:re")
def test_mainline_decode_is_the_general_path(data: bytes) -> None:
    assert outcome(lambda: codec.decode_raw(data)) == outcome(lambda: codec._message(bencode2.bdecode(data), data, True))


@pytest.mark.parametrize("client", [None, b"KE\x00\x01"])
def test_mainline_ping_bytes_are_the_general_encoding(client: bytes | None) -> None:
    query = {b"t": b"aa", b"y": b"q", b"q": b"ping", b"a": {b"id": ID}}
    answer = {b"t": b"aa", b"y": b"r", b"r": {b"id": ID}, b"ip": b"\x7f\x00\x00\x01\x1a\xe1"}
    for msg in (query, answer):
        if client is not None:
            msg[b"v"] = client
    assert ml.encode_query(b"aa", ml.Ping(ID), client=client) == bencodepy.encode(query)
    assert ml.encode_response(b"aa", ml.IdResponse(ID), ("127.0.0.1", 6881), client=client) == bencodepy.encode(answer)


def test_mainline_compact_address_cache_agrees() -> None:
    from dht.wire.common import decode_address, decode_compact_address, encode_address, encode_compact_address

    for raw in (b"\x7f\x00\x00\x01\x1a\xe1", b"\x0a\x00\x00\x02\x00\x01", bytes(range(16)) + b"\x00\x50"):
        for _ in range(2):  # made, then kept
            assert decode_compact_address(raw) == decode_address(raw)
            assert encode_compact_address(decode_address(raw)) == raw


@pytest.mark.parametrize("read_only", [False, True])
def test_mainline_dict_query_kept_encoded_gives_the_same_bytes(read_only: bool) -> None:
    from dht.wire.mainline.profile import MainlineWire

    wire, fresh = MainlineWire(read_only), MainlineWire(read_only)
    args = {b"id": ID}
    for n in range(3):  # the first encodes and keeps it, the others reuse it
        tid = bytes([n, 7])
        assert wire.encode_query(tid, "ping", dict(args)) == fresh.encode_query(tid, "ping", ml.Ping(ID))
    other = {b"id": bytes(20), b"target": ID}
    typed = ml.FindNode(bytes(20), ID)
    assert wire.encode_query(b"zz", "find_node", other)[0] == fresh.encode_query(b"zz", "find_node", typed)[0]
    # a number is never a kept key: True is not a port, even after 1 was one
    announce = {b"id": ID, b"info_hash": ID, b"port": 1, b"token": b"t"}
    wire.encode_query(b"aa", "announce_peer", announce)
    with pytest.raises(LocalError):
        wire.encode_query(b"ab", "announce_peer", {**announce, b"port": True})
