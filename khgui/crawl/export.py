"""The Crawl panel's exports: the nodes shown as CSV, or the census as one JSON document.

Both are ``write`` functions for :meth:`khgui.common.export.Exporter.export`
(run on its worker thread, from the records taken on the GUI thread: a
census can hold 100,000 nodes, formatted off the GUI thread).  The CSV holds
the node table's rows as shown (filtered and sorted), its columns, whole ids
and RTTs in ms (:func:`~khgui.crawl.model.node_cells`).  The JSON is
dht's own (:meth:`dht.Census.to_json`, what ``dht crawl --out FILE.json``
writes: the census's figures, suspicions with their evidence, ids hex, RTTs
in seconds) with the nodes shown.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence, TextIO

from dht import Census, CrawledNode

from ..common.export import csv_writer
from .model import NODE_COLUMNS, node_cells


def census_record(census: Census, nodes: Sequence[CrawledNode]) -> dict[str, Any]:
    """The census as ``dht crawl --out FILE.json`` writes it (:meth:`dht.Census.to_json`), with
    only ``nodes`` (those shown, in their order) under "nodes"; "found" still counts them all."""
    record = census.to_json()
    rows = {row["id"]: row for row in record["nodes"]}
    record["nodes"] = [rows[n.id.hex()] for n in nodes]
    return record


def nodes_csv_writer(nodes: Sequence[CrawledNode], suspected: dict[bytes, tuple[str, ...]]) -> Callable[[TextIO], int]:
    """A ``write`` for the Exporter: ``nodes`` as the node table's columns (``suspected``: the
    kinds of suspicion of each id)."""
    return csv_writer(NODE_COLUMNS, (node_cells(n, suspected.get(n.id, ())) for n in nodes))


def json_writer(census: Census, nodes: Sequence[CrawledNode]) -> Callable[[TextIO], int]:
    """A ``write`` for the Exporter: the census with ``nodes`` as one JSON document; counts the nodes."""
    def write(out: TextIO) -> int:
        json.dump(census_record(census, nodes), out, indent=1)
        out.write("\n")
        return len(nodes)
    return write
