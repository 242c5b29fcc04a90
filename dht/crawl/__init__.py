"""Crawling a DHT and taking its census (sans-IO): which nodes are there, how many, what looks wrong.

* :mod:`.spec`: what a crawl is asked to do (:class:`CrawlSpec`: a zone of ids,
  one node's table, or everything reachable) and what it is told back for
  each query (:class:`FindNodeAnswer`);
* :mod:`.machine`: the crawl's state machine, fed answers, failures and
  ``now``; it says which (address, target) to ask next, within its budget;
* :mod:`.records`: what the crawl knows of each node, and the steps of its
  table's enumeration bucket by bucket;
* :mod:`.pacing`: the crawl's budget (a token bucket) and its queries' deadline;
* :mod:`.estimate`: the zone estimate corrected for missed nodes, with its interval;
* :mod:`.suspicion`: signs of attack (horizontal and vertical Sybils, ids
  that do not fit their IP) with their evidence;
* :mod:`.census`: what a crawl found (:class:`Census`) and how two compare.

The asyncio driver that sends the queries is :mod:`dht.node.crawling`.
Nothing here reads a clock or touches the network.
"""

from .census import Census, CensusDiff, CrawledNode
from .machine import Ask, CrawlMachine
from .spec import CrawlSpec, FindNodeAnswer, check_spec
from .suspicion import Suspicion

__all__ = [
    "Ask", "Census", "CensusDiff", "CrawlMachine", "CrawlSpec", "CrawledNode", "FindNodeAnswer", "Suspicion",
    "check_spec",
]
