"""The peer store: who announced which info-hash (BEP 5), and scrapes (BEP 33).

An announce_peer stores (IP, port) under an info-hash with its seed flag
and the time it came; the same (IP, port) again refreshes it (port and seed
status may change, as BEP 33 asks).  As libtorrent, peers are kept per
endpoint, not per IP, so several nodes of one lab host stay apart; the
scrape filters count IPs anyway.  Entries older than ``dht_peer_lifetime``
are not answered and go at :meth:`PeerStore.expire`.

Bounded everywhere: at most ``dht_max_peers`` per info-hash,
``dht_max_torrents`` info-hashes and ``dht_max_peers_total`` peers in all,
and one IP holds at most ``dht_max_peers_per_ip`` peers.  A full store,
swarm or share makes room as :mod:`dht.core.fairness` says (for peers,
"oldest" is the least recently announced): an IP at its share loses its
own oldest peer; otherwise the heaviest holder (in the swarm when the swarm
is full, in the store when the store is), if it holds two more than the
announcing IP; otherwise the announcing IP's own oldest; otherwise the
oldest peer there.  Making room for a new info-hash needs a swarm of one
peer to go (the holder's, else the announcing IP's own; anyone's only for
a newcomer holding nothing); when none fits, the announce is refused
(:meth:`PeerStore.announce` returns False).  So nobody is locked out:
:meth:`PeerStore.accepts` (whether a get_peers answer carries a token) is
False only in that last case.

Scrapes are cheap: each swarm keeps, per IP, its BEP 33 bits (hashed once,
when the IP joins the swarm) and how many of its endpoints seed and
download, and its two filters from one scrape to the next (a joining IP
sets its bits; a leaving one has them remade at the next scrape).  A
get_peers answer is a uniform random sample of at most
``dht_max_peers_reply`` peers of the asker's address family (a quarter of
that for IPv6, whose addresses are three times longer).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from ...wire.bloom import ScrapeBloom, bit_indices
from ...wire.common import Address
from ...core.fairness import ANYONE, Tally, heaviest_of, who_makes_room
from ...core.store_settings import StoreSettings

#: The stores' random choices unless one is given (tests): shared by every node of
#: a process, as a Random is 2.5 KB and a lab runs thousands of nodes.
SHARED_RNG = random.Random()


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


@dataclass(slots=True)
class HostBits:
    """One IP in a swarm: its BEP 33 bits and its endpoints that seed and download."""

    bits: tuple[int, ...]
    seeds: int = 0
    downloaders: int = 0


class Swarm:
    """The peers of one info-hash, least recently announced first, and its scrape filters."""

    __slots__ = ("peers", "hosts", "blooms")

    def __init__(self) -> None:
        self.peers: dict[Address, PeerEntry] = {}
        self.hosts: dict[str, HostBits] = {}
        self.blooms: tuple[ScrapeBloom, ScrapeBloom] | None = (ScrapeBloom(), ScrapeBloom())  # None: remake

    def counts(self) -> dict[str, int]:
        return {h: b.seeds + b.downloaders for h, b in self.hosts.items()}

    def join(self, host: str, seed: bool) -> None:
        bits = self.hosts.get(host)
        if bits is None:
            bits = self.hosts[host] = HostBits(bit_indices(host))
        if seed:
            bits.seeds += 1
            first = bits.seeds == 1
        else:
            bits.downloaders += 1
            first = bits.downloaders == 1
        if first and self.blooms is not None:
            self.blooms[0 if seed else 1].set_bits(bits.bits)

    def leave(self, host: str, seed: bool) -> None:
        bits = self.hosts[host]
        if seed:
            bits.seeds -= 1
            last = bits.seeds == 0
        else:
            bits.downloaders -= 1
            last = bits.downloaders == 0
        if last:
            self.blooms = None
            if not bits.seeds and not bits.downloaders:
                del self.hosts[host]

    def filters(self) -> tuple[bytes, bytes]:
        if self.blooms is None:
            seeds, downloaders = ScrapeBloom(), ScrapeBloom()
            for bits in self.hosts.values():
                if bits.seeds:
                    seeds.set_bits(bits.bits)
                if bits.downloaders:
                    downloaders.set_bits(bits.bits)
            self.blooms = (seeds, downloaders)
        return self.blooms[0].to_bytes(), self.blooms[1].to_bytes()


def _is_v6(host: str) -> bool:
    return ":" in host  # hosts here are IP address texts (from the socket or the codec)


Key = tuple[bytes, Address]  # (info-hash, peer)


class PeerStore:
    # a lab runs thousands of these: no instance dict
    __slots__ = ("_owned", "_rng", "_swarms", "_tally", "_total", "exempt_host", "settings")

    def __init__(self, settings: StoreSettings | None = None, rng: random.Random | None = None) -> None:
        self.settings = settings or StoreSettings()
        self._rng = rng or SHARED_RNG  # not one per node: a Random is 2.5 KB
        self._swarms: dict[bytes, Swarm] = {}
        self._owned: dict[str, dict[Key, None]] = {}  # IP -> its peers, least recently announced first
        self._tally = Tally()  # peers per IP
        self._total = 0
        #: an IP with no share limit (a node's own loopback address, where a lab on one address puts all its nodes)
        self.exempt_host: str | None = None

    def __len__(self) -> int:
        """The number of info-hashes held."""
        return len(self._swarms)

    @property
    def total_peers(self) -> int:
        return self._total

    def held_by(self, host: str) -> int:
        """How many peers ``host`` holds here."""
        return self._tally.get(host)

    def info_hashes(self) -> list[bytes]:
        return list(self._swarms)

    def _live(self, entry: PeerEntry, now: float) -> bool:
        return entry.added + self.settings.dht_peer_lifetime > now

    # --- room ---------------------------------------------------------------

    def _room(self, info_hash: bytes, host: str) -> list[Key] | None:
        """The peers that go to make room for a new peer of ``host`` under ``info_hash``
        (none: it fits), or None: no room can be made."""
        s = self.settings
        victims: list[Key] = []
        mine = self._tally.get(host)
        owned = self._owned.get(host)
        if owned and mine >= s.dht_max_peers_per_ip and host != self.exempt_host:
            victims.append(next(iter(owned)))  # its share: its own oldest goes
        swarm = self._swarms.get(info_hash)
        gone_here = sum(1 for ih, _ in victims if ih == info_hash)
        if swarm is not None and len(swarm.peers) - gone_here >= s.dht_max_peers:
            counts = swarm.counts()
            for ih, (h, _) in victims:
                if ih == info_hash:
                    counts[h] -= 1
            heaviest, holds = heaviest_of(counts)
            victim = self._pick(
                who_makes_room(heaviest, holds, host, counts.get(host, 0)),
                (k for k in ((info_hash, a) for a in swarm.peers) if k not in victims),
            )
            if victim is None:
                return None
            victims.append(victim)
        freed = self._swarms_freed(victims)
        if swarm is None and len(self._swarms) - freed >= s.dht_max_torrents:
            victim = self._store_victim(host, mine - sum(1 for _, (h, _) in victims if h == host), victims, alone=True)
            if victim is None:
                return None
            victims.append(victim)
        if self._total - len(victims) >= s.dht_max_peers_total:
            victim = self._store_victim(host, mine - sum(1 for _, (h, _) in victims if h == host), victims, alone=False)
            if victim is None:
                return None
            victims.append(victim)
        return victims

    def _swarms_freed(self, victims: list[Key]) -> int:
        return sum(1 for ih, _ in victims if len(self._swarms[ih].peers) == 1)

    def _store_victim(self, host: str, mine: int, taken: list[Key], alone: bool) -> Key | None:
        """A peer to go from the whole store (``alone``: the only peer of its swarm, so a swarm goes).

        The fairness rule's holder gives one up; when it has none that frees the room
        needed, the announcing IP's own go, and only a newcomer (holding nothing) may
        take anyone's: an IP never displaces others beyond what the rule allows.
        """
        mine = max(mine, 0)
        holder = who_makes_room(self._tally.heaviest(), self._tally.max, host, mine)
        order: list[str | None] = [holder]
        if holder is not ANYONE and holder != host and mine:
            order.append(host)
        if holder is not ANYONE and not mine:
            order.append(ANYONE)
        for who in order:
            candidates = (
                (ih, a) for ih, swarm in self._swarms.items() for a in swarm.peers
            ) if who is ANYONE else iter(self._owned.get(who, {}))
            victim = self._pick(who, (
                k for k in candidates if k not in taken and (not alone or len(self._swarms[k[0]].peers) == 1)
            ))
            if victim is not None:
                return victim
        return None

    def _pick(self, holder: str | None, candidates: Iterator[Key]) -> Key | None:
        """The oldest candidate of ``holder`` (ANYONE: of all)."""
        best: Key | None = None
        best_added = 0.0
        for key in candidates:
            if holder is not ANYONE:
                if key[1][0] == holder:
                    return key  # the holder's own order is oldest first
                continue
            added = self._swarms[key[0]].peers[key[1]].added
            if best is None or added < best_added:
                best, best_added = key, added
        return best

    def accepts(self, info_hash: bytes, host: str) -> bool:
        """True when an announce of ``info_hash`` from ``host`` could be stored."""
        s = self.settings
        swarm = self._swarms.get(info_hash)
        if swarm is not None or len(self._swarms) < s.dht_max_torrents:
            return True  # a swarm always makes room (its heaviest, the IP's own or its oldest peer)
        return self._room(info_hash, host) is not None

    # --- changes ------------------------------------------------------------

    def announce(self, info_hash: bytes, address: Address, seed: bool, now: float) -> bool:
        """Store or refresh a peer; False when no room can be made for it."""
        swarm = self._swarms.get(info_hash)
        key = (info_hash, address)
        if swarm is not None:
            entry = swarm.peers.pop(address, None)
            if entry is not None:  # a refresh: now the most recent
                if entry.seed != seed:
                    swarm.leave(address[0], entry.seed)
                    swarm.join(address[0], seed)
                entry.seed, entry.added = seed, now
                swarm.peers[address] = entry
                owned = self._owned[address[0]]
                del owned[key]
                owned[key] = None
                return True
        victims = self._room(info_hash, address[0])
        if victims is None:
            return False
        for victim in victims:
            self._remove(victim)
        swarm = self._swarms.get(info_hash)
        if swarm is None:
            swarm = self._swarms[info_hash] = Swarm()
        swarm.peers[address] = PeerEntry(seed, now)
        swarm.join(address[0], seed)
        self._owned.setdefault(address[0], {})[key] = None
        self._tally.add(address[0])
        self._total += 1
        return True

    def _remove(self, key: Key) -> None:
        info_hash, address = key
        swarm = self._swarms[info_hash]
        entry = swarm.peers.pop(address)
        swarm.leave(address[0], entry.seed)
        if not swarm.peers:
            del self._swarms[info_hash]
        owned = self._owned[address[0]]
        del owned[key]
        if not owned:
            del self._owned[address[0]]
        self._tally.remove(address[0])
        self._total -= 1

    # --- answers --------------------------------------------------------------

    def swarm_size(self, info_hash: bytes) -> int:
        """Peers held under ``info_hash`` (live or not yet expired)."""
        swarm = self._swarms.get(info_hash)
        return len(swarm.peers) if swarm is not None else 0

    def peers(self, info_hash: bytes, now: float, *, ipv6: bool = False, noseed: bool = False) -> list[Address]:
        """A random sample of the live peers of one address family (no seeds under ``noseed``)."""
        swarm = self._swarms.get(info_hash)
        if not swarm:
            return []
        candidates = [
            a for a, e in swarm.peers.items()
            if self._live(e, now) and not (noseed and e.seed) and _is_v6(a[0]) == ipv6
        ]
        limit = self.settings.dht_max_peers_reply // (4 if ipv6 else 1)
        if len(candidates) <= limit:
            return candidates
        return self._rng.sample(candidates, limit)

    def scrape(self, info_hash: bytes, now: float) -> tuple[bytes, bytes] | None:
        """BEP 33 ``(BFsd, BFpe)`` of the live peers, or None for an unknown info-hash."""
        swarm = self._swarms.get(info_hash)
        if swarm is None:
            return None
        self._expire_swarm(info_hash, swarm, now)
        swarm = self._swarms.get(info_hash)
        if swarm is None:
            return None
        return swarm.filters()

    def stored(self, now: float) -> list[StoredPeerInfo]:
        """Every live peer held, by info-hash then in the order they were last announced."""
        lifetime = self.settings.dht_peer_lifetime
        return [
            StoredPeerInfo(info_hash, host, port, e.seed, e.added, e.added + lifetime)
            for info_hash, swarm in self._swarms.items()
            for (host, port), e in swarm.peers.items()
            if self._live(e, now)
        ]

    def _expire_swarm(self, info_hash: bytes, swarm: Swarm, now: float) -> int:
        """Drop a swarm's peers past their lifetime: its oldest first, so this stops at the first live one."""
        gone = 0
        while swarm.peers:
            address, entry = next(iter(swarm.peers.items()))
            if self._live(entry, now):
                break
            self._remove((info_hash, address))
            gone += 1
        return gone

    def expire(self, now: float) -> int:
        """Drop peers past their lifetime (and empty swarms); returns how many went."""
        return sum(self._expire_swarm(ih, swarm, now) for ih, swarm in list(self._swarms.items()))
