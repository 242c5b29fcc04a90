"""The Crawl panel: crawl the network our node is on (a zone of ids, one node's table, or
all of it) and show its census: the size estimate, clients, RTTs, BEP 42, nodes found, and
the signs of attack with their evidence (see :mod:`khgui.crawl.panel`)."""
