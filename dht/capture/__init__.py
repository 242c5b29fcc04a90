"""Packet captures: record a node's datagrams as pcapng, read any pcap or pcapng back.

Three modules, read in this order:

* :mod:`.writer`: :class:`CaptureWriter`, the transport's tap that records
  what one or several nodes send and receive as a pcapng file of raw IP
  packets (flushed per packet, each datagram between two of our nodes once);
* :mod:`.reader`: :class:`CaptureReader`, the UDP datagrams of any pcap or
  pcapng file with their link layers (dpkt's formats), resumable from a
  :class:`CapturePosition`, damage raised as :class:`CaptureError`;
* :mod:`.messages`: :func:`krpc_message` (is this datagram KRPC) and
  :class:`KrpcDecoder`, which pairs answers with their queries.

Every name is re-exported here: ``from dht.capture import X`` is the way in.
"""

from .messages import (
    PENDING_LIMIT, CapturedMessage, KrpcDecoder, capture_summary, format_address, krpc_message, read_messages,
)
from .reader import (
    LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP,
    LINKTYPE_NULL, LINKTYPE_RAW, MAX_BLOCK, CapturedDatagram, CaptureError, CapturePosition, CaptureReader,
)
from .writer import SNAPLEN, WRITE_LINKTYPE, CaptureWriter, frame_udp

__all__ = [
    "LINKTYPE_ETHERNET", "LINKTYPE_IPV4", "LINKTYPE_IPV6", "LINKTYPE_LINUX_SLL", "LINKTYPE_LINUX_SLL2",
    "LINKTYPE_LOOP", "LINKTYPE_NULL", "LINKTYPE_RAW", "MAX_BLOCK", "PENDING_LIMIT", "SNAPLEN", "WRITE_LINKTYPE",
    "CaptureError", "CapturePosition", "CaptureReader", "CaptureWriter", "CapturedDatagram", "CapturedMessage",
    "KrpcDecoder", "capture_summary", "format_address", "frame_udp", "krpc_message", "read_messages",
]
