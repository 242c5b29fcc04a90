"""Wire profiles: bytes <-> typed messages, one module per profile.

* :mod:`dht.wire.profiles`: the profile interface the transport and the
  node call (:mod:`dht.wire.khashmir` wraps :mod:`dht.wire.krpc`, byte for byte;
  :mod:`dht.wire.mainline.profile` the Mainline codec);
* :mod:`dht.wire.mainline`: BitTorrent's Mainline DHT (BEP 5, 33, 42, 43,
  44, 51; IPv6 compact forms of BEP 32 in the codec).
* :mod:`dht.wire.codes`: error meanings and the per-profile code tables
  (Mainline 201-204/205-207/301-302 against Khashmir's 200-206).
* :mod:`dht.wire.common`: compact addresses, peers and node infos; the
  top-level ``v`` client version.
* :mod:`dht.wire.bloom`: BEP 33 scrape bloom filters.
* :mod:`dht.wire.bep44`: BEP 44 targets and signature buffers.

Everything here is sans-IO: fed bytes, it returns values or raises a typed
error; it never reads a clock nor touches a socket.  The public API
(:mod:`dht`) names the profiles (``dht.PROFILES``) and decodes ``v``
(``dht.decode_client_version``); the rest is the node's.
"""
