"""The seed's protocol (apt-p2p's Khashmir): its handlers and its value lookups.

The codec is :mod:`dht.wire.khashmir` (over :mod:`dht.wire.krpc`); the
values live in the node's SQLite store (:mod:`dht.storage`).  Nothing here
imports :mod:`dht.mainline`.
"""
