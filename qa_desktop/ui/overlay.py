"""What the content views paint over the picture: a message in place of it, the badge in
the corner that says whether the content is protected, and the red frame of a reveal."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from ..core.api import (
    Region,
)

REVEALED_BADGE = QColor(200, 50, 40, 230)
PROTECTED_BADGE = QColor(20, 20, 20, 200)
REGION_COLOUR = QColor(230, 160, 40)
"""The outline of a revealed region, and (dashed) of one being drawn."""


def paint_message(painter: QPainter, rect: QRect, text: str, colour: QColor) -> None:
    """``text`` centred and wrapped in ``rect``, a little larger than the base font."""
    painter.setPen(colour)
    font = QFont(painter.font())
    font.setPointSizeF(font.pointSizeF() * 1.3)
    painter.setFont(font)
    painter.drawText(
        rect.adjusted(24, 24, -24, -24),
        Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
        text,
    )


def paint_reveal_frame(painter: QPainter, rect: QRect) -> None:
    """The red frame around content that is shown unblurred."""
    painter.setPen(QPen(QColor(230, 70, 60), 6))
    painter.drawRect(rect.adjusted(3, 3, -3, -3))


def paint_badge(painter: QPainter, text: str, background: QColor) -> None:
    """``text`` in bold white on ``background``, in the top-left corner."""
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    room = painter.device().width() - 48  # a narrow view shortens the text, never clips it
    text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(room, 40))
    box = QRectF(12, 12, metrics.horizontalAdvance(text) + 24, metrics.height() + 12)
    painter.fillRect(box, background)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def region_box(target: QRectF, region: Region) -> QRectF:
    """Where a region (fractions of the picture) lies in widget coordinates."""
    x, y, w, h = region
    return QRectF(
        target.x() + x * target.width(),
        target.y() + y * target.height(),
        w * target.width(),
        h * target.height(),
    )


def region_between(a: QPointF, b: QPointF, target: QRectF) -> Region | None:
    """The region (fractions of the picture at ``target``) a drag from a to b covers;
    None when it is too small or misses the picture."""
    box = QRectF(a, b).normalized().intersected(target)
    if box.width() < 4 or box.height() < 4 or target.width() <= 0:
        return None
    return (
        (box.x() - target.x()) / target.width(),
        (box.y() - target.y()) / target.height(),
        box.width() / target.width(),
        box.height() / target.height(),
    )


def paint_drag_outline(painter: QPainter, rect: QRectF) -> None:
    """The dashed outline of a region being drawn with Shift+drag."""
    painter.setPen(QPen(REGION_COLOUR, 2, Qt.PenStyle.DashLine))
    painter.drawRect(rect)
