"""Whether a panel is on screen, and telling a panel when its dock's tab comes to the front.

Qt keeps the docks tabbed behind another "visible": it moves them out of the
window instead of hiding them, so ``isVisible()`` is true and ``showEvent``
never comes when their tab is selected.  A panel that skips work while no one
sees it (a plot redrawn each second, the network map's overview of every lab
node) asks :func:`on_screen`, and catches up in its ``on_shown()``, which
:func:`notify_when_shown` calls when the dock's tab is selected (the dock's
``visibilityChanged``), as its ``showEvent`` does when it is shown.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QDockWidget, QWidget


class ShownAware(Protocol):
    def on_shown(self) -> None:
        """Catch up with what was skipped while the panel was off screen."""


def on_screen(widget: QWidget) -> bool:
    """True when part of ``widget`` is on screen: shown, and not in a dock tabbed behind another."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def notify_when_shown(dock: QDockWidget, panel: QWidget) -> None:
    """Call ``panel.on_shown()`` (if it has one) each time ``dock`` comes to the front."""
    on_shown = getattr(panel, "on_shown", None)
    if on_shown is not None:
        dock.visibilityChanged.connect(lambda visible: on_shown() if visible else None)
