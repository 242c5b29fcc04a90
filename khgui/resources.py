"""The one place that finds Khashmir Explorer's resource files.

Icons (SVG), stylesheets and the ``.desktop`` file live in the repository's
``resources/`` directory; ``khgui/resources`` is a symlink to it, so
setuptools packages the files into the wheel as ``khgui/resources/...``.
:func:`resource_dir` looks, in order, at ``$KHGUI_RESOURCES``, a PyInstaller
bundle (``sys._MEIPASS``), the installed package and the source checkout.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

from PySide6.QtGui import QIcon

log = logging.getLogger(__name__)

_MARKER = Path("icons") / "app.svg"
APP_ICON = "app"


def _candidates() -> list[Path]:
    found: list[Path] = []
    env = os.environ.get("KHGUI_RESOURCES")
    if env:
        found.append(Path(env))
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found += [Path(bundle) / "khgui" / "resources", Path(bundle) / "resources"]
    here = Path(__file__).resolve().parent
    found += [here / "resources", here.parent / "resources"]
    return found


@functools.lru_cache(maxsize=1)
def resource_dir() -> Path:
    """The directory holding ``icons/``, ``style/`` and the desktop file."""
    for candidate in _candidates():
        if (candidate / _MARKER).is_file():
            return candidate
    raise FileNotFoundError(
        "Khashmir Explorer's resources were not found (looked in "
        + ", ".join(str(c) for c in _candidates()) + ")"
    )


def resource_path(*parts: str) -> Path:
    """The path of a resource file, e.g. ``resource_path("style", "theme.qss")``."""
    return resource_dir().joinpath(*parts)


def has_resources() -> bool:
    """Whether the resources can be found (the app runs without them, plainer)."""
    try:
        resource_dir()
    except FileNotFoundError:
        return False
    return True


_icons: dict[str, QIcon] = {}


def icon(name: str) -> QIcon:
    """The icon ``icons/<name>.svg`` (an empty icon when missing)."""
    cached = _icons.get(name)
    if cached is not None:
        return cached
    result = QIcon()
    try:
        path = resource_path("icons", f"{name}.svg")
    except FileNotFoundError:
        path = None
    if path is not None and path.is_file():
        result = QIcon(str(path))
    else:
        log.warning("icon %s not found", name)
    _icons[name] = result
    return result


def stylesheet(name: str = "theme") -> str:
    """The text of ``style/<name>.qss``, or "" when missing."""
    try:
        return resource_path("style", f"{name}.qss").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        log.warning("stylesheet %s not found", name)
        return ""


def desktop_file() -> Path:
    """The freedesktop ``.desktop`` file."""
    return resource_path("khashmir-explorer.desktop")
