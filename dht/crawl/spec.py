"""What a crawl is asked to do (:class:`CrawlSpec`), checked, and what one query tells it (:class:`FindNodeAnswer`).

Three kinds of crawl:

* ``zone``: every node whose id starts with a prefix of ``zone_bits`` bits
  (``zone_prefix``: the prefix, its first ``zone_bits`` bits; None: a random
  one), with a size estimate of the whole network that corrects for the
  nodes the crawl missed (:mod:`dht.crawl.estimate`);
* ``table``: the routing table of the node at ``table``, one find_node per
  bucket on crafted targets (as Nebula does);
* ``full``: every node reachable (a lab, a small network).

``budget``: queries a second (None: the node's QUERY_BUDGET; 0: no budget).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..core.contact import Address, Contact, check_host
from ..core.errors import AddressError, LocalError

CrawlKind = Literal["zone", "table", "full"]
KINDS = ("zone", "table", "full")
#: Longest zone prefix a crawl accepts, in bits (2^-32 of the Mainline DHT is empty).
MAX_ZONE_BITS = 32
#: Largest crawl budget, in queries a second.
MAX_BUDGET = 100_000.0


@dataclass(frozen=True, slots=True)
class CrawlSpec:
    """One crawl's orders (see the module's docstring); checked by :func:`check_spec`."""

    kind: CrawlKind = "full"
    zone_bits: int | None = None
    zone_prefix: bytes | None = None
    table: Address | None = None
    budget: float | None = None


@dataclass(frozen=True, slots=True)
class FindNodeAnswer:
    """One node's answer to a crawl's find_node: its id, the contacts it listed,
    its client (``v``, decoded and raw; None where the wire carries none) and
    whether it said it is read-only (BEP 43)."""

    id: bytes
    contacts: tuple[Contact, ...]
    client: str | None = None
    version: bytes | None = None
    read_only: bool = False


def check_spec(spec: object) -> CrawlSpec:
    """``spec`` if it is a valid :class:`CrawlSpec`; LocalError saying what is wrong otherwise."""
    if not isinstance(spec, CrawlSpec):
        raise LocalError(f"a crawl needs a CrawlSpec, not {spec!r:.60}")
    if spec.kind not in KINDS:
        raise LocalError(f"crawl kind must be one of {', '.join(KINDS)}, not {spec.kind!r}")
    if spec.budget is not None:
        b = spec.budget
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) or not 0 <= b <= MAX_BUDGET:
            raise LocalError(f"crawl budget must be queries a second from 0 to {MAX_BUDGET:g}, not {b!r}")
    if spec.kind == "zone":
        bits = spec.zone_bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= MAX_ZONE_BITS:
            raise LocalError(f"a zone crawl needs zone_bits from 0 to {MAX_ZONE_BITS}, not {bits!r}")
        prefix = spec.zone_prefix
        if prefix is not None and (not isinstance(prefix, bytes) or len(prefix) * 8 < bits or len(prefix) > 20):
            raise LocalError(f"zone_prefix must be bytes holding {bits} bits (at most 20 bytes), not {prefix!r:.60}")
    elif spec.zone_bits is not None or spec.zone_prefix is not None:
        raise LocalError(f"zone_bits and zone_prefix are for a zone crawl, not a {spec.kind} crawl")
    if spec.kind == "table":
        table = spec.table
        if not (isinstance(table, tuple) and len(table) == 2 and isinstance(table[0], str)
                and isinstance(table[1], int) and not isinstance(table[1], bool) and 0 < table[1] <= 0xFFFF):
            raise LocalError(f"a table crawl needs the node's address (host, port), not {table!r:.60}")
        try:
            check_host(table[0])
        except AddressError as exc:
            raise LocalError(f"table address {table[0]!r}: {exc}") from None
    elif spec.table is not None:
        raise LocalError(f"table is for a table crawl, not a {spec.kind} crawl")
    return spec


def zone_range(bits: int, prefix: bytes) -> tuple[int, int]:
    """The half-open range of ids (as integers) whose first ``bits`` bits are ``prefix``'s."""
    value = int.from_bytes(prefix.ljust(20, b"\0")[:20], "big") >> (160 - bits) if bits else 0
    lo = value << (160 - bits)
    return lo, lo + (1 << (160 - bits))
