"""The store and look up panel: a form to store and find values, and a live
drawing of the lookup.

:mod:`.hops` has the hop and store-result tables and the distance-over-time
plot; :mod:`.panel` is the form that runs it all.
"""
