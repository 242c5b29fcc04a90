"""The transport's bookkeeping of requests out: one expiry timer serves them all."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import bencodepy
import pytest

from dhtutil import free_udp_port, run, running_nodes, silent_udp_port, wait_until

from dht import Config, Contact
from dht.errors import NodeStopped, RpcTimeout
from dht.node import core_of

TIMEOUT = 0.3


def test_requests_expire_oldest_first_each_after_its_own_timeout(tmp_path: Path) -> None:
    """Requests out expire in the order sent, each no sooner than KRPC_TIMEOUT after it
    went out, whatever was answered between them; no timer is left once none is out."""

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, Config(KRPC_TIMEOUT=TIMEOUT)) as (a, b):
            core = core_of(a)
            silent = [Contact(bytes([i]) * 20, "127.0.0.1", silent_udp_port()) for i in (1, 2)]
            ping = {b"id": a.id}
            first = core.request(silent[0], "ping", ping)
            sent_first = time.monotonic()
            assert await core.request(b.contact, "ping", ping)  # answered meanwhile
            await asyncio.sleep(0.05)  # spaces the two sends (they expire 1 ms early at most)
            second = core.request(silent[1], "ping", ping)
            sent_second = time.monotonic()
            assert core.transport._timer is not None  # one timer, for the oldest
            with pytest.raises(RpcTimeout):
                await first
            failed_first = time.monotonic()
            assert not second.done()  # the later one waits its own full timeout
            with pytest.raises(RpcTimeout):
                await second
            failed_second = time.monotonic()
            assert failed_first - sent_first >= TIMEOUT - 0.002
            assert failed_second - sent_second >= TIMEOUT - 0.002
            assert failed_second > failed_first
            assert not core.transport.outstanding.pending and core.transport._timer is None

    run(scenario(), 10)


def test_a_stopping_node_fails_what_is_out_and_leaves_no_timer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_nodes(tmp_path, 1, Config(KRPC_TIMEOUT=5.0)) as (a,):
            core = core_of(a)
            transport = core.transport
            out = [core.request(Contact(bytes([i]) * 20, "127.0.0.1", silent_udp_port()), "ping", {b"id": a.id})
                   for i in (1, 2, 3)]
            assert transport._timer is not None
            await a.stop()
            results = await asyncio.gather(*out, return_exceptions=True)
            assert all(isinstance(r, NodeStopped) for r in results), results
            assert transport._timer is None and not transport.outstanding.pending

    run(scenario(), 10)


@pytest.mark.skipif(sys.platform != "linux", reason="ICMP errors with their datagram (IP_RECVERR) are Linux's")
def test_a_request_to_a_port_nobody_listens_on_fails_at_once(tmp_path: Path) -> None:
    """ICMP port unreachable fails the request it answers in a round trip, not at its full
    timeout (libtorrent's rpc_manager::unreachable), and the send right after it, which
    Linux reports the pending error to, still goes out."""

    async def scenario() -> None:
        async with running_nodes(tmp_path, 2, Config(KRPC_TIMEOUT=5.0)) as (a, b):
            core = core_of(a)
            gone = Contact(bytes([9]) * 20, "127.0.0.1", free_udp_port())
            silent = Contact(bytes([8]) * 20, "127.0.0.1", silent_udp_port())
            ping = {b"id": a.id}
            started = time.monotonic()
            refused = core.request(gone, "ping", ping)
            answered = core.request(b.contact, "ping", ping)  # sent while the error is pending
            waiting = core.request(silent, "ping", ping)
            with pytest.raises(RpcTimeout, match="unreachable"):
                await refused
            assert time.monotonic() - started < 1.0  # not its 5 s full timeout
            assert (await answered)[b"id"] == b.id
            assert not waiting.done()  # a node that drops datagrams still costs its full timeout
            assert [key[0] for key in core.transport.outstanding.pending] == [silent.address]
            waiting.cancel()

    run(scenario(), 20)


class _Lossy(asyncio.DatagramProtocol):
    """A node that loses the first ``lose`` queries it gets, then answers (a ping)."""

    def __init__(self, node_id: bytes, lose: int) -> None:
        self.node_id, self.lose, self.tids = node_id, lose, []  # type: list[bytes]
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = bencodepy.decode(data)
        self.tids.append(msg[b"t"])
        if len(self.tids) > self.lose and self.transport is not None:
            self.transport.sendto(bencodepy.encode({b"t": msg[b"t"], b"y": b"r", b"r": {b"id": self.node_id}}), addr)


@pytest.mark.parametrize("resends", [0, 2])
def test_a_silent_lookup_request_is_sent_again_with_its_transaction_id(tmp_path: Path, resends: int) -> None:
    """Silent past its soft timeout, a lookup's request goes out again (same tid) at the soft
    timeout and after twice as long, and its answer settles it; its RTT is not sampled
    (Karn).  SOFT_RESENDS 0 sends it once and waits its full timeout."""

    async def scenario() -> None:
        cfg = Config(KRPC_TIMEOUT=1.0, SOFT_RESENDS=resends)
        async with running_nodes(tmp_path, 1, cfg) as (a,):
            loop = asyncio.get_running_loop()
            lossy = _Lossy(bytes([5]) * 20, lose=2)
            transport, _ = await loop.create_datagram_endpoint(lambda: lossy, local_addr=("127.0.0.1", 0))
            try:
                core = core_of(a)
                peer = Contact(lossy.node_id, "127.0.0.1", transport.get_extra_info("sockname")[1])
                samples = core.transport.outstanding.rtt.samples
                started = time.monotonic()
                request = core.request(peer, "ping", {b"id": a.id}, 0.05)
                if resends:
                    answer = await request
                    assert answer[b"id"] == lossy.node_id
                    took = time.monotonic() - started
                    assert 0.15 - 0.01 <= took < 1.0  # the third send, at 3 x 50 ms, answered
                    assert len(lossy.tids) == 3 and len(set(lossy.tids)) == 1
                    assert core.transport.outstanding.rtt.samples == samples  # not an RTT sample
                    # Its other answers (to the earlier sends, had they come) are expected, not drops.
                    lossy.transport.sendto(bencodepy.encode({b"t": lossy.tids[0], b"y": b"r", b"r": {b"id": lossy.node_id}}),
                                           ("127.0.0.1", a.address[1]))
                    await wait_until(lambda: core.stats_counters.packets_in >= 2)
                    assert core.stats_counters.dropped == 0, {k: v for k, v in core.stats_counters.drop_reasons.items() if v}
                    entry = core.table.get(peer.id)
                    assert entry is not None and entry.rtt is None
                else:
                    with pytest.raises(RpcTimeout):
                        await request
                    assert len(lossy.tids) == 1
            finally:
                transport.close()

    run(scenario(), 20)
