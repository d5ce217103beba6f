"""The calibration session report (issue 11): per case and per session figures, exports,
low-agreement cases filed as policy gaps, and the drift line in the performance report.

The session is built by hand through the room; every expected figure below is worked out by
hand in the comments (categories: the demo pack's 9 labels).
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.api import ReportFilter, VerdictDraft, report_tables
from qa_desktop.core.workspace import Workspace

from .factory import make_workspace
from .recording import supporting_citation

SESSION_VOTES = {
    # case: (Ana, Bo, "=1+2"), ruling
    "t-0": (("vh_remove", "vh_remove", "vh_remove"), "vh_remove"),
    "t-1": (("vh_remove", "no_violation", "hs_remove"), "vh_remove"),
    "t-2": (("no_violation", "no_violation", "vh_remove"), "no_violation"),
}
PEOPLE = ("Ana", "Bo", "=1+2")  # a name a spreadsheet would run as a formula


def build_session(ws: Workspace, name: str = "DE46") -> str:
    """Three revealed and ruled cases (t-0..t-2) and one voted but not revealed (t-3)."""
    room = ws.calibration
    session = room.create(name, cases=["t-0", "t-1", "t-2", "t-3"], participants=list(PEOPLE))
    for case_id, (labels, ruling) in SESSION_VOTES.items():
        for who, label in zip(PEOPLE, labels, strict=True):
            room.vote(session.id, case_id, who, label)
        room.reveal(session.id, case_id)
        room.rule(
            session.id, case_id, VerdictDraft(ruling, supporting_citation(ws, case_id, ruling))
        )
    room.vote(session.id, "t-3", "Ana", "sp_reduce")
    room.vote(session.id, "t-3", "Bo", "sp_reduce")
    return session.id


@pytest.fixture
def lead(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path, "Lead", cases=4, key=False)
    yield ws
    ws.close()


def test_the_session_figures_match_a_hand_computation(lead: Workspace) -> None:
    build_session(lead)
    report = lead.calibration.report("DE46")
    a = report.agreement
    assert a.cases == 3  # revealed cases only: t-3's votes are not counted
    # Pairs agreeing: t-0 3/3, t-1 0/3, t-2 1/3 -> mean 4/9.
    assert round(a.percent.value, 3) == 0.444
    # Wilson with 4/3 successes of 3 cases.
    assert (round(a.percent.interval.low, 3), round(a.percent.interval.high, 3)) == (0.102, 0.849)
    # Label shares vh 5/9, nv 3/9, hs 1/9: Pe = 35/81, kappa = (36/81 - 35/81) / (46/81) = 1/46.
    assert round(a.fleiss_kappa.value, 3) == 0.022
    assert a.fleiss_kappa.band == "slight"
    # Do = 5/9, De = 1 - (5*4 + 3*2) / (9*8) = 46/72: alpha = 1 - 40/46 = 6/46.
    assert round(a.alpha.value, 3) == 0.130
    assert a.alpha.band == "unreliable" and "Krippendorff" in a.alpha.bands.source
    # Pe(AC1) = (46/81) / (9 - 1); AC1 = (4/9 - Pe) / (1 - Pe).
    assert round(a.ac1.value, 3) == 0.402
    assert a.ac1.interval is not None and "Landis" in a.ac1.bands.source
    kappas = {(p.rater_a, p.rater_b): round(p.kappa.value, 3) for p in a.pairwise.pairs}
    # Ana/Bo: po 2/3, pe 4/9 -> 0.4; Ana/=1+2: po 1/3, pe 4/9 -> -0.2; Bo/=1+2: 1/7.
    assert kappas == {("=1+2", "Ana"): -0.2, ("=1+2", "Bo"): 0.143, ("Ana", "Bo"): 0.4}
    with_ruling = {r.rater: (r.matches, r.cases) for r in a.with_ruling}
    assert with_ruling == {"Ana": (3, 3), "Bo": (2, 3), "=1+2": (1, 3)}
    ana = next(r for r in a.with_ruling if r.rater == "Ana")
    assert round(ana.rate.interval.low, 3) == 0.439  # Wilson 3 of 3: 0.4385

    rows = {c.case_id: c for c in report.cases}
    assert [c.status for c in report.cases] == ["ruled", "ruled", "ruled", "not revealed"]
    t1 = rows["t-1"]
    assert dict(t1.distribution)["hs_remove"] == 1 and len(t1.distribution) == 9
    assert t1.majority == "no_violation / vh_remove / hs_remove"  # a tie, pack order
    assert round(t1.majority_share, 3) == 0.333 and t1.agreement == 0.0
    assert t1.ruling == "vh_remove" and t1.ruling_sections
    assert round(t1.ruling_share, 3) == 0.333
    assert rows["t-0"].majority == "vh_remove" and rows["t-0"].agreement == 1.0
    assert rows["t-2"].majority == "no_violation" and round(rows["t-2"].agreement, 3) == 0.333
    for row in report.cases[:3]:
        assert row.voting_seconds is not None and row.discussion_seconds is not None
        assert row.total_seconds == pytest.approx(row.voting_seconds + row.discussion_seconds)
    hidden = rows["t-3"]
    assert (hidden.votes, hidden.distribution, hidden.majority) == (0, None, "")
    assert hidden.first_vote_at is None and "sp_reduce" not in repr(hidden)
    # t-1: agreement 0 and the ruling drew 1/3; t-2: agreement 1/3 < 0.6.
    assert [c.case_id for c in report.flagged] == ["t-1", "t-2"]
    assert "percent agreement 0.333 < 0.6" in rows["t-2"].flag_reason
    assert "the ruling drew 33%" in t1.flag_reason


def test_xlsx_reads_back_cell_by_cell_with_text_kept_as_text(
    lead: Workspace, tmp_path: Path
) -> None:
    build_session(lead)
    out = tmp_path / "s.xlsx"
    lead.calibration.write_report(lead.calibration.report("DE46"), out, "xlsx")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["session", "metrics", "cases", "pairwise", "with_ruling"]
    cases = book["cases"]
    assert cases.freeze_panes == "A2"
    header = [c.value for c in cases[1]]
    assert header[:4] == ["case_id", "status", "votes", "no_violation"]
    t1 = dict(zip(header, [c.value for c in cases[3]], strict=True))
    assert (t1["case_id"], t1["status"], t1["votes"], t1["hs_remove"]) == ("t-1", "ruled", 3, 1)
    assert t1["flag"] == "low agreement" and t1["ruling"] == "vh_remove"
    assert cases.cell(3, header.index("majority_share") + 1).number_format == "0.0%"
    t3 = dict(zip(header, [c.value for c in cases[5]], strict=True))
    assert t3["status"] == "not revealed"
    assert [k for k, v in t3.items() if v not in (None, "")] == ["case_id", "status"]
    metrics = book["metrics"]
    by_name = {row[0].value: [c.value for c in row] for row in metrics.iter_rows(min_row=2)}
    assert round(by_name["Gwet's AC1"][1], 3) == 0.402
    assert by_name["Gwet's AC1"][5] == "fair"
    assert "Landis" in by_name["Gwet's AC1"][6]
    pairwise = book["pairwise"]
    cell = pairwise["A2"]
    assert cell.value == "=1+2" and cell.data_type == "s"  # text, never a formula


def test_csv_cells_are_spreadsheet_safe(lead: Workspace, tmp_path: Path) -> None:
    build_session(lead)
    written = lead.calibration.write_report(
        lead.calibration.report("DE46"), tmp_path / "csv", "csv"
    )
    assert sorted(p.name for p in written) == [
        "cases.csv",
        "metrics.csv",
        "pairwise.csv",
        "session.csv",
        "with_ruling.csv",
    ]
    with (tmp_path / "csv" / "pairwise.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["rater_a"] == "'=1+2"
    with (tmp_path / "csv" / "cases.csv").open(encoding="utf-8") as f:
        cases = list(csv.DictReader(f))
    assert cases[3]["status"] == "not revealed" and cases[3]["sp_reduce"] == ""
    assert not list((tmp_path / "csv").glob("*.part"))


def test_csv_into_a_file_is_refused_naming_it(lead: Workspace, tmp_path: Path) -> None:
    build_session(lead)
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    args = ["--data-dir", str(lead.data_dir), "calibration", "report", "DE46"]
    result = CliRunner().invoke(cli, [*args, "--format", "csv", "--out", str(blocker)])
    assert result.exit_code == 1 and str(blocker) in result.output
    assert blocker.read_text() == "x"


def test_filing_low_agreement_cases_as_policy_gaps_is_idempotent(lead: Workspace) -> None:
    build_session(lead)
    first = lead.calibration.file_policy_gaps("DE46")
    assert first.filed == ("t-1", "t-2") and first.already == ()
    again = lead.calibration.file_policy_gaps("DE46")
    assert again.filed == () and again.already == ("t-1", "t-2")
    gaps = lead.reports.gap_cases()
    assert sorted(g.case_id for g in gaps) == ["t-1", "t-2"]
    assert {g.kind for g in gaps} == {"ambiguous"}
    assert all("DE46" in g.flag_note for g in gaps)
    assert sum(g.count for g in lead.reports.policy_gaps()) == 2
    # The ruling stays the final verdict, with its label and citations.
    final = lead.verdicts.final("t-1")
    assert final is not None and final.label == "vh_remove" and final.event.citations
    report = lead.calibration.report("DE46")
    assert [c.gap_filed for c in report.cases] == [False, True, True, False]


def test_the_cli_exports_and_files_gaps_once(lead: Workspace, tmp_path: Path) -> None:
    build_session(lead)
    base = ["--data-dir", str(lead.data_dir), "calibration"]
    out = tmp_path / "s.xlsx"
    run = CliRunner().invoke(
        cli, [*base, "report", "DE46", "--format", "xlsx", "--out", str(out), "--file-gaps"]
    )
    assert run.exit_code == 0, run.output
    assert "3 of 4 cases revealed, 2 flagged" in run.output
    assert "filed 2 policy gap(s): t-1, t-2" in run.output
    assert openpyxl.load_workbook(out).sheetnames[0] == "session"
    again = CliRunner().invoke(cli, [*base, "file-gaps", "DE46"])
    assert again.exit_code == 0 and "filed 0 policy gap(s)" in again.output
    assert "already filed: t-1, t-2" in again.output
    missing = CliRunner().invoke(cli, [*base, "report", "nope", "--out", str(out)])
    assert missing.exit_code == 1 and "unknown-session" in missing.output


def test_the_drift_line_has_a_row_per_session(lead: Workspace, tmp_path: Path) -> None:
    build_session(lead)
    room = lead.calibration
    second = room.create("DE47", cases=["t-0", "t-1"], participants=["Ana", "Bo"])
    for case_id in ("t-0", "t-1"):
        room.vote(second.id, case_id, "Ana", "vh_remove")
        room.vote(second.id, case_id, "Bo", "vh_remove" if case_id == "t-0" else "no_violation")
        room.reveal(second.id, case_id)
    report = lead.reports.performance()
    rows = [(r.session, r.market, r.policy, r.cases) for r in report.calibration]
    assert rows == [("DE46", "DE", "VH", 3), ("DE47", "DE", "VH", 2)]
    first, later = report.calibration
    assert round(first.percent.value, 3) == 0.444 and round(first.ac1.value, 3) == 0.402
    # DE47: one agreeing pair of two cases -> 0.5; shares vh 3/4, nv 1/4:
    # Pe = (3/16 + 3/16) / 8 = 0.046875, AC1 = (0.5 - Pe) / (1 - Pe) = 0.475.
    assert later.percent.value == 0.5 and round(later.ac1.value, 3) == 0.475
    table = next(t for t in report_tables(report) if t.name == "calibration")
    assert table.rows[1][:5] == (later.date, "DE47", "DE", "VH", 2)
    out = lead.reports.write_xlsx(report, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(out)
    assert [c.value for c in book["calibration"][3]][1:4] == ["DE47", "DE", "VH"]
    import zipfile

    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/")]
        assert any("Calibration agreement" in z.read(n).decode() for n in charts)
    assert lead.reports.performance(ReportFilter(policies=("HS",))).calibration == ()
