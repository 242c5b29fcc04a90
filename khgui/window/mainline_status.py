"""The status bar's Mainline pieces: our external address (BEP 42) and the query budget.

:class:`MainlineStatusView` shows, from the node's ``StatsSnapshot`` (the
window polls it once a second): the external address the ``ip`` votes of
our responders agree on, with how many votes are behind it, and whether our
id fits that address under BEP 42 (✓ fits, ✗ does not: nodes that enforce
BEP 42 keep us out of their tables); and the outgoing query budget with the
queries waiting for it right now.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ..common.theme import set_state
UNKNOWN = "ext. address unknown"


def id_fit_text(valid: bool | None) -> tuple[str, str]:
    """(text, state) for whether an id fits its address under BEP 42."""
    if valid is None:
        return "BEP 42 n/a", "hint"
    return ("id \u2713 BEP 42", "ok") if valid else ("id \u2717 BEP 42", "warn")


class MainlineStatusView(QWidget):
    """External address and id validity; query budget and queries waiting."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.external = QLabel(UNKNOWN)
        self.external.setToolTip("Our external address: what the nodes that answer us see (their ip field, "
                                 "BEP 42), with how many of them agree")
        self.id_fit = QLabel()
        self.id_fit.setToolTip("Whether our id fits our external address (BEP 42): nodes that enforce it keep "
                               "ids that do not fit out of their tables. n/a: a local or private address")
        self.budget = QLabel()
        self.budget.setToolTip("Outgoing query budget (Network \u25b8 Query budget\u2026); over budget, "
                               "queries wait their turn")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        for w in (self.external, self.id_fit, self.budget):
            layout.addWidget(w)
        self.show_stats(None)

    def show_node(self, node: Any) -> None:
        """From ``node.stats()`` (None, a stopped node: nothing)."""
        snapshot = None
        if node is not None and getattr(node, "running", False):
            try:
                snapshot = node.stats()
            except Exception:  # a lab node that died meanwhile
                snapshot = None
        self.show_stats(snapshot)
        if snapshot is not None and len(tuple(getattr(node, "families", ()) or ())) > 1:
            self.show_externals(node.external_addresses(), node.families[0])

    def show_externals(self, found: dict[str, tuple[str, int]], primary: str = "IPv4") -> None:
        """A dual-stack node's external address per family (each side's `ip` votes, BEP 42);
        the primary family's alone stays as show_stats put it."""
        if found and set(found) != {primary}:
            self.external.setText("ext. " + " \u00b7 ".join(
                f"{family} {address} ({votes} vote{'s' if votes != 1 else ''})"
                for family, (address, votes) in found.items()))

    def show_stats(self, snapshot: Any) -> None:
        """From a ``StatsSnapshot`` (None: no node)."""
        if snapshot is None:
            self.external.setText(UNKNOWN)
            self.id_fit.setText("")
            self.budget.setText("")
            return
        address = snapshot.external_address
        votes = int(snapshot.external_votes)
        self.external.setText(f"ext. {address} ({votes} vote{'s' if votes != 1 else ''})" if address else UNKNOWN)
        text, state = id_fit_text(snapshot.id_valid)
        self.id_fit.setText(text)
        set_state(self.id_fit, state)
        budget = float(snapshot.query_budget)
        waiting = int(snapshot.queries_waiting)
        self.budget.setText(f"budget {budget:g}/s, {waiting} waiting" if budget > 0 else "no query budget")
        set_state(self.budget, "warn" if waiting else "hint")
