"""Signs of attack in what a crawl found, each with its evidence (sans-IO).

* ``horizontal``: many ids on one IP address (:data:`IDS_PER_IP` or more),
  or on one /24 (:data:`IDS_PER_SUBNET` or more, from at least two
  addresses; loopback addresses count as one /24 each, as the routing table
  counts them, since all of 127/8 is one machine).  One host behind a NAT runs a
  few clients; fifty ids on one address is one party holding many places.
* ``vertical``: ids packed around one target far more densely than the
  network's size allows (an eclipse of that target).  Among N uniform ids,
  the number that share a given b-bit prefix is Poisson with mean N / 2^b.
  For every run of :data:`VERTICAL_RUN` ids in id order we take the prefix
  they share and the Poisson probability of seeing that many there; a
  cluster is flagged when that probability, times the N places it could have
  happened, is below :data:`VERTICAL_ALPHA`.  The cluster is then every id
  found under that prefix.
* ``id-ip``: ids that do not fit their IP under BEP 42 (only where the
  network checks ids; local and private addresses are exempt), grouped by IP,
  flagged where one IP holds :data:`BAD_IDS_PER_IP` or more of them.
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal, Sequence

from ..core.contact import Address

SuspicionKind = Literal["horizontal", "vertical", "id-ip"]

#: Ids on one IP address from which a horizontal Sybil is suspected.
IDS_PER_IP = 10
#: Ids on one /24 (from two addresses or more) from which a horizontal Sybil is suspected.
IDS_PER_SUBNET = 32
#: Ids in a run, in id order, tested for a vertical cluster.
VERTICAL_RUN = 8
#: A vertical cluster's chance under uniform ids (times the places tested) below which it is flagged.
VERTICAL_ALPHA = 1e-6
#: Ids not fitting one IP (BEP 42) from which that IP is flagged.
BAD_IDS_PER_IP = 2


@dataclass(frozen=True, slots=True)
class Suspicion:
    """One sign of attack: its ``kind``, the ``evidence`` in words, the ids and addresses
    it concerns, and (vertical) the ``target`` they are packed around."""

    kind: SuspicionKind
    evidence: str
    ids: tuple[bytes, ...]
    addresses: tuple[Address, ...]
    target: bytes | None = None


@dataclass(frozen=True, slots=True)
class Seen:
    """What the detectors need of a node found: id, address, whether its id fits its IP."""

    id: bytes
    address: Address
    bep42: bool | None


def subnet(host: str) -> str:
    """The /24 of an IPv4 address ("a.b.c"); a loopback address is its own, and IPv6 its /64."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.is_loopback or ip.version == 6:
        return host if ip.version == 4 else str(ipaddress.ip_network(f"{host}/64", strict=False))
    return host.rsplit(".", 1)[0]


def horizontal(nodes: Sequence[Seen]) -> list[Suspicion]:
    by_ip: dict[str, list[Seen]] = defaultdict(list)
    for n in nodes:
        by_ip[n.address[0]].append(n)
    found = [
        Suspicion("horizontal", f"{len(group)} ids on one IP address, {ip}", _ids(group), _addresses(group))
        for ip, group in sorted(by_ip.items()) if len(group) >= IDS_PER_IP
    ]
    flagged = {ip for ip, group in by_ip.items() if len(group) >= IDS_PER_IP}
    by_net: dict[str, list[Seen]] = defaultdict(list)
    for n in nodes:
        if n.address[0] not in flagged:
            by_net[subnet(n.address[0])].append(n)
    for net, group in sorted(by_net.items()):
        ips = {n.address[0] for n in group}
        if len(group) >= IDS_PER_SUBNET and len(ips) >= 2:
            found.append(Suspicion(
                "horizontal", f"{len(group)} ids on {len(ips)} addresses of one /24, {net}.0/24",
                _ids(group), _addresses(group)))
    return found


def log_poisson_tail(mean: float, k: int) -> float:
    """ln P(X >= k) for X Poisson of ``mean`` (k >= 1), computed without underflow."""
    if mean <= 0.0:
        return -math.inf
    if k - 1 >= mean:  # the terms from k on decrease: sum them, in log space, from the first
        first = -mean + k * math.log(mean) - math.lgamma(k + 1)
        total, term = 1.0, 1.0
        for j in range(k + 1, k + 400):
            term *= mean / j
            total += term
            if term < 1e-17 * total:
                break
        return first + math.log(total)
    below = sum(math.exp(-mean + j * math.log(mean) - math.lgamma(j + 1)) for j in range(k))
    return math.log(max(1e-300, 1.0 - below))


def vertical(nodes: Sequence[Seen], size: float | None) -> list[Suspicion]:
    """Clusters of ids far denser than ``size`` uniform ids allow (see the module's docstring)."""
    if size is None or size <= 0 or len(nodes) < VERTICAL_RUN:
        return []
    ordered = sorted(nodes, key=lambda n: n.id)
    keys = [int.from_bytes(n.id, "big") for n in ordered]
    threshold = math.log(VERTICAL_ALPHA / max(size, len(nodes)))
    flagged: set[tuple[int, int]] = set()  # (bits shared, their value) of the runs flagged
    for i in range(len(keys) - VERTICAL_RUN + 1):
        shared = 160 - (keys[i] ^ keys[i + VERTICAL_RUN - 1]).bit_length()
        if log_poisson_tail(size / 2.0**shared, VERTICAL_RUN) < threshold:
            flagged.add((shared, keys[i] >> (160 - shared)))
    # a cluster is its shortest flagged prefix: drop the prefixes that extend another
    prefixes = {
        bits: value for bits, value in flagged
        if not any(b < bits and value >> (bits - b) == v for b, v in flagged)
    }
    found = []
    for bits, prefix in sorted(prefixes.items()):
        group = [n for n, k in zip(ordered, keys) if k >> (160 - bits) == prefix]
        target = (prefix << (160 - bits)).to_bytes(20, "big")
        expected = size / 2.0**bits
        found.append(Suspicion(
            "vertical",
            f"{len(group)} ids share their first {bits} bits ({target.hex()[: max(1, (bits + 3) // 4)]}...): "
            f"about {expected:.2g} expected there among {size:.0f} nodes",
            _ids(group), _addresses(group), target))
    return found


def id_ip(nodes: Sequence[Seen]) -> list[Suspicion]:
    by_ip: dict[str, list[Seen]] = defaultdict(list)
    for n in nodes:
        if n.bep42 is False:
            by_ip[n.address[0]].append(n)
    return [
        Suspicion("id-ip", f"{len(group)} ids on {ip} do not fit that IP (BEP 42)", _ids(group), _addresses(group))
        for ip, group in sorted(by_ip.items()) if len(group) >= BAD_IDS_PER_IP
    ]


def suspicions(nodes: Sequence[Seen], size: float | None) -> tuple[Suspicion, ...]:
    """Every sign of attack in ``nodes``, for a network of about ``size`` nodes."""
    return tuple(horizontal(nodes) + vertical(nodes, size) + id_ip(nodes))


def _ids(group: Sequence[Seen]) -> tuple[bytes, ...]:
    return tuple(sorted(n.id for n in group))


def _addresses(group: Sequence[Seen]) -> tuple[Address, ...]:
    return tuple(sorted({n.address for n in group}))
