"""The application's hold on the network: the local lab and our own node.

:class:`NetworkController` starts, joins, leaves and stops; it resizes the
local lab, kills, revives or adds lab nodes and sets the lab's network
conditions.  This module holds its signals, state and tasks; the lab and the
node in focus are :class:`~khgui.lab_control.LabControlMixin`'s, our node's
life cycle :class:`~khgui.node_control.OwnNodeMixin`'s.  The lab is a
:class:`dht.LabThread`: from :data:`~khgui.lab_control.THREADED_LAB_MIN`
nodes up it runs on a loop of its own in a worker
thread (a 2,000-node lab forms without stalling the window), smaller ones
on ours.  Once a second the controller takes an overview of every lab node
(:attr:`lab_nodes`, for the network map).  Any lab node can be put in focus
(:meth:`focus_node`): :attr:`focus_changed` hands the window a
:class:`~khgui.map.focus.FocusedNode` whose view is refreshed twice a
second, for the panels to show instead of our node.  Every failure a user can cause (port
in use, unreachable bootstrap, unreadable database, bad value) is caught and
emitted as a one-line :attr:`NetworkController.error` message rather than
raised (:mod:`khgui.failures`).  Panels use :meth:`NetworkController.run_lookup` to run node calls
so that the window can show a busy indicator while lookups run.

Until :meth:`~NetworkController.start` is done the controller says it is
:attr:`~NetworkController.starting` (the panels say so rather than "no node
is running").  :meth:`~NetworkController.suspend` stops the lab and our node
while a capture is shown, remembering what ran; :meth:`~NetworkController.resume`
starts them again and rejoins the same network.  The values the user
published (the :class:`~khgui.common.keys.KeyRegistry`) are kept in our
node's data directory (:mod:`khgui.common.published`) and stored again into
the network each time our node joins one, so they outlive a restart.

Only the public API of :mod:`dht` is used (see ``docs/dht-api.md``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Coroutine, TypeVar

from PySide6.QtCore import QObject, Signal

from dht import parse_address

from .common.keys import KeyRegistry, default_registry
from .common.published import published_path
from .failures import describe_error, expected
from .lab_control import LabControlMixin
from .node_control import PUBLIC_JOIN_TIMEOUT, OwnNodeMixin

if TYPE_CHECKING:
    from dht import Config, Lab, LabThread, Node

    from .bridge import EventBridge
    from .map.focus import FocusedNode

log = logging.getLogger(__name__)
T = TypeVar("T")


#: Lookup events of our node kept for the network map between two drains.
MAX_MAP_LOOKUPS = 5000


class Suspended:
    """What ran when :meth:`NetworkController.suspend` stopped it."""

    def __init__(self, lab_size: int, network: str, addresses: list[tuple[str, int]],
                 public: "dict[str, Any] | None") -> None:
        self.lab_size = lab_size
        self.network = network  # "lab", "public", the bootstrap addresses, "" when not joined
        self.addresses = addresses
        self.public = public


class NetworkController(LabControlMixin, OwnNodeMixin, QObject):
    """Owns the local lab (``dht.Lab``) and our own node (``dht.Node``).

    Signals:
        node_changed(object): our new Node, or None when it stopped.
        joined_changed(bool): whether our node is joined to a network.
        lab_changed(int): the number of running lab nodes.
        error(str): a one-line message for the user.
        busy_changed(bool): True while lookups run.
        message(str): a one-line informational message (status bar).
        lab_progress(str, int, int): the lab forming: stage, done, total ("formed" at the end).
        lab_nodes(list): an overview of every lab node (``dht.LabNodeInfo``), once a second.
        lab_node_changed(object): one lab node killed, revived or added (its ``LabNodeInfo``).
        lab_lookups(list): ``(lab node id, event)`` lookup events of the lab, while watched.
        focus_changed(object): the ``FocusedNode`` now in focus, or None for our own node.
        conditions_changed(object): the lab's ``dht.Conditions``.
        network_changed(): the network our node is on changed (:meth:`network_name`).
    """

    node_changed = Signal(object)
    joined_changed = Signal(bool)
    lab_changed = Signal(int)
    error = Signal(str)
    busy_changed = Signal(bool)
    message = Signal(str)
    lab_progress = Signal(str, int, int)
    lab_nodes = Signal(list)
    lab_node_changed = Signal(object)
    lab_lookups = Signal(list)
    focus_changed = Signal(object)
    conditions_changed = Signal(object)
    network_changed = Signal()

    def __init__(
        self,
        bridge: "EventBridge | None" = None,
        config: "Config | None" = None,
        host: str = "127.0.0.1",
        parent: QObject | None = None,
        registry: KeyRegistry | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._config = config
        self._host = host
        self._node: Node | None = None
        self._labs: LabThread | None = None
        self._lab_addresses: set[tuple[str, int]] = set()
        self._overview_task: asyncio.Task[Any] | None = None
        self._focus: FocusedNode | None = None
        self._focus_task: asyncio.Task[Any] | None = None
        self._lab_watch: Any = None  # ends the watch of the lab's lookups
        self._map_lookups: collections.deque[tuple[bytes, Any]] = collections.deque(maxlen=MAX_MAP_LOOKUPS)
        self._joined = False
        self._joined_lab = False  # joined through the local lab (not a --bootstrap address)
        self._busy = 0
        self._port = 0
        self._data_dir: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lab_lock: asyncio.Lock | None = None
        self._unwatch: Any = None  # unsubscribes from our node's warnings
        self._network = ""  # "lab", "public" or the bootstrap addresses; "" when not joined
        self._last_lab_size = 0  # the size of the last lab formed (Rejoin lab forms one as big)
        self._public: dict[str, Any] | None = None  # join_public's arguments, while on the public DHT
        self._starting = False
        self._suspended: Suspended | None = None
        self.registry = registry if registry is not None else default_registry()
        self.registry.error.connect(self.error.emit)
        self.node_changed.connect(self._keep_published)
        self.joined_changed.connect(self._joined_republish)
        self.republished = 0
        """Published values stored again into a network joined (since the controller was made)."""

    # -- state -------------------------------------------------------------

    @property
    def node(self) -> "Node | None":
        return self._node

    @property
    def lab(self) -> "Lab | None":
        """The lab itself: use it only on its own loop (ours below THREADED_LAB_MIN nodes);
        from the window, go through :attr:`lab_runner`."""
        return self._labs.lab if self._labs is not None else None

    @property
    def lab_runner(self) -> "LabThread | None":
        """The running lab's :class:`dht.LabThread`."""
        return self._labs

    @property
    def lab_threaded(self) -> bool:
        return self._labs is not None and self._labs.threaded

    @property
    def focus(self) -> "FocusedNode | None":
        """The lab node in focus, None when the panels show our own node."""
        return self._focus

    def lab_addresses(self) -> set[tuple[str, int]]:
        """The addresses of the lab's nodes, as last seen."""
        return set(self._lab_addresses)

    def take_lookups(self) -> list[tuple[bytes, Any]]:
        """Our node's lookup events since the last call, as ``(our id, event)`` (for the map)."""
        items = list(self._map_lookups)
        self._map_lookups.clear()
        return items

    @property
    def profile(self) -> str:
        """The DHT spoken: "khashmir" or "mainline" (``Config.PROFILE``)."""
        return str(self._config.PROFILE) if self._config is not None else "khashmir"

    @property
    def read_only(self) -> bool:
        """Whether our node is read-only (BEP 43: it answers no queries)."""
        return bool(self._node is not None and self._node.config.READ_ONLY)

    @property
    def starting(self) -> bool:
        """True from :meth:`mark_starting` (or :meth:`start`) until start is done."""
        return self._starting

    def mark_starting(self) -> None:
        """Say that :meth:`start` is on its way (before the window is shown, so that
        it does not say no node runs while the lab forms)."""
        self._starting = True

    @property
    def suspended(self) -> bool:
        """Whether the network is stopped while a capture is shown (:meth:`resume` starts it)."""
        return self._suspended is not None

    def network_name(self) -> str:
        """The profile and the network, for the title and status bar: "Mainline · local lab"."""
        profile = self.profile.capitalize()
        if self._starting and not self._joined:
            return f"{profile} \u00b7 starting\u2026"
        if self._suspended is not None and not self._joined:
            return f"{profile} \u00b7 stopped while a capture is shown"
        if not self._joined:
            where = "not joined" + (f" (lab of {self.lab_size} nodes)" if self.lab_size else "")
        elif self._network == "lab":
            where = f"local lab of {self.lab_size} nodes"
        elif self._network == "public":
            where = "public DHT" + (", read-only" if self.read_only else "")
        else:
            where = self._network
        return f"{profile} \u00b7 {where}"

    @property
    def network(self) -> str:
        """"lab", "public", the bootstrap addresses, or "" when not joined (the query budget follows it)."""
        return self._network if self._joined else ""

    def _set_network(self, network: str) -> None:
        self._network = network
        self.network_changed.emit()

    @property
    def joined(self) -> bool:
        return self._joined

    @property
    def busy(self) -> bool:
        return self._busy > 0

    @property
    def config(self) -> "Config | None":
        return self._config

    @property
    def lab_size(self) -> int:
        labs = self._labs
        return labs.size if labs is not None and labs.running else 0

    def _set_joined(self, joined: bool) -> None:
        if joined != self._joined:
            self._joined = joined
            self.joined_changed.emit(joined)
            self.network_changed.emit()

    def _fail(self, what: str, exc: BaseException) -> None:
        text = f"{what}: {describe_error(exc)}"
        log.warning("%s", text, exc_info=not expected(exc))
        self.error.emit(text)

    def _lock(self) -> asyncio.Lock:
        if self._lab_lock is None:
            self._lab_lock = asyncio.Lock()
        return self._lab_lock

    # -- tasks -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any]":
        """Run ``coro`` as a task of the running loop, logging what it raises."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: "asyncio.Task[Any]") -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self._fail("unexpected error", t.exception())  # type: ignore[arg-type]

        task.add_done_callback(done)
        return task

    async def run_lookup(self, coro: Awaitable[T], report: bool = False) -> T | None:
        """Await a node call (lookup, store, ...) while :attr:`busy` is True.

        Exceptions propagate to the caller (so a form can show them inline),
        unless ``report`` is True: then DHT and OS errors are emitted through
        :attr:`error` and None is returned.
        """
        self._busy += 1
        if self._busy == 1:
            self.busy_changed.emit(True)
        try:
            return await coro
        except Exception as exc:
            if report and expected(exc):
                self._fail("look-up failed", exc)
                return None
            raise
        finally:
            self._busy -= 1
            if self._busy == 0:
                self.busy_changed.emit(False)

    # -- life cycle --------------------------------------------------------

    async def start(
        self,
        lab_size: int = 32,
        bootstrap: list[tuple[str, int]] | None = None,
        port: int = 0,
        data_dir: str | None = None,
    ) -> bool:
        """Start the lab (``lab_size`` > 0) and our node, then join.

        With ``bootstrap`` addresses our node joins those; otherwise it joins
        the lab.  Returns True when our node runs (joined or not).
        """
        self._port = port
        self._data_dir = data_dir
        self._starting = True
        self.network_changed.emit()
        try:
            if lab_size > 0 and self._labs is None:
                try:
                    await self._start_lab(lab_size)
                except Exception as exc:
                    if not expected(exc):
                        raise
                    self._fail("could not start the local lab", exc)
            if not await self._start_node():
                return False
            if bootstrap:
                await self._bootstrap(bootstrap)
            elif self._labs is not None:
                await self._bootstrap([self._labs.bootstrap_address])
            return True
        finally:
            self._starting = False
            self.network_changed.emit()
            if self._node is None:
                self.node_changed.emit(None)  # the panels say why no node runs

    async def suspend(self) -> None:
        """Stop the lab and our node (File ▸ Open capture), remembering what ran for :meth:`resume`."""
        if self._suspended is None:
            network = self._network if self._joined else ""
            try:
                addresses = ([parse_address(a) for a in network.split(", ")]
                             if network not in ("", "lab", "public") else [])
            except ValueError:  # not one Join takes (an IPv6 router): the lab is started again
                addresses = []
            self._suspended = Suspended(self.lab_size, network, addresses,
                                        dict(self._public) if self._public is not None else None)
        await self.stop()
        self.network_changed.emit()

    async def resume(self) -> bool:
        """Start again what :meth:`suspend` stopped: the lab, of its size, and our node, joined to
        the same network (the lab, the bootstrap addresses or the public DHT).  Returns whether
        our node runs; False, with nothing done, when nothing was suspended."""
        was, self._suspended = self._suspended, None
        if was is None:
            return False
        self.network_changed.emit()
        if was.network == "public" and was.public is not None:
            if was.lab_size:
                await self.resize_lab(was.lab_size)
            return await self.join_public(**was.public)
        return await self.start(was.lab_size, was.addresses or None, self._port, self._data_dir)

    async def join_public(self, routers: list[tuple[str, int]], read_only: bool = True,
                          host: str = "0.0.0.0", timeout: float = PUBLIC_JOIN_TIMEOUT,
                          query_budget: float | None = None) -> bool:
        """Join the public Mainline DHT (see :meth:`OwnNodeMixin.join_public`), remembering
        how, so that :meth:`resume` can join it again."""
        self._public = {"routers": list(routers), "read_only": read_only, "host": host, "timeout": timeout,
                        "query_budget": query_budget}
        return bool(await super().join_public(routers, read_only, host, timeout, query_budget))

    async def stop(self) -> None:
        """Stop our node and the lab; cancel tasks started with :meth:`spawn`."""
        for task in list(self._tasks):
            task.cancel()
        await self.leave()
        had_lab = self._labs is not None
        await self._stop_lab()
        if had_lab:
            self.lab_changed.emit(0)

    # -- our published values ------------------------------------------------

    def _keep_published(self, node: "Node | None") -> None:
        """Keep the published values in the data directory of our node, now it runs."""
        if node is not None:
            self.registry.attach(published_path(node.data_dir, self.profile))

    def _joined_republish(self, joined: bool) -> None:
        node = self._node
        if joined and node is not None and self.registry.published():
            self.spawn(self.republish_published(node))

    async def republish_published(self, node: "Node") -> int:
        """Store each of our published values into the network our node joined; how many were."""
        pairs = sorted(self.registry.published().items(), key=lambda item: item[1])
        done, failed = 0, ""
        for (key, value), _when in pairs:
            if node is not self._node or not node.running:
                break
            try:
                result = await node.store_value(key, value)
            except Exception as exc:
                if not expected(exc):
                    raise
                failed = f"{key.hex()[:8]}: {describe_error(exc)}"
                continue
            if result.accepted:
                self.registry.mark_published(key, value)
                done += 1
        self.republished += done
        if done:
            self.message.emit(f"republished {done} of your {len(pairs)} published value"
                              f"{'s' if len(pairs) != 1 else ''} into this network")
        if failed:
            self.error.emit(f"could not republish {len(pairs) - done} of your published values "
                            f"(last: {failed}); the values panel retries before they expire")
        return done
