"""The local store as a table: key, key text, value preview, size, age, expiry.

:class:`StoredValuesModel` is fed a snapshot (``node.stored_values()``) and
then ``ValueStored`` / ``ValueExpired`` events in batches: one insert per
batch for new pairs.  :meth:`StoredValuesModel.tick` refreshes the time
columns with a single ``dataChanged`` (no reset), once a second.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QFontDatabase

from dht.events import ValueExpired, ValueStored

from ..common.keys import KeyRegistry
from ..common.table import TableModel
from ..common.theme import status_color
from ..common.text import bytes_preview, format_duration, format_size

COLUMNS = ("Key", "Key text", "Value", "Size", "Last stored", "Expires in")
KEY, TEXT, VALUE, SIZE, STORED, EXPIRES = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole
_Index = QModelIndex | QPersistentModelIndex


class StoredValuesModel(TableModel):
    """(key, value) pairs in our store, with when they were stored."""

    columns = COLUMNS

    def __init__(self, registry: KeyRegistry, key_expire: float = 3600.0,
                 clock: Callable[[], float] = time.time, parent: Any = None) -> None:
        super().__init__(parent)
        self._registry = registry
        self._key_expire = key_expire
        self._clock = clock
        self._rows: list[list[Any]] = []  # [key, value, stored_at]
        self._where: dict[tuple[bytes, bytes], int] = {}
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._bold = QFont()
        self._bold.setBold(True)
        self._mono_bold = QFont(self._mono)
        self._mono_bold.setBold(True)
        registry.changed.connect(self._registry_changed)

    # -- Qt model interface ----------------------------------------------------

    def row_count(self) -> int:
        return len(self._rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        key, value, stored_at = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == KEY:
                return ("\u2605 " if self._registry.is_published(key, value) else "") + key.hex()
            if col == TEXT:
                return self._registry.text_for(key) or ""
            if col == VALUE:
                return bytes_preview(value, 48)
            if col == SIZE:
                return format_size(len(value))
            if col == STORED:
                return format_duration(self._clock() - stored_at) + " ago"
            if col == EXPIRES:
                return format_duration(self.expires_in(index.row()))
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
        elif role == Qt.ItemDataRole.ForegroundRole and col == EXPIRES:
            if self.expires_in(index.row()) < self._key_expire / 20:
                return QBrush(status_color("error"))
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (SIZE, STORED, EXPIRES):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.ToolTipRole:
            tip = f"key {key.hex()}\nvalue {bytes_preview(value, 200)}"
            if self._registry.is_published(key, value):
                tip += "\n\u2605 published by you"
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
        key, value, _ = self._rows[row]
        return key, value

    def pairs(self) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v, _ in self._rows]

    def row_of(self, key: bytes, value: bytes) -> int:
        """The row of a pair, or -1."""
        return self._where.get((key, value), -1)

    def stored_at(self, row: int) -> float:
        return float(self._rows[row][2])

    def expires_in(self, row: int) -> float:
        """Seconds until the value at ``row`` expires (KEY_EXPIRE minus its age)."""
        return self._key_expire - (self._clock() - float(self._rows[row][2]))

    def key_count(self) -> int:
        return len({k for k, _v, _s in self._rows})

    # -- feeding -------------------------------------------------------------------

    def set_snapshot(self, infos: Iterable[Any]) -> None:
        """Replace everything with ``node.stored_values()``'s result."""
        self.beginResetModel()
        self._rows = [[i.key, i.value, i.stored_at] for i in infos]
        self._reindex()
        self.endResetModel()

    def clear(self) -> None:
        self.set_snapshot([])

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
                    refreshed.append(row)
                elif pair in added:
                    added[pair][2] = ev.stored_at
                else:
                    added[pair] = [ev.key, ev.value, ev.stored_at]
            elif t is ValueExpired:
                pair = (ev.key, ev.value)
                if added.pop(pair, None) is None and pair in self._where:
                    gone.add(pair)
        if refreshed:
            self.dataChanged.emit(self.index(min(refreshed), STORED), self.index(max(refreshed), EXPIRES))
        if gone:
            self._remove(sorted(self._where[p] for p in gone))
        if added:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            for i, row_data in enumerate(added.values()):
                self._where[(row_data[0], row_data[1])] = start + i
                self._rows.append(row_data)
            self.endInsertRows()

    def tick(self) -> None:
        """The time columns changed: one dataChanged over them."""
        if self._rows:
            self.dataChanged.emit(self.index(0, STORED), self.index(len(self._rows) - 1, EXPIRES),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole])

    def _remove(self, rows: list[int]) -> None:
        # contiguous runs, from the bottom so earlier row numbers stay valid
        runs: list[list[int]] = []
        for row in rows:
            if runs and row == runs[-1][1] + 1:
                runs[-1][1] = row
            else:
                runs.append([row, row])
        for first, last in reversed(runs):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        self._reindex()

    def _reindex(self) -> None:
        self._where = {(k, v): i for i, (k, v, _s) in enumerate(self._rows)}

    def _registry_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, KEY), self.index(len(self._rows) - 1, self.columnCount() - 1))
