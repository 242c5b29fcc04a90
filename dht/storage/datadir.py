"""A node's data directory: the lock that keeps it to one node, and naming what is wrong with it.

:class:`DataDirLock` locks ``khashmir.lock`` with ``filelock`` (flock on
Unix: the system releases it when the process dies, so a killed node leaves
no stale lock) for as long as the node runs, and writes the holder's pid to
``khashmir.pid`` beside it (not into the lock file: a contender opening the
lock file truncates it) so that a second node can say who holds it.

The helpers name a directory that cannot be written for a person: a
read-only file system, permission denied, a full disk.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import filelock

from ..core.errors import StorageError
from .openfiles import open_files_exhausted

__all__ = ["DataDirLock", "cannot_create", "make_writable", "no_space", "not_writable"]


def not_writable(directory: str) -> str:
    """Why ``directory`` cannot be written, named: a read-only file system, permissions, or
    (a writable directory) the process out of file descriptors."""
    if os.access(directory, os.W_OK):
        limit = open_files_exhausted()
        if limit is not None:
            return f"too many open files (the limit is {limit}, ulimit -n): cannot open files in {directory}"
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return f"read-only file system: {directory} is not writable"
    except OSError:
        pass
    return f"permission denied: {directory} is not writable"


def no_space(directory: str) -> bool:
    """Whether the file system of ``directory`` has (almost) no room left for us."""
    if not directory:
        return False
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def cannot_create(exc: OSError, directory: str) -> str:
    if exc.errno == errno.EROFS:
        return f"read-only file system: cannot create data directory {directory}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: cannot create data directory {directory}"
    return f"cannot create data directory {directory}: {exc.strerror or exc}"


def make_writable(directory: str) -> None:
    """Create ``directory`` if need be, or raise :class:`StorageError` saying why it cannot be written."""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise StorageError(cannot_create(exc, directory)) from None
    if not os.access(directory, os.W_OK):
        raise StorageError(not_writable(directory))


def _os_problem(exc: OSError, directory: str) -> str:
    if exc.errno == errno.EROFS:
        return f"read-only file system: {directory} is not writable"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {directory} is not writable"
    if exc.errno == errno.ENOSPC:
        return f"disk full: no space left in {directory}"
    return f"{directory}: {exc.strerror or exc}"


class DataDirLock:
    """The lock a node holds on its data directory while it runs.

    ``khashmir.lock`` is locked with ``filelock`` (flock on Unix: released by
    the system when the process dies, so a killed node leaves no stale
    lock); ``khashmir.pid`` beside it names the holder.
    """

    LOCK_NAME = "khashmir.lock"
    PID_NAME = "khashmir.pid"

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._lock: filelock.BaseFileLock | None = None

    @property
    def held(self) -> bool:
        return self._lock is not None

    def holder_pid(self) -> int | None:
        try:
            text = (self.directory / self.PID_NAME).read_text(encoding="ascii").strip()
        except (OSError, UnicodeError):
            return None
        return int(text) if text.isdigit() else None

    def acquire(self) -> None:
        """Lock the directory (creating it) or raise :class:`StorageError` saying why not."""
        where = str(self.directory)
        make_writable(where)
        lock = filelock.FileLock(str(self.directory / self.LOCK_NAME), thread_local=False)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            pid = self.holder_pid()
            holder = f" (pid {pid})" if pid is not None and pid != os.getpid() else ""
            if pid == os.getpid():
                holder = " (in this process)"
            raise StorageError(f"data directory {where} is in use by another node{holder}") from None
        except OSError as exc:
            raise StorageError(_os_problem(exc, where)) from None
        self._lock = lock
        try:
            (self.directory / self.PID_NAME).write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError:
            pass  # the lock holds without it; a second node just cannot name us

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return
        if self.holder_pid() == os.getpid():
            try:
                (self.directory / self.PID_NAME).unlink()
            except OSError:
                pass
        lock.release()
