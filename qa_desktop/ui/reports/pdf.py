"""The report as a PDF for management: QPdfWriter, tables through QTextDocument, and the
same QPainter charts as the screen.

Pages: (1) title, period, filters, headline figures with intervals, the accuracy chart and
the errors chart; (2) the weekly line and the confusion heat map; then, once calibration
sessions exist, the calibration drift line; (3…) the tables and the
methods paragraph. The writer's resolution is set to 96 dpi and the text document lays out
for the writer itself, so text and charts share one scale (otherwise the page comes out
tiny). A4 or Letter; margins of 15 mm. Text from outside (ids, titles) is escaped: it shows
as text, never as markup::

    write_pdf(report, Path("report.pdf"), page="Letter")
"""

from __future__ import annotations

import contextlib
import html
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QFont,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)

from ...core.api import (
    Report,
    ReportTable,
    headline_lines,
    methods_text,
    percent,
    report_tables,
)
from .charts import (
    bars_from,
    drift_groups,
    paint_accuracy_bars,
    paint_drift,
    paint_error_stack,
    paint_heat_map,
    paint_weekly_line,
)

PAGE_SIZES = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}
DPI = 96
SHORT = {
    "over_enforcement": "over",
    "under_enforcement": "under",
    "wrong_policy": "wrong pol.",
    "wrong_action": "wrong act.",
    "unknown_label": "unkn. label",
    "accuracy": "acc.",
    "frontline_label": "frontline",
    "final_label": "final",
    "percent_low": "pa low",
    "percent_high": "pa high",
    "percent": "pa",
    "ac1_band": "band",
}
"""Shorter column headings, so a table fits the width of a portrait page."""
PDF_ROWS = 40
"""Rows of a table the PDF shows; the XLSX and CSV files have them all."""


def write_pdf(report: Report, path: Path, page: str = "A4") -> Path:
    """Write ``report`` to ``path`` as a PDF on ``page`` (``A4`` or ``Letter``); returns it.

    Needs a QGuiApplication (the CLI makes an offscreen one). Written to a temporary name
    and renamed: a failure leaves no half-written file.
    """
    if page not in PAGE_SIZES:
        raise ValueError(f"page must be one of {', '.join(PAGE_SIZES)}, not {page!r}")
    part = path.with_name(path.name + ".part")
    try:
        writer = QPdfWriter(str(part))
        writer.setResolution(DPI)
        writer.setPageLayout(
            QPageLayout(
                QPageSize(PAGE_SIZES[page]),
                QPageLayout.Orientation.Portrait,
                QMarginsF(15, 15, 15, 15),
                QPageLayout.Unit.Millimeter,
            )
        )
        writer.setTitle("QA performance report")
        writer.setCreator("QA Desktop")
        painter = QPainter(writer)
        try:
            _paint(report, writer, painter)
        finally:
            painter.end()
        del writer
        part.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return path


def _document(writer: QPdfWriter, body: str, width: float) -> QTextDocument:
    doc = QTextDocument()
    doc.documentLayout().setPaintDevice(writer)
    font = QFont()
    font.setPointSizeF(9)
    doc.setDefaultFont(font)
    doc.setDefaultStyleSheet(
        "h1 { font-size: 18pt; } h2 { font-size: 12pt; margin-top: 10px; }"
        " th { background-color: #DCE6F1; font-weight: bold; }"
        " td, th { padding: 1px 3px; } table { font-size: 7.5pt; }"
        " .small { color: #8C8C8C; font-style: italic; }"
        " .note { color: #555555; }"
    )
    doc.setHtml(body)
    doc.setTextWidth(width)
    return doc


def _draw(painter: QPainter, doc: QTextDocument, top: float, left: float = 0) -> float:
    """Draw ``doc`` at ``top``; returns the y below it."""
    painter.save()
    painter.translate(left, top)
    doc.drawContents(painter)
    painter.restore()
    return top + doc.size().height()


def _footer(painter: QPainter, rect: QRectF, number: int) -> None:
    painter.save()
    font = QFont()
    font.setPointSizeF(7)
    painter.setFont(font)
    painter.setPen(Qt.GlobalColor.darkGray)
    painter.drawText(
        QRectF(rect.left(), rect.bottom() - 14, rect.width(), 14),
        Qt.AlignmentFlag.AlignRight,
        f"QA performance report · page {number}",
    )
    painter.restore()


def _header_html(report: Report) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td><b>{e(name)}</b></td><td>{e(value)}</td></tr>"
        for name, value in report.filter.describe()
    )
    decisions = (
        f"{e(report.first_decision[:10])} to {e(report.last_decision[:10])}"
        if report.first_decision and report.last_decision
        else "no decisions"
    )
    heads = "".join(
        f"<tr><td><b>{e(name)}</b></td><td>{e(value)}</td></tr>"
        for name, value in headline_lines(report)
    )
    return (
        "<h1>QA performance report</h1>"
        f"<p>Frontline decisions from {decisions}; accuracy by {e(' x '.join(report.by))}.</p>"
        f"<table cellspacing='0'>{rows}</table>"
        "<h2>Headline figures</h2>"
        f"<table cellspacing='0' cellpadding='2'>{heads}</table>"
    )


def _cell(table: ReportTable, column: int, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith("small n"):
        return "small n"
    if column in table.percent_columns and isinstance(value, float):
        return percent(value)
    if isinstance(value, float):
        return f"{value:g}"
    return html.escape(str(value))


def table_html(table: ReportTable, limit: int = PDF_ROWS) -> str:
    """One report table as HTML (plain text cells, small-n rows greyed)."""
    head = "".join(
        f"<th>{html.escape(SHORT.get(h, h.replace('_', ' ')))}</th>" for h in table.headers
    )
    body = []
    for row in table.rows[:limit]:
        small = table.small_column is not None and bool(row[table.small_column])
        css = " class='small'" if small else ""
        cells = "".join(
            f"<td{css} nowrap align='{'left' if isinstance(v, str) else 'right'}'>"
            f"{_cell(table, c, v)}</td>"
            for c, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    more = len(table.rows) - limit
    note = f"<p class='note'>{more} more rows in the XLSX and CSV export.</p>" if more > 0 else ""
    empty = "<p class='note'>Nothing to show.</p>" if not table.rows else ""
    return (
        f"<h2>{html.escape(table.title)}</h2>"
        "<table border='1' width='100%' cellspacing='0' cellpadding='2'"
        " style='border-collapse: collapse;'>"
        f"<thead><tr>{head}</tr></thead>{''.join(body)}</table>{note}{empty}"
    )


def _paint(report: Report, writer: QPdfWriter, painter: QPainter) -> None:
    rect = QRectF(writer.pageLayout().paintRectPixels(DPI))
    rect.moveTo(0, 0)
    width = rect.width()
    page = 1
    # Page 1: title, period, filters, headline figures, the accuracy and errors charts.
    y = _draw(painter, _document(writer, _header_html(report), width), 0) + 12
    bars = bars_from(report.accuracy)
    chart_height = min(260.0, (rect.height() - y - 30) / 2)
    by = " x ".join(report.by)
    paint_accuracy_bars(painter, QRectF(0, y, width, chart_height), bars, f"Accuracy by {by}")
    y += chart_height + 10
    paint_error_stack(painter, QRectF(0, y, width, chart_height), bars, f"Errors by kind, by {by}")
    _footer(painter, rect, page)
    # Page 2: the weekly line and the confusion heat map.
    writer.newPage()
    page += 1
    paint_weekly_line(painter, QRectF(0, 0, width, 280), bars_from(report.weekly, limit=53))
    y = 300.0
    for matrix in report.confusion[:2]:
        height = min(width * 0.8, (rect.height() - y - 20) / min(2, len(report.confusion)))
        paint_heat_map(painter, QRectF(0, y, width, height), matrix)
        y += height + 10
    _footer(painter, rect, page)
    if report.calibration:  # the calibration drift line, once sessions exist
        writer.newPage()
        page += 1
        groups = len(drift_groups(report.calibration))
        paint_drift(
            painter,
            QRectF(0, 0, width, min(rect.height() - 30, 260.0 * groups)),
            report.calibration,
        )
        _footer(painter, rect, page)
    # Pages 3…: the tables and the methods, paginated by the text layout.
    body = "".join(table_html(table) for table in report_tables(report))
    methods = "".join(f"<p>{html.escape(p)}</p>" for p in methods_text(report))
    doc = _document(writer, body + f"<h2>Methods</h2>{methods}", width)
    usable = rect.height() - 20
    doc.setPageSize(QSizeF(width, usable))
    for index in range(doc.pageCount()):
        writer.newPage()
        page += 1
        painter.save()
        painter.translate(0, -index * usable)
        context = QAbstractTextDocumentLayout.PaintContext()
        context.clip = QRectF(0, index * usable, width, usable)
        painter.setClipRect(context.clip)
        doc.documentLayout().draw(painter, context)
        painter.restore()
        _footer(painter, rect, page)
