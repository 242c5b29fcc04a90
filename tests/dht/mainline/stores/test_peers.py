"""The peer store: caps, expiry, refresh, random replies, families, BEP 33 filters (fake clock)."""

from __future__ import annotations

import random

import pytest

from dht.errors import ConfigError
from dht.mainline.stores.peers import PeerStore
from dht.core.store_settings import StoreSettings
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


def test_a_full_swarm_makes_room_by_the_fairness_rule() -> None:
    s = store(dht_max_peers=4)
    for port in (1, 2, 3):
        assert s.announce(IH, ("10.0.0.1", port), False, now=port)  # A: three ports
    assert s.announce(IH, ("10.0.0.2", 1), False, now=4)  # B
    assert s.accepts(IH, "10.0.0.3")
    assert s.announce(IH, ("10.0.0.3", 1), False, now=5)  # C: A holds two more, its oldest goes
    assert ("10.0.0.1", 1) not in s.peers(IH, 6) and s.held_by("10.0.0.1") == 2
    assert s.announce(IH, ("10.0.0.4", 1), False, now=6)  # D: A again
    assert s.held_by("10.0.0.1") == 1 and ("10.0.0.1", 3) in s.peers(IH, 7)
    assert s.announce(IH, ("10.0.0.5", 1), False, now=7)  # E meets equals: the oldest peer goes
    assert set(s.peers(IH, 8)) == {("10.0.0.2", 1), ("10.0.0.3", 1), ("10.0.0.4", 1), ("10.0.0.5", 1)}
    assert s.announce(IH, ("10.0.0.3", 2), False, now=8)  # C grows: its own oldest goes
    assert set(s.peers(IH, 9)) == {("10.0.0.2", 1), ("10.0.0.3", 2), ("10.0.0.4", 1), ("10.0.0.5", 1)}
    assert s.announce(IH, ("10.0.0.2", 1), True, now=9)  # a refresh takes no room
    assert s.total_peers == 4


def test_one_ip_holds_at_most_its_share() -> None:
    s = store(dht_max_peers_per_ip=3)
    hashes = [bytes([i]) * 20 for i in range(1, 6)]
    for t, ih in enumerate(hashes):
        assert s.announce(ih, ("10.0.0.1", 1), False, now=t)
    assert s.held_by("10.0.0.1") == 3 and s.total_peers == 3
    assert [ih for ih in hashes if s.peers(ih, 9)] == hashes[2:]  # its newest three
    s.exempt_host = "127.0.0.1"  # a lab on one address: no share
    for t, ih in enumerate(hashes):
        s.announce(ih, ("127.0.0.1", 1), False, now=10 + t)
    assert s.held_by("127.0.0.1") == 5


def test_a_full_store_makes_room_for_a_new_info_hash_from_its_heaviest_holder() -> None:
    s = store(dht_max_torrents=3)
    s.announce(b"\x01" * 20, ("10.0.0.1", 1), False, now=0)
    s.announce(b"\x02" * 20, ("10.0.0.1", 1), False, now=1)
    s.announce(b"\x03" * 20, ("10.0.0.2", 1), False, now=2)
    assert s.accepts(b"\x04" * 20, "10.0.0.9")
    assert s.announce(b"\x04" * 20, ("10.0.0.9", 1), False, now=3)
    assert set(s.info_hashes()) == {b"\x02" * 20, b"\x03" * 20, b"\x04" * 20}  # A's oldest went


def test_a_store_whose_swarms_are_all_shared_refuses_a_new_info_hash() -> None:
    s = store(dht_max_torrents=2, dht_max_peers_total=10)
    for ih in (IH, IH2):
        for host in ("10.0.0.1", "10.0.0.2"):
            s.announce(ih, (host, 1), False, now=0)
    assert not s.accepts(b"\x03" * 20, "10.0.0.9")  # no swarm of one peer to let go
    assert not s.announce(b"\x03" * 20, ("10.0.0.9", 1), False, now=1)
    assert s.accepts(IH, "10.0.0.9") and s.announce(IH, ("10.0.0.9", 1), False, now=1)
    assert len(s) == 2 and s.total_peers == 5


def test_an_ip_in_shared_swarms_cannot_push_others_lone_swarms_out() -> None:
    s = store(dht_max_torrents=3)
    s.announce(IH, ("10.0.0.1", 1), False, now=0)  # A and B share a swarm
    s.announce(IH, ("10.0.0.2", 1), False, now=0)
    s.announce(IH2, ("10.0.0.3", 1), False, now=1)  # C and D alone in theirs
    s.announce(b"\x03" * 20, ("10.0.0.4", 1), False, now=2)
    assert not s.announce(b"\x04" * 20, ("10.0.0.1", 1), False, now=3)  # A has no swarm of its own to give
    assert set(s.info_hashes()) == {IH, IH2, b"\x03" * 20}
    assert s.announce(b"\x04" * 20, ("10.0.0.9", 1), False, now=4)  # a newcomer: the oldest lone swarm goes
    assert set(s.info_hashes()) == {IH, b"\x03" * 20, b"\x04" * 20}


def test_the_total_cap_takes_the_heaviest_holders_oldest() -> None:
    s = store(dht_max_peers_total=3)
    s.announce(IH, ("10.0.0.1", 1), False, now=0)
    s.announce(IH2, ("10.0.0.1", 1), False, now=1)
    s.announce(IH2, ("10.0.0.2", 1), False, now=2)
    assert s.announce(b"\x03" * 20, ("10.0.0.3", 1), False, now=3)
    assert s.total_peers == 3 and s.peers(IH, 4) == [] and len(s) == 2


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


def test_scrape_filters_follow_peers_as_they_come_and_go() -> None:
    """The filters kept between scrapes are those made afresh from the live peers."""
    s = store(dht_peer_lifetime=100)
    held: dict[tuple[str, int], tuple[bool, float]] = {}
    rng = random.Random(3)
    for step in range(300):
        now = float(step)
        host = f"10.0.{rng.randrange(3)}.{rng.randrange(40)}"
        port, seed = rng.randrange(1, 3), rng.random() < 0.3
        s.announce(IH, (host, port), seed, now)
        held[(host, port)] = (seed, now)
        if step % 7 == 0:
            live = {a: sd for a, (sd, t) in held.items() if t + 100 > now}
            expected = (
                ScrapeBloom.of(h for (h, _), sd in live.items() if sd).to_bytes(),
                ScrapeBloom.of(h for (h, _), sd in live.items() if not sd).to_bytes(),
            )
            assert s.scrape(IH, now) == expected
    assert s.expire(1e9) > 0 and s.total_peers == 0 and len(s) == 0
    assert s.scrape(IH, 1e9) is None


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
    from dht.mainline.stores.peers import StoredPeerInfo

    s = store(dht_peer_lifetime=100)
    s.announce(IH, ("10.0.0.1", 1), seed=False, now=0)
    s.announce(IH2, ("10.0.0.2", 2), seed=True, now=50)
    s.announce(IH, ("10.0.0.1", 1), seed=True, now=60)  # a refresh: seed now, a new lifetime
    assert s.stored(now=70) == [
        StoredPeerInfo(IH, "10.0.0.1", 1, True, 60, 160),
        StoredPeerInfo(IH2, "10.0.0.2", 2, True, 50, 150),
    ]
    assert [p.info_hash for p in s.stored(now=155)] == [IH]  # IH2's went, though not expired yet
