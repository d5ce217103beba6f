"""Performance reports in core: Wilson intervals, the figures of a known verdict set to the
last digit, filters, sampling weights in the batch format, the XLSX and CSV exports."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core.api import BatchError, ReportError, ReportFilter, wilson
from qa_desktop.core.reports.figures import iso_week_sql, select_rows_sql
from qa_desktop.core.reports.intervals import Z95
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import batch_header, case_record, write_batch
from .reports_data import known_set


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    return known_set(workspace, tmp_path / "known")


# -- Wilson -----------------------------------------------------------------------------------


def test_wilson_matches_hand_computed_values() -> None:
    # 7 of 11 by hand: p = 0.636364, z² = 3.841459, denominator 1 + z²/n = 1.349224,
    # centre (p + z²/2n) / 1.349224 = 0.601070, half-width 0.333622 / 1.349224 = 0.247270.
    interval = wilson(7, 11)
    assert interval is not None
    assert round(interval.low, 4) == 0.3538
    assert round(interval.high, 4) == 0.8483
    # 2 of 2 is not 100 %: the lower bound is 0.3424, the upper exactly 1.
    two = wilson(2, 2)
    assert two is not None and round(two.low, 4) == 0.3424 and two.high == 1.0
    zero = wilson(0, 10)
    assert zero is not None and zero.low == 0.0 and round(zero.high, 4) == 0.2775
    assert wilson(0, 0) is None


@pytest.mark.parametrize(("k", "n"), [(7, 11), (1, 3), (45, 50), (500, 1000), (3, 29)])
def test_wilson_bounds_solve_the_score_equation(k: int, n: int) -> None:
    """Each bound π solves (p̂ − π)² = z²·π(1 − π)/n: Wilson's definition, not the Wald one."""
    interval = wilson(k, n)
    assert interval is not None
    p = k / n
    for bound in (interval.low, interval.high):
        assert math.isclose((p - bound) ** 2, Z95**2 * bound * (1 - bound) / n, abs_tol=1e-12)


def test_iso_week_sql_agrees_with_python_across_year_ends(workspace: Workspace) -> None:
    db = workspace.database_for_tests()
    day = dt.date(2020, 12, 20)
    while day < dt.date(2027, 1, 12):
        stamp = f"{day.isoformat()}T23:30:00Z"
        (week,) = db.execute(f"SELECT {iso_week_sql(':s')}", {"s": stamp}).fetchone()
        year, number, _ = day.isocalendar()
        assert week == f"{year}-W{number:02d}", stamp
        day += dt.timedelta(days=3)


# -- the known verdict set ---------------------------------------------------------------------


def test_known_set_overall_figures(ws: Workspace) -> None:
    report = ws.reports.performance(by=("policy",))
    overall = report.overall
    assert (overall.accuracy.k, overall.accuracy.n) == (7, 11)
    assert overall.accuracy.value == 7 / 11
    assert round(overall.accuracy.interval.low, 4) == 0.3538  # type: ignore[union-attr]
    assert overall.disputed == 1 and overall.open == 1
    assert overall.outcomes["unknown_label"] == 1
    t = report.taxonomy
    assert (t.over_enforcement.k, t.over_enforcement.n) == (2, 8)
    assert (t.under_enforcement.k, t.under_enforcement.n) == (1, 3)
    assert (t.wrong_policy.k, t.wrong_policy.n) == (1, 11)
    assert (t.wrong_action.k, t.wrong_action.n) == (0, 11)
    assert (t.wrong_selection.k, t.wrong_selection.n) == (1, 11)
    assert (t.disputed, t.open, t.unknown_label) == (1, 1, 1)
    assert report.first_decision == "2026-10-26T10:00:00Z"
    assert report.last_decision == "2026-11-03T10:00:00Z"


def test_known_set_by_policy_and_week(ws: Workspace) -> None:
    report = ws.reports.performance(by=("policy", "week"))
    rows = {row.key: row for row in report.accuracy.rows}
    assert set(rows) == {
        ("VH", "2026-W44"),
        ("HS", "2026-W45"),
        ("NONE", "2026-W45"),
        ("OLD", "2026-W45"),
    }
    vh = rows[("VH", "2026-W44")]
    assert (vh.accuracy.k, vh.accuracy.n, vh.outcomes["over_enforcement"]) == (4, 6, 2)
    assert vh.accuracy.small  # n < 30: greyed and marked
    hs = rows[("HS", "2026-W45")]
    assert (hs.accuracy.k, hs.accuracy.n, hs.outcomes["wrong_policy"], hs.disputed) == (
        1,
        2,
        1,
        1,
    )
    none = rows[("NONE", "2026-W45")]
    assert (none.accuracy.k, none.accuracy.n, none.outcomes["under_enforcement"], none.open) == (
        2,
        3,
        1,
        1,
    )
    assert rows[("OLD", "2026-W45")].accuracy.n == 0
    weeks = {row.key: (row.accuracy.k, row.accuracy.n) for row in report.weekly.rows}
    assert weeks == {("2026-W44",): (4, 6), ("2026-W45",): (3, 5)}


def test_known_set_confusion_matrix(ws: Workspace) -> None:
    (matrix,) = ws.reports.performance().confusion
    assert (matrix.pack_id, matrix.pack_version) == ("demo-global", "1.0.0")
    assert matrix.labels[0] == "no_violation" and matrix.labels[-1] == "legacy_label"
    assert matrix.cell("vh_remove", "vh_remove") == 4
    assert matrix.cell("vh_remove", "vh_age_restrict") == 1
    assert matrix.cell("vh_remove", "no_violation") == 1
    assert matrix.cell("hs_remove", "hs_remove") == 1  # hs-2 is disputed: not in the matrix
    assert matrix.cell("hs_remove", "vh_remove") == 1
    assert matrix.cell("no_violation", "sp_reduce") == 1
    assert matrix.cell("legacy_label", "no_violation") == 1
    assert sum(matrix.counts.values()) == 12


def test_known_set_throughput_flags_and_weights(ws: Workspace) -> None:
    report = ws.reports.performance()
    me = ws.reviewer.id  # type: ignore[union-attr]
    this_week = "{}-W{:02d}".format(*dt.datetime.now(dt.UTC).isocalendar()[:2])
    assert {(r.reviewer_id, r.week, r.verdicts) for r in report.throughput} == {
        (me, this_week, 13),
        ("other-reviewer", "2026-W45", 1),
    }
    times = {r.reviewer_id: (r.name, r.verdicts, r.median_ms) for r in report.reviewer_times}
    assert times[me] == ("Test Reviewer", 13, 7000.0)  # 1 000 .. 13 000 ms: the 7th
    assert times["other-reviewer"] == ("", 1, 0.0)  # nobody this machine knows by name
    rca = [f for f in report.flags if f.kind == "rca"]
    # vh-5's final no_violation cites nothing: its RCA flag counts under "(no section)".
    assert [(f.section_id, f.week, f.count) for f in rca] == [("(no section)", this_week, 1)]
    assert not [f for f in report.flags if f.kind == "gap"]
    weighted = report.weighted
    assert weighted is not None
    # Σw·k / Σw·n = (2·4 + 5·1 + 1·2) / (2·6 + 5·2 + 1·3) = 15 / 25; the stratified variance
    # (12/25)²·(2/9)/6 + (10/25)²·(1/4)/2 + (3/25)²·(2/9)/3 = 0.0296, n_eff = 0.24 / 0.0296.
    assert weighted.value == pytest.approx(0.6, abs=1e-15)
    assert weighted.effective_n == pytest.approx(300 / 37, abs=1e-12)
    assert {(s.stratum, s.weight, s.accuracy.k, s.accuracy.n) for s in weighted.weights} == {
        ("VH", 2.0, 4, 6),
        ("HS", 5.0, 1, 2),
        ("NONE", 1.0, 2, 3),
    }
    expected = wilson(0.6 * 300 / 37, 300 / 37)
    assert expected is not None and weighted.interval is not None
    assert weighted.interval.low == pytest.approx(expected.low, rel=1e-14)
    assert weighted.interval.high == pytest.approx(expected.high, rel=1e-14)
    assert (round(expected.low, 4), round(expected.high, 4)) == (0.2882, 0.8475)


def test_a_batch_without_weights_has_no_weighted_figure(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    known_set(workspace, tmp_path / "known", weights=None)
    assert workspace.reports.performance().weighted is None


def test_filters_select_cases(ws: Workspace) -> None:
    only_vh = ws.reports.performance(ReportFilter(policies=("VH",)))
    assert (only_vh.overall.accuracy.k, only_vh.overall.accuracy.n) == (4, 6)
    late = ws.reports.performance(ReportFilter(date_from="2026-11-02", date_to="2026-11-02"))
    assert (late.overall.accuracy.k, late.overall.accuracy.n, late.overall.disputed) == (1, 2, 1)
    assert ws.reports.performance(ReportFilter(markets=("FR",))).overall.accuracy.n == 0
    m1 = ws.reports.performance(ReportFilter(moderators=("m-1",)), by=("moderator",))
    assert [row.key for row in m1.accuracy.rows] == [("m-1",)]


def test_case_ids_behind_a_figure(ws: Workspace) -> None:
    flt = ReportFilter()
    assert ws.reports.case_ids(flt, {"policy": "VH"}, ["over_enforcement"]) == ["vh-4", "vh-5"]
    assert ws.reports.case_ids(flt, {"policy": "HS"}, ["disputed"]) == ["hs-2"]
    assert ws.reports.case_ids(flt, {"week": "2026-W45"}, ["open"]) == ["nv-3"]
    assert ws.reports.case_ids(flt, {}, ["wrong_policy", "under_enforcement"]) == ["hs-1", "nv-2"]
    assert ws.reports.case_ids(flt, {"orig_label": "vh_remove", "final_label": "no_violation"}) == [
        "vh-5"
    ]
    with pytest.raises(ValueError, match="unknown report column 'text'"):
        ws.reports.case_ids(flt, {"text": "x"})
    assert len(ws.reports.case_ids(flt)) == 14


@pytest.mark.parametrize(
    ("by", "words"),
    [
        ((), "one or two"),
        (("policy", "market", "week"), "one or two"),
        (("colour",), "unknown dimension 'colour'"),
        (("policy", "policy"), "twice"),
    ],
)
def test_bad_breakdowns_are_refused(ws: Workspace, by: tuple[str, ...], words: str) -> None:
    with pytest.raises(ReportError, match=words):
        ws.reports.performance(by=by)


def test_a_bad_date_is_refused(ws: Workspace) -> None:
    with pytest.raises(ReportError, match="from: expected a date YYYY-MM-DD, got '2026-13-01'"):
        ws.reports.performance(ReportFilter(date_from="2026-13-01"))


# -- sampling weights in the batch format ------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ("policy", "field 'sampling_weights': expected an object with exactly"),
        (None, "field 'sampling_weights': expected an object with exactly"),
        ({"stratum": "policy"}, "field 'sampling_weights': expected an object with exactly"),
        ({"stratum": "colour", "weights": {"VH": 1}}, "sampling_weights'.stratum: expected one"),
        ({"stratum": "policy", "weights": {}}, "weights: expected a non-empty object"),
        ({"stratum": "policy", "weights": {"VH": 0}}, "weights['VH']: expected a number above 0"),
        (
            {"stratum": "policy", "weights": {"VH": -2}},
            "expected a number above 0, got a number (-2)",
        ),
        (
            {"stratum": "policy", "weights": {"VH": True}},
            "expected a number above 0, got a boolean (true)",
        ),
        ({"stratum": "market", "weights": {"VH": "2"}}, "expected a number above 0, got '2'"),
        ({"stratum": "market", "weights": {"": 2}}, "must not be empty"),
    ],
)
def test_bad_sampling_weights_are_refused(
    workspace: Workspace, tmp_path: Path, weights: object, problem: str
) -> None:
    folder = write_batch(tmp_path / "b", [case_record("w-1", "text", [], tags=[])])
    header = batch_header(sampling_weights=weights)
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(BatchError) as caught:
        workspace.batches.import_batch(folder)
    assert "batch.json" in str(caught.value)
    assert problem in str(caught.value)
    assert workspace.queue.case("w-1") is None  # nothing half-imported


def test_sampling_weights_are_stored(workspace: Workspace, tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", [case_record("w-1", "text", [], tags=[])])
    header = batch_header(sampling_weights={"stratum": "market", "weights": {"DE": 2.5}})
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    workspace.batches.import_batch(folder)
    (stored,) = (
        workspace.database_for_tests().execute("SELECT sampling_weights FROM batches").fetchone()
    )
    assert json.loads(stored) == {"stratum": "market", "weights": {"DE": 2.5}}


# -- XLSX and CSV ------------------------------------------------------------------------------


def test_xlsx_reads_back_cell_by_cell(ws: Workspace, tmp_path: Path) -> None:
    report = ws.reports.performance(by=("policy",))
    path = ws.reports.write_xlsx(report, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "summary",
        "accuracy",
        "weekly",
        "taxonomy",
        "confusion",
        "flags",
        "throughput",
        "time_on_case",
        "weighted",
    ]
    sheet = book["accuracy"]
    header = [c.value for c in sheet[1]][:15]
    assert header == [
        "policy", "accuracy", "ci_low", "ci_high", "agree", "n", "over_enforcement",
        "under_enforcement", "wrong_policy", "wrong_action", "unknown_label", "disputed",
        "open", "note", None,
    ]  # fmt: skip
    # Excel keeps 15 significant digits; XlsxWriter writes 16 (%.16G), so compare to 1e-15.
    rows = {
        r[0]: tuple(pytest.approx(v, rel=1e-15) if isinstance(v, float) else v for v in r)
        for r in sheet.iter_rows(min_row=2, max_col=14, values_only=True)
    }
    vh = wilson(4, 6)
    assert vh is not None
    assert rows["VH"] == (
        "VH", 4 / 6, vh.low, vh.high, 4, 6, 2, 0, 0, 0, 0, 0, 0, "small n (<30)",
    )  # fmt: skip
    total = wilson(7, 11)
    assert total is not None
    assert rows["all"] == (
        "all", 7 / 11, total.low, total.high, 7, 11, 2, 1, 1, 0, 1, 1, 1, "small n (<30)",
    )  # fmt: skip
    assert sheet["B2"].number_format == "0.0%"
    assert sheet.freeze_panes == "A2"
    assert book["summary"]["B2"].value is None
    summary = {r[0]: r[1] for r in book["summary"].iter_rows(values_only=True) if r[0]}
    assert summary["accuracy (QA score)"] == "63.6% (95% CI 35.4%–84.8%, 7 of 11, small n (<30))"
    assert summary["over-enforcement"] == "25.0% (95% CI 7.1%–59.1%, 2 of 8, small n (<30))"
    assert summary["weighted accuracy"] == "60.0% (95% CI 28.8%–84.7%, effective n=8.1)"
    with zipfile.ZipFile(path) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        xml = b"".join(archive.read(n) for n in charts)
    assert len(charts) == 3
    assert xml.count(b"<c:errBars>") == 2 and b'<c:errBarType val="both"/>' in xml
    assert b'<c:grouping val="stacked"/>' in xml


def test_xlsx_writes_formula_text_as_text(workspace: Workspace, tmp_path: Path) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    rec = case_record("f-1", "text", [], tags=[])
    rec["decision"]["queue"] = '=HYPERLINK("http://evil.example","x")'
    workspace.batches.import_batch(write_batch(tmp_path / "b", [rec]))
    report = workspace.reports.performance(by=("queue",))
    path = workspace.reports.write_xlsx(report, tmp_path / "r.xlsx")
    cell = openpyxl.load_workbook(path)["accuracy"]["A2"]
    assert cell.value == '=HYPERLINK("http://evil.example","x")'
    assert cell.data_type == "s"  # a string, not a formula
    with zipfile.ZipFile(path) as archive:
        assert b"<f>HYPERLINK" not in archive.read("xl/worksheets/sheet2.xml")
    folder = workspace.reports.write_csv(report, tmp_path / "csv")[0].parent
    with (folder / "accuracy.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    assert first["queue"] == '\'=HYPERLINK("http://evil.example","x")'


def test_csv_tables(ws: Workspace, tmp_path: Path) -> None:
    report = ws.reports.performance(by=("policy", "market"))
    paths = ws.reports.write_csv(report, tmp_path / "csv")
    assert [p.name for p in paths] == [
        "accuracy.csv", "weekly.csv", "taxonomy.csv", "confusion.csv", "flags.csv",
        "throughput.csv", "time_on_case.csv", "weighted.csv",
    ]  # fmt: skip
    with paths[0].open(encoding="utf-8") as handle:
        rows = {(r["policy"], r["market"]): r for r in csv.DictReader(handle)}
    assert rows[("HS", "DE")]["accuracy"] == "0.5"
    assert rows[("HS", "DE")]["disputed"] == "1"
    assert rows[("all", "all")]["n"] == "11"
    assert not list((tmp_path / "csv").glob("*.part"))


def test_a_failed_xlsx_write_leaves_no_file(ws: Workspace, tmp_path: Path) -> None:
    from qa_desktop.core.api import Cancelled

    report = ws.reports.performance()
    with pytest.raises(Cancelled):
        ws.reports.write_xlsx(report, tmp_path / "r.xlsx", cancelled=lambda: True)
    assert list(tmp_path.glob("r.xlsx*")) == []


# -- the reviewer's own exposure: theirs only, exported only on request --------------------------


def _exposure(ws: Workspace) -> None:
    from qa_desktop.core.api import ExposureSpan

    session = ws.wellbeing.start_session()
    ws.wellbeing.record_exposure(
        session, ExposureSpan("vh-0", "violence", "2026-11-04T10:00:00Z", 1500.0, 3000.0)
    )
    ws.wellbeing.record_exposure(
        session, ExposureSpan("vh-1", "violence", "2026-11-04T10:01:00Z", 500.0, 1000.0)
    )
    db = ws.database_for_tests()  # someone else's session on this machine: never shown
    db.execute(
        "INSERT INTO review_sessions (id, reviewer_id, started_at)"
        " VALUES ('s-other', 'other-reviewer', '2026-11-04T09:00:00Z')"
    )
    db.execute(
        "INSERT INTO exposure (session_id, case_id, category, started_at, unblurred_ms,"
        " weighted_ms) VALUES ('s-other', 'vh-2', 'gore', '2026-11-04T09:00:00Z', 9000, 9000)"
    )


def test_my_exposure_is_mine_only_and_exported_only_on_request(
    ws: Workspace, tmp_path: Path
) -> None:
    _exposure(ws)
    (row,) = ws.reports.my_exposure()
    assert (row.category, row.spans, row.unblurred_ms, row.weighted_ms) == (
        "violence",
        2,
        2000,
        4000,
    )
    report = ws.reports.performance()
    plain = ws.reports.write_xlsx(report, tmp_path / "plain.xlsx")
    assert "my_exposure" not in openpyxl.load_workbook(plain).sheetnames
    assert not (tmp_path / "csv" / "my_exposure.csv").exists()
    ws.reports.write_csv(report, tmp_path / "csv")
    assert not (tmp_path / "csv" / "my_exposure.csv").exists()
    mine = ws.reports.write_xlsx(report, tmp_path / "mine.xlsx", include_my_exposure=True)
    sheet = openpyxl.load_workbook(mine)["my_exposure"]
    assert [[c.value for c in r] for r in sheet.iter_rows()] == [
        ["category", "spans", "unblurred_seconds", "weighted_seconds"],
        ["violence", 2, 2, 4],
    ]
    paths = ws.reports.write_csv(report, tmp_path / "csv2", include_my_exposure=True)
    assert paths[-1].name == "my_exposure.csv"
    assert "gore" not in paths[-1].read_text(encoding="utf-8")
    assert ws.reports.my_exposure(ReportFilter(date_from="2026-11-05")) == ()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    weights=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=6,
    )
)
def test_any_sampling_weights_value_is_taken_or_refused_cleanly(
    workspace: Workspace, tmp_path_factory: pytest.TempPathFactory, weights: object
) -> None:
    """Whatever JSON a header carries there, the import takes it or raises a BatchError that
    names batch.json; nothing else escapes."""
    tag = f"h{abs(hash(repr(weights))) % 10**12}"
    folder = write_batch(tmp_path_factory.mktemp("h"), [case_record(tag, "text", [], tags=[])])
    header = batch_header(tag, sampling_weights=weights)
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    try:
        workspace.batches.import_batch(folder)
    except BatchError as exc:
        assert "batch.json" in str(exc) and "sampling_weights" in str(exc)
        assert workspace.queue.case(tag) is None
    else:
        assert isinstance(weights, dict) and set(weights) == {"stratum", "weights"}


def test_reports_read_the_maintained_final_verdicts_not_the_view(ws: Workspace) -> None:
    """The rows a report starts from come from ``case_finals`` (one row a case), never from
    the ``final_verdicts`` view's correlated subqueries evaluated for every case (seconds at
    a million cases); the figures' tests above hold the meaning unchanged."""
    sql, params = select_rows_sql(ReportFilter())
    plan = [
        str(row[-1]) for row in ws.database_for_tests().execute(f"EXPLAIN QUERY PLAN {sql}", params)
    ]
    assert not [step for step in plan if "CORRELATED" in step], plan
