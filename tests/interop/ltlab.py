"""libtorrent sessions on loopback, and a raw Mainline client built from dht.wire.

:class:`LtNode` is one libtorrent 2.1 session with its DHT on its own
127.0.i.1 address (or all on ::1 for IPv6, BEP 32) (an ephemeral port, no public bootstrap, no LSD, UPnP,
NAT-PMP or IP notifier: the settings of mainline-wire.md).
:meth:`LtNode.wait_for` polls its alerts with ``wait_for_alert`` until one
matches or a deadline passes, keeping the others for later waits: no
sleeps.  :class:`LtSwarm` starts N of them, joins each to the others with
``add_dht_node`` and waits until every routing table holds them all.

:class:`MainlineClient` is an asyncio UDP endpoint speaking
:mod:`dht.wire.mainline`: it sends a typed query (marked read-only, BEP 43,
so libtorrent does not add it to its table for asking alone) and returns
the envelope and the typed answer, or raises the peer's error or a
timeout; it answers queries as a node that holds nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine, TypeVar

import libtorrent as lt

from dht.errors import KrpcError, RemoteProtocolError
from dht.wire import mainline as ml
from dht.wire.common import Address

R = TypeVar("R")

#: Where our raw client sits, and its id.
CLIENT_HOST = "127.0.99.1"
CLIENT_ID = hashlib.sha1(b"khashmir explorer interop client").digest()

ALERTS = (
    lt.alert.category_t.dht_notification
    | lt.alert.category_t.dht_operation_notification
    | lt.alert.category_t.status_notification
    | lt.alert.category_t.error_notification
)


def settings_for(host: str) -> dict[str, Any]:
    v6 = ":" in host
    return {
        "listen_interfaces": f"[{host}]:0" if v6 else f"{host}:0",
        "outgoing_interfaces": host,
        "enable_dht": True,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_ip_notifier": False,
        "alert_mask": ALERTS,
        # Our one client asks every node many times in a few seconds.
        "dht_block_ratelimit": 1000,
        "dht_upload_rate_limit": 1_000_000,
        # IPv6 has one loopback address: let a table keep several nodes of it.
        "dht_restrict_routing_ips": not v6,
        "dht_restrict_search_ips": not v6,
    }


#: Alert methods a copy calls at once (the others are attributes, copied by value).
_ALERT_CALLS = ("message", "what", "category", "peers", "num_peers")


class AlertCopy:
    """A libtorrent alert's public attributes, copied while the alert is valid.

    libtorrent frees an alert at the next ``pop_alerts``; reading it after
    that crashes or raises.  The copy answers ``isinstance`` as the alert's
    class and ``peers()``/``message()`` with the values read at copy time.
    """

    def __init__(self, alert: Any) -> None:
        self._kind = type(alert)
        for name in dir(alert):
            if name.startswith("_"):
                continue
            try:
                value = getattr(alert, name)
            except Exception:  # an attribute that this alert does not carry
                continue
            if isinstance(value, lt.sha1_hash):
                # Returned by reference into the alert: once libtorrent frees it, the
                # memory holds another alert's hash.  Keep an owned copy.
                value = lt.sha1_hash(bytes(value.to_bytes()))
            elif callable(value):
                if name not in _ALERT_CALLS:
                    continue
                try:
                    result = value()
                except Exception:
                    continue
                value = (lambda r: lambda: r)(result)
            setattr(self, name, value)

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return self._kind


@dataclass
class LtNode:
    host: str
    session: Any = None
    port: int = 0
    backlog: list[Any] = field(default_factory=list)

    def start(self, timeout: float = 10.0) -> None:
        self.session = lt.session(settings_for(self.host))
        alert = self.wait_for(
            lambda a: isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.udp,
            timeout, "listening on UDP",
        )
        self.port = alert.port

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def wait_for(self, match: Callable[[Any], bool], timeout: float, what: str) -> Any:
        """The first alert (kept or new) that ``match`` accepts, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for i, alert in enumerate(self.backlog):
                if match(alert):
                    del self.backlog[i]
                    return alert
            left = deadline - time.monotonic()
            if left <= 0:
                seen = "; ".join(a.message() for a in self.backlog[-5:])
                raise TimeoutError(f"libtorrent at {self.host}: no alert for {what} within {timeout} s (last: {seen})")
            if self.session.wait_for_alert(max(1, int(left * 1000))) is not None:
                # An alert is valid only until the next pop_alerts: keep copies.
                self.backlog.extend(AlertCopy(a) for a in self.session.pop_alerts())
                del self.backlog[:-500]  # bounded

    def routing_nodes(self, timeout: float = 5.0) -> int:
        """The number of nodes in this session's routing table (post_dht_stats)."""
        self.session.post_dht_stats()
        stats = self.wait_for(lambda a: isinstance(a, lt.dht_stats_alert), timeout, "dht stats")
        return sum(b["num_nodes"] for b in stats.routing_table)

    def close(self) -> None:
        if self.session is not None:
            self.session.pause()
            self.session = None


class LtSwarm:
    def __init__(self, count: int, subnet: int = 40, ipv6: bool = False) -> None:
        self.nodes = [LtNode("::1" if ipv6 else f"127.0.{subnet + i}.1") for i in range(count)]

    def start(self, timeout: float = 15.0) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            for other in self.nodes:
                if other is not node:
                    node.session.add_dht_node(other.address)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while node.routing_nodes() < len(self.nodes) - 1:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"libtorrent at {node.host} did not learn the swarm in {timeout} s")
                node.session.wait_for_alert(200)

    def close(self) -> None:
        for node in self.nodes:
            node.close()


def libtorrent_secret(seed: bytes) -> bytes:
    """libtorrent's 64-byte ed25519 secret (orlp's expanded form) for a 32-byte seed."""
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h)


class MainlineClient(asyncio.DatagramProtocol):
    """A raw Mainline client: typed queries out, typed answers back."""

    def __init__(self, node_id: bytes, read_only: bool = True) -> None:
        self.node_id = node_id
        self.read_only = read_only
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[tuple[Address, bytes], asyncio.Future[ml.Response]] = {}
        self.address: Address = ("", 0)

    @classmethod
    async def open(cls, host: str, node_id: bytes) -> "MainlineClient":
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(lambda: cls(node_id), local_addr=(host, 0))
        client.address = transport.get_extra_info("sockname")[:2]
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            msg = ml.decode(data)
        except RemoteProtocolError:
            return
        if isinstance(msg, ml.Query):
            self.answer(msg, (addr[0], addr[1]))
            return
        future = self.pending.pop(((addr[0], addr[1]), msg.tid), None)
        if future is None or future.done():
            return
        if isinstance(msg, ml.Error):
            future.set_exception(KrpcError(msg.code, msg.message))
        else:
            future.set_result(msg)

    def answer(self, query: ml.Query, addr: Address) -> None:
        """Answer like a node that holds nothing and knows no one.

        Our queries say ``ro``, but libtorrent still puts a node that stored
        something (announce_peer, put) into its table (*observed*), and its
        later lookups ask it: answering keeps them from waiting on us.
        """
        assert self.transport is not None
        try:
            args = ml.parse_query(query)
        except KrpcError as exc:
            assert isinstance(exc, ml.WireError)
            self.transport.sendto(ml.encode_error(query.tid, exc), addr)
            return
        reply: ml.ResponseValues
        if isinstance(args, ml.GetPeers):
            reply = ml.PeersResponse(self.node_id, token=b"tk")
        elif isinstance(args, ml.Get):
            reply = ml.ItemResponse(self.node_id, token=b"tk")
        elif isinstance(args, ml.SampleInfohashes):
            reply = ml.SamplesResponse(self.node_id, 0, 0)
        elif isinstance(args, ml.FindNode):
            reply = ml.NodesResponse(self.node_id)
        else:
            reply = ml.IdResponse(self.node_id)
        self.transport.sendto(ml.encode_response(query.tid, reply, addr), addr)

    async def request(self, address: Address, args: ml.QueryArgs, timeout: float = 5.0) -> tuple[ml.Response, ml.ResponseValues]:
        assert self.transport is not None
        tid = ml.new_tid()
        while (address, tid) in self.pending:
            tid = ml.new_tid()
        future: asyncio.Future[ml.Response] = asyncio.get_running_loop().create_future()
        self.pending[(address, tid)] = future
        self.transport.sendto(ml.encode_query(tid, args, ro=self.read_only), address)
        try:
            response = await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop((address, tid), None)
        return response, ml.parse_response(ml.QUERY_METHODS[type(args)], response)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class ClientThread:
    """A :class:`MainlineClient` on an event loop of its own thread, for a whole test module.

    It keeps one address and answers libtorrent's queries while a test
    waits on libtorrent alerts; :meth:`run` runs a coroutine there, with a
    deadline.
    """

    def __init__(self, host: str, node_id: bytes) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="mainline-client", daemon=True)
        self.thread.start()
        self.client: MainlineClient = self.run(MainlineClient.open(host, node_id))

    def run(self, coro: Coroutine[Any, Any, R], timeout: float = 30.0) -> R:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def close_client() -> None:
            self.client.close()
            await asyncio.sleep(0)  # the transport closes its socket on the loop's next pass

        try:
            self.run(close_client(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
