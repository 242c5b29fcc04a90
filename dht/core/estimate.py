"""How many nodes the network has, estimated from our closest contacts (sans-IO).

Theory of operation.  Node ids are uniform over [0, 2^160).  Among M other
nodes, the i-th closest to any point (here our own id) lies at an XOR
distance whose expected fraction of the id space is i / (M + 1).  So the
fractions x_1 <= ... <= x_k of our k closest contacts lie, up to noise, on
the line i = N x_i with N = M + 1 the size of the network, ourselves
included; the least-squares slope through the origin,

    N = sum(i * x_i) / sum(x_i ** 2),

is the estimator used to measure the Mainline DHT (Wang and Kangasharju,
"Measuring large-scale distributed systems: case of BitTorrent Mainline
DHT", IEEE P2P 2013).  It needs only what every Kademlia node knows best,
its own neighbourhood (a lookup of our id converges on it, and joiners
announce themselves there), and none of the far buckets, which hold K of
many nodes or, in a young network, only the few that happened to come by.
With k = K = 8 its median error is a few per cent and about four single-node
estimates in five are within ±50 % for networks of 32 to 2,000 nodes
(``tests/dht/test_estimate.py``).  apt-p2p's estimate, K * 2^(buckets - 1),
is off by a factor of 2-4 on small networks.

A node that knows fewer than k others has never had to refuse one (its
table splits or has room), so it knows everybody: the count plus ourselves.

The same estimator around any target (:func:`estimate_network_size`: the
closest nodes a BEP 51 walk or a lookup found) comes with its relative
standard error.  Writing x_i = S_i / N with S_i the sum of i unit
exponential gaps (E[S_i] = i, Cov(S_i, S_j) = min(i, j)), the estimate over
N is sum(i S_i) / sum(S_i^2); to first order around S_i = i its deviation
is -sum(i dS_i) / sum(i^2), so

    RSE(k) = sqrt(sum_ij i j min(i, j)) / sum(i^2),

0.38 for k = 8, about 1.1 / sqrt(k) for large k.  A simulation
(``tests/dht/test_estimate.py``) finds 0.43 at k = 8, the median within a
few per cent and the mean some 10 % high: first order misses the ratio's skew.  Several walks' estimates are independent
where their neighbourhoods are: their median is the explorer's figure.

Nothing here reads a clock or touches the network.
"""

from __future__ import annotations

import math
from typing import Iterable

from .errors import LocalError
from .khash import ID_SPACE


def network_size(own_key: int, contact_keys: Iterable[int], k: int) -> int:
    """The estimated number of nodes, ourselves included, from the ids we know.

    ``contact_keys``: the ids (as integers) of the contacts in our routing
    table; the ``k`` closest to ``own_key`` are used.
    """
    distances = sorted(key ^ own_key for key in contact_keys if key != own_key)[:k]
    if len(distances) < k:
        return len(distances) + 1
    fractions = [d / ID_SPACE for d in distances]
    spread = sum(x * x for x in fractions)
    if spread == 0.0:
        return len(distances) + 1
    slope = sum(i * x for i, x in enumerate(fractions, start=1)) / spread
    return max(len(distances) + 1, round(slope))


def relative_standard_error(k: int) -> float:
    """The estimator's relative standard error from ``k`` distances (first order; see above)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    squares = sum(i * i for i in range(1, k + 1))
    spread = sum(i * j * min(i, j) for i in range(1, k + 1) for j in range(1, k + 1))
    return math.sqrt(spread) / squares


def estimate_network_size(target: bytes, ids: list[bytes], k: int = 8) -> tuple[int, float]:
    """(estimate, relative standard error) of the network's size from the density of
    ``ids`` around ``target`` (the ``k`` closest distinct ids are used; one equal to
    ``target`` is not a distance).  Fewer than ``k`` ids: a walk that found so few
    found everybody, so their number, with an error of 0.

    LocalError for a ``target`` or an id that is not 20 bytes, or ``k`` below 1.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise LocalError(f"k must be a positive integer, not {k!r}")
    for value in (target, *ids):
        if not isinstance(value, bytes) or len(value) != 20:
            raise LocalError(f"ids are 20 bytes, not {value!r:.60}")
    own = int.from_bytes(target, "big")
    keys = {int.from_bytes(i, "big") for i in ids} - {own}
    if len(keys) < k:
        return len(keys), 0.0
    return network_size(own, keys, k) - 1, relative_standard_error(k)
