"""The storage thread: the one thread that touches a node's SQLite connection.

Theory of operation.  A node answers the network on its event loop; SQLite
blocks (a slow disk, a database locked by another connection waits up to
its busy timeout).  So every database access of a :class:`~.store.Store` is
a *job* run by its :class:`StorageWorker`: a single-worker
:class:`concurrent.futures.ThreadPoolExecutor`, so jobs run one at a time,
in the order they were given, on one thread, which owns the connection
(opened, used and closed there).

* :meth:`StorageWorker.run` is the way in from the event loop: an awaitable
  of the job's result; the loop goes on answering meanwhile.
* :meth:`StorageWorker.call` waits for the job (the synchronous API: tests,
  the CLI, the checkpoint).  Called on the storage thread itself (a job
  calling the store) it runs the job there and then.

The thread exists only while there is work or an open connection:
:meth:`StorageWorker.stop_thread` lets it end (an idle node releases its
connection, and a lab of hundreds of nodes in one process does not keep
hundreds of threads), and the next job starts a new one.  The queue is not
bounded here: what the network may put in it is (``MAX_STORAGE_QUERIES``,
:mod:`dht.handlers_khashmir`); the node's own jobs are few.

Callbacks a job makes (a fault to report, a connection reopened) must run on
the caller's thread, not the storage thread: a job posts them with
:meth:`StorageWorker.notify`, and whoever waited for the job (``run`` or
``call``) runs them when it returns, in order.

``threaded=False`` runs every job inline on the caller's thread: the
behaviour before the storage thread, kept as a baseline for
``bench/bench_storage.py --inline``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class StorageWorker:
    """Runs a store's jobs, one at a time and in order, on one thread."""

    def __init__(self, name: str = "storage", threaded: bool = True) -> None:
        self.name = name
        self.threaded = threaded
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._thread_ident: int | None = None
        self._lock = threading.Lock()
        self._notices: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = collections.deque()
        #: jobs given and not finished yet (read on any thread)
        self.pending = 0

    @property
    def on_worker(self) -> bool:
        """Whether the calling thread is the storage thread."""
        return self._thread_ident == threading.get_ident()

    def _mark(self) -> None:
        self._thread_ident = threading.get_ident()

    def _done(self, _future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self.pending -= 1

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        with self._lock:
            executor = self._executor
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix=self.name, initializer=self._mark
                )
                self._executor = executor
            future = executor.submit(fn, *args)
            self.pending += 1
        future.add_done_callback(self._done)  # also when cancelled
        return future

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a job and wait for its result (or exception)."""
        if not self.threaded or self.on_worker:
            try:
                return fn(*args)
            finally:
                if not self.on_worker:
                    self.drain_notices()
        future = self.submit(fn, *args)
        try:
            return future.result()
        finally:
            self.drain_notices()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a job on the storage thread; the loop is free until it is done."""
        if not self.threaded:
            return self.call(fn, *args)
        future = self.submit(fn, *args)
        try:
            return await asyncio.wrap_future(future)
        finally:
            self.drain_notices()

    def notify(self, callback: Callable[..., None], *args: Any) -> None:
        """From a job: run ``callback(*args)`` on the thread that waits for the job."""
        self._notices.append((callback, args))
        if not self.threaded:
            self.drain_notices()

    def drain_notices(self) -> None:
        while self._notices:
            try:
                callback, args = self._notices.popleft()
            except IndexError:  # another waiter took it
                return
            callback(*args)

    def join(self, cancel_queued: bool = False) -> None:
        """Wait for the thread to end; ``cancel_queued``: cancel the jobs not started yet
        (a node aborted; their awaiters get CancelledError), only the running one finishes."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=cancel_queued)

    def stop_thread(self) -> None:
        """Let the thread end (a next job starts a new one); not while jobs are pending,
        so that two threads never hold the connection."""
        with self._lock:
            if self.pending:
                return
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
