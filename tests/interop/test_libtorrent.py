"""Our Mainline codec against real libtorrent 2.1 sessions on loopback.

A raw client built from :mod:`dht.wire.mainline` (on 127.0.99.1) talks to
a swarm of three libtorrent sessions (:func:`conftest.lt_swarm`); what
libtorrent does on its side is read from its alerts, waited on with a
deadline.  Each test uses fresh info-hashes and keys, so the order of the
tests does not matter.
"""

from __future__ import annotations

import os
from typing import Any

import bencodepy
import libtorrent as lt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dht.errors import KrpcError
from dht.mainline.keys import seed_bytes
from dht.mainline.stores.samples import SampleBackoff
from dht.wire import bep44
from dht.wire import mainline as ml
from dht.wire.bloom import ScrapeBloom
from dht.wire.codes import MAINLINE, Meaning
from dht.wire.common import decode_client_version

from .ltlab import CLIENT_HOST, CLIENT_ID, ClientThread, LtNode, LtSwarm, MainlineClient, libtorrent_secret

pytestmark = pytest.mark.interop

OUR_ID = CLIENT_ID


def fresh_hash() -> bytes:
    return os.urandom(20)


async def token_for(c: MainlineClient, node: LtNode, info_hash: bytes) -> bytes:
    _, peers = await c.request(node.address, ml.GetPeers(OUR_ID, info_hash))
    assert isinstance(peers, ml.PeersResponse) and peers.token
    return peers.token


def test_ping_decodes_libtorrents_v_and_ip(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client

    async def scenario() -> tuple[ml.Response, ml.ResponseValues, tuple[str, int]]:
        c = mc.client
        envelope, answer = await c.request(lt_swarm.nodes[0].address, ml.Ping(OUR_ID))
        return envelope, answer, c.address

    envelope, answer, ours = mc.run(scenario())
    assert isinstance(answer, ml.IdResponse) and len(answer.id) == 20
    version = decode_client_version(envelope.client)
    assert version is not None and version.code == "LT" and version.name == "libtorrent (Rasterbar)"
    assert version.version == ".".join(lt.__version__.split(".")[:3])
    assert envelope.ip == ours  # BEP 42: our address as libtorrent saw it


def test_find_node_returns_the_other_sessions_as_one_string(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client

    async def scenario() -> ml.ResponseValues:
        c = mc.client
        return (await c.request(lt_swarm.nodes[0].address, ml.FindNode(OUR_ID, fresh_hash())))[1]

    answer = mc.run(scenario())
    assert isinstance(answer, ml.NodesResponse)
    found = {(n.host, n.port) for n in answer.nodes}
    assert {n.address for n in lt_swarm.nodes[1:]} <= found
    assert all(len(n.id) == 20 for n in answer.nodes)


def test_our_get_peers_finds_what_libtorrent_announced(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client
    announcer, *holders = lt_swarm.nodes
    info_hash = fresh_hash()
    announcer.session.dht_announce(lt.sha1_hash(info_hash), 4567, 0)
    # Wait until a holder got the announce (its dht_announce_alert), then ask it.
    holder = None
    for node in holders:
        try:
            node.wait_for(lambda a: isinstance(a, lt.dht_announce_alert) and bytes(a.info_hash.to_bytes()) == info_hash,
                          10.0, "the announce")
            holder = node
            break
        except TimeoutError:
            continue
    assert holder is not None

    async def scenario() -> tuple[ml.ResponseValues, ml.ResponseValues]:
        c = mc.client
        plain = (await c.request(holder.address, ml.GetPeers(OUR_ID, info_hash)))[1]
        scraped = (await c.request(holder.address, ml.GetPeers(OUR_ID, info_hash, scrape=True)))[1]
        return plain, scraped

    plain, scraped = mc.run(scenario())
    assert isinstance(plain, ml.PeersResponse) and plain.token
    assert (announcer.host, 4567) in plain.values
    # BEP 33: one peer (not a seed) in the estimates.
    assert isinstance(scraped, ml.PeersResponse)
    assert scraped.peers_bloom is not None and scraped.seeds_bloom is not None
    assert round(ScrapeBloom(scraped.peers_bloom).estimate()) == 1
    assert round(ScrapeBloom(scraped.seeds_bloom).estimate()) == 0


def test_libtorrent_finds_what_we_announced(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client
    target_node, asker, _ = lt_swarm.nodes
    explicit, implied, seeded = fresh_hash(), fresh_hash(), fresh_hash()

    async def scenario() -> int:
        c = mc.client
        for info_hash, port, implied_port in ((explicit, 5555, False), (implied, 1, True)):
            token = await token_for(c, target_node, info_hash)
            _, ok = await c.request(target_node.address, ml.AnnouncePeer(OUR_ID, info_hash, port, token, implied_port))
            assert isinstance(ok, ml.IdResponse)
        # BEP 33: a seed's announce shows in libtorrent's seed filter.
        token = await token_for(c, target_node, seeded)
        await c.request(target_node.address, ml.AnnouncePeer(OUR_ID, seeded, 6000, token, seed=True))
        _, scrape = await c.request(target_node.address, ml.GetPeers(OUR_ID, seeded, scrape=True))
        assert isinstance(scrape, ml.PeersResponse) and scrape.seeds_bloom and scrape.peers_bloom
        assert round(ScrapeBloom(scrape.seeds_bloom).estimate()) == 1
        assert round(ScrapeBloom(scrape.peers_bloom).estimate()) == 0
        # A wrong token is refused with 203 (Mainline's protocol error).
        with pytest.raises(KrpcError) as info:
            await c.request(target_node.address, ml.AnnouncePeer(OUR_ID, explicit, 5555, b"bad!"))
        assert MAINLINE.meaning(info.value.code) is Meaning.PROTOCOL
        return c.address[1]

    our_port = mc.run(scenario())
    for info_hash, port in ((explicit, 5555), (implied, our_port)):
        asker.session.dht_get_peers(lt.sha1_hash(info_hash))
        reply = asker.wait_for(
            lambda a: isinstance(a, lt.dht_get_peers_reply_alert) and bytes(a.info_hash.to_bytes()) == info_hash,
            10.0, "get_peers reply",
        )
        assert (CLIENT_HOST, port) in [tuple(p) for p in reply.peers()]


def test_our_immutable_put_is_read_by_libtorrent(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client
    store, reader, _ = lt_swarm.nodes
    value: Any = {b"explorer": [1, os.urandom(8).hex().encode()]}
    v = bencodepy.encode(value)
    target = bep44.immutable_target(v)

    async def scenario() -> None:
        c = mc.client
        _, got = await c.request(store.address, ml.Get(OUR_ID, target))
        assert isinstance(got, ml.ItemResponse) and got.token and got.v is None
        _, ok = await c.request(store.address, ml.Put(OUR_ID, got.token, v))
        assert isinstance(ok, ml.IdResponse)
        _, again = await c.request(store.address, ml.Get(OUR_ID, target))
        assert isinstance(again, ml.ItemResponse) and again.holds(target)

    mc.run(scenario())
    reader.session.dht_get_immutable_item(lt.sha1_hash(target))
    alert = reader.wait_for(
        lambda a: isinstance(a, lt.dht_immutable_item_alert) and bytes(a.target.to_bytes()) == target,
        10.0, "the immutable item",
    )
    assert lt.bencode(alert.item) == v


def test_our_mutable_put_is_accepted_and_read_by_libtorrent(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client
    store, reader, _ = lt_swarm.nodes
    key = Ed25519PrivateKey.generate()
    k, salt = bep44.public_key_bytes(key), b"explorer"
    target = bep44.mutable_target(k, salt)

    def put(token: bytes, v: bytes, seq: int, **kw: Any) -> ml.Put:
        sig = kw.pop("sig", None) or bep44.sign(key, v, seq, kw.get("salt", salt))
        return ml.Put(OUR_ID, token, v, k, seq, sig, kw.pop("salt", salt), **kw)

    async def scenario() -> dict[str, int]:
        codes: dict[str, int] = {}
        c = mc.client
        _, got = await c.request(store.address, ml.Get(OUR_ID, target))
        assert isinstance(got, ml.ItemResponse) and got.token
        token = got.token
        for seq, v in ((1, b"5:first"), (2, b"6:second")):
            _, ok = await c.request(store.address, put(token, v, seq))
            assert isinstance(ok, ml.IdResponse)
        cases = {
            "old seq": put(token, b"3:old", 1),
            "cas": put(token, b"5:third", 3, cas=1),
            "signature": put(token, b"5:third", 3, sig=b"\x00" * 64),
            "salt": put(token, b"5:third", 3, salt=b"s" * 65),
            "size": put(token, b"997:" + b"x" * 997, 3),
        }
        for name, args in cases.items():
            with pytest.raises(KrpcError) as info:
                await c.request(store.address, args)
            codes[name] = info.value.code
        # A get with the seq we hold gets the seq alone (BEP 44).
        _, only_seq = await c.request(store.address, ml.Get(OUR_ID, target, seq=2))
        assert isinstance(only_seq, ml.ItemResponse) and only_seq.seq == 2 and only_seq.v is None
        return codes

    codes = mc.run(scenario())
    assert {n: MAINLINE.meaning(code) for n, code in codes.items()} == {
        "old seq": Meaning.SEQ_TOO_OLD, "cas": Meaning.CAS_MISMATCH, "signature": Meaning.INVALID_SIGNATURE,
        "salt": Meaning.SALT_TOO_BIG, "size": Meaning.VALUE_TOO_BIG,
    }
    reader.session.dht_get_mutable_item(k, salt)
    alert = reader.wait_for(
        lambda a: isinstance(a, lt.dht_mutable_item_alert) and bytes(a.key) == k and a.seq == 2,
        10.0, "the mutable item",
    )
    assert lt.bencode(alert.item) == b"6:second"
    assert bytes(alert.signature) == bep44.sign(key, b"6:second", 2, salt)  # ed25519 is deterministic


def test_libtorrents_items_verify_with_our_code(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client
    writer, *others = lt_swarm.nodes
    immutable_value = {b"from": b"libtorrent", b"n": int.from_bytes(os.urandom(3), "big")}
    target = bytes(writer.session.dht_put_immutable_item(immutable_value).to_bytes())
    assert target == bep44.immutable_target(bencodepy.encode(immutable_value))
    writer.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and bytes(a.target.to_bytes()) == target,
                    10.0, "the immutable put")

    key = Ed25519PrivateKey.generate()
    k, salt = bep44.public_key_bytes(key), os.urandom(6)
    data = b"mutable from libtorrent"
    writer.session.dht_put_mutable_item(libtorrent_secret(seed_bytes(key)), k, data, salt)
    writer.wait_for(lambda a: isinstance(a, lt.dht_put_alert) and bytes(a.public_key) == k,
                    10.0, "the mutable put")
    mutable_target = bep44.mutable_target(k, salt)

    async def scenario() -> tuple[list[ml.ItemResponse], list[ml.ItemResponse]]:
        c = mc.client
        imm, mut = [], []
        for node in others:
            for tgt, out in ((target, imm), (mutable_target, mut)):
                _, got = await c.request(node.address, ml.Get(OUR_ID, tgt))
                assert isinstance(got, ml.ItemResponse)
                if got.v is not None:
                    out.append(got)
        return imm, mut

    imm, mut = mc.run(scenario())
    assert imm and all(item.holds(target) for item in imm)
    assert mut and all(item.holds(mutable_target, salt) for item in mut)
    assert all(item.v == bencodepy.encode(data) and item.k == k for item in mut)
    assert not any(item.holds(mutable_target, salt + b"x") for item in mut)


def test_sample_infohashes_is_answered(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    mc = mainline_client
    node = lt_swarm.nodes[2]
    hashes = {fresh_hash() for _ in range(3)}

    async def scenario() -> ml.ResponseValues:
        c = mc.client
        for info_hash in hashes:
            token = await token_for(c, node, info_hash)
            await c.request(node.address, ml.AnnouncePeer(OUR_ID, info_hash, 7000, token))
        return (await c.request(node.address, ml.SampleInfohashes(OUR_ID, fresh_hash())))[1]

    answer = mc.run(scenario())
    assert isinstance(answer, ml.SamplesResponse)
    assert hashes <= set(answer.samples)
    assert answer.num >= len(hashes)
    assert answer.interval == node.session.get_settings()["dht_sample_infohashes_interval"]
    # Asking again honours that interval.
    backoff = SampleBackoff()
    backoff.record(node.address, answer.interval, now=0.0)
    assert not backoff.ready(node.address, answer.interval - 1.0) and backoff.ready(node.address, answer.interval)
    assert {n.address for n in lt_swarm.nodes if n is not node} <= {(c.host, c.port) for c in answer.nodes}


def test_a_read_only_asker_is_answered_but_never_handed_out(lt_swarm: LtSwarm, mainline_client: ClientThread) -> None:
    """BEP 43: libtorrent answers ``ro`` queries and keeps the asker out of its table."""
    mc = mainline_client
    node, other, _ = lt_swarm.nodes
    reader_id = os.urandom(20)

    async def scenario() -> ml.ResponseValues:
        reader = await MainlineClient.open("127.0.98.1", reader_id)
        try:
            _, pong = await reader.request(node.address, ml.Ping(reader_id))
            assert isinstance(pong, ml.IdResponse)
            await reader.request(node.address, ml.GetPeers(reader_id, fresh_hash()))
        finally:
            reader.close()
        # Asked by another node for the reader's own id, libtorrent does not hand it out.
        return (await mc.client.request(node.address, ml.FindNode(OUR_ID, reader_id)))[1]

    answer = mc.run(scenario())
    assert isinstance(answer, ml.NodesResponse)
    assert other.address in {(n.host, n.port) for n in answer.nodes}
    assert reader_id not in {n.id for n in answer.nodes}
