"""How many nodes the network has, from a crawl of one zone of ids, corrected for the nodes it missed.

Theory of operation (Wang and Kangasharju, "Measuring large-scale
distributed systems: case of BitTorrent Mainline DHT", IEEE P2P 2013).
Ids are uniform, so the zone of ids that start with a given n-bit prefix
holds about N / 2^n of the N nodes.  A crawl of that zone asks each node it
finds for the zone's part of its routing table.  A node is found when at
least one node asked lists it; a crawl misses a node that nobody it asked
happened to list (its answers were lost, its neighbours were silent).

The miss is a Bernoulli model: each node of the zone is listed a number of
times that is, across nodes, Poisson with mean lambda; we see only the
nodes listed at least once, whose mean count is the zero-truncated mean
lambda / (1 - e^-lambda).  Solving that for lambda from the counts seen
gives the share missed, p = e^-lambda, and

    size = zone count * 2^n / (1 - p).

Its uncertainty has two parts: the count found, C, is a binomial draw of
N nodes, each in the zone and found with probability 2^-n (1 - p)
(relative variance (1 - 2^-n (1 - p)) / C), and lambda is estimated from C
zero-truncated counts (variance 1 / (C I), I the zero-truncated Poisson's
Fisher information 1 / (lambda q) - e^-lambda / q^2, q = 1 - e^-lambda;
p's is p^2 times that).  :func:`zone_estimate` returns the
estimate with a :data:`CONFIDENCE` interval from their sum (normal
approximation).  Nodes never listed by anyone (the bootstrap node asked
first, say) count in C but not in the mean.

A crawl of one node's table gives the estimate of
:func:`dht.core.estimate.estimate_network_size` around that node.
Nothing here reads a clock or touches the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from ..core.estimate import estimate_network_size

#: The two-sided normal quantile of the interval given (95 %).
CONFIDENCE_Z = 1.96
#: The most of a zone a crawl is taken to have missed: past it, the counts say nothing.
MAX_MISSED = 0.9


@dataclass(frozen=True, slots=True)
class SizeEstimate:
    """A size estimate of the network: ``estimate`` with the interval [``low``, ``high``]
    and ``missed``, the share of the zone the crawl is taken to have missed."""

    estimate: float
    low: float
    high: float
    missed: float


def missed_share(counts: Iterable[int]) -> tuple[float, float]:
    """(p, lambda): the share of nodes a crawl missed, from how often each node it found
    was listed (counts of 0, nodes found otherwise, are left out), and the Poisson mean."""
    listed = [c for c in counts if c > 0]
    if not listed:
        return 0.0, 0.0
    mean = sum(listed) / len(listed)
    if mean <= 1.0 + 1e-9:
        return MAX_MISSED, -math.log(MAX_MISSED)
    # lambda / (1 - e^-lambda) = mean, increasing in lambda: bisect on (0, mean]
    lo, hi = 1e-9, mean
    for _ in range(80):
        mid = (lo + hi) / 2
        if mid / -math.expm1(-mid) < mean:
            lo = mid
        else:
            hi = mid
    lam = (lo + hi) / 2
    return min(MAX_MISSED, math.exp(-lam)), lam


def zone_estimate(counts: list[int], bits: int) -> SizeEstimate | None:
    """The network's size from the listing counts of the nodes a crawl found in a zone of
    ``bits`` bits (see the module's docstring); None when the zone is empty."""
    found = len(counts)
    if found == 0:
        return None
    p, lam = missed_share(counts)
    present = found / (1.0 - p)
    estimate = present * 2.0**bits
    share = 2.0**-bits
    # found ~ Binomial(N, share * (1 - p)); lambda from `found` zero-truncated Poisson counts
    rel_var = (1.0 - share * (1.0 - p)) / found
    if lam > 0:
        q = -math.expm1(-lam)
        information = 1.0 / (lam * q) - math.exp(-lam) / (q * q)  # per node seen
        if information > 0:
            rel_var += p * p / (found * information) / (1.0 - p) ** 2
    spread = CONFIDENCE_Z * math.sqrt(rel_var) * estimate
    floor = float(found) if bits == 0 else 0.0
    return SizeEstimate(estimate, max(floor, estimate - spread), estimate + spread, p)


def table_estimate(node_id: bytes, ids: list[bytes]) -> SizeEstimate | None:
    """The network's size from the ids in one node's table (its K closest), with the
    estimator's relative standard error; None when the table held nobody."""
    if not ids:
        return None
    others, rse = estimate_network_size(node_id, ids)
    estimate = max(others, len(set(ids))) + 1  # the node itself
    spread = CONFIDENCE_Z * rse * estimate
    return SizeEstimate(float(estimate), max(float(len(set(ids))), estimate - spread), estimate + spread, 0.0)
