"""Light and dark themes: one set of colours for the style sheet, the palette,
the custom-painted views and the pyqtgraph plots.

:class:`ThemeManager` holds the chosen mode -- ``system`` (follow the
desktop's colour scheme, ``QStyleHints.colorScheme()``, and its changes),
``light`` or ``dark`` -- and applies it to the application: the Fusion
style with a matching :class:`QPalette`, the style sheet
``resources/style/theme.qss`` with the theme's colours substituted
(``$text``, ``$base``, ...), and every pyqtgraph plot (background, axes,
titles, legends).  Views that paint themselves read :func:`colors` when
they paint and repaint on :attr:`ThemeManager.changed`.
"""

from __future__ import annotations

import dataclasses
import logging
import string
from dataclasses import dataclass, field
from typing import Any, Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from ..resources import stylesheet

log = logging.getLogger(__name__)
MODES = ("system", "light", "dark")


@dataclass(frozen=True)
class Colors:
    """The colours of one theme (``#rrggbb``)."""

    name: str
    window: str
    base: str
    alt_base: str
    panel: str  # dock titles, headers, tabs
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    heading: str  # summary lines
    hover: str
    select: str
    select_text: str
    disabled: str
    own: str  # our bucket's row
    off_cell: str  # a bit cell off our id's path
    bar_bg: str
    bar_full: str
    bar_part: str
    ok: str
    error: str
    warn: str
    banner: str
    banner_text: str
    notice: str
    notice_text: str
    plot_bg: str
    plot_fg: str
    legend_bg: str
    status: dict[str, str] = field(default_factory=dict)  # traffic and lookup outcomes

    def subs(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if isinstance(v, str)}

    def qcolor(self, name: str) -> QColor:
        return QColor(getattr(self, name))

    def qcolor_of(self, state: str) -> QColor:
        """The colour of a traffic status or lookup outcome."""
        return QColor(self.status.get(state, self.text))


LIGHT = Colors(
    name="light", window="#f4f6fa", base="#ffffff", alt_base="#f8fafc", panel="#e8edf5", text="#1f2937",
    muted="#64748b", border="#d5dce8", accent="#2563eb", accent_text="#ffffff", heading="#1e3a8a", hover="#e0ecff",
    select="#dbeafe", select_text="#1e3a8a", disabled="#cbd5e1", own="#eff6ff", off_cell="#cbd5e1",
    bar_bg="#e2e8f0", bar_full="#1d4ed8", bar_part="#60a5fa", ok="#15803d", error="#b91c1c", warn="#b45309",
    banner="#fee2e2", banner_text="#7f1d1d", notice="#fff3e0", notice_text="#6d4c41",
    plot_bg="#ffffff", plot_fg="#334155", legend_bg="#ffffffd2",
    status={"ok": "#2e7d32", "error": "#c62828", "timeout": "#ef6c00", "pending": "#757575",
            "dropped": "#6a1b9a", "queried": "#757575", "answered": "#1e88e5", "values": "#2e7d32",
            "stored": "#00897b", "refused": "#8e24aa", "unawaited": "#78909c",
            "slow": "#a16207"},
)
DARK = Colors(
    name="dark", window="#1b1f24", base="#22272e", alt_base="#272d35", panel="#2d333b", text="#e6edf3",
    muted="#9aa7b4", border="#444c56", accent="#2563eb", accent_text="#ffffff", heading="#93c5fd", hover="#334155",
    select="#1e3a5f", select_text="#e6edf3", disabled="#444c56", own="#1f2d3d", off_cell="#4b5563",
    bar_bg="#373e47", bar_full="#3b82f6", bar_part="#60a5fa", ok="#4ade80", error="#f87171", warn="#fbbf24",
    banner="#4c1d1d", banner_text="#fecaca", notice="#3d2f1f", notice_text="#fcd9b6",
    plot_bg="#22272e", plot_fg="#c9d1d9", legend_bg="#22272ed2",
    status={"ok": "#4ade80", "error": "#f87171", "timeout": "#fb923c", "pending": "#9ca3af",
            "dropped": "#c084fc", "queried": "#9ca3af", "answered": "#60a5fa", "values": "#4ade80",
            "stored": "#2dd4bf", "refused": "#e879f9", "unawaited": "#6b7280",
            "slow": "#facc15"},
)
THEMES = {"light": LIGHT, "dark": DARK}
_current: list[Colors] = [LIGHT]


def colors() -> Colors:
    """The colours in use now."""
    return _current[0]


def status_color(state: str) -> QColor:
    """The colour of a traffic status or lookup outcome in the current theme."""
    return colors().qcolor_of(state)


def system_scheme() -> str:
    """``dark`` or ``light``: the desktop's colour scheme (light when unknown)."""
    hints = QGuiApplication.styleHints()
    return "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"


def render_stylesheet(c: Colors) -> str:
    """``style/theme.qss`` with the theme's colours substituted."""
    return string.Template(stylesheet("theme")).safe_substitute(c.subs())


def palette(c: Colors) -> QPalette:
    p = QPalette()
    R = QPalette.ColorRole
    for role, value in ((R.Window, c.window), (R.WindowText, c.text), (R.Base, c.base),
                        (R.AlternateBase, c.alt_base), (R.Text, c.text), (R.Button, c.panel),
                        (R.ButtonText, c.text), (R.Highlight, c.accent), (R.HighlightedText, c.accent_text),
                        (R.ToolTipBase, c.panel), (R.ToolTipText, c.text), (R.PlaceholderText, c.muted),
                        (R.Mid, c.muted), (R.Dark, c.border), (R.Light, c.base), (R.Link, c.accent)):
        p.setColor(role, QColor(value))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return p


def style_plots(root: QWidget, c: Colors) -> int:
    """Theme every pyqtgraph view under ``root`` (and ``root`` itself); returns how many."""
    views = [root] if isinstance(root, pg.GraphicsView) else []
    views += root.findChildren(pg.GraphicsView)
    for view in views:
        view.setBackground(c.plot_bg)
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem):
                _style_plot_item(item, c)
            elif isinstance(item, pg.LegendItem):
                _style_legend(item, c)
    return len(views)


#: Tick levels each axis draws (and its grid lines, when the plot shows a grid): pyqtgraph's
#: default, 2, adds a third, finest level whose grid lines made about half of a plot's
#: paint time (14 against 8 ms for the look-up plot): the window stalled behind them.
MAX_TICK_LEVEL = 1


def _style_plot_item(item: pg.PlotItem, c: Colors) -> None:
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setStyle(maxTickLevel=MAX_TICK_LEVEL)
        axis.setPen(pg.mkPen(c.plot_fg))
        axis.setTextPen(pg.mkPen(c.plot_fg))
        if axis.label is not None:
            axis.labelStyle["color"] = c.plot_fg
            axis._updateLabel()
    title = item.titleLabel
    title.opts["color"] = c.plot_fg
    title.setText(title.text)


def _style_legend(legend: pg.LegendItem, c: Colors) -> None:
    legend.setBrush(pg.mkBrush(c.legend_bg))
    legend.setPen(pg.mkPen(c.border))
    legend.setLabelTextColor(c.plot_fg)
    # LegendItem.setLabelTextColor only records the colour in each label's
    # options; a LabelItem renders its colour when its text is set, so the
    # labels already shown would keep the old theme's colour.
    for _sample, label in legend.items:
        label.setText(label.text)


class ThemeManager(QObject):
    """The theme mode and its application to the running QApplication.

    Signals:
        changed(object): the :class:`Colors` now in use.
    """

    changed = Signal(object)

    def __init__(self, scheme: Callable[[], str] = system_scheme, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._scheme = scheme
        self.mode = "system"
        self.applied: Colors | None = None
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.system_changed)

    @property
    def colors(self) -> Colors:
        return colors()

    def resolve(self, mode: str) -> Colors:
        return THEMES[self._scheme() if mode == "system" else mode]

    def set_mode(self, mode: str) -> None:
        """Use ``mode`` (one of :data:`MODES`) from now on."""
        if mode not in MODES:
            raise ValueError(f"theme must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.apply()

    def system_changed(self, *args: Any) -> None:
        if self.mode == "system":
            self.apply()

    def apply(self) -> None:
        c = self.resolve(self.mode)
        _current[0] = c
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setStyle("Fusion")
            app.setPalette(palette(c))
            app.setStyleSheet(render_stylesheet(c))
            for widget in app.topLevelWidgets():
                style_plots(widget, c)
        self.applied = c
        self.changed.emit(c)


_manager: list[ThemeManager] = []


def manager() -> ThemeManager:
    """The application's theme manager (created on first use, after the QApplication)."""
    if not _manager:
        _manager.append(ThemeManager())
    return _manager[0]


def set_state(widget: QWidget, state: str) -> None:
    """Colour a label by meaning (``error``, ``ok``, ``warn``, ``hint`` or ``""``) through the style sheet."""
    if widget.property("state") != state:
        widget.setProperty("state", state)
        widget.style().unpolish(widget)
        widget.style().polish(widget)
