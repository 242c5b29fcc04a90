"""The Samples panel: BEP 51 sampling of the Mainline DHT and the clients that answer.

:class:`SamplesPanel` runs a :class:`~khgui.samples.sampler.Sampler` (one
``sample_infohashes`` walk every so often, a setting kept in QSettings) and
shows what the walks found: the info-hashes seen (first and last seen, how
many walks returned each), how many nodes answered, and the network size
estimated from the id density around each walk's target (median and spread
over the walks).  Export CSV writes the info-hashes to a file (a File
dialog); a failure is a message in the panel and the window's banner.

Beside them, the Clients chart and table: the share of our contacts and of
the messages exchanged by client code (``v``: LT, UT, TR, ...), from a
:class:`~khgui.common.clients.ClientCensus` fed by the event bridge's
batches and the routing table of the node shown (ours, or a lab node in
focus).  They are driven by those batches: a batch with datagrams or
routing events marks them out of date, and they are recounted (one read
of the routing table) at the next tick of a one-second timer -- at most
once a second, as a chart redrawn ten times a second would cost more than
it shows -- and never when no event came (or when the node shown changed).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSettings, QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSpinBox,
    QSplitter, QTableView, QVBoxLayout, QWidget,
)

from dht import events as ev

from ..common.table import filter_box, sortable_table
from ..common.onscreen import on_screen
from ..common.text import plural
from ..common.theme import set_state
from .chart import ClientsChartView
from ..common.clients import ClientCensus
from .clients import ClientStatsModel
from ..common.export import Exporter, ExportResult
from ..common.files import app_settings, save_dialog
from .export import samples_writer
from .model import SampledHashesModel, SizeEstimates
from .sampler import MAX_INTERVAL, MIN_INTERVAL, Sampler, SamplerSettingError, Walk

log = logging.getLogger(__name__)

#: Milliseconds after joining before the first walk (the table fills first).
FIRST_WALK_MS = 2000
#: The events that change the Clients chart: messages (their ``v``) and the contacts.
CLIENT_EVENTS = (
    ev.DatagramSent, ev.DatagramReceived, ev.ContactAdded, ev.ContactRefreshed, ev.ContactFailed,
    ev.ContactReplaced, ev.ContactRemoved, ev.BucketSplit, ev.BucketsMerged,
)


def _table(model: Any) -> tuple[QTableView, QSortFilterProxyModel]:
    return sortable_table(model)


def walk_message(walk: int, answered: int, hashes: int, new: int) -> str:
    """What one walk found.  ``answered`` counts the other nodes: with none, the
    info-hashes (if any) are our own node's, which answers its own walk too."""
    found = plural(hashes, "info-hash", "info-hashes")
    if answered == 0:
        return (f"Walk {walk}: no other node answered (a node asked recently is skipped until its "
                f"interval is over); {found}" + (f" from our own store ({new} new)." if hashes else "."))
    return f"Walk {walk}: {plural(answered, 'node')} answered, {found} ({new} new)."


class SamplesPanel(QWidget):
    """BEP 51 samples, the network-size estimate and the Clients chart."""

    def __init__(self, controller: Any, bridge: Any, settings: QSettings | None = None,
                 parent: QWidget | None = None, tick_ms: int = 1000, census: ClientCensus | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SamplesPanel")
        self._controller = controller
        self.hashes = SampledHashesModel(parent=self)
        self.estimates = SizeEstimates()
        self.census = census if census is not None else ClientCensus()  # the routing panel's, in the window
        self.clients = ClientStatsModel(self)
        self.sampler = Sampler(controller, settings, self)
        self.answered_total = 0
        self.last_walk: Walk | None = None
        self.exported = ""  # the last file written
        self._settings = settings if settings is not None else app_settings()
        self.exporter = Exporter(self)
        self.exporter.finished.connect(self._exported)
        self._build()
        self.sampler.walked.connect(self.add_walk)
        self.sampler.failed.connect(lambda text: self.say(text, error=True))
        self.sampler.running_changed.connect(self._running)
        if census is None:  # else its owner feeds it
            bridge.batch.connect(self.census.add_events)
            controller.focus_changed.connect(lambda _f: self.census.clear())
        self.clients_out_of_date = True
        """Events (or another node shown) changed the Clients chart since it was last counted."""
        self.client_counts = 0
        """Times the clients were counted (each one read of a routing table)."""
        bridge.batch.connect(self.on_batch)
        controller.focus_changed.connect(self._shown_changed)
        controller.node_changed.connect(self._shown_changed)
        controller.joined_changed.connect(self._joined)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._update_summary()

    def _build(self) -> None:
        self.enabled_box = QCheckBox("Sample")
        self.enabled_box.setChecked(self.sampler.enabled)
        self.enabled_box.setToolTip("Walk the DHT with sample_infohashes (BEP 51) now and then")
        self.enabled_box.toggled.connect(self.sampler.set_enabled)
        self.interval_spin = QSpinBox()
        self.interval_spin.setRange(MIN_INTERVAL, MAX_INTERVAL)
        self.interval_spin.setValue(self.sampler.interval)
        self.interval_spin.setPrefix("every ")
        self.interval_spin.setSuffix(" s")
        self.interval_spin.setToolTip("Seconds between two walks: keep it polite on the public DHT "
                                      "(each node's own interval is honoured as well)")
        self.interval_spin.valueChanged.connect(self.set_interval)
        self.now_button = QPushButton("Sample now")
        self.now_button.clicked.connect(self.sample_now)
        self.export_button = QPushButton("Export CSV\u2026")
        self.export_button.setToolTip("Write the info-hashes seen to a CSV file")
        self.export_button.clicked.connect(self.export_dialog)
        bar = QHBoxLayout()
        for w in (self.enabled_box, self.interval_spin, self.now_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.export_button)

        self.summary = QLabel()
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setToolTip("From the id density around each walk's target (the closest nodes that "
                                       "answered): the median over the walks is steadier than any one walk")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.hide()

        self.hash_table, hash_proxy = _table(self.hashes)
        self.hash_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.filter_edit = filter_box([hash_proxy], "filter info-hashes\u2026")
        self.chart = ClientsChartView()
        self.client_table, _client_proxy = _table(self.clients)
        self.client_table.setMinimumHeight(70)
        self.hash_table.setMinimumHeight(70)
        self.hash_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.hash_table.setColumnWidth(0, self.fontMetrics().horizontalAdvance("0" * 40) + 16)
        clients = QSplitter(Qt.Orientation.Vertical)
        clients.addWidget(self.chart)
        clients.addWidget(self.client_table)
        clients.setChildrenCollapsible(False)
        clients.setStretchFactor(0, 3)
        clients.setStretchFactor(1, 2)
        hashes = QWidget()
        hashes_layout = QVBoxLayout(hashes)
        hashes_layout.setContentsMargins(0, 0, 0, 0)
        hashes_layout.addWidget(self.filter_edit)
        hashes_layout.addWidget(self.hash_table, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(hashes)
        split.addWidget(clients)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.message_label)
        layout.addWidget(split, 1)

    # -- public -------------------------------------------------------------------

    def has_data(self) -> bool:
        return self.sampler.walks > 0 or self.clients.rowCount() > 0

    def message(self) -> str:
        return self.message_label.text() if not self.message_label.isHidden() else ""

    def say(self, text: str, error: bool = False, state: str = "") -> None:
        self.message_label.setText(text)
        set_state(self.message_label, state or ("error" if error else "ok"))
        self.message_label.show()
        if error and text.startswith("could not export"):
            self._controller.error.emit(text)  # the window's banner too

    def set_interval(self, seconds: int) -> bool:
        """The sampling interval (also the spin box's slot); a message if out of range."""
        try:
            self.sampler.set_interval(seconds)
        except SamplerSettingError as exc:
            self.say(f"{exc}.", error=True)
            return False
        if self.interval_spin.value() != seconds:
            self.interval_spin.setValue(seconds)
        return True

    def sample_now(self) -> bool:
        if self.sampler.walk_now():
            return True
        if self.sampler.running:
            self.say("A walk is running already.")
        else:
            self.say("Not joined to a network: join one to sample it.", error=True)
        return False

    def add_walk(self, walk: Walk) -> None:
        """Show one walk's result (the Sampler's :attr:`walked`)."""
        sampling = walk.sampling
        new = self.hashes.add_walk(sampling.info_hashes)
        self.estimates.add(walk.estimate, walk.error)
        self.answered_total += sampling.answered
        self.last_walk = walk
        self._update_summary()
        self.say(walk_message(self.sampler.walks, sampling.answered, len(sampling.info_hashes), new),
                 state="ok" if sampling.answered else "warn")

    def export_csv(self, path: str) -> bool:
        """Write the info-hashes to ``path`` off the GUI thread; False if refused at once.
        The outcome is a message in the panel (a failure in the banner too)."""
        records = list(self.hashes.records())  # a snapshot: the walks go on
        return self.exporter.export(path, "info-hashes", samples_writer(records))

    def _exported(self, result: ExportResult) -> None:
        if result.ok:
            self.exported = result.path
        self.say(result.message, error=not result.ok)

    def export_dialog(self) -> None:
        self.file_dialog = save_dialog(self, self._settings, "export", "Export samples as CSV", "samples.csv",
                                       "CSV files (*.csv);;All files (*)", "csv", self._export_chosen)

    def _export_chosen(self, path: str) -> None:
        self.export_csv(path)  # its outcome, a refusal too, is a message in the panel

    def on_batch(self, events: list[Any]) -> None:
        """One batch from the bridge: the Clients chart is out of date if it holds messages or routing events."""
        if not self.clients_out_of_date and any(isinstance(e, CLIENT_EVENTS) for e in events):
            self.clients_out_of_date = True

    def tick(self) -> None:
        """Once a second: recount the clients if events said they changed."""
        if self.clients_out_of_date:
            self.refresh_clients()

    def refresh_clients(self) -> None:
        """Recount contacts and traffic by client (one read of the routing table)."""
        self.clients_out_of_date = False
        self.client_counts += 1
        node = self._controller.focus if self._controller.focus is not None else self._controller.node
        contacts: list[Any] = []
        if node is not None:
            try:
                contacts = [c for b in node.routing_table() for c in b.contacts]
            except Exception as exc:  # a node that stopped under us
                log.debug("routing table unavailable: %s", exc)
        rows = self.census.rows(contacts)
        self.clients.set_rows(rows)
        if on_screen(self):  # not when tabbed behind another panel
            self.chart.set_rows(rows)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.on_shown()

    def on_shown(self) -> None:
        """Draw the chart skipped while off screen (also when the dock's tab is selected)."""
        self.chart.set_rows(self.clients.rows())

    def stop(self) -> None:
        self.sampler.stop()
        self._timer.stop()

    # -- internals ----------------------------------------------------------------

    def _shown_changed(self, *_args: Any) -> None:
        self.clients_out_of_date = True

    def _joined(self, joined: bool) -> None:
        if joined and self.sampler.enabled:
            QTimer.singleShot(FIRST_WALK_MS, self.sampler.walk_now)

    def _running(self, running: bool) -> None:
        self.now_button.setEnabled(not running)
        self.now_button.setText("Sampling\u2026" if running else "Sample now")

    def _update_summary(self) -> None:
        walks = self.sampler.walks
        if walks == 0:
            self.summary.setText("No walk yet: one runs every "
                                 f"{self.sampler.interval} s while sampling is on (or click Sample now).")
        else:
            last = self.last_walk.sampling if self.last_walk is not None else None
            kept = f" (+{self.hashes.not_kept:,} not kept)" if self.hashes.not_kept else ""
            self.summary.setText(
                f"{plural(walks, 'walk')} \u00b7 {plural(self.hashes.rowCount(), 'info-hash', 'info-hashes')} "
                f"seen{kept} \u00b7 {plural(self.answered_total, 'answer')} from nodes"
                + (f" (last walk: {last.answered} nodes, holding {last.num:,} info-hashes)" if last else ""))
        self.estimate_label.setText("Network size: " + self.estimates.summary().describe())
