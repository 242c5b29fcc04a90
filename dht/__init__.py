"""An asyncio port of Khashmir, the Kademlia DHT of apt-p2p.

It speaks apt-p2p's KRPC protocol exactly (bencoded dicts over UDP).  The
public API is :class:`Node`, :class:`Lab`, :class:`Config`, packet captures (:mod:`dht.capture`), the events of
:mod:`dht.events` and the errors of :mod:`dht.errors`; see docs/dht-api.md.
This package never imports Qt.
"""

from .actions import StoreResult
from .capture import (
    CaptureError, CapturePosition, CaptureReader, CaptureWriter, CapturedMessage, KrpcDecoder, capture_summary,
)
from .conditions import Conditions
from .config import Config
from .contact import Contact, parse_address, resolve_address
from .khash import key_from_text
from .lab import Lab
from .lab_thread import LabNodeInfo, LabThread, NodeView
from .node import BucketInfo, ContactInfo, Node
from .stats import MethodStats, StatsSnapshot
from .storage import StoredValueInfo

__all__ = [
    "BucketInfo", "CaptureError", "CapturePosition", "CaptureReader", "CaptureWriter", "CapturedMessage",
    "KrpcDecoder", "capture_summary", "Conditions", "Config", "Contact", "ContactInfo", "Lab", "LabNodeInfo",
    "LabThread", "MethodStats", "Node", "NodeView", "StatsSnapshot", "StoreResult", "StoredValueInfo",
    "key_from_text", "parse_address", "resolve_address",
]
