"""The Crawl panel's exports: the nodes shown as CSV, or the census as one JSON document.

Both are ``write`` functions for :meth:`khgui.common.export.Exporter.export`
(run on its worker thread, from the records taken on the GUI thread: a
census can hold 100,000 nodes, formatted off the GUI thread).  The CSV holds
the node table's rows as shown (filtered and sorted), its columns, whole ids
and RTTs in ms (:func:`~khgui.crawl.model.node_cells`).  The JSON holds
the census's figures (kind, times, estimate and interval, shares, clients,
suspicions with their evidence) and the nodes shown, with the keys and
units ``dht crawl --out FILE.json`` writes (ids hex, RTTs in seconds).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence, TextIO

from dht import Census, CrawledNode, Suspicion

from ..common.export import csv_writer
from .model import NODE_COLUMNS, node_cells


def node_record(node: CrawledNode) -> dict[str, Any]:
    """One node as JSON, as ``dht crawl --out FILE.json`` writes it (``listed_by``: how many
    nodes listed it; ``rtt`` in seconds)."""
    return {
        "id": node.id.hex(), "host": node.address[0], "port": node.address[1], "answered": node.answered,
        "rtt": None if node.rtt is None else round(node.rtt, 6), "client": node.client,
        "version": None if node.version is None else node.version.hex(), "bep42": node.bep42,
        "read_only": node.read_only, "first_seen": round(node.first_seen, 6),
        "last_seen": round(node.last_seen, 6), "listed_by": len(node.listed_by),
    }


def suspicion_record(s: Suspicion) -> dict[str, Any]:
    return {"kind": s.kind, "evidence": s.evidence, "ids": [i.hex() for i in s.ids],
            "addresses": [f"{h}:{p}" for h, p in s.addresses], "target": None if s.target is None else s.target.hex()}


def census_record(census: Census, nodes: Sequence[CrawledNode]) -> dict[str, Any]:
    """The census's figures and ``nodes`` (those shown) as one JSON object, with the keys of
    ``dht crawl --out FILE.json`` (``found``: every node the crawl found, shown or not)."""
    return {
        "kind": census.kind, "started": census.started, "finished": census.finished,
        "seconds": round(census.finished - census.started, 3), "asked": census.asked,
        "estimate": census.estimate, "low": census.low, "high": census.high, "missed": census.missed,
        "zone_bits": census.zone_bits, "zone_prefix": None if census.zone_prefix is None else census.zone_prefix.hex(),
        "in_zone": census.in_zone, "table": None if census.table is None else f"{census.table[0]}:{census.table[1]}",
        "found": len(census.nodes), "answered": census.answered, "answered_share": census.answered_share,
        "clients": dict(census.clients), "bep42_share": census.bep42_share,
        "suspicions": [suspicion_record(s) for s in census.suspicions],
        "nodes": [node_record(n) for n in nodes],
    }


def nodes_csv_writer(nodes: Sequence[CrawledNode], suspected: dict[bytes, tuple[str, ...]]) -> Callable[[TextIO], int]:
    """A ``write`` for the Exporter: ``nodes`` as the node table's columns (``suspected``: the
    kinds of suspicion of each id)."""
    return csv_writer(NODE_COLUMNS, (node_cells(n, suspected.get(n.id, ())) for n in nodes))


def json_writer(census: Census, nodes: Sequence[CrawledNode]) -> Callable[[TextIO], int]:
    """A ``write`` for the Exporter: the census as one JSON document; counts the nodes."""
    def write(out: TextIO) -> int:
        json.dump(census_record(census, nodes), out, indent=1)
        out.write("\n")
        return len(nodes)
    return write
