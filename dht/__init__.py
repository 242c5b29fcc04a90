"""An asyncio port of Khashmir, the Kademlia DHT of apt-p2p, that also speaks Mainline.

It speaks apt-p2p's KRPC protocol exactly (bencoded dicts over UDP) by
default, and BitTorrent's Mainline DHT with ``Config(PROFILE="mainline")``
(:data:`PROFILES`).  The public API is :class:`Node`, :class:`Lab`, :class:`Config`, packet captures (:mod:`dht.capture`), the events of
:mod:`dht.events` and the errors of :mod:`dht.errors`; see docs/dht-api.md.
This package never imports Qt.
"""

from .actions import StoreResult
from .actions_mainline import FoundItem, MutablePut, PeersFound
from .capture import (
    CaptureError, CapturePosition, CaptureReader, CaptureWriter, CapturedMessage, KrpcDecoder, capture_summary,
)
from .conditions import Conditions
from .config import PROFILES, Config
from .handlers_mainline import PUBLIC_ROUTERS
from .contact import Contact, parse_address, resolve_address
from .khash import key_from_text
from .lab import Lab
from .lab_thread import LabNodeInfo, LabThread, NodeView
from .node import Node
from .table_info import BucketInfo, ContactInfo
from .stats import MethodStats, StatsSnapshot
from .storage import StoredValueInfo
from .wire.common import ClientVersion, decode_client_version

__all__ = [
    "BucketInfo", "CaptureError", "CapturePosition", "CaptureReader", "CaptureWriter", "CapturedMessage",
    "KrpcDecoder", "capture_summary", "ClientVersion", "Conditions", "Config", "Contact", "ContactInfo",
    "FoundItem", "Lab", "LabNodeInfo", "LabThread", "MethodStats", "MutablePut", "Node", "NodeView",
    "PeersFound", "PROFILES", "PUBLIC_ROUTERS", "StatsSnapshot", "StoreResult", "StoredValueInfo",
    "decode_client_version", "key_from_text", "parse_address", "resolve_address",
]
