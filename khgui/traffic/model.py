"""The traffic table: one row per KRPC message, in a bounded ring buffer.

:class:`TrafficModel` stores rows column by column in plain lists (no item
objects).  Events arrive in batches; each batch costs at most one
``beginRemoveRows`` (the oldest rows beyond the cap), one ``beginInsertRows``
and one ``dataChanged`` per cluster of request rows whose answer or timeout
came in (at most a few), never a Qt call per event.  Display strings are made
in :meth:`TrafficModel.data` only for the cells painted.  Responses are paired with their requests by
``(direction, peer, tid)``: the request row then shows the outcome and RTT.
"""

from __future__ import annotations

from typing import Any, Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal

from dht.events import DatagramDropped, DatagramReceived, DatagramSent, RequestTimedOut

from ..common.table import TableModel
from ..common.text import MONOTONIC_TO_WALL, format_clock, format_peer
from .columns import COLUMNS, DIR, METHOD, PEER, RTT, SIZE, STATUS, TID, TIME, Columns, clock, state_brushes

DEFAULT_CAP = 100_000
_DIR_TEXT = {"out": "\u2192 out", "in": "\u2190 in"}
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)
_CHANGED_GAP = 64  # changed rows further apart than this get their own dataChanged
_MAX_CHANGED_RANGES = 32
_KIND_NAMES = {"q": "query", "r": "response", "e": "error", "-": "dropped"}
_Index = QModelIndex | QPersistentModelIndex


class TrafficModel(TableModel[Any]):
    """Rows of KRPC traffic, at most :attr:`cap` of them (oldest dropped first).

    Signals:
        methods_changed(list): the sorted method names seen so far grew.
    """

    methods_changed = Signal(list)
    columns = COLUMNS

    def __init__(self, cap: int = DEFAULT_CAP, parent: Any = None) -> None:
        super().__init__(parent)
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self._cap = cap
        self._cols = Columns()
        self._first_seq = 0  # sequence number of row 0
        self._pending: dict[tuple[str, tuple[str, int], bytes], int] = {}
        self._methods: set[str] = set()
        self._peer_text: dict[tuple[str, int], str] = {}  # peer -> "host:port"
        self.evicted = 0
        """Rows removed because the buffer was full."""

    # -- Qt model interface ----------------------------------------------------

    def row_count(self) -> int:
        return len(self._cols)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called from C++ about seven times per visible cell and paint (one call per
        # role the delegate asks for), so the common paths are plain int compares and
        # list look-ups; unhandled roles return at once.
        if role == _DISPLAY:
            row = index.row()
            r = self._cols
            if not (0 <= row < len(r.time)):
                return None
            col = index.column()
            if col == PEER:
                return r.peer[row]
            if col == METHOD:
                return r.method[row]
            if col == STATUS:
                return r.status[row]
            if col == TIME:
                return clock(r.time[row])
            if col == DIR:
                return _DIR_TEXT[r.dir[row]]
            if col == TID:
                tid = r.tid[row]
                return tid if len(tid) <= 8 else tid[:8] + "\u2026"
            if col == SIZE:
                return str(r.size[row])
            if col == RTT:
                rtt, soft = r.rtt[row], r.soft[row]
                shown = "" if rtt is None else f"{rtt * 1000:.1f} ms"
                if soft is not None:
                    shown += f" (soft {soft * 1000:.0f})" if shown else f"(soft {soft * 1000:.0f} ms)"
                return shown
            return None
        if role == _FOREGROUND:
            if index.column() == STATUS:
                row = index.row()
                if 0 <= row < len(self._cols.state):
                    return state_brushes()[self._cols.state[row]]
            return None
        if role == _ALIGNMENT:
            col = index.column()
            return _RIGHT if col == SIZE or col == RTT else None
        if role == _TOOLTIP:
            row, col = index.row(), index.column()
            r = self._cols
            if not (0 <= row < len(r.time)):
                return None
            if col == TID:
                return f"transaction id {r.tid[row]}"
            soft = r.soft[row]
            if col == RTT and soft is not None:
                return (f"judged by a soft timeout of {soft * 1000:.0f} ms (its contact's srtt + "
                        "4 rttvar, or the node's estimate): silent past it, the lookup asked one more "
                        "contact and kept waiting for this one")
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
        self._evict(len(self._cols) - cap)

    def methods(self) -> list[str]:
        return sorted(self._methods)

    # raw accessors for the filter and export (no QModelIndex needed)
    def raw(self, row: int) -> dict[str, Any]:
        r = self._cols
        return {name: getattr(r, name)[row] for name in r.__slots__}

    def direction_at(self, row: int) -> str:
        return self._cols.dir[row]

    def method_at(self, row: int) -> str:
        return self._cols.method[row]

    def peer_at(self, row: int) -> str:
        return self._cols.peer[row]

    def state_at(self, row: int) -> str:
        return self._cols.state[row]

    def message_at(self, row: int) -> Any:
        """The decoded message of a row (None for a dropped datagram)."""
        return self._cols.message[row]

    def record(self, row: int) -> dict[str, Any]:
        """A JSON-friendly description of one row (for export)."""
        from ..common.text import jsonable

        r = self._cols
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
            "soft_timeout": r.soft[row],
            "message": jsonable(r.message[row]),
        }

    # -- feeding -------------------------------------------------------------------

    def clear(self) -> None:
        self.beginResetModel()
        self._cols = Columns()
        self._first_seq = 0
        self._pending.clear()
        self.endResetModel()

    def add_events(self, events: Iterable[Any]) -> None:
        """Add a batch of events: at most one remove, one insert and one dataChanged
        per cluster of updated request rows (see :meth:`_emit_changed`).

        This runs for every event of every batch, so the loop is kept flat: column
        appends are bound once, peers' ``host:port`` texts are cached, and display
        strings are made lazily in :meth:`data` for the rows actually painted.
        """
        new = Columns()
        base = self._first_seq + len(self._cols)  # seq of new row 0
        changed: list[int] = []  # seqs of existing rows updated
        pending = self._pending
        methods = self._methods
        new_methods: list[str] = []
        peers = self._peer_text
        if len(peers) > 65_536:
            peers.clear()
        offset = MONOTONIC_TO_WALL
        add_time, add_dir, add_peer = new.time.append, new.dir.append, new.peer.append
        add_method, add_tid, add_size = new.method.append, new.tid.append, new.size.append
        add_kind, add_state, add_status = new.kind.append, new.state.append, new.status.append
        add_rtt, add_soft, add_message = new.rtt.append, new.soft.append, new.message.append
        count = 0  # rows in new
        for ev in events:
            t = type(ev)
            if t is DatagramReceived:
                direction, asked, rtt, late, soft = "in", "out", ev.rtt, ev.late, None
            elif t is DatagramSent:
                direction, asked, rtt, late, soft = "out", "in", None, False, ev.soft_timeout
            elif t is RequestTimedOut:
                seq = pending.pop(("out", ev.peer, ev.tid), None)
                if seq is not None:
                    self._update(seq, base, new, changed, "timeout", "timeout", None)
                continue
            elif t is DatagramDropped:
                peer = ev.peer
                text = peers.get(peer)
                if text is None:
                    text = peers[peer] = format_peer(peer)
                new.append(ev.time, "in", text, "", "", ev.size, "-", "dropped", f"dropped: {ev.reason}", None,
                           None)
                count += 1
                continue
            else:
                continue
            kind, peer, tid, method = ev.kind, ev.peer, ev.tid, ev.method
            if kind == "q":
                state = status = "pending"
                earlier = pending.get((direction, peer, tid))
                if earlier is not None:  # sent again (silent past its soft timeout): this row waits now
                    self._update(earlier, base, new, changed, "timeout", "sent again", None)
                pending[(direction, peer, tid)] = base + count
            elif kind == "e":
                state, status = "error", f"error {ev.error_code}"
            else:
                state = status = "ok"
            if late:
                status += " (late)"
            if kind != "q":
                seq = pending.pop((asked, peer, tid), None)
                if seq is not None:
                    self._update(seq, base, new, changed, state, status, rtt)
            text = peers.get(peer)
            if text is None:
                text = peers[peer] = format_peer(peer)
            add_time(ev.time + offset)
            add_dir(direction)
            add_peer(text)
            add_method(method)
            add_tid(tid.hex())
            add_size(ev.size)
            add_kind(kind)
            add_state(state)
            add_status(status)
            add_rtt(rtt)
            add_soft(soft)
            add_message(ev.message)
            count += 1
            if method not in methods:
                methods.add(method)
                new_methods.append(method)
        self._commit(new, base, changed)
        if new_methods:
            self.methods_changed.emit(self.methods())

    def _update(self, seq: int, base: int, new: Columns, changed: list[int],
                state: str, status: str, rtt: float | None) -> None:
        if seq >= base:
            target, row = new, seq - base
        elif seq >= self._first_seq:
            target, row = self._cols, seq - self._first_seq
            changed.append(seq)
        else:
            return  # the request row was already evicted
        target.state[row] = state
        target.status[row] = status
        if rtt is not None:
            target.rtt[row] = rtt

    def _commit(self, new: Columns, base: int, changed: list[int]) -> None:
        n = len(new)
        if n > self._cap:  # the batch alone overflows: keep its newest rows
            skip = n - self._cap
            new.drop_front(skip)
            self._evict(len(self._cols))
            self.evicted += skip
            self._first_seq = base + skip
            n = self._cap
        else:
            self._evict(len(self._cols) + n - self._cap)
        if changed:
            self._emit_changed(changed)
        if n:
            start = len(self._cols)
            self.beginInsertRows(QModelIndex(), start, start + n - 1)
            self._cols.extend(new)
            self.endInsertRows()
        if len(self._pending) > max(4096, self._cap // 4):
            first = self._first_seq
            self._pending = {k: s for k, s in self._pending.items() if s >= first}

    def _emit_changed(self, changed: list[int]) -> None:
        """One ``dataChanged`` (Status..RTT) per cluster of changed rows.

        A single range from the oldest to the newest changed row would make a
        filter proxy re-test every row between them (a whole 100,000-row table
        when a request times out long after it was sent), so rows further apart
        than ``_CHANGED_GAP`` are reported separately; at most a few clusters
        per batch in practice (answers arrive soon after their request), and never
        more than ``_MAX_CHANGED_RANGES`` (wider gaps are merged then).
        """
        first = self._first_seq
        rows = sorted({s - first for s in changed if s >= first})
        if not rows:
            return
        gap = _CHANGED_GAP
        while True:
            ranges: list[tuple[int, int]] = []
            start = prev = rows[0]
            for row in rows[1:]:
                if row - prev > gap:
                    ranges.append((start, prev))
                    start = row
                prev = row
            ranges.append((start, prev))
            if len(ranges) <= _MAX_CHANGED_RANGES:
                break
            gap *= 4  # many scattered timeouts: fewer, wider ranges
        for top, bottom in ranges:
            self.dataChanged.emit(self.index(top, STATUS), self.index(bottom, RTT))

    def _evict(self, count: int) -> None:
        count = min(count, len(self._cols))
        if count <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, count - 1)
        self._cols.drop_front(count)
        self._first_seq += count
        self.evicted += count
        self.endRemoveRows()
