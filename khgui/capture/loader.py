"""Reading a capture off the GUI thread, in bounded chunks.

:class:`CaptureLoader` runs :class:`dht.CaptureReader` and
:class:`dht.KrpcDecoder` in a worker thread.  The worker puts chunks of
:class:`dht.CapturedMessage` into a queue of at most ``QUEUE_CHUNKS``
chunks and waits when it is full, so a file of any size costs a bounded
amount of memory however slowly the GUI takes them; a QTimer in the GUI
thread takes the chunks (a few per tick) and emits :attr:`chunk`.  The
first chunk is small, so the first rows show at once.

While it reads, the worker notes where every chunk starts (message index,
time, :class:`dht.CapturePosition`) in :attr:`index`: the timeline seeks
with it by starting a second loader at a position, with a ``limit``.

Python's cyclic garbage collector runs in whichever thread allocates when
its threshold is crossed; the worker allocates a lot, and a collection
there would destroy unreachable Qt objects (a closed dialog in a reference
cycle, say) from the wrong thread, which crashes Qt.  So while any worker
runs, automatic collection is off and the GUI thread collects on its timer.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from dht import CaptureError, CapturePosition, CaptureReader, KrpcDecoder, capture_summary

log = logging.getLogger(__name__)

FIRST_CHUNK = 500
CHUNK = 4000
QUEUE_CHUNKS = 8
TICK_MS = 15
TICK_CHUNKS = 4  # chunks handed on per tick at most
GC_EVERY_TICKS = 20  # the GUI thread's own garbage collection while workers run

_workers = 0  # workers running (automatic garbage collection is off while > 0)
_gc_was_enabled = False


def _workers_started() -> None:
    global _workers, _gc_was_enabled
    if _workers == 0:
        _gc_was_enabled = gc.isenabled()
        gc.disable()
    _workers += 1


def _workers_ended() -> None:
    global _workers
    _workers -= 1
    if _workers == 0 and _gc_was_enabled:
        gc.enable()


class _Scan:
    """The worker thread's side: a plain object (the thread never touches a Qt object)."""

    def __init__(self, path: str, position: CapturePosition | None, limit: int | None) -> None:
        self.path = path
        self.position = position
        self.limit = limit
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self.stop = threading.Event()
        self.index: list[tuple[int, float, CapturePosition]] = []
        self.pairs = 0
        self.summary = ""

    def put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        error = ""
        decoder = KrpcDecoder()
        reader: CaptureReader | None = None
        batch: list[Any] = []
        limit = self.limit
        try:
            reader = CaptureReader(self.path, self.position)
            size = FIRST_CHUNK
            position = reader.tell()
            for datagram in reader:
                message = decoder.feed(datagram)
                if message is None:
                    continue
                if not batch:
                    self.index.append((message.seq, message.time, position))
                batch.append(message)
                if len(batch) >= size or (limit is not None and decoder.messages >= limit):
                    if not self.put(batch):
                        return
                    batch, size = [], CHUNK
                    if limit is not None and decoder.messages >= limit:
                        break
                    position = reader.tell()
        except CaptureError as exc:
            error = str(exc)
        except Exception as exc:  # a bug: logged, shown as one line
            log.exception("reading %s failed", self.path)
            error = f"could not read {self.path}: {type(exc).__name__}: {exc}"
        finally:
            if reader is not None:
                self.summary = capture_summary(reader, decoder)
                reader.close()
        if batch and not self.put(batch):  # what came before the damage too
            return
        self.pairs = decoder.pairs
        self.put(("done", error))


class CaptureLoader(QObject):
    """Streams one capture's messages to the GUI thread.

    Signals:
        chunk(list): CapturedMessage objects, in capture order.
        done(str): finished; "" or the one-line error (after every message before it).
    """

    chunk = Signal(list)
    done = Signal(str)

    def __init__(self, path: str, position: CapturePosition | None = None, limit: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self._scan = _Scan(path, position, limit)
        self.messages = 0
        self.error = ""
        self.finished = False
        self._ticks = 0
        self._counted = False  # in _workers
        self._thread = threading.Thread(target=self._scan.run, name="capture-reader", daemon=True)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._drain)

    @property
    def index(self) -> list[tuple[int, float, CapturePosition]]:
        """(message number, time, position) where each chunk starts, so far."""
        return self._scan.index

    @property
    def pairs(self) -> int:
        return self._scan.pairs

    @property
    def summary(self) -> str:
        return self._scan.summary

    def start(self) -> None:
        _workers_started()
        self._counted = True
        self._thread.start()
        self._timer.start()

    def _ended(self) -> None:
        if self._counted:
            self._counted = False
            _workers_ended()

    def stop(self) -> None:
        """Stop reading (no more signals); returns at once."""
        self._scan.stop.set()
        self._timer.stop()
        self._ended()
        while True:  # unblock a worker waiting on a full queue
            try:
                self._scan.queue.get_nowait()
            except queue.Empty:
                break

    @property
    def running(self) -> bool:
        return not self.finished and not self._scan.stop.is_set()

    def _drain(self) -> None:
        self._ticks += 1
        if self._ticks % GC_EVERY_TICKS == 0:
            gc.collect(1)  # here, in the GUI thread (see the module docstring)
        for _ in range(TICK_CHUNKS):
            try:
                item = self._scan.queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, tuple):
                self.finished = True
                self.error = item[1]
                self._timer.stop()
                self._ended()
                self.done.emit(item[1])
                return
            self.messages += len(item)
            self.chunk.emit(item)
