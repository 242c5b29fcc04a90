"""Khashmir Explorer: a PySide6 desktop app that shows a Kademlia DHT at work.

``python -m khgui`` or the ``khgui`` script start it (see :mod:`khgui.app`).
The GUI uses only the public API of :mod:`dht` and its events.
"""

__version__ = "0.1.0"
