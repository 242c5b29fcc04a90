"""Where a lab's nodes live: their loopback addresses, and the lab's scratch directory.

Addresses.  On Linux every 127.x.y.z is loopback, so each lab node listens
on an address of its own, 127.0.0.2 upwards (:func:`lab_host`; 127.0.0.1 is
left to the programs that use the lab: the explorer's own node, the CLI's
one-shot nodes), and a per-IP limit of a node (rates, one table entry per
IP, storage quotas) sees the other lab nodes as the distinct hosts they
would be on the Internet.  Where only 127.0.0.1 can be bound
(:func:`loopback_per_node`, found by trying once), or when a ``host`` is
given, every node listens on that one address with ports of its own
(:func:`node_address`), and the lab's ``shared_ip`` says so: per-IP limits
must then be raised for the lab's own nodes.

Directory.  A lab given no data directory keeps its database in a
directory of its own (:func:`scratch_dir`), thrown away when it stops: in
memory (/dev/shm) where there is such a place.
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
from pathlib import Path

from ..core.contact import Address

#: Where every node listens when the platform binds no other loopback address.
SHARED_HOST = "127.0.0.1"
#: Addresses used in each /24 of 127/8: .1 to .254.
PER_LOOPBACK = 254


def lab_host(index: int) -> str:
    """The loopback address of lab node ``index``: 127.0.0.2, ... 127.0.0.254, 127.0.1.1, ...

    Skips 127.0.0.1 and the .0 and .255 of each /24.
    """
    n = index + 1
    return f"127.{n // (PER_LOOPBACK * 256) % 256}.{n // PER_LOOPBACK % 256}.{n % PER_LOOPBACK + 1}"


@functools.lru_cache(maxsize=1)
def loopback_per_node() -> bool:
    """Whether this machine lets us bind addresses of 127.0.0.0/8 other than 127.0.0.1."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((lab_host(0), 0))
    except OSError:
        return False
    return True


def node_address(index: int, host: str | None, shared_ip: bool, base_port: int | None) -> Address:
    """Where lab node ``index`` listens: ``host`` if given, else its own loopback
    address (127.0.0.1 for all when ``shared_ip``); port ``base_port + index``, or 0
    (the kernel's choice) without a base port."""
    port = 0 if base_port is None else base_port + index
    if host is not None:
        return host, port
    return (SHARED_HOST if shared_ip else lab_host(index)), port


def scratch_dir() -> Path:
    """A new temporary directory for a lab's database, in memory where possible.

    A lab's own directory is thrown away when it stops, so on Linux it goes
    to /dev/shm (tmpfs) when it is there and writable (no disk syncs for
    what is thrown away); elsewhere to the usual place.
    """
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None
    return Path(tempfile.mkdtemp(prefix="khashmir-lab-", dir=where))
