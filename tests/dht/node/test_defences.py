"""The defences on the wire: a real node with the default limits, attacked from
many loopback source addresses (client sockets bound to 127.0.0.x).

The node runs in its own loop thread (:class:`ThreadedNode`); its limits read
a fake clock, so budgets refill only when a test moves it.  Clients are
plain UDP sockets.  "No answer" is observed without waiting: the node reads
its socket in order and answers synchronously (get_value and store_value
once the storage thread is done: the sync waits for those too), so once a
marker ping sent afterwards (from another address) is answered, every answer
to what came before is already in the clients' socket buffers; they are then
drained without blocking.  Every wait has a deadline; no fixed port, no sleep.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path
from typing import Any, Iterator

import bencodepy
import pytest
from dhtutil import ThreadedNode, can_bind, query

from dht.node import core_of
from dht import Config, events
from dht.wire import krpc
from dht.core.stats import DropReason

CONFIG = Config(KRPC_TIMEOUT=2.0)  # the defences' defaults, loopback treated as any host
MARK_ID = b"M" * 20


pytestmark = pytest.mark.skipif(
    not can_bind("127.0.0.2"), reason="needs all of 127.0.0.0/8 on loopback (Linux)"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """A blocking UDP socket on its own loopback address."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host = host

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sock.sendto(data, addr)

    def drain(self) -> list[bytes]:
        """Every answer (response or error) already received, without waiting.

        Queries the node sends us (it pings the contacts it has not verified)
        are not answers and are left out.
        """
        out: list[bytes] = []
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(65535)
                if b"1:y1:q" not in data:
                    out.append(data)
        except BlockingIOError:
            return out
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        self.sock.close()


class Target:
    """The node under attack, its fake clock, and a marker client to sync with it."""

    def __init__(self, tn: ThreadedNode) -> None:
        self.tn = tn
        self.node = tn.node
        self.clock = FakeClock()
        tn.sync(lambda: setattr(core_of(self.node).transport, "clock", self.clock))
        self.marker = Client("127.0.0.254")
        self.marker.sock.settimeout(5.0)  # a deadline, never a pause
        self.marks = 0
        self.clients: list[Client] = []

    @property
    def address(self) -> tuple[str, int]:
        return self.node.address

    def client(self, host: str) -> Client:
        c = Client(host)
        self.clients.append(c)
        return c

    def sync(self) -> None:
        """Return once the node has handled every datagram sent before."""
        self.marks += 1
        tid = b"mark%d" % self.marks
        self.marker.send(query("ping", {b"id": MARK_ID}, tid), self.address)
        while True:
            msg = bencodepy.decode(self.marker.sock.recv(65535))
            if msg.get(b"t") == tid:
                break
        self.tn.call(core_of(self.node).transport.drain)  # the answers waiting for storage

    def flood(self, client: Client, datagram: bytes, count: int, chunk: int = 40) -> list[bytes]:
        """Send ``count`` copies in chunks the node's socket buffer holds; the answers."""
        answers: list[bytes] = []
        for start in range(0, count, chunk):
            for _ in range(min(chunk, count - start)):
                client.send(datagram, self.address)
            self.sync()
            answers += client.drain()
        return answers

    def stats(self) -> Any:
        return self.tn.sync(self.node.stats)

    def close(self) -> None:
        for c in self.clients:
            c.close()
        self.marker.close()


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    tn = ThreadedNode(tmp_path, CONFIG)
    t = Target(tn)
    try:
        yield t
    finally:
        t.close()
        tn.close()


PING = query("ping", {b"id": b"C" * 20}, b"p1")


def test_a_flooding_address_gets_its_burst_then_is_blocked(target: Target) -> None:
    attacker = target.client("127.0.0.2")
    threshold = int(CONFIG.BLOCK_RATE * CONFIG.BLOCK_WINDOW)
    answers = target.flood(attacker, PING, threshold + 100)
    assert len(answers) == CONFIG.QUERY_BURST  # the clock did not move: no refill
    snap = target.stats()
    assert snap.blocked_peers == 1 and snap.blocks == 1
    assert snap.drops["rate limited"] == threshold - 1 - CONFIG.QUERY_BURST
    assert snap.drops["blocked"] == 101
    # Still blocked later, even with a full budget by then; forgiven after BLOCK_DURATION.
    target.clock.now += CONFIG.BLOCK_DURATION - 1
    assert target.flood(attacker, PING, 5) == []
    target.clock.now += 1
    assert len(target.flood(attacker, PING, 5)) == 5
    assert target.stats().blocked_peers == 0
    # Meanwhile others were answered: the marker pinged all along.
    assert target.marks > 10


def test_a_peer_asking_in_bursts_of_50_at_10_per_second_is_always_answered(target: Target) -> None:
    peer = target.client("127.0.0.3")
    before = target.stats().dropped
    for _ in range(6):
        answers = target.flood(peer, PING, CONFIG.QUERY_BURST, chunk=50)
        assert len(answers) == CONFIG.QUERY_BURST
        target.clock.now += CONFIG.QUERY_BURST / CONFIG.QUERY_RATE  # 5 s: 10 a second on average
    assert target.stats().dropped == before
    assert target.stats().blocks == 0


def test_each_of_many_addresses_has_its_own_budget(target: Target) -> None:
    clients = [target.client(f"127.0.0.{10 + i}") for i in range(20)]
    for c in clients:
        for _ in range(30):
            c.send(PING, target.address)
        target.sync()
        for _ in range(30):
            c.send(PING, target.address)
        target.sync()
    counts = [len(c.drain()) for c in clients]
    assert counts == [CONFIG.QUERY_BURST] * 20
    assert target.stats().drops["rate limited"] == 20 * 10
    assert target.stats().tracked_peers == 21  # the clients and the marker


def test_a_64_kb_datagram_is_dropped_without_being_decoded(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    real = krpc.decode

    def counting(data: bytes) -> Any:
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(krpc, "decode", counting)
    seen: list[Any] = []
    target.tn.sync(lambda: target.node.subscribe(seen.append))
    sender = target.client("127.0.0.4")
    huge = b"d1:ad2:id20:" + b"C" * 20 + b"6:target" + b"65000:" + b"x" * 65000 + b"e1:q4:ping1:t2:aa1:y1:qe"
    too_long = PING + b" " * (CONFIG.MAX_DATAGRAM_SIZE + 1 - len(PING))
    for data in (huge, too_long):
        sender.send(data, target.address)
    target.sync()
    assert sender.drain() == []
    assert len(huge) not in decoded and len(too_long) not in decoded
    assert len(PING) not in decoded
    assert target.stats().drops["oversize"] == 2
    dropped = [e for e in seen if isinstance(e, events.DatagramDropped)]
    assert [(e.size, e.reason) for e in dropped] == [(len(huge), "oversize"), (len(too_long), "oversize")]
    assert len(target.flood(sender, PING, 1)) == 1  # a normal datagram is decoded
    assert len(PING) in decoded


def test_no_address_gets_more_answer_bytes_than_its_budget(target: Target) -> None:
    key = hashlib.sha1(b"reflected").digest()
    store = core_of(target.node).store
    target.tn.sync(lambda: [store.store_value(key, bytes([i]) * 100, time.time()) for i in range(12)])
    victim = target.client("127.0.0.5")
    get = query("get_value", {b"id": b"V" * 20, b"key": key, b"num": 0}, b"g1")
    answers = target.flood(victim, get, 50)
    got = sum(map(len, answers))
    assert 1000 < len(answers[0]) < krpc.UDP_PACKET_LIMIT  # each answer ~10x its query
    assert got <= CONFIG.REPLY_BURST_PER_IP
    assert len(answers) == CONFIG.REPLY_BURST_PER_IP // len(answers[0])
    snap = target.stats()
    assert snap.drops["reply budget"] == 50 - len(answers)
    # A second later the address may have REPLY_RATE_PER_IP bytes more, no more.
    target.clock.now += 1.0
    more = sum(map(len, target.flood(victim, get, 10)))
    assert 0 < more <= CONFIG.REPLY_RATE_PER_IP + len(answers[0])
    # Another address is answered in full.
    other = target.client("127.0.0.6")
    assert len(target.flood(other, get, 5)) == 5


def test_answers_to_our_own_requests_are_never_rate_limited(target: Target) -> None:
    """Our node pings one peer 120 times at once: every answer is accepted."""
    peer = target.client("127.0.0.7")
    host, port = peer.sock.getsockname()
    node = target.node
    results: list[Any] = []

    async def ask_all() -> None:
        import asyncio

        futures = [node.ping(host, port) for _ in range(120)]
        results.extend(await asyncio.gather(*futures, return_exceptions=True))

    import threading

    worker = threading.Thread(target=lambda: target.tn.call(ask_all, timeout=10))
    worker.start()
    peer.sock.settimeout(5.0)
    for _ in range(120):  # answer each ping as it comes
        msg = bencodepy.decode(peer.sock.recv(65535))
        peer.send(bencodepy.encode({b"t": msg[b"t"], b"y": b"r", b"r": {b"id": b"R" * 20}}), target.address)
    worker.join(15)
    assert len(results) == 120 and all(r == b"R" * 20 for r in results), results[:3]
    assert target.stats().drops["rate limited"] == 0


def test_garbage_is_counted_by_fixed_reasons_with_fixed_event_texts(target: Target) -> None:
    seen: list[Any] = []
    target.tn.sync(lambda: target.node.subscribe(seen.append))
    garbage = [bencodepy.encode({b"t": b"aa", b"y": b"z%d" % i + b"y" * 500}) for i in range(200)]
    garbage += [b"\xff%d" % i for i in range(100)] + [b"l" * 50 + b"e" * 50, b"d1:ti1ee"]
    clients = [target.client(f"127.0.1.{i}") for i in range(1, 16)]
    for n, data in enumerate(garbage):
        clients[n % len(clients)].send(data, target.address)
        if n % 40 == 39:
            target.sync()
    target.sync()
    snap = target.stats()
    assert set(snap.drops) == {r.value for r in DropReason}
    assert snap.drops["unknown type"] == 200 and snap.drops["not bencode"] >= 100
    assert snap.drops["malformed"] >= 1
    assert snap.dropped == len(garbage)
    reasons = {e.reason for e in seen if isinstance(e, events.DatagramDropped)}
    assert reasons <= {r.value for r in DropReason} and len(reasons) >= 3
    assert len(core_of(target.node).stats_counters.drop_reasons) <= len(DropReason)  # made at first use


@pytest.mark.parametrize("factor, answered", [(CONFIG.OWN_ADDRESS_LIMIT_FACTOR, 1000), (1.0, 50)])
def test_sources_on_the_nodes_own_loopback_address_are_its_lab_siblings(
    tmp_path: Path, factor: float, answered: int
) -> None:
    """A lab that must put every node on 127.0.0.1: they do not limit one another."""
    tn = ThreadedNode(tmp_path, CONFIG.replace(OWN_ADDRESS_LIMIT_FACTOR=factor))
    t = Target(tn)
    try:
        assert t.address[0] == "127.0.0.1"
        sibling = t.client("127.0.0.1")
        assert len(t.flood(sibling, PING, 1000)) == answered
        assert t.stats().blocks == (0 if factor > 1 else 1)
    finally:
        t.close()
        tn.close()


def test_a_lab_on_one_address_raises_the_loopback_limits(tmp_path: Path) -> None:
    tn = ThreadedNode(tmp_path, CONFIG.replace(LOOPBACK_LIMIT_FACTOR=100.0))
    t = Target(tn)
    try:
        lab_peer = t.client("127.0.0.8")
        assert len(t.flood(lab_peer, PING, 1000)) == 1000
        assert t.stats().blocks == 0 and t.stats().dropped == 0
    finally:
        t.close()
        tn.close()
