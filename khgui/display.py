"""Why Qt could not open a window, said in one line, and exit status 2.

Qt reports a platform plugin it cannot load (typically X11's ``xcb`` with
``libxcb-icccm4`` or ``libxcb-keysyms1`` missing, as on a fresh Debian or
Ubuntu image) or a display it cannot reach through its message handler, as
log lines followed by a fatal message, and then aborts (exit 134).
:class:`PlatformGuard` is installed as that handler before the
QApplication is created: it keeps the messages and, on the fatal one,
prints one line and ends the process with status 2.

The line names the shared libraries the plugin cannot find -- read from the
plugin's unresolved libraries (``ldd`` on ``platforms/libqxcb.so`` and its
``libQt6XcbQpa``, plus ``libxcb-cursor``, which Qt opens at run time) -- with
the packages that hold them and the install commands for Debian/Ubuntu (apt)
and Fedora (dnf).  A display that does not answer is named as such.  The
same code runs in the source app and in the PyInstaller bundle, whose
plugins are found through :class:`QLibraryInfo` as well.

A display that goes away while the app runs (the X server ends, the
session closes) makes Qt log that its connection broke and stop the event
loop under the running app.  The guard notes that message
(:attr:`PlatformGuard.display_lost`) so that ``main`` can say it in one
line (:meth:`PlatformGuard.lost_line`) instead of the traceback of an event
loop stopped before its work was done.  Xlib, which Qt's xcb plugin also
uses, may notice first: its default handler prints two lines of its own and
exits; :meth:`PlatformGuard.watch_xlib` replaces that handler with one that
says the same one line.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

#: soname: (Debian/Ubuntu package, Fedora package).
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
}
#: Libraries the xcb plugin opens at run time (not in its ELF dependencies).
RUNTIME_LIBRARIES = {"xcb": ("libxcb-cursor.so.0",)}
#: What the README asks for, the app from source and the bundle alike (X11).
X11_PACKAGES = tuple(PACKAGES[s] for s in (
    "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-cursor.so.0", "libxcb-image.so.0",
    "libxcb-render-util.so.0", "libxkbcommon-x11.so.0", "libEGL.so.1", "libfontconfig.so.1",
))

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)
_NO_DISPLAY = re.compile(r"could not connect to display\s*(\S*)", re.IGNORECASE)
_PLUGIN = re.compile(r'platform plugin "([^"]+)"')
#: What Qt's platform plugins log when the display's connection breaks under a running app.
_LOST = re.compile(r"X11 connection broke|connection to the display (was )?lost|Wayland connection broke"
                   r"|lost connection to wayland|compositor die", re.IGNORECASE)


def not_found(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` reports as "not found", once each, in order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def platform_name() -> str:
    """The platform plugin Qt will try first (QT_QPA_PLATFORM, else X11's xcb on Linux)."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if sys.platform.startswith("linux") and os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("DISPLAY"):
        return "wayland"
    return "xcb" if sys.platform.startswith("linux") else ""


def plugin_files(platform: str) -> list[Path]:
    """The plugin of ``platform`` and, for xcb, the Qt library it wraps."""
    found: list[Path] = []
    for plugins in _plugin_dirs():
        plugin = plugins / "platforms" / f"libq{platform}.so"
        if plugin.is_file():
            found.append(plugin)
            if platform == "xcb":
                qpa = sorted((plugins.parent / "lib").glob("libQt6XcbQpa.so*"))
                found += qpa[:1]
            break
    return found


def _plugin_dirs() -> list[Path]:
    import PySide6
    from PySide6.QtCore import QLibraryInfo

    dirs = [Path(p) for p in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    dirs.append(Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)))
    dirs.append(Path(PySide6.__file__).parent / "Qt" / "plugins")
    return dirs


def missing_libraries(platform: str, run: Callable[[list[str]], str] | None = None,
                      loadable: Callable[[str], bool] | None = None) -> list[str]:
    """Sonames the ``platform`` plugin needs and the system lacks."""
    run = run or _ldd
    loadable = loadable or _loadable
    missing: list[str] = []
    for path in plugin_files(platform):
        missing += not_found(run([str(path)]))
    missing += [s for s in RUNTIME_LIBRARIES.get(platform, ()) if not loadable(s)]
    return list(dict.fromkeys(missing))


def _ldd(args: list[str]) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:  # no ldd: the loader names the first missing library
        try:
            ctypes.CDLL(args[0])
        except OSError as exc:
            name = str(exc).split(":", 1)[0].strip()
            return f"\t{name} => not found\n" if name.startswith("lib") else ""
        return ""
    try:
        return subprocess.run([ldd, *args], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _loadable(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def install_hint(sonames: list[str]) -> str:
    """``sudo apt-get install ... (Debian/Ubuntu); sudo dnf install ... (Fedora)`` for ``sonames``."""
    debian = list(dict.fromkeys(PACKAGES.get(s, (s, s))[0] for s in sonames))
    fedora = list(dict.fromkeys(PACKAGES.get(s, (s, s))[1] for s in sonames))
    return (f"install with: sudo apt-get install {' '.join(debian)} (Debian/Ubuntu) "
            f"or sudo dnf install {' '.join(fedora)} (Fedora)")


@dataclass
class PlatformGuard:
    """Qt's message handler while the QApplication starts (and after).

    ``find_missing(platform)`` is :func:`missing_libraries` (replaceable in
    tests); ``exit`` ends the process (``os._exit``: Qt is about to abort).
    """

    prog: str = "khgui"
    find_missing: Callable[[str], list[str]] = missing_libraries
    exit: Callable[[int], Any] = os._exit
    out: Any = None
    messages: list[str] = field(default_factory=list)
    started: bool = False
    """True once the QApplication exists: later fatal messages are not about the platform."""
    display_lost: str = ""
    """Qt's message saying the display's connection broke while the app ran ("" if not)."""
    _xlib_handler: Any = field(default=None, repr=False)

    def handler(self, mode: Any, context: Any, message: str) -> None:
        from PySide6.QtCore import QtMsgType

        logging.getLogger("qt").info("%s", message)
        if self.started and not self.display_lost and _LOST.search(message):
            self.display_lost = _first_line(message).split(". ")[0]
        if mode != QtMsgType.QtFatalMsg:
            if not self.started:
                self.messages.append(message)
            return
        line = self.explain(message) if not self.started else f"{self.prog}: Qt: {_first_line(message)}"
        out = self.out or sys.stderr
        print(line, file=out)
        out.flush()
        self.exit(2)

    def explain(self, fatal: str) -> str:
        """The one line for a fatal message while the platform plugin starts."""
        seen = "\n".join([*self.messages, fatal])
        plugin = _PLUGIN.search(seen)
        platform = plugin.group(1) if plugin else platform_name()
        display = _NO_DISPLAY.search(seen)
        if display is not None:
            where = display.group(1).strip('"\'') or os.environ.get("DISPLAY", "") or "(unset)"
            return (f"{self.prog}: cannot open a window: no X display answers at DISPLAY={where}; "
                    f"start one or fix DISPLAY, or set QT_QPA_PLATFORM=offscreen to run headless")
        missing = self.find_missing(platform) if platform else []
        if missing:
            return (f"{self.prog}: Qt cannot load its {platform} platform plugin: missing "
                    f"{', '.join(missing)}; {install_hint(missing)}")
        return (f"{self.prog}: Qt cannot start its {platform or 'platform'} plugin "
                f"({_first_line(fatal)}); set QT_QPA_PLATFORM=offscreen to run headless, "
                f"or -v to see Qt's messages")


    def watch_xlib(self) -> bool:
        """Say the one line, then exit 1, when Xlib loses the X server (True if installed)."""
        if platform_name() != "xcb":
            return False
        try:
            xlib = ctypes.CDLL("libX11.so.6")
        except OSError:
            return False
        handler_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)

        def lost(_display: Any) -> int:
            if not self.display_lost:
                self.display_lost = "the X server closed the connection"
            print(self.lost_line(), file=self.out or sys.stderr, flush=True)
            self.exit(1)
            return 0  # not reached: Xlib would exit after a handler that returns

        self._xlib_handler = handler_type(lost)  # kept: Xlib holds a bare pointer to it
        xlib.XSetIOErrorHandler.argtypes = [handler_type]
        xlib.XSetIOErrorHandler(self._xlib_handler)
        return True

    def lost_line(self) -> str:
        """The one line for a display that went away while the app ran."""
        where = os.environ.get("WAYLAND_DISPLAY") if platform_name() == "wayland" else os.environ.get("DISPLAY")
        return (f"{self.prog}: the display went away{f' (DISPLAY={where})' if where else ''}: "
                f"{self.display_lost.rstrip('.')}; the window, our node and the lab stopped")


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else "no message"
