"""The one way Khashmir Explorer writes a file the user chose: off the GUI thread, never into a special file.

Every export (traffic as JSON lines, BEP 51 samples, the routing table, a
look-up's hops) goes through :class:`Exporter`:

* :func:`check_destination` refuses, at once and with a one-line reason, a
  path the app must not open for writing: a FIFO, a device or socket, a
  directory, anything under ``/proc``, ``/sys`` or ``/dev`` (opening such a
  file can block forever, or write into the kernel), a missing folder.  It
  only ``stat``-s, which never blocks on those.
* The rows are taken from the models on the GUI thread (a snapshot: the
  models keep changing), then formatted and written on a worker thread by
  :func:`write_atomically`: into a temporary file beside the destination,
  renamed over it at the end, so a failure leaves any earlier file as it
  was.  :attr:`Exporter.finished` (queued to the GUI thread) carries an
  :class:`ExportResult` whose ``message`` the panel shows; nothing raises.

The folder of the last file written is kept in QSettings
(:func:`khgui.common.files.remember_dir`), where the next Save dialog starts.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TextIO

from PySide6.QtCore import QAbstractItemModel, QObject, Qt, Signal

#: Folders of special file systems: nothing is ever exported there.
SPECIAL_ROOTS = ("/proc", "/sys", "/dev")
#: A table model's cell as exported, when it differs from what it shows (e.g. a whole id).
EXPORT_ROLE = Qt.ItemDataRole.UserRole + 64


class ExportError(Exception):
    """The file could not be written; the text says why, in one line."""


@dataclass(frozen=True)
class ExportResult:
    """How an export ended: ``count`` items written to ``path``, or ``error`` (one line)."""

    path: str
    what: str
    count: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def message(self) -> str:
        if self.error:
            return f"could not export {self.what} to {self.path}: {self.error}"
        return f"Exported {self.count:,} {self.what} to {self.path}."


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _special_root(target: Path) -> str:
    """The special-file root (/proc, /sys, /dev) ``target`` lies in, as given or resolved; "" if none."""
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        resolved = target
    for where in (target, resolved):
        for root in SPECIAL_ROOTS:
            if where == Path(root) or Path(root) in where.parents:
                return root
    return ""


def check_source(path: str | os.PathLike[str]) -> str:
    """"" when ``path`` is a regular file outside /proc, /sys and /dev, else why not (one line).
    Never blocks: opening a FIFO to read it would wait for a writer for ever."""
    target = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    root = _special_root(target)
    if root:
        return f"{root} holds the system's special files, not captures: choose another file"
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return ""  # missing or unreadable: the reader says so in its own words
    if not stat.S_ISREG(mode):
        return f"it is {_kind(mode)}, not a file"
    return ""


def check_destination(path: str | os.PathLike[str]) -> str:
    """"" when ``path`` may be written, else why not (one line, saying what to do).  Never blocks."""
    text = os.fspath(path)
    if not text.strip():
        return "no file name given"
    target = Path(os.path.abspath(os.path.expanduser(text)))
    root = _special_root(target)
    if root:
        return f"{root} holds the system's special files, not documents: choose another folder"
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return f"{(exc.strerror or type(exc).__name__).lower()}; choose another file"
    if mode is not None and not stat.S_ISREG(mode):
        return f"it is {_kind(mode)}, not a file that can be replaced; choose another name"
    parent = target.parent
    if not parent.is_dir():
        return f"the folder {parent} does not exist; choose another folder"
    return ""


def write_atomically(path: str | os.PathLike[str], write: Callable[[TextIO], int]) -> int:
    """Run ``write(out)`` on a temporary file beside ``path``, then rename it over ``path``; ``write``'s count.

    ExportError (one line) when the destination is refused (:func:`check_destination`)
    or the writing fails; an earlier file at ``path`` is then left as it was.
    """
    problem = check_destination(path)
    if problem:
        raise ExportError(problem)
    target = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            count = write(out)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        why = (exc.strerror or type(exc).__name__).lower()
        raise ExportError(f"{why}; choose a folder you can write to") from exc
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return count


def table_snapshot(model: QAbstractItemModel) -> tuple[list[str], list[list[str]]]:
    """A table model's header and rows as text, in the order shown (a sort/filter proxy's):
    each cell's :data:`EXPORT_ROLE` when the model gives one, else what it displays."""
    columns = model.columnCount()
    header = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(columns)]
    rows: list[list[str]] = []
    for r in range(model.rowCount()):
        row = []
        for c in range(columns):
            index = model.index(r, c)
            value = model.data(index, EXPORT_ROLE)
            if value is None:
                value = model.data(index, Qt.ItemDataRole.DisplayRole)
            row.append("" if value is None else str(value))
        rows.append(row)
    return header, rows


def csv_writer(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Callable[[TextIO], int]:
    """A ``write`` for :meth:`Exporter.export`: ``header`` then ``rows`` as CSV; counts the rows."""
    def write(out: TextIO) -> int:
        writer = csv.writer(out)
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    return write


def jsonl_writer(records: Iterable[Any]) -> Callable[[TextIO], int]:
    """A ``write`` for :meth:`Exporter.export`: one JSON object a line; counts them."""
    def write(out: TextIO) -> int:
        count = 0
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
        return count
    return write


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Exporter(QObject):
    """Writes exports on one worker thread, one at a time; results come back on the GUI thread.

    Each panel that exports owns one (its thread is started on the first export).

    Signals:
        finished(object): the :class:`ExportResult` of an export (refused ones too).
    """

    finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="khgui-export")
        pool = self._pool
        self.destroyed.connect(lambda *_: pool.shutdown(wait=False))  # its panel went: the worker ends
        self._busy = threading.Event()
        self.last: ExportResult | None = None
        self.finished.connect(self._remember)

    @property
    def busy(self) -> bool:
        """Whether an export is being written."""
        return self._busy.is_set()

    def export(self, path: str, what: str, write: Callable[[TextIO], int]) -> bool:
        """Write ``what`` to ``path`` with ``write`` (run on the worker: it must only use data
        it was given, not live models); False when refused at once (finished is emitted too)."""
        problem = check_destination(path)
        if not problem and self.busy:
            problem = "another export is being written; try again when it is done"
        if problem:
            self.finished.emit(ExportResult(path, what, error=problem))
            return False
        self._busy.set()
        self._pool.submit(self._run, path, what, write)
        return True

    def _run(self, path: str, what: str, write: Callable[[TextIO], int]) -> None:
        try:
            result = ExportResult(path, what, count=write_atomically(path, write))
        except ExportError as exc:
            result = ExportResult(path, what, error=str(exc))
        except Exception as exc:  # a formatting bug: still a message, never a dead worker
            result = ExportResult(path, what, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._busy.clear()
        self.finished.emit(result)  # queued to the GUI thread (this object lives there)

    def _remember(self, result: ExportResult) -> None:
        self.last = result

    def shutdown(self) -> None:
        """Finish the export being written, then stop the worker."""
        self._pool.shutdown(wait=True)
