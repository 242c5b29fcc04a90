"""Packet captures: record a node's datagrams as pcapng, read any pcap or pcapng back.

Theory of operation.  A node's :class:`~dht.transport.KrpcTransport` has an
optional ``tap`` called with every datagram it sends or receives; a
:class:`CaptureWriter` attached to one or several nodes (``node.capture_to``,
``Lab(capture=...)``) frames each datagram as IPv4 (or IPv6) + UDP with its
real addresses and ports and appends it to a pcapng file as one Enhanced
Packet Block.  The link type is raw IP (LINKTYPE_RAW, 101): no made-up MAC
addresses, IPv4 and IPv6 alike, and Wireshark's ``bt-dht`` dissector decodes
the UDP payload (``-d udp.port==P,bt-dht`` or its heuristic).  The file is
flushed after every packet, so a process killed at any moment (SIGKILL)
leaves a file that ends with its last complete packet.  When several nodes
of one process share a writer, a datagram between two of them is written
once, when it is sent (as a capture on the loopback interface sees it).

:class:`CaptureReader` streams the UDP datagrams of a classic pcap (micro- or
nanosecond, either byte order) or pcapng file (any number of sections and
interfaces, per-interface link type and time resolution) whatever wrote it:
us, tcpdump, tshark, Wireshark.  Link types: Ethernet (VLAN tags too), Linux
cooked capture v1 and v2, raw IP, raw IPv4/IPv6 and BSD loopback; IPv4 and
IPv6.  Anything else (another link type, ARP, TCP, ICMP, IP fragments, a
datagram cut short by the snap length) is skipped and counted by reason.
It reads one block at a time, so memory does not grow with the file, and
:meth:`CaptureReader.tell` gives a position a new reader can resume from
(the timeline of the explorer seeks with it).  A truncated or corrupt file
raises :class:`CaptureError` after every packet before the damage was
yielded.

:func:`krpc_message` is the per-packet test "is this KRPC": a bencoded dict
with a string ``t`` and ``y`` one of ``q``/``r``/``e``; it holds for both
wire profiles (Khashmir and Mainline).  :class:`KrpcDecoder` turns
datagrams into :class:`CapturedMessage` rows and pairs each response or
error with its query by transaction id and the two addresses, which gives
the method of an answer and its round-trip time.

The file formats themselves (block and header layouts, IP/UDP/Ethernet/SLL
parsing, checksums) are dpkt's; this module only walks the blocks so that it
can seek, keep every interface and say where a file is damaged.  One hot
path is read with :mod:`struct` instead of dpkt objects, five times faster:
a little-endian Enhanced Packet Block and a plain IPv4/UDP packet (no IP
options, not fragmented, whole), raw or after an Ethernet header; a test
checks it against dpkt, which reads everything else.  KRPC is decoded with
bencode2 (C), falling back to bencode.py for dicts whose keys are out of
order (which the nodes accept).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Literal, NamedTuple

import bencode2
import bencodepy
import dpkt
from dpkt import pcap as _pcap
from dpkt import pcapng as _ng

from .contact import Address
from .errors import LocalError

log = logging.getLogger(__name__)

#: Link types (tcpdump.org's LINKTYPE_ numbers, as stored in files).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
#: Raw IP as some systems number it in classic pcap files (DLT_RAW 12 / 14).
_RAW_ALIASES = frozenset({LINKTYPE_RAW, 12, 14, LINKTYPE_IPV4, LINKTYPE_IPV6})

#: The link type we write: raw IP (IPv4 or IPv6, told apart by the version nibble).
WRITE_LINKTYPE = LINKTYPE_RAW
SNAPLEN = 65535
#: A pcapng block longer than this is taken as corruption, not read.
MAX_BLOCK = 16 * 1024 * 1024
#: Queries remembered for pairing by :class:`KrpcDecoder` (oldest forgotten first).
PENDING_LIMIT = 100_000

Direction = Literal["in", "out"]

_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_NG_BOM_LE = b"\x4d\x3c\x2b\x1a"
_NG_BOM_BE = b"\x1a\x2b\x3c\x4d"
_BT_SHB, _BT_IDB, _BT_PB, _BT_SPB, _BT_EPB = 0x0A0D0D0A, 1, 2, 3, 6
_EPB_LE = struct.Struct("<IIIII")  # interface, timestamp high/low, captured and wire length
_IPV4_UDP = struct.Struct("!BxHxxHxB2x4s4sHHH")  # version+IHL, length, flags+offset, protocol, src, dst; ports, length
_IPV4_NAMES: dict[bytes, str] = {}


class CaptureError(LocalError):
    """A capture file that cannot be read (empty, not a capture, truncated, corrupt).

    ``packets`` is how many packets were read before the damage.
    """

    def __init__(self, message: str, packets: int = 0) -> None:
        super().__init__(message)
        self.packets = packets


# --- writing --------------------------------------------------------------

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
    flushing to the buffer (for writing synthetic captures fast).
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

    @property
    def closed(self) -> bool:
        return self._file.closed

    def add_local(self, address: Address) -> None:
        """A node writing here listens on ``address``: datagrams it receives from
        another such node are not written again (the sender wrote them)."""
        self._locals.add(address)

    def write(self, now: float, src: Address, dst: Address, data: bytes) -> None:
        """One datagram at wall-clock time ``now`` (seconds since the epoch)."""
        if self._file.closed:
            return
        self._writer.writepkt_time(frame_udp(src, dst, data), now)
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
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.flush()
        if self._owned:
            self._file.close()

    def __enter__(self) -> "CaptureWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- reading --------------------------------------------------------------

class CapturedDatagram(NamedTuple):
    """One UDP datagram of a capture: wall-clock ``time``, addresses, payload."""

    time: float
    src: Address
    dst: Address
    data: bytes


@dataclass(frozen=True, slots=True)
class _Interface:
    linktype: int
    divisor: float  # timestamp units per second
    offset: int  # seconds added to every timestamp (if_tsoffset)


@dataclass(frozen=True, slots=True)
class CapturePosition:
    """Where a :class:`CaptureReader` was: give it to a new reader to go on from there."""

    offset: int  # byte offset of the next block or record
    packets: int  # packets read before it
    little: bool
    interfaces: tuple[_Interface, ...]  # pcapng: the section's interfaces; pcap: one


class CaptureReader:
    """The UDP datagrams of a pcap or pcapng file, one at a time.

    Counters: :attr:`packets` (every packet record), :attr:`datagrams`
    (UDP datagrams yielded) and :attr:`skipped` (reason -> count).
    """

    def __init__(self, path: str | Path, position: CapturePosition | None = None) -> None:
        self.path = str(path)
        self.name = os.path.basename(self.path)
        try:
            self._file: BinaryIO = open(path, "rb")
        except OSError as exc:
            raise CaptureError(f"{self.name}: {exc.strerror or exc}") from None
        self.size = os.fstat(self._file.fileno()).st_size
        self.packets = 0
        self.datagrams = 0
        self.skipped: dict[str, int] = {}
        self._interfaces: list[_Interface] = []
        self._little = True
        try:
            head = self._file.read(4)
            if not head:
                raise CaptureError(f"{self.name}: empty file")
            self.format = "pcapng" if head == _PCAPNG_MAGIC else "pcap"
            if self.format == "pcap":
                self._open_pcap(head)
            if position is not None:
                self._file.seek(position.offset)
                self.packets = position.packets
                self._little = position.little
                self._interfaces = list(position.interfaces)
            else:
                self._file.seek(0)
                if self.format == "pcap":
                    self._file.seek(_pcap.FileHdr.__hdr_len__)
        except BaseException:
            self._file.close()
            raise

    # -- classic pcap header ----------------------------------------------

    def _open_pcap(self, head: bytes) -> None:
        buf = head + self._file.read(_pcap.FileHdr.__hdr_len__ - 4)
        if len(buf) < _pcap.FileHdr.__hdr_len__:
            if head in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
                raise CaptureError(f"{self.name}: truncated pcap header")
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture")
        magic_le = struct.unpack("<I", buf[:4])[0]
        magic_be = struct.unpack(">I", buf[:4])[0]
        micro, nano = _pcap.TCPDUMP_MAGIC, _pcap.TCPDUMP_MAGIC_NANO
        if magic_le in (micro, nano):
            self._little, magic = True, magic_le
        elif magic_be in (micro, nano):
            self._little, magic = False, magic_be
        else:
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture")
        header = (_pcap.LEFileHdr if self._little else _pcap.FileHdr)(buf)
        self._interfaces = [_Interface(header.linktype, 1e9 if magic == nano else 1e6, 0)]
        self._pcap_record = struct.Struct("<IIII" if self._little else ">IIII")

    # -- iteration --------------------------------------------------------

    def tell(self) -> CapturePosition:
        return CapturePosition(self._file.tell(), self.packets, self._little, tuple(self._interfaces))

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CaptureReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def __iter__(self) -> Iterator[CapturedDatagram]:
        records = self._pcap_records() if self.format == "pcap" else self._pcapng_records()
        for ts, linktype, frame, wire_len in records:
            self.packets += 1
            datagram = self._udp(ts, linktype, frame, wire_len)
            if datagram is not None:
                self.datagrams += 1
                yield datagram

    def _damaged(self, what: str) -> CaptureError:
        return CaptureError(
            f"{self.name}: {what} at byte {self._file.tell():,} (after {self.packets:,} packets)",
            self.packets,
        )

    def _pcap_records(self) -> Iterator[tuple[float, int, bytes, int]]:
        read = self._file.read
        record = self._pcap_record
        iface = self._interfaces[0]
        linktype, divisor = iface.linktype, iface.divisor
        while True:
            head = read(16)
            if not head:
                return
            if len(head) < 16:
                raise self._damaged("truncated packet header")
            sec, frac, caplen, wire_len = record.unpack(head)
            if caplen > MAX_BLOCK:
                raise self._damaged(f"corrupt packet header (length {caplen:,})")
            frame = read(caplen)
            if len(frame) < caplen:
                raise self._damaged("truncated packet")
            yield sec + frac / divisor, linktype, frame, wire_len

    def _pcapng_records(self) -> Iterator[tuple[float, int, bytes, int]]:
        read = self._file.read
        while True:
            head = read(8)
            if not head:
                return
            if len(head) < 8:
                raise self._damaged("truncated block")
            if head[:4] == _PCAPNG_MAGIC:  # a new section: byte order, interfaces anew
                bom = read(4)
                if bom == _NG_BOM_LE:
                    self._little = True
                elif bom == _NG_BOM_BE:
                    self._little = False
                else:
                    raise self._damaged("corrupt section header" if len(bom) == 4 else "truncated block")
                head += bom
                self._interfaces = []
            order = "<" if self._little else ">"
            kind, length = struct.unpack(order + "II", head[:8])
            if length < 12 or length % 4 or length > MAX_BLOCK:
                raise self._damaged(f"corrupt block (length {length:,})")
            body = read(length - len(head))
            if len(body) < length - len(head):
                raise self._damaged("truncated block")
            buf = head + body
            if buf[-4:] != head[4:8]:
                raise self._damaged("corrupt block (lengths differ)")
            try:
                if kind == _BT_EPB or kind == _BT_PB:
                    yield self._packet_block(kind, buf)
                elif kind == _BT_IDB:
                    self._interface_block(buf)
                elif kind == _BT_SPB:
                    self.packets += 1
                    self._skip("simple packet block (no time)")
                elif kind == _BT_SHB:
                    (_ng.SectionHeaderBlockLE if self._little else _ng.SectionHeaderBlock)(buf)
            except (dpkt.UnpackError, struct.error, ValueError, IndexError) as exc:
                raise self._damaged(f"corrupt block ({exc or type(exc).__name__})") from None

    def _interface_block(self, buf: bytes) -> None:
        idb = (_ng.InterfaceDescriptionBlockLE if self._little else _ng.InterfaceDescriptionBlock)(buf)
        divisor, offset = 1e6, 0
        for opt in idb.opts:
            if opt.code == _ng.PCAPNG_OPT_IF_TSRESOL and opt.data:
                value = opt.data[0]
                divisor = float(2 ** (value & 0x7F) if value & 0x80 else 10 ** (value & 0x7F))
            elif opt.code == _ng.PCAPNG_OPT_IF_TSOFFSET and len(opt.data) == 8:
                offset = struct.unpack(("<" if self._little else ">") + "q", opt.data)[0]
        self._interfaces.append(_Interface(idb.linktype, divisor, offset))

    def _packet_block(self, kind: int, buf: bytes) -> tuple[float, int, bytes, int]:
        if kind == _BT_EPB and self._little:  # the common case, without building a dpkt block
            iface_id, ts_high, ts_low, caplen, wire_len = _EPB_LE.unpack_from(buf, 8)
            if iface_id < len(self._interfaces) and 32 + caplen <= len(buf):
                iface = self._interfaces[iface_id]
                ts = iface.offset + ((ts_high << 32) | ts_low) / iface.divisor
                return ts, iface.linktype, buf[28:28 + caplen], wire_len
        if kind == _BT_EPB:
            block: Any = (_ng.EnhancedPacketBlockLE if self._little else _ng.EnhancedPacketBlock)(buf)
        else:
            block = (_ng.PacketBlockLE if self._little else _ng.PacketBlock)(buf)
        iface_id = block.iface_id
        if iface_id >= len(self._interfaces):
            raise ValueError(f"packet of undeclared interface {iface_id}")
        iface = self._interfaces[iface_id]
        ts = iface.offset + ((block.ts_high << 32) | block.ts_low) / iface.divisor
        return ts, iface.linktype, block.pkt_data, block.pkt_len

    # -- link and network layers --------------------------------------------

    def _udp(self, ts: float, linktype: int, frame: bytes, wire_len: int) -> CapturedDatagram | None:
        fast = _fast_ipv4_udp(ts, frame, 0) if linktype in _RAW_ALIASES else (
            _fast_ipv4_udp(ts, frame, 14) if linktype == LINKTYPE_ETHERNET and frame[12:14] == b"\x08\x00" else None)
        if fast is not None:
            return fast
        return self._dpkt_udp(ts, linktype, frame)

    def _dpkt_udp(self, ts: float, linktype: int, frame: bytes) -> CapturedDatagram | None:
        try:
            ip: Any
            if linktype in _RAW_ALIASES:
                version = frame[0] >> 4 if frame else 0
                ip = dpkt.ip.IP(frame) if version == 4 else dpkt.ip6.IP6(frame) if version == 6 else None
            elif linktype == LINKTYPE_ETHERNET:
                ip = dpkt.ethernet.Ethernet(frame).data
            elif linktype == LINKTYPE_LINUX_SLL:
                ip = dpkt.sll.SLL(frame).data
            elif linktype == LINKTYPE_LINUX_SLL2:
                ip = dpkt.sll2.SLL2(frame).data
            elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
                ip = dpkt.loopback.Loopback(frame).data
            else:
                self._skip(f"link type {linktype}")
                return None
        except (dpkt.UnpackError, IndexError, struct.error, ValueError):
            self._skip("malformed frame")
            return None
        if isinstance(ip, dpkt.ip.IP):
            if ip.mf or ip.offset:
                self._skip("IP fragment")
                return None
            src, dst = socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)
        elif isinstance(ip, dpkt.ip6.IP6):
            src = socket.inet_ntop(socket.AF_INET6, ip.src)
            dst = socket.inet_ntop(socket.AF_INET6, ip.dst)
        else:
            self._skip("not IP")
            return None
        udp = ip.data
        if not isinstance(udp, dpkt.udp.UDP):
            self._skip("not UDP")
            return None
        data = udp.data
        if udp.ulen - 8 != len(data):
            if udp.ulen - 8 > len(data):
                self._skip("cut short (snap length)")
                return None
            data = data[: max(0, udp.ulen - 8)]  # link-layer padding
        return CapturedDatagram(ts, (src, udp.sport), (dst, udp.dport), bytes(data))


def _fast_ipv4_udp(ts: float, frame: bytes, at: int) -> CapturedDatagram | None:
    """The plain case read directly: IPv4 without options, not fragmented, UDP, whole.

    Anything else returns None and goes through dpkt (which a test checks this
    against); it is the one hot path of reading a big capture.
    """
    if len(frame) < at + 28:
        return None
    vhl, length, frag, proto, src, dst, sport, dport, ulen = _IPV4_UDP.unpack_from(frame, at)
    if vhl != 0x45 or proto != 17 or frag & 0x3FFF or ulen < 8 or length != ulen + 20:
        return None
    end = at + 20 + ulen
    if end > len(frame):
        return None
    names = _IPV4_NAMES
    src_text = names.get(src)
    if src_text is None:
        if len(names) > 65_536:
            names.clear()
        src_text = names[src] = socket.inet_ntoa(src)
    dst_text = names.get(dst)
    if dst_text is None:
        dst_text = names[dst] = socket.inet_ntoa(dst)
    return CapturedDatagram(ts, (src_text, sport), (dst_text, dport), frame[at + 28:end])


# --- KRPC ------------------------------------------------------------------

def krpc_message(data: bytes) -> dict[bytes, Any] | None:
    """The decoded message when ``data`` is KRPC (either profile), else None.

    KRPC here is what both wire profiles share: one bencoded dict with a
    string ``t`` and a ``y`` of ``q``, ``r`` or ``e``.
    """
    if len(data) < 12 or data[0] != 0x64 or data[-1] != 0x65:  # "d" ... "e"
        return None
    try:
        msg = bencode2.bdecode(data)  # strict and fast (C)
    except Exception:
        try:  # keys out of order, as some clients send: what the nodes themselves accept
            msg = bencodepy.decode(data)
        except Exception:  # bencodepy raises several types on bad input
            return None
    if not isinstance(msg, dict) or not isinstance(msg.get(b"t"), bytes):
        return None
    if msg.get(b"y") not in (b"q", b"r", b"e"):
        return None
    return msg


class CapturedMessage(NamedTuple):
    """One KRPC message of a capture.

    ``method`` is the query's method; for a response or error, that of the
    query it answers ("" when that query is not in the capture).  ``rtt`` is
    set on an answer paired with its query; ``seq`` counts messages from 0.
    """

    seq: int
    time: float
    src: Address
    dst: Address
    kind: str  # "q", "r" or "e"
    method: str
    tid: bytes
    size: int
    message: dict[bytes, Any]
    rtt: float | None = None
    error_code: int | None = None

    def record(self) -> dict[str, Any]:
        """A JSON-friendly summary (what ``dht decode --json`` prints)."""
        return {
            "time": round(self.time, 6), "src": format_address(self.src), "dst": format_address(self.dst),
            "type": self.kind, "method": self.method, "tid": self.tid.hex(), "size": self.size,
            "rtt": None if self.rtt is None else round(self.rtt, 6), "error": self.error_code,
        }


def format_address(address: Address) -> str:
    host = address[0]
    return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"


class KrpcDecoder:
    """Datagrams to :class:`CapturedMessage` rows, answers paired with queries.

    A query is remembered (at most :data:`PENDING_LIMIT`, oldest forgotten
    first) under (requester, responder, tid) until its answer comes.
    """

    def __init__(self, pending_limit: int = PENDING_LIMIT) -> None:
        self.messages = 0
        self.pairs = 0
        self.not_krpc = 0
        self._limit = pending_limit
        self._pending: dict[tuple[Address, Address, bytes], tuple[float, str]] = {}

    def feed(self, datagram: CapturedDatagram) -> CapturedMessage | None:
        msg = krpc_message(datagram.data)
        if msg is None:
            self.not_krpc += 1
            return None
        tid: bytes = msg[b"t"]
        kind = msg[b"y"].decode()
        rtt: float | None = None
        code: int | None = None
        if kind == "q":
            q = msg.get(b"q")
            method = q.decode("latin-1") if isinstance(q, bytes) else ""
            pending = self._pending
            if len(pending) >= self._limit:
                del pending[next(iter(pending))]
            pending[(datagram.src, datagram.dst, tid)] = (datagram.time, method)
        else:
            asked = self._pending.pop((datagram.dst, datagram.src, tid), None)
            if asked is None:
                method = ""
            else:
                method = asked[1]
                rtt = max(0.0, datagram.time - asked[0])
                self.pairs += 1
            if kind == "e":
                err = msg.get(b"e")
                if isinstance(err, list) and err and isinstance(err[0], int):
                    code = err[0]
        self.messages += 1
        return CapturedMessage(self.messages - 1, datagram.time, datagram.src, datagram.dst, kind, method,
                               tid, len(datagram.data), msg, rtt, code)

    def unanswered(self) -> int:
        return len(self._pending)


def capture_summary(reader: CaptureReader, decoder: KrpcDecoder) -> str:
    """``N messages, P pairs, S skipped packets`` (and the reasons)."""
    skipped = reader.skipped_total + decoder.not_krpc
    text = f"{decoder.messages:,} messages, {decoder.pairs:,} pairs, {skipped:,} skipped packets"
    reasons = dict(reader.skipped)
    if decoder.not_krpc:
        reasons["not KRPC"] = decoder.not_krpc
    if reasons:
        text += " (" + ", ".join(f"{r}: {n:,}" for r, n in sorted(reasons.items())) + ")"
    return text


def read_messages(path: str | Path) -> Iterator[CapturedMessage]:
    """Every KRPC message of a capture, paired; raises CaptureError at damage."""
    decoder = KrpcDecoder()
    with CaptureReader(path) as reader:
        for datagram in reader:
            message = decoder.feed(datagram)
            if message is not None:
                yield message
