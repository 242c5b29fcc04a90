"""What the Crawl panel says and draws of a crawl, computed from dht's events and census (no Qt).

* :func:`describe_progress`: one line for a ``CrawlProgress`` (queries,
  answers, nodes found, the estimate with its interval so far);
* :func:`describe_census`: the census in a few lines (nodes, the share that
  answers, the estimate with its interval, BEP 42, suspicions) and, after a
  repeat crawl of the same kind, who joined, left or changed
  (``census.compare(previous)``);
* the charts' data: :func:`client_shares`, :func:`rtt_histogram`,
  :func:`answer_counts` (of the nodes a crawl meant to ask: a zone crawl's
  zone) and :func:`bep42_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dht import Census, CensusDiff, CrawledNode
from dht.events import CrawlProgress

from ..common.text import plural

#: Clients drawn by name; the rest are summed as "other".
MAX_CLIENTS = 8
#: Bins of the RTT histogram.
RTT_BINS = 20


def size_text(estimate: float | None, low: float | None, high: float | None) -> str:
    """"≈2,010 nodes (95 %: 1,850–2,190)", or "no estimate yet"."""
    if estimate is None:
        return "no estimate yet"
    text = f"\u2248{estimate:,.0f} nodes"
    if low is not None and high is not None:
        text += f" (95 %: {low:,.0f}\u2013{high:,.0f})"
    return text


def describe_progress(event: CrawlProgress, elapsed: float) -> str:
    """One line for a crawl under way."""
    return (f"{elapsed:.1f} s: {plural(event.asked, 'query', 'queries')} asked, "
            f"{plural(event.answered, 'node')} answered, {plural(event.found, 'node')} found; "
            f"size {size_text(event.estimate, event.low, event.high)}")


def percent(share: float | None) -> str:
    return "\u2014" if share is None else f"{share * 100:.0f} %"


def describe_census(census: Census, stopped: bool = False, diff: CensusDiff | None = None) -> str:
    """The census in a few lines (see the module's docstring)."""
    nodes = census.nodes
    answered = sum(1 for n in nodes if n.answered)
    what = {"zone": f"zone crawl ({census.zone_bits} bits, {plural(census.in_zone, 'node')} in the zone)",
            "table": "table crawl" + (f" of {census.table[0]}:{census.table[1]}" if census.table else ""),
            "full": "full crawl"}.get(census.kind, census.kind)
    lines = [
        f"{what[:1].upper()}{what[1:]}{', stopped' if stopped else ''}: "
        f"{census.finished - census.started:.1f} s, {plural(census.asked, 'query', 'queries')}; "
        f"{plural(len(nodes), 'node')} found, {answered:,} answered ({percent(census.answered_share)} of those asked).",
        f"Network size: {size_text(census.estimate, census.low, census.high)}"
        + (f"; {percent(census.missed)} of the zone taken to be missed." if census.kind == "zone" else "."),
        ("BEP 42: ids not checked on this network; " if census.bep42_share is None
         else f"BEP 42: {percent(census.bep42_share)} of the ids checked fit their IP; ")
        + (f"{plural(len(census.suspicions), 'suspicion')} (see Suspicions)." if census.suspicions
           else "no sign of attack."),
    ]
    if diff is not None:
        lines.append(f"Since the last {census.kind} crawl: {len(diff.joined):,} joined, {len(diff.left):,} left, "
                     f"{len(diff.changed):,} changed address or id.")
    return "\n".join(lines)


def client_shares(census: Census, most: int = MAX_CLIENTS) -> list[tuple[str, float]]:
    """(client, per cent of the answered nodes that name one), the most common first;
    past ``most`` clients the rest are one "other"."""
    counts = sorted(census.clients.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(c for _name, c in counts)
    if not total:
        return []
    shown = counts[:most]
    rest = sum(c for _name, c in counts[most:])
    if rest:
        shown.append(("other", rest))
    return [(name, 100.0 * c / total) for name, c in shown]


@dataclass(frozen=True)
class Histogram:
    """Counts of the values between consecutive ``edges`` (milliseconds)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


def rtt_histogram(nodes: Sequence[CrawledNode], bins: int = RTT_BINS) -> Histogram:
    """The round trips (ms) of the nodes that answered, in ``bins`` equal bins."""
    rtts = np.array([n.rtt * 1000.0 for n in nodes if n.rtt is not None])
    if not len(rtts):
        return Histogram((), ())
    top = float(rtts.max())
    counts, edges = np.histogram(rtts, bins=bins, range=(0.0, top if top > 0 else 1.0))
    return Histogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts))


def in_zone(census: Census) -> list[CrawledNode]:
    """The nodes a crawl meant to ask: a zone crawl's zone, every node otherwise."""
    bits, prefix = census.zone_bits, census.zone_prefix
    if census.kind != "zone" or not bits or prefix is None:
        return list(census.nodes)
    want = int.from_bytes(prefix.ljust(20, b"\0")[:20], "big") >> (160 - bits)
    return [n for n in census.nodes if int.from_bytes(n.id, "big") >> (160 - bits) == want]


def answer_counts(census: Census) -> tuple[int, int]:
    """(answered, silent) among the nodes the crawl meant to ask (:func:`in_zone`)."""
    nodes = in_zone(census)
    answered = sum(1 for n in nodes if n.answered)
    return answered, len(nodes) - answered


def bep42_counts(nodes: Sequence[CrawledNode]) -> tuple[int, int, int]:
    """(ids that fit their IP, ids that do not, ids not checked: exempt or unchecked network)."""
    fits = sum(1 for n in nodes if n.bep42 is True)
    bad = sum(1 for n in nodes if n.bep42 is False)
    return fits, bad, len(nodes) - fits - bad
