"""The store and look up panel: a form to store and find values, and a live
drawing of the lookup.

:mod:`.models` has the hop and store-result tables, :mod:`.plot` the
distance-over-time scatter, :mod:`.panel` the form that runs it all.
"""
