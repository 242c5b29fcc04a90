"""A census as text, JSON and CSV rows: what ``dht crawl`` prints and writes (``--out``).

Ids and versions are hex; addresses ``host:port``; times seconds on the
crawling node's clock.  Nothing here touches a file: the caller writes.
"""

from __future__ import annotations

from typing import Any

from .census import Census, CrawledNode

CSV_FIELDS = ("id", "host", "port", "answered", "rtt", "client", "version", "bep42", "read_only",
              "first_seen", "last_seen", "listed_by")


def node_row(node: CrawledNode) -> dict[str, Any]:
    """One node as a flat row (``listed_by``: how many nodes listed it)."""
    return {
        "id": node.id.hex(), "host": node.address[0], "port": node.address[1], "answered": node.answered,
        "rtt": None if node.rtt is None else round(node.rtt, 6), "client": node.client,
        "version": None if node.version is None else node.version.hex(), "bep42": node.bep42,
        "read_only": node.read_only, "first_seen": round(node.first_seen, 6),
        "last_seen": round(node.last_seen, 6), "listed_by": len(node.listed_by),
    }


def census_json(census: Census) -> dict[str, Any]:
    """The census as JSON-ready values."""
    return {
        "kind": census.kind, "started": census.started, "finished": census.finished,
        "seconds": round(census.finished - census.started, 3), "asked": census.asked,
        "estimate": census.estimate, "low": census.low, "high": census.high, "missed": census.missed,
        "zone_bits": census.zone_bits,
        "zone_prefix": None if census.zone_prefix is None else census.zone_prefix.hex(),
        "in_zone": census.in_zone,
        "table": None if census.table is None else f"{census.table[0]}:{census.table[1]}",
        "found": len(census.nodes), "answered": census.answered, "answered_share": census.answered_share,
        "clients": census.clients, "bep42_share": census.bep42_share,
        "suspicions": [
            {"kind": s.kind, "evidence": s.evidence, "ids": [i.hex() for i in s.ids],
             "addresses": [f"{h}:{p}" for h, p in s.addresses],
             "target": None if s.target is None else s.target.hex()}
            for s in census.suspicions
        ],
        "nodes": [node_row(n) for n in census.nodes],
    }


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
