"""Exports: written off the GUI thread through one helper; special files refused at once with a message.

The refusals run in a subprocess (a real app process, offscreen): if writing
to a FIFO or into /proc blocked the GUI thread, the process would hang and
the subprocess's timeout would fail the test rather than hang the suite.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from khgui.common.export import Exporter, check_destination, table_snapshot, write_atomically
from khgui.common.files import remember_dir, start_dir, start_path

SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from dht.events import DatagramSent
    from khgui.bridge import EventBridge
    from khgui.controller import NetworkController
    from khgui.traffic.panel import TrafficPanel

    app = QApplication([])
    bridge = EventBridge(interval_ms=10_000)
    panel = TrafficPanel(NetworkController(bridge), bridge)
    bridge.push_many([DatagramSent(1.0, ("127.0.0.2", 4000), "q", "ping", b"aa", 40,
                                   {b"t": b"aa", b"y": b"q", b"q": b"ping", b"a": {b"id": b"x" * 20}})])
    bridge.flush()
    for path in sys.argv[1:]:
        loop = QEventLoop()
        results = []
        def done(result):
            results.append(result)
            loop.quit()
        panel.exporter.finished.connect(done)
        started = panel.export_in_background(path)
        if not results:
            QTimer.singleShot(20_000, loop.quit)
            loop.exec()
        panel.exporter.finished.disconnect(done)
        print(f"{path}\\t{started}\\t{results[0].message if results else 'NO ANSWER'}", flush=True)
    panel.exporter.shutdown()
""")


def run_exports(tmp_path: Path, *paths: str) -> dict[str, tuple[str, str]]:
    script = tmp_path / "export_script.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), *paths], capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = {}
    for line in proc.stdout.splitlines():
        path, started, message = line.split("\t")
        out[path] = (started, message)
    return out


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.isdir("/proc"), reason="needs FIFOs and /proc")
def test_exports_to_proc_or_a_fifo_return_at_once_with_a_message(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    good = tmp_path / "traffic.jsonl"
    results = run_exports(tmp_path, "/proc", "/proc/self/status", str(fifo), "/dev/null", str(good))
    assert results["/proc"] == ("False", "could not export messages to /proc: /proc holds the system's special "
                                         "files, not documents: choose another folder")
    assert results["/proc/self/status"][0] == "False" and "/proc holds" in results["/proc/self/status"][1]
    assert results[str(fifo)] == ("False", f"could not export messages to {fifo}: it is a FIFO (named pipe), "
                                           f"not a file that can be replaced; choose another name")
    assert results["/dev/null"][0] == "False" and "/dev holds" in results["/dev/null"][1]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # left as it was
    assert results[str(good)] == ("True", f"Exported 1 messages to {good}.")
    assert '"method":"ping"' in good.read_text()


def test_writing_fails_cleanly_and_keeps_the_earlier_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("earlier\n")

    def broken(out: Any) -> int:
        out.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(Exception, match="no space left on device; choose a folder you can write to"):
        write_atomically(target, broken)
    assert target.read_text() == "earlier\n" and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert check_destination(tmp_path).startswith("it is a folder")
    assert check_destination(tmp_path / "missing" / "x.csv").startswith("the folder ")
    assert check_destination(target) == ""


def test_exporter_writes_on_its_worker_thread(qtbot: Any, tmp_path: Path) -> None:
    import threading

    exporter = Exporter()
    threads: list[str] = []

    def write(out: Any) -> int:
        threads.append(threading.current_thread().name)
        out.write("a,b\n")
        return 1

    with qtbot.waitSignal(exporter.finished, timeout=5000) as done:
        assert exporter.export(str(tmp_path / "x.csv"), "rows", write)
    assert done.args[0].ok and done.args[0].count == 1
    assert threads and threads[0].startswith("khgui-export") and threads[0] != threading.main_thread().name
    exporter.shutdown()


def test_dialogs_start_in_the_folder_last_used(tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = start_dir(settings, "capture")
    assert os.path.isdir(first) and first != os.getcwd() or first == str(Path.home())
    folder = tmp_path / "captures"
    folder.mkdir()
    remember_dir(settings, "capture", str(folder / "khashmir.pcapng"))  # Record wrote there
    assert start_dir(settings, "capture") == str(folder)  # Open capture starts there
    assert start_path(settings, "capture", "x.pcapng") == str(folder / "x.pcapng")
    assert start_dir(settings, "export") == first  # each kind has its own
    folder.rmdir()
    assert start_dir(settings, "capture") == first  # a folder gone: the default again


def test_table_snapshot_exports_what_is_shown(qtbot: Any) -> None:
    from PySide6.QtCore import QSortFilterProxyModel
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    model = QStandardItemModel()
    model.setHorizontalHeaderLabels(["id", "n"])
    for text, n in (("b", "2"), ("a", "1"), ("c", "3")):
        model.appendRow([QStandardItem(text), QStandardItem(n)])
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setFilterFixedString("c")
    proxy.setFilterKeyColumn(0)
    assert table_snapshot(proxy) == (["id", "n"], [["c", "3"]])
    proxy.setFilterFixedString("")
    proxy.sort(0)
    assert table_snapshot(proxy)[1] == [["a", "1"], ["b", "2"], ["c", "3"]]


DIALOG_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QWidget
    from khgui.common.files import save_dialog

    app = QApplication([])
    parent = QWidget()
    settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
    dialog = save_dialog(parent, settings, "export", "Export", "x.csv", "CSV files (*.csv)", "csv", print)
    def typed():
        dialog.selectFile(sys.argv[1])  # Qt's own icon provider reads the file here
        print("not blocked", flush=True)
        app.quit()
    QTimer.singleShot(100, typed)
    app.exec()
""")


@pytest.mark.skipif(not os.access("/proc/kmsg", os.R_OK), reason="needs a readable /proc/kmsg (root)")
def test_typing_proc_kmsg_in_the_save_dialog_does_not_block(tmp_path: Path) -> None:
    """Qt's own icon provider sniffs the file's content: a read of /proc/kmsg that never returns."""
    script = tmp_path / "dialog_script.py"
    script.write_text(DIALOG_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), "/proc/kmsg", str(tmp_path / "s.ini")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "not blocked" in proc.stdout, proc.stderr[-2000:]
