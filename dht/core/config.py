"""Typed, validated configuration of a node, with the seed's defaults.

Every setting of apt-p2p's ``DHT_DEFAULTS`` is a field here under its original
name, plus our limits and the lookup soft timeout.  :meth:`Config.replace`
and construction validate; an invalid value raises :class:`ConfigError`
naming the setting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .store_settings import StoreSettings

#: The wire profiles a node may speak (see dht/wire/profiles.py).
PROFILES = ("khashmir", "mainline")

#: The largest value whose store_value query (20-byte transaction id, id, key
#: and token) still fits one 1472-byte datagram: 153 bytes go to the rest.
MAX_STORABLE_VALUE = 1319


@dataclass(frozen=True)
class Config:
    """Settings of one node.  Times are in seconds."""

    # --- wire profile ---
    PROFILE: str = "khashmir"
    """The wire spoken: "khashmir" (apt-p2p's KRPC, byte for byte) or "mainline"
    (BitTorrent's DHT: BEP 5, 33, 42, 43, 44, 51)."""
    READ_ONLY: bool = False
    """Mainline only (BEP 43): answer no query and mark ours ``ro: 1``, so that
    others never put us in their tables."""
    ENFORCE_NODE_ID: bool = False
    """Mainline only (BEP 42): keep out of the routing table nodes whose id does not
    match their IP (local and private addresses exempt; libtorrent's dht_enforce_node_id)."""
    EXTERNAL_ADDRESS_VOTES: int = 10
    """Mainline only (BEP 42): distinct responders that must report the same external
    address (their ``ip``) before we take it and derive our id from it."""
    TOKEN_INTERVAL: float = 300.0
    """Mainline only: seconds between token secret rotations (two kept, so a get_peers or
    get token is good for 5-10 minutes, as libtorrent's)."""
    STORES: StoreSettings = StoreSettings()
    """Mainline only: the peer, item and sample stores' caps (dht/core/store_settings.py)."""

    K: int = 8
    """Contacts per k-bucket."""
    HASH_LENGTH: int = 160
    """Bits in an id (SHA-1)."""
    CHECKPOINT_INTERVAL: float = 300.0
    """Seconds between checkpoints (randomised by +-10 %)."""
    CONCURRENT_REQS: int = 4
    """Requests a lookup keeps outstanding."""
    STORE_REDUNDANCY: int = 3
    """How many of the closest nodes a value is stored at."""
    RETRIEVE_VALUES: int = -10000
    """Values a get asks for: 0 all, negative: up to -n from the closest STORE_REDUNDANCY."""
    MAX_FAILURES: int = 3
    """Failed requests in a row after which a contact is removed."""
    MIN_PING_INTERVAL: float = 900.0
    """Least time between pings of a full bucket's oldest contact."""
    BUCKET_STALENESS: float = 3600.0
    """A bucket untouched this long is refreshed."""
    KEY_EXPIRE: float = 3600.0
    """Values older than this are deleted."""
    KRPC_TIMEOUT: float = 20.0
    """A request with no answer in this time fails."""
    SOFT_TIMEOUT_MIN: float = 0.05
    """Least soft timeout after which a lookup moves on from a silent contact."""
    SOFT_TIMEOUT_MAX: float = 2.0
    """Greatest soft timeout (used until round-trip times are measured)."""
    SOFT_RESENDS: int = 2
    """Times a lookup's request silent past its soft timeout is sent again, with the same
    transaction id (at the soft timeout, then after twice as long): on a lossy network a
    lost datagram is the likeliest silence (jech's dht, Transmission's, asks a node up to 3
    times).  0: never (libtorrent's and the seed's way); at most 4."""
    MAX_VALUE_SIZE: int = 1024
    """Largest value accepted by store_value, in bytes."""
    MAX_VALUES_PER_KEY: int = 100
    """Most values kept for one key."""
    MAX_VALUES: int = 100_000
    """Most values kept in all."""
    # --- storage ---
    MAX_VALUES_PER_IP: int = 1000
    """Most values kept from one publisher IP (1 % of MAX_VALUES).  When a key
    or the whole store is full, the oldest value of the IP holding the most
    there makes room for a store from an IP holding fewer; see dht/storage/fairness.py."""
    MAX_STORAGE_QUERIES: int = 256
    """get_value and store_value queries from the network being worked on at once (waiting
    for or on the storage thread); more are dropped unanswered, counted as "storage busy"
    (after libtorrent's bounded queues, e.g. max_queued_disk_bytes: a slow or locked disk
    cannot make a flood queue unbounded work).  Pings and find_node never wait for storage."""
    STORAGE_THREAD: bool = True
    """Run SQLite on the node's storage thread (dht/storage/worker.py).  False runs it on the
    event loop inside the receive path, as before issue 9: a baseline for bench_storage."""

    # --- routing table ---
    REPLACEMENTS_PER_BUCKET: int = 2
    """Contacts a full bucket keeps waiting for a place (libtorrent keeps a bucket's worth; two
    keep a lab node small: a cached contact costs ~250 bytes, a lab node caches ~9)."""
    MAX_PER_IP_IN_TABLE: int = 1
    """Contacts one IP address may have in the whole routing table, caches included
    (libtorrent's dht_restrict_routing_ips: 1).  Our own loopback address is exempt
    (a lab on one address); a huge value turns the rule off."""
    MAX_PER_SUBNET_IN_BUCKET: int = 1
    """Contacts of one /24 in one bucket, its cache included (libtorrent: 1).  Each
    loopback address counts as its own /24; a value of K or more turns the rule off."""
    MAX_VERIFY_PINGS: int = 16
    """Pings outstanding at once to verify nodes that joined through us (only a
    contact that has answered us is handed out in find_node and find_value answers)."""

    # --- politeness ---
    QUERY_BUDGET: float = 0.0
    """Queries a second this node may send (a token bucket, dht/core/budget.py); 0, the default, is
    no budget (a lab).  Over budget, queries wait their turn (FIFO) rather than fail.  On the
    public DHT a few dozen a second is polite (libtorrent sends about 5-20 while bootstrapping);
    ``Node.set_query_budget`` changes it at run time."""
    QUERY_BUDGET_BURST: int = 20
    """Queries this node may send at once under QUERY_BUDGET (its token bucket's depth).
    (Named so because QUERY_BURST is the per-IP budget of incoming datagrams.)"""

    # --- defences ---
    # Rate limits applied before decoding (dht/core/limits.py explains how they
    # work together), modelled on libtorrent's DHT settings.
    MAX_DATAGRAM_SIZE: int = 1472
    """Longest datagram read; longer ones are dropped unparsed (the protocol's UDP_PACKET_LIMIT)."""
    QUERY_RATE: float = 10.0
    """Datagrams a second one source IP may make us decode, sustained (its token bucket's refill)."""
    QUERY_BURST: int = 50
    """Datagrams one source IP may send at once (its token bucket's size)."""
    BLOCK_RATE: float = 50.0
    """Datagrams a second, over BLOCK_WINDOW, after which an IP is blocked (5 x QUERY_RATE;
    libtorrent's dht_block_ratelimit is 5)."""
    BLOCK_WINDOW: float = 10.0
    """Seconds over which BLOCK_RATE is counted (libtorrent: 10)."""
    BLOCK_DURATION: float = 300.0
    """Seconds an offending IP is ignored (libtorrent's dht_block_timeout: 300)."""
    REPLY_RATE_PER_IP: float = 5000.0
    """Bytes a second we answer one IP with, sustained; answers beyond it are not sent."""
    REPLY_BURST_PER_IP: int = 20000
    """Bytes we may answer one IP with at once (50 find_node answers)."""
    GLOBAL_QUERY_RATE: float = 1000.0
    """Datagrams a second all unsettled or heavy sources together may make us decode."""
    GLOBAL_QUERY_BURST: int = 2000
    """Burst of GLOBAL_QUERY_RATE."""
    GLOBAL_REPLY_RATE: float = 100000.0
    """Bytes a second we answer all unsettled or heavy sources with (libtorrent's
    dht_upload_rate_limit, one global budget, is 8000)."""
    GLOBAL_REPLY_BURST: int = 200000
    """Burst of GLOBAL_REPLY_RATE."""
    GLOBAL_EXPENSIVE_RATE: float = 100.0
    """Expensive answers (BEP 33 scrapes, BEP 44 puts) a second for all sources together,
    settled or not; beyond it they are dropped before any work (libtorrent has no such cap)."""
    GLOBAL_EXPENSIVE_BURST: int = 200
    """Burst of GLOBAL_EXPENSIVE_RATE."""
    SETTLE_SECONDS: float = 2.0
    """A source tracked this long whose query bucket is at least half full is settled:
    it does not draw on the global budgets."""
    LIMITS_MAX_PEERS: int = 10000
    """Source IPs whose budgets are tracked (least recently heard evicted first)."""
    LOOPBACK_LIMIT_FACTOR: float = 1.0
    """Loopback sources (127.0.0.0/8) get this many times every budget: 1 (the default)
    treats them as any host, as a lab whose nodes each have their own 127.x.y.z needs."""
    OWN_ADDRESS_LIMIT_FACTOR: float = 1_000_000.0
    """A node listening on a loopback address gives sources on that same address (this host's
    processes, e.g. lab nodes that must all share 127.0.0.1) this many times every budget;
    1 treats them as any host."""

    def __post_init__(self) -> None:
        if self.PROFILE not in PROFILES:
            raise ConfigError(f"PROFILE must be one of {', '.join(PROFILES)}, not {self.PROFILE!r}")
        for name in ("READ_ONLY", "ENFORCE_NODE_ID", "STORAGE_THREAD"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, not {getattr(self, name)!r}")
        if self.READ_ONLY and self.PROFILE != "mainline":
            raise ConfigError("READ_ONLY is a Mainline setting (BEP 43): it needs PROFILE mainline")
        if not isinstance(self.STORES, StoreSettings):
            raise ConfigError(f"STORES must be a StoreSettings, not {self.STORES!r}")
        for f in _NUMBERS:
            value = getattr(self, f.name)
            expected = float if f.type in ("float", float) else int
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{f.name} must be a number, not {value!r}")
            if expected is int and not isinstance(value, int):
                raise ConfigError(f"{f.name} must be an integer, not {value!r}")
            if value != value:  # NaN passes every comparison below
                raise ConfigError(f"{f.name} must be a number, not {value!r}")
        positive = [f.name for f in _NUMBERS if f.name not in ("RETRIEVE_VALUES", "QUERY_BUDGET", "SOFT_RESENDS")]
        if self.QUERY_BUDGET < 0 or self.QUERY_BUDGET == float("inf"):
            raise ConfigError(f"QUERY_BUDGET must be 0 (no budget) or positive and finite, not {self.QUERY_BUDGET!r}")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.HASH_LENGTH != 160:
            raise ConfigError(f"HASH_LENGTH must be 160 (SHA-1 ids), not {self.HASH_LENGTH!r}")
        if self.K < 2:
            raise ConfigError(f"K must be at least 2, not {self.K!r}")
        if not 0 <= self.SOFT_RESENDS <= 4:
            raise ConfigError(f"SOFT_RESENDS must be a whole number from 0 to 4, not {self.SOFT_RESENDS!r}")
        if self.SOFT_TIMEOUT_MIN > self.SOFT_TIMEOUT_MAX:
            raise ConfigError("SOFT_TIMEOUT_MIN must not exceed SOFT_TIMEOUT_MAX")
        if self.MAX_VALUE_SIZE > MAX_STORABLE_VALUE:
            raise ConfigError(
                f"MAX_VALUE_SIZE must be at most {MAX_STORABLE_VALUE} (a store must fit one "
                f"datagram), not {self.MAX_VALUE_SIZE!r}"
            )

    def replace(self, **changes: Any) -> "Config":
        """A copy with some settings changed; unknown names are refused."""
        names = {f.name for f in fields(self)}
        for name in changes:
            if name not in names:
                raise ConfigError(f"unknown setting {name}")
        return dataclasses.replace(self, **changes)


_NUMBERS = tuple(f for f in fields(Config) if f.type in ("int", "float", int, float))
