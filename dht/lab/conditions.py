"""Network conditions inside a lab: delay, loss and churn, flat or as on the public Internet.

A lab on loopback is a perfect network: answers come in microseconds and
nothing is lost, so soft timeouts, timeouts and failed contacts never show.
This module makes the lab's links imperfect, the way ``tc netem`` would,
but inside the process and changeable while the lab runs.

Theory of operation.  The decisions are sans-IO and take a seeded
:class:`random.Random` and ``now`` as arguments:

* :class:`LinkModel` decides, for each datagram a lab node sends, whether
  it is lost and otherwise how long it is held back: ``latency`` plus a
  uniform share of ``jitter`` (so ``latency`` is the least one-way delay).
  Delay and loss apply to what lab nodes *send*: between two lab nodes a
  round trip is delayed twice; a node outside the lab (the explorer's own)
  sees its queries answered at least ``latency`` late, and with ``loss`` 1
  never answered.
* Under the ``public`` preset (:meth:`Conditions.public`) each lab node
  has its own base one-way delay instead of one ``latency`` for all,
  drawn once per node (:class:`NodeDelays`, seeded) from the log-normal of
  :func:`public_delay_ms`, whose median and 90th percentile are those of
  round trips to Mainline DHT nodes seen from a well-connected host
  (:data:`PUBLIC_RTT_MEDIAN_MS`, :data:`PUBLIC_RTT_P90_MS`; sources in the
  README).  A node outside the lab (the explorer's, a one-shot command's)
  sees its round trips to lab nodes follow that distribution; between two
  lab nodes a round trip adds both nodes' delays, as between two home
  connections.  ``jitter`` (uniform, per datagram) and ``loss`` go on top.
* :class:`ChurnPlan` decides when lab nodes die and come back: kills come
  as a Poisson process of ``churn`` per minute, and each killed node comes
  back (revived on its own data directory, with its id) after a downtime
  drawn from an exponential of mean :data:`MEAN_DOWNTIME` seconds, so about
  ``churn / 60 * MEAN_DOWNTIME`` nodes are down at any time.

:class:`ConditionedTransport` is the thin asyncio shim: it wraps a lab
node's datagram transport and sends each datagram at once, later (a timer
of the transport's loop) or never, as the shared :class:`LinkModel` says.
Changing the model's :class:`Conditions` applies to the next datagram of
every node.  Datagrams held back when a node stops are not sent.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Callable, Literal

from ..core.contact import Address
from ..core.errors import LocalError
from .fabric import Fabric

#: Largest latency or jitter a lab accepts, in milliseconds (a minute).
MAX_DELAY_MS = 60_000.0
#: Largest churn a lab accepts, in nodes per minute.
MAX_CHURN_PER_MIN = 6_000.0
#: Mean seconds a node killed by churn stays down before it is revived.
MEAN_DOWNTIME = 30.0

#: The kinds of conditions: ``flat`` (one latency for every datagram) and
#: ``public`` (each node its own delay, drawn from :func:`public_delay_ms`).
PRESETS = ("flat", "public")
#: Median round trip to a Mainline DHT node from a well-connected host, ms (see the README).
PUBLIC_RTT_MEDIAN_MS = 200.0
#: 90th percentile of those round trips, ms: the heavy tail (home uplinks, NAT, other continents).
PUBLIC_RTT_P90_MS = 1000.0
#: Least and largest base delay drawn, ms: below, nobody is that close; above, the node
#: is as good as dead (it would be past most clients' timeouts twice over).
PUBLIC_MIN_MS = 5.0
PUBLIC_MAX_MS = 4000.0
#: The per-datagram jitter of the public preset unless another is given, ms.
PUBLIC_JITTER_MS = 20.0
#: The log-normal's sigma: ln(p90 / median) / z(0.9).
PUBLIC_SIGMA = math.log(PUBLIC_RTT_P90_MS / PUBLIC_RTT_MEDIAN_MS) / NormalDist().inv_cdf(0.9)


def public_delay_ms(rng: random.Random) -> float:
    """One node's base one-way delay under the public preset, in milliseconds.

    Log-normal with median :data:`PUBLIC_RTT_MEDIAN_MS` and 90th percentile
    :data:`PUBLIC_RTT_P90_MS` (sigma about 1.26: the 99th percentile is
    about 3.7 s), clamped to [:data:`PUBLIC_MIN_MS`, :data:`PUBLIC_MAX_MS`].
    """
    drawn = rng.lognormvariate(math.log(PUBLIC_RTT_MEDIAN_MS), PUBLIC_SIGMA)
    return min(PUBLIC_MAX_MS, max(PUBLIC_MIN_MS, drawn))


class NodeDelays:
    """Each lab node's base one-way delay under the public preset (sans-IO, seeded).

    A node's delay is drawn the first time it is asked for, from a generator
    seeded with the lab's seed and the node's number, so that it is the same
    whatever order the nodes send in, and the same for a revived node.
    ``seed`` None: drawn from a fresh random generator each time.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self._delays: dict[int, float] = {}
        self._rng = random.Random()

    def one_way(self, node: int) -> float:
        """Node number ``node``'s base one-way delay, in seconds."""
        delay = self._delays.get(node)
        if delay is None:
            rng = self._rng if self.seed is None else random.Random(f"{self.seed}/{node}")
            delay = self._delays[node] = public_delay_ms(rng) / 1000.0
        return delay


@dataclass(frozen=True, slots=True)
class Conditions:
    """What a lab's links do: milliseconds of latency and jitter, a loss
    fraction (0 to 1) and churn in nodes killed (and later revived) per minute.

    ``preset``: ``flat`` (every datagram ``latency_ms`` late) or ``public``
    (each node's datagrams its own base delay late, see
    :func:`public_delay_ms`; ``latency_ms`` must then be 0).  Make the
    latter with :meth:`public`.

    Checked when made: a value out of range raises :class:`LocalError`.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    churn_per_min: float = 0.0
    preset: str = "flat"

    @classmethod
    def public(cls, loss: float = 0.0, jitter_ms: float = PUBLIC_JITTER_MS,
               churn_per_min: float = 0.0) -> "Conditions":
        """The public-Internet preset: per-node delays, ``jitter_ms`` and ``loss`` on top."""
        return cls(0.0, jitter_ms, loss, churn_per_min, "public")

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise LocalError(f"conditions preset must be one of {', '.join(PRESETS)}, not {self.preset!r:.40}")
        for name, hi in (("latency_ms", MAX_DELAY_MS), ("jitter_ms", MAX_DELAY_MS),
                         ("churn_per_min", MAX_CHURN_PER_MIN), ("loss", 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise LocalError(f"{name} must be a number, not {value!r}")
            if not 0 <= value <= hi:
                raise LocalError(f"{name} must be between 0 and {hi:g}, not {value:g}")
        if self.preset == "public" and self.latency_ms:
            raise LocalError("under the public preset each node's latency is drawn: latency_ms must be 0")

    @property
    def perfect(self) -> bool:
        """No delay, no loss (churn aside): datagrams go out untouched."""
        return self.preset == "flat" and self.latency_ms == 0 and self.jitter_ms == 0 and self.loss == 0

    def describe(self) -> str:
        """One line, e.g. ``latency 50 ms + up to 10 ms, loss 5 %, churn 2/min``, or
        ``public Internet latency (median 200 ms, p90 1000 ms) + up to 20 ms, ...``."""
        jitter = f" + up to {self.jitter_ms:g} ms" if self.jitter_ms else ""
        if self.preset == "public":
            latency = (f"public Internet latency (median {PUBLIC_RTT_MEDIAN_MS:g} ms, "
                       f"p90 {PUBLIC_RTT_P90_MS:g} ms)")
        else:
            latency = f"latency {self.latency_ms:g} ms"
        parts = [latency + jitter]
        parts.append(f"loss {self.loss * 100:g} %")
        parts.append(f"churn {self.churn_per_min:g}/min")
        return ", ".join(parts)


class LinkModel:
    """Decides each datagram's fate under the current :class:`Conditions` (sans-IO)."""

    def __init__(self, conditions: Conditions | None = None, rng: random.Random | None = None,
                 delays: NodeDelays | None = None) -> None:
        self.conditions = conditions or Conditions()
        self.rng = rng or random.Random()
        self.delays = delays or NodeDelays()
        """Each node's base delay under the public preset."""
        self.sent = 0  # datagrams passed, at once or later
        self.lost = 0  # datagrams dropped
        self.delayed = 0  # datagrams held back

    def decide(self, node: int | None = None) -> float | None:
        """None: the datagram is lost; else the seconds to hold it back (0: send now).

        ``node``: the number of the lab node sending it (its base delay under
        the public preset; None: no base delay)."""
        c = self.conditions
        if c.loss and (c.loss >= 1 or self.rng.random() < c.loss):
            self.lost += 1
            return None
        self.sent += 1
        base = self.delays.one_way(node) if c.preset == "public" and node is not None else 0.0
        if not base and not c.latency_ms and not c.jitter_ms:
            return 0.0
        self.delayed += 1
        return base + (c.latency_ms + self.rng.random() * c.jitter_ms) / 1000.0


@dataclass(frozen=True, slots=True)
class ChurnAction:
    """What churn does now: ``kill`` a live node, or ``revive`` the dead one ``key``.

    For a kill, ``key`` is a fresh number naming that death; the caller
    picks the node and reports it with :meth:`ChurnPlan.killed`.
    """

    kind: Literal["kill", "revive"]
    key: int


@dataclass
class ChurnPlan:
    """When lab nodes die and come back (sans-IO: given ``now`` and a seeded rng).

    Call :meth:`due` with the time; it returns the actions due since the
    last call, in order.  :meth:`set_rate` changes the churn from ``now`` on;
    rate 0 stops the kills (nodes already down still come back).
    """

    rate_per_min: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    mean_downtime: float = MEAN_DOWNTIME
    next_kill: float = math.inf
    downs: dict[int, float] = field(default_factory=dict)  # death key -> when it comes back
    _keys: int = 0

    def set_rate(self, rate_per_min: float, now: float) -> None:
        if not 0 <= rate_per_min <= MAX_CHURN_PER_MIN:
            raise LocalError(f"churn must be between 0 and {MAX_CHURN_PER_MIN:g} per minute, not {rate_per_min:g}")
        self.rate_per_min = rate_per_min
        self.next_kill = now + self._gap() if rate_per_min > 0 else math.inf

    def _gap(self) -> float:
        return self.rng.expovariate(self.rate_per_min / 60.0)

    def due(self, now: float) -> list[ChurnAction]:
        """The kills and revivals due by ``now``, in time order."""
        timed: list[tuple[float, ChurnAction]] = []
        for key, back in list(self.downs.items()):
            if back <= now:
                del self.downs[key]
                timed.append((back, ChurnAction("revive", key)))
        while self.next_kill <= now:
            self._keys += 1
            timed.append((self.next_kill, ChurnAction("kill", self._keys)))
            self.next_kill += self._gap()
        timed.sort(key=lambda t: t[0])
        return [action for _, action in timed]

    def killed(self, key: int, now: float) -> None:
        """The kill ``key`` was carried out at ``now``: schedule its revival."""
        self.downs[key] = now + self.rng.expovariate(1.0 / self.mean_downtime)

    def next_time(self) -> float:
        """When the next action is due (``math.inf``: none)."""
        return min([self.next_kill, *self.downs.values()])


class ConditionedTransport(asyncio.DatagramTransport):
    """A lab node's datagram transport, sending as a shared :class:`LinkModel` decides.

    On a perfect network what the lab's :class:`~dht.lab.fabric.Fabric` carries
    (while the lab forms) does not go through the socket.
    Everything but :meth:`sendto` goes to the wrapped transport.  Datagrams
    held back are sent by timers of the running loop; :meth:`close` cancels
    them (a stopped node sends nothing more).
    """

    def __init__(self, inner: asyncio.DatagramTransport, model: LinkModel, node: int | None = None,
                 fabric: Fabric | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.model = model
        self.node = node
        """The lab's number for the node sending (its base delay under the public preset)."""
        self.fabric = fabric
        """The lab's in-process path, tried first on a perfect network (:mod:`dht.lab.fabric`)."""
        sockname = inner.get_extra_info("sockname")
        self.source: Address = (sockname[0], sockname[1]) if sockname else ("", 0)
        self._held: set[asyncio.TimerHandle] = set()
        #: How a datagram held back is sent when its delay has passed (the node's
        #: transport sets it to its own ``transmit``: sent again if an ICMP error took it).
        self.deliver: Callable[[Any, Any], None] = inner.sendto

    def sendto(self, data: Any, addr: Any = None) -> None:
        if self.model.conditions.perfect:
            fabric = self.fabric
            if fabric is None or not fabric.carry(data, self.source, addr):
                self.inner.sendto(data, addr)
            return
        delay = self.model.decide(self.node)
        if delay is None:
            return
        if delay <= 0:
            self.inner.sendto(data, addr)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def send() -> None:
            self._held.discard(handle)
            if not self.inner.is_closing():
                self.deliver(data, addr)

        handle = loop.call_later(delay, send)
        self._held.add(handle)

    @property
    def held(self) -> int:
        """Datagrams waiting for their delay to pass."""
        return len(self._held)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.inner.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self.inner.is_closing()

    def close(self) -> None:
        for handle in self._held:
            handle.cancel()
        self._held.clear()
        self.inner.close()

    def abort(self) -> None:
        self.close()
