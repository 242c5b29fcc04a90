"""BEP 51 sampling at a polite rate: one ``sample_infohashes`` walk every so often.

:class:`Sampler` runs a walk from our node (``await node.sample_infohashes``,
towards a random target) every :attr:`interval` seconds while it is on,
never two at once, and hands each result, with the network-size estimate
from the id density of the closest nodes that answered
(``dht.estimate_network_size``), to whoever listens to :attr:`walked`.
``dht`` itself honours each node's ``interval`` (a node asked again too soon
is skipped), so a short interval here costs fewer queries than it seems;
the default, :data:`DEFAULT_INTERVAL` seconds, is low on purpose.  The
interval and whether sampling is on are kept in QSettings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from ..failures import describe_error

log = logging.getLogger(__name__)

#: Seconds between two walks, by default, and the bounds of the setting.
DEFAULT_INTERVAL = 30
MIN_INTERVAL = 5
MAX_INTERVAL = 3600
#: Nodes that must answer a walk for its network-size estimate.
MIN_IDS = 3
#: Info-hashes asked of each walk.
SAMPLE_COUNT = 20
INTERVAL_KEY = "samples/interval"
ENABLED_KEY = "samples/enabled"


@dataclass(frozen=True)
class Walk:
    """One finished walk: what ``sample_infohashes`` returned and its size estimate."""

    sampling: Any  # dht.Sampling
    estimate: int  # 0: too few nodes answered to estimate
    error: float  # relative standard error of the estimate


class SamplerSettingError(ValueError):
    """A sampling interval out of range; the text says which range."""


class Sampler(QObject):
    """Walks of BEP 51 sampling from the controller's node, one every :attr:`interval` seconds.

    Signals:
        walked(object): a :class:`Walk` finished.
        failed(str): a walk failed (one line: no node answered, a timeout, ...).
        running_changed(bool): a walk started or ended.
    """

    walked = Signal(object)
    failed = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, controller: Any, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._settings = settings
        self._task: asyncio.Task[Any] | None = None
        self.walks = 0
        interval = DEFAULT_INTERVAL
        enabled = True
        if settings is not None:
            interval = _int(settings.value(INTERVAL_KEY, DEFAULT_INTERVAL), DEFAULT_INTERVAL)
            enabled = str(settings.value(ENABLED_KEY, "true")).lower() in ("true", "1")
        self._interval = min(MAX_INTERVAL, max(MIN_INTERVAL, interval))
        self._timer = QTimer(self)
        self._timer.setInterval(self._interval * 1000)
        self._timer.timeout.connect(self.walk_now)
        if enabled:
            self._timer.start()

    @property
    def interval(self) -> int:
        return self._interval

    @property
    def enabled(self) -> bool:
        return self._timer.isActive()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def set_interval(self, seconds: int) -> None:
        """Seconds between walks, MIN_INTERVAL to MAX_INTERVAL; SamplerSettingError otherwise."""
        if not MIN_INTERVAL <= int(seconds) <= MAX_INTERVAL:
            raise SamplerSettingError(f"the sampling interval must be {MIN_INTERVAL} to {MAX_INTERVAL} s, "
                                      f"not {seconds}")
        self._interval = int(seconds)
        self._timer.setInterval(self._interval * 1000)
        if self._settings is not None:
            self._settings.setValue(INTERVAL_KEY, self._interval)

    def set_enabled(self, on: bool) -> None:
        if on and not self._timer.isActive():
            self._timer.start()
        elif not on:
            self._timer.stop()
        if self._settings is not None:
            self._settings.setValue(ENABLED_KEY, "true" if on else "false")

    def walk_now(self) -> bool:
        """Start a walk unless one runs or our node is not joined; whether one started."""
        node = self._controller.node
        if self.running or node is None or not self._controller.joined or not node.running:
            return False
        self._task = self._controller.spawn(self.walk(node))
        return True

    async def walk(self, node: Any) -> Walk | None:
        """One walk from ``node``; the Walk (also emitted), or None after emitting :attr:`failed`."""
        from dht import estimate_network_size

        self.running_changed.emit(True)
        try:
            sampling = await node.sample_infohashes(count=SAMPLE_COUNT)
            ids = [c.id for c in sampling.closest]
            # fewer answers than K: the estimate from those there are (its error says how rough)
            k = min(int(node.config.K), len(ids))
            estimate, error = estimate_network_size(sampling.target, ids, k) if k >= MIN_IDS else (0, 0.0)
        except Exception as exc:
            if not _expected(exc):
                raise
            self.failed.emit(f"sampling failed: {describe_error(exc)}")
            return None
        finally:
            self.running_changed.emit(False)
        walk = Walk(sampling, int(estimate), float(error))
        self.walks += 1
        self.walked.emit(walk)
        return walk

    def stop(self) -> None:
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _expected(exc: BaseException) -> bool:
    from dht.errors import DHTError

    return isinstance(exc, (DHTError, OSError, asyncio.TimeoutError))
