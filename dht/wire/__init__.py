"""Wire profiles: bytes <-> typed messages, one module per profile.

* :mod:`dht.wire.mainline`: BitTorrent's Mainline DHT (BEP 5, 33, 42, 43,
  44, 51; IPv6 compact forms of BEP 32 in the codec).
* :mod:`dht.wire.codes`: error meanings and the per-profile code tables
  (Mainline 201-204/205-207/301-302 against Khashmir's 200-206).
* :mod:`dht.wire.common`: compact addresses, peers and node infos; the
  top-level ``v`` client version.
* :mod:`dht.wire.bloom`: BEP 33 scrape bloom filters.
* :mod:`dht.wire.bep44`: BEP 44 targets and signature buffers.

Everything here is sans-IO: fed bytes, it returns values or raises a typed
error; it never reads a clock nor touches a socket.  Nothing is exported
from :mod:`dht` yet (the public API is decided when the profile is wired
into the node).
"""
