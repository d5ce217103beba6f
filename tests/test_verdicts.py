"""Verdict events: append-only, superseding edits and undo, effective verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_desktop.core.verdicts import Citation, case_history
from qa_desktop.core.workspace import Workspace

from .factory import case_record, write_batch


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    records = [case_record(f"t-{i}", "text", [], tags=[]) for i in range(3)]
    workspace.import_batch(write_batch(tmp_path / "b", records))
    return workspace


def test_record_is_written_at_once_with_uuid7_and_citations(ws: Workspace) -> None:
    cite = Citation("demo-global", "1.0.0", "VH-2.3", quote="visible injuries")
    event = ws.record_verdict("t-0", "vh_remove", [cite], "clear case", time_on_case_ms=1234)
    assert event.id[14] == "7"  # UUID version 7
    reopened = Workspace.open(ws.data_dir)
    stored = reopened.my_verdict("t-0")
    assert stored == event
    assert stored is not None and stored.citations == (cite,)
    reopened.close()


def test_an_edit_supersedes_and_keeps_the_old_event(ws: Workspace) -> None:
    first = ws.record_verdict("t-0", "vh_remove")
    second = ws.record_verdict("t-0", "no_violation")
    assert second.supersedes == first.id
    assert ws.my_verdict("t-0") == second
    assert [e.id for e in case_history(ws.db, "t-0")] == [first.id, second.id]


def test_undo_restores_the_previous_verdict_then_retracts(ws: Workspace) -> None:
    first = ws.record_verdict("t-1", "vh_remove", notes="a")
    ws.record_verdict("t-1", "hs_remove")
    undo = ws.undo_last_verdict("t-1")
    assert undo is not None and undo.label == "vh_remove" and undo.notes == "a"
    assert ws.my_verdict("t-1").label == "vh_remove"  # type: ignore[union-attr]
    retract = ws.undo_last_verdict("t-1")
    assert retract is not None and retract.label is None
    assert ws.my_verdict("t-1") is None
    assert ws.undo_last_verdict("t-1") is None  # nothing left to undo
    assert len(case_history(ws.db, "t-1")) == 4
    assert first in case_history(ws.db, "t-1")


def test_repeated_undo_walks_back_through_edits_and_never_redoes(ws: Workspace) -> None:
    ws.record_verdict("t-1", "vh_remove")
    ws.record_verdict("t-1", "hs_remove")
    ws.record_verdict("t-1", "sp_reduce")
    labels = [ws.undo_last_verdict("t-1").label for _ in range(3)]  # type: ignore[union-attr]
    assert labels == ["hs_remove", "vh_remove", None]
    ws.record_verdict("t-1", "an_remove")
    ws.record_verdict("t-1", "hb_remove")
    assert ws.undo_last_verdict("t-1").label == "an_remove"  # type: ignore[union-attr]
    assert ws.undo_last_verdict("t-1").label is None  # type: ignore[union-attr]
    assert len(case_history(ws.db, "t-1")) == 10


def test_two_reviewers_each_have_their_own_effective_verdict(ws: Workspace) -> None:
    from qa_desktop.core.verdicts import effective_verdict, record_verdict

    other = record_verdict(ws.db, case_id="t-2", reviewer_id="someone-else", label="sp_reduce")
    mine = ws.record_verdict("t-2", "no_violation")
    assert mine.supersedes is None
    assert effective_verdict(ws.db, "t-2", "someone-else") == other
    assert ws.my_verdict("t-2") == mine


def test_a_verdict_needs_a_label_and_a_known_case(ws: Workspace) -> None:
    with pytest.raises(ValueError):
        ws.record_verdict("t-0", "")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        ws.record_verdict("no-such-case", "vh_remove")
    assert ws.verdict_events() == []
