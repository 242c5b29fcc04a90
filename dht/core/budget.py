"""The outgoing query budget: how fast this node may ask others (sans-IO).

Politeness on the public DHT: a node may send at most ``rate`` queries a
second, in bursts of at most ``burst`` (a token bucket: ``burst`` tokens,
refilled at ``rate`` a second, one taken per query).  A rate of 0 is no
budget at all (a lab on loopback): every query goes at once.

Theory of operation.  :class:`QueryBudget` keeps the bucket and a FIFO of
the queries held back.  The shell hands each query in with
:meth:`QueryBudget.submit` and ``now``; it is sent at once when a token is
there *and nobody waits before it* (first come, first served), else it
waits.  The shell asks :meth:`QueryBudget.next_time` when the first waiting
query can go and arms one timer for then; at that time
:meth:`QueryBudget.ready` hands back, in order, every query that may now
go.  A query whose caller gave up is :meth:`QueryBudget.discard` ed: it
never goes and takes no token.  :meth:`QueryBudget.configure` changes rate
and burst at run time; a rate of 0 releases everybody waiting at the next
:meth:`ready`.

Nothing here reads a clock, sleeps or sends: ``now`` comes in as an
argument (monotonic seconds), so tests drive it with a fake clock.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

from .errors import LocalError

T = TypeVar("T", bound=Hashable)

#: Slack on a token's worth: a timer armed for ``next_time`` finds the token there
#: despite floating-point rounding of the refill.
_EPS = 1e-9


def check_budget(per_second: object, burst: object) -> tuple[float, int]:
    """``(per_second, burst)`` checked: a rate >= 0 and a burst >= 1 (LocalError otherwise)."""
    if isinstance(per_second, bool) or not isinstance(per_second, (int, float)) or not per_second >= 0:
        raise LocalError(f"query budget must be a number of queries per second >= 0, not {per_second!r}")
    if not math.isfinite(per_second):
        raise LocalError(f"query budget must be finite, not {per_second!r}")
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise LocalError(f"query burst must be an integer >= 1, not {burst!r}")
    return float(per_second), burst


class QueryBudget(Generic[T]):
    """A token bucket with a FIFO of queries held back (see the module's docstring)."""

    def __init__(self, per_second: float, burst: int, now: float) -> None:
        self.rate, self.burst = check_budget(per_second, burst)
        self._tokens = float(self.burst)
        self._at = now
        self._waiting: OrderedDict[T, None] = OrderedDict()
        self.delayed = 0
        """Queries ever held back."""

    @property
    def waiting(self) -> int:
        """Queries held back right now."""
        return len(self._waiting)

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = max(self._at, now)

    def configure(self, per_second: float, burst: int, now: float) -> None:
        """A new rate and burst from ``now`` on (tokens beyond the new burst are dropped)."""
        rate, burst = check_budget(per_second, burst)
        self._refill(now)
        self.rate, self.burst = rate, burst
        self._tokens = min(self._tokens, float(burst))

    def submit(self, query: T, now: float) -> bool:
        """True: send ``query`` now (a token was taken); False: it waits its turn."""
        if self.rate == 0:
            return True
        self._refill(now)
        if not self._waiting and self._tokens >= 1.0 - _EPS:
            self._tokens -= 1.0
            return True
        self._waiting[query] = None
        self.delayed += 1
        return False

    def discard(self, query: T) -> None:
        """Forget a waiting query (its caller gave up); nothing if it is not waiting."""
        self._waiting.pop(query, None)

    def ready(self, now: float) -> list[T]:
        """The waiting queries that may go now, first come first; each took a token."""
        if self.rate == 0:
            out = list(self._waiting)
            self._waiting.clear()
            return out
        self._refill(now)
        out = []
        while self._waiting and self._tokens >= 1.0 - _EPS:
            self._tokens -= 1.0
            query, _ = self._waiting.popitem(last=False)
            out.append(query)
        return out

    def next_time(self, now: float) -> float | None:
        """When the first waiting query may go (``now`` or later); None if none waits."""
        if not self._waiting:
            return None
        if self.rate == 0:
            return now
        self._refill(now)
        missing = 1.0 - self._tokens
        return now if missing <= _EPS else now + missing / self.rate
