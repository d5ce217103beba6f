"""The distribution of a revealed case's votes as bars, painted with QPainter.

Before the reveal the chart paints nothing that depends on the votes: only "n of m voted".
:func:`chart_bars` is the pure part (what bars to draw), tested without pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...core.api import CalibrationCaseState

BACKGROUND = QColor(11, 11, 15)
FOREGROUND = QColor(245, 245, 245)
BAR = QColor(77, 163, 255)
RULED_BAR = QColor(255, 204, 51)
TRACK = QColor(40, 40, 48)


@dataclass(frozen=True)
class Bar:
    """One bar of the chart: a label of the pack, its votes, whether the ruling chose it."""

    label: str
    votes: int
    ruled: bool


def chart_bars(state: CalibrationCaseState | None, labels: list[str]) -> list[Bar]:
    """The bars to draw: none before the reveal; after it one per label of the pack, in
    ``labels``' order (zero votes included), then any voted label the list lacks."""
    if state is None or state.revealed is None:
        return []
    counts = dict(state.revealed.distribution)
    ruled = state.ruling.label if state.ruling is not None else None
    order = list(dict.fromkeys([*labels, *counts]))
    return [Bar(label, counts.get(label, 0), label == ruled) for label in order]


class DistributionChart(QWidget):
    """Horizontal bars of a revealed case's votes per label; "n of m voted" before."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(120)
        self._state: CalibrationCaseState | None = None
        self._labels: list[str] = []
        self._font_px = 24

    @property
    def bars(self) -> list[Bar]:
        """The bars painted now (empty before the reveal)."""
        return chart_bars(self._state, self._labels)

    def set_state(self, state: CalibrationCaseState, labels: list[str]) -> None:
        """Show this case's state; ``labels`` are every label of the session's pack."""
        self._state = state
        self._labels = list(labels)
        self.update()

    def set_font_px(self, pixels: int) -> None:
        """The size of the chart's text, in pixels (the presenter scales it)."""
        self._font_px = max(8, pixels)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillRect(self.rect(), BACKGROUND)
        font = QFont(self.font())
        font.setPixelSize(self._font_px)
        painter.setFont(font)
        painter.setPen(FOREGROUND)
        state = self._state
        if state is None:
            return
        bars = self.bars
        if not bars:
            painter.drawText(
                QRectF(self.rect()),
                Qt.AlignmentFlag.AlignCenter,
                f"{state.voted} of {state.participants} voted",
            )
            return
        self._paint_bars(painter, bars)

    def _paint_bars(self, painter: QPainter, bars: list[Bar]) -> None:
        metrics = painter.fontMetrics()
        margin = self._font_px // 2
        label_w = max(metrics.horizontalAdvance(f"★ {b.label}") for b in bars) + margin
        count_w = metrics.horizontalAdvance("000") + margin
        row_h = (self.height() - 2 * margin) / len(bars)
        bar_h = max(2.0, min(row_h * 0.7, self._font_px * 1.4))
        track_w = max(10.0, self.width() - 2 * margin - label_w - count_w)
        most = max(1, max(b.votes for b in bars))
        for i, bar in enumerate(bars):
            top = margin + i * row_h
            text_rect = QRectF(margin, top, label_w - margin / 2, row_h)
            painter.setPen(RULED_BAR if bar.ruled else FOREGROUND)
            name = f"★ {bar.label}" if bar.ruled else bar.label
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(text_rect, align, name)
            y = top + (row_h - bar_h) / 2
            x = margin + label_w
            painter.fillRect(QRectF(x, y, track_w, bar_h), TRACK)
            width = track_w * bar.votes / most
            if width:
                painter.fillRect(QRectF(x, y, width, bar_h), RULED_BAR if bar.ruled else BAR)
            if bar.ruled:
                painter.setPen(QPen(RULED_BAR, 3))
                painter.drawRect(QRectF(x, y, track_w, bar_h))
            painter.setPen(RULED_BAR if bar.ruled else FOREGROUND)
            count_rect = QRectF(x + track_w + margin / 2, top, count_w, row_h)
            left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
            painter.drawText(count_rect, left, str(bar.votes))
