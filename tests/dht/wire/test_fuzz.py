"""Property-based: random and mutated datagrams thrown at a real node.

One node runs in a background event loop thread for the whole module; a
plain blocking UDP socket sends each datagram, then a tagged ping.  The node
reads its socket in order and answers synchronously, so whatever it says
about the datagram arrives before the pong, except the answers that wait for
the storage thread (get_value, store_value): once the pong is in, the test
waits for the node's answers still due (``transport.drain``) and reads what
came meanwhile, without waiting.  Properties:

* it never sends anything that is not valid KRPC, nor more than 1472 bytes;
* it answers a query (anything that decodes as one) exactly once, echoing
  its ``t``, and never with 201 (a handler crash); it answers nothing else;
* a datagram that is not KRPC, or an answer nobody asked for, is counted as
  dropped, exactly once;
* after each datagram it still answers a valid ping correctly.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, Iterator

import bencodepy
import pytest
from dhtutil import HOST, ThreadedNode, query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dht.node import core_of
from dht import errors
from dht.wire import krpc

CID = b"F" * 20
MARK = b"fuzz-mark"
PING = query("ping", {b"id": b"M" * 20}, MARK)

SETTINGS = settings(
    max_examples=200, deadline=None, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Client:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(5.0)  # a deadline: a missing pong fails the test

    def exchange(
        self, data: bytes | None, addr: tuple[str, int], settle: Callable[[], None] = lambda: None
    ) -> tuple[list[bytes], bytes]:
        """Send ``data`` and a tagged ping; return the replies before the pong (and those sent
        before ``settle()`` returns, after the pong), and the pong."""
        if data is not None:
            self.sock.sendto(data, addr)
        self.sock.sendto(PING, addr)
        before: list[bytes] = []
        while True:
            reply, sender = self.sock.recvfrom(65535)
            assert sender == addr
            try:
                msg = bencodepy.decode(reply)
            except Exception:
                msg = None
            if isinstance(msg, dict) and msg.get(b"t") == MARK:
                settle()
                return before + self.waiting(), reply
            if not is_ping_query(msg):
                before.append(reply)

    def waiting(self) -> list[bytes]:
        """The replies already received, without waiting (pings the node sends left out)."""
        out: list[bytes] = []
        self.sock.setblocking(False)
        try:
            while True:
                reply = self.sock.recv(65535)
                try:
                    msg = bencodepy.decode(reply)
                except Exception:
                    msg = None
                if not is_ping_query(msg):
                    out.append(reply)
        except BlockingIOError:
            return out
        finally:
            self.sock.settimeout(5.0)


def is_ping_query(msg: Any) -> bool:
    """The node checking a contact it has not heard answer (a joiner, a full bucket's oldest)."""
    return isinstance(msg, dict) and msg.get(b"y") == b"q" and msg.get(b"q") == b"ping"


@pytest.fixture(scope="module")
def fuzz_target(threaded_node: ThreadedNode) -> Iterator[tuple[ThreadedNode, Client]]:
    client = Client()
    try:
        yield threaded_node, client
    finally:
        client.sock.close()


def check(target: tuple[ThreadedNode, Client], data: bytes) -> None:
    tn, client = target
    node = tn.node
    dropped_before = tn.sync(lambda: node.stats().dropped)
    replies, pong = client.exchange(data, node.address, lambda: tn.call(core_of(node).transport.drain))
    dropped_after = tn.sync(lambda: node.stats().dropped)

    # The node still answers a ping correctly.
    assert bencodepy.decode(pong) == {b"t": MARK, b"y": b"r", b"r": {b"id": node.id}}

    for reply in replies:
        assert len(reply) <= krpc.UDP_PACKET_LIMIT
        message, _ = krpc.decode(reply)  # valid KRPC, or RemoteProtocolError fails the test
        assert isinstance(message, (krpc.Response, krpc.Error)), "the node sent us a query"
        if isinstance(message, krpc.Error):
            assert message.code != errors.SERVER_ERROR, f"handler crashed: {message}"

    try:
        incoming, _ = krpc.decode(data)
    except errors.RemoteProtocolError:
        incoming = None
    if isinstance(incoming, krpc.Query):
        fits = len(krpc.encode_error(incoming.tid, 206, "response too long")) <= krpc.UDP_PACKET_LIMIT
        if fits:
            assert len(replies) == 1, "a query gets exactly one reply"
            reply_msg, _ = krpc.decode(replies[0])
            assert reply_msg.tid == incoming.tid
            try:
                krpc.check_arguments(incoming)
            except errors.KrpcError as exc:
                assert isinstance(reply_msg, krpc.Error) and reply_msg.code == exc.code
            assert dropped_after == dropped_before
    else:
        assert replies == [], "only queries are answered"
        assert dropped_after == dropped_before + 1, "a bad datagram is counted once"


# --- strategies ------------------------------------------------------------------

ids = st.binary(min_size=20, max_size=20)
tids = st.binary(max_size=24)
any_value: st.SearchStrategy[Any] = st.recursive(
    st.integers(min_value=-(2**64), max_value=2**64) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.binary(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def valid_messages(draw: st.DrawFn) -> dict[bytes, Any]:
    kind = draw(st.sampled_from(["q", "q", "q", "r", "e"]))
    tid = draw(tids)
    if kind == "r":
        return {b"t": tid, b"y": b"r", b"r": {b"id": draw(ids), b"nodes": [draw(ids) + b"\x7f\x00\x00\x01\x10\x00"]}}
    if kind == "e":
        return {b"t": tid, b"y": b"e", b"e": [draw(st.integers(0, 300)), b"an error"]}
    method = draw(st.sampled_from(sorted(krpc.METHODS)))
    args: dict[bytes, Any] = {}
    for name, arg_kind in krpc.METHODS[method]:
        if arg_kind == krpc.ID:
            args[name.encode()] = draw(ids)
        elif arg_kind == krpc.INT:
            args[name.encode()] = draw(st.integers(min_value=-3, max_value=2**70))
        else:
            args[name.encode()] = draw(st.binary(max_size=60))
    return {b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args}


@st.composite
def retyped_messages(draw: st.DrawFn) -> bytes:
    """A valid message with one field (top level or argument) of another type or missing."""
    msg = draw(valid_messages())
    holder = msg
    if msg[b"y"] == b"q" and draw(st.booleans()):
        holder = msg[b"a"]
    elif msg[b"y"] == b"r" and draw(st.booleans()):
        holder = msg[b"r"]
    field = draw(st.sampled_from(sorted(holder)))
    if draw(st.integers(0, 4)) == 0:
        del holder[field]
    else:
        holder[field] = draw(any_value)
    data: bytes = bencodepy.encode(msg)
    return data


@st.composite
def mutated_datagrams(draw: st.DrawFn) -> bytes:
    data = bytearray(bencodepy.encode(draw(valid_messages())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        else:
            del data[pos : pos + draw(st.integers(1, 4))]
    return bytes(data)


# --- properties ----------------------------------------------------------------

@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes(fuzz_target: tuple[ThreadedNode, Client], data: bytes) -> None:
    check(fuzz_target, data)


@SETTINGS
@given(data=mutated_datagrams())
def test_mutated_datagrams(fuzz_target: tuple[ThreadedNode, Client], data: bytes) -> None:
    check(fuzz_target, data)


@SETTINGS
@given(data=retyped_messages())
def test_fields_of_the_wrong_type(fuzz_target: tuple[ThreadedNode, Client], data: bytes) -> None:
    check(fuzz_target, data)


@SETTINGS
@given(msg=valid_messages())
def test_valid_messages(fuzz_target: tuple[ThreadedNode, Client], msg: dict[bytes, Any]) -> None:
    check(fuzz_target, bencodepy.encode(msg))


def test_the_fuzzed_node_still_works(fuzz_target: tuple[ThreadedNode, Client]) -> None:
    tn, client = fuzz_target
    replies, pong = client.exchange(None, tn.node.address)
    assert replies == []
    assert bencodepy.decode(pong)[b"r"] == {b"id": tn.node.id}
    assert tn.sync(lambda: tn.node.running)


KEYS = [bytes([i]) * 20 for i in (1, 2, 3)]


@st.composite
def keyed_queries(draw: st.DrawFn) -> tuple[str, dict[bytes, Any]]:
    """Stores with a valid token and reads, on a few keys, so values pile up."""
    key = draw(st.sampled_from(KEYS))
    method = draw(st.sampled_from(["store_value", "store_value", "get_value", "find_value"]))
    if method == "store_value":
        value = draw(st.binary(max_size=1300))
        return method, {b"id": draw(ids), b"key": key, b"value": value}
    if method == "get_value":
        return method, {b"id": draw(ids), b"key": key, b"num": draw(st.integers(0, 200))}
    return method, {b"id": draw(ids), b"key": key}


@SETTINGS
@given(op=keyed_queries(), tid=tids)
def test_stores_and_reads_with_valid_tokens(
    fuzz_target: tuple[ThreadedNode, Client], op: tuple[str, dict[bytes, Any]], tid: bytes
) -> None:
    tn, client = fuzz_target
    method, args = op
    if method == "store_value":
        args[b"token"] = tn.sync(lambda: core_of(tn.node).protocol.tokens.token_for(HOST))
    check(fuzz_target, krpc.encode_query(tid, method, args))
    replies, _ = client.exchange(
        krpc.encode_query(tid, method, args), tn.node.address, lambda: tn.call(core_of(tn.node).transport.drain)
    )
    [reply] = replies
    message, _ = krpc.decode(reply)
    limit = tn.node.config.MAX_VALUE_SIZE
    if method == "store_value":
        if len(args[b"value"]) > limit:
            assert isinstance(message, krpc.Error) and message.code == errors.GENERIC
        else:
            assert isinstance(message, krpc.Response)
            assert tn.sync(lambda: core_of(tn.node).store.has_value(args[b"key"], args[b"value"]))
    else:
        assert isinstance(message, krpc.Response)
        stored = tn.sync(lambda: set(core_of(tn.node).store.values(args[b"key"])))
        if method == "get_value":
            got = message.values[b"values"]
            assert set(got) <= stored and len(set(got)) == len(got)
            assert len(got) <= (args[b"num"] or len(stored))
            if stored:  # values are dropped to fit, but one value always fits
                assert got
        else:
            assert message.values[b"num"] == len(stored)
