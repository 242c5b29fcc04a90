"""The crawl's pacing (sans-IO): its query budget and how long a query is given.

:class:`Budget` is the token bucket that holds a crawl to ``rate`` queries
a second, :data:`BURST` deep (a rate of 0: no limit); :class:`RoundTrips`
smooths the answers' round trips (RFC 6298) into the deadline of the next
query, within [:data:`MIN_TIMEOUT`, the crawl's timeout].  Both are fed
``now`` by :class:`~dht.crawl.machine.CrawlMachine`; neither reads a clock.
"""

from __future__ import annotations

#: Most seconds a query may stay unanswered before it counts as lost.
TIMEOUT = 2.0
#: Least seconds a query is given: the deadline is the answers' srtt + 4 rttvar within [this, TIMEOUT].
MIN_TIMEOUT = 0.5
#: The budget's bucket depth, in queries.
BURST = 20


class Budget:
    """A token bucket of ``rate`` queries a second, :data:`BURST` deep (0: no limit)."""

    __slots__ = ("rate", "tokens", "tokens_at")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = float(rate)
        self.tokens = float(BURST)
        self.tokens_at = now

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last refill."""
        if self.rate > 0:
            self.tokens = min(float(BURST), self.tokens + (now - self.tokens_at) * self.rate)
        self.tokens_at = now

    def allows(self) -> bool:
        """Whether one more query may be sent now."""
        return self.rate <= 0 or self.tokens >= 1.0

    def spend(self) -> None:
        """Charge one query."""
        self.tokens -= 1.0

    def next_token(self, now: float) -> float | None:
        """When the next token is there, if the bucket is short of one (None: it is not, or no limit)."""
        if self.rate > 0 and self.tokens < 1.0:
            return now + (1.0 - self.tokens) / self.rate
        return None


class RoundTrips:
    """The answers' smoothed round trip and its variation, and the deadline they give."""

    __slots__ = ("timeout", "srtt", "rttvar")

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self.srtt: float | None = None
        self.rttvar = 0.0

    def deadline(self) -> float:
        """Seconds a query is given now: srtt + 4 rttvar of the answers so far, within
        [MIN_TIMEOUT, timeout] (the timeout itself before any answer)."""
        if self.srtt is None:
            return self.timeout
        return min(self.timeout, max(MIN_TIMEOUT, self.srtt + 4 * self.rttvar))

    def sample(self, rtt: float) -> None:
        """RFC 6298's smoothing of the round trips."""
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
