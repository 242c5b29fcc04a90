"""Small helpers shared by the traffic, values and lookup panels.

:mod:`.text` formats bytes, sizes, times and messages for display;
:mod:`.keys` parses key text and holds the registry of key texts and
published values shared by the values and lookup panels.
"""
