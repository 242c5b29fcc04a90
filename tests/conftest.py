"""Settings shared by every test: a fixed hypothesis profile, a settings home of their own,
and a check that nothing a test starts outlives it.

Property tests run derandomized (the same examples on every run, seeded from
the test itself), so a run in CI is reproducible: a failure found once fails
every time until fixed, and is then kept as an ``@example`` next to the test.
``HYPOTHESIS_PROFILE=explore`` draws fresh random examples (more of them)
to look for new failures locally.
"""

from __future__ import annotations

import gc
import multiprocessing.resource_tracker
import os
import socket
import tempfile
import threading
import time
from typing import Iterator

import pytest
from hypothesis import settings

# The explorer keeps its settings (window layout, folders, confirmations) with
# QSettings under XDG_CONFIG_HOME: the tests, and the khgui processes they start,
# keep theirs in a folder of their own, never in the user's.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="khgui-test-config-")

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    print_blob=True,
)
settings.register_profile("explore", derandomize=False, database=None, deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --- nothing left running ------------------------------------------------------
#
# A test that leaves a node, a lab, a lab thread, a storage thread, a
# non-daemon thread or a child process running behind it slows every test
# after it (the full run took twice the time of its tests alone), and nobody
# sees which test did it.  Each test (and each module, for module-scoped
# fixtures) is checked at its teardown: what runs then and did not before
# fails it, by name.  A running node or lab shows as its UDP sockets.  The
# check costs well under a millisecond when nothing was left.

#: Threads of dht that must end with what started them (a LabThread, a Store's worker).
_DHT_THREADS = ("khashmir-lab", "storage")
#: How long what was just stopped may take to end (a lab's loop closing, a storage thread's last job).
_GRACE = 2.0


def _watched_threads() -> set[threading.Thread]:
    main = threading.main_thread()
    return {
        t for t in threading.enumerate()
        if t is not main and (not t.daemon or t.name.startswith(_DHT_THREADS))
    }


def _socket_inodes() -> set[int]:
    """The inodes of this process's open sockets (empty where there is no /proc)."""
    inodes: set[int] = set()
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (or the listing's own fd)
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return inodes


def _udp(inodes: set[int]) -> list[str]:
    """Those of ``inodes`` that are UDP sockets, as their local addresses."""
    found: list[str] = []
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[9]) in inodes:
                        found.append(_address(fields[1]))
        except (OSError, StopIteration, ValueError, IndexError):
            continue
    return found


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    if len(host) == 8:
        return f"{socket.inet_ntop(socket.AF_INET, bytes.fromhex(host)[::-1])}:{int(port, 16)}"
    return f"[{host}]:{int(port, 16)}"


# Spawning a process (a lab in worker processes, dht.LabProcesses) starts the
# interpreter's one multiprocessing resource tracker, which lives as long as the
# test process: started here, so that no test takes it for a child left running.
multiprocessing.resource_tracker.ensure_running()


def _children() -> set[int]:
    """This process's running child processes (zombies, exited but not reaped, left out)."""
    pids: set[int] = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            continue
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rindex(")") + 2] not in "ZX":
            running.add(pid)
    return running


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return "?"


class _Alive:
    """What runs at one moment: the watched threads, the open sockets, the child processes."""

    def __init__(self) -> None:
        self.threads = _watched_threads()
        self.sockets = _socket_inodes()
        self.children = _children()

    def left_since(self, before: "_Alive") -> list[str]:
        """What runs now and did not at ``before`` (after a grace for what is ending)."""
        deadline = time.monotonic() + _GRACE
        threads = self.threads - before.threads
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        left = [
            f"thread {t.name!r}" + ("" if t.daemon else " (not a daemon)") for t in threads if t.is_alive()
        ]
        udp = _udp(self.sockets - before.sockets)
        children = self.children - before.children
        if udp or children:  # a socket closes on its loop's next pass, a killed process ends soon
            gc.collect()
            while True:
                udp = _udp(_socket_inodes() - before.sockets)
                children &= _children()
                if not (udp or children) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        if udp:
            left.append(f"{len(udp)} UDP socket(s) open (a node or a lab not stopped?): {', '.join(udp[:5])}")
        left += [f"child process {pid} ({_command(pid)})" for pid in sorted(children)]
        return left


def _check_left(before: _Alive, what: str) -> None:
    left = _Alive().left_since(before)
    if left:
        pytest.fail(f"{what} left running: " + "; ".join(left), pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_nothing_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module's fixtures (module-scoped ones included) stop what they start."""
    before = _Alive()
    yield
    _check_left(before, f"{request.node.nodeid} (its module-scoped fixtures)")


@pytest.fixture(autouse=True)
def _test_leaves_nothing_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test and its fixtures stop what they start: no node, lab, lab or storage
    thread, non-daemon thread or child process survives its teardown."""
    before = _Alive()
    yield
    if gc.get_freeze_count():
        # A lab forming with quiet_gc freezes what is alive in the process (dht.lab_thread):
        # here that is every earlier test's garbage too, kept to the end of the run.
        gc.unfreeze()
    _check_left(before, "this test")
