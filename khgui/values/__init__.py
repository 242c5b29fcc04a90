"""The stored values panel: our node's local store, live.

:mod:`.model` is the table of (key, value) pairs with their expiry;
:mod:`.panel` feeds it from the node's snapshot and events and republishes
the values the user published before they expire.
"""
