"""The local lab: form, resize, kill, revive and watch its nodes, and put one in focus.

Mixed into :class:`~khgui.controller.NetworkController`, whose state and
signals these methods use.  The lab is a :class:`dht.LabThread`: from
:data:`THREADED_LAB_MIN` nodes up it runs on a loop of its own in a worker
thread (a 2,000-node lab forms without stalling the window), smaller ones on
ours; growing past that size forms a new threaded lab that our node rejoins.
Changes of the lab go through one lock.  Once a second an overview of every
lab node is emitted (:attr:`lab_nodes`, for the network map).  A lab node in
focus (:meth:`focus_node`) is a :class:`~khgui.map.focus.FocusedNode` whose
view is refreshed twice a second, for the panels to show instead of our node.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .failures import expected, quietly

if TYPE_CHECKING:
    from dht import Conditions, LabNodeInfo, LabThread

    from .map.focus import FocusedNode

#: Lookups, stores and gets per second that the local lab's nodes make among
#: themselves, so that a first start shows a live DHT, not a quiet one.
LAB_TRAFFIC_PER_SECOND = 4.0
#: Labs of this many nodes or more run on a loop of their own in a worker thread.
THREADED_LAB_MIN = 100
#: Seconds between two overviews of every lab node (the network map's data).
OVERVIEW_INTERVAL = 1.0
#: Seconds between two views of the lab node in focus.
FOCUS_INTERVAL = 0.5
#: The size of the lab Rejoin lab forms when none ran before.
DEFAULT_LAB_SIZE = 32


class LabControlMixin:
    """The lab's life cycle and the node in focus (a part of :class:`~khgui.controller.NetworkController`)."""

    async def _start_lab(self, size: int) -> None:
        """Form a lab of ``size`` nodes (on its own thread from THREADED_LAB_MIN up)."""
        from dht import LabThread

        # Each lab node on its own loopback address (127.0.0.2 up, where the
        # platform allows): they meet each other's limits as Internet hosts would.
        labs = LabThread(size, self._config, threaded=size >= THREADED_LAB_MIN)
        labs.subscribe(self._lab_batch)
        self.lab_progress.emit("starting", 0, size)
        try:
            await labs.start()
            await labs.start_traffic(LAB_TRAFFIC_PER_SECOND)
        except BaseException:
            await quietly(labs.stop())
            raise
        self._labs = labs
        self._last_lab_size = size
        self._lab_addresses = {labs.bootstrap_address}
        self.lab_progress.emit("formed", labs.size, labs.size)
        self.lab_changed.emit(labs.size)
        self.conditions_changed.emit(labs.conditions)
        self._overview_task = self.spawn(self._overview_loop(labs))

    def _lab_batch(self, batch: list[Any]) -> None:
        from dht.events import LabNodeChanged, LabProgress

        changed = False
        for _, event in batch:
            if isinstance(event, LabProgress):
                if self._labs is None and event.stage != "formed":  # late reports of a formed lab: no
                    self.lab_progress.emit(event.stage, event.done, event.total)
            elif isinstance(event, LabNodeChanged):
                changed = True
        if changed and self._labs is not None:
            self.lab_changed.emit(self.lab_size)

    async def _overview_loop(self, labs: "LabThread") -> None:
        while labs is self._labs and labs.running:
            try:
                infos = await labs.overview()
            except Exception as exc:
                if not expected(exc):
                    raise
                return  # the lab stopped
            self._lab_addresses = {i.address for i in infos}
            self.lab_nodes.emit(infos)
            await asyncio.sleep(OVERVIEW_INTERVAL)

    async def refresh_lab_nodes(self) -> "list[LabNodeInfo]":
        """An overview of every lab node now (also emitted as :attr:`lab_nodes`)."""
        if self._labs is None:
            return []
        infos = await self._labs.overview()
        self._lab_addresses = {i.address for i in infos}
        self.lab_nodes.emit(infos)
        return infos

    async def _stop_lab(self) -> None:
        labs, self._labs = self._labs, None
        if self._overview_task is not None:
            self._overview_task.cancel()
            self._overview_task = None
        await self.focus_node(None)
        self._lab_watch = None
        if labs is not None:
            await quietly(labs.stop())
        self._lab_addresses = set()
        self.lab_nodes.emit([])

    async def rejoin_lab(self) -> bool:
        """Join the local lab again (Network ▸ Rejoin lab), starting our node if it left
        and, when no lab runs (stopped, or resized to 0), a lab as big as the last one."""
        labs = self._labs
        if labs is None or not labs.size:
            await self.resize_lab(self._last_lab_size or DEFAULT_LAB_SIZE)
            labs = self._labs
            if labs is None or not labs.size:
                return False  # resize_lab said why
        address = labs.bootstrap_address
        if address not in self._lab_addresses:  # the first node died: any live one
            infos = await labs.overview()
            alive = [i.address for i in infos if i.alive]
            if alive:
                address = alive[0]
        return await self.join(*address)

    async def resize_lab(self, n: int) -> None:
        """Grow or shrink the local lab to ``n`` nodes (0 stops it)."""
        async with self._lock():
            try:
                if self._labs is None:
                    if n <= 0:
                        return
                    await self._start_lab(n)
                elif n <= 0:
                    await self._stop_lab()
                    if self._joined_lab:  # our only peers are gone
                        self._joined_lab = False
                        self._set_joined(False)
                    self.lab_changed.emit(0)
                    self.message.emit("lab stopped")
                    return
                elif n >= THREADED_LAB_MIN and not self._labs.threaded:
                    # Too big for our loop: a new lab on its own thread, and our node rejoins it.
                    rejoin = self._joined_lab
                    await self._stop_lab()
                    await self._start_lab(n)
                    if rejoin and self._labs is not None:
                        await self._bootstrap([self._labs.bootstrap_address])
                else:
                    await self._labs.resize(n)
                    self._last_lab_size = n
                    await self.refresh_lab_nodes()
            except Exception as exc:
                if not expected(exc):
                    raise
                self._fail("could not resize the lab", exc)
            self.lab_changed.emit(self.lab_size)
            self.network_changed.emit()

    async def add_lab_node(self) -> None:
        """Start one more lab node."""
        if self._labs is None:
            await self.resize_lab(1)
            return
        async with self._lock():
            try:
                info = await self._labs.add()
            except Exception as exc:
                if not expected(exc):
                    raise
                self._fail("could not add a lab node", exc)
            else:
                self._lab_addresses.add(info.address)
                self.lab_node_changed.emit(info)
                self.message.emit(f"lab node {info.id.hex()[:8]} started at {info.host}:{info.port}")
            self.lab_changed.emit(self.lab_size)

    async def kill_lab_node(self, node_id: bytes | None = None) -> None:
        """Stop a lab node abruptly (a random one if None), so the routing tables must heal."""
        if self._labs is None or not self.lab_size:
            self.error.emit("no lab node to kill")
            return
        async with self._lock():
            try:
                info = await self._labs.kill(node_id)
            except Exception as exc:
                if not expected(exc):
                    raise
                self._fail("could not kill a lab node", exc)
            else:
                self.lab_node_changed.emit(info)
                self.message.emit(f"killed lab node {info.id.hex()[:8]} at {info.host}:{info.port} "
                                  f"({self.lab_size} left)")
                if self._focus is not None and self._focus.id == info.id:
                    await self._refresh_focus()
            self.lab_changed.emit(self.lab_size)

    async def revive_lab_node(self, node_id: bytes | None = None) -> None:
        """Restart a killed lab node on its data directory (the longest dead if None)."""
        if self._labs is None:
            self.error.emit("no lab node to revive")
            return
        async with self._lock():
            try:
                info = await self._labs.revive(node_id)
            except Exception as exc:
                if not expected(exc):
                    raise
                self._fail("could not revive a lab node", exc)
            else:
                self.lab_node_changed.emit(info)
                self.message.emit(f"revived lab node {info.id.hex()[:8]} at {info.host}:{info.port}")
                if self._focus is not None and self._focus.id == info.id:
                    await self._refresh_focus()
            self.lab_changed.emit(self.lab_size)

    async def set_lab_conditions(self, conditions: "Conditions") -> bool:
        """Apply network conditions to the lab (delay, loss, churn); False if there is no lab."""
        if self._labs is None:
            self.error.emit("no lab: Network \u25b8 Resize lab starts one")
            return False
        await self._labs.set_conditions(conditions)
        self.conditions_changed.emit(conditions)
        self.message.emit(f"lab conditions: {conditions.describe()}")
        return True

    async def watch_lab_lookups(self, on: bool) -> None:
        """Emit the lab nodes' own lookup events as :attr:`lab_lookups` (for the map), or stop."""
        from dht.events import LookupAnswered, LookupQueried, LookupStarted

        if self._lab_watch is not None:
            unwatch, self._lab_watch = self._lab_watch, None
            await quietly(unwatch())
        if on and self._labs is not None:
            self._lab_watch = await self._labs.watch(self.lab_lookups.emit, None, (LookupStarted, LookupQueried, LookupAnswered))

    # -- any node in focus -----------------------------------------------------

    async def focus_node(self, node_id: bytes | None) -> bool:
        """Show the lab node ``node_id`` in the panels (None, or our own id: our node)."""
        from .map.focus import FocusedNode

        old, self._focus = self._focus, None
        if self._focus_task is not None:
            self._focus_task.cancel()
            self._focus_task = None
        if old is not None:
            await old.close()
        own = self._node.id if self._node is not None else None
        if node_id is None or node_id == own or self._labs is None:
            if old is not None:
                self.focus_changed.emit(None)
            return node_id is None or node_id == own
        try:
            focused = await FocusedNode.open(self._labs, node_id, self._labs.lab.config)
        except Exception as exc:
            if not expected(exc):
                raise
            self._fail("could not focus that node", exc)
            if old is not None:
                self.focus_changed.emit(None)
            return False
        self._focus = focused
        self._focus_task = self.spawn(self._follow_focus(focused))
        self.focus_changed.emit(focused)
        info = focused.view.info
        self.message.emit(f"showing lab node {info.id.hex()[:8]} at {info.host}:{info.port}")
        return True

    async def _refresh_focus(self) -> None:
        focus = self._focus
        if focus is not None:
            try:
                await focus.refresh()
            except Exception as exc:
                if not expected(exc):
                    raise

    async def _follow_focus(self, focused: "FocusedNode") -> None:
        while self._focus is focused:
            await asyncio.sleep(FOCUS_INTERVAL)
            if self._focus is focused:
                await self._refresh_focus()
