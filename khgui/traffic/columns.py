"""The traffic table's rows, stored column by column, and how a cell reads.

:class:`Columns` keeps the rows of :class:`~khgui.traffic.model.TrafficModel`
as parallel plain lists, one per field (no item objects): appending a row
is a dozen list appends, dropping the oldest rows one slice per field.
:data:`COLUMNS` names the columns shown (and their indices, ``TIME`` to
``RTT``); :data:`STATES` the states of a row's status, each drawn in its
theme colour (:func:`state_brushes`); :func:`clock` the time of a row as
``HH:MM:SS.mmm``, each second's text made once.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QBrush

from ..common.text import format_clock, monotonic_to_wall
from ..common.theme import colors

COLUMNS = ("Time", "Dir", "Peer", "Method", "TID", "Size", "Status", "RTT")
TIME, DIR, PEER, METHOD, TID, SIZE, STATUS, RTT = range(len(COLUMNS))
STATES = ("ok", "error", "timeout", "pending", "dropped")
_BRUSHES: dict[str, dict[str, QBrush]] = {}  # theme name: state: brush


def state_brushes() -> dict[str, QBrush]:
    c = colors()
    brushes = _BRUSHES.get(c.name)
    if brushes is None:
        brushes = _BRUSHES[c.name] = {state: QBrush(c.qcolor_of(state)) for state in STATES}
    return brushes


_clock_second = -1
_clock_text = ""


def clock(wall: float) -> str:
    """:func:`format_clock`, formatting each second's ``HH:MM:SS`` once."""
    global _clock_second, _clock_text
    second = int(wall)
    if second != _clock_second:
        _clock_text = format_clock(second)[:8]
        _clock_second = second
    return f"{_clock_text}.{int((wall % 1) * 1000):03d}"


class Columns:
    """Parallel lists, one per stored field."""

    __slots__ = ("time", "dir", "peer", "method", "tid", "size", "kind", "state",
                 "status", "rtt", "soft", "message")

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
        self.soft: list[float | None] = []  # a lookup's query: the soft timeout it is judged by
        self.message: list[Any] = []

    def __len__(self) -> int:
        return len(self.time)

    def lists(self) -> list[list[Any]]:
        return [getattr(self, name) for name in self.__slots__]

    def drop_front(self, n: int) -> None:
        for column in self.lists():
            del column[:n]

    def extend(self, other: "Columns") -> None:
        for mine, theirs in zip(self.lists(), other.lists()):
            mine.extend(theirs)

    def append(self, time: float, direction: str, peer: str, method: str, tid: str, size: int,
               kind: str, state: str, status: str, rtt: float | None, message: Any) -> None:
        """Add one row (``time`` monotonic; no soft timeout)."""
        self.time.append(monotonic_to_wall(time))
        self.dir.append(direction)
        self.peer.append(peer)
        self.method.append(method)
        self.tid.append(tid)
        self.size.append(size)
        self.kind.append(kind)
        self.state.append(state)
        self.status.append(status)
        self.rtt.append(rtt)
        self.soft.append(None)
        self.message.append(message)
