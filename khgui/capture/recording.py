"""Recording our node's traffic (or the whole lab's) to a pcapng file from the explorer.

:class:`CaptureRecorder` opens a :class:`dht.CaptureWriter` and attaches it
(``node.capture_to``) to our node and, when asked, to every lab node; nodes
that start later (our node after Join, lab nodes added or a resized lab)
are attached as the controller reports them.  Stopping detaches every node
still running and closes the file, which is complete after every packet
anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal

from dht import CaptureWriter

log = logging.getLogger(__name__)


class CaptureRecorder(QObject):
    """Records the controller's nodes into one capture.

    Signals:
        changed(bool): recording started (True) or stopped (False).
    """

    changed = Signal(bool)

    def __init__(self, controller: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.writer: CaptureWriter | None = None
        self.include_lab = False
        self._attached: list[Any] = []
        controller.node_changed.connect(self._attach_all)
        controller.lab_changed.connect(self._attach_all)

    @property
    def recording(self) -> bool:
        return self.writer is not None

    @property
    def path(self) -> str:
        return self.writer.path if self.writer is not None else ""

    @property
    def packets(self) -> int:
        return self.writer.packets if self.writer is not None else 0

    def start(self, path: str, include_lab: bool = False) -> None:
        """Record to ``path`` (LocalError when it cannot be written)."""
        self.stop()
        self.writer = CaptureWriter(path)
        self.include_lab = include_lab
        self._attach_all()
        self.changed.emit(True)

    def stop(self) -> None:
        writer, self.writer = self.writer, None
        if writer is None:
            return
        for node in self._attached:
            if node.running:
                node.capture_to(None)
        self._attached = []
        writer.close()
        self.changed.emit(False)

    def nodes(self) -> list[Any]:
        """The nodes being recorded now."""
        return [n for n in self._attached if n.running]

    def _attach_all(self, *_args: Any) -> None:
        writer = self.writer
        if writer is None:
            return
        wanted = [self.controller.node]
        lab = self.controller.lab
        if self.include_lab and lab is not None:
            wanted.extend(lab.nodes)
        self._attached = [n for n in self._attached if n.running]
        for node in wanted:
            if node is not None and node.running and all(node is not a for a in self._attached):
                node.capture_to(writer)
                self._attached.append(node)
