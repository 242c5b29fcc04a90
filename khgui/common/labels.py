"""Labels that never widen their layout: :class:`ElidedLabel` and :func:`fit_width`.

A form's hint line may be longer than its dock is wide (a magnet link's
display name, a key file's path).  A plain QLabel asks for its whole text's
width, so the form grows and its dock scrolls sideways; word wrap helps only
where there are spaces.  :class:`ElidedLabel` asks for no width at all, draws
its text elided in the middle to the width it gets, and keeps the whole
text in its tooltip.  Colours come from the palette, so the style sheet's
``state`` colours (``set_state``) still apply.  :func:`fit_width` makes a
word-wrapped label (a message of several lines) ask for no width either:
a word longer than the line is cut rather than widening the form.
:func:`fit_placeholder` is the other way round for a line edit: it never
gets narrower than its placeholder, which would be cut ("peer contai…").
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QLabel, QLineEdit, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """One line of text, elided to the label's width; the full text in the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def shown_text(self) -> str:
        """The text as drawn at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, max(0, self.width()))

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        painter = QPainter(self)
        rect = self.contentsRect()
        self.style().drawItemText(painter, rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                                  self.palette(), self.isEnabled(), self.shown_text(),
                                  QPalette.ColorRole.WindowText)
        painter.end()


class WrappedLabel(QLabel):
    """A word-wrapped label as tall as its text needs at the width it has (a wrapped
    QLabel's size hint assumes a narrow width: a one-line message took three lines' height)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)

    def _height(self) -> int:
        if not self.text():
            return 0
        width = self.width() if self.width() > 50 else 400
        return max(self.fontMetrics().height(), self.heightForWidth(width))

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(0, self._height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, self._height())

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        # Its size hint says its height; a height-for-width item would make a scroll area
        # give the whole panel its preferred height (and scroll) rather than the dock's.
        return False

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # another width, maybe another number of lines


def fit_width(label: QLabel) -> QLabel:
    """Word-wrap ``label`` and let it ask for no width (see the module docstring)."""
    label.setWordWrap(True)
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)  # as many lines as the width it gets needs, not its narrow size hint's
    label.setSizePolicy(policy)
    label.setMinimumWidth(0)
    return label


class _PlaceholderWidth(QObject):
    """Keeps a line edit's minimum width at its placeholder's, in the font it is drawn with
    (the style sheet's, known only once the edit is polished)."""

    def __init__(self, edit: QLineEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        edit.installEventFilter(self)
        self.fit()

    def fit(self) -> None:
        edit = self.edit
        margins = edit.textMargins().left() + edit.textMargins().right()
        room = 40 if edit.isClearButtonEnabled() else 20  # the frame's padding, the clear button
        edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + margins + room)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() in (QEvent.Type.Polish, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fit()
        return False


def fit_placeholder(edit: QLineEdit) -> QLineEdit:
    """Let ``edit`` never be narrower than its placeholder text (with room for the clear button)."""
    _PlaceholderWidth(edit)
    return edit


def placeholder_fits(edit: QLineEdit) -> bool:
    """Whether ``edit``'s placeholder is drawn whole at its current width (for tests)."""
    return edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + 16 <= edit.width()
