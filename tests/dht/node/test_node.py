"""A real node over loopback UDP, poked with raw datagrams from a plain client."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import time
from pathlib import Path
from typing import Any

import bencodepy
import pytest
from dhtutil import (
    FAST, HOST, STEADY, RawClient, free_udp_port, query, raw, raw_client, run, running_node, silent_udp_port,
    wait_until,
)

from dht.node import core_of
from dht.khashmir.remote import KRPC_HANDLERS, KhashmirRemote
from dht.machine.replies import SenderSeen
from dht import Config, Contact, Node, errors
from dht.wire import krpc
from dht.errors import RemoteProtocolError
from dht.events import ContactReplaced, Event

CID = b"C" * 20  # the raw client's node id
KEY = hashlib.sha1(b"key").digest()


def decoded(data: bytes) -> dict[bytes, Any]:
    msg = bencodepy.decode(data)
    assert isinstance(msg, dict)
    return msg


async def get_token(client: RawClient, node: Node) -> bytes:
    reply = await client.ask_decoded(query("find_node", {b"id": CID, b"target": KEY}), node.address)
    token = reply[b"r"][b"token"]
    assert isinstance(token, bytes) and len(token) == 20
    return token


async def store(
    client: RawClient, node: Node, value: bytes, token: bytes, key: bytes = KEY, tid: bytes = b"st"
) -> dict[bytes, Any]:
    args = {b"id": CID, b"key": key, b"value": value, b"token": token}
    return await client.ask_decoded(query("store_value", args, tid), node.address)


def error_code(reply: dict[bytes, Any]) -> int:
    assert reply[b"y"] == b"e", reply
    code, text = reply[b"e"]
    assert isinstance(text, bytes)
    return int(code)


# --- bad datagrams ---------------------------------------------------------------

GARBAGE = [
    # (asyncio never sends an empty datagram, so b"" is tested in test_krpc only.)
    b"\x00" * 10,
    b"garbage",
    os.urandom(300),
    b"d1:t2:aa1:y1:q",  # truncated
    raw([b"a", b"list"]),
    raw({b"y": b"q", b"q": b"ping", b"a": {b"id": CID}}),  # no t
    raw({b"t": b"xx", b"q": b"ping", b"a": {b"id": CID}}),  # no y
    raw({b"t": 5, b"y": b"q", b"q": b"ping", b"a": {b"id": CID}}),
    raw({b"t": b"xx", b"y": b"q", b"q": 5, b"a": {b"id": CID}}),
    raw({b"t": b"xx", b"y": b"q", b"q": b"ping", b"a": [CID]}),
    raw({b"t": b"xx", b"y": b"r", b"r": [CID]}),
    raw({b"t": b"xx", b"y": b"e", b"e": [201]}),
    raw({b"t": b"xx", b"y": b"z"}),
    # Well-formed responses and errors nobody asked for.
    raw({b"t": b"xx", b"y": b"r", b"r": {b"id": CID}}),
    raw({b"t": b"xx", b"y": b"e", b"e": [201, b"no"]}),
]


def test_garbage_is_dropped_counted_and_not_answered(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            for data in GARBAGE:
                before = node.stats().dropped
                replies = await client.replies_before_ping(data, node.address)
                assert replies == [], data
                assert node.stats().dropped == before + 1, data
            # The node is fine: a plain ping still gets the right answer.
            reply = await client.ask_decoded(query("ping", {b"id": CID}, b"p1"), node.address)
            assert reply == {b"t": b"p1", b"y": b"r", b"r": {b"id": node.id}}

    run(scenario())


def test_unknown_method_is_203_and_echoes_t(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            for method in ("get_peers", "pong", "PING"):
                reply = await client.ask_decoded(query(method, {b"id": CID}, b"u-" + method.encode()), node.address)
                assert reply[b"t"] == b"u-" + method.encode()
                assert error_code(reply) == errors.METHOD_UNKNOWN

    run(scenario())


MALFORMED = [
    ("ping", {}),
    ("ping", {b"id": b"short"}),
    ("ping", {b"id": 12}),
    ("ping", {b"id": CID, b"extra": 1}),
    ("join", {b"id": CID * 2}),
    ("find_node", {b"id": CID}),
    ("find_node", {b"id": CID, b"target": b"t" * 19}),
    ("find_value", {b"id": CID, b"key": [KEY]}),
    ("get_value", {b"id": CID, b"key": KEY}),
    ("get_value", {b"id": CID, b"key": KEY, b"num": b"1"}),
    ("get_value", {b"id": CID, b"key": KEY, b"num": -1}),
    ("store_value", {b"id": CID, b"key": KEY, b"value": 5, b"token": b"t"}),
    ("store_value", {b"id": CID, b"key": KEY, b"value": b"v"}),
    ("store_value", {b"id": CID, b"key": KEY, b"value": b"v", b"token": [b"t"]}),
]


def test_malformed_arguments_are_204(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            for i, (method, args) in enumerate(MALFORMED):
                tid = b"m%d" % i
                reply = await client.ask_decoded(query(method, args, tid), node.address)
                assert reply[b"t"] == tid
                assert error_code(reply) == errors.MALFORMED_REQUEST, (method, args)
            assert core_of(node).store.values(KEY) == []
            stats = node.stats().methods
            assert stats["get_value"].errors == 3 and stats["get_value"].received == 3

    run(scenario())


def test_handler_bug_is_answered_201_and_the_node_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            def broken(*args: Any, **kwargs: Any) -> dict[bytes, Any]:
                raise RuntimeError("a bug")

            table = core_of(node).protocol.handlers.handlers  # the network's dispatch table
            real = table["ping"]
            monkeypatch.setitem(table, "ping", broken)  # restored at the end whatever happens
            reply = await client.ask_decoded(query("ping", {b"id": CID}, b"b1"), node.address)
            assert reply[b"t"] == b"b1" and error_code(reply) == errors.SERVER_ERROR
            table["ping"] = real
            reply = await client.ask_decoded(query("ping", {b"id": CID}, b"b2"), node.address)
            assert reply[b"r"] == {b"id": node.id}

    run(scenario())
    # The bug is logged with its traceback.
    assert any(r.exc_info and str(r.exc_info[1]) == "a bug" for r in caplog.records)


# --- tokens and stores --------------------------------------------------------

def test_store_needs_a_valid_token_for_the_sender_ip(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            token = await get_token(client, node)
            assert token == core_of(node).protocol.tokens.token_for("127.0.0.1")
            altered = bytes([token[0] ^ 0xFF]) + token[1:]
            other_ip = core_of(node).protocol.tokens.token_for("10.0.0.1")  # as if we were elsewhere
            for bad in (altered, other_ip, b"", b"x" * 20, token[:10]):
                reply = await store(client, node, b"refused", bad)
                assert error_code(reply) == errors.INVALID_TOKEN
            assert core_of(node).store.values(KEY) == []
            reply = await store(client, node, b"accepted", token, tid=b"ok")
            assert reply == {b"t": b"ok", b"y": b"r", b"r": {b"id": node.id}}
            assert core_of(node).store.values(KEY) == [b"accepted"]

    run(scenario())


def test_get_value_response_drops_values_to_fit_one_datagram(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            token = await get_token(client, node)
            stored = [os.urandom(100).hex().encode() for _ in range(20)]  # 200 bytes each
            for i, value in enumerate(stored):
                assert (await store(client, node, value, token, tid=b"s%d" % i))[b"y"] == b"r"
            assert sorted(core_of(node).store.values(KEY)) == sorted(stored)
            reply_bytes = await client.ask(
                query("get_value", {b"id": CID, b"key": KEY, b"num": 0}, b"g" * 20), node.address
            )
            assert len(reply_bytes) <= krpc.UDP_PACKET_LIMIT
            reply = decoded(reply_bytes)
            assert reply[b"y"] == b"r" and reply[b"t"] == b"g" * 20
            values = reply[b"r"][b"values"]
            assert 0 < len(values) < len(stored)
            assert set(values) <= set(stored)
            # find_value still tells how many there are.
            fv = await client.ask_decoded(query("find_value", {b"id": CID, b"key": KEY}), node.address)
            assert fv[b"r"][b"num"] == len(stored)

    run(scenario())


def test_get_value_num_limits_the_values(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            token = await get_token(client, node)
            stored = [b"value-%d" % i for i in range(6)]
            for value in stored:
                await store(client, node, value, token)
            for num, expected in ((0, 6), (1, 1), (4, 4), (6, 6), (50, 6)):
                reply = await client.ask_decoded(
                    query("get_value", {b"id": CID, b"key": KEY, b"num": num}), node.address
                )
                values = reply[b"r"][b"values"]
                assert len(values) == expected and len(set(values)) == expected
                assert set(values) <= set(stored)
            other = await client.ask_decoded(
                query("get_value", {b"id": CID, b"key": b"z" * 20, b"num": 0}), node.address
            )
            assert other[b"r"] == {b"values": [], b"id": node.id}

    run(scenario())


def test_responses_echo_t(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            for tid in (b"", b"a", os.urandom(20), bytes(range(64)), b"\xff" * 300):
                reply = await client.ask_decoded(query("ping", {b"id": CID}, tid), node.address)
                assert reply[b"t"] == tid and reply[b"y"] == b"r"
                err = await client.ask_decoded(query("nope", {b"id": CID}, tid), node.address)
                assert err[b"t"] == tid and err[b"y"] == b"e"

    run(scenario())


def test_reply_that_cannot_fit_one_datagram_is_not_sent(tmp_path: Path) -> None:
    """A transaction id so long that even an error reply would exceed 1472 bytes."""

    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            tid = b"T" * 1460
            before = node.stats().dropped
            replies = await client.replies_before_ping(query("ping", {b"id": CID}, tid), node.address)
            assert replies == []
            assert node.stats().dropped == before + 1

    run(scenario())


def test_join_returns_the_senders_address(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            reply = await client.ask_decoded(query("join", {b"id": CID}, b"j"), node.address)
            host, port = client.address
            assert reply == {
                b"t": b"j", b"y": b"r",
                b"r": {b"ip_addr": host.encode(), b"port": port, b"id": node.id},
            }

    run(scenario())


async def answer_ping(client: RawClient, node: Node, node_id: bytes) -> None:
    """Receive the node's next request, a ping, and answer it with ``node_id``."""
    data, _ = await client.recv()
    q = decoded(data)
    assert q[b"y"] == b"q" and q[b"q"] == b"ping", q
    client.send(raw({b"t": q[b"t"], b"y": b"r", b"r": {b"id": node_id}}), node.address)


def test_find_node_returns_compact_nodes_and_a_token(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as a, raw_client() as b:
            ask = query("find_node", {b"id": b"A" * 20, b"target": b"B" * 20})
            # Two clients make themselves known by pinging with their ids: the node
            # knows them, but hands out no contact that has not answered it.
            await a.ask(query("ping", {b"id": b"A" * 20}), node.address)
            await b.ask(query("ping", {b"id": b"B" * 20}), node.address)
            assert core_of(node).table.get(b"B" * 20) is not None
            reply = await a.ask_decoded(ask, node.address)
            assert reply[b"r"][b"nodes"] == []
            # They join: the node pings them to verify, they answer, and they are handed out.
            for client, cid in ((a, b"A" * 20), (b, b"B" * 20)):
                await client.ask(query("join", {b"id": cid}), node.address)
                await answer_ping(client, node, cid)
            await wait_until(lambda: core_of(node).table.answered_count() == 2, what="both verified")
            reply = await a.ask_decoded(ask, node.address)
            r = reply[b"r"]
            assert set(r) == {b"id", b"nodes", b"token"}
            assert all(isinstance(n, bytes) and len(n) == 26 for n in r[b"nodes"])
            contacts = [Contact.from_compact(n) for n in r[b"nodes"]]
            assert contacts[0] == Contact(b"B" * 20, *b.address)  # the closest to the target first
            assert set(contacts) == {Contact(b"A" * 20, *a.address), Contact(b"B" * 20, *b.address)}
            assert r[b"token"] == core_of(node).protocol.tokens.token_for("127.0.0.1")

    run(scenario())


def test_a_query_never_moves_a_known_contact_an_answer_there_does(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as first, raw_client() as second:
            aid = b"A" * 20
            await first.ask(query("join", {b"id": aid}), node.address)
            await answer_ping(first, node, aid)
            await wait_until(lambda: core_of(node).table.answered_count() == 1, what="verified")
            ask = query("find_node", {b"id": aid, b"target": aid})
            reply = await first.ask_decoded(ask, node.address)
            assert [Contact.from_compact(n) for n in reply[b"r"][b"nodes"]] == [Contact(aid, *first.address)]
            # The same id now speaks from another port: a query proves nothing, it stays put.
            reply = await second.ask_decoded(ask, node.address)
            assert [Contact.from_compact(n) for n in reply[b"r"][b"nodes"]] == [Contact(aid, *first.address)]
            # Only an answer to our own request at the new address moves it.
            fut = core_of(node).request(Contact(aid, *second.address), "ping", {b"id": node.id})
            await answer_ping(second, node, aid)
            await fut
            reply = await second.ask_decoded(ask, node.address)
            assert [Contact.from_compact(n) for n in reply[b"r"][b"nodes"]] == [Contact(aid, *second.address)]

    run(scenario())


def test_find_value_returns_num(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            token = await get_token(client, node)
            for n in range(3):
                fv = await client.ask_decoded(query("find_value", {b"id": CID, b"key": KEY}), node.address)
                assert fv[b"r"][b"num"] == n
                assert all(len(x) == 26 for x in fv[b"r"][b"nodes"])
                await store(client, node, b"v%d" % n, token)
            await store(client, node, b"v0", token)  # the same value again: still 3
            fv = await client.ask_decoded(query("find_value", {b"id": CID, b"key": KEY}), node.address)
            assert fv[b"r"][b"num"] == 3

    run(scenario())


def test_sender_becomes_an_uncontacted_contact(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            await client.ask(query("ping", {b"id": CID}), node.address)
            entry = core_of(node).table.get(CID)
            assert entry is not None and entry.contact.address == client.address
            assert not entry.answered and entry.last_seen is None
            # A query carrying the node's own id is not added.
            await client.ask(query("ping", {b"id": node.id}), node.address)
            assert core_of(node).table.get(node.id) is None

    run(scenario())


# --- the remote interface as in the seed ---------------------------------------

SEED_SIGNATURES = {
    "krpc_ping": ["id", "_krpc_sender"],
    "krpc_join": ["id", "_krpc_sender"],
    "krpc_find_node": ["id", "target", "_krpc_sender"],
    "krpc_find_value": ["id", "key", "_krpc_sender"],
    "krpc_get_value": ["id", "key", "num", "_krpc_sender"],
    "krpc_store_value": ["id", "key", "value", "token", "_krpc_sender"],
}


def test_remote_interface_signatures_match_the_seed() -> None:
    node = Node(FAST)
    for name, params in SEED_SIGNATURES.items():
        sig = inspect.signature(getattr(core_of(node).protocol.remote, name))
        assert list(sig.parameters) == params, name
        assert sig.parameters["_krpc_sender"].default is None
        assert all(p.default is inspect.Parameter.empty for p in list(sig.parameters.values())[:-1])
        # The method table points at the same handlers, in knode order.
        method = name[len("krpc_"):]
        assert [n for n, _ in krpc.METHODS[method]] == params[:-1]
        assert KRPC_HANDLERS[method] is getattr(KhashmirRemote, name)


def test_handlers_called_without_sender_answer_as_for_localhost(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node:
            port = node.address[1]
            remote = core_of(node).protocol.remote
            answers = []
            answers.append(remote.krpc_ping(CID))
            assert answers[-1].values == {b"id": node.id}
            answers.append(remote.krpc_join(CID))
            assert answers[-1].values == {b"ip_addr": b"127.0.0.1", b"port": port, b"id": node.id}
            answers.append(remote.krpc_find_node(CID, KEY))
            token = answers[-1].values[b"token"]
            assert token == core_of(node).protocol.tokens.token_for("127.0.0.1")
            answers.append(remote.krpc_store_value(CID, KEY, b"local", token))
            assert answers[-1].values == {b"id": node.id}
            answers.append(remote.krpc_store_value(CID, KEY, b"x", core_of(node).protocol.tokens.token_for("10.0.0.1")))
            assert isinstance(answers[-1].values, errors.KrpcError) and answers[-1].values.code == errors.INVALID_TOKEN
            answers.append(remote.krpc_find_value(CID, KEY))
            assert answers[-1].values[b"num"] == 1
            answers.append(remote.krpc_get_value(CID, KEY, 0))
            assert answers[-1].values[b"values"] == [b"local"]
            # Local calls do not put the (absent) sender in the routing table.
            assert not [e for a in answers for e in a.effects if isinstance(e, SenderSeen)]
            assert len(core_of(node).table) == 0

    run(scenario())


# --- limits -------------------------------------------------------------------------

def test_store_limits_answer_errors_and_lose_nothing(tmp_path: Path) -> None:
    config = Config(KRPC_TIMEOUT=1.0, MAX_VALUE_SIZE=64, MAX_VALUES_PER_KEY=3, MAX_VALUES=5)
    key2 = b"2" * 20

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client() as client:
            token = await get_token(client, node)

            def everything() -> set[tuple[bytes, bytes]]:
                return {(v.key, v.value) for v in core_of(node).store.all_values()}

            for i in range(3):
                assert (await store(client, node, b"k1-%d" % i, token))[b"y"] == b"r"
            kept = everything()
            # Over MAX_VALUES_PER_KEY.
            assert error_code(await store(client, node, b"k1-3", token)) == errors.GENERIC
            assert everything() == kept
            # Storing a value that is already there only refreshes it.
            assert (await store(client, node, b"k1-0", token))[b"y"] == b"r"
            # Over MAX_VALUE_SIZE (and at it: accepted).
            assert error_code(await store(client, node, b"x" * 65, token, key2)) == errors.GENERIC
            assert everything() == kept
            assert (await store(client, node, b"y" * 64, token, key2))[b"y"] == b"r"
            assert (await store(client, node, b"k2-1", token, key2))[b"y"] == b"r"
            kept = everything()
            assert len(kept) == 5
            # Over MAX_VALUES.
            assert error_code(await store(client, node, b"k3-0", token, b"3" * 20)) == errors.GENERIC
            assert everything() == kept
            assert node.stats().values == 5

    run(scenario())


def test_local_store_value_refuses_an_oversized_value(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path, Config(KRPC_TIMEOUT=1.0, MAX_VALUE_SIZE=10)) as node:
            with pytest.raises(errors.LocalError):
                await node.store_value(KEY, b"x" * 11)
            result = await node.store_value(KEY, b"x" * 10)
            assert [c.id for c in result.accepted] == [node.id]

    run(scenario())


# --- answers to our own requests --------------------------------------------------

def test_answer_with_another_id_fails_the_request_and_removes_the_contact(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            expected = Contact(b"E" * 20, *client.address)
            core_of(node).requests.insert_node(expected)
            fut = core_of(node).request(expected, "ping", {b"id": node.id})
            data, _ = await client.recv()
            q = decoded(data)
            assert q[b"y"] == b"q" and q[b"q"] == b"ping" and q[b"a"] == {b"id": node.id}
            client.send(raw({b"t": q[b"t"], b"y": b"r", b"r": {b"id": b"X" * 20}}), node.address)
            with pytest.raises(RemoteProtocolError):
                await fut
            assert core_of(node).table.get(expected.id) is None

    run(scenario())


def test_answer_from_another_address_is_dropped(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client, raw_client() as impostor:
            target = Contact(b"E" * 20, *client.address)
            fut = core_of(node).request(target, "ping", {b"id": node.id})
            data, _ = await client.recv()
            tid = decoded(data)[b"t"]
            before = node.stats().dropped
            answer = raw({b"t": tid, b"y": b"r", b"r": {b"id": target.id}})
            assert await impostor.replies_before_ping(answer, node.address) == []
            assert node.stats().dropped == before + 1
            assert not fut.done()
            client.send(answer, node.address)  # the real peer answers: accepted
            assert await fut == {b"id": target.id}
            entry = core_of(node).table.get(target.id)
            assert entry is not None and entry.answered and entry.rtt is not None

    run(scenario())


def test_error_reply_fails_the_request_with_its_code(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node, raw_client() as client:
            peer = Contact(b"E" * 20, *client.address)
            fut = core_of(node).request(peer, "find_node", {b"id": node.id, b"target": KEY})
            data, _ = await client.recv()
            client.send(krpc.encode_error(decoded(data)[b"t"], 202, "go away"), node.address)
            with pytest.raises(errors.KrpcError) as info:
                await fut
            assert (info.value.code, info.value.message) == (202, "go away")
            assert node.stats().methods["find_node"].failed == 1

    run(scenario())


def test_request_to_a_silent_peer_times_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path, Config(KRPC_TIMEOUT=0.3)) as node, raw_client() as client:
            with pytest.raises(errors.RpcTimeout):
                await node.ping(*client.address)
            assert node.stats().methods["ping"].failed == 1

    run(scenario())


def test_pending_requests_fail_when_the_node_stops(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with raw_client() as client:
            node = Node(FAST, host=HOST, data_dir=tmp_path)
            await node.start()
            fut = core_of(node).request(Contact(b"E" * 20, *client.address), "ping", {b"id": node.id})
            await client.recv()
            await node.stop()
            with pytest.raises(errors.NodeStopped):
                await fut
            assert not node.running
            with pytest.raises(errors.LocalError):
                await node.ping(*client.address)

    run(scenario())


def test_start_on_a_port_in_use_is_a_local_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path / "a") as first:
            second = Node(FAST, host=HOST, port=first.address[1], data_dir=tmp_path / "b")
            with pytest.raises(errors.LocalError) as info:
                await second.start()
            assert str(first.address[1]) in str(info.value) and "in use" in str(info.value)
            assert not second.running
            with pytest.raises(errors.LocalError):
                await first.start()  # already started

    run(scenario())


# --- joining and the routing table on a live node ------------------------------------

def test_bootstrap_joins_and_fills_the_table(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path / "a") as a, running_node(tmp_path / "b") as b, \
                running_node(tmp_path / "c") as c:
            await b.join(*a.address)
            assert await c.join(*a.address) == c.address  # our address as a sees it
            count = await c.bootstrap([a.address])
            assert count == len(core_of(c).table) == 2
            assert {x.id for x in core_of(c).table.contacts()} == {a.id, b.id}
            assert await c.bootstrap([]) == 2  # nothing to join: just a look around

    run(scenario())


def test_bootstrap_with_nobody_answering_is_a_local_error(tmp_path: Path) -> None:
    dead = ("127.0.0.1", free_udp_port())

    async def scenario() -> None:
        async with running_node(tmp_path, Config(KRPC_TIMEOUT=0.3)) as node:
            with pytest.raises(errors.LocalError) as info:
                await node.bootstrap([dead])
            assert f"{dead[0]}:{dead[1]}" in str(info.value)
            with pytest.raises(errors.RpcTimeout):
                await node.join(*dead)

    run(scenario())


def opposite_half_ids(own: bytes, count: int) -> list[bytes]:
    """Ids whose first bit differs from ``own``'s (so never in our own bucket once split)."""
    flip = (int.from_bytes(own, "big") ^ (1 << 159)) & ~((1 << 140) - 1)
    return [(flip | (i + 1)).to_bytes(20, "big") for i in range(count)]


def test_full_bucket_pings_its_oldest_and_replaces_it_if_dead(tmp_path: Path) -> None:
    config = Config(K=2, KRPC_TIMEOUT=0.3, MIN_PING_INTERVAL=0.05)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client() as alive:
            seen: list[Event] = []
            node.subscribe(seen.append)
            ids = opposite_half_ids(node.id, 4)
            dead = Contact(ids[0], HOST, silent_udp_port())  # silent: its ping times out
            core_of(node).requests.insert_node(dead)
            core_of(node).requests.insert_node(Contact(ids[1], *alive.address))
            core_of(node).requests.insert_node(Contact(ids[2], *alive.address))  # splits; the other half is full
            full = core_of(node).table.bucket_for(ids[0])
            assert [e.contact.id for e in full.entries] == ids[:2]
            assert ids[2] not in {c.id for c in core_of(node).table.contacts()}
            # Once the oldest (dead) has been quiet for MIN_PING_INTERVAL, a newcomer makes
            # the node ping it; the ping times out and the newcomer takes its place.
            started = time.monotonic()
            await wait_until(lambda: time.monotonic() - started > 0.06, what="MIN_PING_INTERVAL")
            newcomer = Contact(ids[3], *alive.address)
            core_of(node).requests.insert_node(newcomer)
            await wait_until(lambda: any(isinstance(e, ContactReplaced) for e in seen), what="replace")
            [replaced] = [e for e in seen if isinstance(e, ContactReplaced)]
            assert (replaced.old, replaced.new) == (dead, newcomer)
            assert [e.contact.id for e in core_of(node).table.bucket_for(ids[0]).entries] == [ids[1], ids[3]]

    run(scenario())


def test_full_bucket_keeps_a_live_oldest_contact(tmp_path: Path) -> None:
    config = Config(K=2, KRPC_TIMEOUT=1.0, MIN_PING_INTERVAL=0.05)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node, raw_client() as oldest, raw_client() as other:
            ids = opposite_half_ids(node.id, 4)
            core_of(node).requests.insert_node(Contact(ids[0], *oldest.address))
            core_of(node).requests.insert_node(Contact(ids[1], *other.address))
            core_of(node).requests.insert_node(Contact(ids[2], *other.address))
            started = time.monotonic()
            await wait_until(lambda: time.monotonic() - started > 0.06, what="MIN_PING_INTERVAL")
            core_of(node).requests.insert_node(Contact(ids[3], *other.address))
            data, _ = await oldest.recv()  # the node pings the oldest contact...
            q = decoded(data)
            assert q[b"q"] == b"ping"
            oldest.send(raw({b"t": q[b"t"], b"y": b"r", b"r": {b"id": ids[0]}}), node.address)
            # ...which answers: it stays (now the freshest), and the newcomer is not added.
            bucket = core_of(node).table.bucket_for(ids[0])
            await wait_until(lambda: bucket.entries[-1].contact.id == ids[0], what="oldest seen")
            assert [e.contact.id for e in bucket.entries] == [ids[1], ids[0]]

    run(scenario())


# --- a restart onto a network where every saved contact is dead ------------------------

def _loopback_hosts(prefix: str, count: int) -> list[str]:
    """``count`` loopback addresses of their own (all 127.0.0.1 where only it exists)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((f"{prefix}.2", 0))
    except OSError:
        return [HOST] * count
    return [f"{prefix}.{i + 2}" for i in range(count)]


def test_restart_onto_a_new_network_answers_with_live_contacts_within_10_s(tmp_path: Path) -> None:
    """Issue 7: a node restarted on its data directory and bootstrapped to a new
    network, where every contact it saved is dead, has live contacts in its
    find_node answers within 10 s of joining (default settings: the dead ones
    only time out after KRPC_TIMEOUT, 20 s)."""
    config = Config()
    size = 32  # old and new networks: enough for our table to hold 8 or more of the old
    # Live contacts in its answers: half a K at least, and never a dead one.  (A full K
    # within 10 s held on a quiet machine, but not always in the full suite on 2 cores:
    # 7 live, none dead, in about one run of three.)
    LIVE_ENOUGH = config.K // 2

    async def network(hosts: list[str], where: Path) -> list[Node]:
        nodes = []
        for i, host in enumerate(hosts):
            n = Node(config, host=host, data_dir=where / f"n{i:02d}")
            await n.start()
            nodes.append(n)
        for n in nodes[1:]:
            await n.join(*nodes[0].address)
        for n in nodes:
            await core_of(n).find_close_nodes()
        return nodes

    async def scenario() -> None:
        me_dir = tmp_path / "me"
        old = await network(_loopback_hosts("127.0.20", size), tmp_path / "old")
        me = Node(config, host=HOST, data_dir=me_dir)
        await me.start()
        await me.bootstrap([old[0].address])
        for _ in range(5):  # our table holds 8 or more of the old network (a few refreshes at most)
            await core_of(me).maintenance.refresh_table(force=True)
            if len(core_of(me).table) >= 8:
                break
        saved = {c.id for c in core_of(me).table.contacts()}
        assert len(saved) >= 8
        await me.stop()
        await asyncio.gather(*(n.stop() for n in old))  # the old network is gone

        new = await network(_loopback_hosts("127.0.21", size), tmp_path / "new")
        live = {n.id for n in new}
        again = Node(config, host=HOST, data_dir=me_dir)
        await again.start()
        asker: RawClient | None = None
        try:
            assert {c.id for c in core_of(again).table.contacts()} == saved  # all dead, all loaded
            asker_host = _loopback_hosts("127.0.22", 1)[0]
            loop = asyncio.get_running_loop()
            _, asker = await loop.create_datagram_endpoint(RawClient, local_addr=(asker_host, 0))
            joined = asyncio.ensure_future(again.bootstrap([new[0].address]))
            answers: list[set[bytes]] = []

            async def handed_out() -> set[bytes]:
                tid = os.urandom(4)
                asker.send(query("find_node", {b"id": b"Q" * 20, b"target": os.urandom(20)}, tid),
                           again.address)
                while True:  # (the node may ping us, a contact that never answered it)
                    reply = decoded((await asker.recv())[0])
                    if reply[b"t"] == tid:
                        return {Contact.from_compact(n).id for n in reply[b"r"][b"nodes"]}

            deadline = time.monotonic() + 10.0
            while True:  # poll the answers, as a peer would, for at most 10 s
                got = await handed_out()
                answers.append(got)
                if len(got) >= LIVE_ENOUGH and got <= live:
                    break
                assert time.monotonic() < deadline, f"after 10 s the node still answers {answers[-1]}"
                # polite: 5 queries a second, under the node's QUERY_RATE (10/s) for one IP
                # (faster, past its burst, the node rightly drops the asker's queries)
                await asyncio.sleep(0.2)
            for _ in range(5):  # and it goes on answering with live contacts only
                got = await handed_out()
                assert len(got) >= LIVE_ENOUGH and got <= live and not got & saved
            # Dead saved contacts were never handed out at any time.
            assert not any(a & saved for a in answers)
            joined.cancel()
        finally:
            if asker is not None:
                asker.close()
            await again.stop()
            await asyncio.gather(*(n.stop() for n in new))

    run(scenario(), timeout=60)


def test_after_joining_no_bucket_is_left_empty_while_nodes_live_in_its_range(tmp_path: Path) -> None:
    """A forced refresh could leave a bucket split off meanwhile empty (seen in the explorer).

    The nodes of a bucket's range share its prefix with any id in it, so they
    are closer to it than any node outside: a converged lookup of such an id
    finds them, and they answer.
    """
    from dht import Lab

    async def scenario() -> None:
        lab = Lab(size=32, config=STEADY, data_dir=tmp_path / "lab")
        await lab.start()
        try:
            lab_keys = [int.from_bytes(n.id, "big") for n in lab.nodes]
            for i in range(5):
                node = Node(STEADY, host=HOST, port=0, data_dir=tmp_path / f"joiner-{i}")
                await node.start()
                try:
                    await node.bootstrap([lab.bootstrap_address])
                    await core_of(node).maintenance.refresh_table(force=True)
                    empty = [(b.lo, b.hi) for b in node.routing_table()
                             if not b.contacts and any(b.lo <= k < b.hi for k in lab_keys)]
                    assert empty == []
                finally:
                    await node.stop()
        finally:
            await lab.stop()

    run(scenario())
