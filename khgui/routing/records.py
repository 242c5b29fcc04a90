"""The routing table as CSV rows, for the routing panel's Export table.

:func:`table_records` lists every contact of every bucket (whole ids, the
bucket's prefix and range, Last seen in seconds ago, RTT in ms), with the
Client and BEP 42 columns only when the panel shows them (the profile's
wire carries them).  The rows are a snapshot, taken on the GUI thread; the
panel's :class:`~khgui.common.export.Exporter` writes them off it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

#: The words a contact's BEP 42 verdict is written as.
BEP42_WORDS = {True: "valid", False: "invalid", None: "exempt"}


def table_records(rows: Iterable[Any], now: float, client_text: Callable[[Any], str] | None,
                  bep42: bool) -> tuple[list[str], list[list[Any]]]:
    """The header and the rows of every contact of ``rows`` (the buckets shown, ``BucketRow``s)
    at ``now``; ``client_text`` (None: no Client column) names a contact's client."""
    client = client_text is not None
    header = ["bucket", "bucket_lo", "bucket_hi", "node_id", "host", "port", "last_seen_s_ago", "failures",
              "rtt_ms"] + (["client"] if client else []) + (["bep42"] if bep42 else [])
    out: list[list[Any]] = []
    for r in rows:
        for info in r.contacts:
            c = info.contact
            row: list[Any] = [
                r.prefix or "(all ids)", format(r.lo, "040x"), format(r.hi - 1, "040x"), c.id.hex(), c.host,
                c.port, "" if info.last_seen is None else f"{now - info.last_seen:.1f}", info.failures,
                "" if info.rtt is None else f"{info.rtt * 1000:.1f}"]
            if client_text is not None:
                row.append(client_text(info))
            if bep42:
                row.append(BEP42_WORDS[info.id_valid])
            out.append(row)
    return header, out
