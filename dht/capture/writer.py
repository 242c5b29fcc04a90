"""Recording: a node's datagrams written as a pcapng file, as the wire carried them.

Theory of operation.  A node's :class:`~dht.rpc.transport.KrpcTransport` has an
optional ``tap`` called with every datagram it sends or receives; a
:class:`CaptureWriter` attached to one or several nodes (``node.capture_to``,
``Lab(capture=...)``) frames each datagram as IPv4 (or IPv6) + UDP with its
real addresses and ports (:func:`frame_udp`) and appends it to a pcapng file
as one Enhanced Packet Block.  The link type is raw IP (LINKTYPE_RAW, 101):
no made-up MAC addresses, IPv4 and IPv6 alike, and Wireshark's ``bt-dht``
dissector decodes the UDP payload (``-d udp.port==P,bt-dht`` or its
heuristic).  The file is flushed after every packet, so a process killed at
any moment (SIGKILL) leaves a file that ends with its last complete packet.
When several nodes of one process share a writer, a datagram between two of
them is written once, when it is sent (as a capture on the loopback
interface sees it).  A node bound to a wildcard address is recorded with the
source address the kernel would choose towards each peer.  A disk that
refuses a write stops the recording (:attr:`CaptureWriter.error` says why),
never the node.  The blocks and the IP/UDP framing are dpkt's.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from pathlib import Path
from typing import Any, BinaryIO

import dpkt
from dpkt import pcapng as _ng

from ..core.contact import Address
from ..core.errors import LocalError
from .reader import LINKTYPE_RAW

log = logging.getLogger(__name__)

#: The link type we write: raw IP (IPv4 or IPv6, told apart by the version nibble).
WRITE_LINKTYPE = LINKTYPE_RAW
SNAPLEN = 65535


def frame_udp(src: Address, dst: Address, data: bytes) -> bytes:
    """``data`` as one IPv4 (or IPv6) + UDP packet from ``src`` to ``dst``."""
    udp = dpkt.udp.UDP(sport=src[1], dport=dst[1], data=data)
    udp.ulen = len(udp)
    if ":" in src[0] or ":" in dst[0]:
        ip6 = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src[0]),
                           dst=socket.inet_pton(socket.AF_INET6, dst[0]),
                           nxt=dpkt.ip.IP_PROTO_UDP, hlim=64, data=udp)
        ip6.plen = len(udp)
        return bytes(ip6)
    ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]),
                    p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=udp)
    return bytes(ip)


class CaptureWriter:
    """A pcapng file of UDP datagrams, flushed after every packet.

    ``write(now, src, dst, data)`` writes one datagram; :meth:`tap` is the
    transport hook (see ``node.capture_to``).  ``flush_each=False`` leaves
    flushing to the buffer (for writing synthetic captures fast).  One
    writer may serve nodes on several threads (our node on the GUI's loop,
    a big lab on its own): each packet is written whole under a lock.
    """

    def __init__(self, path: str | Path | BinaryIO, *, flush_each: bool = True,
                 application: str = "Khashmir Explorer") -> None:
        if isinstance(path, (str, Path)):
            try:
                self._file: BinaryIO = open(path, "wb")
            except OSError as exc:
                raise LocalError(f"cannot write capture {path}: {exc.strerror or exc}") from None
            self._owned = True
        else:
            self._file, self._owned = path, False
        self.path = str(path) if isinstance(path, (str, Path)) else getattr(path, "name", "")
        self.flush_each = flush_each
        self.packets = 0
        self.error = ""  # why recording stopped early, if it did
        self._locals: set[Address] = set()
        self._sources: dict[str, str] = {}  # peer host -> our address towards it (wildcard binds)
        le = struct.pack("=H", 1) == b"\x01\x00"
        shb_cls = _ng.SectionHeaderBlockLE if le else _ng.SectionHeaderBlock
        idb_cls = _ng.InterfaceDescriptionBlockLE if le else _ng.InterfaceDescriptionBlock
        opt_cls = _ng.PcapngOptionLE if le else _ng.PcapngOption
        shb = shb_cls(opts=[opt_cls(code=_ng.PCAPNG_OPT_SHB_USERAPPL, data=application.encode()),
                            opt_cls(code=_ng.PCAPNG_OPT_ENDOFOPT)])
        idb = idb_cls(snaplen=SNAPLEN, linktype=WRITE_LINKTYPE,
                      opts=[opt_cls(code=_ng.PCAPNG_OPT_IF_NAME, data=b"khashmir"),
                            opt_cls(code=_ng.PCAPNG_OPT_IF_TSRESOL, data=b"\x06"),
                            opt_cls(code=_ng.PCAPNG_OPT_ENDOFOPT)])
        self._writer = _ng.Writer(self._file, shb=shb, idb=idb)
        self._file.flush()
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def add_local(self, address: Address) -> None:
        """A node writing here listens on ``address``: datagrams it receives from
        another such node are not written again (the sender wrote them)."""
        self._locals.add(address)

    def write(self, now: float, src: Address, dst: Address, data: bytes) -> None:
        """One datagram at wall-clock time ``now`` (seconds since the epoch)."""
        frame = frame_udp(src, dst, data)
        with self._lock:
            if self._file.closed:
                return
            self._writer.writepkt_time(frame, now)
            self.packets += 1
            if self.flush_each:
                self._file.flush()

    def tap(self, direction: str, local: Address, peer: Address, data: bytes, now: float) -> None:
        """The transport hook: a datagram ``direction`` "in" from or "out" to ``peer``."""
        if direction == "in" and peer in self._locals:
            return  # written when that node of ours sent it
        me = self._real_local(local, peer)
        try:
            if direction == "out":
                self.write(now, me, peer, data)
            else:
                self.write(now, peer, me, data)
        except (OSError, ValueError) as exc:  # disk full, closed under us: stop, keep the node going
            log.warning("capture %s stopped: %s", self.path, exc)
            self.error = str(exc)
            self.close()

    def _real_local(self, local: Address, peer: Address) -> Address:
        """Our address as the peer sees it: a wildcard bind is resolved per peer host
        (the source address the kernel would choose; no packet is sent)."""
        host = local[0]
        if host not in ("0.0.0.0", "::", ""):
            return local
        src = self._sources.get(peer[0])
        if src is None:
            family = socket.AF_INET6 if ":" in peer[0] else socket.AF_INET
            try:
                with socket.socket(family, socket.SOCK_DGRAM) as probe:
                    probe.connect((peer[0], peer[1] or 9))
                    src = str(probe.getsockname()[0])
            except OSError:
                src = "127.0.0.1" if family == socket.AF_INET else "::1"
            if len(self._sources) >= 4096:
                self._sources.clear()
            self._sources[peer[0]] = src
        return (src, local[1])

    def flush(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file.closed:
                return
            self._file.flush()
            if self._owned:
                self._file.close()

    def __enter__(self) -> "CaptureWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

