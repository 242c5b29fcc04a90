"""The Mainline profile of the node (``Config(PROFILE="mainline")``) on loopback.

Raw datagrams from :class:`dhtutil.RawClient` check the wire (``v``, ``ip``,
short transaction ids, Mainline's error codes, unknown arguments ignored,
BEP 43 ``ro``); nodes of ours talking to each other check the lookups
through the public coroutines, and the Lab following the profile.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import bencodepy
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dhtutil import raw_client, run, running_node, running_nodes, wait_until

from dht.node import core_of
from dht import Config, Contact, Lab, Node
from dht.errors import ConfigError, LocalError
from dht.events import Event, LookupFinished
from dht.core.ids import id_matches_ip, node_id_for
from dht.core.store_settings import StoreSettings
from dht.core.tokens import TokenSecrets
from dht.wire import bep44
from dht.wire import mainline as ml
from dht.wire.codes import MAINLINE, Meaning
from dht.wire.common import OUR_CLIENT, encode_address

ML = Config(PROFILE="mainline", KRPC_TIMEOUT=1.0)
CLIENT_ID = b"C" * 20


def test_profile_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="PROFILE"):
        Config(PROFILE="kademlia")
    with pytest.raises(ConfigError, match="READ_ONLY"):
        Config(READ_ONLY=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs PROFILE mainline"):
        Config(READ_ONLY=True)
    with pytest.raises(ConfigError, match="STORES"):
        Config(STORES={"dht_max_peers": 3})  # type: ignore[arg-type]
    config = ML.replace(STORES=StoreSettings(dht_max_peers=3))
    assert config.STORES.dht_max_peers == 3 and config.PROFILE == "mainline"
    assert Config().PROFILE == "khashmir"


async def ask(client: Any, node: Node, args: ml.QueryArgs, tid: bytes = b"ab", ro: bool = False,
              extra: dict[bytes, Any] | None = None) -> dict[bytes, Any]:
    msg = bencodepy.decode(ml.encode_query(tid, args, ro=ro))
    msg[b"a"].update(extra or {})
    answer = bencodepy.decode(await client.ask(bencodepy.encode(msg), node.contact.address))
    assert isinstance(answer, dict)
    return answer


def test_answers_carry_v_ip_and_echo_the_tid(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path, ML) as node, raw_client() as client:
            answer = await ask(client, node, ml.Ping(CLIENT_ID), tid=b"\x01\x02",
                               extra={b"want": [b"n4"], b"unknown": 7})  # Mainline ignores unknown arguments
            assert answer[b"t"] == b"\x01\x02" and answer[b"y"] == b"r"
            assert answer[b"v"] == OUR_CLIENT and answer[b"ip"] == encode_address(client.address)
            assert answer[b"r"] == {b"id": node.id}
            # Our own queries (its check of the client that queried it, then the ping
            # asked for): 2-byte transaction ids, our v, no ro.
            pinging = asyncio.ensure_future(node.ping(*client.address))
            for _ in range(2):
                data, _ = await client.recv()
                query = bencodepy.decode(data)
                assert len(query[b"t"]) == 2 and query[b"v"] == OUR_CLIENT and query[b"q"] == b"ping"
                assert b"ro" not in query
                reply = ml.encode_response(query[b"t"], ml.IdResponse(CLIENT_ID), client.address)
                client.send(reply, node.contact.address)
            assert await pinging == CLIENT_ID

    run(scenario())


def test_errors_use_mainlines_codes(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    k = bep44.public_key_bytes(key)

    def put(token: bytes, v: bytes, seq: int, salt: bytes = b"", **kw: Any) -> ml.Put:
        sig = kw.pop("sig", None) or bep44.sign(key, v, seq, salt)
        return ml.Put(CLIENT_ID, token, v, k, seq, sig, salt, **kw)

    async def scenario() -> dict[str, Meaning]:
        async with running_node(tmp_path, ML) as node, raw_client() as client:
            target = bep44.mutable_target(k)
            token = (await ask(client, node, ml.Get(CLIENT_ID, target)))[b"r"][b"token"]
            assert len(token) == 4
            assert (await ask(client, node, put(token, b"1:a", 5)))[b"y"] == b"r"
            cases: dict[str, Any] = {
                "unknown method": {b"t": b"e1", b"y": b"q", b"q": b"frobnicate", b"a": {b"id": CLIENT_ID}},
                "missing target": {b"t": b"e2", b"y": b"q", b"q": b"find_node", b"a": {b"id": CLIENT_ID}},
                "bad token": ml.AnnouncePeer(CLIENT_ID, os.urandom(20), 6881, b"nope"),
                "bad signature": put(token, b"1:b", 6, sig=b"\0" * 64),
                "too big": put(token, b"1001:" + b"x" * 1001, 6),
                "salt too big": put(token, b"1:b", 6, salt=b"s" * 65),
                "older seq": put(token, b"1:b", 4),
                "cas": put(token, b"1:b", 6, cas=4),
            }
            meanings = {}
            for name, args in cases.items():
                if isinstance(args, dict):
                    answer = bencodepy.decode(await client.ask(bencodepy.encode(args), node.contact.address))
                else:
                    answer = await ask(client, node, args)
                assert answer[b"y"] == b"e", name
                assert answer[b"v"] == OUR_CLIENT
                meanings[name] = MAINLINE.meaning(answer[b"e"][0])
            return meanings

    assert run(scenario()) == {
        "unknown method": Meaning.METHOD_UNKNOWN, "missing target": Meaning.PROTOCOL,
        "bad token": Meaning.PROTOCOL, "bad signature": Meaning.INVALID_SIGNATURE,
        "too big": Meaning.VALUE_TOO_BIG, "salt too big": Meaning.SALT_TOO_BIG,
        "older seq": Meaning.SEQ_TOO_OLD, "cas": Meaning.CAS_MISMATCH,
    }


def test_a_read_only_sender_is_answered_but_kept_out_of_the_table(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path, ML) as node, raw_client() as client:
            answer = await ask(client, node, ml.Ping(CLIENT_ID), ro=True)
            assert answer[b"r"][b"id"] == node.id
            assert core_of(node).table.get(CLIENT_ID) is None
            await ask(client, node, ml.Ping(CLIENT_ID))
            assert core_of(node).table.get(CLIENT_ID) is not None

    run(scenario())


def test_a_read_only_node_answers_nothing_and_says_ro(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path / "n", 1, ML) as (normal,), \
                running_node(tmp_path / "ro", ML.replace(READ_ONLY=True)) as reader, raw_client() as client:
            assert await reader.ping(*normal.contact.address) == normal.id
            assert core_of(normal).table.get(reader.id) is None  # its ping said ro: 1
            assert core_of(reader).table.get(normal.id) is not None  # it still learns from answers
            sent = core_of(reader).stats_counters.packets_out
            client.send(ml.encode_query(b"zz", ml.Ping(CLIENT_ID)), reader.contact.address)
            await wait_until(lambda: core_of(reader).stats_counters.method("ping").received == 1, what="the ping read")
            assert core_of(reader).stats_counters.packets_out == sent and client.queue.empty()

    run(scenario())


def collect(node: Node) -> list[Event]:
    events: list[Event] = []
    node.subscribe(events.append)
    return events


def test_a_mainline_lab_announces_finds_puts_gets_and_samples() -> None:
    async def scenario() -> None:
        lab = Lab(8, config=ML.replace(KRPC_TIMEOUT=2.0, SOFT_TIMEOUT_MIN=1.0))
        await lab.start()
        try:
            a, b = lab.nodes[2], lab.nodes[5]
            assert all(n.profile.name == "mainline" for n in lab.nodes)
            events = collect(b)
            info_hash = os.urandom(20)
            assert await a.announce_peer(info_hash, 6881, local=False) >= 3
            assert await a.announce_peer(info_hash, 0, seed=True, local=False) >= 3  # implied port
            found = await b.get_peers(info_hash, scrape=True)
            assert set(found.peers) == {(a.contact.host, 6881), (a.contact.host, a.contact.port)}
            assert found.seeds is not None and round(found.seeds) == 1  # one IP seeds
            assert found.leechers is not None and round(found.leechers) == 1
            assert found.queried > 0
            assert (await b.get_peers(os.urandom(20))).peers == []
            holders = [n for n in lab.nodes if info_hash in core_of(n).protocol.handlers.peers.info_hashes()]  # type: ignore[union-attr]
            assert holders and all(n.stats().keys >= 1 and n.stats().values >= 2 for n in holders)
            target = await a.put_immutable([1, b"two"], local=False)
            item = await b.get_item(target)
            assert item is not None and item.value == [1, b"two"] and not item.mutable
            key = Ed25519PrivateKey.generate()
            first = await a.put_mutable(key, b"one", b"salt", local=False)
            second = await b.put_mutable(key, b"two", b"salt", local=False)
            assert second.seq == first.seq + 1 and second.target == first.target
            got = await a.get_item(second.target, second.public_key, b"salt")
            assert got is not None and got.value == b"two" and got.seq == second.seq
            assert await a.get_item(second.target, os.urandom(32), b"salt") is None  # another key's
            sampler = lab.nodes[0]
            sampling = await sampler.sample_infohashes(count=20)
            assert info_hash in sampling.info_hashes
            asked = sampler.stats().methods["sample_infohashes"].sent
            assert asked > 0
            # Every other node answered (8 nodes, K = 8); num sums their stores' info-hashes.
            assert sampling.answered == asked == 7
            assert sampling.num == sum(len(core_of(n).protocol.handlers.peers) for n in lab.nodes[1:])  # type: ignore[union-attr]
            assert sampling.num >= 3 and len(sampling.info_hashes) == len(set(sampling.info_hashes))
            others = sorted((n.contact for n in lab.nodes[1:]),
                            key=lambda c: int.from_bytes(c.id, "big") ^ int.from_bytes(sampling.target, "big"))
            assert sampling.closest == others
            # 8 nodes and K = 8: the first sample asked them all, and each said interval
            # 21600 s, so none is asked again now (BEP 51).
            again = await sampler.sample_infohashes(count=20)
            assert sampler.stats().methods["sample_infohashes"].sent == asked
            assert again.answered == 0 and again.num == 0 and again.closest == []
            # What the nodes hold, as the explorer lists it.
            holder = holders[0]
            peers = await holder.stored_peers()
            mine = [p for p in peers if p.info_hash == info_hash]
            assert mine and {(p.host, p.port, p.seed) for p in mine} <= {
                (a.contact.host, 6881, False), (a.contact.host, a.contact.port, True)}
            lifetime = ML.STORES.dht_peer_lifetime
            assert all(p.expires == pytest.approx(p.added + lifetime) for p in mine)
            items = [i for n in lab.nodes for i in await n.stored_items()]
            immutable = [i for i in items if i.target == target]
            assert immutable and all(i.value == bencodepy.encode([1, b"two"]) and i.public_key is None
                                     and i.seq is None for i in immutable)
            mutable = [i for i in items if i.target == second.target]
            assert mutable and all(i.public_key == second.public_key and i.salt == b"salt" for i in mutable)
            assert max(i.seq or 0 for i in mutable) == second.seq
            kinds = {e.kind for e in events if isinstance(e, LookupFinished)}
            assert {"get_peers", "put", "get"} <= kinds
            with pytest.raises(LocalError, match="Khashmir"):
                await a.store_value(os.urandom(20), b"x")
        finally:
            await lab.stop()

    run(scenario(), 60)


def test_a_khashmir_node_refuses_mainline_calls(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path) as node:
            assert node.profile.name == "khashmir"
            with pytest.raises(LocalError, match="Mainline"):
                await node.get_peers(os.urandom(20))

    run(scenario())


def test_bootstrap_routers_never_enter_the_table(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 3, ML) as (router, known, newcomer):
            await known.bootstrap([router.contact.address])
            assert core_of(known).table.get(router.id) is not None  # an ordinary bootstrap node does
            # The router pings a node that queried it; once answered, it hands it out.
            await wait_until(lambda: (e := core_of(router).table.get(known.id)) is not None and e.answered,
                             what="the router's ping of the known node")
            await newcomer.bootstrap([], routers=[router.contact.address])
            assert core_of(newcomer).table.get(router.id) is None
            assert core_of(newcomer).table.get(known.id) is not None
            await router.ping(*newcomer.contact.address)  # its queries do not bring it in either
            assert core_of(newcomer).table.get(router.id) is None

    run(scenario())


def test_our_id_follows_the_external_address_voted_for(tmp_path: Path) -> None:
    config = ML.replace(EXTERNAL_ADDRESS_VOTES=3)

    async def scenario() -> None:
        async with running_node(tmp_path, config) as node:
            old = node.id
            snap = node.stats()
            assert (snap.external_address, snap.external_votes, snap.id_valid) == (None, 0, None)
            for i in range(3):  # loopback votes: exempt, the id stays
                core_of(node).protocol.answered(Contact(os.urandom(20), f"127.0.5.{i + 1}", 1000),
                                      ml.Response(b"", {}, None, ("127.0.0.9", 1)), "find_node")
            assert node.id == old
            snap = node.stats()
            assert (snap.external_address, snap.external_votes, snap.id_valid) == ("127.0.0.9", 3, None)
            core_of(node).requests.insert_node(Contact(os.urandom(20), "127.0.6.1", 5000), contacted=False)
            contacts = set(core_of(node).table.contacts())
            assert len(contacts) == 1
            for i in range(4):  # a majority over the 3 loopback votes
                core_of(node).protocol.answered(Contact(os.urandom(20), f"198.51.{100 + i}.1", 1000),
                                      ml.Response(b"", {}, None, ("203.0.113.7", 4000)), "get_peers")
            assert node.id != old and id_matches_ip(node.id, "203.0.113.7")
            assert core_of(node).table.own_id == node.id and set(core_of(node).table.contacts()) == contacts
            assert any("BEP 42" in w for w in node.warnings)
            snap = node.stats()
            assert (snap.external_address, snap.external_votes, snap.id_valid) == ("203.0.113.7", 4, True)
            core_of(node).adopt_id(os.urandom(20))  # an id that does not fit (1 in 2^21 it does)
            assert node.stats().id_valid is False

    run(scenario())


def test_the_routing_table_snapshot_says_whose_id_fits_its_ip(tmp_path: Path) -> None:
    async def scenario() -> None:
        good = Contact(node_id_for("203.0.113.7"), "203.0.113.7", 6881)
        bad = Contact(b"\x55" * 20, "198.51.100.3", 6881)
        local = Contact(b"\x01" * 20, "127.0.0.5", 6881)
        async with running_node(tmp_path, ML) as node:
            for c in (good, bad, local):
                core_of(node).requests.insert_node(c, contacted=False)
            valid = {i.contact: i.id_valid for b in node.routing_table() for i in b.contacts}
            assert valid == {good: True, bad: False, local: None}
        async with running_node(tmp_path / "k") as khashmir:
            core_of(khashmir).requests.insert_node(good, contacted=False)
            assert [i.id_valid for b in khashmir.routing_table() for i in b.contacts] == [None]
            snap = khashmir.stats()
            assert (snap.external_address, snap.external_votes, snap.id_valid) == (None, 0, None)
            assert await khashmir.stored_peers() == [] and await khashmir.stored_items() == []

    run(scenario())


def test_enforced_node_ids_keep_bad_ones_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_node(tmp_path, ML.replace(ENFORCE_NODE_ID=True)) as node:
            bad = Contact(b"\x00" * 20, "203.0.113.7", 6881)
            good = Contact(node_id_for("203.0.113.7"), "203.0.113.7", 6881)
            assert not core_of(node).requests.admissible(bad) and core_of(node).requests.admissible(good)
            assert core_of(node).requests.admissible(Contact(b"\x00" * 20, "127.0.0.5", 6881))  # local: exempt
        async with running_node(tmp_path / "lax", ML) as lax:
            assert core_of(lax).requests.admissible(bad)

    run(scenario())


def test_mainline_tokens_are_short_and_live_two_rotations() -> None:
    tokens = TokenSecrets(2, 4)
    token = tokens.token_for("127.0.0.1")
    assert len(token) == 4 and tokens.check(token, "127.0.0.1") and not tokens.check(token, "127.0.0.2")
    tokens.rotate()
    assert tokens.check(token, "127.0.0.1")
    tokens.rotate()
    assert not tokens.check(token, "127.0.0.1")


def test_pending_requests_are_keyed_by_peer_and_tid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two-byte ids collide; two peers' answers with the same tid each settle their own request."""

    async def scenario() -> None:
        async with running_node(tmp_path, ML) as node, raw_client() as one, raw_client() as two:
            monkeypatch.setattr(node.profile, "new_tid", lambda: b"aa")
            pings = [asyncio.ensure_future(node.ping(*c.address)) for c in (one, two)]
            for client, their_id in ((two, b"2" * 20), (one, b"1" * 20)):
                data, _ = await client.recv()
                query = bencodepy.decode(data)
                assert query[b"t"] == b"aa"
                client.send(ml.encode_response(b"aa", ml.IdResponse(their_id), client.address), node.contact.address)
            assert [await p for p in pings] == [b"1" * 20, b"2" * 20]

    run(scenario())


def test_a_query_that_comes_while_the_node_stops_is_answered_and_charged(tmp_path: Path) -> None:
    """Stopping, a node keeps its socket open while it finishes its work (answers due,
    the last checkpoint): a query then is answered as ever, charged to its sender's
    budget, not taken for a bug of the handler (201)."""
    async def scenario() -> None:
        async with running_node(tmp_path, Config(PROFILE="mainline")) as node, raw_client() as client:
            core = core_of(node)
            core.running = False  # as stop() sets it first, the socket still open
            try:
                reply = await client.ask_decoded(
                    bencodepy.encode({b"t": b"p1", b"y": b"q", b"q": b"ping", b"a": {b"id": os.urandom(20)}}),
                    node.address,
                )
            finally:
                core.running = True
            assert reply[b"y"] == b"r" and reply[b"r"][b"id"] == node.id, reply

    run(scenario())
