"""An asyncio port of Khashmir, the Kademlia DHT of apt-p2p, that also speaks Mainline.

It speaks apt-p2p's KRPC protocol exactly (bencoded dicts over UDP) by
default, and BitTorrent's Mainline DHT with ``Config(PROFILE="mainline")``
(:data:`PROFILES`).  The public API is :class:`Node`, :class:`Lab`, :class:`Config`, packet captures (:mod:`dht.capture`), the events of
:mod:`dht.core.events` and the errors of :mod:`dht.core.errors`; see docs/dht-api.md.
This package never imports Qt.
"""

from .khashmir.lookups import StoreResult
from .mainline.lookups import FoundItem, MutablePut, PeersFound, Sampling, immutable_item_target
from .capture import (
    CaptureError, CapturePosition, CaptureReader, CaptureWriter, CapturedMessage, KrpcDecoder, capture_summary,
)
from .lab.conditions import Conditions
from .core.estimate import estimate_network_size
from .core.config import PROFILES, Config
from .mainline.handlers import PUBLIC_ROUTERS
from .core.contact import Contact, parse_address
from .core.family import FAMILIES
from .rpc.resolve import resolve_address
from .mainline.keys import load_key, load_or_create_key
from .core.khash import info_hash_from_text, key_from_text
from .lab.lab import Lab
from .lab.truth import LabTruth
from .lab.thread import LabNodeInfo, LabThread, NodeView
from .lab.procs import LabProcesses
from .node.facade import Node
from .crawl import Census, CensusDiff, CrawledNode, CrawlSpec, Suspicion
from .core.table_info import BucketInfo, ContactInfo
from .core.stats import MethodStats, StatsSnapshot
from .storage import StoredValueInfo
from .mainline.stores.items import StoredItemInfo
from .mainline.stores.peers import StoredPeerInfo
from .wire.bep44 import mutable_target, public_key_bytes
from .wire.common import (
    BEP42, CLIENT_VERSION, IPV6, ITEMS, PEERS, PUBLIC_NETWORK, SAMPLES, VALUES, ClientVersion, decode_client_version,
)
from .wire.profiles import profile_features

__all__ = [
    "BucketInfo", "CaptureError", "CapturePosition", "CaptureReader", "CaptureWriter", "CapturedMessage",
    "KrpcDecoder", "capture_summary", "ClientVersion", "Conditions", "Config", "Contact", "ContactInfo",
    "FoundItem", "Lab", "LabNodeInfo", "LabThread", "MethodStats", "MutablePut", "Node", "NodeView",
    "PeersFound", "PROFILES", "PUBLIC_ROUTERS", "Sampling", "StatsSnapshot", "StoreResult", "StoredItemInfo",
    "StoredPeerInfo", "StoredValueInfo", "estimate_network_size",
    "decode_client_version", "immutable_item_target", "info_hash_from_text", "key_from_text", "load_key",
    "load_or_create_key", "mutable_target", "parse_address", "public_key_bytes", "resolve_address",
    "Census", "CensusDiff", "CrawledNode", "CrawlSpec", "LabTruth", "Suspicion",
    "BEP42", "CLIENT_VERSION", "FAMILIES", "IPV6", "ITEMS", "PEERS", "PUBLIC_NETWORK", "SAMPLES", "VALUES", "profile_features",
    "LabProcesses",
]
