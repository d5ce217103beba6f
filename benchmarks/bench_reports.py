"""The performance report at scale: the whole report against the plain SQL GROUP BY
queries that compute the same tables, same database, same run; and the reports screen's
time to first paint with the longest GUI-thread stall while the query runs.

Size: ``QA_BENCH_REPORT_CASES`` cases with one verdict each (default 1,000,000). The rows
are written straight into SQLite (an import of a million cases is another benchmark).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from qa_desktop.core.api import ReportFilter
from qa_desktop.core.reports.figures import iso_week_sql, select_rows_sql
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .targets import judge

CASES = int(os.environ.get("QA_BENCH_REPORT_CASES", "1000000"))
RUNS = 3
LABELS = {
    "no_violation": "NONE",
    "vh_remove": "VH",
    "vh_age_restrict": "VH",
    "hs_remove": "HS",
    "an_remove": "AN",
    "hb_remove": "HB",
    "sh_remove": "SH",
    "sp_reduce": "SP",
}
MARKETS = ("DE", "FR", "BR", "ID")


def fill(ws: Workspace, cases: int) -> None:
    """``cases`` cases over 26 weeks, 500 moderators, 5 queues; one SME verdict each
    (four in five agree), 10 reviewers; one in 50 flagged for RCA."""
    db = ws.database_for_tests()
    rng = random.Random(13)
    labels = list(LABELS)
    db.execute(
        "INSERT INTO batches (id, name, issuer, market, pack_id, pack_version, created_at,"
        " format_version, imported_at, source_sha256) VALUES ('bench', 'bench', 'bench',"
        " 'global', 'demo-global', '1.0.0', '2026-11-01T00:00:00Z', 1,"
        " '2026-11-01T00:00:00Z', '')"
    )
    chunk = 50_000
    conn = db.conn
    for start in range(0, cases, chunk):
        case_rows, verdict_rows = [], []
        for i in range(start, min(cases, start + chunk)):
            label = rng.choice(labels)
            day = 1 + (i * 7919) % 180
            decided = f"2026-{1 + (day - 1) // 30:02d}-{1 + (day - 1) % 28:02d}T10:00:00Z"
            case_id = f"c{i:07d}"
            case_rows.append(
                (case_id, "bench", "text", rng.choice(MARKETS), "de", label, LABELS[label],
                 f"m-{rng.randrange(500):03d}", f"q-{rng.randrange(5)}", decided, "")
            )  # fmt: skip
            final = label if rng.random() < 0.8 else rng.choice(labels)
            verdict_rows.append(
                (f"v{i:07d}", case_id, f"r-{rng.randrange(10)}", final, "[]",
                 rng.randrange(5000, 120000), decided.replace("T10", "T15"),
                 "frontline_error" if i % 50 == 0 else None)
            )  # fmt: skip
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO cases (id, batch_id, content_type, market, language, orig_label,"
            " orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            case_rows,
        )
        conn.executemany(
            "INSERT INTO verdicts (id, case_id, reviewer_id, role, label, citations,"
            " time_on_case_ms, created_at, rca_reason) VALUES (?,?,?,'sme',?,?,?,?,?)",
            verdict_rows,
        )
        conn.execute("COMMIT")
    conn.execute("ANALYZE")


def baseline_queries(ws: Workspace, flt: ReportFilter) -> None:
    """The same tables as plain GROUP BY queries, each over the same per-case rows (the
    view read once a case, as the report does), no temporary table, no Python."""
    db = ws.database_for_tests()
    rows, params = select_rows_sql(flt)
    decided = "status IN ('ruled', 'decided')"
    for group in (
        "SELECT policy, market, status, outcome, count(*) FROM r GROUP BY 1, 2, 3, 4",
        "SELECT week, status, outcome, count(*) FROM r GROUP BY 1, 2, 3",
        f"SELECT orig_action <> 'no_action', count(*) FROM r WHERE {decided} GROUP BY 1",
        f"SELECT pack_id, orig_label, final_label, count(*) FROM r WHERE {decided} GROUP BY 1,2,3",
        f"SELECT ev.reviewer_id, {iso_week_sql('ev.created_at')}, count(*),"
        " sum(ev.time_on_case_ms) FROM r JOIN effective_verdicts ev ON ev.case_id = r.case_id"
        " WHERE ev.label IS NOT NULL GROUP BY 1, 2",
        f"SELECT json_extract(j.value, '$.section_id'), {iso_week_sql('ev.created_at')},"
        " count(*) FROM r JOIN effective_verdicts ev ON ev.id = r.event_id"
        " LEFT JOIN json_each(ev.citations) j WHERE ev.rca_reason IS NOT NULL GROUP BY 1, 2",
    ):
        db.execute(f"WITH r AS ({rows}) {group}", params).fetchall()


def one_pass(ws: Workspace, flt: ReportFilter) -> None:
    """The cheapest possible query: only the accuracy table, one GROUP BY."""
    rows, params = select_rows_sql(flt)
    ws.database_for_tests().execute(
        f"WITH r AS ({rows}) SELECT policy, market, status, outcome, count(*) FROM r"
        " GROUP BY 1, 2, 3, 4",
        params,
    ).fetchall()


def timed(job: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        job()
        samples.append(time.perf_counter() - started)
    return samples


def first_paint(data_dir: Path) -> list[tuple[float, float]]:
    """Seconds from Refresh to the first paint of the chart with the report, and the
    longest gap between GUI-thread timer ticks (every 5 ms) meanwhile; cold, then warm."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    from qa_desktop.ui.app import make_application
    from qa_desktop.ui.reports.screen import ReportsScreen

    app = make_application()  # as the app makes it (its GIL switch interval, frozen objects)
    ws = Workspace.open(data_dir)
    screen = ReportsScreen(ws)
    screen.resize(1400, 900)
    screen.show()
    app.processEvents()
    clock = QElapsedTimer()
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))
    painted: list[int] = []
    original = screen.accuracy_chart.paintEvent

    def paint(event: object) -> None:
        original(event)  # type: ignore[arg-type]
        if screen.report is not None and not painted:
            painted.append(clock.elapsed())

    screen.accuracy_chart.paintEvent = paint  # type: ignore[method-assign]
    results = []
    for _ in range(2):  # cold (fonts load at the first text painted), then warm
        screen.report = None
        painted.clear()
        ticks.clear()
        clock.start()
        timer.start()
        screen.refresh()
        while not painted:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        gaps = [b - a for a, b in pairwise(ticks)] or [0]
        results.append((painted[0] / 1000, max(gaps) / 1000))
    screen.close()
    ws.close()
    return results


def run(tmp: Path) -> list[str]:
    """Measure and describe the report against its SQL baseline, and the screen."""
    ws = Workspace.open(tmp / "data")
    ws.ensure_reviewer("Bench")
    ws.guidelines.import_pack(DEMO_PACK)
    started = time.perf_counter()
    fill(ws, CASES)
    filled = time.perf_counter() - started
    flt = ReportFilter()
    report_s = timed(lambda: ws.reports.performance(flt, ("policy", "market")))
    baseline_s = timed(lambda: baseline_queries(ws, flt))
    one_pass_s = timed(lambda: one_pass(ws, flt))
    ws.close()
    (cold_s, cold_stall), (warm_s, warm_stall) = first_paint(tmp / "data")
    ratio = statistics.median(report_s) / statistics.median(baseline_s)

    def spread(samples: list[float]) -> str:
        low, high = min(samples), max(samples)
        return f"median {statistics.median(samples):.2f} s (range {low:.2f}–{high:.2f})"

    return [
        f"performance report over {CASES:,} cases, {CASES:,} verdicts ({os.cpu_count()} CPUs;"
        f" filling the database took {filled:.0f} s)",
        f"  plain SQL GROUP BY baseline (same tables): {spread(baseline_s)}",
        f"  ws.reports.performance(by=policy,market): {spread(report_s)}",
        f"  ratio report / baseline = {ratio:.2f}  {judge('report vs its SQL baseline', ratio)}",
        f"  context: the accuracy table alone, one GROUP BY: {spread(one_pass_s)};"
        f" report / that = {statistics.median(report_s) / statistics.median(one_pass_s):.2f}",
        f"  reports screen, first paint with the report: cold {cold_s:.2f} s, warm {warm_s:.2f} s",
        *(
            f"    longest GUI-thread stall meanwhile, {turn}: {stall * 1000:.0f} ms "
            + judge(
                "longest GUI-thread stall",
                stall * 1000,
                f"reports screen at {CASES:,} verdicts, {turn}",
            )
            for turn, stall in (("cold", cold_stall), ("warm", warm_stall))
        ),
    ]
