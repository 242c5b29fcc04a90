"""The traffic panel's decoded message: one KRPC message as a tree of its fields.

:class:`MessageTreeView` turns a message dict (bytes keys) into tree items:
printable bytes as text, others as hex, ids as hex and compact node lists as
their ``id@host:port`` entries (:func:`khgui.common.text.message_tree`; with
``mainline`` set, Mainline's fields too).  A hostile message never builds a
huge tree: at most 2,000 items, then "(truncated)".
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from ..common.text import message_tree

_MAX_ITEMS = 2000  # never build a huge tree for a malicious message


class MessageTreeView(QTreeWidget):
    """Shows one message; :meth:`show_message` replaces what is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["Field", "Value"])
        self.mainline = False  # decode Mainline's fields (v, ip, peers, samples, BEP 44) too
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.header().setStretchLastSection(True)
        self._count = 0

    def field_width(self) -> int:
        return self.fontMetrics().horizontalAdvance("nodes[7] (id)") + 24

    def readable_width(self) -> int:
        """Field column plus a 40-hex-digit id, with margins and a scroll bar."""
        return self.field_width() + self.fontMetrics().horizontalAdvance("0" * 40) + 48

    def minimumSizeHint(self) -> QSize:
        """Never narrower than :meth:`readable_width` (in the font of the moment)."""
        return QSize(self.readable_width(), max(90, super().minimumSizeHint().height()))

    def show_message(self, message: dict[bytes, Any] | None, title: str = "message") -> None:
        """Show ``message`` (None clears the view)."""
        self.clear()
        if message is None:
            return
        self._count = 0
        summary, children = message_tree(message, mainline=self.mainline)
        root = QTreeWidgetItem([title, summary])
        self.addTopLevelItem(root)
        self._add_children(root, children)
        self.expandAll()
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, min(self.columnWidth(0), self.field_width()))

    def _add_children(self, parent: QTreeWidgetItem, children: list[tuple[str, Any]]) -> None:
        for label, value in children:
            if self._count >= _MAX_ITEMS:
                parent.addChild(QTreeWidgetItem(["\u2026", "(truncated)"]))
                return
            self._count += 1
            key = label.encode("utf-8") if isinstance(label, str) else None
            summary, grand = message_tree(value, key, self.mainline)
            item = QTreeWidgetItem([label, summary])
            item.setToolTip(1, summary)
            parent.addChild(item)
            if grand:
                self._add_children(item, grand)

    def texts(self) -> list[tuple[str, str]]:
        """Every ``(field, value)`` shown, depth first (for tests)."""
        out: list[tuple[str, str]] = []

        def walk(item: QTreeWidgetItem | None) -> None:
            if item is None:
                return
            out.append((item.text(0), item.text(1)))
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.topLevelItemCount()):
            walk(self.topLevelItem(i))
        return out
