"""The window in capture mode: the live panels fed from a capture file.

:class:`CaptureSession` stops the live network (the controller's
``suspend``, which remembers what ran), disables the live-node actions and
says in the title and a banner that a capture is shown; closing it starts
the lab and our node again and rejoins the network they were on
(``resume``).  A
:class:`CaptureLoader` reads the whole file once (the scan): its messages
become ``DatagramSent``/``DatagramReceived`` events through a
:class:`Viewpoint` and go to the traffic panel (which pairs them, shows
RTTs, filters and the decoded tree, and keeps at most its cap of rows) and
to :class:`CaptureStats` (per-method table and rate plots of the
statistics panel).  The table gets the capture from its start up to its
cap of rows; the statistics get all of it.  Scrubbing the timeline starts a second loader at the
index entry before the time asked and refills the traffic panel with up to
its cap of rows from there; the scan goes on feeding the statistics.  A
damaged file keeps what was read before the damage and shows the error in
the window.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import logging
import os
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QToolBar

from dht import CapturedMessage

from ..common.text import format_peer
from ..profile import PUBLIC_NETWORK, can
from .bar import CaptureBarPanel
from .feed import Address, CaptureStats, Viewpoint, default_viewpoint
from .loader import CaptureLoader

log = logging.getLogger(__name__)

VIEWPOINT_SAMPLE = 20_000  # messages whose addresses are counted for the "Seen from" list
VIEWPOINTS_LISTED = 32
LIVE_PANELS = ("routing", "values", "lookup")


class CaptureSession(QObject):
    """One capture shown in a main window (see the module docstring)."""

    def __init__(self, window: Any, path: str) -> None:
        super().__init__(window)
        self.window = window
        self.path = path
        self.name = os.path.basename(path)
        self.traffic = window.panels["traffic"]
        self.stats_panel = window.panels["stats"]
        self.bar = CaptureBarPanel()
        self.toolbar = QToolBar("Capture")
        self.toolbar.setObjectName("toolbar-capture")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.bar)
        self.viewpoint: Viewpoint | None = None
        self.stats: CaptureStats | None = None
        self.scan: CaptureLoader | None = None
        self.window_loader: CaptureLoader | None = None
        self.first_time: float | None = None
        self.last_time = 0.0
        self.error = ""
        self._following = True  # scan rows go to the traffic panel (no seek yet)
        self._sample: collections.Counter[Address] = collections.Counter()
        self._sampled = 0
        self._seek_target: float | None = None
        self._stopping: asyncio.Future[Any] | None = None
        self._refresh = QTimer(self)
        self._refresh.setInterval(500)
        self._refresh.timeout.connect(self._show_stats)
        self.bar.viewpoint_chosen.connect(self.set_viewpoint)
        self.bar.seek_requested.connect(self.seek)

    # -- life cycle ----------------------------------------------------------

    def start(self) -> None:
        w = self.window
        controller = w.controller
        # Live events still queued in the bridge (the network stops asynchronously)
        # must not mix with the capture's.
        w.bridge.batch.disconnect(self.traffic.on_batch)
        w.bridge.batch.disconnect(self.stats_panel.on_batch)
        if controller.node is not None or controller.lab is not None:
            self._stopping = asyncio.ensure_future(controller.suspend())
        for action in w.commands.live():
            action.setEnabled(False)
        for key in LIVE_PANELS:
            panel = w.panels.get(key)
            if panel is not None:
                panel.setEnabled(False)
        stats_timer = getattr(self.stats_panel, "_timer", None)
        if stats_timer is not None:
            stats_timer.stop()  # it samples a live node; the capture feeds the panel instead
        w.setWindowTitle(f"{self.name} \u2014 capture \u2014 Khashmir Explorer")  # Qt adds no name: it ends so
        w.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.bar.show_capture(self.name)
        self._start_scan(None)

    def close(self) -> None:
        """Leave capture mode: an idle window that can join a network again."""
        for loader in (self.scan, self.window_loader):
            if loader is not None:
                loader.stop()
        self._refresh.stop()
        w = self.window
        w.removeToolBar(self.toolbar)
        self.toolbar.deleteLater()
        a = w.commands
        for action in (a.join, a.rejoin, a.resize, a.add, a.revive, a.lookup):
            action.setEnabled(True)
        a.public.setEnabled(can(w.controller.config, PUBLIC_NETWORK))
        for key in LIVE_PANELS:
            panel = w.panels.get(key)
            if panel is not None:
                panel.setEnabled(True)
        stats_timer = getattr(self.stats_panel, "_timer", None)
        if stats_timer is not None:
            stats_timer.start()
        w.bridge.batch.connect(self.traffic.on_batch)
        w.bridge.batch.connect(self.stats_panel.on_batch)
        self.traffic.clear()
        w.setWindowTitle("Khashmir Explorer")
        self.resuming = w.controller.spawn(self._resume(self._stopping))

    async def _resume(self, stopping: "asyncio.Future[Any] | None") -> bool:
        """The lab and our node as they were before the capture (when they were stopped for it)."""
        if stopping is not None:
            await stopping
        return bool(await self.window.controller.resume())

    @property
    def loading(self) -> bool:
        return any(lo is not None and lo.running for lo in (self.scan, self.window_loader))

    # -- the scan -------------------------------------------------------------

    def _start_scan(self, viewpoint: Address | None, chosen: bool = False) -> None:
        if self.scan is not None:
            self.scan.stop()
        if self.window_loader is not None:
            self.window_loader.stop()
            self.window_loader = None
        self.viewpoint = Viewpoint(viewpoint) if chosen else None
        self.stats = None
        self._sample.clear()
        self._sampled = 0
        self._following = True
        self.error = ""
        self.traffic.clear()
        self.scan = CaptureLoader(self.path, parent=self)
        self.scan.chunk.connect(self._scanned)
        self.scan.done.connect(self._scan_done)
        self.bar.progress.setText(f"reading {self.name}\u2026")
        self.scan.start()
        self._refresh.start()

    def _scanned(self, messages: list[CapturedMessage]) -> None:
        if not messages:
            return
        if self.first_time is None:
            self.first_time = messages[0].time
        if self._sampled < VIEWPOINT_SAMPLE:
            for m in messages:
                self._sample[m.src] += 1
                self._sample[m.dst] += 1
            self._sampled += len(messages)
        if self.viewpoint is None:
            self.viewpoint = Viewpoint(default_viewpoint(messages))
            self.bar.set_viewpoints(self._sample.most_common(VIEWPOINTS_LISTED), self.viewpoint.local)
        if self.stats is None:
            self.stats = CaptureStats(messages[0].time, self.viewpoint.local)
        self.stats.add(messages)
        if self._following:
            events = self.viewpoint.events(messages)
            # The table shows the capture from its start, up to its cap of rows (as a
            # capture viewer does); the rest is a scrub of the timeline away.  Rows that
            # would only be evicted again are never built.
            room = self.traffic.model.cap - self.traffic.model.rowCount() - self.traffic.buffered
            if room <= len(events):
                self._following = False
                events_shown = events[:max(0, room)]
            else:
                events_shown = events
            if events_shown:
                self.traffic.on_batch(events_shown)
        self.last_time = max(self.last_time, messages[-1].time)
        self.bar.set_span(self.first_time, self.last_time)
        scan = self.scan
        if scan is not None:
            self.bar.progress.setText(f"reading {self.name}: {scan.messages:,} messages\u2026")

    def _scan_done(self, error: str) -> None:
        self._refresh.stop()
        scan = self.scan
        if self.stats is not None:
            self.stats.finish()
        self._show_stats()
        if self.viewpoint is not None and self._sample:
            self.bar.set_viewpoints(self._sample.most_common(VIEWPOINTS_LISTED), self.viewpoint.local)
        summary = scan.summary if scan is not None else ""
        self.bar.progress.setText(f"{self.name}: {summary}" + (f" \u2014 {error}" if error else ""))
        if error:
            self.error = error
            self.window.show_error(error)

    def _show_stats(self) -> None:
        stats, panel = self.stats, self.stats_panel
        if stats is None:
            return
        panel.methods.set_methods(stats.methods())
        panel.history = stats.history
        panel.samples = max(1, len(stats.history))
        local = self.viewpoint.local if self.viewpoint is not None else None
        seen = "every node" if local is None else f"seen from {format_peer(local)}"
        clients = stats.clients_text()
        panel.summary.setText(f"capture {self.name}: {stats.messages:,} messages ({seen})"
                              + (f" \u00b7 clients: {clients}" if clients else ""))
        panel.plots.show_history(stats.history)

    # -- viewpoint and timeline ------------------------------------------------

    def set_viewpoint(self, address: Address | None) -> None:
        """Show the capture as ``address`` saw it (None: every exchange, from its requester)."""
        self._start_scan(address, chosen=True)

    def seek(self, when: float) -> None:
        """Refill the traffic panel from the index entry at or before ``when``."""
        scan = self.scan
        if scan is None or not scan.index or self.viewpoint is None:
            return
        times = [t for _, t, _ in scan.index]
        i = max(0, bisect.bisect_right(times, when) - 1)
        _, _, position = scan.index[i]
        if self.window_loader is not None:
            self.window_loader.stop()
        self._following = False
        self._seek_target = when
        self.traffic.clear()
        loader = CaptureLoader(self.path, position, limit=self.traffic.model.cap, parent=self)
        loader.chunk.connect(self._windowed)
        loader.done.connect(self._window_done)
        self.window_loader = loader
        loader.start()

    def _windowed(self, messages: list[CapturedMessage]) -> None:
        if self.viewpoint is not None and self.sender() is self.window_loader:
            self.traffic.on_batch(self.viewpoint.events(messages))

    def _window_done(self, error: str) -> None:
        if self.sender() is not self.window_loader:
            return
        if error and not self.error:
            self.window.show_error(error)
        target = self._seek_target
        if target is None:
            return
        model = self.traffic.model
        lo, hi = 0, model.rowCount()
        while lo < hi:  # the first row at or after the time asked
            mid = (lo + hi) // 2
            if model.raw(mid)["time"] < target:
                lo = mid + 1
            else:
                hi = mid
        if lo < model.rowCount():
            table = self.traffic.table
            index = model.index(lo, 0)
            if table.model() is not model:  # a filter is set: the proxy's row
                index = table.model().mapFromSource(index)
            if index.isValid():
                table.scrollTo(index)
                table.selectRow(index.row())
