"""The lookups drawn on the network map: one arc per query, fading once its outcome is known.

An :class:`Arc` goes from the asking node to the asked one; it is pending
until its answer, timeout or error comes, then fades out over
:data:`FADE_SECONDS` (pending ones fade too, after :data:`PENDING_SECONDS`):
:func:`arc_alpha`.  :class:`LookupArcs` keeps at most :data:`MAX_ARCS` of them
(the oldest go first) and each lookup's target while it has arcs.  It is fed
``now`` and never reads a clock; the view passes ``time.monotonic()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .palette import OUTCOMES

FADE_SECONDS = 4.0
PENDING_SECONDS = 6.0
MAX_ARCS = 3000


@dataclass(slots=True)
class Arc:
    """One query drawn: asker -> asked, its outcome and since when it is known."""

    src: bytes
    dst: bytes
    outcome: str
    start: float  # when sent
    settled: float | None = None  # when its outcome came



def arc_alpha(arc: Arc, now: float) -> float:
    """How visible ``arc`` is at ``now``: 1 until it starts fading, 0 once faded."""
    if arc.settled is None:
        age = now - arc.start
        return 1.0 if age < PENDING_SECONDS - FADE_SECONDS else max(0.0, (PENDING_SECONDS - age) / FADE_SECONDS)
    return max(0.0, 1.0 - (now - arc.settled) / FADE_SECONDS)


class LookupArcs:
    """The arcs shown, by (asker, lookup, asked), and the targets of their lookups."""

    def __init__(self) -> None:
        self.arcs: dict[tuple[bytes, int, bytes], Arc] = {}
        self.targets: dict[tuple[bytes, int], bytes] = {}  # (asker, lookup) -> target, while it has arcs

    def started(self, src: bytes, lookup: int, target: bytes) -> None:
        """A lookup of ``src`` for ``target``: the target is marked while its arcs show."""
        if len(self.targets) >= MAX_ARCS:
            del self.targets[next(iter(self.targets))]
        self.targets[(src, lookup)] = target

    def marked(self) -> list[bytes]:
        """The targets marked (lookups with arcs still shown)."""
        live = {(a.src, key[1]) for key, a in self.arcs.items()}
        return [t for k, t in self.targets.items() if k in live]

    def sent(self, src: bytes, lookup: int, dst: bytes, now: float) -> bool:
        """A lookup of ``src`` asked ``dst``: a pending arc.  False if there is nothing to draw."""
        if src == dst:
            return False  # a lookup asks its own node too, through its handlers: nothing to draw
        key = (src, lookup, dst)
        if key not in self.arcs and len(self.arcs) >= MAX_ARCS:
            del self.arcs[next(iter(self.arcs))]
        self.arcs[key] = Arc(src, dst, "pending", now)
        return True

    def settled(self, src: bytes, lookup: int, dst: bytes, outcome: str, now: float) -> bool:
        """The outcome of that query: the arc takes its colour and starts fading.  False if nothing changed."""
        if src == dst or outcome == "slow":
            return False  # slow: silent past its soft timeout, still waited for (the arc stays pending)
        arc = self.arcs.get((src, lookup, dst))
        if arc is None:
            self.sent(src, lookup, dst, now)
            arc = self.arcs[(src, lookup, dst)]
        if arc.outcome != "pending" and outcome == "timeout" and arc.outcome != "timeout":
            return False  # a soft timeout after the answer: the answer stands
        arc.outcome = outcome if outcome in OUTCOMES else "error"
        arc.settled = now
        return True

    def clear(self) -> None:
        self.arcs.clear()
        self.targets.clear()

    def expire(self, now: float) -> None:
        """Drop the arcs faded by ``now``, and the targets left without arcs."""
        for key in [k for k, a in self.arcs.items() if arc_alpha(a, now) <= 0.0]:
            del self.arcs[key]
        live = {(k[0], k[1]) for k in self.arcs}
        for gone in [k for k in self.targets if k not in live]:
            del self.targets[gone]
