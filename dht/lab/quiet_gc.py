"""Garbage collection while a lab forms: the older generations held off, then frozen out.

A full collection traverses every object of the process while holding the
interpreter lock, and a 2,000-node lab is millions of them (tables,
entries, contacts): 100-360 ms each.  Python starts one whenever enough
objects have survived the younger generations since the last, so a lab
forming (all its objects new, all surviving) set off several: some two
seconds of a 2,000-node formation, and in the explorer, where the lab runs
on a thread of the window's process, a freeze of the window each.  The
middle generation's collections, which traverse every object that survived
the youngest since the last one (all of a forming lab's), were another
tenth of the formation (a 2,000-node lab formed in 9.4-10.2 s with them,
7.0-8.2 s without).

* :func:`full_collections_held` holds off automatic collections of the
  middle and oldest generations while a lab forms (the youngest still runs,
  so short-lived cycles are still freed; the rest wait for the first
  collection after): :meth:`Lab.start <dht.lab.lab.Lab.start>` forms inside
  it.  Held by several labs at once, the thresholds come back when the last
  one leaves.
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

#: The middle and oldest generations' thresholds while held: in effect, never reached.
HELD_THRESHOLD = 1 << 30

_lock = threading.Lock()
_holders = 0
_saved = (0, 0)  # the middle and oldest generations' thresholds before the first holder


@contextlib.contextmanager
def full_collections_held() -> Iterator[None]:
    """No automatic collection of the middle and oldest generations inside (the youngest still runs)."""
    global _holders, _saved
    with _lock:
        young, middle, old = gc.get_threshold()
        if _holders == 0:
            _saved = (middle, old)
        _holders += 1
        gc.set_threshold(young, HELD_THRESHOLD, HELD_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                young, _, _ = gc.get_threshold()
                gc.set_threshold(young, *_saved)

