"""The outgoing query budget: how many queries a second our node may send (politeness on the public DHT).

:class:`QueryBudget` keeps two settings in QSettings, one for the public
Mainline DHT (default :data:`PUBLIC_DEFAULT` queries a second) and one for
every other network, the local lab first (default 0: no budget), each from
0 to :data:`MAX_BUDGET`; :meth:`QueryBudget.apply` hands the one for the
network our node is on to ``node.set_query_budget``.  Over budget, ``dht``
holds queries back (FIFO) rather than failing them; the status bar shows
the budget and how many wait.  :class:`QueryBudgetDialog` (Network ▸ Query
budget…) edits both; a value that is not a number in range is a message in
the dialog, and a saved value out of range a message in the window, the
default used instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..common.theme import set_state

if TYPE_CHECKING:
    from dht import Node

    from ..controller import NetworkController

PUBLIC_DEFAULT = 20.0
LAB_DEFAULT = 0.0
MAX_BUDGET = 1000.0
PUBLIC_KEY = "network/query_budget_public"
LAB_KEY = "network/query_budget_lab"


class BudgetError(ValueError):
    """A budget that is not a number from 0 to MAX_BUDGET; the text says what to type."""


def parse_budget(text: Any) -> float:
    """A budget from text or a number: 0 (none) to MAX_BUDGET queries a second, else BudgetError."""
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= MAX_BUDGET:  # NaN fails too
        raise BudgetError(f"the query budget must be a number from 0 (no budget) to {MAX_BUDGET:g} queries "
                          f"a second, not {str(text).strip() or 'nothing'!r}")
    return value


def describe_budget(per_second: float) -> str:
    return "no budget" if per_second <= 0 else f"{per_second:g} queries/s"


class QueryBudget:
    """The budgets kept in QSettings, and applying them to a node."""

    def __init__(self, settings: QSettings) -> None:
        self._settings = settings
        self.problems: list[str] = []
        """Saved values that were out of range (each said once, the default used)."""
        self.said: tuple[bytes | None, float | None] = (None, None)
        """(our node's id, its budget) last said in the window."""

    def _read(self, key: str, default: float) -> float:
        raw = self._settings.value(key, default)
        try:
            return parse_budget(raw)
        except BudgetError as exc:
            self.problems.append(f"saved {exc}: using {describe_budget(default)}")
            self._settings.remove(key)
            return default

    def public(self) -> float:
        return self._read(PUBLIC_KEY, PUBLIC_DEFAULT)

    def lab(self) -> float:
        return self._read(LAB_KEY, LAB_DEFAULT)

    def for_network(self, network: str) -> float:
        """The budget for ``network`` ("public", "lab", or bootstrap addresses: the lab's)."""
        return self.public() if network == "public" else self.lab()

    def set(self, public: float, lab: float) -> None:
        self._settings.setValue(PUBLIC_KEY, parse_budget(public))
        self._settings.setValue(LAB_KEY, parse_budget(lab))

    def apply(self, node: "Node | None", network: str) -> float | None:
        """Set ``node``'s budget for ``network``; the budget, or None without a running node."""
        if node is None or not node.running:
            return None
        budget = self.for_network(network)
        node.set_query_budget(budget)
        return budget


class QueryBudgetDialog(QDialog):
    """Network ▸ Query budget…: queries per second on the public DHT and elsewhere.

    Signals:
        applied(): the settings were saved (the window applies them to our node).
    """

    applied = Signal()

    def __init__(self, budget: QueryBudget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Outgoing query budget")
        self._budget = budget
        self.message_label = QLabel()
        self.public_edit = QLineEdit(f"{budget.public():g}")
        self.lab_edit = QLineEdit(f"{budget.lab():g}")
        for edit in (self.public_edit, self.lab_edit):
            edit.setPlaceholderText(f"0 to {MAX_BUDGET:g}")
            edit.textChanged.connect(lambda _t: self.message_label.hide())
        intro = QLabel("Queries per second our node may send; over budget they wait their turn. "
                       "Be a polite citizen of the public DHT. 0: no budget.")
        intro.setWordWrap(True)
        self.message_label.setWordWrap(True)
        set_state(self.message_label, "error")
        self.message_label.hide()
        form = QFormLayout()
        form.addRow("Public Mainline DHT", self.public_edit)
        form.addRow("Local lab and other networks", self.lab_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)

    def message(self) -> str:
        return self.message_label.text() if not self.message_label.isHidden() else ""

    def try_accept(self) -> bool:
        """Save and close if both values are in range; else say what is wrong and stay open."""
        try:
            public = parse_budget(self.public_edit.text())
            lab = parse_budget(self.lab_edit.text())
        except BudgetError as exc:
            text = str(exc)
            self.message_label.setText(text[:1].upper() + text[1:] + ".")
            self.message_label.show()
            return False
        self._budget.set(public, lab)
        self.applied.emit()
        self.accept()
        return True


def budget_dialog(parent: QWidget, budget: QueryBudget, applied: Callable[[], None]) -> QueryBudgetDialog:
    """Open the dialog over ``parent``; ``applied`` is called when budgets are saved (the window
    gives them to its node at once)."""
    dialog = QueryBudgetDialog(budget, parent)
    dialog.applied.connect(applied)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def apply_budget(controller: "NetworkController", budget: QueryBudget,
                 show_error: Callable[[str], None], show_message: Callable[[str], None]) -> None:
    """Give the controller's node the budget of its network; problems are messages in the window."""
    try:
        applied = budget.apply(controller.node, controller.network)
    except Exception as exc:  # dht's LocalError: a value it refuses
        show_error(f"could not set the query budget: {exc}")
        return
    for problem in budget.problems:
        show_error(problem)
    budget.problems.clear()
    node = controller.node
    said = (node.id if node is not None else None, applied)
    if applied is not None and said != budget.said:  # once, not at each network change
        budget.said = said
        show_message(f"query budget: {describe_budget(applied)}")
