"""The peer store: caps, expiry, refresh, random replies, families, BEP 33 filters (fake clock)."""

from __future__ import annotations

import random

import pytest

from dht.errors import ConfigError
from dht.stores.peers import PeerStore
from dht.stores.settings import StoreSettings
from dht.wire.bloom import ScrapeBloom

IH = b"\x01" * 20
IH2 = b"\x02" * 20


def store(**kw: float) -> PeerStore:
    return PeerStore(StoreSettings(**kw), random.Random(7))  # type: ignore[arg-type]


def test_announce_and_expiry() -> None:
    s = store(dht_peer_lifetime=100)
    assert s.announce(IH, ("10.0.0.1", 1), seed=False, now=0)
    assert s.peers(IH, now=99.9) == [("10.0.0.1", 1)]
    assert s.peers(IH, now=100) == []  # past its lifetime, not answered
    assert s.expire(now=100) == 1 and len(s) == 0 and s.total_peers == 0


def test_a_refresh_keeps_one_entry_and_updates_it() -> None:
    s = store(dht_peer_lifetime=100)
    s.announce(IH, ("10.0.0.1", 1), seed=False, now=0)
    s.announce(IH, ("10.0.0.1", 1), seed=True, now=90)
    assert s.total_peers == 1
    assert s.peers(IH, now=150) == [("10.0.0.1", 1)]
    assert s.peers(IH, now=150, noseed=True) == []  # now a seed
    assert s.expire(now=150) == 0


def test_caps_refuse_and_never_evict() -> None:
    s = store(dht_max_peers=2, dht_max_torrents=2, dht_max_peers_total=3)
    assert s.announce(IH, ("10.0.0.1", 1), False, 0)
    assert s.announce(IH, ("10.0.0.2", 1), False, 0)
    assert not s.announce(IH, ("10.0.0.3", 1), False, 0)  # per info-hash
    assert s.announce(IH, ("10.0.0.1", 1), True, 1)  # a refresh still goes in
    assert s.announce(IH2, ("10.0.0.4", 1), False, 0)
    assert not s.announce(IH2, ("10.0.0.5", 1), False, 0)  # in total
    assert not s.announce(b"\x03" * 20, ("10.0.0.6", 1), False, 0)  # torrents
    assert len(s) == 2 and s.total_peers == 3
    assert set(s.peers(IH, 1)) == {("10.0.0.1", 1), ("10.0.0.2", 1)}
    # The token policy: a full swarm accepts only hosts it holds.
    assert s.accepts(IH, "10.0.0.1") and not s.accepts(IH, "10.0.0.9")
    assert not s.accepts(b"\x03" * 20, "10.0.0.9")


def test_replies_are_bounded_random_samples() -> None:
    s = store(dht_max_peers_reply=10)
    for i in range(50):
        s.announce(IH, (f"10.0.1.{i}", 1000 + i), False, 0)
    a, b = s.peers(IH, 1), s.peers(IH, 1)
    assert len(a) == len(b) == 10 and len(set(a)) == 10
    assert a != b  # drawn afresh
    seen = set()
    for _ in range(40):
        seen.update(s.peers(IH, 1))
    assert len(seen) > 40  # every peer gets its turn


def test_families_are_answered_apart() -> None:
    s = store(dht_max_peers_reply=8)
    s.announce(IH, ("10.0.0.1", 1), False, 0)
    for i in range(10):
        s.announce(IH, (f"2001:db8::{i + 1}", 2), False, 0)
    assert s.peers(IH, 1) == [("10.0.0.1", 1)]
    six = s.peers(IH, 1, ipv6=True)
    assert len(six) == 2 and all(":" in h for h, _ in six)  # a quarter of the reply size


def test_scrape_filters_count_seeds_and_peers_by_ip() -> None:
    s = store()
    assert s.scrape(IH, 0) is None
    for i in range(30):
        s.announce(IH, (f"10.0.2.{i}", 1), seed=i < 10, now=0)
    s.announce(IH, ("10.0.2.20", 2), seed=False, now=0)  # a second port of one IP
    result = s.scrape(IH, 1)
    assert result is not None
    seeds, peers = (ScrapeBloom(b) for b in result)
    assert round(seeds.estimate()) == 10
    assert round(peers.estimate()) == 20


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="dht_max_peers"):
        StoreSettings(dht_max_peers=0)
    with pytest.raises(ConfigError, match="dht_sample_infohashes_interval"):
        StoreSettings(dht_sample_infohashes_interval=21601)
    with pytest.raises(ConfigError, match="dht_max_infohashes_sample_count"):
        StoreSettings(dht_max_infohashes_sample_count=21)
    with pytest.raises(ConfigError, match="dht_item_lifetime"):
        StoreSettings(dht_item_lifetime=-1)


def test_the_stored_list_has_live_peers_with_their_times() -> None:
    from dht.stores.peers import StoredPeerInfo

    s = store(dht_peer_lifetime=100)
    s.announce(IH, ("10.0.0.1", 1), seed=False, now=0)
    s.announce(IH2, ("10.0.0.2", 2), seed=True, now=50)
    s.announce(IH, ("10.0.0.1", 1), seed=True, now=60)  # a refresh: seed now, a new lifetime
    assert s.stored(now=70) == [
        StoredPeerInfo(IH, "10.0.0.1", 1, True, 60, 160),
        StoredPeerInfo(IH2, "10.0.0.2", 2, True, 50, 150),
    ]
    assert [p.info_hash for p in s.stored(now=155)] == [IH]  # IH2's went, though not expired yet
