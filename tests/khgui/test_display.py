"""When Qt cannot start its platform plugin or reach the display: one line, exit 2;
when the display goes away while the app runs: one line, exit 1."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QtMsgType

from khgui.display import PACKAGES, PlatformGuard, install_hint, missing_libraries, not_found

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
"""
QT_FAILED = ('Could not load the Qt platform plugin "xcb" in "" even though it was found.',
             "This application failed to start because no Qt platform plugin could be initialized.")


def guard(missing: list[str]) -> tuple[PlatformGuard, io.StringIO, list[int]]:
    out, codes = io.StringIO(), []
    return PlatformGuard(find_missing=lambda platform: missing, exit=codes.append, out=out), out, codes


def test_ldd_not_found_entries_once_each() -> None:
    assert not_found(LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert not_found("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_install_hint_names_debian_and_fedora_packages() -> None:
    hint = install_hint(["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"])
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 (Debian/Ubuntu)" in hint
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms xcb-util-cursor (Fedora)" in hint
    assert install_hint(["libxcb-randr.so.0", "libxcb-shape.so.0"]).count("libxcb ") == 1  # one Fedora package


def test_missing_libraries_reads_the_plugin_and_runtime_libraries() -> None:
    asked: list[list[str]] = []

    def ldd(args: list[str]) -> str:
        asked.append(args)
        return LDD

    missing = missing_libraries("xcb", run=ldd, loadable=lambda name: name != "libxcb-cursor.so.0")
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"]
    assert asked and asked[0][0].endswith("platforms/libqxcb.so")  # the real plugin file was inspected
    assert missing_libraries("xcb", run=lambda args: "", loadable=lambda name: True) == []


def test_fatal_platform_message_is_one_line_with_packages_and_exit_2() -> None:
    g, out, codes = guard(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    g.handler(QtMsgType.QtInfoMsg, None, QT_FAILED[0])
    g.handler(QtMsgType.QtFatalMsg, None, QT_FAILED[1])
    line = out.getvalue()
    assert codes == [2] and line.count("\n") == 1
    assert line.startswith("khgui: Qt cannot load its xcb platform plugin: missing libxcb-icccm.so.4, ")
    assert "apt-get install libxcb-icccm4 libxcb-keysyms1" in line and "dnf install xcb-util-wm" in line


def test_unreachable_display_is_named() -> None:
    g, out, codes = guard([])
    g.handler(QtMsgType.QtWarningMsg, None, "could not connect to display :77")
    g.handler(QtMsgType.QtFatalMsg, None, QT_FAILED[1])
    assert codes == [2] and "no X display answers at DISPLAY=:77" in out.getvalue()
    assert out.getvalue().count("\n") == 1


def test_other_messages_pass_and_later_fatals_are_not_blamed_on_the_platform() -> None:
    g, out, codes = guard(["libxcb-icccm.so.4"])
    g.handler(QtMsgType.QtWarningMsg, None, "something harmless")
    assert codes == [] and out.getvalue() == ""
    g.started = True
    g.handler(QtMsgType.QtFatalMsg, None, "ASSERT failure in somewhere\nmore")
    assert codes == [2] and out.getvalue() == "khgui: Qt: ASSERT failure in somewhere\n"


def test_every_readme_package_is_listed() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## System packages", 1)[1].split("\n## ", 1)[0]
    for soname in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0"):
        debian, fedora = PACKAGES[soname]
        assert debian in section and fedora in section


def _free_display() -> str:
    for n in range(60, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return f":{n}"
    pytest.skip("no unused X display number")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")
def test_app_on_a_display_that_does_not_exist_exits_2_with_one_line(tmp_path: Path) -> None:
    display = _free_display()
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    result = subprocess.run([sys.executable, "-m", "khgui", "--lab", "0", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    missing = missing_libraries("xcb")
    if missing:  # this machine lacks the plugin's libraries: they are what the line names
        assert all(name in lines[0] for name in missing) and "apt-get install" in lines[0]
    else:
        assert f"no X display answers at DISPLAY={display}" in lines[0]


def _xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb of our own on a display number it chooses (``-displayfd``): (process, ":N")."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()  # written once the server accepts connections
    if not number:
        proc.kill()
        proc.wait()
        pytest.skip("Xvfb did not start")
    return proc, f":{number}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")
def test_display_going_away_while_running_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    if missing_libraries("xcb"):
        pytest.skip(f"Qt's xcb plugin cannot load here: missing {', '.join(missing_libraries('xcb'))}")
    server, display = _xvfb()
    data_dir = tmp_path / "node"
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    app = subprocess.Popen([sys.executable, "-m", "khgui", "--lab", "4", "--data-dir", str(data_dir)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # the window is shown before our node starts: its database means both are up
        deadline = time.monotonic() + 60
        while not (data_dir / "khashmir.db").exists():
            assert app.poll() is None, app.communicate()[1]
            assert time.monotonic() < deadline, "our node did not start within 60 s"
            time.sleep(0.05)
        server.terminate()  # the display goes away
        server.wait(timeout=30)
        _, err = app.communicate(timeout=60)
    finally:
        for proc in (app, server):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert app.returncode == 1, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"khgui: the display went away (DISPLAY={display}): ") and lines[0].endswith(
        "the window, our node and the lab stopped"), err
