"""Packet captures in the explorer: record our node (or the lab) as pcapng, open any capture.

:mod:`.actions` has the File menu entries, :mod:`.recording` attaches a
:class:`dht.CaptureWriter` to nodes, :mod:`.session` turns the window into a
viewer of a capture (fed by :mod:`.loader` in a worker thread, converted by
:mod:`.feed` into the live panels' events) with the :mod:`.bar` timeline.
"""
