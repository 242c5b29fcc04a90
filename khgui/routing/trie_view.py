"""A custom-painted view of the k-buckets as the leaves of a binary trie.

One row per bucket, in id order.  Each row shows the bucket's binary prefix
as bit cells (cells on our own id's path are highlighted, so the path down
the trie stands out), its fill n/K as a bar, and its age.  Hovering shows the
bucket's range and contacts; clicking selects it.  :meth:`BucketTrieView.flash`
marks a split or merge with a highlight that fades over ~2 s.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ..common.text import format_peer
from ..common.theme import colors, manager
from .model import BucketListModel, BucketRow, format_age, id_bits, short_hex

ROW_H = 26
CELL_W = 11
MAX_CELLS = 28
FLASH_SECONDS = 2.0
SPLIT_COLOR = QColor("#22c55e")
MERGE_COLOR = QColor("#f97316")


class BucketTrieView(QWidget):
    """Draws a :class:`BucketListModel` as a trie of buckets.

    Signals:
        bucket_selected(int): the row selected (-1 for none).
        clicked_row(int): the row the user clicked (-1 for none).
    """

    bucket_selected = Signal(int)
    clicked_row = Signal(int)

    def __init__(self, model: BucketListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._own_id: bytes | None = None
        self._selected = -1
        self._flashes: list[tuple[int, int, float, QColor]] = []  # lo, hi, start, color
        self._flash_timer = QTimer(self)
        self._flash_timer.setInterval(33)
        self._flash_timer.timeout.connect(self._tick)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._mono = QFont("monospace")
        self._mono.setStyleHint(QFont.StyleHint.Monospace)
        self._mono.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        for signal in (model.modelReset, model.dataChanged, model.rowsInserted, model.rowsRemoved):
            signal.connect(self._model_changed)
        self._model_changed()
        manager().changed.connect(self.update)

    # -- state ---------------------------------------------------------------

    def set_own_id(self, node_id: bytes | None) -> None:
        self._own_id = node_id
        self.update()

    def selected(self) -> int:
        return self._selected

    def select(self, row: int) -> None:
        row = row if 0 <= row < self._model.rowCount() else -1
        if row != self._selected:
            self._selected = row
            self.update()
            self.bucket_selected.emit(row)

    def flash(self, lo: int, hi: int, kind: str = "split") -> None:
        """Highlight buckets inside [lo, hi) for :data:`FLASH_SECONDS`."""
        color = SPLIT_COLOR if kind == "split" else MERGE_COLOR
        self._flashes.append((lo, hi, time.monotonic(), color))
        if not self._flash_timer.isActive():
            self._flash_timer.start()
        self.update()

    def flashing(self) -> int:
        """How many flashes are still fading."""
        return len(self._flashes)

    def row_at(self, pos: QPoint) -> int:
        row = pos.y() // ROW_H
        return row if 0 <= row < self._model.rowCount() else -1

    def row_rect(self, row: int) -> QRect:
        return QRect(0, row * ROW_H, self.width(), ROW_H)

    # -- internals -----------------------------------------------------------

    def _model_changed(self, *args: Any) -> None:
        if self._selected >= self._model.rowCount():
            self._selected = -1
        self.setMinimumHeight(max(1, self._model.rowCount()) * ROW_H)
        self.updateGeometry()
        self.update()

    def _tick(self) -> None:
        now = time.monotonic()
        self._flashes = [f for f in self._flashes if now - f[2] < FLASH_SECONDS]
        if not self._flashes:
            self._flash_timer.stop()
        self.update()

    def _flash_color(self, row: BucketRow, now: float) -> QColor | None:
        best: QColor | None = None
        for lo, hi, start, color in self._flashes:
            if lo <= row.lo and row.hi <= hi or row.lo <= lo and hi <= row.hi:
                alpha = max(0.0, 1.0 - (now - start) / FLASH_SECONDS)
                c = QColor(color)
                c.setAlphaF(0.55 * alpha)
                if best is None or c.alphaF() > best.alphaF():
                    best = c
        return best

    def sizeHint(self) -> QSize:
        return QSize(480, max(1, self._model.rowCount()) * ROW_H)

    def minimumSizeHint(self) -> QSize:
        return QSize(300, ROW_H * 2)

    # -- painting -------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = colors()
        text_c, muted, path_c = c.qcolor("text"), c.qcolor("muted"), c.qcolor("accent")
        p.fillRect(event.rect(), c.qcolor("base"))
        rows = self._model.rows()
        now = time.monotonic()
        max_depth = min(MAX_CELLS, max((r.depth for r in rows), default=1))
        bits_w = max(3, max_depth + 1) * CELL_W + 24
        fm = QFontMetrics(self._mono)
        bar_x = 10 + bits_w
        bar_w = max(60, min(180, self.width() - bar_x - 230))
        own_path = id_bits(self._own_id, max((r.depth for r in rows), default=0)) if self._own_id else ""
        if not rows:
            p.setPen(muted)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no routing table yet")
            return
        for i, r in enumerate(rows):
            rect = self.row_rect(i)
            if not rect.intersects(event.rect()):
                continue
            if i == self._selected:
                p.fillRect(rect, c.qcolor("select"))
            elif r.own:
                p.fillRect(rect, c.qcolor("own"))
            flash = self._flash_color(r, now)
            if flash is not None:
                p.fillRect(rect, flash)
            # trie guide: a tick at the branching depth
            y = rect.top() + 5
            p.setFont(self._mono)
            shown = r.prefix[:MAX_CELLS]
            for j, bit in enumerate(shown):
                x = 10 + j * CELL_W
                on_path = j < len(own_path) and own_path[j] == bit and r.prefix[: j + 1] == own_path[: j + 1]
                cell = QRect(x, y, CELL_W - 2, ROW_H - 10)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(path_c if on_path else c.qcolor("off_cell"))
                p.drawRoundedRect(cell, 2, 2)
                p.setPen(c.qcolor("accent_text") if on_path else text_c)
                p.drawText(cell, Qt.AlignmentFlag.AlignCenter, bit)
            x_after = 10 + len(shown) * CELL_W + 4
            p.setPen(muted)
            if len(r.prefix) > MAX_CELLS:
                p.drawText(QRect(x_after, y, 40, ROW_H - 10), Qt.AlignmentFlag.AlignVCenter,
                           f"+{len(r.prefix) - MAX_CELLS}")
            elif not r.prefix:
                p.drawText(QRect(10, y, 80, ROW_H - 10), Qt.AlignmentFlag.AlignVCenter, "(all ids)")
            if r.own:
                p.setPen(path_c)
                p.drawText(QRect(x_after + (0 if r.prefix else 60), y, 30, ROW_H - 10),
                           Qt.AlignmentFlag.AlignVCenter, "\u2605")
            # fill bar
            n, k = len(r.contacts), max(1, self._model.k)
            bar = QRect(bar_x, rect.top() + 8, bar_w, ROW_H - 16)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(c.qcolor("bar_bg"))
            p.drawRoundedRect(bar, 4, 4)
            if n:
                filled = QRect(bar.left(), bar.top(), max(4, int(bar_w * min(1.0, n / k))), bar.height())
                p.setBrush(c.qcolor("bar_full") if n >= k else c.qcolor("bar_part"))
                p.drawRoundedRect(filled, 4, 4)
            failing = sum(1 for c in r.contacts if c.failures)
            p.setFont(self.font())
            p.setPen(text_c)
            text_x = bar.right() + 8
            label = f"{n}/{k}" + (f"  ({failing} failing)" if failing else "")
            p.drawText(QRect(text_x, rect.top(), 110, ROW_H), Qt.AlignmentFlag.AlignVCenter, label)
            p.setPen(muted)
            p.setFont(self._mono)
            p.drawText(QRect(text_x + 110, rect.top(), 70, ROW_H), Qt.AlignmentFlag.AlignVCenter,
                       format_age(now - r.last_accessed))
            right = QRect(text_x + 180, rect.top(), max(0, self.width() - text_x - 186), ROW_H)
            if right.width() > fm.horizontalAdvance("0" * 8):
                p.drawText(right, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                           fm.elidedText(short_hex(r.lo, 8), Qt.TextElideMode.ElideRight, right.width()))
            p.setPen(QPen(c.qcolor("border")))
            p.drawLine(rect.bottomLeft(), rect.bottomRight())

    # -- interaction ------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            row = self.row_at(event.position().toPoint())
            self.clicked_row.emit(row)
            self.select(row)
        super().mousePressEvent(event)

    def tooltip_text(self, row: int) -> str:
        """The hover text of ``row``: its range and contacts."""
        r = self._model.row_at(row)
        if r is None:
            return ""
        lines = [
            f"<b>prefix {r.prefix or '(none)'}</b> (depth {r.depth}){' &#9733; our id' if r.own else ''}",
            f"<tt>lo {r.lo:040x}<br>hi {r.hi:040x}</tt>",
            f"{len(r.contacts)}/{self._model.k} contacts, accessed {format_age(time.monotonic() - r.last_accessed)} ago",
        ]
        for c in r.contacts[:16]:
            rtt = "" if c.rtt is None else f", {c.rtt * 1000:.1f} ms"
            fails = f", {c.failures} failures" if c.failures else ""
            lines.append(f"<tt>{c.contact.id.hex()[:12]}</tt> {format_peer(c.contact.address)}{rtt}{fails}")
        return "<br>".join(lines)

    def event(self, event: Any) -> bool:
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_text(self.row_at(event.pos()))
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)
