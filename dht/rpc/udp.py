"""The UDP socket under the transport: batched reads, a large receive buffer, ICMP errors.

Under a flood the limits must see datagrams before the kernel's receive
queue overflows, or honest peers' datagrams are lost there with the
attacker's: asyncio reads one datagram per loop iteration, so after each one
the transport drains up to RECV_BATCH more from a second socket object on
the same file descriptor (same queue, same order, :func:`prepare`; not a
``dup``: a lab node costs one file descriptor, not two), and the receive
buffer is raised to RECV_BUFFER bytes (as far as the system allows).

A request to a port nobody listens on fails at once, not at its full
timeout (libtorrent's ``rpc_manager::unreachable``): on Linux the socket asks
for ICMP errors with their datagram's destination (IP_RECVERR), and an ICMP
port or host unreachable fails the request whose transaction id the
returned datagram carries.  A stopped lab node, a one-shot CLI node gone, a
peer that quit: each is known dead in a round trip.  A node that drops
datagrams silently (NAT, a firewall) still costs its full timeout.
:func:`unreachable` reads those errors from the socket's error queue; the
transport fails the requests they name.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
from typing import Any

from ..core.contact import Address
from ..wire import krpc

log = logging.getLogger(__name__)

#: Datagrams read in one go when the socket is readable (asyncio's one included).
RECV_BATCH = 256
#: Receive buffer asked for (the kernel caps it at net.core.rmem_max).
RECV_BUFFER = 4 << 20
#: Largest UDP payload: longer ones do not exist, shorter ones are read whole.
RECV_MAX = 65536

#: Linux's socket options asking for ICMP errors with their datagram (linux/in.h, in6.h).
_RECVERR = {socket.AF_INET: (socket.IPPROTO_IP, 11), socket.AF_INET6: (socket.IPPROTO_IPV6, 25)}
#: ``sock_extended_err.ee_origin`` of an ICMP (v4, v6) error.
_ORIGIN_ICMP = (2, 3)
#: The errors that say nothing listens there: port unreachable, host unreachable.
_UNREACHABLE = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH})


class _View(socket.socket):
    """A socket object on another's file descriptor, which it never closes: closing
    it, or its collection, only lets go of the descriptor (the owner closes it)."""

    def close(self) -> None:
        if self.fileno() >= 0:
            self.detach()

    def __del__(self) -> None:
        self.close()


def view(sock: Any) -> socket.socket:
    """A socket object on ``sock``'s file descriptor that does not own it (``sock``
    may be asyncio's TransportSocket, which has no recvfrom): no second descriptor."""
    return _View(sock.family, sock.type, sock.proto, fileno=sock.fileno())


def prepare(sock: Any) -> socket.socket | None:
    """Ask ``sock`` for ICMP errors (Linux) and a large receive buffer; return a
    non-blocking socket object on the same file descriptor (:func:`view`: closing it
    leaves the descriptor open) to drain it in batches (None if the system will not)."""
    recverr = _RECVERR.get(sock.family) if sys.platform == "linux" else None
    if recverr is not None:
        try:
            sock.setsockopt(*recverr, 1)
        except OSError as exc:  # works without: the request waits its full timeout
            log.debug("no ICMP errors: %s", exc)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
        drain = view(sock)
        drain.setblocking(False)  # asyncio's socket is non-blocking already: a no-op
    except OSError as exc:  # works without: one datagram per loop iteration
        log.debug("no batched reads: %s", exc)
        return None
    return drain


def unreachable(sock: socket.socket) -> list[tuple[Address, bytes]]:
    """(destination, datagram) of each datagram ICMP says cannot reach its node (the
    socket's error queue: each error with the datagram it answers), up to RECV_BATCH."""
    found: list[tuple[Address, bytes]] = []
    for _ in range(RECV_BATCH):
        try:
            data, ancillary, _flags, addr = sock.recvmsg(
                krpc.UDP_PACKET_LIMIT, 256, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT
            )
        except OSError:  # the queue is empty (or the platform has none)
            break
        for _level, _type, info in ancillary:
            # struct sock_extended_err: u32 ee_errno, u8 ee_origin, ...
            if len(info) >= 5 and info[4] in _ORIGIN_ICMP:
                if int.from_bytes(info[:4], sys.byteorder) in _UNREACHABLE:
                    found.append(((sys.intern(addr[0]), addr[1]), data))
    return found


def bind(host: str, port: int, v6: bool) -> socket.socket:
    """A UDP socket bound to (host, port); an IPv6 one only for IPv6 (IPV6_V6ONLY: the
    IPv4 side of a dual-stack node has its own socket on the same port).  OSError as
    ``socket`` and ``bind`` raise it (EAFNOSUPPORT: no such family here)."""
    sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if v6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock
