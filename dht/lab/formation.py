"""How a lab forms: its nodes introduced to one another, without a lookup.

Theory of operation (:func:`form`, run by :meth:`dht.lab.lab.Lab.start`).  A
network that has run for a while has tables in which every node knows its close neighbourhood (its K
closest) and a few contacts in each bucket further away, kept so by joins,
lookups and bucket refreshes.  Growing that state the way a real network
does -- each node joining, looking up its own id and then refreshing every
bucket -- costs some 100 lookups' worth of requests per node, and in one
process on one loop it is what made a 2,000-node lab take two minutes.
The lab knows every node's id, so it plays the part of the network's
history instead, over real KRPC (carried from node to node inside the
process, :mod:`dht.lab.fabric`, unless the lab records a capture):

1. every node starts (binds its socket, opens its database), in :meth:`dht.lab.lab.Lab.start`;
2. every node is *introduced* to its neighbourhood: it pings its K closest
   nodes.  Each answer puts the peer into the pinger's table as a contact
   that answered; each ping puts the pinger into the peer's table as a
   node seen in a query, as the protocol does for any request.  The order
   matters, because a full bucket keeps the contacts it has: first the
   pings between mutual neighbours (each among the other's K closest),
   rank by rank, so that while they run every node is offered only nodes
   of its own K closest; then the one-way neighbours;
3. every node but the first *joins* the first (the ``join`` method), as a
   real join does, so the first node -- the bootstrap address a swarm
   prints -- knows many (it keeps its neighbours: they came first); the
   joins are paced within the first node's global query budget (a token
   bucket of JOIN_PACE of its burst and of its rate, refilled as that
   budget is while the first joins are answered): faster, its limits drop
   them and each dropped join waits out FORMATION_TIMEOUT (256 of a
   5,000-node lab's did, which doubled the stage);
4. every node is introduced to :data:`INTRODUCTIONS_PER_BUCKET` random
   nodes in each subtree further away (the ranges of the buckets it would
   have), by a ping as above.

That is some K + 2·log2(N/K) requests per node, each one datagram each way,
with a bounded number in flight (:data:`IN_FLIGHT`) so that no socket
buffer overflows, each ping sent from the callback that ends the one before
(:class:`_Pings`: no task, coroutine or timer per ping); no lookup is run.  Lookups, refreshes and the nodes' own
maintenance then run as they always do.

:func:`form` reports :class:`~dht.core.events.LabProgress` ("introducing") through
the lab's ``emit``, at most every :data:`PROGRESS_STEP` of the requests.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterator

from ..rpc import clock
from ..core.config import Config
from ..core.contact import Address, Contact
from ..core.errors import DHTError, LocalError
from ..core.events import Event, LabProgress
from ..node.facade import Node, core_of

#: Requests a forming lab keeps in flight at once (all nodes together).
IN_FLIGHT = 128
#: Random peers a node is introduced to in each bucket range beyond its K closest.
INTRODUCTIONS_PER_BUCKET = 2
#: The most seconds a formation request may take before the lab moves on.
FORMATION_TIMEOUT = 5.0
#: The share of the first node's GLOBAL_QUERY_BURST and GLOBAL_QUERY_RATE the joins may use.
JOIN_PACE = 0.8
#: Times a join is sent before the node is counted as not joined.
JOIN_ATTEMPTS = 2
#: Fraction of a formation stage between two progress reports.
PROGRESS_STEP = 0.02


@dataclass(frozen=True, slots=True)
class Formation:
    """How a lab formed: seconds per stage and requests sent."""

    started_s: float  # every node listening
    joined_s: float  # every node joined to the first
    introduced_s: float  # every node introduced to its neighbourhood and far peers
    requests: int  # join and introduction requests sent
    failed: int  # of which unanswered

    @property
    def total_s(self) -> float:
        return self.started_s + self.joined_s + self.introduced_s


def introductions(
    ids: list[int], me: int, k: int, per_bucket: int, rng: random.Random,
) -> tuple[list[int], list[int]]:
    """The peers node ``ids[me]`` is introduced to, as indices into the sorted ``ids``.

    Returns its ``k`` closest by XOR, closest first, and up to
    ``per_bucket`` random others in each subtree that shares exactly d
    leading bits with it, for every d (the ranges of its buckets).
    """
    own = ids[me]
    far: dict[int, None] = {}
    lo, hi = 0, len(ids)  # the subtree around us at this depth
    for depth in range(160):
        shift = 159 - depth
        prefix = own >> shift
        sub_lo = bisect.bisect_left(ids, prefix << shift, lo, hi)
        sub_hi = bisect.bisect_left(ids, (prefix + 1) << shift, lo, hi)
        if sub_hi - sub_lo <= k:
            break  # fewer than k others below: our k closest are in [lo, hi)
        # The sibling subtree: the first `depth` bits as ours, the next one not.
        sib_lo, sib_hi = (lo, sub_lo) if sub_lo > lo else (sub_hi, hi)
        pool = range(sib_lo, sib_hi)
        for i in rng.sample(pool, min(per_bucket, len(pool))):
            far[i] = None
        lo, hi = sub_lo, sub_hi
    near = sorted(range(lo, hi), key=lambda i: ids[i] ^ own)[1 : k + 1]
    for i in near:
        far.pop(i, None)
    return near, list(far)


class _Pacer:
    """A token bucket, as the first node's global budget is: ``burst`` tokens, refilled at
    ``rate`` a second; a job starts when its token is there (each job reserves its own,
    the bucket going into debt: no thundering herd of waiting workers)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp: float | None = None

    async def wait(self) -> None:
        now = clock.now()
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)


def join_pacer(config: Config, share: float = 1.0) -> _Pacer:
    """Joins within ``share`` of the first node's global query budget (loopback queries
    cost 1 / LOOPBACK_LIMIT_FACTOR of it)."""
    factor = config.LOOPBACK_LIMIT_FACTOR * share
    return _Pacer(JOIN_PACE * config.GLOBAL_QUERY_RATE * factor,
                  max(1, int(JOIN_PACE * config.GLOBAL_QUERY_BURST * factor)))


async def _run_pool(
    jobs: Iterator[Callable[[], Awaitable[None]]], width: int, pacer: _Pacer | None = None
) -> None:
    """Run the jobs, at most ``width`` at a time (a fixed pool: no task per job),
    each started when ``pacer`` allows."""

    async def worker() -> None:
        for job in jobs:
            if pacer is not None:
                await pacer.wait()
            await job()

    await asyncio.gather(*(worker() for _ in range(width)))


class _Pings:
    """Introduction pings sent from callbacks, at most ``width`` in flight.

    A ping's end (its answer, an error, the transport's timeout) sends the
    next one from that end's own callback: no task, coroutine or timer per
    ping (a formation is tens of thousands of them).  One timer, at the
    oldest ping's deadline, gives up on those older than ``timeout``: they
    all have the same timeout, so they expire in the order they were sent.
    """

    def __init__(self, width: int, timeout: float, settled: Callable[[bool], None]) -> None:
        self.width = width
        self.timeout = timeout
        self.settled = settled  # told each ping's end: answered or not
        self._flying: dict[asyncio.Future[Any], float] = {}  # ping -> its deadline, oldest first
        self._jobs: Iterator[tuple[Node, Contact]] = iter(())
        self._done: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def run(self, jobs: Iterator[tuple[Node, Contact]]) -> None:
        """Ping every ``(node, peer)`` of ``jobs``: ``node`` asks ``peer``; return once all have ended."""
        loop = asyncio.get_running_loop()
        self._jobs = jobs
        self._done = loop.create_future()
        self._fill()
        try:
            await self._done
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            for ping in self._flying:
                ping.cancel()
            self._flying.clear()

    def _fill(self) -> None:
        flying = self._flying
        while len(flying) < self.width:
            job = next(self._jobs, None)
            if job is None:
                break
            node, peer = job
            try:
                ping = core_of(node).request(peer, "ping", {b"id": node.id}, on_done=self._ended)
            except DHTError:
                self.settled(False)  # the node stopped meanwhile
                continue
            flying[ping] = clock.now() + self.timeout
            if self._timer is None:
                self._arm()
        if not flying and self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _ended(self, ping: asyncio.Future[Any]) -> None:
        if self._flying.pop(ping, None) is None:
            return  # given up on already (or answered at once: counted below)
        self.settled(not ping.cancelled() and ping.exception() is None)
        self._fill()

    def _arm(self) -> None:
        deadline = next(iter(self._flying.values()))
        self._timer = asyncio.get_running_loop().call_later(max(0.0, deadline - clock.now()), self._expire)

    def _expire(self) -> None:
        self._timer = None
        now = clock.now()
        late = [ping for ping, deadline in self._flying.items() if deadline <= now]
        for ping in late:
            del self._flying[ping]
            ping.cancel()
            self.settled(False)
        if self._flying:
            self._arm()
        self._fill()


#: The stages of a formation, in order (:class:`FormationPlan`).
STAGES = ("mutual", "one_way", "join", "far")
#: The stages of a lab in worker processes (:mod:`dht.lab.procs`): the joins, paced by the
#: first node's budget (100,000 of them take two minutes at its default rate), run while
#: the far introductions do; the neighbourhoods are in place before either.
PART_STAGES = ("mutual", "one_way", "join+far")


class FormationPlan:
    """The introductions and joins of the lab nodes ``mine``, in a lab whose nodes are ``directory``.

    A lab in one process plans for all its nodes (:func:`form`).  A lab in
    several processes (:mod:`dht.lab.procs`) is N parts: each part plans for
    its own nodes against the whole lab's directory (every node's contact),
    and runs the stages (:data:`STAGES`) when told, every part finishing a
    stage before any starts the next, so that the order the theory above
    needs holds across processes: a ping to a node of another part goes
    through the sockets, one to a node of the same part on its fabric.
    ``share``: this part's share of the first node's join budget (1 / parts).
    A part's nodes have the ids of one slice of the id space (:mod:`dht.lab.procs`),
    so their K closest are almost all its own: only the introductions at the edges
    of the slice and those to the far buckets that lie in other slices cross
    (:attr:`crossing`).
    """

    def __init__(self, directory: list[Contact], mine: list[Node], first: Address, config: Config,
                 emit: Callable[[Event], None], share: float = 1.0) -> None:
        self.config = config
        self.first = first
        self.share = share
        self.emit = emit
        self.timeout = min(config.KRPC_TIMEOUT, FORMATION_TIMEOUT)
        self.sent = self.failed = self.settled = 0
        ranked = sorted(directory, key=lambda c: c.id)
        self.contacts = ranked
        ids = [int.from_bytes(c.id, "big") for c in ranked]
        rank_of = {c.id: r for r, c in enumerate(ranked)}
        self.local = {rank_of[n.id]: n for n in mine}
        self.joiners = [n for n in mine if n.address != first]
        rng = random.Random()
        k = config.K
        self.k = k
        plans = {me: introductions(ids, me, k, INTRODUCTIONS_PER_BUCKET, rng) for me in self.local}
        near_sets: dict[int, set[int]] = {me: set(near) for me, (near, _) in plans.items()}

        def near_of(j: int) -> set[int]:
            found = near_sets.get(j)
            if found is None:  # a node of another part: its K closest (no random peers needed)
                found = near_sets[j] = set(introductions(ids, j, k, 0, rng)[0])
            return found

        # Mutual neighbours (each among the other's K closest) first: while
        # only they ping, every node is offered only nodes of its own K
        # closest, so no bucket overflows and each keeps them all.  Then the
        # one-way ones (we are among their K closest, they are not among
        # ours), then the buckets further away: a bucket keeps the contacts
        # it has, so what comes later cannot push a neighbour out.
        self.mutual = {i: [j for j in near if i in near_of(j)] for i, (near, _) in plans.items()}
        self.one_way = {i: [j for j in near if i not in near_of(j)] for i, (near, _) in plans.items()}
        self.far = {i: far for i, (_, far) in plans.items()}
        self.planned = sum(len(near) + len(far) for near, far in plans.values()) + len(self.joiners)
        local = self.local
        self.crossing = sum(j not in local for near, far in plans.values() for j in (*near, *far))
        """Introductions planned to nodes of other parts (through the sockets)."""
        self.report_every = max(1, int(self.planned * PROGRESS_STEP))
        self.order = list(self.local)
        rng.shuffle(self.order)  # no node is asked by everyone at once

    def _count(self, answered: bool) -> None:
        self.sent += 1
        self.failed += not answered
        self.settled += 1
        if self.settled % self.report_every == 0:
            self.emit(LabProgress(clock.now(), "introducing", self.settled, self.planned))

    def _intros(self, lists: dict[int, list[int]], rank: int | None) -> Iterator[tuple[Node, Contact]]:
        for me in self.order:
            peers = lists[me] if rank is None else lists[me][rank : rank + 1]
            for peer in peers:
                yield self.local[me], self.contacts[peer]

    def _join(self, node: Node) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            # A join is what puts a node in the network: a lost one is sent once more
            # (the first node's global budget may have been spent by the introductions
            # just before, and refills meanwhile).
            for attempt in range(JOIN_ATTEMPTS):
                try:
                    await asyncio.wait_for(node.join(*self.first), self.timeout)
                except (DHTError, asyncio.TimeoutError):
                    if attempt + 1 < JOIN_ATTEMPTS:
                        self.sent += 1
                        continue
                    self._count(False)
                else:
                    self._count(True)
                break

        return job

    async def run(self, stage: str) -> None:
        """Run one of :data:`STAGES` (or of :data:`PART_STAGES`) for this plan's nodes."""
        pings = _Pings(IN_FLIGHT, self.timeout, self._count)
        if stage in ("mutual", "one_way"):
            lists = self.mutual if stage == "mutual" else self.one_way
            for rank in range(self.k):  # by rank: everyone's closest before anyone's second closest
                await pings.run(self._intros(lists, rank))
        elif stage == "join":
            pacer = join_pacer(self.config, self.share)
            await _run_pool((self._join(n) for n in self.joiners), IN_FLIGHT, pacer)
        elif stage == "far":
            await pings.run(self._intros(self.far, None))
        elif stage == "join+far":
            await asyncio.gather(self.run("join"), self.run("far"))
        else:
            raise LocalError(f"no formation stage is called {stage!r}")


async def form(nodes: list[Node], config: Config, emit: Callable[[Event], None], started_s: float) -> Formation:
    """Introduce the started ``nodes`` to one another and join each to the first.

    ``started_s``: the seconds it took to start them (for :class:`Formation`).
    """
    t1 = time.perf_counter()
    plan = FormationPlan([n.contact for n in nodes], nodes, nodes[0].address, config, emit)
    await plan.run("mutual")
    await plan.run("one_way")
    t2 = time.perf_counter()
    # The joins come once the neighbourhoods are in place, so that the
    # first node's table is not filled with joiners before its neighbours.
    await plan.run("join")
    t3 = time.perf_counter()
    await plan.run("far")
    t4 = time.perf_counter()
    return Formation(started_s, t3 - t2, (t2 - t1) + (t4 - t3), plan.sent, plan.failed)
