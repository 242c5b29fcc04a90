"""Small helpers shared by the traffic, values and lookup panels.

:mod:`.text` formats bytes, sizes and times for display; :mod:`.registry`
remembers the texts keys were typed from and the values the user published;
:mod:`.keyfield` is the key entry with its live key preview.
"""
