"""The local store as a table: key, key text, value preview, size, age, expiry.

:class:`StoredValuesModel` is fed a snapshot (``node.stored_values()``) and
then ``ValueStored`` / ``ValueExpired`` events in batches: one insert per
batch for new pairs.  :meth:`StoredValuesModel.tick` refreshes the time
columns with a single ``dataChanged`` (no reset), once a second.

Values the user published (the :class:`KeyRegistry`) are listed too when
our node does not hold them -- the nodes closest to their key are others --
marked ★ "published, held elsewhere", timed from when they were last
published; if our node stores one later, its row becomes a local one.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont, QFontDatabase

from dht.events import ValueExpired, ValueStored

from ..common.keys import KeyRegistry
from ..common.table import RIGHT, SORT_ROLE, TableModel
from ..common.theme import status_color
from ..common.text import bytes_preview, format_duration, format_size

COLUMNS = ("Key", "Key text", "Value", "Size", "Last stored", "Expires in")
ELSEWHERE = "\u2605 published, held elsewhere"
KEY, TEXT, VALUE, SIZE, STORED, EXPIRES = range(len(COLUMNS))
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)


class StoredValuesModel(TableModel[list[Any]]):
    """(key, value) pairs in our store, with when they were stored."""

    columns = COLUMNS

    def __init__(self, registry: KeyRegistry, key_expire: float = 3600.0,
                 clock: Callable[[], float] = time.time, parent: Any = None) -> None:
        super().__init__(parent)
        self._registry = registry
        self._key_expire = key_expire
        self._clock = clock
        # self._rows: [key, value, stored_at, held by our node]
        self._where: dict[tuple[bytes, bytes], int] = {}
        self._active = False  # a node's store is shown (else: nothing, not even published values)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._bold = QFont()
        self._bold.setBold(True)
        self._mono_bold = QFont(self._mono)
        self._mono_bold.setBold(True)
        registry.changed.connect(self._registry_changed)

    # -- cells -------------------------------------------------------------------

    def cell(self, row: list[Any], col: int, role: int) -> Any:
        key, value, stored_at, here = row
        if role == _DISPLAY:
            if col == KEY:
                return ("\u2605 " if self._registry.is_published(key, value) else "") + key.hex()
            if col == TEXT:
                text = self._registry.text_for(key) or ""
                return text if here else f"{text} \u2014 {ELSEWHERE}" if text else ELSEWHERE
            if col == VALUE:
                return bytes_preview(value, 48)
            if col == SIZE:
                return format_size(len(value))
            if col == STORED:
                return format_duration(self._clock() - stored_at) + " ago" + ("" if here else " (published)")
            if col == EXPIRES:
                return format_duration(self._expires_in(stored_at))
        elif role == SORT_ROLE:
            if col == KEY:
                return key.hex()
            if col == TEXT:
                return self._registry.text_for(key) or ""
            if col == VALUE:
                return bytes_preview(value, 48)
            if col == SIZE:
                return len(value)
            return stored_at
        elif role == Qt.ItemDataRole.FontRole:
            published = self._registry.is_published(key, value)
            if col == KEY:
                return self._mono_bold if published else self._mono
            return self._bold if published else None
        elif role == Qt.ItemDataRole.ForegroundRole:
            if col == EXPIRES and self._expires_in(stored_at) < self._key_expire / 20:
                return QBrush(status_color("error"))
            if not here:
                return QBrush(status_color("pending"))
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (SIZE, STORED, EXPIRES):
            return RIGHT
        elif role == Qt.ItemDataRole.ToolTipRole:
            tip = f"key {key.hex()}\nvalue {bytes_preview(value, 200)}"
            if self._registry.is_published(key, value):
                tip += "\n\u2605 published by you"
            if not here:
                tip += ", held elsewhere: our node is not one of the nodes closest to the key"
            return tip
        return None

    # -- state -------------------------------------------------------------------

    @property
    def key_expire(self) -> float:
        return self._key_expire

    def set_key_expire(self, seconds: float) -> None:
        self._key_expire = seconds
        self.tick()

    def pair(self, row: int) -> tuple[bytes, bytes]:
        key, value = self._rows[row][:2]
        return key, value

    def pairs(self) -> list[tuple[bytes, bytes]]:
        return [(row[0], row[1]) for row in self._rows]

    def held_here(self, row: int) -> bool:
        """Whether our node stores the pair at ``row`` (else: published, held elsewhere)."""
        return bool(self._rows[row][3])

    def row_of(self, key: bytes, value: bytes) -> int:
        """The row of a pair, or -1."""
        return self._where.get((key, value), -1)

    def stored_at(self, row: int) -> float:
        return float(self._rows[row][2])

    def expires_in(self, row: int) -> float:
        """Seconds until the value at ``row`` expires (KEY_EXPIRE minus its age)."""
        return self._expires_in(float(self._rows[row][2]))

    def _expires_in(self, stored_at: float) -> float:
        return self._key_expire - (self._clock() - float(stored_at))

    def key_count(self) -> int:
        return len({row[0] for row in self._rows if row[3]})

    def local_count(self) -> int:
        """Rows our node stores."""
        return sum(1 for row in self._rows if row[3])

    # -- feeding -------------------------------------------------------------------

    def set_snapshot(self, infos: Iterable[Any]) -> None:
        """Replace everything with ``node.stored_values()``'s result."""
        self._active = True
        rows = [[i.key, i.value, i.stored_at, True] for i in infos]
        self._where = {(row[0], row[1]): i for i, row in enumerate(rows)}
        self.reset_rows(rows + self._elsewhere())
        self._reindex()

    def _elsewhere(self) -> list[list[Any]]:
        """Rows for the published pairs our node does not hold."""
        if not self._active:
            return []
        return [[k, v, when, False] for (k, v), when in self._registry.published().items()
                if (k, v) not in self._where]

    def clear(self) -> None:
        """Show nothing (no node)."""
        self._active = False
        self._where = {}
        self.reset_rows([])

    def add_events(self, events: Iterable[Any]) -> None:
        """Apply a batch: ValueStored adds or refreshes, ValueExpired removes."""
        added: dict[tuple[bytes, bytes], list[Any]] = {}
        refreshed: list[int] = []
        gone: set[tuple[bytes, bytes]] = set()
        for ev in events:
            t = type(ev)
            if t is ValueStored:
                pair = (ev.key, ev.value)
                gone.discard(pair)
                row = self._where.get(pair)
                if row is not None:
                    self._rows[row][2] = ev.stored_at
                    self._rows[row][3] = True
                    refreshed.append(row)
                elif pair in added:
                    added[pair][2] = ev.stored_at
                else:
                    added[pair] = [ev.key, ev.value, ev.stored_at, True]
            elif t is ValueExpired:
                pair = (ev.key, ev.value)
                if added.pop(pair, None) is None and pair in self._where:
                    row = self._where[pair]
                    if self._registry.is_published(*pair):  # still ours, now held elsewhere
                        self._rows[row][2] = self._registry.published()[pair]
                        self._rows[row][3] = False
                        refreshed.append(row)
                    else:
                        gone.add(pair)
        if refreshed:
            self.rows_changed(min(refreshed), max(refreshed))
        if gone:
            self._remove(sorted(self._where[p] for p in gone))
        if added:
            start = len(self._rows)
            for i, pair in enumerate(added):
                self._where[pair] = start + i
            self.insert_rows(list(added.values()))

    def tick(self) -> None:
        """The time columns changed: one dataChanged over them."""
        if self._rows:
            self.dataChanged.emit(self.index(0, STORED), self.index(len(self._rows) - 1, EXPIRES),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole])

    def _remove(self, rows: list[int]) -> None:
        self.remove_rows(rows)
        self._reindex()

    def _reindex(self) -> None:
        self._where = {(row[0], row[1]): i for i, row in enumerate(self._rows)}

    def _registry_changed(self) -> None:
        """A text or a published value changed: marks, and rows for values held elsewhere."""
        published = self._registry.published()
        stale = sorted(i for i, row in enumerate(self._rows) if not row[3] and (row[0], row[1]) not in published)
        if stale:
            self._remove(stale)
        for i, row in enumerate(self._rows):
            if not row[3]:
                row[2] = published[(row[0], row[1])]
        if self._rows:
            self.rows_changed(0, len(self._rows) - 1)
        new = self._elsewhere()
        if new:
            start = len(self._rows)
            for i, row in enumerate(new):
                self._where[(row[0], row[1])] = start + i
            self.insert_rows(new)
