"""The report as an Excel workbook (XlsxWriter): a sheet a table, native charts with the
Wilson intervals as custom error bars.

Text from outside (case ids, moderator ids, section titles) is written as text, never as a
formula or a link: ``strings_to_formulas`` and ``strings_to_urls`` are off (with them on,
a moderator id like ``=HYPERLINK(...)`` would become a live formula). The file is written
to a temporary name and renamed, so a failure or a cancel leaves no half-written file::

    write_xlsx(report, Path("report.xlsx"))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.utility import xl_rowcol_to_cell

from ..errors import check_cancelled
from .figures import Report, ReportError
from .tables import Table, report_tables
from .text import headline_lines, methods_text

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def write_xlsx(
    report: Report,
    path: Path,
    cancelled: Callable[[], bool] | None = None,
    extra: Sequence[Table] = (),
) -> Path:
    """Write ``report`` (and ``extra`` tables, as sheets after its own) to ``path`` (.xlsx);
    returns ``path``."""
    part = path.with_name(path.name + ".part")
    try:
        workbook = xlsxwriter.Workbook(str(part), WORKBOOK_OPTIONS)
        formats = _formats(workbook)
        _summary_sheet(workbook, report, formats)
        for table in [*report_tables(report), *extra]:
            check_cancelled(cancelled)
            sheet = _table_sheet(workbook, table, formats)
            if table.name in ("accuracy", "weekly") and table.rows:
                _accuracy_chart(workbook, sheet, table)
            if table.name == "accuracy" and table.rows:
                _errors_chart(workbook, sheet, table)
            if table.name == "calibration" and table.rows:
                _drift_chart(workbook, sheet, table)
        try:
            workbook.close()
        except xlsxwriter.exceptions.FileCreateError as exc:
            raise ReportError(f"{path}: cannot write the report ({exc.args[0]})") from exc
        part.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return path


def _formats(workbook: Any) -> dict[str, Any]:
    return {
        "header": workbook.add_format(
            {"bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True}
        ),
        "percent": workbook.add_format({"num_format": "0.0%"}),
        "percent_small": workbook.add_format({"num_format": "0.0%", "font_color": "#8C8C8C"}),
        "small": workbook.add_format({"font_color": "#8C8C8C", "italic": True}),
        "number": workbook.add_format({"num_format": "0.###"}),
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
    }


def _summary_sheet(workbook: Any, report: Report, f: dict[str, Any]) -> None:
    sheet = workbook.add_worksheet("summary")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 90)
    sheet.write_string(0, 0, "QA performance report", f["title"])
    row = 2
    for name, value in report.filter.describe():
        sheet.write_string(row, 0, name)
        sheet.write_string(row, 1, value)
        row += 1
    row += 1
    for name, value in headline_lines(report):
        sheet.write_string(row, 0, name)
        sheet.write_string(row, 1, value)
        row += 1
    row += 1
    sheet.write_string(row, 0, "methods", f["title"])
    for paragraph in methods_text(report):
        row += 1
        sheet.set_row(row, 60)
        sheet.write_string(row, 1, paragraph, f["wrap"])


def _table_sheet(workbook: Any, table: Table, f: dict[str, Any]) -> Any:
    sheet = workbook.add_worksheet(table.name)
    for col, header in enumerate(table.headers):
        sheet.write_string(0, col, header, f["header"])
        sheet.set_column(col, col, max(10, min(40, len(header) + 4)))
    sheet.freeze_panes(1, 0)
    for r, row in enumerate(table.rows, start=1):
        small = table.small_column is not None and bool(row[table.small_column])
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value, f["small"] if small else None)
            elif c in table.percent_columns:
                sheet.write_number(r, c, value, f["percent_small" if small else "percent"])
            else:
                sheet.write_number(r, c, value, f["small"] if small else f["number"])
    if table.rows:
        sheet.autofilter(0, 0, len(table.rows), len(table.headers) - 1)
    return sheet


def _accuracy_chart(workbook: Any, sheet: Any, table: Table) -> None:
    """A column (or, by week, line) chart of accuracy with the Wilson interval as error bars.

    Excel's custom error bars take plus and minus lengths: two helper columns right of
    the table hold ``high - value`` and ``value - low``.
    """
    value_col = table.headers.index("accuracy")
    keys = value_col  # the key columns come first
    plus_col = len(table.headers) + 1
    minus_col = plus_col + 1
    sheet.write_string(0, plus_col, "err_plus")
    sheet.write_string(0, minus_col, "err_minus")
    last = len(table.rows)
    for r in range(1, last + 1):
        value = xl_rowcol_to_cell(r, value_col)
        low = xl_rowcol_to_cell(r, value_col + 1)
        high = xl_rowcol_to_cell(r, value_col + 2)
        sheet.write_formula(r, plus_col, f"=IF(ISNUMBER({value}),{high}-{value},0)")
        sheet.write_formula(r, minus_col, f"=IF(ISNUMBER({value}),{value}-{low},0)")
    name = table.name
    weekly = name == "weekly"
    chart = workbook.add_chart({"type": "line" if weekly else "column"})
    series: dict[str, Any] = {
        "name": "accuracy",
        "categories": [name, 1, 0, last, max(0, keys - 1)],
        "values": [name, 1, value_col, last, value_col],
        "y_error_bars": {
            "type": "custom",
            "plus_values": [name, 1, plus_col, last, plus_col],
            "minus_values": [name, 1, minus_col, last, minus_col],
            "end_style": 1,
        },
    }
    if weekly:
        series["marker"] = {"type": "circle"}
    chart.add_series(series)
    chart.set_title({"name": table.title + " (95% Wilson interval)"})
    chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%"})
    chart.set_legend({"none": True})
    chart.set_size({"width": 720, "height": 360})
    sheet.insert_chart(last + 3, 0, chart)


def _errors_chart(workbook: Any, sheet: Any, table: Table) -> None:
    """Stacked columns: over-, under-enforcement, wrong policy, wrong action per cell."""
    last = len(table.rows) - 1  # without the total row
    if last < 1:
        return
    keys = table.headers.index("accuracy")
    chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    for outcome in ("over_enforcement", "under_enforcement", "wrong_policy", "wrong_action"):
        col = table.headers.index(outcome)
        chart.add_series(
            {
                "name": [table.name, 0, col],
                "categories": [table.name, 1, 0, last, max(0, keys - 1)],
                "values": [table.name, 1, col, last, col],
            }
        )
    chart.set_title({"name": "Errors by kind (decided cases)"})
    chart.set_size({"width": 720, "height": 360})
    sheet.insert_chart(len(table.rows) + 22, 0, chart)


def _drift_chart(workbook: Any, sheet: Any, table: Table) -> None:
    """The calibration drift line: percent agreement and AC1 per session date, a series per
    market and policy, with their intervals as error bars (helper columns, as above)."""
    name = table.name
    h = table.headers
    col = {k: h.index(k) for k in ("date", "market", "policy", "percent", "ac1")}
    extra = len(h) + 1
    for offset, title in enumerate(("pa_plus", "pa_minus", "ac1_plus", "ac1_minus")):
        sheet.write_string(0, extra + offset, title)
    for r in range(1, len(table.rows) + 1):
        for offset, figure in ((0, "percent"), (2, "ac1")):
            value = xl_rowcol_to_cell(r, col[figure])
            low = xl_rowcol_to_cell(r, col[figure] + 1)
            high = xl_rowcol_to_cell(r, col[figure] + 2)
            sheet.write_formula(r, extra + offset, f"=IF(ISNUMBER({high}),{high}-{value},0)")
            sheet.write_formula(r, extra + offset + 1, f"=IF(ISNUMBER({low}),{value}-{low},0)")
    groups: dict[tuple[object, object], list[int]] = {}
    for r, row in enumerate(table.rows, start=1):
        groups.setdefault((row[col["market"]], row[col["policy"]]), []).append(r)
    chart = workbook.add_chart({"type": "line"})
    for (market, policy), rows in list(groups.items())[:8]:
        # Rows of one group are consecutive only by chance: a series per row range.
        first, last = rows[0], rows[-1]
        if rows != list(range(first, last + 1)):
            continue
        for offset, figure in ((0, "percent"), (2, "ac1")):
            chart.add_series(
                {
                    "name": f"{market} {policy} {'AC1' if figure == 'ac1' else 'percent'}",
                    "categories": [name, first, col["date"], last, col["date"]],
                    "values": [name, first, col[figure], last, col[figure]],
                    "marker": {"type": "circle"},
                    "y_error_bars": {
                        "type": "custom",
                        "plus_values": [name, first, extra + offset, last, extra + offset],
                        "minus_values": [name, first, extra + offset + 1, last, extra + offset + 1],
                        "end_style": 1,
                    },
                }
            )
    chart.set_title({"name": "Calibration agreement by session (95% intervals)"})
    chart.set_y_axis({"min": -1, "max": 1, "num_format": "0.00"})
    chart.set_size({"width": 720, "height": 360})
    sheet.insert_chart(len(table.rows) + 3, 0, chart)
