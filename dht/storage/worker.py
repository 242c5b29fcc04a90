"""The storage thread: SQLite off the event loop, one thread at a time on the connection.

Theory of operation.  A node answers the network on its event loop; SQLite
blocks (a slow disk, a database locked by another connection waits up to
its busy timeout).  So every database access of a :class:`~.store.Store` is
a *job* run by its :class:`StorageWorker`: one thread taking jobs from a
queue, so jobs run one at a time, in the order they were given, on one
thread, which owns the connection while it has work.  The
thread takes every job queued at once and hands the results of the batch
to the event loop in one wake-up (``call_soon_threadsafe``): under a flood
of stores the loop is woken once per batch, not once per store.

* :meth:`StorageWorker.run` is the way in from the event loop: an awaitable
  of the job's result; the loop goes on answering meanwhile.
* :meth:`StorageWorker.call` waits for the job (the synchronous API: tests,
  the CLI, start-up, the checkpoint).  With no job queued, the caller runs
  it itself (it would wait anyway, and a node starting does not start a
  thread for its few reads); else it queues behind the others and waits.
  Called on the storage thread itself (a job calling the store) it runs the
  job there and then.  Either way the connection is used by one thread at a
  time, in the order of the calls: a run lock is held around every job.

The thread exists only while there is work: it ends after ``idle`` seconds
(IDLE_SECONDS) with nothing to do, and :meth:`StorageWorker.stop_thread`
ends it at once (an idle node releases its connection); the next job
starts a new one.  So a lab of hundreds of nodes in one process keeps
threads only for the nodes busy with storage (a thread's stack and state
are several kilobytes of memory each).  The queue is not
bounded here: what the network may put in it is (``MAX_STORAGE_QUERIES``,
:mod:`dht.khashmir.dispatch`); the node's own jobs are few.

Callbacks a job makes (a fault to report, a connection reopened) must run on
the caller's thread, not the storage thread: a job posts them with
:meth:`StorageWorker.notify`, and whoever waited for the job (``run`` or
``call``) runs them when it returns, in order.

One worker may serve many stores: a lab's nodes share one database and one
storage thread (:mod:`.lab_database`).  Each store then gives its jobs in a
:class:`JobGroup` of its own, and a node that aborts cancels its group: its
jobs queued and not started are skipped, the other nodes' run as queued.

``threaded=False`` runs every job inline on the caller's thread: the
behaviour before the storage thread (``Config.STORAGE_THREAD``), kept as the
baseline of ``bench/bench_storage_latency.py``.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

T = TypeVar("T")

#: A storage thread with nothing to do for this long ends (the next job starts another).
IDLE_SECONDS = 2.0


class JobGroup:
    """The jobs of one store on a worker shared with others: cancelled together
    (:attr:`cancelled`) when that store is closed at once (its node aborted)."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


@dataclass(slots=True, eq=False)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    group: JobGroup | None = None
    #: an asyncio caller: its loop and future; else a waiting thread: ``done``
    loop: asyncio.AbstractEventLoop | None = None
    future: "asyncio.Future[Any] | None" = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None
    skipped: bool = False


def _deliver(batch: list[_Job]) -> None:
    """On the event loop: the results of a batch of jobs to their futures."""
    for job in batch:
        fut = job.future
        if fut is None or fut.done():
            continue  # its awaiter was cancelled
        if job.skipped:
            fut.cancel()
        elif job.error is not None:
            fut.set_exception(job.error)
        else:
            fut.set_result(job.result)


class StorageWorker:
    """Runs a store's jobs, one at a time and in order, on one thread."""

    def __init__(self, name: str = "storage", threaded: bool = True, idle: float = IDLE_SECONDS) -> None:
        self.name = name
        self.threaded = threaded
        self.idle = idle
        self._cond = threading.Condition()
        # Lists, not deques (taken whole, or a few notices): a deque's first block is
        # half a kilobyte, and a lab holds thousands of idle stores.
        self._queue: list[_Job] = []
        self._thread: threading.Thread | None = None
        self._running = threading.Lock()  # held around every job: one thread at a time on the connection
        self._owner: int | None = None  # the thread running a job
        self._ending = False  # the thread ends once the queue is empty
        self._discarding = False  # the jobs queued are skipped (a node aborted)
        self._notices: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        #: jobs given and not finished yet (read on any thread)
        self.pending = 0

    @property
    def on_worker(self) -> bool:
        """Whether the calling thread is the one running a job (a job calling the store)."""
        return self._owner == threading.get_ident()

    def _run_job(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._running:
            self._owner = threading.get_ident()
            try:
                return fn(*args)
            finally:
                self._owner = None

    # --- the thread ------------------------------------------------------

    def _submit(self, job: _Job) -> None:
        with self._cond:
            self._queue.append(job)
            self.pending += 1
            self._ending = False
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def _serve(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._queue and not self._ending:
                    if not self._cond.wait(self.idle) and not self._queue:
                        break  # idle: end (what is queued later starts a new thread)
                if not self._queue:  # ending or idle, nothing left: the next job starts a new thread
                    if self._thread is me:
                        self._thread = None
                    return
                batch, self._queue = self._queue, []
            by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
            for job in batch:
                if (self._discarding or (job.group is not None and job.group.cancelled)
                        or (job.future is not None and job.future.cancelled())):
                    job.skipped = True  # nobody waits for it any more (a node aborted): not run
                    job.error = RuntimeError("the store was closed")
                else:
                    try:
                        job.result = self._run_job(job.fn, job.args)
                    except BaseException as exc:  # handed to the caller, who raises it
                        job.error = exc
                with self._cond:
                    self.pending -= 1
                if job.loop is None:
                    job.done.set()
                else:
                    by_loop.setdefault(job.loop, []).append(job)
            for loop, jobs in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_deliver, jobs)
                except RuntimeError:  # the loop is closed: nobody waits
                    pass

    # --- the API ---------------------------------------------------------

    def call(self, fn: Callable[..., T], *args: Any, group: JobGroup | None = None) -> T:
        """Run a job (of ``group``) and wait for its result (or exception)."""
        if not self.threaded or self.on_worker:
            try:
                return fn(*args)
            finally:
                if not self.on_worker:
                    self.drain_notices()
        with self._cond:
            inline = self.pending == 0
            if inline:
                self.pending += 1  # jobs given meanwhile (other threads) queue behind this one
        if inline:
            try:
                return self._run_job(fn, args)
            finally:
                with self._cond:
                    self.pending -= 1
                self.drain_notices()
        job = _Job(fn, args, group)
        self._submit(job)
        job.done.wait()
        self.drain_notices()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    async def run(self, fn: Callable[..., T], *args: Any, group: JobGroup | None = None) -> T:
        """Run a job (of ``group``) on the storage thread; the loop is free until it is done."""
        if not self.threaded:
            return self.call(fn, *args)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._submit(_Job(fn, args, group, loop, future))
        try:
            return await future
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
                callback, args = self._notices.pop(0)
            except IndexError:  # another waiter took it
                return
            callback(*args)

    def stop_thread(self) -> None:
        """Let the thread end once the queue is empty (a next job starts a new one)."""
        with self._cond:
            self._ending = True
            self._cond.notify()

    def join(self, cancel_queued: bool = False) -> None:
        """End the thread and wait for it; ``cancel_queued``: the jobs not started yet never
        run (a node aborted: their awaiters are cancelled), only the running one finishes."""
        with self._cond:
            thread = self._thread
            self._discarding = cancel_queued
            self._ending = True
            self._cond.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._discarding = False
