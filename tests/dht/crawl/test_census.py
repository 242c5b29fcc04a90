"""The census's parts: the corrected zone estimate, the signs of attack, and how two censuses compare."""

from __future__ import annotations

import math
import random

import pytest

from dht import Census, CrawledNode, CrawlSpec
from dht.crawl import check_spec
from dht.crawl.estimate import missed_share, zone_estimate
from dht.crawl.suspicion import IDS_PER_IP, Seen, horizontal, id_ip, log_poisson_tail, suspicions, vertical
from dht.errors import LocalError


def poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


@pytest.mark.parametrize("lam", [0.7, 1.5, 3.0])
def test_the_missed_share_is_read_back_from_how_often_the_found_nodes_were_listed(lam: float) -> None:
    rng = random.Random(1)
    counts = [poisson(rng, lam) for _ in range(20000)]
    seen = [c for c in counts if c > 0]
    p, fitted = missed_share(seen)
    assert abs(p - math.exp(-lam)) < 0.02
    assert abs(fitted - lam) < 0.05 * lam


def test_the_zone_estimate_corrects_for_missed_nodes_and_its_interval_holds_the_truth() -> None:
    rng = random.Random(2)
    size, bits, inside = 0, 3, 0
    covered = 0
    for trial in range(200):
        size = 4000
        zone = sum(1 for _ in range(size) if rng.random() < 1 / 8)
        counts = [poisson(rng, 1.2) for _ in range(zone)]
        est = zone_estimate([c for c in counts if c > 0], bits)
        assert est is not None
        covered += est.low <= size <= est.high
        inside += abs(est.estimate - size) / size < 0.15
    assert covered >= 180  # a 95 % interval: about 190 of 200
    assert inside >= 180


def test_an_empty_zone_has_no_estimate_and_a_complete_one_its_count() -> None:
    assert zone_estimate([], 4) is None
    est = zone_estimate([30] * 100, 0)
    assert est is not None and round(est.estimate) == 100 and est.low == 100


def seen(n: int, rng: random.Random, host: str | None = None) -> list[Seen]:
    return [Seen(rng.getrandbits(160).to_bytes(20, "big"), (host or f"10.{i % 250}.{i // 250}.1", 6881 + i), None)
            for i in range(n)]


def test_many_ids_on_one_ip_are_a_horizontal_sybil_and_a_few_are_not() -> None:
    rng = random.Random(3)
    crowd = seen(300, rng) + seen(IDS_PER_IP, rng, host="203.0.113.7")
    (found,) = horizontal(crowd)
    assert found.kind == "horizontal" and len(found.ids) == IDS_PER_IP
    assert "203.0.113.7" in found.evidence and {a[0] for a in found.addresses} == {"203.0.113.7"}
    assert horizontal(seen(300, rng) + seen(IDS_PER_IP - 1, rng, host="203.0.113.7")) == []


def test_ids_packed_around_a_target_are_a_vertical_sybil_and_uniform_ids_are_not() -> None:
    rng = random.Random(4)
    for trial in range(20):
        assert vertical(seen(3000, rng), 3000.0) == []
    target = rng.getrandbits(160)
    packed = [Seen((target >> 120 << 120 | rng.getrandbits(120)).to_bytes(20, "big"), (f"10.9.9.{i}", 1), None)
              for i in range(20)]
    (found,) = vertical(seen(3000, rng) + packed, 3020.0)
    assert found.kind == "vertical" and set(found.ids) >= {p.id for p in packed}
    assert found.target is not None and found.target[:5] == target.to_bytes(20, "big")[:5]


def test_ids_that_do_not_fit_their_ip_are_flagged_per_ip() -> None:
    bad = [Seen(bytes([i]) * 20, ("203.0.113.9", 1000 + i), False) for i in range(3)]
    good = [Seen(bytes([50 + i]) * 20, ("203.0.113.10", 1), True) for i in range(3)]
    (found,) = id_ip(bad + good)
    assert found.kind == "id-ip" and len(found.ids) == 3


def test_the_poisson_tail_is_right_on_both_sides_of_the_mean() -> None:
    assert math.isclose(math.exp(log_poisson_tail(2.0, 1)), 1 - math.exp(-2.0))
    assert math.isclose(math.exp(log_poisson_tail(100.0, 8)), 1.0)
    assert log_poisson_tail(1e-6, 8) < -100
    assert suspicions([], None) == ()


def node(i: int, host: str, answered: bool = True) -> CrawledNode:
    return CrawledNode(bytes([i]) * 20, (host, 6881), 0.0, 0.0, answered, 0.01, None, None, None, False, ())


def census(nodes: list[CrawledNode]) -> Census:
    return Census("full", 0.0, 1.0, tuple(nodes), None, None, None, 1.0, {}, None, ())


def test_compare_says_who_joined_left_and_changed_address_or_id() -> None:
    before = census([node(1, "10.0.0.1"), node(2, "10.0.0.2"), node(3, "10.0.0.3"), node(4, "10.0.0.4")])
    after = census([node(1, "10.0.0.1"), node(2, "10.0.0.22"), node(5, "10.0.0.3"), node(4, "10.0.0.4", False),
                    node(6, "10.0.0.6")])
    diff = after.compare(before)
    assert [n.id[0] for n in diff.joined] == [6]
    assert [n.id[0] for n in diff.left] == [4]  # listed still, but silent now
    assert sorted((a.id[0], b.id[0]) for a, b in diff.changed) == [(2, 2), (3, 5)]


@pytest.mark.parametrize("spec, words", [
    (CrawlSpec("nope"), "kind"),  # type: ignore[arg-type]
    (CrawlSpec("zone"), "zone_bits"),
    (CrawlSpec("zone", zone_bits=40), "zone_bits"),
    (CrawlSpec("zone", zone_bits=8, zone_prefix=b""), "zone_prefix"),
    (CrawlSpec("full", zone_bits=3), "zone crawl"),
    (CrawlSpec("table"), "address"),
    (CrawlSpec("table", table=("bad host!", 5)), "table address .* spaces"),  # (an IPv6 one is a host, since BEP 32)
    (CrawlSpec("full", budget=-1.0), "budget"),
    (CrawlSpec("full", budget=float("nan")), "budget"),
])
def test_a_bad_spec_is_a_local_error_saying_what_is_wrong(spec: CrawlSpec, words: str) -> None:
    with pytest.raises(LocalError, match=words):
        check_spec(spec)
