"""The limits of the Mainline stores, as one frozen dataclass.

Every count that a peer's traffic can grow is capped here.  Names and
defaults follow libtorrent's ``settings_pack`` where it has the setting
(libtorrent 2.1 defaults in brackets when ours differ):

=================================  ========  ==========================================
setting                            default   meaning
=================================  ========  ==========================================
dht_max_torrents                   2000      info-hashes with peers kept
dht_max_peers                      500       peers kept per info-hash
dht_max_peers_total                100000    peers kept in all (ours: libtorrent has none)
dht_max_peers_reply                100       peers in one get_peers answer (IPv6: a quarter)
dht_max_peers_per_ip               200       peers one IP holds in the whole store (ours: a tenth of
                                             dht_max_torrents; libtorrent has none)
dht_peer_lifetime                  2700 s    an announce is kept this long (libtorrent: 1.5 x
                                             its 30-minute announce interval, fixed)
dht_max_dht_items                  700       BEP 44 items kept, per kind (immutable, mutable)
dht_max_items_per_ip               70        BEP 44 items of a kind one IP holds (ours: a tenth of
                                             dht_max_dht_items; libtorrent has none)
dht_item_lifetime                  7200 s    an item not put again is dropped after this
                                             (BEP 44's two hours) [0: never]
dht_max_item_announcers            64        distinct IPs counted per item (its popularity)
dht_sample_infohashes_interval     21600 s   BEP 51 ``interval``: a sample is reused this long
dht_max_infohashes_sample_count    20        info-hashes in one sample (at most 20, libtorrent's
                                             clamp: 400 bytes in a datagram)
dht_max_sample_backoffs            4096      nodes whose ``interval`` we remember when asking
=================================  ========  ==========================================

An IP that holds its share (``dht_max_peers_per_ip``, ``dht_max_items_per_ip``)
and stores a new entry loses its own oldest (peers) or least important
(items) entry; when a store is full, who makes room is decided by
:mod:`dht.core.fairness`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .errors import ConfigError

MAX_SAMPLE_INTERVAL = 21600  # BEP 51: 0 to 6 hours
MAX_SAMPLE_COUNT = 20


@dataclass(frozen=True)
class StoreSettings:
    dht_max_torrents: int = 2000
    dht_max_peers: int = 500
    dht_max_peers_total: int = 100_000
    dht_max_peers_reply: int = 100
    dht_max_peers_per_ip: int = 200
    dht_peer_lifetime: float = 2700.0
    dht_max_dht_items: int = 700
    dht_max_items_per_ip: int = 70
    dht_item_lifetime: float = 7200.0
    dht_max_item_announcers: int = 64
    dht_sample_infohashes_interval: int = 21600
    dht_max_infohashes_sample_count: int = 20
    dht_max_sample_backoffs: int = 4096

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{f.name} must be a non-negative number, not {value!r}")
        if not self.dht_sample_infohashes_interval <= MAX_SAMPLE_INTERVAL:
            raise ConfigError(f"dht_sample_infohashes_interval must be 0-{MAX_SAMPLE_INTERVAL} s (BEP 51)")
        if not self.dht_max_infohashes_sample_count <= MAX_SAMPLE_COUNT:
            raise ConfigError(f"dht_max_infohashes_sample_count must be at most {MAX_SAMPLE_COUNT}")
        for name in ("dht_max_torrents", "dht_max_peers", "dht_max_peers_total", "dht_max_dht_items",
                     "dht_max_peers_per_ip", "dht_max_items_per_ip"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
