"""Churn carried out: the task that kills and revives a lab's nodes as its plan says.

:class:`~dht.lab.conditions.ChurnPlan` (sans-IO, fed ``now``) decides when
a node dies and when it comes back; a :class:`ChurnRunner` does it to a
lab.  :meth:`ChurnRunner.apply` is one step, given ``now`` (tests call it
with a fake clock); :meth:`ChurnRunner.set_rate` starts, wakes or ends the
task that calls it as time passes, sleeping until the plan's next action
and never longer than :data:`CHURN_POLL`.  Which node dies is drawn from
the runner's own seeded generator, among the lab's running nodes but the
first (the bootstrap address, never killed by churn); a node churn killed
is revived by the revival planned for it, if it is still dead then.
"""

from __future__ import annotations

import asyncio
import random
from typing import Protocol

from ..core.errors import DHTError
from ..node.facade import Node
from ..rpc import clock
from .conditions import ChurnPlan

#: Most seconds the churn task sleeps before it looks at its plan again.
CHURN_POLL = 1.0


class Churned(Protocol):
    """What churn needs of a lab (:class:`dht.lab.lab.Lab`)."""

    nodes: list[Node]
    dead: list[Node]

    async def kill_node(self, node: Node | None = None, by_churn: bool = False) -> Node: ...
    async def revive_node(self, node: Node | None = None, by_churn: bool = False) -> Node: ...


class ChurnRunner:
    """Kills and revives the nodes of ``lab`` as :attr:`plan` says (see the module's docstring)."""

    def __init__(self, lab: Churned, seed: int | None) -> None:
        self.lab = lab
        self.plan = ChurnPlan(rng=random.Random(None if seed is None else seed + 1))
        self._rng = random.Random(None if seed is None else seed + 2)
        self._dead: dict[int, Node] = {}  # churn's death key -> the node it killed
        self.task: asyncio.Task[None] | None = None
        """The task carrying the plan out as time passes (None: not running)."""
        self._wake: asyncio.Event | None = None

    def set_rate(self, rate: float, started: bool) -> None:
        """Kill ``rate`` nodes a minute from now on; ``started``: the lab runs (else
        the plan waits for it, and its task is started by the lab once formed).

        Needs the running loop when the lab has started.
        """
        if not started:
            self.plan.set_rate(rate, 0.0)
            return
        self.plan.set_rate(rate, clock.now())
        if self.task is None or self.task.done():
            self._wake = asyncio.Event()
            self.task = asyncio.ensure_future(self._loop())
        elif self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        wake = self._wake
        assert wake is not None
        plan = self.plan
        while True:
            await self.apply(clock.now())
            if plan.rate_per_min <= 0 and not plan.downs:
                self.task = None
                return
            wait = min(CHURN_POLL, max(0.0, plan.next_time() - clock.now()))
            wake.clear()
            try:
                await asyncio.wait_for(wake.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def apply(self, now: float) -> list[tuple[str, Node]]:
        """Carry out the kills and revivals due by ``now``; returns them."""
        lab = self.lab
        done: list[tuple[str, Node]] = []
        for action in self.plan.due(now):
            if action.kind == "kill":
                victims = lab.nodes[1:]
                if not victims:
                    continue
                node = self._rng.choice(victims)
                await lab.kill_node(node, by_churn=True)
                self._dead[action.key] = node
                self.plan.killed(action.key, now)
                done.append(("kill", node))
            else:
                node = self._dead.pop(action.key)
                if node in lab.dead:
                    try:
                        await lab.revive_node(node, by_churn=True)
                    except DHTError:
                        continue  # its address is taken, say: it stays down
                    done.append(("revive", node))
        return done

    async def stop(self) -> None:
        """End the task (the lab stops) and forget the nodes churn killed."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        self._dead.clear()
