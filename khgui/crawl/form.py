"""What the Crawl panel's form asks for, read into a :class:`dht.CrawlSpec`, or a one-line reason why not.

:func:`read_spec` takes the form's texts (the kind, the zone's bits, the
table's ``HOST:PORT``, the budget in queries a second) and returns the
crawl's spec.  Text that is not a number or an address is refused here,
with a :class:`FormError` saying what to type; the ranges (how many bits a
zone may have, how large a budget may be) are dht's, checked when the
crawl starts (``node.start_crawl`` raises a ``LocalError`` with the
limits), so the panel never holds a second copy of them.
"""

from __future__ import annotations

import math

from dht import CrawlSpec, parse_address
from dht.errors import LocalError

#: The kinds of crawl, with the words the form shows for them and what each does.
KINDS = {"full": "Full crawl", "zone": "Zone crawl", "table": "Table crawl"}
KIND_TIPS = {"full": "Every node reachable (a lab, a small network)",
             "zone": "The nodes whose ids start with a random n-bit prefix: the size of a large network "
                     "from a small share of it",
             "table": "One node's routing table, one find_node per bucket"}


class FormError(ValueError):
    """The form cannot be read; the text says what is wrong, in one line."""


def read_bits(text: str) -> int:
    """The zone's bits: a whole number (its range is dht's)."""
    text = text.strip()
    if not text:
        raise FormError("a zone crawl needs the zone's bits (e.g. 4: ids starting with 4 given bits)")
    try:
        return int(text)
    except ValueError:
        raise FormError(f"zone bits must be a whole number, not {text!r:.40}") from None


def read_budget(text: str) -> float | None:
    """Queries a second; empty: the node's own query budget (None)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormError(f"the budget must be queries a second (a number), not {text!r:.40}") from None
    if not math.isfinite(value) or value < 0:
        raise FormError(f"the budget must be 0 or more queries a second, not {text!r:.40}")
    return value


def read_address(text: str) -> tuple[str, int]:
    """The table crawl's node, ``HOST:PORT``."""
    text = text.strip()
    if not text:
        raise FormError("a table crawl needs the node's address, HOST:PORT")
    try:
        return parse_address(text)
    except LocalError as exc:
        raise FormError(f"table address {text!r:.60}: {exc}") from None


def read_spec(kind: str, bits: str = "", table: str = "", budget: str = "") -> CrawlSpec:
    """The spec of a crawl of ``kind`` ("full", "zone" or "table") from the form's texts;
    FormError (one line) when a text cannot be read.  A zone crawl takes a random zone."""
    if kind not in KINDS:
        raise FormError(f"the kind of crawl must be one of {', '.join(KINDS)}, not {kind!r:.20}")
    rate = read_budget(budget)
    if kind == "zone":
        return CrawlSpec("zone", zone_bits=read_bits(bits), budget=rate)
    if kind == "table":
        return CrawlSpec("table", table=read_address(table), budget=rate)
    return CrawlSpec("full", budget=rate)
