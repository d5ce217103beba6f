"""Every figure of a report as a plain table (title, headers, rows), and the CSV files.

The XLSX sheets, the CSV files, the PDF's tables and the screen's tables all come from
:func:`report_tables`, so they cannot disagree. Proportions are fractions (0.9 is 90 %);
each accuracy row carries its Wilson interval and a ``small n`` mark::

    for table in report_tables(report): print(table.name, table.headers, table.rows[:1])
    write_csv_tables(report, Path("out"))   # out/accuracy.csv, out/taxonomy.csv, ...
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import check_cancelled
from ..outcomes import OUTCOMES
from ..spreadsheet import safe_row
from .figures import AccuracyRow, AccuracyTable, ExposureRow, Rate, Report
from .intervals import SMALL_N

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    """One table of a report."""

    name: str
    """File and sheet name (``accuracy``, ``taxonomy``, ...)."""
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    percent_columns: frozenset[int] = frozenset()
    """Columns holding fractions to show as percentages."""
    small_column: int | None = None
    """The column saying "small n" (greyed rows), if any."""


SMALL_MARK = f"small n (<{SMALL_N})"


def rate_cells(rate: Rate) -> tuple[Cell, ...]:
    """value, low, high, k, n of a rate (None for an empty one)."""
    interval = rate.interval
    return (
        rate.value,
        interval.low if interval else None,
        interval.high if interval else None,
        rate.k,
        rate.n,
    )


def _accuracy_rows(table: AccuracyTable, with_total: bool) -> tuple[tuple[Cell, ...], ...]:
    rows: list[AccuracyRow] = list(table.rows)
    if with_total:
        rows.append(
            AccuracyRow(
                ("all",) * len(table.by),
                table.total.outcomes,
                table.total.disputed,
                table.total.open,
            )
        )
    return tuple(
        (
            *row.key,
            *rate_cells(row.accuracy),
            *(row.outcomes[o] for o in OUTCOMES[1:]),
            row.disputed,
            row.open,
            SMALL_MARK if row.accuracy.small else "",
        )
        for row in rows
    )


def _accuracy_table(name: str, title: str, table: AccuracyTable, with_total: bool) -> Table:
    headers = (
        *table.by,
        "accuracy",
        "ci_low",
        "ci_high",
        "agree",
        "n",
        *(str(o) for o in OUTCOMES[1:]),
        "disputed",
        "open",
        "note",
    )
    first = len(table.by)
    return Table(
        name,
        title,
        headers,
        _accuracy_rows(table, with_total),
        frozenset({first, first + 1, first + 2}),
        len(headers) - 1,
    )


def report_tables(report: Report) -> list[Table]:
    """Every table of ``report``, in the order the workbook and the PDF show them."""
    by = " x ".join(report.by)
    tables = [
        _accuracy_table("accuracy", f"Accuracy by {by}", report.accuracy, True),
        _accuracy_table("weekly", "Accuracy by ISO week", report.weekly, False),
    ]
    t = report.taxonomy
    taxonomy_rows = (
        ("over-enforcement (false positive), among actioned", t.over_enforcement),
        ("under-enforcement (false negative), among non-actioned", t.under_enforcement),
        ("wrong policy, among decided", t.wrong_policy),
        ("wrong action, among decided", t.wrong_action),
        ("wrong selection (policy or action), among decided", t.wrong_selection),
    )
    tables.append(
        Table(
            "taxonomy",
            "Error taxonomy",
            ("error", "rate", "ci_low", "ci_high", "errors", "base", "note"),
            (
                *tuple(
                    (name, *rate_cells(rate), SMALL_MARK if rate.small else "")
                    for name, rate in taxonomy_rows
                ),
                ("disputed (counted apart)", None, None, None, t.disputed, None, ""),
                ("open (no verdict yet)", None, None, None, t.open, None, ""),
                ("label not in pack", None, None, None, t.unknown_label, None, ""),
            ),
            frozenset({1, 2, 3}),
            6,
        )
    )
    confusion_rows: list[tuple[Cell, ...]] = []
    for matrix in report.confusion:
        for original in matrix.labels:
            for final in matrix.labels:
                n = matrix.cell(original, final)
                if n:
                    confusion_rows.append(
                        (f"{matrix.pack_id}@{matrix.pack_version}", original, final, n)
                    )
    tables.append(
        Table(
            "confusion",
            "Frontline label x final label",
            ("pack", "frontline_label", "final_label", "cases"),
            tuple(confusion_rows),
        )
    )
    tables.append(
        Table(
            "flags",
            "RCA escalations and policy gaps by section and week",
            ("kind", "section_id", "title", "week", "verdicts"),
            tuple((f.kind, f.section_id, f.title, f.week, f.count) for f in report.flags),
        )
    )
    tables.append(
        Table(
            "throughput",
            "SME throughput: verdicts per reviewer per week",
            ("reviewer_id", "reviewer", "week", "verdicts"),
            tuple((r.reviewer_id, r.name, r.week, r.verdicts) for r in report.throughput),
        )
    )
    tables.append(
        Table(
            "time_on_case",
            "Median time on case per reviewer",
            ("reviewer_id", "reviewer", "verdicts", "median_seconds"),
            tuple(
                (r.reviewer_id, r.name, r.verdicts, round(r.median_ms / 1000, 3))
                for r in report.reviewer_times
            ),
        )
    )
    if report.weighted is not None:
        w = report.weighted
        rows: list[tuple[Cell, ...]] = [
            (
                s.batch_id,
                s.dimension,
                s.stratum,
                s.weight,
                *rate_cells(s.accuracy),
            )
            for s in w.weights
        ]
        rows.append(
            (
                "all (post-stratified)",
                "",
                "",
                None,
                w.value,
                w.interval.low if w.interval else None,
                w.interval.high if w.interval else None,
                None,
                round(w.effective_n, 3),
            )
        )
        tables.append(
            Table(
                "weighted",
                "Weighted accuracy (sampling weights per stratum)",
                (
                    "batch",
                    "stratum_by",
                    "stratum",
                    "weight",
                    "accuracy",
                    "ci_low",
                    "ci_high",
                    "agree",
                    "n",
                ),
                tuple(rows),
                frozenset({4, 5, 6}),
            )
        )
    if report.calibration:
        from ..calibration_report import drift_table

        tables.append(drift_table(report.calibration))
    return tables


def exposure_table(rows: Sequence[ExposureRow]) -> Table:
    """The local reviewer's own exposure as a table (only ever exported on request)."""
    return Table(
        "my_exposure",
        "My exposure (private: yours only)",
        ("category", "spans", "unblurred_seconds", "weighted_seconds"),
        tuple(
            (r.category, r.spans, round(r.unblurred_ms / 1000, 3), round(r.weighted_ms / 1000, 3))
            for r in rows
        ),
    )


def write_csv_tables(
    report: Report,
    folder: Path,
    cancelled: Callable[[], bool] | None = None,
    extra: Sequence[Table] = (),
) -> list[Path]:
    """One CSV file a table in ``folder`` (made if needed), spreadsheet-safe cells.

    Each file is written whole to a temporary name, then renamed: no half-written file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in [*report_tables(report), *extra]:
        check_cancelled(cancelled)
        path = folder / f"{table.name}.csv"
        part = path.with_name(path.name + ".part")
        with part.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(table.headers))
            writer.writeheader()
            for row in table.rows:
                writer.writerow(safe_row(dict(zip(table.headers, row, strict=True))))
        part.replace(path)
        written.append(path)
    return written
