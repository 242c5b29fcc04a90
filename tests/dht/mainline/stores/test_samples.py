"""BEP 51: the sample we answer, reused for its interval, and the backoff we honour (fake clock)."""

from __future__ import annotations

import random

from dht.mainline.stores.samples import InfohashSampler, SampleBackoff
from dht.core.store_settings import StoreSettings

HASHES = [bytes([i]) * 20 for i in range(50)]


def test_a_full_sample_is_reused_for_its_interval() -> None:
    sampler = InfohashSampler(StoreSettings(dht_sample_infohashes_interval=60, dht_max_infohashes_sample_count=5),
                              random.Random(1))
    first = sampler.sample(HASHES, now=0)
    assert first.interval == 60 and first.num == 50 and len(first.samples) == 5
    assert set(first.samples) <= set(HASHES) and len(set(first.samples)) == 5
    assert sampler.sample(HASHES, now=59).samples == first.samples
    later = [sampler.sample(HASHES, now=60 + i).samples for i in range(0, 600, 60)]
    assert any(s != first.samples for s in later)


def test_a_small_store_is_sampled_whole_at_every_request() -> None:
    sampler = InfohashSampler(StoreSettings(dht_max_infohashes_sample_count=20))
    assert sampler.sample(HASHES[:3], now=0).samples and set(sampler.sample(HASHES[:3], 0).samples) == set(HASHES[:3])
    assert set(sampler.sample(HASHES[:4], now=1).samples) == set(HASHES[:4])  # not stuck on the old 3
    empty = sampler.sample([], now=2)
    assert empty.samples == () and empty.num == 0


def test_interval_zero_resamples_every_time() -> None:
    sampler = InfohashSampler(StoreSettings(dht_sample_infohashes_interval=0, dht_max_infohashes_sample_count=5),
                              random.Random(2))
    draws = {sampler.sample(HASHES, now=0).samples for _ in range(10)}
    assert len(draws) > 1


def test_backoff_honours_interval_and_is_bounded() -> None:
    backoff = SampleBackoff(StoreSettings(dht_max_sample_backoffs=3))
    a = ("10.0.0.1", 1)
    assert backoff.ready(a, 0)
    backoff.record(a, 100, now=0)
    assert not backoff.ready(a, 99.9) and backoff.ready(a, 100)
    backoff.record(a, 10**9, now=0)  # clamped to BEP 51's 6 hours
    assert backoff.ready(a, 21600)
    for i in range(5):
        backoff.record((f"10.0.0.{i + 2}", 1), 100, now=0)
    assert len(backoff) == 3
    assert backoff.ready(a, 1)  # the oldest entry made room
