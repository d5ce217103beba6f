"""Verdict events: append-only, superseding edits and undo, effective verdicts."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from qa_desktop.core.api import RefusalReason, Refused, VerdictDraft
from qa_desktop.core.verdicts import Citation, VerdictEvent, case_history, record_verdict
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import case_record, write_batch
from .recording import record


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    records = [case_record(f"t-{i}", "text", [], tags=[]) for i in range(3)]
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    return workspace


def test_record_is_written_at_once_with_uuid7_and_citations(ws: Workspace) -> None:
    cite = Citation("demo-global", "1.0.0", "VH-2.3", quote="visible injuries")
    event = record(ws, "t-0", "vh_remove", [cite], "clear case", time_on_case_ms=1234)
    assert event.id[14] == "7"  # UUID version 7
    reopened = Workspace.open(ws.data_dir)
    stored = reopened.verdicts.mine("t-0")
    assert stored == event
    assert stored is not None and stored.citations == (cite,)
    reopened.close()


def test_an_edit_supersedes_and_keeps_the_old_event(ws: Workspace) -> None:
    first = record(ws, "t-0", "vh_remove")
    second = record(ws, "t-0", "no_violation")
    assert second.supersedes == first.id
    assert ws.verdicts.mine("t-0") == second
    assert [e.id for e in case_history(ws.database_for_tests(), "t-0")] == [first.id, second.id]


def test_undo_restores_the_previous_verdict_then_retracts(ws: Workspace) -> None:
    first = record(ws, "t-1", "vh_remove", notes="a")
    record(ws, "t-1", "hs_remove")
    undo = ws.verdicts.undo("t-1")
    assert undo is not None and undo.label == "vh_remove" and undo.notes == "a"
    assert ws.verdicts.mine("t-1").label == "vh_remove"  # type: ignore[union-attr]
    retract = ws.verdicts.undo("t-1")
    assert retract is not None and retract.label is None
    assert ws.verdicts.mine("t-1") is None
    assert ws.verdicts.undo("t-1") is None  # nothing left to undo
    assert len(case_history(ws.database_for_tests(), "t-1")) == 4
    assert first in case_history(ws.database_for_tests(), "t-1")


def test_repeated_undo_walks_back_through_edits_and_never_redoes(ws: Workspace) -> None:
    record(ws, "t-1", "vh_remove")
    record(ws, "t-1", "hs_remove")
    record(ws, "t-1", "sp_reduce")
    labels = [ws.verdicts.undo("t-1").label for _ in range(3)]  # type: ignore[union-attr]
    assert labels == ["hs_remove", "vh_remove", None]
    record(ws, "t-1", "an_remove")
    record(ws, "t-1", "hb_remove")
    assert ws.verdicts.undo("t-1").label == "an_remove"  # type: ignore[union-attr]
    assert ws.verdicts.undo("t-1").label is None  # type: ignore[union-attr]
    assert len(case_history(ws.database_for_tests(), "t-1")) == 10


def test_two_reviewers_each_have_their_own_effective_verdict(ws: Workspace) -> None:
    from qa_desktop.core.verdicts import effective_verdict, record_verdict

    other = record_verdict(
        ws.database_for_tests(), case_id="t-2", reviewer_id="someone-else", label="sp_reduce"
    )
    mine = record(ws, "t-2", "no_violation")
    assert mine.supersedes is None
    assert effective_verdict(ws.database_for_tests(), "t-2", "someone-else") == other
    assert ws.verdicts.mine("t-2") == mine


def test_a_verdict_needs_a_label_and_a_known_case(ws: Workspace) -> None:
    with pytest.raises(ValueError):
        record(ws, "t-0", "")
    with pytest.raises(Refused, match="no case 'no-such-case'") as refused:
        record(ws, "no-such-case", "vh_remove")
    assert refused.value.reason == RefusalReason.UNKNOWN_CASE
    with pytest.raises(Exception, match="FOREIGN KEY"):  # the store refuses it too
        record_verdict(
            ws.database_for_tests(), case_id="no-such-case", reviewer_id="r", label="vh_remove"
        )
    assert ws.verdicts.events() == []


# -- the domain rules, for every path (GUI, CLI, scripts) ------------------------------------


def test_a_label_that_is_not_in_the_cases_pack_is_refused(ws: Workspace) -> None:
    with pytest.raises(Refused, match="'not_in_pack' is not a label of demo-global") as refused:
        ws.verdicts.record("t-0", VerdictDraft("not_in_pack"))
    assert refused.value.reason == RefusalReason.UNKNOWN_LABEL
    assert "vh_remove" in str(refused.value)  # it lists the labels there are
    assert ws.verdicts.events() == []


def test_an_enforcing_label_needs_a_citation_that_supports_it(ws: Workspace) -> None:
    with pytest.raises(Refused, match="needs a citation") as refused:
        ws.verdicts.record("t-0", VerdictDraft("vh_remove"))
    assert refused.value.reason == RefusalReason.CITATION_REQUIRED
    unrelated = ws.verdicts.citation("t-0", "HS-1.1")
    with pytest.raises(Refused, match="needs a citation"):
        ws.verdicts.record("t-0", VerdictDraft("vh_remove", (unrelated,)))
    assert ws.verdicts.events() == []
    supporting = ws.verdicts.citation("t-0", "VH-2.3")
    event = ws.verdicts.record("t-0", VerdictDraft("vh_remove", (supporting,)))
    assert event.citations == (supporting,)
    # A no-action label needs no citation.
    assert ws.verdicts.record("t-1", VerdictDraft("no_violation")).citations == ()


def test_citing_a_section_the_case_does_not_have_is_refused(ws: Workspace) -> None:
    with pytest.raises(Refused, match="section 'XX-9' is not in the guidelines") as refused:
        ws.verdicts.citation("t-0", "XX-9")
    assert refused.value.reason == RefusalReason.UNKNOWN_SECTION


def test_a_case_whose_pack_is_not_imported_takes_no_verdict(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.batches.import_batch(write_batch(tmp_path / "b", [case_record("t-0", "text", [])]))
    with pytest.raises(Refused, match="the pack is not imported"):
        workspace.verdicts.record("t-0", VerdictDraft("no_violation"))


def test_recording_runs_a_few_statements_and_never_checks_the_schema(ws: Workspace) -> None:
    """The hot path of record (issue 15): the rules read the case's pack, its labels and
    the pack row (every section only when the draft cites one), the reviewer's current
    event from the maintained table, then one INSERT; no per-call table checks."""
    conn = ws.database_for_tests().conn
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        event = ws.verdicts.record("t-0", VerdictDraft("no_violation", notes="n"))
        again = ws.verdicts.record("t-0", VerdictDraft("no_violation", notes="edited"))
    finally:
        conn.set_trace_callback(None)
    ours = [s for s in seen if not s.startswith("INSERT INTO verdicts")]
    assert len(ours) <= 2 * 8, ours
    assert not [s for s in seen if "PRAGMA" in s or "sqlite_master" in s], seen
    assert again.supersedes == event.id
    stored = case_history(ws.database_for_tests(), "t-0")
    assert stored == [event, again]


def test_an_event_made_from_checked_fields_equals_the_one_its_constructor_makes() -> None:
    """The bundle reader's fast path makes the same event, equal and hashed alike; a dict
    with a field too many or too few is refused."""
    made = VerdictEvent(
        id="e-1",
        case_id="c-1",
        reviewer_id="r-1",
        label="sp_reduce",
        citations=(Citation("demo", "1.0.0", "sp-2", "quote"),),
        notes="n",
        time_on_case_ms=12,
        created_at="2026-11-02T09:00:00.000Z",
        confidence=3,
    )
    fields = {name: getattr(made, name) for name in VerdictEvent.__dataclass_fields__}
    fast = VerdictEvent.from_checked(fields)
    assert fast == made and hash(fast) == hash(made) and repr(fast) == repr(made)
    with pytest.raises(FrozenInstanceError):
        fast.label = "other"  # type: ignore[misc]
    for wrong in ({**fields, "extra": 1}, {k: v for k, v in fields.items() if k != "notes"}):
        with pytest.raises(ValueError, match="not the fields of a verdict event"):
            VerdictEvent.from_checked(wrong)
