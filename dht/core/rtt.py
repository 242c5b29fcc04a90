"""Round-trip times and the soft timeout they give, per contact and for the node.

Theory of operation.  A request's *soft timeout* is how long it may stay
silent before a lookup asks one more candidate in its place (it keeps
waiting for it: see :mod:`dht.core.lookup`); its *full timeout* (KRPC_TIMEOUT)
is when it fails.  The soft timeout is a retransmission timeout in TCP's
sense (RFC 6298): ``srtt + 4 * rttvar``, clamped to
[SOFT_TIMEOUT_MIN, SOFT_TIMEOUT_MAX].

On the public DHT one node's peers answer anywhere from 20 ms to over a
second (other continents, home uplinks, NAT), so one estimate for the whole
node is wrong for most of them: a near peer waits too long before the lookup
widens, a far one is always "slow".  As TCP keeps one estimate per
connection, each contact in the routing table keeps its own (the table's
:class:`~dht.core.kbucket.Entry` holds ``rtt`` and ``rttvar``, updated by
:func:`smooth` on every answer); the node's :class:`RttEstimator`, fed every
answer, serves contacts without history (most of a lookup's candidates).

Both follow conditions that change: the gains (1/4 for the mean and the
variance) let one sample four times the old mean lift the timeout past it
at once, through the variance.  Nothing here reads a clock.
"""

from __future__ import annotations

#: Gain of the smoothed RTT and of its variance (RFC 6298's beta).
GAIN = 0.25


def smooth(srtt: float | None, rttvar: float, sample: float) -> tuple[float, float]:
    """(srtt, rttvar) after one more RTT ``sample`` (RFC 6298; the first sets srtt and half of it)."""
    if srtt is None:
        return sample, sample / 2
    return (1 - GAIN) * srtt + GAIN * sample, (1 - GAIN) * rttvar + GAIN * abs(srtt - sample)


def soft_timeout(srtt: float, rttvar: float, lo: float, hi: float) -> float:
    """``srtt + 4 rttvar``, clamped to [lo, hi]."""
    return min(hi, max(lo, srtt + 4 * rttvar))


class RttEstimator:
    """The node's estimate, from every answer: the soft timeout of a contact without history."""

    __slots__ = ("srtt", "rttvar", "samples")

    def __init__(self) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.samples = 0

    def sample(self, rtt: float) -> None:
        self.srtt, self.rttvar = smooth(self.srtt, self.rttvar, rtt)
        self.samples += 1

    def timeout(self, lo: float, hi: float) -> float:
        """The soft timeout; ``hi`` until an RTT has been measured."""
        if self.srtt is None:
            return hi
        return soft_timeout(self.srtt, self.rttvar, lo, hi)
