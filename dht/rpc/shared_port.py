"""One UDP socket for many lab nodes, each at a loopback address of its own.

Why.  A lab node with a socket of its own costs a file descriptor (and an
asyncio transport, about 3 KB); a process may hold 20,000 descriptors here
and no more, so 50,000 nodes in one process cannot each have one.  A
:class:`SharedPort` is one IPv4 UDP socket bound to ``0.0.0.0:P``; every node
attached to it (:meth:`SharedPort.attach`) has an address ``127.x.y.z:P`` of
its own, which is what its peers see, on the wire, exactly as if it had its
own socket there: Linux routes all of 127.0.0.0/8 to the loopback interface,
and a socket bound to the wildcard address receives datagrams sent to any of
them on its port.

Theory of operation.

* Receiving.  The socket asks for IP_PKTINFO, so each datagram read
  (``recvmsg``, up to :data:`dht.rpc.udp.RECV_BATCH` each time the loop sees
  the socket readable) comes with the address it was sent *to*: the
  datagram is handed to the transport of the node attached there
  (``KrpcTransport.receive_one``), with its sender, as that node's own
  socket would have.  A datagram whose source is not in 127.0.0.0/8 is
  dropped and counted (:attr:`SharedPort.foreign`): the socket listens on
  every interface only to receive the loopback addresses, and a lab is
  never reachable from outside.
* Sending.  :meth:`Endpoint.sendto` is asyncio's ``sendto(data, addr)``, which
  is all the transport uses: ``sendmsg`` with IP_PKTINFO ancillary data
  naming the node's own address as the source (``ipi_spec_dst``), so the
  datagram leaves from ``127.x.y.z:P`` and the answer comes back to it.  A
  send the kernel will not take now (a full buffer) is dropped and counted,
  as UDP may.
* Unreachable nodes.  A datagram sent to an address of this port where no
  node is attached (a killed lab node) is still received here: the node
  that sent it, if attached, is told at once that nothing listens there
  (``KrpcTransport.port_unreachable``: its request fails in a round trip,
  as an ICMP port unreachable does for a node with its own socket).  A
  datagram to another port nobody listens on (another process's shared
  port after it went away, say) gets an ICMP error that this socket is not
  told (no IP_RECVERR: the error would not name which node sent it
  without more work): such a request waits its timeout.
* Closing.  :meth:`Endpoint.close` detaches the node (its address is free
  again at once, for a revived node) and tells its protocol
  ``connection_lost`` on the loop's next pass, as asyncio does; the socket
  closes with :meth:`SharedPort.close` or when its last node leaves.

Linux only (IP_PKTINFO as the source of ``sendmsg``): :func:`supported` says
so, and where it is not, labs keep a socket per node.  Nothing here reads a
clock; the nodes' transports do their own bookkeeping.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import sys
from typing import Any, Protocol

from ..core.contact import Address
from ..core.errors import LocalError
from . import udp

log = logging.getLogger(__name__)

#: Linux's IP_PKTINFO (linux/in.h; Python's socket module does not name it).
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
#: struct in_pktinfo: int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr.
_PKTINFO = struct.Struct("@i4s4s")
_ANCILLARY = socket.CMSG_SPACE(_PKTINFO.size) if hasattr(socket, "CMSG_SPACE") else 0
_NO_ADDRESS = bytes(4)


#: A lab of this many nodes or more shares one socket among them unless told otherwise
#: (below it, a socket each: one file descriptor and about 3 KB a node more).
LAB_SHARED_FROM = 5000


def for_lab(size: int, wanted: bool | None, own_addresses: bool, base_port: int | None) -> SharedPort | None:
    """The shared socket for a lab of ``size`` nodes, or None (a socket each): ``wanted``
    True or False, None for LAB_SHARED_FROM nodes and more.  Only where it can be: on
    Linux, with every node at a loopback address of its own (``own_addresses``); the
    port ``base_port`` when given."""
    if wanted is False or (wanted is None and size < LAB_SHARED_FROM):
        return None
    if not own_addresses or not supported():
        log.info("a socket per lab node: a shared one needs Linux and a loopback address per node")
        return None
    return SharedPort(base_port or 0)


def supported() -> bool:
    """Whether this system can run nodes on a shared socket (Linux: IP_PKTINFO on sendmsg)."""
    return sys.platform == "linux" and hasattr(socket.socket, "sendmsg") and _ANCILLARY > 0


class Receiver(Protocol):
    """A node's transport, as the shared socket hands it what is sent to its address."""

    def connection_made(self, transport: Any) -> None: ...

    def connection_lost(self, exc: Exception | None) -> None: ...

    def receive_one(self, data: bytes, addr: tuple[Any, ...]) -> None: ...

    def port_unreachable(self, peer: Address, datagram: bytes) -> None: ...


class Endpoint:
    """One node's address on a :class:`SharedPort`: what its transport sees in place of
    asyncio's datagram transport (``sendto``, ``get_extra_info``, ``is_closing``, ``close``)."""

    __slots__ = ("port", "host", "protocol", "_source", "_closing")

    def __init__(self, port: SharedPort, host: str, protocol: Receiver) -> None:
        self.port = port
        self.host = host
        self.protocol = protocol
        self._source = [(socket.IPPROTO_IP, IP_PKTINFO, _PKTINFO.pack(0, socket.inet_aton(host), _NO_ADDRESS))]
        self._closing = False

    def sendto(self, data: bytes, addr: Any = None) -> None:
        if self._closing:
            return
        self.port.send(data, self._source, addr)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return (self.host, self.port.port)
        return default  # no "socket": the node's transport must not read the shared one

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        loop = self.port.loop
        self.port.detach(self)
        if loop is not None and not loop.is_closed():  # told on the loop's next pass, as asyncio does
            loop.call_soon(self.protocol.connection_lost, None)

    abort = close


class SharedPort:
    """One UDP socket on ``0.0.0.0:port`` for nodes at ``127.x.y.z:port`` (see the module docstring)."""

    def __init__(self, port: int = 0) -> None:
        """``port`` 0: one the kernel chooses when the first node attaches."""
        self.requested_port = port
        self.port = port
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nodes: dict[str, Endpoint] = {}
        self.foreign = 0
        """Datagrams dropped as their source was not a loopback address."""
        self.send_drops = 0
        """Datagrams the kernel would not take at once (a full buffer): dropped."""
        self.strays = 0
        """Datagrams to an address of the port where no node is attached."""

    def __len__(self) -> int:
        return len(self._nodes)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the socket was opened on (None before)."""
        return self._loop

    @property
    def is_open(self) -> bool:
        return self._sock is not None

    def open(self) -> None:
        """Bind the socket (on the running loop); LocalError when the port is taken
        or the system cannot (see :func:`supported`)."""
        if self._sock is not None:
            return
        if not supported():
            raise LocalError("a shared lab socket needs Linux (IP_PKTINFO)")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, udp.RECV_BUFFER)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, udp.RECV_BUFFER)
            except OSError:  # works without, with more drops under a burst
                pass
            sock.bind(("0.0.0.0", self.requested_port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise LocalError(f"cannot listen on 0.0.0.0:{self.requested_port} for a shared lab socket: "
                             f"{exc.strerror or exc}") from None
        self._loop = asyncio.get_running_loop()
        self._sock = sock
        self.port = self.requested_port = sock.getsockname()[1]  # the same again if reopened
        self._loop.add_reader(sock.fileno(), self._readable)

    def close(self) -> None:
        """Close the socket; every node still attached is closed first."""
        for endpoint in list(self._nodes.values()):
            endpoint.close()
        self._close_socket()

    def _close_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.fileno())
            sock.close()

    # --- nodes ------------------------------------------------------------

    def attach(self, host: str, protocol: Receiver) -> Endpoint:
        """Give ``protocol`` the address ``host:port`` (``host`` in 127.0.0.0/8, not
        127.0.0.1's owner yet) and tell it ``connection_made``; LocalError when the
        address is taken or not a loopback IPv4 address."""
        if not host.startswith("127.") or host.count(".") != 3:
            raise LocalError(f"a node on a shared lab socket needs a 127.x.y.z address, not {host}")
        try:
            socket.inet_aton(host)
        except OSError:
            raise LocalError(f"{host} is not an IPv4 address") from None
        self.open()
        if host in self._nodes:
            raise LocalError(f"port {self.port} on {host} is in use")
        endpoint = Endpoint(self, sys.intern(host), protocol)
        self._nodes[endpoint.host] = endpoint
        protocol.connection_made(endpoint)
        return endpoint

    def detach(self, endpoint: Endpoint) -> None:
        """Free ``endpoint``'s address (its protocol is no longer handed anything);
        the socket closes with the last node."""
        if self._nodes.get(endpoint.host) is endpoint:
            del self._nodes[endpoint.host]
        if not self._nodes:
            self._close_socket()

    # --- the socket ---------------------------------------------------------

    def send(self, data: bytes, source: list[tuple[int, int, bytes]], addr: Any) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendmsg([data], source, 0, addr)
        except (BlockingIOError, InterruptedError):
            self.send_drops += 1
        except OSError as exc:  # no route, a bad address: lost, as UDP may lose it
            self.send_drops += 1
            log.debug("shared socket: send to %s failed: %s", addr, exc)

    def _readable(self) -> None:
        sock = self._sock
        nodes = self._nodes
        intern = sys.intern
        for _ in range(udp.RECV_BATCH):
            if sock is None or sock is not self._sock:
                return  # closed by a node's handling of the last datagram
            try:
                data, ancillary, _flags, source = sock.recvmsg(udp.RECV_MAX, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # nothing of ours: go on reading
                log.debug("shared socket: %s", exc)
                continue
            host = source[0]
            if not host.startswith("127."):
                self.foreign += 1
                continue
            destination = _destination(ancillary)
            endpoint = nodes.get(destination) if destination is not None else None
            peer = (intern(host), source[1])
            if endpoint is not None:
                try:
                    endpoint.protocol.receive_one(data, peer)
                except Exception:  # the node's bug: the other nodes still get theirs
                    log.exception("node at %s:%d failed on a datagram", destination, self.port)
                continue
            self.strays += 1
            sender = nodes.get(peer[0]) if peer[1] == self.port else None
            if sender is not None and destination is not None:
                try:
                    sender.protocol.port_unreachable((destination, self.port), data)
                except Exception:
                    log.exception("node at %s:%d failed on an unreachable peer", peer[0], self.port)


def _destination(ancillary: list[tuple[int, int, bytes]]) -> str | None:
    """The address a datagram was sent to, from its IP_PKTINFO (ipi_addr)."""
    for level, kind, info in ancillary:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(info) >= _PKTINFO.size:
            return socket.inet_ntoa(info[8:12])
    return None
