"""BitTorrent's Mainline DHT (BEP 5, 33, 42, 43, 44, 51): handlers, lookups, stores, keys.

The codec is :mod:`dht.wire.mainline`.  Nothing here imports :mod:`dht.khashmir`.
"""
