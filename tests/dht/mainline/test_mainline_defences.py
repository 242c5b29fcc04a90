"""The Mainline defences from outside: a real Mainline node, attacked from many
loopback source addresses (client sockets bound to 127.0.x.y), with honest
traffic beside the attacks.

As in :mod:`test_defences`, the node's limits read a fake clock (budgets
refill only when a test moves it) and "no answer" is observed without
waiting: a marker ping from another address is answered after everything
sent before it.  The five attacks: a scrape flood spread over many
addresses, one address evicting everyone's BEP 44 items, a full peer store
locking newcomers out, tokens used for another target, and outside
addresses voting our id away.  No fixed port, no sleep; every wait has a
deadline.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Iterator

import bencodepy
import pytest
from dhtutil import ThreadedNode, can_bind
from ..node.test_defences import Client, Target

from dht import Config
from dht.core.contact import Contact
from dht.node import core_of
from dht.core.store_settings import StoreSettings
from dht.wire import mainline as ml
from dht.wire.common import encode_address

pytestmark = pytest.mark.skipif(
    not can_bind("127.0.0.2"), reason="needs all of 127.0.0.0/8 on loopback (Linux)"
)

ML = Config(PROFILE="mainline", KRPC_TIMEOUT=2.0)  # the defences' defaults
HONEST = "127.0.0.3"
SWARM = hashlib.sha1(b"a big swarm").digest()


def mq(method: str, args: dict[bytes, Any], tid: bytes = b"aa") -> bytes:
    data: bytes = bencodepy.encode({b"t": tid, b"y": b"q", b"q": method.encode(), b"a": args})
    return data


def decoded(answers: list[bytes]) -> list[dict[bytes, Any]]:
    return [bencodepy.decode(a) for a in answers]


def ask(target: Target, client: Client, method: str, args: dict[bytes, Any]) -> dict[bytes, Any] | None:
    """One query, its answer (response or error) or None if unanswered."""
    client.send(mq(method, {b"id": client_id(client), **args}), target.address)
    target.sync()
    answers = decoded(client.drain())
    return answers[-1] if answers else None


def client_id(client: Client) -> bytes:
    return hashlib.sha1(client.host.encode()).digest()


def host(i: int) -> str:
    return f"127.0.{10 + i // 200}.{1 + i % 200}"


@pytest.fixture
def make_target(tmp_path: Path) -> Iterator[Any]:
    made: list[tuple[Target, ThreadedNode]] = []

    def make(config: Config = ML) -> Target:
        tn = ThreadedNode(tmp_path / str(len(made)), config)
        t = Target(tn)
        made.append((t, tn))
        return t

    yield make
    for t, tn in made:
        t.close()
        tn.close()


def settle(target: Target, client: Client) -> None:
    """Make ``client`` a settled source: heard once, then SETTLE_SECONDS later."""
    assert ask(target, client, "ping", {}) is not None
    target.clock.now += ML.SETTLE_SECONDS + 1


# --- 1. scrapes ------------------------------------------------------------------


@pytest.mark.parametrize("config", [ML, ML.replace(GLOBAL_REPLY_BURST=10**7)], ids=["defaults", "upload-unbounded"])
def test_a_scrape_flood_from_40_addresses_is_refused_before_any_work_and_pings_go_on(
    make_target: Any, config: Config
) -> None:
    target = make_target(config)
    mainline = core_of(target.node).protocol.handlers
    now = time.monotonic()  # the handlers' clock
    for i in range(500):  # a 500-peer swarm (held as announced; the attack is what follows)
        target.tn.sync(lambda i=i: mainline.peers.announce(SWARM, (f"10.1.{i // 250}.{i % 250}", 6881), i < 100, now))
    honest = target.client(HONEST)
    settle(target, honest)
    blooms = target.tn.sync(lambda: mainline.peers._swarms[SWARM].blooms)
    attackers = [target.client(host(i)) for i in range(40)]
    scrape = {b"info_hash": SWARM, b"scrape": 1}
    size = target.tn.sync(lambda: mainline.expected_size(ml.GetPeers(b"x" * 20, SWARM, scrape=True), target.clock.now))
    answered = 0
    honest_answers = 0
    before = target.stats().drops
    for _round in range(9):  # 9 scrapes from each, every "second" of the fake clock
        for a in attackers:
            a.send(mq("get_peers", {b"id": client_id(a), **scrape}, b"s%d" % _round), target.address)
        honest.send(mq("ping", {b"id": client_id(honest)}, b"h%d" % _round), target.address)
        target.sync()
        for a in attackers:
            got = decoded(a.drain())
            assert all(b"BFsd" in g[b"r"] and b"BFpe" in g[b"r"] for g in got)
            answered += len(got)
        honest_answers += len(honest.drain())
    assert honest_answers == 9  # every honest ping answered
    # Each address could pay for REPLY_BURST_PER_IP / size scrapes (the clock did not move),
    # all the new addresses together for GLOBAL_REPLY_BURST / size; and no more than
    # GLOBAL_EXPENSIVE_BURST scrapes were built (the cap that binds when upload is ample).
    per_ip = config.REPLY_BURST_PER_IP // size
    assert 40 * per_ip > config.GLOBAL_EXPENSIVE_BURST
    assert answered == min(config.GLOBAL_EXPENSIVE_BURST, config.GLOBAL_REPLY_BURST // size)
    drops = target.stats().drops
    refused = sum(drops.get(r, 0) - before.get(r, 0) for r in ("busy", "reply budget"))
    assert refused == 40 * 9 - answered
    # The swarm's filters were made once, not per scrape.
    assert target.tn.sync(lambda: mainline.peers._swarms[SWARM].blooms) is blooms
    # A second later the cap has refilled by GLOBAL_EXPENSIVE_RATE: scrapes are answered again.
    target.clock.now += 1.0
    got = ask(target, attackers[0], "get_peers", scrape)
    assert got is not None and b"BFsd" in got[b"r"]


# --- 2. items ----------------------------------------------------------------------


def ground_values(count: int, first_byte: int) -> list[bytes]:
    """Byte strings whose immutable targets start with ``first_byte`` (an attacker's grinding)."""
    out: list[bytes] = []
    n = 0
    while len(out) < count:
        v = b"item-%d" % n
        if hashlib.sha1(bencodepy.encode(v)).digest()[0] == first_byte:
            out.append(v)
        n += 1
    return out


def put_item(target: Target, client: Client, value: bytes) -> dict[bytes, Any] | None:
    item_target = hashlib.sha1(bencodepy.encode(value)).digest()
    got = ask(target, client, "get", {b"target": item_target})
    assert got is not None
    target.clock.now += 0.25  # within the client's query rate
    return ask(target, client, "put", {b"token": got[b"r"][b"token"], b"v": value})


def get_item(target: Target, client: Client, value: bytes) -> bytes | None:
    got = ask(target, client, "get", {b"target": hashlib.sha1(bencodepy.encode(value)).digest()})
    assert got is not None
    item: bytes | None = got[b"r"].get(b"v")
    return item


def test_one_address_grinding_targets_near_our_id_does_not_evict_the_others_items(make_target: Any) -> None:
    stores = StoreSettings(dht_max_dht_items=40, dht_max_items_per_ip=40)  # the share is no help here
    target = make_target(ML.replace(STORES=stores))
    others = [target.client(host(i)) for i in range(10)]
    for i, c in enumerate(others):
        assert b"r" in (put_item(target, c, b"honest-%d" % i) or {})
    attacker = target.client("127.0.9.9")
    for v in ground_values(60, target.node.id[0]):
        assert b"r" in (put_item(target, attacker, v) or {})  # every put is taken...
        target.clock.now += 0.25
    kept = sum(get_item(target, c, b"honest-%d" % i) is not None for i, c in enumerate(others))
    assert kept == 10  # ... but only ever in its own room
    newcomer = target.client("127.0.8.8")
    assert b"r" in (put_item(target, newcomer, b"newcomer") or {})
    assert get_item(target, others[0], b"newcomer") == b"newcomer"


def test_one_address_holds_at_most_its_share_of_items(make_target: Any) -> None:
    target = make_target(ML.replace(STORES=StoreSettings(dht_max_items_per_ip=5)))
    attacker = target.client("127.0.9.9")
    for i in range(12):
        put_item(target, attacker, b"mine-%d" % i)
        target.clock.now += 0.25
    held = [get_item(target, attacker, b"mine-%d" % i) for i in range(12)]
    assert sum(v is not None for v in held) == 5 and held[-1] is not None  # its five most important


# --- 3. peers ------------------------------------------------------------------------


def announce(target: Target, client: Client, info_hash: bytes) -> dict[bytes, Any] | None:
    got = ask(target, client, "get_peers", {b"info_hash": info_hash})
    assert got is not None
    token = got[b"r"].get(b"token")
    if token is None:
        return None
    target.clock.now += 0.25
    return ask(target, client, "announce_peer", {b"info_hash": info_hash, b"port": 6881, b"token": token})


def test_a_peer_store_filled_by_one_address_still_takes_a_newcomer(make_target: Any) -> None:
    stores = StoreSettings(dht_max_torrents=30, dht_max_peers_per_ip=30)  # one address may fill it
    target = make_target(ML.replace(STORES=stores))
    filler = target.client("127.0.9.9")
    for i in range(40):
        assert b"r" in (announce(target, filler, hashlib.sha1(b"fill%d" % i).digest()) or {})
        target.clock.now += 0.25
    assert target.tn.sync(lambda: len(core_of(target.node).protocol.handlers.peers)) == 30
    newcomer = target.client("127.0.8.8")
    wanted = hashlib.sha1(b"the newcomer's torrent").digest()
    assert b"r" in (announce(target, newcomer, wanted) or {})
    found = ask(target, target.client(HONEST), "get_peers", {b"info_hash": wanted})
    assert found is not None and found[b"r"][b"values"] == [encode_address(("127.0.8.8", 6881))]


def test_one_address_holds_at_most_its_share_of_peers(make_target: Any) -> None:
    target = make_target(ML.replace(STORES=StoreSettings(dht_max_peers_per_ip=5)))
    filler = target.client("127.0.9.9")
    hashes = [hashlib.sha1(b"fill%d" % i).digest() for i in range(12)]
    for ih in hashes:
        announce(target, filler, ih)
        target.clock.now += 0.25
    honest = target.client(HONEST)
    held = [bool((ask(target, honest, "get_peers", {b"info_hash": ih}) or {})[b"r"].get(b"values")) for ih in hashes]
    assert held == [False] * 7 + [True] * 5


# --- 4. tokens -------------------------------------------------------------------------


def test_a_token_serves_only_the_target_it_was_given_for(make_target: Any) -> None:
    target = make_target()
    peer = target.client("127.0.7.7")
    a, b = hashlib.sha1(b"A").digest(), hashlib.sha1(b"B").digest()
    token = (ask(target, peer, "get_peers", {b"info_hash": a}) or {})[b"r"][b"token"]
    wrong = ask(target, peer, "announce_peer", {b"info_hash": b, b"port": 1, b"token": token})
    assert wrong is not None and wrong[b"e"][0] == 203
    put = ask(target, peer, "put", {b"token": token, b"v": b"x"})
    assert put is not None and put[b"e"][0] == 203
    other = target.client("127.0.7.8")  # another address with the same token
    stolen = ask(target, other, "announce_peer", {b"info_hash": a, b"port": 1, b"token": token})
    assert stolen is not None and stolen[b"e"][0] == 203
    right = ask(target, peer, "announce_peer", {b"info_hash": a, b"port": 1, b"token": token})
    assert right is not None and b"r" in right
    # Tokens still rotate: stale after two rotations.
    x = hashlib.sha1(bencodepy.encode(b"x")).digest()
    item_token = (ask(target, peer, "get", {b"target": x}) or {})[b"r"][b"token"]
    for _ in range(2):
        target.tn.sync(core_of(target.node).protocol.handlers.tokens.rotate)
    stale = ask(target, peer, "put", {b"token": item_token, b"v": b"x"})
    assert stale is not None and stale[b"e"][0] == 203
    fresh = (ask(target, peer, "get", {b"target": x}) or {})[b"r"][b"token"]
    assert b"r" in (ask(target, peer, "put", {b"token": fresh, b"v": b"x"}) or {})


# --- 5. our id -------------------------------------------------------------------------


def test_outside_addresses_answering_our_verification_pings_cannot_change_our_id(make_target: Any) -> None:
    target = make_target(ML.replace(EXTERNAL_ADDRESS_VOTES=3))
    old = target.node.id
    liars = [target.client(host(i)) for i in range(38)]
    verified = 0
    for liar in liars:
        liar.send(mq("ping", {b"id": client_id(liar)}), target.address)  # we verify it with a ping ...
        target.sync()
        liar.sock.setblocking(False)
        try:
            pings = [m for m in (bencodepy.decode(liar.sock.recv(65535)) for _ in range(2)) if m[b"y"] == b"q"]
        except BlockingIOError:
            pings = []
        finally:
            liar.sock.setblocking(True)
        for msg in pings:  # ... which it answers claiming we are 203.0.113.9
            liar.send(bencodepy.encode({b"t": msg[b"t"], b"y": b"r", b"r": {b"id": client_id(liar)},
                                         b"ip": encode_address(("203.0.113.9", 4000))}), target.address)
            target.sync()
            verified += 1
    snap = target.stats()
    assert target.node.id == old and snap.external_votes == 0
    answered = target.tn.sync(lambda: core_of(target.node).table.answered_count())
    # Those verified did answer (in the table now, handed out): votes enough, had they counted.
    assert answered == verified >= 3


def test_a_new_id_keeps_the_answered_contacts_and_their_rtt(make_target: Any) -> None:
    target = make_target()
    core = core_of(target.node)
    now = core.transport.clock()
    for i in range(120):
        c = Contact(os.urandom(20), f"198.{51 + i // 200}.{i % 200}.1", 6881)
        target.tn.sync(lambda c=c, i=i: core.table.insert(c, now, contacted=True, rtt=0.01 + i / 1000))
    before = target.tn.sync(lambda: {e.contact.id: e.rtt for e in core.table.entries() if e.answered})
    in_buckets = target.tn.sync(core.table.answered_count)
    target.tn.sync(lambda: core.adopt_id(os.urandom(20)))
    after = target.tn.sync(lambda: {e.contact.id: e.rtt for e in core.table.entries() if e.answered})
    assert after and all(before[i] == rtt for i, rtt in after.items())
    assert len(after) >= 8 and in_buckets > 0
    # Every contact in the new buckets had answered: none is reloaded as never answered.
    assert target.tn.sync(core.table.answered_count) == target.tn.sync(lambda: len(core.table))
