"""The Crawl panel: start and stop a crawl of the network our node is on, and show its census.

:class:`CrawlPanel` has a form (the kind of crawl: full, a zone of ids
with its bits, or one node's table at ``HOST:PORT``; the budget in queries
a second, empty for our node's own), Start and Stop, a progress line and
the size estimate firming up (:class:`~khgui.crawl.charts.EstimatePlot`),
then three tabs for the census: its summary and charts
(:class:`~khgui.crawl.charts.CensusCharts`), the nodes found (filter box,
sortable, Export CSV / JSON) and the suspicions with their evidence.

It drives dht's own crawl: ``node.start_crawl(spec)`` and
``node.stop_crawl(crawl_id)`` on our node, whose ``CrawlProgress`` and
``CrawlFinished`` events come through an :class:`~khgui.bridge.EventBridge`
of the panel's own, attached to our node through
:class:`~khgui.crawl.feed.CrawlEvents` (batched on the bridge's timer:
a crawl never holds up the window).  Text the form cannot read, and specs
dht refuses (zone bits out of range, a budget too large), are a message in
the panel, never a traceback.  Each census is emitted as
:attr:`CrawlPanel.census_ready` (the window gives it to the network map),
and a repeat crawl of the same kind says who joined, left or changed since
the last one.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from dht import Census
from dht.errors import DHTError
from dht.events import CrawlFinished, CrawlProgress, NodeWarning

from ..bridge import EventBridge
from ..common.export import Exporter, ExportResult
from ..common.files import app_settings, save_dialog
from ..common.table import ROW_ROLE, filter_box
from ..common.theme import set_state
from ..failures import describe_error
from .charts import CensusCharts, EstimatePlot
from .export import json_writer, nodes_csv_writer
from .feed import CrawlEvents
from .form import KIND_TIPS, KINDS, FormError, read_spec
from .model import CrawledNodesModel, SuspicionsModel
from .summary import describe_census, describe_progress
from .tables import census_table, page, suspect_filter, suspicion_note

log = logging.getLogger(__name__)

#: Milliseconds between two batches of crawl events (at most 4 CrawlProgress a second come).
BATCH_MS = 100
#: Crawl events the panel's bridge holds between two batches (a few a second come).
MAX_PENDING = 10_000
#: Bits of a zone crawl the form starts with.
DEFAULT_BITS = "4"


class CrawlPanel(QWidget):
    """Crawls of our node's network and their census (see the module's docstring).

    Signals:
        census_ready(object): a crawl's :class:`dht.Census`, when it ends (stopped too).
    """

    census_ready = Signal(object)

    def __init__(self, controller: Any, settings: QSettings | None = None, parent: QWidget | None = None,
                 batch_ms: int = BATCH_MS) -> None:
        super().__init__(parent)
        self.setObjectName("CrawlPanel")
        self._controller = controller
        self._settings = settings if settings is not None else app_settings()
        self.nodes = CrawledNodesModel(self)
        self.suspicions = SuspicionsModel(self)
        self.crawl_id: int | None = None
        """The crawl under way (None: none)."""
        self.census: Census | None = None
        """The last census shown."""
        self.stopped = False
        self._previous: dict[tuple[str, int | None], Census] = {}  # the last census of each kind (and zone bits)
        self._t0: float | None = None  # the first progress event's time
        self.last_progress: CrawlProgress | None = None
        self.exported = ""
        self.exporter = Exporter(self)
        self.exporter.finished.connect(self._exported)
        self.bridge = EventBridge(self, interval_ms=batch_ms, maxlen=MAX_PENDING)
        self.bridge.batch.connect(self.on_batch)
        self._build()
        controller.node_changed.connect(self._node_changed)
        self._node_changed(controller.node)
        self._show_kind()

    # -- building --------------------------------------------------------------------

    def _build(self) -> None:
        self.kind = QComboBox()
        for kind, label in KINDS.items():
            self.kind.addItem(label, kind)
            self.kind.setItemData(self.kind.count() - 1, KIND_TIPS[kind], Qt.ItemDataRole.ToolTipRole)
        self.kind.setToolTip("What to crawl: every node reachable (a lab, a small network), the nodes whose ids "
                             "start with a random n-bit prefix (estimates the size of a large network), or one "
                             "node's routing table (one find_node per bucket)")
        self.kind.currentIndexChanged.connect(self._show_kind)
        self.bits = QLineEdit(DEFAULT_BITS)
        self.bits.setObjectName("bits")
        self.bits.setMaximumWidth(60)
        self.bits.setToolTip("The zone's prefix length in bits: the zone holds about 1/2^bits of the network")
        self.bits_label = QLabel("bits:")
        self.table_address = QLineEdit()
        self.table_address.setObjectName("tableAddress")
        self.table_address.setPlaceholderText("HOST:PORT")
        self.table_address.setToolTip("The node whose routing table to crawl")
        self.table_label = QLabel("node:")
        self.budget = QLineEdit()
        self.budget.setObjectName("budget")
        self.budget.setPlaceholderText("our node's")
        self.budget.setFixedWidth(self.fontMetrics().horizontalAdvance("our node's") + 24)
        self.budget.setToolTip("Queries a second the crawl may send (empty: our node's query budget; "
                               "0: no limit, for a lab only)")
        self.start_button = QPushButton("Start crawl")
        self.start_button.setObjectName("startCrawl")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopCrawl")
        self.stop_button.setToolTip("Stop asking: the census keeps what was found")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        for edit in (self.bits, self.table_address, self.budget):
            edit.returnPressed.connect(self.start)
        form = QHBoxLayout()
        form.addWidget(self.kind)
        for w in (self.bits_label, self.bits, self.table_label, self.table_address):
            form.addWidget(w)
        form.addWidget(QLabel("budget:"))
        form.addWidget(self.budget)
        form.addWidget(QLabel("q/s"))
        form.addStretch(1)
        form.addWidget(self.start_button)
        form.addWidget(self.stop_button)

        self.progress_label = QLabel("No crawl yet: pick a kind and click Start crawl.")
        self.progress_label.setObjectName("progress")
        self.progress_label.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setObjectName("message")
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        self.estimate_plot = EstimatePlot()

        self.summary = QLabel("The census of a crawl shows here when it ends.")
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.charts = CensusCharts()
        census_tab = page(self.summary, self.charts)

        self.node_table, self.node_proxy = census_table(self.nodes)
        self.filter_edit = filter_box([self.node_proxy], "filter nodes (id, address, client, suspicion\u2026)")
        self.export_csv_button = QPushButton("Export CSV\u2026")
        self.export_csv_button.setToolTip("Write the nodes shown (filtered, sorted) to a CSV file")
        self.export_csv_button.clicked.connect(lambda: self.export_dialog("csv"))
        self.export_json_button = QPushButton("Export JSON\u2026")
        self.export_json_button.setToolTip("Write the census and the nodes shown to a JSON file")
        self.export_json_button.clicked.connect(lambda: self.export_dialog("json"))
        bar = QHBoxLayout()
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.export_csv_button)
        bar.addWidget(self.export_json_button)
        nodes_tab = page(bar, self.node_table)

        self.suspicion_table, self.suspicion_proxy = census_table(self.suspicions)
        self.suspicion_table.setToolTip("Double-click a suspicion to see its nodes")
        self.suspicion_table.doubleClicked.connect(lambda index: self.show_suspect_nodes(index.row()))
        self.suspicion_note = QLabel(suspicion_note(None))
        self.suspicion_note.setWordWrap(True)
        suspicions_tab = page(self.suspicion_note, self.suspicion_table)

        self.tabs = QTabWidget()
        self.tabs.addTab(census_tab, "Census")
        self.tabs.addTab(nodes_tab, "Nodes")
        self.tabs.addTab(suspicions_tab, "Suspicions")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.estimate_plot)
        split.addWidget(self.tabs)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        self.splitter = split
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.message_label)
        layout.addWidget(split, 1)
        self._show_census_actions()

    # -- public ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a crawl of ours is under way."""
        return self.crawl_id is not None

    def has_data(self) -> bool:
        return self.census is not None

    def message(self) -> str:
        return self.message_label.text() if not self.message_label.isHidden() else ""

    def say(self, text: str, error: bool = False, state: str = "") -> None:
        """A one-line message in the panel (an error in the error colour)."""
        self.message_label.setText(text)
        set_state(self.message_label, state or ("error" if error else "ok"))
        self.message_label.show()

    def set_kind(self, kind: str) -> None:
        """Pick the kind of crawl ("full", "zone", "table") in the form."""
        at = self.kind.findData(kind)
        if at >= 0:
            self.kind.setCurrentIndex(at)

    def start(self) -> bool:
        """Start the crawl the form asks for; False (and a message) when it cannot."""
        if self.running:
            self.say("A crawl is under way: stop it first.", error=True)
            return False
        try:
            spec = read_spec(str(self.kind.currentData()), self.bits.text(), self.table_address.text(),
                             self.budget.text())
        except FormError as exc:
            self.say(f"{exc}.", error=True)
            return False
        node = self._controller.node
        if node is None or not node.running:
            self.say("No node is running: join a network first.", error=True)
            return False
        try:
            crawl_id = int(node.start_crawl(spec))
        except DHTError as exc:  # a spec dht refuses (bits, budget out of range), a node that stopped
            self.say(f"Cannot crawl: {describe_error(exc)}.", error=True)
            return False
        self.crawl_id = crawl_id
        self._t0 = None
        self.last_progress = None
        self.estimate_plot.restart()
        self.message_label.hide()
        self.progress_label.setText(f"Crawl {crawl_id} ({spec.kind}) started\u2026")
        self._show_running()
        return True

    def stop(self) -> None:
        """Stop the crawl under way: it keeps what it found and ends with its census."""
        node = self._controller.node
        if self.crawl_id is None or node is None:
            return
        try:
            node.stop_crawl(self.crawl_id)
        except DHTError as exc:  # it had ended meanwhile
            log.debug("stop_crawl: %s", exc)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping\u2026")

    def on_batch(self, events: list[Any]) -> None:
        """One batch of our node's crawl events: progress of the crawl under way, its census."""
        for event in events:
            if isinstance(event, CrawlProgress) and event.crawl_id == self.crawl_id:
                self._progress(event)
            elif isinstance(event, CrawlFinished) and event.crawl_id == self.crawl_id:
                self._finished(event.census, event.stopped)
            elif isinstance(event, NodeWarning) and self.crawl_id is not None \
                    and event.text.startswith(f"crawl {self.crawl_id}: "):
                self.crawl_id = None
                self.say(f"The crawl could not run: {event.text.split(': ', 1)[1]}.", error=True)
                self.progress_label.setText("No crawl under way.")
                self._show_running()

    def show_census(self, census: Census | None, stopped: bool = False) -> None:
        """Show ``census`` in the tabs (None: none), compared with the last one of its kind."""
        self.census = census
        self.stopped = stopped
        self.nodes.set_census(census)
        self.suspicions.set_census(census)
        self.charts.show_census(census)
        if census is None:
            self.summary.setText("The census of a crawl shows here when it ends.")
        else:
            key = (census.kind, census.zone_bits)
            previous = self._previous.get(key)
            self._previous[key] = census
            diff = census.compare(previous) if previous is not None else None
            self.summary.setText(describe_census(census, stopped, diff))
        self.suspicion_note.setText(suspicion_note(census))
        self.tabs.setTabText(2, f"Suspicions ({len(census.suspicions)})" if census and census.suspicions
                             else "Suspicions")
        self.tabs.setTabText(1, f"Nodes ({len(census.nodes):,})" if census else "Nodes")
        for table in (self.node_table, self.suspicion_table):
            table.resizeColumnsToContents()  # from the first tables.RESIZE_ROWS rows
        self._show_census_actions()

    def show_suspect_nodes(self, row: int) -> None:
        """The Nodes tab, filtered to the nodes of the suspicion shown at ``row``: their one IP
        address, or the prefix their ids share, else the suspicion's kind."""
        s = self.suspicion_proxy.index(row, 0).data(ROW_ROLE)
        if s is None:
            return
        self.filter_edit.setText(suspect_filter(s))
        self.tabs.setCurrentIndex(1)

    # -- exports -------------------------------------------------------------------------

    def shown_nodes(self) -> list[Any]:
        """The nodes the table shows, filtered and sorted (a snapshot)."""
        proxy = self.node_proxy
        return [proxy.index(r, 0).data(ROW_ROLE) for r in range(proxy.rowCount())]

    def export(self, path: str, fmt: str) -> bool:
        """Write the nodes shown to ``path`` as "csv" or "json" (off the GUI thread); False if
        refused at once.  The outcome is a message in the panel."""
        if self.census is None:
            self.say("No census to export yet: run a crawl first.", error=True)
            return False
        if fmt == "json":
            return self.exporter.export(path, "crawled nodes", json_writer(self.census, self.shown_nodes()))
        return self.exporter.export(path, "crawled nodes", nodes_csv_writer(self.shown_nodes(), self.nodes.suspected()))

    def export_dialog(self, fmt: str) -> None:
        name = "crawl.json" if fmt == "json" else "crawl.csv"
        kinds = "JSON files (*.json);;All files (*)" if fmt == "json" else "CSV files (*.csv);;All files (*)"
        self.file_dialog = save_dialog(self, self._settings, "export", f"Export the crawl as {fmt.upper()}", name,
                                       kinds, fmt, lambda path: self.export(path, fmt))

    def _exported(self, result: ExportResult) -> None:
        if result.ok:
            self.exported = result.path
        self.say(result.message, error=not result.ok)

    # -- internals -----------------------------------------------------------------------

    def _progress(self, event: CrawlProgress) -> None:
        if self._t0 is None:
            self._t0 = event.time
        elapsed = event.time - self._t0
        self.last_progress = event
        self.progress_label.setText(describe_progress(event, elapsed))
        self.estimate_plot.add(elapsed, event.estimate, event.low, event.high)

    def _finished(self, census: Census, stopped: bool) -> None:
        self.crawl_id = None
        if self._t0 is not None:
            self.estimate_plot.add(census.finished - self._t0, census.estimate, census.low, census.high)
        self.progress_label.setText(f"Crawl {'stopped' if stopped else 'done'}: {len(census.nodes):,} nodes found "
                                    f"in {census.finished - census.started:.1f} s.")
        self.show_census(census, stopped)
        self._show_running()
        self.census_ready.emit(census)

    def _node_changed(self, node: Any) -> None:
        if node is not None:
            self.bridge.attach(CrawlEvents(node))
        else:
            self.bridge.detach()
        if self.crawl_id is not None:  # our node stopped or changed: its crawl went with it
            self.crawl_id = None
            self.progress_label.setText("Our node stopped: the crawl ended with it.")
            self._show_running()
        self.start_button.setEnabled(node is not None and not self.running)

    def _show_kind(self, *_args: Any) -> None:
        kind = self.kind.currentData()
        for w in (self.bits_label, self.bits):
            w.setVisible(kind == "zone")
        for w in (self.table_label, self.table_address):
            w.setVisible(kind == "table")

    def _show_running(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running and self._controller.node is not None)
        self.start_button.setText("Crawling\u2026" if running else "Start crawl")
        self.stop_button.setEnabled(running)
        self.stop_button.setText("Stop")
        self.kind.setEnabled(not running)

    def _show_census_actions(self) -> None:
        for button in (self.export_csv_button, self.export_json_button):
            button.setEnabled(self.census is not None)

    def shutdown(self) -> None:
        """Stop listening (before the application quits)."""
        self.bridge.stop()
