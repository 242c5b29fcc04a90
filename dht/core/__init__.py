"""The sans-IO core: what a node knows, fed bytes, events and ``now``.

Contacts, ids and distances; the routing table and its K-buckets; the
iterative lookup's state machine; round-trip times; tokens, rate limits and
the query budget; statistics; the events and errors every layer speaks.
Nothing here imports asyncio, threads, sockets or SQLite, or reads a clock
(tests/test_sans_io.py checks every module of this folder).
"""
