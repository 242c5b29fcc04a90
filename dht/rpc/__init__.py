"""Asking other nodes, on asyncio: the KRPC transport, the lookup driver, name resolution.

Shared by both profiles (:mod:`dht.khashmir`, :mod:`dht.mainline`), below
them: the transport matches answers to requests and answers queries
through the profile's handler; :mod:`.inflight` and :mod:`.iterate` drive
the sans-IO :class:`dht.core.lookup.Lookup` over a node's requests.
"""
