"""Small dialogs of the main window: join a bootstrap address, resize the lab, about.

:class:`OpenDialogs` keeps the non-blocking dialogs the window's actions
opened (public DHT, lab conditions, query budget) while they are open.

Addresses are validated by :func:`dht.parse_address`, as on the command
line: ``HOST:PORT`` with a port in 1-65535; IPv6 and a missing host are
refused as you type.  A host name is resolved to IPv4 when joining (by the
controller, through the event loop).
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from dht import parse_address

from .. import __version__
from ..common.theme import set_state
from ..map.conditions import LabConditionsDialog
from ..resources import icon
from .budget import QueryBudgetDialog
from .public import PublicJoinDialog


class JoinDialog(QDialog):
    """Asks for a bootstrap address ``host:port``, validated as you type."""

    def __init__(self, parent: QWidget | None = None, default: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Join bootstrap address")
        self.edit = QLineEdit(default)
        self.edit.setPlaceholderText("host:port, e.g. 127.0.0.1:4000")
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Bootstrap node:", self.edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._validate)
        self._validate(self.edit.text())
        self.resize(380, self.sizeHint().height())

    def _validate(self, text: str) -> None:
        try:
            host, port = parse_address(text)
        except ValueError as exc:
            self.hint.setText(str(exc))
            set_state(self.hint, "error")
            ok = False
        else:
            named = "" if host.replace(".", "").isdigit() else " (the name is resolved when joining)"
            self.hint.setText(f"will join {host} port {port}{named}")
            set_state(self.hint, "ok")
            ok = True
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def address(self) -> tuple[str, int] | None:
        """The validated address, or None."""
        try:
            return parse_address(self.edit.text())
        except ValueError:
            return None


#: The largest lab the Resize lab dialog offers (issue 24: 10,000 nodes in the explorer; ``khgui --lab``'s
#: own limit is ``khgui.app.MAX_LAB``).
MAX_LAB_SIZE = 10_000


def lab_hosts_text(addresses: set[tuple[str, int]] | None = None) -> str:
    """Where the lab's nodes listen, from their addresses (none known: where they will)."""
    hosts = sorted({host for host, _ in addresses or ()}, key=lambda h: tuple(int(p) for p in h.split(".")))
    if len(hosts) == 1:
        return f"Nodes run in this process on {hosts[0]}, each on a port of its own."
    if hosts:
        return f"Nodes run in this process, each on a loopback address of its own: {hosts[0]} to {hosts[-1]}."
    return ("Nodes run in this process, each on a loopback address of its own from 127.0.0.2 up "
            "(127.0.0.1 with ports of their own where only it can be used).")


class ResizeLabDialog(QDialog):
    """Asks for the number of nodes of the local lab; says where they run."""

    def __init__(self, current: int, parent: QWidget | None = None,
                 addresses: set[tuple[str, int]] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Resize lab")
        self.spin = QSpinBox()
        self.spin.setRange(0, MAX_LAB_SIZE)
        self.spin.setValue(current)
        self.spin.setSuffix(" nodes")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Local lab size:", self.spin)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        note = QLabel(f"0 stops the lab. {lab_hosts_text(addresses)}")
        self.note = note
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def value(self) -> int:
        return self.spin.value()


class AboutDialog(QDialog):
    """What the application is, its version and its keyboard shortcuts.

    ``shortcuts`` is ``[(keys, what it does), ...]``, read from the window's
    actions (:meth:`MainWindowView.shortcuts`), so the list cannot go stale.
    """

    def __init__(self, parent: QWidget | None = None, shortcuts: list[tuple[str, str]] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Khashmir Explorer")
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        rows = "".join(f"<tr><td><b>{html.escape(keys, quote=False)}</b>&nbsp;&nbsp;</td><td>{html.escape(what, quote=False)}</td></tr>"
                       for keys, what in shortcuts or [])
        self.text = QLabel(
            f"<h2>Khashmir Explorer {__version__}</h2>"
            "<p>Watch a Kademlia DHT at work: an asyncio port of apt-p2p's Khashmir.</p>"
            "<p>Routing-table trie, live RPC traffic, stored values, look-ups and statistics.</p>"
            + (f"<p><b>Keyboard shortcuts</b></p><table>{rows}</table>" if rows else "")
        )
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(logo)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)


class OpenDialogs:
    """The non-blocking dialogs the window's actions opened, kept while open (and for tests)."""

    def __init__(self) -> None:
        self.public: PublicJoinDialog | None = None
        """Network ▸ Join the public Mainline DHT or Public DHT routers."""
        self.conditions: LabConditionsDialog | None = None
        """Network ▸ Lab conditions."""
        self.budget: QueryBudgetDialog | None = None
        """Network ▸ Query budget."""
