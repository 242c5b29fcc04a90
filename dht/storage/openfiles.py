"""Open files: what a lab holds, raising the soft limit for it, and naming the limit when hit.

A node started alone holds FILES_PER_NODE file descriptors (its UDP
socket and its data directory's lock; batched reads use the socket's own
descriptor) and, while its database is open, FILES_PER_DATABASE more (the file,
its write-ahead log and its shared memory).  A lab's nodes share one
database and one lock (:mod:`dht.storage.lab_database`), so a lab node holds
only its socket (FILES_PER_LAB_NODE), or none on a shared socket
(:mod:`dht.rpc.shared_port`) and the lab
FILES_PER_LAB once.  A lab of thousands of nodes in one process still needs
more than the soft limit many systems give a process (1,024), and when it
runs out, SQLite only says "unable to open database file".  So a lab asks
for what it needs before it starts nodes (:func:`ensure_open_files`: the soft
limit is raised up to the hard one, as network tools do), a lab that cannot
have it is refused with the numbers, and a database that cannot be opened
for want of file descriptors is named as such (:func:`open_files_exhausted`).
"""

from __future__ import annotations

import os

from ..core.errors import LocalError

try:
    import resource
except ImportError:  # not on every system: nothing to raise, nothing to check
    resource = None  # type: ignore[assignment]

#: A node started alone: its socket, its directory lock.
FILES_PER_NODE = 2
#: More while its database is open: the file, its WAL and its shared memory.
FILES_PER_DATABASE = 3
#: A lab node: its socket (the lab's database and lock are shared).
FILES_PER_LAB_NODE = 1
#: A lab's own: its directory's lock and its one database.
FILES_PER_LAB = 1 + FILES_PER_DATABASE
#: For everything else in the process (Python, Qt, a capture file, libraries).
HEADROOM = 128


def limits() -> tuple[int, int] | None:
    """(soft, hard) RLIMIT_NOFILE, hard -1 when unlimited; None where unknown."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, (-1 if hard == resource.RLIM_INFINITY else hard)


def needed(nodes: int) -> int:
    """File descriptors for a lab of ``nodes`` running nodes (and the rest of the process)."""
    return nodes * FILES_PER_LAB_NODE + FILES_PER_LAB + HEADROOM


def ensure_open_files(nodes: int) -> None:
    """Make room for a lab of ``nodes`` running nodes: raise the soft limit as far as
    that needs (up to the hard limit, no further), or raise :class:`LocalError` with
    the numbers when they would not fit under the hard limit."""
    got = limits()
    if got is None:
        return
    soft, hard = got
    want = needed(nodes)
    if want <= soft:
        return
    if 0 <= hard < want:
        raise LocalError(
            f"{nodes} nodes need about {want} open files and this process may open "
            f"{hard} (ulimit -Hn); run fewer nodes or raise the limit"
        )
    assert resource is not None
    new_soft = want if hard < 0 else min(want, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, resource.RLIM_INFINITY if hard < 0 else hard))


def open_files_exhausted() -> int | None:
    """The soft limit when the process is at it (or within a few files), else None."""
    got = limits()
    if got is None:
        return None
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:
        return None
    return got[0] if in_use >= got[0] - FILES_PER_DATABASE else None
