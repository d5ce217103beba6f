"""One definition of a case's final verdict (the ``final_verdicts`` view) and its readers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.verdicts import record_verdict
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import case_record, write_batch
from .recording import record
from .windows import open_window


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    records = [case_record(f"t-{i}", "text", [], tags=[]) for i in range(5)]
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    return workspace


def other(ws: Workspace, case_id: str, label: str, reviewer: str = "bo", **details: object) -> None:
    """Another reviewer's verdict, as a merged bundle brings it."""
    cite = ws.verdicts.citation(case_id, "VH-2.3") if label == "vh_remove" else None
    record_verdict(
        ws.database_for_tests(),
        case_id=case_id,
        reviewer_id=reviewer,
        label=label,
        citations=[cite] if cite else [],
        **details,
    )  # type: ignore[arg-type]


def arbiter(ws: Workspace, case_id: str, label: str) -> None:
    """An arbiter's ruling (a calibration session's SME), planted as an event row."""
    from qa_desktop.core.verdicts import VerdictEvent

    cite = ws.verdicts.citation(case_id, "VH-2.3") if label == "vh_remove" else None
    event = VerdictEvent(
        id=f"rule-{case_id}",
        case_id=case_id,
        reviewer_id="lead",
        label=label,
        citations=(cite,) if cite else (),
        created_at="2026-12-01T00:00:00.000Z",
        role="arbiter",
        session_id="s-1",
    )
    ws.database_for_tests()["verdicts"].insert(event.to_row())


def test_no_verdict_is_open_and_one_verdict_is_final(ws: Workspace) -> None:
    assert ws.verdicts.final("t-0").status == "open"  # type: ignore[union-attr]
    event = record(ws, "t-0", "vh_remove")
    final = ws.verdicts.final("t-0")
    assert final is not None and final.status == "decided" and final.event == event
    assert ws.verdicts.final("nope") is None


def test_reviewers_who_agree_decide_and_who_disagree_dispute(ws: Workspace) -> None:
    record(ws, "t-0", "vh_remove")
    other(ws, "t-0", "vh_remove")
    assert ws.verdicts.final("t-0").status == "decided"  # type: ignore[union-attr]
    assert ws.verdicts.final("t-0").label == "vh_remove"  # type: ignore[union-attr]
    record(ws, "t-1", "vh_remove")
    other(ws, "t-1", "no_violation")
    disputed = ws.verdicts.final("t-1")
    assert disputed is not None and disputed.status == "disputed"
    assert disputed.event is None and disputed.label is None
    row = ws.queue.row("t-1")
    assert row is not None and row.disputed and row.final_label is None
    assert row.my_label == "vh_remove" and row.outcome is None  # no final verdict, no outcome
    assert [r.id for r in ws.queue.page(filter=QueueFilter(status="disputed"))] == ["t-1"]
    assert ws.queue.count(QueueFilter(status="disputed")) == 1


def test_an_arbiters_ruling_is_final_over_any_dispute(ws: Workspace) -> None:
    record(ws, "t-2", "vh_remove")
    other(ws, "t-2", "no_violation")
    arbiter(ws, "t-2", "no_violation")
    final = ws.verdicts.final("t-2")
    assert final is not None and final.status == "ruled" and final.label == "no_violation"
    row = ws.queue.row("t-2")
    assert row is not None and not row.disputed and row.final_label == "no_violation"
    # The frontline removed (vh_remove); the ruling says no violation.
    assert row.outcome == "over_enforcement" and row.my_label == "vh_remove"


def test_calibration_votes_never_decide_a_case(ws: Workspace) -> None:
    from qa_desktop.core.verdicts import VerdictEvent

    vote = VerdictEvent(
        id="vote-1",
        case_id="t-3",
        reviewer_id="cy",
        label="no_violation",
        created_at="2026-12-01T00:00:00.000Z",
        role="participant",
        session_id="s-1",
    )
    ws.database_for_tests()["verdicts"].insert(vote.to_row())
    assert ws.verdicts.final("t-3").status == "open"  # type: ignore[union-attr]


def test_a_retraction_takes_a_verdict_out_of_the_final_view(ws: Workspace) -> None:
    record(ws, "t-4", "vh_remove")
    other(ws, "t-4", "no_violation")
    assert ws.verdicts.final("t-4").status == "disputed"  # type: ignore[union-attr]
    ws.verdicts.undo("t-4")
    final = ws.verdicts.final("t-4")
    assert final is not None and final.status == "decided" and final.label == "no_violation"


def test_findings_keep_every_flag_of_a_disputed_case(ws: Workspace) -> None:
    record(ws, "t-0", "vh_remove", rca_reason="frontline_error")
    other(ws, "t-0", "no_violation", rca_reason="tooling_issue")
    groups = ws.reports.rca_escalations()
    assert sorted(k for g in groups for k, _ in g.kinds) == ["frontline_error", "tooling_issue"]
    arbiter(ws, "t-0", "no_violation")  # ruled: only the ruling's own flags count now
    assert ws.reports.rca_escalations() == []


def test_the_workspace_is_a_context_manager(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "d") as ws:
        assert ws.is_open
    assert not ws.is_open


def test_the_lead_filters_disputed_cases_and_sees_why(qtbot: QtBot, ws: Workspace) -> None:
    record(ws, "t-1", "vh_remove")
    other(ws, "t-1", "no_violation")
    window = open_window(qtbot, ws)
    bar = window.review.filter_bar
    bar.status.setCurrentIndex(bar.status.findData("disputed"))
    model = window.review.model
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.case_id_at(0) == "t-1"
    window.review.open_case("t-1")
    assert "disputed: reviewers disagree" in window.review.header.text()
