"""Garbage collection while a lab forms: full collections held off, then frozen out.

A full collection traverses every object of the process while holding the
interpreter lock, and a 2,000-node lab is millions of them (tables,
entries, contacts): 100-360 ms each.  Python starts one whenever enough
objects have survived the younger generations since the last, so a lab
forming (all its objects new, all surviving) set off several: some two
seconds of a 2,000-node formation, and in the explorer, where the lab runs
on a thread of the window's process, a freeze of the window each.

* :func:`full_collections_held` holds off automatic full collections while
  a lab forms (the youngest generations still run): :meth:`Lab.start
  <dht.lab.lab.Lab.start>` forms inside it.  Held by several labs at once,
  the threshold comes back when the last one leaves.
* Once a lab has formed, :class:`~dht.lab.thread.LabThread` (``quiet_gc``,
  for the window's sake) moves what is alive then to the permanent
  generation (:func:`gc.freeze`): later full collections only see what came
  after.  The cost is that reference cycles that became garbage
  while the lab formed are never freed (a formation makes few: its requests
  settle without cycles).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Iterator

#: The oldest generation's threshold while held: in effect, never reached.
HELD_THRESHOLD = 1 << 30

_lock = threading.Lock()
_holders = 0
_saved = 0  # the oldest generation's threshold before the first holder


@contextlib.contextmanager
def full_collections_held() -> Iterator[None]:
    """No automatic full collection inside (the younger generations still run)."""
    global _holders, _saved
    with _lock:
        young, middle, old = gc.get_threshold()
        if _holders == 0:
            _saved = old
        _holders += 1
        gc.set_threshold(young, middle, HELD_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                young, middle, _ = gc.get_threshold()
                gc.set_threshold(young, middle, _saved)

