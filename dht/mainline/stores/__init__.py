"""Sans-IO stores of the Mainline profile, held in memory.

* :mod:`.settings`: :class:`StoreSettings`, the bounded limits (names after
  libtorrent's ``settings_pack``) with their documented defaults;
* :mod:`.peers`: announced peers per info-hash (BEP 5), with BEP 33 scrape
  filters;
* :mod:`.items`: BEP 44 immutable and mutable items;
* :mod:`.samples`: BEP 51 sample_infohashes, answering and asking.

Every method that depends on time takes ``now`` (seconds, any monotonic
origin); nothing here reads a clock, sleeps or does IO.  Khashmir's values
stay in :mod:`dht.storage` (SQLite, on disk); this package of in-memory
stores sits beside it.
"""
