"""Qt models of our node's routing table: the buckets and one bucket's contacts.

:func:`bucket_rows` turns ``node.routing_table()`` (a list of ``BucketInfo``)
into :class:`BucketRow` records with each bucket's prefix depth and binary
prefix.  :class:`BucketListModel` lists the buckets, :class:`ContactTableModel`
the contacts of the selected bucket.  Both keep row identity across refreshes
(they emit ``dataChanged`` when only values changed, a reset otherwise).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from PySide6.QtCore import Qt

from ..common.table import RIGHT, SORT_ROLE, TableModel
from ..common.text import format_peer
from ..common.theme import status_color

ID_BITS = 160
#: The last-seen cell of a contact that never answered one of our requests.
NEVER_ANSWERED = "never answered"
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)


def bucket_depth(lo: int, hi: int) -> int:
    """The prefix length d of a bucket [lo, hi) of size 2^(160-d)."""
    size = max(1, hi - lo)
    return max(0, ID_BITS - (size.bit_length() - 1))


def bucket_prefix(lo: int, hi: int) -> str:
    """The first d bits of ``lo`` as a string of 0 and 1 ("" for the whole space)."""
    depth = bucket_depth(lo, hi)
    if depth == 0:
        return ""
    return format(lo >> (ID_BITS - depth), f"0{depth}b")


def id_bits(node_id: bytes, count: int) -> str:
    """The first ``count`` bits of an id."""
    if count <= 0:
        return ""
    return format(int.from_bytes(node_id, "big"), f"0{ID_BITS}b")[:count]


def short_hex(value: int, digits: int = 10) -> str:
    """An id-space number as hex, truncated: ``3a9f00...``."""
    text = format(value, "040x")
    return text[:digits] + "\u2026"


def format_age(seconds: float) -> str:
    """``3.2 s``, ``4 min``, ``2.0 h``."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class BucketRow:
    """One k-bucket as displayed."""

    lo: int
    hi: int
    depth: int
    prefix: str
    last_accessed: float
    contacts: list[Any] = field(default_factory=list)  # ContactInfo
    own: bool = False  # our id lies in this bucket

    @property
    def key(self) -> tuple[int, int]:
        return (self.lo, self.hi)

    def contains(self, value: int) -> bool:
        return self.lo <= value < self.hi


def bucket_rows(buckets: Sequence[Any], own_id: bytes | None) -> list[BucketRow]:
    """``BucketRow``s from ``node.routing_table()``, sorted by ``lo``."""
    own = int.from_bytes(own_id, "big") if own_id else -1
    rows = [
        BucketRow(
            lo=b.lo, hi=b.hi, depth=bucket_depth(b.lo, b.hi), prefix=bucket_prefix(b.lo, b.hi),
            last_accessed=b.last_accessed, contacts=list(b.contacts), own=b.lo <= own < b.hi,
        )
        for b in buckets
    ]
    rows.sort(key=lambda r: r.lo)
    return rows


class BucketListModel(TableModel[BucketRow]):
    """The buckets of the routing table, one row each."""

    HEADERS = ("Prefix", "Depth", "Contacts", "Age", "Range")
    columns = HEADERS

    def __init__(self, k: int = 8, parent: Any = None) -> None:
        super().__init__(parent)
        self.k = k
        self.now = time.monotonic()

    # -- data in -------------------------------------------------------------

    def set_buckets(self, rows: list[BucketRow], now: float | None = None) -> None:
        """Show ``rows``; a reset only when the set of buckets changed."""
        self.now = time.monotonic() if now is None else now
        self.replace_rows(rows, key=lambda r: r.key, changed_only=False)  # the ages moved with `now`

    def tick(self, now: float | None = None) -> None:
        """The clock moved: the Age column again (one dataChanged, no read of the node)."""
        self.now = time.monotonic() if now is None else now
        self.rows_changed(0, len(self._rows) - 1, 3, 3)

    def find(self, value: int) -> int:
        """The row of the bucket holding id ``value``, or -1."""
        for i, r in enumerate(self._rows):
            if r.contains(value):
                return i
        return -1

    def contact_count(self) -> int:
        return sum(len(r.contacts) for r in self._rows)

    # -- cells -----------------------------------------------------------------

    def cell(self, r: BucketRow, col: int, role: int) -> Any:
        if role == _DISPLAY:
            if col == 0:
                return r.prefix or "(all)"
            if col == 1:
                return str(r.depth)
            if col == 2:
                return f"{len(r.contacts)}/{self.k}"
            if col == 3:
                return format_age(self.now - r.last_accessed)
            if col == 4:
                return f"{short_hex(r.lo)} \u2013 {short_hex(r.hi - 1)}"
        if role == SORT_ROLE:
            lo = format(r.lo, "040x")
            return (lo, r.depth, len(r.contacts), self.now - r.last_accessed, lo)[col]
        if role == _TOOLTIP:
            return f"[{r.lo:040x},\n {r.hi:040x})"
        return None


#: The contact table's Client and BEP 42 columns (shown only where the profile carries them).
CLIENT, ID_VALID = 5, 6


class ContactTableModel(TableModel[Any]):
    """The contacts of one bucket: id, address, last seen, failures, RTT, client (its ``v``, with its
    two-letter code when ``census`` knows it) and whether its id fits its IP under BEP 42."""

    HEADERS = ("Node id", "Address", "Last seen", "Failures", "RTT", "Client", "BEP 42")
    columns = HEADERS

    def __init__(self, parent: Any = None, census: Any = None) -> None:
        super().__init__(parent)
        self.now = time.monotonic()
        self.census = census
        """A :class:`~khgui.common.clients.ClientCensus`: each contact's client code."""

    def set_contacts(self, contacts: list[Any], now: float | None = None) -> None:
        """Show ``contacts`` (``ContactInfo`` records)."""
        self.now = time.monotonic() if now is None else now
        self.replace_rows(contacts, key=lambda c: c.contact.id, changed_only=False)  # so did the last seen

    def tick(self, now: float | None = None) -> None:
        """The clock moved: the Last seen column again (one dataChanged, no read of the node)."""
        self.now = time.monotonic() if now is None else now
        self.rows_changed(0, len(self._rows) - 1, 2, 2)

    def contacts(self) -> list[Any]:
        return self.rows()

    def cell(self, info: Any, col: int, role: int) -> Any:
        if role == _DISPLAY:
            if col == 0:
                return info.contact.id.hex()[:16] + "\u2026"
            if col == 1:
                return format_peer(info.contact.address)
            if col == 2:
                if info.last_seen is None:
                    return NEVER_ANSWERED
                return format_age(self.now - info.last_seen) + " ago"
            if col == 3:
                return str(info.failures)
            if col == 4:
                return "\u2013" if info.rtt is None else f"{info.rtt * 1000:.1f} ms"
            if col == 5:
                return self.client_text(info)
            if col == 6:
                return ID_VALID_TEXT[info.id_valid]
        if role == SORT_ROLE:
            rtt = -1.0 if info.rtt is None else info.rtt
            age = float("inf") if info.last_seen is None else self.now - info.last_seen
            return (info.contact.id.hex(), f"{info.contact.host}:{info.contact.port:05d}",
                    age, info.failures, rtt, self.client_text(info),
                    ID_VALID_TEXT[info.id_valid])[col]
        if role == _TOOLTIP and col == 0:
            return info.contact.id.hex()
        if role == _TOOLTIP and col == 2:
            if info.last_seen is None:
                return ("It has never answered one of our requests (loaded from the database or "
                        "seen only in a query): the first to be pinged and replaced, and not handed out.")
            return "Last answered one of our requests."
        if role == _TOOLTIP and col == 5:
            return ("The implementation it says it runs (its v), as it last told us."
                    if getattr(info, "client", None) else "It never told us its client (no v).")
        if role == _TOOLTIP and col == 6:
            return ID_VALID_TIPS[info.id_valid]
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= col <= 4:
            return RIGHT
        if role == Qt.ItemDataRole.ForegroundRole and col == 3 and info.failures:
            return status_color("error")
        if role == Qt.ItemDataRole.ForegroundRole and col == 6 and info.id_valid is not None:
            return status_color("values" if info.id_valid else "error")
        return None

    def client_text(self, info: Any) -> str:
        """``LT · libtorrent (Rasterbar) 2.1.1``: its code (when known) and client, or a dash."""
        name = _client(info)
        code = self.census.contact_code(info) if self.census is not None else None
        if not code or code == "?":
            return name
        return code if name == "\u2013" or name.startswith(code) else f"{code} \u00b7 {name}"


#: The BEP 42 cell: does the contact's id fit its IP (None: exempt address, or Khashmir).
ID_VALID_TEXT = {True: "\u2713 valid", False: "\u2717 invalid", None: "\u2013"}
ID_VALID_TIPS = {
    True: "Its id fits its IP address (BEP 42).",
    False: "Its id does not fit its IP address (BEP 42): nodes that enforce BEP 42 keep it out.",
    None: "No BEP 42 check: a local, private or loopback address (exempt), or a Khashmir node.",
}


def _client(info: Any) -> str:
    """The contact's client name and version (``ContactInfo.client``), or a dash."""
    client = getattr(info, "client", None)
    return str(client) if client else "\u2013"
