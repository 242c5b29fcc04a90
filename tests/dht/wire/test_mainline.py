"""The Mainline codec: BEP 5's example packets, round trips, argument rules, errors."""

from __future__ import annotations

from typing import Any

import bencodepy
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dht.core.contact import Contact
from dht.errors import LocalError, RemoteProtocolError
from dht.wire import bep44
from dht.wire import mainline as ml
from dht.wire.codes import KHASHMIR, Meaning, WireError
from dht.wire.common import OUR_CLIENT, decode_client_version, decode_nodes, encode_nodes

A = b"abcdefghij0123456789"
B = b"mnopqrstuvwxyz123456"


def query(raw: bytes) -> ml.Query:
    msg = ml.decode(raw)
    assert isinstance(msg, ml.Query)
    return msg


def args_of(method: str, args: dict[bytes, Any], **top: Any) -> ml.QueryArgs:
    msg = {b"t": b"aa", b"y": b"q", b"q": method.encode(), b"a": args, **{k.encode(): v for k, v in top.items()}}
    return ml.parse_query(query(bencodepy.encode(msg)))


def error_of(method: str, args: dict[bytes, Any]) -> WireError:
    with pytest.raises(WireError) as info:
        args_of(method, args)
    return info.value


# --- BEP 5's example packets ---------------------------------------------------------

def test_bep5_ping() -> None:
    q = query(b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")
    assert (q.tid, q.method, q.ro, q.client) == (b"aa", "ping", False, None)
    assert ml.parse_query(q) == ml.Ping(A)
    assert ml.encode_query(b"aa", ml.Ping(A), client=None) == b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
    r = ml.decode(b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re")
    assert isinstance(r, ml.Response)
    assert ml.parse_response("ping", r) == ml.IdResponse(B)


def test_bep5_find_node_and_get_peers() -> None:
    q = query(b"d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe")
    assert ml.parse_query(q) == ml.FindNode(A, B)
    q = query(b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe")
    assert ml.parse_query(q) == ml.GetPeers(A, B)
    r = ml.decode(b"d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re")
    assert isinstance(r, ml.Response)
    peers = ml.parse_response("get_peers", r)
    assert isinstance(peers, ml.PeersResponse)
    assert peers.token == b"aoeusnth"
    assert peers.values == (("97.120.106.101", 0x2E75), ("105.100.104.116", 0x6E6D))


def test_bep5_announce_peer_with_implied_port() -> None:
    q = query(b"d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe")
    ann = ml.parse_query(q)
    assert ann == ml.AnnouncePeer(A, B, 6881, b"aoeusnth", implied_port=True)
    assert isinstance(ann, ml.AnnouncePeer)
    assert ann.peer_port(40000) == 40000
    assert ml.AnnouncePeer(A, B, 6881, b"t").peer_port(40000) == 6881


def test_bep5_error() -> None:
    e = ml.decode(b"d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee")
    assert isinstance(e, ml.Error)
    assert (e.code, e.message, e.meaning) == (201, "A Generic Error Ocurred", Meaning.GENERIC)


# --- the envelope ------------------------------------------------------------------------

def test_top_level_v_ro_and_ip() -> None:
    raw = ml.encode_query(b"\x00\x01", ml.Ping(A), ro=True)
    msg = bencodepy.decode(raw)
    assert msg[b"ro"] == 1 and msg[b"v"] == OUR_CLIENT
    q = query(raw)
    assert q.ro and q.client == OUR_CLIENT
    raw = ml.encode_response(b"\x00\x01", ml.IdResponse(B), ("127.0.3.1", 6881))
    assert bencodepy.decode(raw)[b"ip"] == bytes([127, 0, 3, 1, 0x1A, 0xE1])
    r = ml.decode(raw)
    assert isinstance(r, ml.Response) and r.ip == ("127.0.3.1", 6881) and r.client == OUR_CLIENT
    r6 = ml.decode(ml.encode_response(b"x", ml.IdResponse(B), ("2001:db8::7", 1)))
    assert isinstance(r6, ml.Response) and r6.ip == ("2001:db8::7", 1)


def test_a_malformed_ip_is_ignored() -> None:
    r = ml.decode(bencodepy.encode({b"t": b"x", b"y": b"r", b"r": {b"id": B}, b"ip": b"12345"}))
    assert isinstance(r, ml.Response) and r.ip is None


def test_client_versions() -> None:
    lt = decode_client_version(b"LT\x02\x11")
    assert lt is not None and (lt.code, lt.name, lt.version) == ("LT", "libtorrent (Rasterbar)", "2.1.1")
    ut = decode_client_version(b"UT\x35\x2c")
    assert ut is not None and ut.code == "UT" and ut.name == "\u00b5Torrent"
    odd = decode_client_version(b"ZZ\x01\x02\x03")
    assert odd is not None and odd.name is None and odd.version == "010203"
    assert decode_client_version(None) is None and decode_client_version(5) is None
    ours = decode_client_version(OUR_CLIENT)
    assert ours is not None and ours.name == "Khashmir Explorer"


def test_transaction_ids_are_two_bytes() -> None:
    tids = {ml.new_tid() for _ in range(50)}
    assert all(len(t) == 2 for t in tids) and len(tids) > 40


@pytest.mark.parametrize(
    "raw",
    [b"", b"i1e", b"le", b"d1:t2:aae", b"d1:y1:qe", b"d1:t2:aa1:y1:qe", b"d1:t2:aa1:y1:q1:q4:pinge",
     b"d1:t2:aa1:y1:re", b"d1:t2:aa1:y1:ee", b"d1:eli201ee1:t2:aa1:y1:ee", b"d1:t2:aa1:y1:xe", b"d1:ti1e1:y1:qe"],
)
def test_bad_envelopes_are_remote_errors(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        ml.decode(raw)


# --- argument rules ---------------------------------------------------------------------

def test_unknown_arguments_are_ignored() -> None:
    got = args_of("ping", {b"id": A, b"zz": 5, b"want": [b"n4"]})
    assert got == ml.Ping(A)
    got = args_of("get_peers", {b"id": A, b"info_hash": B, b"noseed": 1, b"scrape": 1, b"want": [b"n4", b"n6"], b"x": b"y"})
    assert got == ml.GetPeers(A, B, (b"n4", b"n6"), noseed=True, scrape=True)


@pytest.mark.parametrize(
    "method,args",
    [("ping", {}), ("ping", {b"id": b"short"}), ("find_node", {b"id": A}), ("find_node", {b"id": A, b"target": 5}),
     ("get_peers", {b"id": A, b"info_hash": A, b"scrape": b"yes"}),
     ("announce_peer", {b"id": A, b"info_hash": B, b"token": b"t"}),
     ("announce_peer", {b"id": A, b"info_hash": B, b"port": 70000, b"token": b"t"}),
     ("announce_peer", {b"id": A, b"info_hash": B, b"port": 6881}),
     ("get", {b"id": A, b"target": B, b"seq": b"1"}),
     ("put", {b"id": A, b"token": b"t"}),
     ("put", {b"id": A, b"token": b"t", b"v": b"x", b"k": b"k" * 32, b"sig": b"s" * 64}),
     ("put", {b"id": A, b"token": b"t", b"v": b"x", b"k": b"k" * 31, b"sig": b"s" * 64, b"seq": 1}),
     ("put", {b"id": A, b"token": b"t", b"v": b"x", b"k": b"k" * 32, b"sig": b"s" * 64, b"seq": -1}),
     ("sample_infohashes", {b"id": A})],
)
def test_wrong_or_missing_arguments_are_203(method: str, args: dict[bytes, Any]) -> None:
    err = error_of(method, args)
    assert (err.code, err.meaning, err.profile) == (203, Meaning.PROTOCOL, "mainline")


def test_announce_with_implied_port_needs_no_port() -> None:
    got = args_of("announce_peer", {b"id": A, b"info_hash": B, b"token": b"t", b"implied_port": 1})
    assert isinstance(got, ml.AnnouncePeer) and got.peer_port(1234) == 1234


def test_unknown_methods() -> None:
    assert error_of("join", {b"id": A}).code == 204
    # As libtorrent: an unknown method with a target is answered as find_node.
    assert args_of("find_value", {b"id": A, b"target": B}) == ml.FindNode(A, B)
    assert args_of("vote", {b"id": A, b"info_hash": B}) == ml.FindNode(A, B)
    assert error_of("vote", {b"id": b"x", b"target": B}).code == 203


def test_bep44_put_sizes() -> None:
    big = b"x" * 996  # "996:" + 996 bytes: 1000 bytes bencoded
    assert isinstance(args_of("put", {b"id": A, b"token": b"t", b"v": big}), ml.Put)
    assert error_of("put", {b"id": A, b"token": b"t", b"v": big + b"x"}).code == 205
    mutable = {b"id": A, b"token": b"t", b"v": b"x", b"k": b"k" * 32, b"sig": b"s" * 64, b"seq": 1}
    assert isinstance(args_of("put", {**mutable, b"salt": b"s" * 64}), ml.Put)
    assert error_of("put", {**mutable, b"salt": b"s" * 65}).code == 207


def test_bep44_put_signature_and_target() -> None:
    key = Ed25519PrivateKey.generate()
    k = bep44.public_key_bytes(key)
    v = bencodepy.encode({b"a": [1, b"b"]})
    sig = bep44.sign(key, v, 3, b"salt")
    a = {b"id": A, b"token": b"t", b"v": {b"a": [1, b"b"]}, b"k": k, b"sig": sig, b"seq": 3, b"salt": b"salt", b"cas": 2}
    put = args_of("put", a)
    assert isinstance(put, ml.Put) and put.mutable and put.v == v and put.cas == 2
    assert put.target == bep44.mutable_target(k, b"salt")
    ml.check_signature(put)
    bad = args_of("put", {**a, b"seq": 4})
    assert isinstance(bad, ml.Put)
    with pytest.raises(WireError) as info:
        ml.check_signature(bad)
    assert info.value.code == 206
    immutable = args_of("put", {b"id": A, b"token": b"t", b"v": b"Hello World!"})
    assert isinstance(immutable, ml.Put) and immutable.target.hex() == "e5f96f6f38320f0f33959cb4d3d656452117aadb"
    ml.check_signature(immutable)  # nothing to check


def test_a_put_that_is_not_canonical_bencoding_is_203() -> None:
    raw = b"d1:ad2:id20:" + A + b"5:token1:t1:vd1:bi1e1:ai2eee1:q3:put1:t2:aa1:y1:qe"  # v's keys unsorted
    q = query(raw)
    assert not q.canonical
    with pytest.raises(WireError) as info:
        ml.parse_query(q)
    assert info.value.code == 203


# --- responses ---------------------------------------------------------------------------

NODES = (Contact(A, "127.0.0.1", 6881), Contact(B, "10.0.0.2", 1))
NODES6 = (Contact(B, "2001:db8::1", 6882),)


@pytest.mark.parametrize(
    "method,resp",
    [
        ("ping", ml.IdResponse(A)),
        ("find_node", ml.NodesResponse(A, NODES, NODES6)),
        ("get_peers", ml.PeersResponse(A, b"tok", (("1.2.3.4", 5), ("2001:db8::2", 6)), NODES, (), b"\x01" * 256, b"\x02" * 256)),
        ("get_peers", ml.PeersResponse(A, b"tok", (), NODES)),
        ("get", ml.ItemResponse(A, b"tok", NODES, (), b"d1:ai1ee", b"k" * 32, 5, b"s" * 64)),
        ("get", ml.ItemResponse(A, b"tok", NODES, (), None, None, 5, None)),
        ("get", ml.ItemResponse(A, b"tok", (), (), b"5:hello")),
        ("sample_infohashes", ml.SamplesResponse(A, 60, 3, (B, A), NODES)),
        ("sample_infohashes", ml.SamplesResponse(A, 0, 0, ())),
    ],
)
def test_responses_round_trip(method: str, resp: ml.ResponseValues) -> None:
    msg = ml.decode(ml.encode_response(b"\x07\x08", resp, ("127.0.0.9", 9)))
    assert isinstance(msg, ml.Response) and msg.tid == b"\x07\x08"
    assert ml.parse_response(method, msg) == resp


def test_nodes_are_one_string() -> None:
    data = encode_nodes(list(NODES))
    assert isinstance(data, bytes) and len(data) == 52
    assert decode_nodes(data) == NODES
    assert len(encode_nodes(list(NODES6), ipv6=True)) == 38
    with pytest.raises(LocalError):
        encode_nodes(list(NODES6))
    with pytest.raises(RemoteProtocolError):
        decode_nodes(data[:-1])
    with pytest.raises(RemoteProtocolError):
        decode_nodes([data[:26]])  # Khashmir's list form is not Mainline's



def test_decoded_nodes_are_contacts_like_checked_ones() -> None:
    """Node infos are made into contacts without their checks: they must be the same
    contacts (equal, same hash, same compact form, same interned host string)."""
    ports = (0, 1, 6881, 0xFFFF)
    made = [Contact(bytes([i]) * 20, f"{i}.{255 - i}.0.{i}", ports[i % 4]) for i in range(1, 40)]
    decoded = decode_nodes(encode_nodes(made))
    assert decoded == tuple(made)
    assert [hash(c) for c in decoded] == [hash(c) for c in made]
    assert [c.compact() for c in decoded] == [c.compact() for c in made]
    again = decode_nodes(encode_nodes(made))
    assert all(a.host is b.host for a, b in zip(decoded, again))


def test_the_decoded_contacts_kept_are_bounded() -> None:
    """A peer sending ever new node infos never grows the contacts kept past their bound."""
    from dht.wire import common

    for start in range(0, 3 * common._CONTACTS_KEPT, 500):
        infos = [Contact(b"\x01" * 20, f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 1)
                 for n in range(start, start + 500)]
        assert decode_nodes(encode_nodes(infos)) == tuple(infos)
        assert len(common._CONTACTS) <= common._CONTACTS_KEPT + 500


def test_a_node_info_seen_again_is_the_same_contact() -> None:
    """Decoding keeps contacts by their node info: the same 26 bytes, the same object;
    another port or id, another contact."""
    one = Contact(b"\x07" * 20, "10.1.2.3", 6881)
    moved = Contact(b"\x07" * 20, "10.1.2.3", 6882)
    first = decode_nodes(encode_nodes([one, moved]))
    second = decode_nodes(encode_nodes([moved, one]))
    assert first == (one, moved) and second == (moved, one)
    assert first[0] is second[1] and first[1] is second[0]


def test_queries_round_trip() -> None:
    for args in (
        ml.Ping(A), ml.FindNode(A, B, (b"n4",)), ml.GetPeers(A, B, (), True, True),
        ml.AnnouncePeer(A, B, 0, b"tok", implied_port=True, seed=True), ml.Get(A, B, 4), ml.Get(A, B),
        ml.Put(A, b"tok", b"i5e"), ml.SampleInfohashes(A, B),
    ):
        assert ml.parse_query(query(ml.encode_query(ml.new_tid(), args))) == args


def test_long_peer_lists_are_trimmed_to_one_datagram() -> None:
    peers = tuple((f"10.0.{i // 250}.{i % 250}", 1000 + i) for i in range(400))
    raw = ml.encode_response(b"aa", ml.PeersResponse(A, b"tok", peers, NODES), ("127.0.0.1", 1))
    assert len(raw) <= ml.UDP_PACKET_LIMIT
    msg = ml.decode(raw)
    assert isinstance(msg, ml.Response)
    got = ml.parse_response("get_peers", msg)
    assert isinstance(got, ml.PeersResponse)
    assert 100 < len(got.values) < 400 and set(got.values) <= set(peers) and got.nodes == NODES


@pytest.mark.parametrize(
    "method,r",
    [("ping", {}), ("ping", {b"id": b"x"}), ("find_node", {b"id": A, b"nodes": b"x" * 25}),
     ("find_node", {b"id": A, b"nodes": [b"x" * 26]}), ("find_node", {b"id": A, b"nodes6": b"x" * 26}),
     ("get_peers", {b"id": A, b"values": [b"12345"]}), ("get_peers", {b"id": A, b"values": b"123456"}),
     ("get_peers", {b"id": A, b"token": 5}), ("get_peers", {b"id": A, b"BFsd": b"x" * 255}),
     ("get", {b"id": A, b"v": b"x", b"k": b"k" * 32}), ("get", {b"id": A, b"seq": -1}),
     ("get", {b"id": A, b"k": b"k" * 33}),
     ("sample_infohashes", {b"id": A, b"interval": 1, b"num": 1}),
     ("sample_infohashes", {b"id": A, b"interval": 1, b"num": 1, b"samples": b"x" * 21}),
     ("sample_infohashes", {b"id": A, b"num": 1, b"samples": b""})],
)
def test_malformed_responses_are_remote_errors(method: str, r: dict[bytes, Any]) -> None:
    msg = ml.decode(bencodepy.encode({b"t": b"aa", b"y": b"r", b"r": r}))
    assert isinstance(msg, ml.Response)
    with pytest.raises(RemoteProtocolError):
        ml.parse_response(method, msg)


def test_item_responses_check_what_they_hold() -> None:
    key = Ed25519PrivateKey.generate()
    k = bep44.public_key_bytes(key)
    v = b"5:hello"
    good = ml.ItemResponse(A, v=v, k=k, seq=2, sig=bep44.sign(key, v, 2, b"s"))
    assert good.holds(bep44.mutable_target(k, b"s"), b"s")
    assert not good.holds(bep44.mutable_target(k, b"s"), b"t")
    assert not good.holds(bep44.mutable_target(k), b"")
    assert ml.ItemResponse(A, v=v).holds(bep44.immutable_target(v))
    assert not ml.ItemResponse(A, v=v).holds(B)
    assert not ml.ItemResponse(A, seq=2).holds(B)


def test_encoding_errors_are_local() -> None:
    with pytest.raises(LocalError):
        ml.encode_error(b"aa", KHASHMIR.error(Meaning.INVALID_TOKEN))
    raw = ml.encode_error(b"aa", ml.MAINLINE.error(Meaning.INVALID_TOKEN))
    e = ml.decode(raw)
    assert isinstance(e, ml.Error) and e.code == 203
    with pytest.raises(LocalError):
        ml.encode_query(b"aa", object())  # type: ignore[arg-type]
    with pytest.raises(LocalError):
        ml.parse_response("join", ml.Response(b"aa", {b"id": A}))


def test_a_query_sent_again_is_the_same_bytes_as_a_fresh_encoding() -> None:
    """The profile keeps a lookup's query encoded around its transaction id: each
    datagram equals the codec's own encoding of that id, read-only flag included,
    and arguments given as a dict (not kept) encode the same."""
    from dht.wire.mainline.profile import MainlineWire

    for read_only in (False, True):
        wire = MainlineWire(read_only)
        args = ml.GetPeers(A, B)
        for tid in (b"\x00\x00", b"1:", b"t2", b"\xff\xfe", ml.new_tid()):
            data, sent = wire.encode_query(tid, "get_peers", args)
            assert data == ml.encode_query(tid, args, ro=read_only)
            assert sent[b"t"] == tid and ml.decode(data).tid == tid
        assert len(wire._templates) == 1  # one kept, for the one arguments object
        data, _ = wire.encode_query(b"ab", "get_peers", {b"id": A, b"info_hash": B})
        assert data == ml.encode_query(b"ab", args, ro=read_only)
        assert len(wire._templates) == 1
