"""A decoded KRPC message shown as a tree.

:class:`MessageTreeView` turns the message dict (bytes keys) into tree
items: printable bytes as text, others as hex, ids as hex and compact node
lists as their ``id@host:port`` entries.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from ..common.text import message_tree

_MAX_ITEMS = 2000  # never build a huge tree for a malicious message


class MessageTreeView(QTreeWidget):
    """Shows one message; :meth:`show_message` replaces what is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(2)
        self.setHeaderLabels(["Field", "Value"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.header().setStretchLastSection(True)
        self._count = 0

    def show_message(self, message: dict[bytes, Any] | None, title: str = "message") -> None:
        """Show ``message`` (None clears the view)."""
        self.clear()
        if message is None:
            return
        self._count = 0
        summary, children = message_tree(message)
        root = QTreeWidgetItem([title, summary])
        self.addTopLevelItem(root)
        self._add_children(root, children)
        self.expandAll()
        self.resizeColumnToContents(0)

    def _add_children(self, parent: QTreeWidgetItem, children: list[tuple[str, Any]]) -> None:
        for label, value in children:
            if self._count >= _MAX_ITEMS:
                parent.addChild(QTreeWidgetItem(["\u2026", "(truncated)"]))
                return
            self._count += 1
            key = label.encode("utf-8") if isinstance(label, str) else None
            summary, grand = message_tree(value, key)
            item = QTreeWidgetItem([label, summary])
            item.setToolTip(1, summary)
            parent.addChild(item)
            if grand:
                self._add_children(item, grand)

    def texts(self) -> list[tuple[str, str]]:
        """Every ``(field, value)`` shown, depth first (for tests)."""
        out: list[tuple[str, str]] = []

        def walk(item: QTreeWidgetItem) -> None:
            out.append((item.text(0), item.text(1)))
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.topLevelItemCount()):
            walk(self.topLevelItem(i))
        return out
