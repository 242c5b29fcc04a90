"""Reading: the UDP datagrams of any pcap or pcapng file, one block at a time.

Theory of operation.  :class:`CaptureReader` streams the UDP datagrams of a
classic pcap (micro- or nanosecond, either byte order) or pcapng file (any
number of sections and interfaces, per-interface link type and time
resolution) whatever wrote it: us, tcpdump, tshark, Wireshark.  Link types:
Ethernet (VLAN tags too), Linux cooked capture v1 and v2, raw IP, raw
IPv4/IPv6 and BSD loopback; IPv4 and IPv6.  Anything else (another link
type, ARP, TCP, ICMP, IP fragments, a datagram cut short by the snap length)
is skipped and counted by reason.  It reads one block at a time, so memory
does not grow with the file, and :meth:`CaptureReader.tell` gives a position
a new reader can resume from (the timeline of the explorer seeks with it).
A truncated or corrupt file raises :class:`CaptureError` after every packet
before the damage was yielded.

The file formats themselves (block and header layouts, IP/UDP/Ethernet/SLL
parsing, checksums) are dpkt's; this module only walks the blocks so that it
can seek, keep every interface and say where a file is damaged.  Every
packet block and frame goes through dpkt objects.  A hand-written
:mod:`struct` reading of the common case (little-endian EPB, plain
IPv4/UDP) was once here; it read about three times faster, but dpkt alone
decodes 1,000,000 datagrams in about 8 s and the explorer opens them in
about 12 s on 2 cores, well within the 30 s it must (bench/bench_capture.py).
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator, NamedTuple

import dpkt
from dpkt import pcap as _pcap
from dpkt import pcapng as _ng

from ..core.contact import Address
from ..core.errors import LocalError

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

#: A pcapng block longer than this is taken as corruption, not read.
MAX_BLOCK = 16 * 1024 * 1024

_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_NG_BOM_LE = b"\x4d\x3c\x2b\x1a"
_NG_BOM_BE = b"\x1a\x2b\x3c\x4d"
_BT_SHB, _BT_IDB, _BT_PB, _BT_SPB, _BT_EPB = 0x0A0D0D0A, 1, 2, 3, 6


class CaptureError(LocalError):
    """A capture file that cannot be read (empty, not a capture, truncated, corrupt).

    ``packets`` is how many packets were read before the damage.
    """

    def __init__(self, message: str, packets: int = 0) -> None:
        super().__init__(message)
        self.packets = packets


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
        for ts, linktype, frame in records:
            self.packets += 1
            datagram = self._udp(ts, linktype, frame)
            if datagram is not None:
                self.datagrams += 1
                yield datagram

    def _damaged(self, what: str) -> CaptureError:
        return CaptureError(
            f"{self.name}: {what} at byte {self._file.tell():,} (after {self.packets:,} packets)",
            self.packets,
        )

    def _pcap_records(self) -> Iterator[tuple[float, int, bytes]]:
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
            sec, frac, caplen, _wire_len = record.unpack(head)
            if caplen > MAX_BLOCK:
                raise self._damaged(f"corrupt packet header (length {caplen:,})")
            frame = read(caplen)
            if len(frame) < caplen:
                raise self._damaged("truncated packet")
            yield sec + frac / divisor, linktype, frame

    def _pcapng_records(self) -> Iterator[tuple[float, int, bytes]]:
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

    def _packet_block(self, kind: int, buf: bytes) -> tuple[float, int, bytes]:
        if kind == _BT_EPB:
            block: Any = (_ng.EnhancedPacketBlockLE if self._little else _ng.EnhancedPacketBlock)(buf)
        else:
            block = (_ng.PacketBlockLE if self._little else _ng.PacketBlock)(buf)
        iface_id = block.iface_id
        if iface_id >= len(self._interfaces):
            raise ValueError(f"packet of undeclared interface {iface_id}")
        iface = self._interfaces[iface_id]
        ts = iface.offset + ((block.ts_high << 32) | block.ts_low) / iface.divisor
        return ts, iface.linktype, block.pkt_data

    # -- link and network layers --------------------------------------------

    def _udp(self, ts: float, linktype: int, frame: bytes) -> CapturedDatagram | None:
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

