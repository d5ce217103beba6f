"""The findings one row per flagged verdict (notes, market, moderator, reviewer): core, the
CLI's --cases, and the findings dialog's "Export cases CSV…" button, every cell
spreadsheet-safe."""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from qa_desktop.cli import cli
from qa_desktop.core.api import FINDING_CASE_CSV_FIELDS, FindingCase, write_cases_csv
from qa_desktop.core.verdicts import Citation, record_verdict
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.findings_dialog import FindingsDialog
from qa_desktop.ui.workers import WorkspaceTask

from .factory import case_record, write_batch
from .recording import record
from .windows import answer_dialog, open_window


def _decision(moderator: str) -> dict:
    return {"label": "vh_remove", "policy": "VH", "moderator_id": moderator,
            "queue": "vh-fast", "decided_at": "2026-10-30T12:00:00Z"}  # fmt: skip


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    """t-0 (DE, m-1) and t-1 (FR, =HYPERLINK moderator) RCA-escalated by the local reviewer
    with notes; t-2 flagged a policy gap; t-3 disputed by Ana, both escalating."""
    workspace.guidelines.import_pack(DEMO_PACK)
    records = [
        case_record("t-0", "text", [], tags=[], market="DE", decision=_decision("m-1")),
        case_record("t-1", "text", [], tags=[], market="FR",
                    decision=_decision('=HYPERLINK("http://x","m")')),
        case_record("t-2", "text", [], tags=[], market="DE", decision=_decision("m-2")),
        case_record("t-3", "text", [], tags=[], market="PL", decision=_decision("m-3")),
    ]  # fmt: skip
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    cite = Citation("demo-global", "1.0.0", "VH-2.3")
    record(workspace, "t-0", "vh_remove", [cite], notes="blood, but news", rca_reason="other",
           rca_note="frontline missed the context")  # fmt: skip
    record(workspace, "t-1", "no_violation", notes="+cheap laugh", rca_reason="guideline_misread")
    record(workspace, "t-2", "vh_remove", [cite], notes="", gap_kind="ambiguous", gap_note="?")
    record(workspace, "t-3", "no_violation", rca_reason="other", notes="mine")
    db = workspace.database_for_tests()
    db["reviewers"].insert({"id": "r-ana", "display_name": "Ana", "created_at": "2026-11-01"})
    record_verdict(db, case_id="t-3", reviewer_id="r-ana", label="vh_remove",
                   citations=[cite], rca_reason="other", notes="hers")  # fmt: skip
    return workspace


def test_rca_cases_are_one_row_per_deciding_verdict_with_notes_and_people(ws: Workspace) -> None:
    rows = ws.reports.rca_cases()
    me = ws.reviewer.display_name  # type: ignore[union-attr]
    assert [(r.case_id, r.reviewer, r.notes) for r in rows] == [
        ("t-0", me, "blood, but news"),
        ("t-1", me, "+cheap laugh"),
        ("t-3", me, "mine"),  # disputed: both verdicts, no flag lost
        ("t-3", "Ana", "hers"),
    ]
    first = rows[0]
    assert (first.market, first.moderator, first.queue, first.section_ids) == (
        "DE", "m-1", "vh-fast", ("VH-2.3",)
    )  # fmt: skip
    assert (first.kind, first.flag_note, first.label, first.original_label) == (
        "other", "frontline missed the context", "vh_remove", "vh_remove"
    )  # fmt: skip
    assert rows[1].section_ids == ("(no section)",) and rows[1].market == "FR"
    assert sum(g.count for g in ws.reports.rca_escalations()) == len(rows)
    (gap,) = ws.reports.gap_cases()
    assert (gap.case_id, gap.kind, gap.flag_note) == ("t-2", "ambiguous", "?")
    assert [r.case_id for r in ws.reports.rca_cases("r-ana")] == ["t-3"]


def test_the_cases_csv_is_spreadsheet_safe(ws: Workspace, tmp_path: Path) -> None:
    out = write_cases_csv(ws.reports.rca_cases(), tmp_path / "cases.csv")
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(FINDING_CASE_CSV_FIELDS)
    assert rows[1]["moderator"] == '\'=HYPERLINK("http://x","m")'
    assert rows[1]["notes"] == "'+cheap laugh"
    assert rows[0]["notes"] == "blood, but news" and rows[0]["reviewer"] != ""
    empty = write_cases_csv([], tmp_path / "none.csv").read_text(encoding="utf-8")
    assert empty.splitlines() == [",".join(FINDING_CASE_CSV_FIELDS)]


def _invoke(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj={})
    return result.exit_code, result.output


def test_cli_findings_cases_print_and_write(ws: Workspace, tmp_path: Path) -> None:
    code, out = _invoke(ws.data_dir, "findings", "rca", "--cases")
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out), delimiter="\t"))
    assert [r["case_id"] for r in rows] == ["t-0", "t-1", "t-3", "t-3"]
    assert rows[1]["moderator"].startswith("'=")
    target = tmp_path / "gap-cases.csv"
    code, out = _invoke(ws.data_dir, "findings", "gaps", "--cases", "--csv", str(target))
    assert code == 0 and "1 flagged verdicts written" in out
    with target.open(encoding="utf-8", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["case_id"], row["market"], row["moderator"], row["kind"]) == (
        "t-2", "DE", "m-2", "ambiguous"
    )  # fmt: skip


def test_the_findings_dialog_exports_the_cases_with_a_click(
    qtbot: QtBot, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot, ws)
    target = tmp_path / "from-gui.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    seen: list[list[FindingCase]] = []

    def export_cases(dialog: FindingsDialog) -> None:
        qtbot.waitUntil(lambda: dialog.loaded)  # read in a worker
        seen.append(dialog.cases)
        assert dialog.export_cases_button.isEnabled()
        qtbot.mouseClick(dialog.export_cases_button, Qt.MouseButton.LeftButton)
        dialog.reject()

    with answer_dialog(qtbot, export_cases, kind=FindingsDialog):
        window.show_rca_escalations()
    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["case_id"] for r in rows] == ["t-0", "t-1", "t-3", "t-3"]
    assert rows[3]["reviewer"] == "Ana" and rows[3]["notes"] == "hers"


def test_findings_are_read_in_a_worker_and_the_keys_typed_meanwhile_wait_for_them(
    qtbot: QtBot, ws: Workspace
) -> None:
    """Issue 15: the findings queries ran on the GUI thread before their dialog showed. The
    dialog now shows at once, saying it reads; Down and Return typed before the rows arrive
    act on them when they do (the second section's example case opens)."""
    window = open_window(qtbot, ws)
    groups = ws.reports.rca_escalations()
    assert len(groups) >= 2
    wanted = groups[1].example_case_ids[0]
    # The window's worker is busy with an earlier task, so the findings wait behind it.
    busy, release = threading.Event(), threading.Event()

    def earlier(_ws: Workspace) -> None:
        busy.set()
        release.wait(10)

    window.tasks.start(WorkspaceTask(0, ws.data_dir, earlier, window.task_signals))
    assert busy.wait(10)
    statements: list[str] = []
    conn = ws.database_for_tests().conn
    conn.set_trace_callback(
        lambda sql: None if sql.lstrip().upper().startswith("PRAGMA") else statements.append(sql)
    )
    seen: list[str] = []
    before_shown: list[str] = []

    def type_ahead(dialog: FindingsDialog) -> None:
        seen.append(dialog.summary.text())
        before_shown.extend(statements)
        assert not dialog.loaded and dialog.table.rowCount() == 0
        qtbot.keyClick(dialog.table, Qt.Key.Key_Down)
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
        assert dialog.isVisible()  # nothing to open yet: the keys wait
        release.set()

    try:
        with answer_dialog(qtbot, type_ahead, kind=FindingsDialog):
            window.show_rca_escalations()
    finally:
        release.set()
        conn.set_trace_callback(None)
    assert seen == ["Reading the flagged verdicts…"]
    assert window.review.case is not None and window.review.case.id == wanted
    assert before_shown == []  # no findings query on the GUI connection before it showed
