"""BEP 51 sample_infohashes: the sample we answer, and the backoff we honour.

Answering: :class:`InfohashSampler` returns up to
``dht_max_infohashes_sample_count`` info-hashes drawn uniformly from the
peer store, with ``num`` (how many it holds) and ``interval``
(``dht_sample_infohashes_interval``).  As libtorrent does, a full sample is
reused until ``interval`` has passed, so an indexer gains nothing by asking
sooner; a sample smaller than the limit (a store that holds few) is drawn
afresh at every request.

Asking: :class:`SampleBackoff` remembers, per node address, when its
``interval`` lets us ask again; it holds at most
``dht_max_sample_backoffs`` nodes (the oldest entry goes first).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from ...wire.common import Address
from ...core.store_settings import MAX_SAMPLE_INTERVAL, StoreSettings

#: The stores' random choices unless one is given (tests): shared by every node of
#: a process, as a Random is 2.5 KB and a lab runs thousands of nodes.
SHARED_RNG = random.Random()


@dataclass(frozen=True, slots=True)
class Sample:
    interval: int
    num: int
    samples: tuple[bytes, ...]


class InfohashSampler:
    # a lab runs thousands of these: no instance dict
    __slots__ = ("_created", "_rng", "_samples", "settings")

    def __init__(self, settings: StoreSettings | None = None, rng: random.Random | None = None) -> None:
        self.settings = settings or StoreSettings()
        self._rng = rng or SHARED_RNG  # not one per node: a Random is 2.5 KB
        self._samples: tuple[bytes, ...] = ()
        self._created: float | None = None

    def sample(self, info_hashes: Collection[bytes], now: float) -> Sample:
        s = self.settings
        interval, limit = s.dht_sample_infohashes_interval, s.dht_max_infohashes_sample_count
        fresh = self._created is not None and interval > 0 and self._created + interval > now
        if not (fresh and len(self._samples) >= limit):
            pool = list(info_hashes)
            self._samples = tuple(self._rng.sample(pool, min(limit, len(pool))))
            self._created = now
        return Sample(interval, len(info_hashes), self._samples)


class SampleBackoff:
    def __init__(self, settings: StoreSettings | None = None) -> None:
        self.settings = settings or StoreSettings()
        self._due: dict[Address, float] = {}

    def __len__(self) -> int:
        return len(self._due)

    def ready(self, address: Address, now: float) -> bool:
        """True when ``address`` may be asked again."""
        due = self._due.get(address)
        return due is None or due <= now

    def record(self, address: Address, interval: int, now: float) -> None:
        """Note a node's answer: ask it again no sooner than ``interval`` (clamped to BEP 51's 6 h)."""
        self._due.pop(address, None)
        while self._due and len(self._due) >= self.settings.dht_max_sample_backoffs:
            del self._due[next(iter(self._due))]
        self._due[address] = now + min(max(interval, 0), MAX_SAMPLE_INTERVAL)
