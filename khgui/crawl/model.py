"""The tables of a census: the nodes a crawl found, and the signs of attack with their evidence.

:class:`CrawledNodesModel` has one row per :class:`dht.CrawledNode` of a
census: its id, address, whether it answered, its round trip, its client,
whether its id fits its IP (BEP 42), the read-only flag, how many nodes
listed it, and the kinds of suspicion it is part of.  :class:`SuspicionsModel`
has one row per :class:`dht.Suspicion`: its kind, how many ids and addresses
it concerns, the target (a vertical cluster's) and the evidence in words.
Both are fed a whole census at once (:meth:`set_census`: one reset; a
crawl's census comes once, when it ends), sort by
:data:`~khgui.common.table.SORT_ROLE` (numbers as numbers) and export whole
ids and addresses through :data:`~khgui.common.export.EXPORT_ROLE`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt

from dht import Census, CrawledNode, Suspicion

from ..common.export import EXPORT_ROLE
from ..common.table import RIGHT, SORT_ROLE, TableModel

NODE_COLUMNS = ("id", "address", "answered", "RTT (ms)", "client", "BEP 42", "read-only", "listed by", "suspicion")
ID, ADDRESS, ANSWERED, RTT, CLIENT, BEP42, READ_ONLY, LISTED, SUSPICION = range(len(NODE_COLUMNS))
SUSPICION_COLUMNS = ("kind", "ids", "addresses", "target", "evidence")
KIND, IDS, ADDRESSES, TARGET, EVIDENCE = range(len(SUSPICION_COLUMNS))
#: What each kind of suspicion is called in the tables.
KIND_NAMES = {"horizontal": "horizontal Sybil", "vertical": "vertical Sybil (eclipse)", "id-ip": "id does not fit IP"}


def bep42_text(value: bool | None) -> str:
    return "\u2014" if value is None else ("fits" if value else "does not fit")


def address_text(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def node_cells(node: CrawledNode, kinds: tuple[str, ...]) -> list[str]:
    """A node's row as exported (whole id, RTT in ms to the microsecond), ``kinds``: the
    suspicions it is part of.  Plain data: the CSV export runs it off the GUI thread."""
    return [node.id.hex(), address_text(node.address), "yes" if node.answered else "no",
            "" if node.rtt is None else f"{node.rtt * 1000:.3f}", node.client or "", bep42_text(node.bep42),
            "yes" if node.read_only else "", str(len(node.listed_by)),
            ", ".join(KIND_NAMES.get(k, k) for k in kinds)]


class CrawledNodesModel(TableModel[CrawledNode]):
    """The nodes of a census, one a row (see the module's docstring)."""

    columns = NODE_COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._suspected: dict[bytes, tuple[str, ...]] = {}

    def set_census(self, census: Census | None) -> None:
        """Show the nodes of ``census`` (None: none), with one reset."""
        suspected: dict[bytes, list[str]] = {}
        for s in census.suspicions if census is not None else ():
            for node_id in s.ids:
                kinds = suspected.setdefault(node_id, [])
                if s.kind not in kinds:
                    kinds.append(s.kind)
        self._suspected = {k: tuple(v) for k, v in suspected.items()}
        self.reset_rows(list(census.nodes) if census is not None else [])

    def suspected(self) -> dict[bytes, tuple[str, ...]]:
        """The kinds of suspicion of every id in one (a copy)."""
        return dict(self._suspected)

    def suspicions_of(self, node_id: bytes) -> tuple[str, ...]:
        """The kinds of suspicion the node with ``node_id`` is part of."""
        return self._suspected.get(node_id, ())

    def cell(self, node: CrawledNode, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(node, column)
        if role == SORT_ROLE:
            return self._sort(node, column)
        if role == EXPORT_ROLE:
            return node_cells(node, self.suspicions_of(node.id))[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == LISTED:
                return "listed by " + ", ".join(i.hex()[:12] for i in node.listed_by[:20]) + (
                    "\u2026" if len(node.listed_by) > 20 else "") if node.listed_by else "listed by no node asked"
            return node.id.hex()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (RTT, LISTED):
            return RIGHT
        return None

    def _text(self, node: CrawledNode, column: int) -> str:
        if column == ID:
            return node.id.hex()[:16] + "\u2026"
        if column == ADDRESS:
            return address_text(node.address)
        if column == ANSWERED:
            return "yes" if node.answered else "no"
        if column == RTT:
            return "" if node.rtt is None else f"{node.rtt * 1000:.1f}"
        if column == CLIENT:
            return node.client or ""
        if column == BEP42:
            return bep42_text(node.bep42)
        if column == READ_ONLY:
            return "yes" if node.read_only else ""
        if column == LISTED:
            return str(len(node.listed_by))
        if column == SUSPICION:
            return ", ".join(KIND_NAMES.get(k, k) for k in self.suspicions_of(node.id))
        return ""

    def _sort(self, node: CrawledNode, column: int) -> Any:
        if column == ID:
            return node.id.hex()
        if column == ADDRESS:
            host, port = node.address
            return f"{host}:{port:05d}"
        if column == RTT:
            return node.rtt if node.rtt is not None else float("inf")
        if column == LISTED:
            return len(node.listed_by)
        return self._text(node, column)


class SuspicionsModel(TableModel[Suspicion]):
    """The signs of attack of a census, with their evidence (see the module's docstring)."""

    columns = SUSPICION_COLUMNS

    def set_census(self, census: Census | None) -> None:
        self.reset_rows(list(census.suspicions) if census is not None else [])

    def cell(self, s: Suspicion, column: int, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, EXPORT_ROLE):
            if column == KIND:
                return KIND_NAMES.get(s.kind, s.kind)
            if column == IDS:
                return str(len(s.ids))
            if column == ADDRESSES:
                shown = ", ".join(address_text(a) for a in s.addresses[:3])
                return shown + (f" (+{len(s.addresses) - 3})" if len(s.addresses) > 3 else "")
            if column == TARGET:
                if s.target is None:
                    return ""
                return s.target.hex() if role == EXPORT_ROLE else s.target.hex()[:16] + "\u2026"
            if column == EVIDENCE:
                return s.evidence
        if role == SORT_ROLE:
            return (s.kind, len(s.ids), len(s.addresses), s.target.hex() if s.target else "", s.evidence)[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return s.evidence + "\n" + "\n".join(i.hex() for i in s.ids[:30]) + ("\n\u2026" if len(s.ids) > 30 else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and column == IDS:
            return RIGHT
        return None
