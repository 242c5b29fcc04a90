"""The traffic table: one row per KRPC message, in a bounded ring buffer.

:class:`TrafficModel` stores rows column by column in plain lists (no item
objects).  Events arrive in batches; each batch costs at most one
``beginRemoveRows`` (the oldest rows beyond the cap), one ``beginInsertRows``
and one ``dataChanged`` (request rows whose answer or timeout came in), never
a Qt call per event.  Responses are paired with their requests by
``(direction, peer, tid)``: the request row then shows the outcome and RTT.
"""

from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from dht.events import DatagramDropped, DatagramReceived, DatagramSent, RequestTimedOut

from ..common.text import format_clock, format_peer, format_rtt, monotonic_to_wall

DEFAULT_CAP = 100_000
COLUMNS = ("Time", "Dir", "Peer", "Method", "TID", "Size", "Status", "RTT")
TIME, DIR, PEER, METHOD, TID, SIZE, STATUS, RTT = range(len(COLUMNS))
STATES = ("ok", "error", "timeout", "pending", "dropped")
_STATE_COLOURS = {
    "ok": QColor("#2e7d32"),
    "error": QColor("#c62828"),
    "timeout": QColor("#ef6c00"),
    "pending": QColor("#757575"),
    "dropped": QColor("#6a1b9a"),
}
_KIND_NAMES = {"q": "query", "r": "response", "e": "error", "-": "dropped"}
_Index = QModelIndex | QPersistentModelIndex


class _Columns:
    """Parallel lists, one per stored field."""

    __slots__ = ("time", "dir", "peer", "method", "tid", "size", "kind", "state",
                 "status", "rtt", "message")

    def __init__(self) -> None:
        self.time: list[float] = []  # wall clock
        self.dir: list[str] = []  # "in" / "out"
        self.peer: list[str] = []  # "host:port"
        self.method: list[str] = []
        self.tid: list[str] = []  # hex
        self.size: list[int] = []
        self.kind: list[str] = []  # q, r, e or "-" (dropped)
        self.state: list[str] = []  # one of STATES
        self.status: list[str] = []  # shown text
        self.rtt: list[float | None] = []
        self.message: list[Any] = []

    def __len__(self) -> int:
        return len(self.time)

    def lists(self) -> list[list[Any]]:
        return [getattr(self, name) for name in self.__slots__]

    def drop_front(self, n: int) -> None:
        for column in self.lists():
            del column[:n]

    def extend(self, other: "_Columns") -> None:
        for mine, theirs in zip(self.lists(), other.lists()):
            mine.extend(theirs)


class TrafficModel(QAbstractTableModel):
    """Rows of KRPC traffic, at most :attr:`cap` of them (oldest dropped first).

    Signals:
        methods_changed(list): the sorted method names seen so far grew.
    """

    methods_changed = Signal(list)

    def __init__(self, cap: int = DEFAULT_CAP, parent: Any = None) -> None:
        super().__init__(parent)
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self._cap = cap
        self._rows = _Columns()
        self._first_seq = 0  # sequence number of row 0
        self._pending: dict[tuple[str, tuple[str, int], bytes], int] = {}
        self._methods: set[str] = set()
        self.evicted = 0
        """Rows removed because the buffer was full."""

    # -- Qt model interface ----------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(COLUMNS):
                return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        r = self._rows
        if not (0 <= row < len(r)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == TIME:
                return format_clock(r.time[row])
            if col == DIR:
                return "\u2192 out" if r.dir[row] == "out" else "\u2190 in"
            if col == PEER:
                return r.peer[row]
            if col == METHOD:
                return r.method[row]
            if col == TID:
                tid = r.tid[row]
                return tid if len(tid) <= 8 else tid[:8] + "\u2026"
            if col == SIZE:
                return str(r.size[row])
            if col == STATUS:
                return r.status[row]
            if col == RTT:
                return format_rtt(r.rtt[row])
        elif role == Qt.ItemDataRole.ForegroundRole:
            if col == STATUS:
                return QBrush(_STATE_COLOURS[r.state[row]])
        elif role == Qt.ItemDataRole.TextAlignmentRole:
            if col in (SIZE, RTT):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if col == TID:
                return f"transaction id {r.tid[row]}"
            return f"{_KIND_NAMES.get(r.kind[row], r.kind[row])} {r.method[row]}: {r.status[row]}"
        return None

    # -- state -------------------------------------------------------------------

    @property
    def cap(self) -> int:
        return self._cap

    def set_cap(self, cap: int) -> None:
        """Change the cap; rows beyond a smaller cap are removed (oldest first)."""
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self._cap = cap
        self._evict(len(self._rows) - cap)

    def methods(self) -> list[str]:
        return sorted(self._methods)

    # raw accessors for the filter and export (no QModelIndex needed)
    def raw(self, row: int) -> dict[str, Any]:
        r = self._rows
        return {name: getattr(r, name)[row] for name in r.__slots__}

    def direction_at(self, row: int) -> str:
        return self._rows.dir[row]

    def method_at(self, row: int) -> str:
        return self._rows.method[row]

    def peer_at(self, row: int) -> str:
        return self._rows.peer[row]

    def state_at(self, row: int) -> str:
        return self._rows.state[row]

    def message_at(self, row: int) -> Any:
        """The decoded message of a row (None for a dropped datagram)."""
        return self._rows.message[row]

    def record(self, row: int) -> dict[str, Any]:
        """A JSON-friendly description of one row (for export)."""
        from ..common.text import jsonable

        r = self._rows
        return {
            "time": round(r.time[row], 6),
            "clock": format_clock(r.time[row]),
            "direction": r.dir[row],
            "peer": r.peer[row],
            "kind": r.kind[row],
            "method": r.method[row],
            "tid": r.tid[row],
            "size": r.size[row],
            "status": r.status[row],
            "rtt": r.rtt[row],
            "message": jsonable(r.message[row]),
        }

    # -- feeding -------------------------------------------------------------------

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = _Columns()
        self._first_seq = 0
        self._pending.clear()
        self.endResetModel()

    def add_events(self, events: Iterable[Any]) -> None:
        """Add a batch of events: at most one remove, one insert and one dataChanged."""
        new = _Columns()
        base = self._first_seq + len(self._rows)  # seq of new row 0
        changed: list[int] = []  # seqs of existing rows updated
        pending = self._pending
        new_methods: list[str] = []
        for ev in events:
            t = type(ev)
            if t is DatagramSent or t is DatagramReceived:
                direction = "out" if t is DatagramSent else "in"
                kind = ev.kind
                if kind == "q":
                    state, status = "pending", "pending"
                    pending[(direction, ev.peer, ev.tid)] = base + len(new)
                elif kind == "e":
                    state, status = "error", f"error {ev.error_code}"
                else:
                    state, status = "ok", "ok"
                rtt = getattr(ev, "rtt", None)
                if getattr(ev, "late", False):
                    status += " (late)"
                if kind != "q":
                    asked = "out" if direction == "in" else "in"
                    seq = pending.pop((asked, ev.peer, ev.tid), None)
                    if seq is not None:
                        self._update(seq, base, new, changed, state, status, rtt)
                self._append(new, ev.time, direction, format_peer(ev.peer), ev.method, ev.tid.hex(),
                             ev.size, kind, state, status, rtt, ev.message)
                if ev.method not in self._methods:
                    self._methods.add(ev.method)
                    new_methods.append(ev.method)
            elif t is RequestTimedOut:
                seq = pending.pop(("out", ev.peer, ev.tid), None)
                if seq is not None:
                    self._update(seq, base, new, changed, "timeout", "timeout", None)
            elif t is DatagramDropped:
                self._append(new, ev.time, "in", format_peer(ev.peer), "", "", ev.size, "-",
                             "dropped", f"dropped: {ev.reason}", None, None)
        self._commit(new, base, changed)
        if new_methods:
            self.methods_changed.emit(self.methods())

    @staticmethod
    def _append(new: _Columns, time: float, direction: str, peer: str, method: str, tid: str, size: int,
                kind: str, state: str, status: str, rtt: float | None, message: Any) -> None:
        new.time.append(monotonic_to_wall(time))
        new.dir.append(direction)
        new.peer.append(peer)
        new.method.append(method)
        new.tid.append(tid)
        new.size.append(size)
        new.kind.append(kind)
        new.state.append(state)
        new.status.append(status)
        new.rtt.append(rtt)
        new.message.append(message)

    def _update(self, seq: int, base: int, new: _Columns, changed: list[int],
                state: str, status: str, rtt: float | None) -> None:
        if seq >= base:
            target, row = new, seq - base
        elif seq >= self._first_seq:
            target, row = self._rows, seq - self._first_seq
            changed.append(seq)
        else:
            return  # the request row was already evicted
        target.state[row] = state
        target.status[row] = status
        if rtt is not None:
            target.rtt[row] = rtt

    def _commit(self, new: _Columns, base: int, changed: list[int]) -> None:
        n = len(new)
        if n > self._cap:  # the batch alone overflows: keep its newest rows
            skip = n - self._cap
            new.drop_front(skip)
            self._evict(len(self._rows))
            self.evicted += skip
            self._first_seq = base + skip
            n = self._cap
        else:
            self._evict(len(self._rows) + n - self._cap)
        if changed:
            rows = [s - self._first_seq for s in changed if s >= self._first_seq]
            if rows:
                self.dataChanged.emit(self.index(min(rows), STATUS), self.index(max(rows), RTT))
        if n:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + n - 1)
            self._rows.extend(new)
            self.endInsertRows()
        if len(self._pending) > max(4096, self._cap // 4):
            first = self._first_seq
            self._pending = {k: s for k, s in self._pending.items() if s >= first}

    def _evict(self, count: int) -> None:
        count = min(count, len(self._rows))
        if count <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, count - 1)
        self._rows.drop_front(count)
        self._first_seq += count
        self.evicted += count
        self.endRemoveRows()
