"""The peer store: who announced which info-hash (BEP 5), and scrapes (BEP 33).

An announce_peer stores (IP, port) under an info-hash with its seed flag
and the time it came; the same (IP, port) again refreshes it (port and seed
status may change, as BEP 33 asks).  As libtorrent, peers are kept per
endpoint, not per IP, so several nodes of one lab host stay apart; the
scrape filters count IPs anyway.  Entries older than ``dht_peer_lifetime``
are not answered and go at :meth:`PeerStore.expire`.

Bounded everywhere: at most ``dht_max_peers`` per info-hash,
``dht_max_torrents`` info-hashes and ``dht_max_peers_total`` peers in all;
an announce past a cap is refused (:meth:`PeerStore.announce` returns
False), never evicting what others announced.  :meth:`PeerStore.accepts`
tells the token policy whether an announce from an IP could be stored (a
full swarm takes only refreshes), so a full store hands out no token for it.
A get_peers answer is a uniform random sample of at most
``dht_max_peers_reply`` peers of the asker's address family (a quarter of
that for IPv6, whose addresses are three times longer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..wire.bloom import ScrapeBloom
from ..wire.common import Address
from .settings import StoreSettings


@dataclass(frozen=True, slots=True)
class StoredPeerInfo:
    """A peer this node holds, as the explorer shows it (times monotonic)."""

    info_hash: bytes
    host: str
    port: int
    seed: bool
    added: float  # when announced (or last re-announced)
    expires: float  # when it goes, unless announced again


@dataclass(slots=True)
class PeerEntry:
    seed: bool
    added: float


def _is_v6(host: str) -> bool:
    return ":" in host  # hosts here are IP address texts (from the socket or the codec)


class PeerStore:
    def __init__(self, settings: StoreSettings | None = None, rng: random.Random | None = None) -> None:
        self.settings = settings or StoreSettings()
        self._rng = rng or random.Random()
        self._swarms: dict[bytes, dict[Address, PeerEntry]] = {}
        self._total = 0

    def __len__(self) -> int:
        """The number of info-hashes held."""
        return len(self._swarms)

    @property
    def total_peers(self) -> int:
        return self._total

    def info_hashes(self) -> list[bytes]:
        return list(self._swarms)

    def _live(self, entry: PeerEntry, now: float) -> bool:
        return entry.added + self.settings.dht_peer_lifetime > now

    def accepts(self, info_hash: bytes, host: str) -> bool:
        """True when an announce of ``info_hash`` from ``host`` could be stored."""
        swarm = self._swarms.get(info_hash)
        if swarm is None:
            return len(self._swarms) < self.settings.dht_max_torrents and self._total < self.settings.dht_max_peers_total
        if len(swarm) < self.settings.dht_max_peers and self._total < self.settings.dht_max_peers_total:
            return True
        return any(h == host for h, _ in swarm)

    def announce(self, info_hash: bytes, address: Address, seed: bool, now: float) -> bool:
        """Store or refresh a peer; False when a cap refuses it."""
        s = self.settings
        swarm = self._swarms.get(info_hash)
        if swarm is None:
            if len(self._swarms) >= s.dht_max_torrents or self._total >= s.dht_max_peers_total:
                return False
            swarm = self._swarms[info_hash] = {}
        entry = swarm.get(address)
        if entry is not None:
            entry.seed, entry.added = seed, now
            return True
        if len(swarm) >= s.dht_max_peers or self._total >= s.dht_max_peers_total:
            if not swarm:
                del self._swarms[info_hash]
            return False
        swarm[address] = PeerEntry(seed, now)
        self._total += 1
        return True

    def peers(self, info_hash: bytes, now: float, *, ipv6: bool = False, noseed: bool = False) -> list[Address]:
        """A random sample of the live peers of one address family (no seeds under ``noseed``)."""
        swarm = self._swarms.get(info_hash)
        if not swarm:
            return []
        candidates = [
            a for a, e in swarm.items()
            if self._live(e, now) and not (noseed and e.seed) and _is_v6(a[0]) == ipv6
        ]
        limit = self.settings.dht_max_peers_reply // (4 if ipv6 else 1)
        if len(candidates) <= limit:
            return candidates
        return self._rng.sample(candidates, limit)

    def scrape(self, info_hash: bytes, now: float) -> tuple[bytes, bytes] | None:
        """BEP 33 ``(BFsd, BFpe)`` of the live peers, or None for an unknown info-hash."""
        swarm = self._swarms.get(info_hash)
        if not swarm:
            return None
        seeds, peers = ScrapeBloom(), ScrapeBloom()
        for (host, _), entry in swarm.items():
            if self._live(entry, now):
                (seeds if entry.seed else peers).add_ip(host)
        return seeds.to_bytes(), peers.to_bytes()

    def stored(self, now: float) -> list[StoredPeerInfo]:
        """Every live peer held, by info-hash then in the order they came."""
        lifetime = self.settings.dht_peer_lifetime
        return [
            StoredPeerInfo(info_hash, host, port, e.seed, e.added, e.added + lifetime)
            for info_hash, swarm in self._swarms.items()
            for (host, port), e in swarm.items()
            if self._live(e, now)
        ]

    def expire(self, now: float) -> int:
        """Drop peers past their lifetime (and empty swarms); returns how many went."""
        gone = 0
        for info_hash in list(self._swarms):
            swarm = self._swarms[info_hash]
            for address in [a for a, e in swarm.items() if not self._live(e, now)]:
                del swarm[address]
                gone += 1
            if not swarm:
                del self._swarms[info_hash]
        self._total -= gone
        return gone
