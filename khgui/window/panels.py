"""The main window's panels, chosen by what the DHT spoken can do.

:func:`build_panels` makes the panels the window docks and returns them as
one :class:`WindowPanels`, with their dock titles: the routing table,
statistics and traffic always; stored values and the store & look-up form
on a profile that stores values (Khashmir), stored peers & items and the
peers & items form on one that has peers and items (Mainline: BEP 5, 44),
the Samples & clients panel where BEP 51 samples exist, and the Crawl
panel always (both profiles crawl, through dht's own crawler; like the
network map it is docked but not one of the panels the headless runs wait
for: it has nothing to show until the user starts a crawl).  Only
:mod:`khgui.profile` says which (never the profile's name).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from ..bridge import EventBridge
from ..controller import NetworkController
from ..crawl.panel import CrawlPanel
from ..lookup.mainline import MainlineLookupPanel
from ..lookup.panel import LookupPanel
from ..profile import ITEMS, PEERS, SAMPLES, can
from ..routing.panel import RoutingPanel
from ..samples.panel import SamplesPanel
from ..stats.panel import StatsPanel
from ..traffic.panel import TrafficPanel
from ..values.mainline_panel import MainlineValuesPanel
from ..values.panel import ValuesPanel


Panel = RoutingPanel | StatsPanel | TrafficPanel | ValuesPanel | MainlineValuesPanel | LookupPanel | SamplesPanel


@dataclass(frozen=True)
class WindowPanels:
    """The window's panels (the network map aside: it has nothing to show without a lab; and the
    crawl panel, kept apart for the same reason: nothing to show until a crawl)."""

    routing: RoutingPanel
    stats: StatsPanel
    traffic: TrafficPanel
    values: ValuesPanel | MainlineValuesPanel
    lookup: LookupPanel
    samples: SamplesPanel | None
    crawl: CrawlPanel
    titles: dict[str, str]
    """Each panel's dock title, by key ("&&": a dock's title is also its View menu entry's text)."""

    def _panels(self) -> list[tuple[str, Panel]]:
        panels: list[tuple[str, Panel]] = [("routing", self.routing), ("stats", self.stats),
                                           ("traffic", self.traffic), ("values", self.values),
                                           ("lookup", self.lookup)]
        return panels + ([("samples", self.samples)] if self.samples is not None else [])

    def by_key(self) -> dict[str, QWidget]:
        """The panels by key, in the order their docks are made."""
        return {key: panel for key, panel in self._panels()}

    def with_data(self) -> dict[str, bool]:
        """Each panel's ``has_data()``, by key (the headless runs wait for it)."""
        return {key: panel.has_data() for key, panel in self._panels()}


def build_panels(controller: NetworkController, bridge: EventBridge, settings: QSettings) -> WindowPanels:
    """The panels for the profile of ``controller``'s config."""
    config = controller.config
    peers = can(config, PEERS) or can(config, ITEMS)  # BEP 5 and BEP 44: peers and items, not values
    routing = RoutingPanel(controller, bridge)
    stats = StatsPanel(controller, bridge)
    traffic = TrafficPanel(controller, bridge)
    values = MainlineValuesPanel(controller, bridge) if peers else ValuesPanel(controller, bridge)
    lookup = (MainlineLookupPanel if peers else LookupPanel)(controller, bridge)
    samples = None  # BEP 51 samples and the clients that answer
    if can(config, SAMPLES):
        samples = SamplesPanel(controller, bridge, settings, census=routing.census)
    titles = {"routing": "Routing table", "traffic": "Traffic",
              "values": "Stored peers && items" if peers else "Stored values",
              "lookup": "Peers && items" if peers else "Store && look up",
              "stats": "Statistics", "samples": "Samples && clients", "crawl": "Crawl"}
    crawl = CrawlPanel(controller, settings)  # our node's crawls: its own bridge (khgui.crawl.feed)
    return WindowPanels(routing, stats, traffic, values, lookup, samples, crawl, titles)
