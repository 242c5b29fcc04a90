"""Joining the public Mainline DHT: its routers, the read-only toggle, the first-time confirmation.

:class:`PublicSettings` keeps, in QSettings, the routers to bootstrap
through (``dht.PUBLIC_ROUTERS`` until the user edits them), whether our
node joins read-only (BEP 43: on by default, so the explorer asks and never
serves) and whether the user already confirmed joining once.

:class:`PublicJoinDialog` says what joining will do (a UDP port open on
every interface, the routers and then nodes across the Internet contacted,
our IP address seen by them), lets the router list be edited (one
``host:port`` a line, validated as you type with :func:`dht.parse_address`)
and toggles read-only.  The window shows it the first time the user joins
(Network ▸ Join the public Mainline DHT) and from Network ▸ Public DHT
routers…; once confirmed, later joins go straight ahead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox, QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

from dht import PUBLIC_ROUTERS, parse_address

from ..common.theme import set_state

if TYPE_CHECKING:
    from ..controller import NetworkController
    from .budget import QueryBudget

Address = tuple[str, int]
_ROUTERS_KEY = "public/routers"
_READ_ONLY_KEY = "public/read_only"
_CONFIRMED_KEY = "public/confirmed"


def format_routers(routers: list[Address] | tuple[Address, ...]) -> str:
    return "\n".join(f"{host}:{port}" for host, port in routers)


def parse_routers(text: str) -> tuple[list[Address], str]:
    """The routers of ``text`` (one ``host:port`` a line, blank lines ignored), or [] and what is wrong."""
    routers: list[Address] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            routers.append(parse_address(line))
        except Exception as exc:  # dht.parse_address: ValueError or LocalError with the reason
            return [], f"line {number}, {line[:40]!r}: {exc}; write host:port"
    if not routers:
        return [], "Add at least one router, host:port (Restore defaults brings back the well-known ones)."
    return routers, ""


class PublicSettings:
    """The public-DHT choices kept in ``settings``."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def routers(self) -> list[Address]:
        text = str(self.settings.value(_ROUTERS_KEY, "", str) or "")
        routers, problem = parse_routers(text) if text else ([], "none")
        return routers if not problem else list(PUBLIC_ROUTERS)

    def set_routers(self, routers: list[Address]) -> None:
        self.settings.setValue(_ROUTERS_KEY, format_routers(routers))

    def read_only(self) -> bool:
        return bool(self.settings.value(_READ_ONLY_KEY, True, bool))

    def set_read_only(self, on: bool) -> None:
        self.settings.setValue(_READ_ONLY_KEY, on)

    def confirmed(self) -> bool:
        return bool(self.settings.value(_CONFIRMED_KEY, False, bool))

    def set_confirmed(self) -> None:
        self.settings.setValue(_CONFIRMED_KEY, True)


EXPLANATION = (
    "<p><b>Joining the public Mainline DHT</b> connects our node to BitTorrent's DHT on the "
    "Internet, used by millions of clients.</p>"
    "<ul><li>Our node opens a UDP port on every network interface.</li>"
    "<li>It sends a find_node to the routers below, then queries the nodes they name, across "
    "the Internet: they see your IP address.</li>"
    "<li><b>Read-only</b> (BEP 43, recommended): our node asks but answers no queries, so other "
    "nodes keep it out of their routing tables and store nothing at it.</li>"
    "<li>The local lab keeps running; Network \u25b8 Rejoin lab goes back to it.</li></ul>"
)


class PublicJoinDialog(QDialog):
    """Says what joining the public DHT does; edits its routers and the read-only toggle."""

    def __init__(self, settings: PublicSettings, parent: QWidget | None = None, join: bool = True) -> None:
        super().__init__(parent)
        self._settings = settings
        self.setWindowTitle("Join the public Mainline DHT" if join else "Public DHT routers")
        self.explanation = QLabel(EXPLANATION)
        self.explanation.setWordWrap(True)
        self.routers_edit = QPlainTextEdit(format_routers(settings.routers()))
        self.routers_edit.setPlaceholderText("host:port, one a line")
        self.routers_edit.textChanged.connect(self._validate)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.read_only_box = QCheckBox("Read-only (BEP 43): ask, never answer")
        self.read_only_box.setChecked(settings.read_only())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Join the public DHT" if join else "Save")
        defaults = QPushButton("Restore defaults")
        defaults.clicked.connect(lambda: self.routers_edit.setPlainText(format_routers(PUBLIC_ROUTERS)))
        self.buttons.addButton(defaults, QDialogButtonBox.ButtonRole.ResetRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(QLabel("Routers (asked to bootstrap; never kept in the routing table):"))
        layout.addWidget(self.routers_edit)
        layout.addWidget(self.hint)
        layout.addWidget(self.read_only_box)
        layout.addWidget(self.buttons)
        self.resize(520, 460)
        self._validate()

    def _validate(self) -> None:
        routers, problem = parse_routers(self.routers_edit.toPlainText())
        self.hint.setText(problem or f"{len(routers)} router{'s' if len(routers) != 1 else ''}")
        set_state(self.hint, "error" if problem else "hint")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def routers(self) -> list[Address]:
        return parse_routers(self.routers_edit.toPlainText())[0]

    def accept(self) -> None:
        """Keep the routers and the toggle in the settings, and that the user confirmed."""
        routers = self.routers()
        if not routers:
            return
        self._settings.set_routers(routers)
        self._settings.set_read_only(self.read_only_box.isChecked())
        self._settings.set_confirmed()
        super().accept()


def join_public(parent: QWidget, controller: "NetworkController", settings: PublicSettings,
                budget: "QueryBudget") -> PublicJoinDialog | None:
    """Network ▸ Join the public Mainline DHT: confirm the first time (the dialog, returned), then join."""

    def go() -> None:  # polite from the first query: the public budget
        controller.spawn(controller.join_public(settings.routers(), settings.read_only(),
                                                query_budget=budget.public()))

    if settings.confirmed():
        go()
        return None
    dialog = PublicJoinDialog(settings, parent)
    dialog.accepted.connect(go)
    dialog.open()
    return dialog
