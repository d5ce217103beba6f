"""The report charts, painted with QPainter: one code path for the screen and the PDF.

QtCharts is deprecated in Qt 6.10, so the charts are plain painting: bars with Wilson
interval whiskers, stacked error bars, the weekly line with its interval band, and the
confusion heat map. Each ``paint_*`` function draws into a rectangle of any paint device
(a widget, a QPdfWriter page) and returns the hit boxes of its marks, so a click on the
screen can open the cases behind a bar::

    boxes = paint_accuracy_bars(painter, QRectF(0, 0, 600, 300), bars_from(report.accuracy))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen

from ...core.api import (
    AccuracyTable,
    AgreementEstimate,
    CalibrationDriftRow,
    ConfusionMatrix,
    Outcome,
)

BAR = QColor("#3A6EA5")
SMALL = QColor("#B8B8B8")
WHISKER = QColor("#222222")
GRID = QColor("#E2E2E2")
ERROR_COLOURS = {
    Outcome.OVER_ENFORCEMENT: QColor("#D9534F"),
    Outcome.UNDER_ENFORCEMENT: QColor("#F0AD4E"),
    Outcome.WRONG_POLICY: QColor("#6F42C1"),
    Outcome.WRONG_ACTION: QColor("#5BC0DE"),
}
MAX_BARS = 24


@dataclass(frozen=True)
class Bar:
    """One bar of an accuracy chart."""

    label: str
    key: tuple[str, ...]
    value: float | None
    low: float | None
    high: float | None
    n: int
    small: bool
    errors: tuple[int, ...] = ()
    """Counts of over, under, wrong policy, wrong action (the stacked chart)."""


def bars_from(table: AccuracyTable, limit: int = MAX_BARS) -> list[Bar]:
    """The bars of an accuracy table (its biggest ``limit`` cells)."""
    bars = []
    for row in table.rows[:limit]:
        rate = row.accuracy
        interval = rate.interval
        bars.append(
            Bar(
                " / ".join(row.key),
                row.key,
                rate.value,
                interval.low if interval else None,
                interval.high if interval else None,
                rate.n,
                rate.small,
                tuple(row.outcomes[o] for o in ERROR_COLOURS),
            )
        )
    return bars


def _font(painter: QPainter, points: float, bold: bool = False) -> QFontMetricsF:
    font = QFont(painter.font())
    font.setPointSizeF(points)
    font.setBold(bold)
    painter.setFont(font)
    return QFontMetricsF(font, painter.device())


def _title(painter: QPainter, rect: QRectF, title: str) -> QRectF:
    metrics = _font(painter, 10, bold=True)
    painter.setPen(Qt.GlobalColor.black)
    painter.drawText(
        QRectF(rect.left(), rect.top(), rect.width(), metrics.height()),
        Qt.AlignmentFlag.AlignLeft,
        metrics.elidedText(title, Qt.TextElideMode.ElideRight, rect.width()),
    )
    return rect.adjusted(0, metrics.height() * 1.4, 0, 0)


ROTATED_LABEL_MAX = 80.0
"""The longest a rotated category label may get (device units) before it is elided."""


def _crowded(metrics: QFontMetricsF, width: float, labels: Sequence[str]) -> bool:
    """Whether the labels would not fit side by side on one line: then they stand upright."""
    step = width / max(1, len(labels))
    return any(metrics.horizontalAdvance(label) > step - 4 for label in labels)


def _plot_area(painter: QPainter, rect: QRectF, labels: Sequence[str] = ()) -> tuple[QRectF, float]:
    """The plot rectangle inside ``rect`` (room for the y axis and category labels)."""
    metrics = _font(painter, 7)
    left = metrics.horizontalAdvance("100%") + 8
    width = rect.width() - left - 4
    if _crowded(metrics, width, labels):
        longest = max(metrics.horizontalAdvance(label) for label in labels)
        bottom = min(longest, ROTATED_LABEL_MAX) + 8
    else:
        bottom = metrics.height() * 2 + 6
    return QRectF(rect.left() + left, rect.top() + 4, width, rect.height() - bottom - 4), (
        metrics.height()
    )


def _percent_axis(painter: QPainter, plot: QRectF) -> None:
    _font(painter, 7)
    for tick in range(0, 101, 25):
        y = plot.bottom() - plot.height() * tick / 100
        painter.setPen(QPen(GRID, 0))
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        painter.setPen(Qt.GlobalColor.black)
        painter.drawText(
            QRectF(plot.left() - 60, y - 8, 56, 16),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{tick}%",
        )


def _category_labels(painter: QPainter, plot: QRectF, labels: Sequence[str], line: float) -> None:
    metrics = _font(painter, 7)
    painter.setPen(Qt.GlobalColor.black)
    step = plot.width() / max(1, len(labels))
    if _crowded(metrics, plot.width(), labels):  # upright, reading bottom to top
        for i, label in enumerate(labels):
            text = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, ROTATED_LABEL_MAX)
            painter.save()
            x = plot.left() + (i + 0.5) * step + metrics.ascent() / 2
            painter.translate(x, plot.bottom() + 4 + metrics.horizontalAdvance(text))
            painter.rotate(-90)
            painter.drawText(QPointF(0, 0), text)
            painter.restore()
        return
    for i, label in enumerate(labels):
        box = QRectF(plot.left() + i * step, plot.bottom() + 3, step, line * 2 + 2)
        text = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, step * 2 - 4)
        painter.drawText(
            box,
            Qt.AlignmentFlag.AlignHCenter
            | Qt.AlignmentFlag.AlignTop
            | Qt.TextFlag.TextWrapAnywhere,
            text,
        )


def paint_accuracy_bars(
    painter: QPainter, rect: QRectF, bars: Sequence[Bar], title: str = "Accuracy"
) -> list[tuple[QRectF, Bar]]:
    """Accuracy bars with 95 % Wilson whiskers; small-n bars grey and marked ``*``."""
    painter.save()
    area = _title(painter, rect, title + " (95% Wilson interval; grey *: n < 30)")
    plot, line = _plot_area(painter, area, [b.label for b in bars])
    _percent_axis(painter, plot)
    boxes: list[tuple[QRectF, Bar]] = []
    if bars:
        step = plot.width() / len(bars)
        width = step * 0.6
        for i, bar in enumerate(bars):
            x = plot.left() + i * step + (step - width) / 2
            column = QRectF(x, plot.top(), width, plot.height())
            boxes.append((QRectF(plot.left() + i * step, plot.top(), step, plot.height()), bar))
            if bar.value is None:
                continue
            top = plot.bottom() - plot.height() * bar.value
            painter.fillRect(
                QRectF(x, top, width, plot.bottom() - top), SMALL if bar.small else BAR
            )
            if bar.low is not None and bar.high is not None:
                painter.setPen(QPen(WHISKER, 1.2))
                centre = column.center().x()
                y_low = plot.bottom() - plot.height() * bar.low
                y_high = plot.bottom() - plot.height() * bar.high
                painter.drawLine(QPointF(centre, y_low), QPointF(centre, y_high))
                for y in (y_low, y_high):
                    painter.drawLine(QPointF(centre - width / 4, y), QPointF(centre + width / 4, y))
            if bar.small:
                _font(painter, 7, bold=True)
                painter.setPen(Qt.GlobalColor.black)
                painter.drawText(QRectF(x, top - 14, width, 12), Qt.AlignmentFlag.AlignHCenter, "*")
        _category_labels(painter, plot, [b.label for b in bars], line)
    painter.restore()
    return boxes


def paint_error_stack(
    painter: QPainter, rect: QRectF, bars: Sequence[Bar], title: str = "Errors by kind"
) -> list[tuple[QRectF, Bar]]:
    """Stacked counts of over- and under-enforcement, wrong policy and wrong action."""
    painter.save()
    area = _title(painter, rect, title)
    metrics = _font(painter, 7)
    legend_height = metrics.height() + 4
    plot, line = _plot_area(painter, area.adjusted(0, legend_height, 0, 0), [b.label for b in bars])
    x = area.left()
    for outcome, colour in ERROR_COLOURS.items():
        painter.fillRect(QRectF(x, area.top() + 2, 10, 10), colour)
        painter.setPen(Qt.GlobalColor.black)
        text = str(outcome).replace("_", " ")
        painter.drawText(QPointF(x + 14, area.top() + metrics.ascent()), text)
        x += 24 + metrics.horizontalAdvance(text)
    top_count = max([sum(b.errors) for b in bars] + [1])
    _font(painter, 7)
    for tick in (0, top_count):
        y = plot.bottom() - plot.height() * tick / top_count
        painter.setPen(QPen(GRID, 0))
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        painter.setPen(Qt.GlobalColor.black)
        painter.drawText(
            QRectF(plot.left() - 60, y - 8, 56, 16),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            str(tick),
        )
    boxes: list[tuple[QRectF, Bar]] = []
    if bars:
        step = plot.width() / len(bars)
        width = step * 0.6
        for i, bar in enumerate(bars):
            left = plot.left() + i * step + (step - width) / 2
            y = plot.bottom()
            for count, colour in zip(bar.errors, ERROR_COLOURS.values(), strict=False):
                height = plot.height() * count / top_count
                painter.fillRect(QRectF(left, y - height, width, height), colour)
                y -= height
            boxes.append((QRectF(plot.left() + i * step, plot.top(), step, plot.height()), bar))
        _category_labels(painter, plot, [b.label for b in bars], line)
    painter.restore()
    return boxes


def paint_weekly_line(
    painter: QPainter,
    rect: QRectF,
    bars: Sequence[Bar],
    title: str = "Accuracy by ISO week",
    band_name: str = "95% Wilson interval",
) -> list[tuple[QRectF, Bar]]:
    """The weekly accuracy line with its interval band (``band_name`` names it); small-n
    points hollow."""
    painter.save()
    area = _title(painter, rect, f"{title} (band: {band_name})")
    plot, line = _plot_area(painter, area, [b.label for b in bars])
    _percent_axis(painter, plot)
    points = [(i, b) for i, b in enumerate(bars) if b.value is not None]
    boxes: list[tuple[QRectF, Bar]] = []
    if bars:
        step = plot.width() / len(bars)

        def at(i: int, value: float) -> QPointF:
            return QPointF(plot.left() + step * (i + 0.5), plot.bottom() - plot.height() * value)

        band = QPainterPath()
        drawn = [(i, b) for i, b in points if b.low is not None and b.high is not None]
        if drawn:
            band.moveTo(at(drawn[0][0], drawn[0][1].high or 0))
            for i, b in drawn[1:]:
                band.lineTo(at(i, b.high or 0))
            for i, b in reversed(drawn):
                band.lineTo(at(i, b.low or 0))
            band.closeSubpath()
            painter.fillPath(band, QColor(58, 110, 165, 50))
        painter.setPen(QPen(BAR, 2))
        for (i, a), (j, b) in pairwise(points):
            painter.drawLine(at(i, a.value or 0), at(j, b.value or 0))
        for i, b in points:
            painter.setBrush(Qt.BrushStyle.NoBrush if b.small else BAR)
            painter.drawEllipse(at(i, b.value or 0), 3.5, 3.5)
        for i, b in enumerate(bars):
            boxes.append((QRectF(plot.left() + i * step, plot.top(), step, plot.height()), b))
        _category_labels(painter, plot, [b.label for b in bars], line)
    painter.restore()
    return boxes


def paint_heat_map(
    painter: QPainter, rect: QRectF, matrix: ConfusionMatrix, title: str = ""
) -> list[tuple[QRectF, tuple[str, str]]]:
    """The confusion matrix as a heat map: rows frontline label, columns final label."""
    painter.save()
    area = _title(
        painter, rect, title or f"Frontline x final label ({matrix.pack_id} {matrix.pack_version})"
    )
    labels = matrix.labels
    metrics = _font(painter, 7)
    gutter = max(metrics.horizontalAdvance(label) for label in labels) + 8 if labels else 0
    size = min(
        (area.width() - gutter) / max(1, len(labels)),
        (area.height() - gutter) / max(1, len(labels)),
    )
    top = max(matrix.counts.values(), default=1)
    boxes: list[tuple[QRectF, tuple[str, str]]] = []
    origin = QPointF(area.left() + gutter, area.top() + gutter)
    painter.setPen(Qt.GlobalColor.black)
    for c, label in enumerate(labels):  # column headers, rotated
        painter.save()
        painter.translate(origin.x() + size * (c + 0.5) + metrics.ascent() / 2, origin.y() - 4)
        painter.rotate(-90)
        painter.drawText(QPointF(0, 0), label)
        painter.restore()
    for r, original in enumerate(labels):
        painter.setPen(Qt.GlobalColor.black)
        painter.drawText(
            QRectF(area.left(), origin.y() + r * size, gutter - 6, size),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            original,
        )
        for c, final in enumerate(labels):
            n = matrix.cell(original, final)
            cell = QRectF(origin.x() + c * size, origin.y() + r * size, size, size)
            shade = int(235 - 190 * n / top) if n else 250
            colour = QColor(shade, shade, 255) if original == final else QColor(255, shade, shade)
            painter.fillRect(cell, colour)
            painter.setPen(QPen(GRID, 0))
            painter.drawRect(cell)
            if n:
                painter.setPen(Qt.GlobalColor.white if shade < 130 else Qt.GlobalColor.black)
                painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, str(n))
            boxes.append((cell, (original, final)))
    painter.restore()
    return boxes


def drift_groups(
    rows: Sequence[CalibrationDriftRow], limit: int = 4
) -> list[tuple[str, list[CalibrationDriftRow]]]:
    """The drift rows by market and policy (``DE / VH``), at most ``limit`` groups."""
    groups: dict[str, list[CalibrationDriftRow]] = {}
    for row in rows:
        groups.setdefault(f"{row.market} / {row.policy}", []).append(row)
    return list(groups.items())[:limit]


def _drift_bar(row: CalibrationDriftRow, estimate: AgreementEstimate) -> Bar:
    interval = estimate.interval
    clamp = lambda v: None if v is None else max(0.0, min(1.0, v))  # noqa: E731
    return Bar(
        f"{row.date} {row.session}",
        (row.session, row.market, row.policy),
        clamp(estimate.value),
        clamp(interval.low) if interval else None,
        clamp(interval.high) if interval else None,
        row.cases,
        False,
    )


def paint_drift(
    painter: QPainter, rect: QRectF, rows: Sequence[CalibrationDriftRow]
) -> list[tuple[QRectF, Bar]]:
    """The calibration drift line: per market and policy (a band of the rect each), percent
    agreement (left) and Gwet's AC1 (right) per session date, each with its interval; the
    weekly line's painting. AC1 below 0 shows at 0 here (the table has the value)."""
    boxes: list[tuple[QRectF, Bar]] = []
    groups = drift_groups(rows)
    if not groups:
        painter.save()
        _title(painter, rect, "Calibration agreement: no revealed calibration cases")
        painter.restore()
        return boxes
    height = rect.height() / len(groups)
    half = rect.width() / 2
    for n, (name, members) in enumerate(groups):
        top = rect.top() + n * height
        boxes += paint_weekly_line(
            painter,
            QRectF(rect.left(), top, half - 6, height - 6),
            [_drift_bar(r, r.percent) for r in members],
            f"{name}: percent agreement",
            "95% Wilson",
        )
        boxes += paint_weekly_line(
            painter,
            QRectF(rect.left() + half + 6, top, half - 6, height - 6),
            [_drift_bar(r, r.ac1) for r in members],
            f"{name}: Gwet's AC1",
            "95% bootstrap",
        )
    return boxes
