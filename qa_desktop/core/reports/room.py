"""The reports room (``ws.reports``): what the verdicts add up to, for the lead and management.

Findings (RCA escalations and policy gaps by cited section) and performance reports
(accuracy by policy, market, moderator, queue, batch and week; errors; confusion;
throughput)::

    for group in ws.reports.rca_escalations(): ...
    report = ws.reports.performance(ReportFilter(markets=("DE",)), by=("policy", "week"))
    ws.reports.write_xlsx(report, Path("report.xlsx"))
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import sqlite_utils

from .. import findings
from .figures import (
    DIMENSIONS,
    HIDDEN_GOLD_SQL,
    ExposureRow,
    Report,
    ReportFilter,
    compute,
    my_exposure,
    select_rows_sql,
)
from .tables import Table, exposure_table, write_csv_tables
from .xlsx import write_xlsx

Cancel = Callable[[], bool]


class Reports:
    """Read-only figures over one database."""

    def __init__(self, db: sqlite_utils.Database, reviewer_id: Callable[[], str]) -> None:
        self._db = db
        self._reviewer_id = reviewer_id

    def rca_escalations(self, reviewer_id: str | None = None) -> list[findings.FindingGroup]:
        """Verdicts escalated for RCA, grouped by cited section (one reviewer's, if given)."""
        return findings.rca_escalations(self._db, reviewer_id)

    def policy_gaps(self, reviewer_id: str | None = None) -> list[findings.FindingGroup]:
        """Verdicts flagging a policy gap, grouped by cited section (one reviewer's, if given)."""
        return findings.policy_gaps(self._db, reviewer_id)

    def rca_cases(self, reviewer_id: str | None = None) -> list[findings.FindingCase]:
        """The RCA-escalated verdicts one row each: notes, market, moderator, reviewer."""
        return findings.rca_cases(self._db, reviewer_id)

    def gap_cases(self, reviewer_id: str | None = None) -> list[findings.FindingCase]:
        """The policy-gap verdicts one row each: notes, market, moderator, reviewer."""
        return findings.gap_cases(self._db, reviewer_id)

    # -- performance reports ---------------------------------------------------------------
    def performance(
        self,
        flt: ReportFilter | None = None,
        by: Sequence[str] = ("policy",),
        cancelled: Cancel | None = None,
    ) -> Report:
        """Every figure over the cases ``flt`` selects, accuracy by one or two dimensions,
        with the calibration drift line (agreement per session, market and policy)."""
        from ..calibration_report import calibration_drift

        report = compute(self._db, flt, by, cancelled)
        return replace(report, calibration=calibration_drift(self._db, report.filter))

    def my_exposure(self, flt: ReportFilter | None = None) -> tuple[ExposureRow, ...]:
        """The local reviewer's own exposure by category (never anyone else's)."""
        return my_exposure(self._db, self._reviewer_id(), flt or ReportFilter())

    def write_xlsx(
        self,
        report: Report,
        path: Path,
        cancelled: Cancel | None = None,
        include_my_exposure: bool = False,
    ) -> Path:
        """The report as an Excel workbook with native charts; returns ``path``. The local
        reviewer's exposure is added only when they ask (``include_my_exposure``)."""
        return write_xlsx(report, path, cancelled, self._extra(report, include_my_exposure))

    def write_csv(
        self,
        report: Report,
        folder: Path,
        cancelled: Cancel | None = None,
        include_my_exposure: bool = False,
    ) -> list[Path]:
        """The report as one spreadsheet-safe CSV file a table in ``folder`` (and the local
        reviewer's exposure only when they ask)."""
        return write_csv_tables(report, folder, cancelled, self._extra(report, include_my_exposure))

    def _extra(self, report: Report, include_my_exposure: bool) -> list[Table]:
        if not include_my_exposure:
            return []
        return [exposure_table(self.my_exposure(report.filter))]

    def filter_values(self) -> dict[str, list[str]]:
        """The values each filter can take (batch, market, policy, queue, moderator) among
        the cases reports count (not hidden-gold copies or quiz items: ``HIDDEN_GOLD_SQL``)."""
        columns = {
            "batch": "batch_id",
            "market": "market",
            "policy": "orig_policy",
            "queue": "orig_queue",
            "moderator": "orig_moderator",
        }
        return {
            name: [
                row[0]
                for row in self._db.execute(
                    f"SELECT DISTINCT {column} FROM cases"
                    f" WHERE id NOT IN ({HIDDEN_GOLD_SQL}) ORDER BY {column}"
                ).fetchall()
            ]
            for name, column in columns.items()
        }

    def case_ids(
        self,
        flt: ReportFilter,
        key: dict[str, str] | None = None,
        outcomes: Sequence[str] = (),
        limit: int = 10_000,
    ) -> list[str]:
        """The cases behind one figure, in queue order: those ``flt`` selects whose columns
        equal ``key`` (a dimension, ``orig_label`` or ``final_label``, e.g.
        ``{"policy": "HS", "week": "2026-W44"}``) and, if given, whose QA outcome (or status
        ``disputed`` / ``open``) is one of ``outcomes``."""
        select, params = select_rows_sql(flt)
        clauses = []
        for n, (column, value) in enumerate((key or {}).items()):
            if column not in (*DIMENSIONS, "orig_label", "final_label"):
                raise ValueError(f"unknown report column {column!r}")
            clauses.append(f"r.{column} = :k{n}")
            params[f"k{n}"] = value
        if outcomes:
            params["outcomes"] = json.dumps(list(outcomes))
            clauses.append(
                "(CASE WHEN r.status IN ('disputed', 'open') THEN r.status ELSE r.outcome END)"
                " IN (SELECT value FROM json_each(:outcomes))"
            )
        where = " AND ".join(clauses) or "1"
        rows = self._db.execute(
            f"SELECT r.case_id FROM ({select}) r JOIN cases c2 ON c2.id = r.case_id"
            f" WHERE {where} ORDER BY c2.seq LIMIT {int(limit)}",
            params,
        ).fetchall()
        return [row[0] for row in rows]
