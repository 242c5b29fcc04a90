"""A census as text, JSON and CSV rows: what ``dht crawl`` prints and writes (``--out``).

The JSON and the rows are :meth:`Census.to_json` and :meth:`Census.rows`
(:mod:`dht.crawl.census`); this adds the few lines for people.  Nothing
here touches a file: the caller writes.
"""

from __future__ import annotations

from .census import CSV_FIELDS, Census, census_json, node_row

__all__ = ["CSV_FIELDS", "census_json", "census_text", "node_row"]

def census_text(census: Census) -> list[str]:
    """The census in a few lines, for people."""
    seconds = census.finished - census.started
    lines = [f"census: {census.kind} crawl, {len(census.nodes)} nodes found, {census.answered} answered "
             f"({100 * census.answered_share:.1f} % of those asked), {census.asked} queries in {seconds:.1f} s"]
    if census.estimate is None:
        lines.append("size: unknown (nothing found)")
    else:
        lines.append(f"size: {census.estimate:.0f} nodes (95 % interval {census.low:.0f}-{census.high:.0f})")
    if census.zone_bits is not None and census.zone_prefix is not None:
        prefix = int.from_bytes(census.zone_prefix, "big") >> (160 - census.zone_bits) if census.zone_bits else 0
        shown = format(prefix, f"0{census.zone_bits}b") if census.zone_bits else "(all)"
        lines.append(f"zone: ids starting {shown} ({census.zone_bits} bits), {census.in_zone} nodes there, "
                     f"{100 * census.missed:.1f} % taken as missed")
    if census.clients:
        lines.append("clients: " + ", ".join(f"{name} {count}" for name, count in census.clients.items()))
    if census.bep42_share is not None:
        lines.append(f"BEP 42: {100 * census.bep42_share:.1f} % of the ids checked fit their IP")
    if not census.suspicions:
        lines.append("suspicions: none")
    for s in census.suspicions:
        lines.append(f"suspicion ({s.kind}): {s.evidence}")
    return lines
