"""Verdict details (confidence, RCA, policy gap), the citation rule, and the findings lists."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.core.findings import NO_SECTION, FindingGroup, policy_gaps, write_csv
from qa_desktop.core.guidelines import Label
from qa_desktop.core.verdicts import (
    GAP_KINDS,
    RCA_REASONS,
    Citation,
    CitationError,
    VerdictDraft,
    case_history,
    check_citations,
    record_verdict,
)
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import case_record, write_batch
from .recording import record


def cite(section_id: str) -> Citation:
    return Citation("demo-global", "1.0.0", section_id)


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    records = [case_record(f"t-{i}", "text", [], tags=[]) for i in range(8)]
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    return workspace


# -- verdict details ---------------------------------------------------------------------------


def test_details_are_stored_and_in_the_history(ws: Workspace) -> None:
    event = record(
        ws,
        "t-0",
        "vh_remove",
        [cite("VH-2.3")],
        confidence=2,
        rca_reason="guideline_misread",
        rca_note=" misread VH-2.1 ",
        gap_kind="ambiguous",
        gap_note="newsworthy gore",
    )
    assert (event.confidence, event.rca_reason, event.rca_note) == (
        2,
        "guideline_misread",
        "misread VH-2.1",
    )
    assert (event.gap_kind, event.gap_note) == ("ambiguous", "newsworthy gore")
    assert ws.verdicts.mine("t-0") == event
    assert case_history(ws.database_for_tests(), "t-0") == [event]
    assert event.escalated and event.flags_gap


def test_the_reason_lists() -> None:
    assert GAP_KINDS == ("silent", "ambiguous", "conflicting", "outdated")
    assert {"frontline_error", "guideline_misread", "tooling_issue", "other"} <= set(RCA_REASONS)
    draft = VerdictDraft("vh_remove", confidence=3, gap_kind="silent")
    assert (draft.confidence, draft.rca_reason, draft.gap_kind, draft.gap_note) == (
        3, None, "silent", "",
    )  # fmt: skip


def test_an_edit_drops_details_and_undo_restores_them(ws: Workspace) -> None:
    first = record(ws,
        "t-1", "vh_remove", confidence=3, rca_reason="training_gap", rca_note="new hire",
        gap_kind="outdated", gap_note="old rule",
    )  # fmt: skip
    edit = record(ws, "t-1", "vh_age_restrict", confidence=1)
    assert (edit.rca_reason, edit.gap_kind, edit.confidence) == (None, None, 1)
    undo = ws.verdicts.undo("t-1")
    assert undo is not None and undo.restores == first.id
    assert (undo.confidence, undo.rca_reason, undo.rca_note, undo.gap_kind, undo.gap_note) == (
        3, "training_gap", "new hire", "outdated", "old rule",
    )  # fmt: skip
    retraction = ws.verdicts.undo("t-1")
    assert retraction is not None and retraction.label is None
    assert (retraction.confidence, retraction.rca_reason, retraction.gap_kind) == (None, None, None)
    assert [e.confidence for e in case_history(ws.database_for_tests(), "t-1")] == [3, 1, 3, None]


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"confidence": 0}, "confidence"),
        ({"confidence": 4}, "confidence"),
        ({"confidence": True}, "confidence"),
        ({"confidence": "2"}, "confidence"),
        ({"rca_reason": "bad_luck"}, "RCA reason 'bad_luck'"),
        ({"rca_note": "why?"}, "RCA note needs an RCA reason"),
        ({"gap_kind": "missing"}, "policy-gap kind 'missing'"),
        ({"gap_note": "hole"}, "policy-gap note needs"),
    ],
)
def test_bad_details_are_clear_errors_and_write_nothing(
    ws: Workspace, details: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        record(ws, "t-2", "vh_remove", **details)
    assert case_history(ws.database_for_tests(), "t-2") == []


# -- the citation rule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StandInSection:
    labels: tuple[str, ...]
    status: str = "active"
    pack_id: str = "demo-global"


@dataclass(frozen=True)
class StandInGuideline:
    sections: dict[str, StandInSection]
    market: str = "DE"

    def section(self, section_id: str) -> StandInSection | None:
        return self.sections.get(section_id)


GUIDELINE = StandInGuideline(
    {
        "VH-2.3": StandInSection(("vh_remove",)),
        "VH-3.1": StandInSection(("vh_age_restrict", "no_violation")),
        "VH-0.9": StandInSection(("vh_remove",), status="retired"),
    }
)
REMOVE = Label("vh_remove", "remove", "remove", 4, "VH")
NOTHING = Label("no_violation", "none", "no_action", 0, "NONE")


def test_an_enforcing_label_needs_a_supporting_section() -> None:
    assert check_citations(REMOVE, [cite("VH-2.3")], GUIDELINE) == []
    assert check_citations(REMOVE, [cite("VH-3.1"), cite("VH-2.3")], GUIDELINE) == []
    with pytest.raises(CitationError, match="vh_remove"):
        check_citations(REMOVE, [cite("VH-3.1")], GUIDELINE)
    with pytest.raises(CitationError):
        check_citations(REMOVE, [], GUIDELINE)
    with pytest.raises(ValueError):  # CitationError is a ValueError
        check_citations(REMOVE, [cite("XX-1")], GUIDELINE)


def test_retired_and_unknown_sections_are_warnings() -> None:
    warnings = check_citations(REMOVE, [cite("VH-0.9"), cite("XX-1")], GUIDELINE)
    assert len(warnings) == 2
    assert "VH-0.9" in warnings[0] and "retired" in warnings[0]
    assert "XX-1" in warnings[1]


def test_a_no_action_verdict_may_cite_anything() -> None:
    assert check_citations(NOTHING, [], GUIDELINE) == []
    assert check_citations(NOTHING, [cite("VH-2.3")], GUIDELINE) == []
    assert len(check_citations(NOTHING, [cite("nope")], GUIDELINE)) == 1


# -- findings --------------------------------------------------------------------------------


def _flag_some(ws: Workspace) -> None:
    record(ws, "t-0", "vh_remove", [cite("VH-2.3")], rca_reason="frontline_error")
    record(ws,
        "t-1", "vh_remove", [cite("VH-2.3"), cite("VH-1.1")], rca_reason="guideline_misread",
        gap_kind="ambiguous",
    )  # fmt: skip
    record(ws, "t-2", "vh_remove", [cite("VH-2.3")], rca_reason="frontline_error")
    record(ws, "t-3", "no_violation", rca_reason="tooling_issue", gap_kind="silent")
    record(ws, "t-4", "vh_remove", [cite("VH-1.1")], rca_reason="other")
    record(ws, "t-4", "vh_remove", [cite("VH-1.1")])  # edited: no longer escalated
    record(ws, "t-5", "vh_age_restrict", [cite("VH-3.1")], gap_kind="outdated")
    ws.verdicts.undo("t-5")  # retracted: gone
    record_verdict(
        ws.database_for_tests(), case_id="t-6", reviewer_id="other", label="vh_remove",
        citations=[cite("VH-2.3")], rca_reason="frontline_error", gap_kind="conflicting",
    )  # fmt: skip


def test_rca_escalations_grouped_by_cited_section(ws: Workspace) -> None:
    _flag_some(ws)
    groups = ws.reports.rca_escalations()
    assert [(g.section_id, g.count) for g in groups] == [
        ("VH-2.3", 4), ("(no section)", 1), ("VH-1.1", 1),
    ]  # fmt: skip
    vh23 = groups[0]
    assert vh23.title == "Graphic injury: dismemberment and exposed organs"
    assert vh23.kinds == (("frontline_error", 3), ("guideline_misread", 1))
    assert vh23.example_case_ids == ("t-0", "t-1", "t-2", "t-6")
    assert groups[1] == FindingGroup(NO_SECTION, "", 1, (("tooling_issue", 1),), ("t-3",))
    assert groups[2].example_case_ids == ("t-1",)


def test_policy_gaps_grouped_and_per_reviewer(ws: Workspace) -> None:
    _flag_some(ws)
    assert [(g.section_id, g.count) for g in ws.reports.policy_gaps()] == [
        ("VH-2.3", 2), (NO_SECTION, 1), ("VH-1.1", 1),
    ]  # fmt: skip
    groups = {g.section_id: g for g in ws.reports.policy_gaps()}
    assert set(groups) == {NO_SECTION, "VH-1.1", "VH-2.3"}
    assert groups["VH-2.3"].count == 2
    assert groups["VH-2.3"].kinds == (("ambiguous", 1), ("conflicting", 1))
    mine = policy_gaps(ws.database_for_tests(), reviewer_id=ws.reviewer.id)  # type: ignore[union-attr]
    assert {g.section_id: g.count for g in mine} == {NO_SECTION: 1, "VH-1.1": 1, "VH-2.3": 1}


def test_many_cases_keep_five_examples(ws: Workspace) -> None:
    for i in range(8):
        record(ws, f"t-{i}", "no_violation", gap_kind="silent")
    (group,) = ws.reports.policy_gaps()
    assert group.count == 8 and group.example_case_ids == ("t-0", "t-1", "t-2", "t-3", "t-4")


def test_findings_csv(ws: Workspace, tmp_path: Path) -> None:
    _flag_some(ws)
    path = write_csv(ws.reports.rca_escalations(), tmp_path / "rca.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0] == {
        "section_id": "VH-2.3",
        "title": "Graphic injury: dismemberment and exposed organs",
        "count": "4",
        "kinds": "frontline_error=3;guideline_misread=1",
        "example_case_ids": "t-0;t-1;t-2;t-6",
    }
    assert [r["section_id"] for r in rows] == ["VH-2.3", NO_SECTION, "VH-1.1"]
    assert (
        write_csv([], tmp_path / "none.csv")
        .read_text(encoding="utf-8")
        .startswith("section_id,title,count,kinds,example_case_ids")
    )


# -- the command line ---------------------------------------------------------------------------


def _invoke(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args], obj={})
    return result.exit_code, result.output


def test_cli_findings_print_and_write_csv(ws: Workspace, tmp_path: Path) -> None:
    _flag_some(ws)
    data = ws.data_dir
    code, out = _invoke(data, "findings", "rca")
    lines = out.splitlines()
    assert code == 0 and lines[0].split("\t") == [
        "section_id", "title", "count", "kinds", "example_case_ids",
    ]  # fmt: skip
    assert lines[1].split("\t")[0::2] == ["VH-2.3", "4", "t-0;t-1;t-2;t-6"]
    assert len(lines) == 4

    target = tmp_path / "gaps.csv"
    code, out = _invoke(data, "findings", "gaps", "--csv", str(target))
    assert code == 0 and "3 groups" in out
    with target.open(encoding="utf-8", newline="") as f:
        assert {r["section_id"] for r in csv.DictReader(f)} == {NO_SECTION, "VH-1.1", "VH-2.3"}


def test_cli_findings_when_nothing_is_flagged(tmp_path: Path) -> None:
    code, out = _invoke(tmp_path / "data", "findings", "gaps")
    assert code == 0 and "no policy gaps" in out
    code, out = _invoke(tmp_path / "data", "findings", "--help")
    assert code == 0 and "rca" in out and "gaps" in out


def test_cli_verdicts_csv_has_the_details(ws: Workspace) -> None:
    record(ws, "t-0", "vh_remove", confidence=2, rca_reason="other", rca_note="hm",
                      gap_kind="silent", gap_note="nothing on this")  # fmt: skip
    code, out = _invoke(ws.data_dir, "verdicts", "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert (row["confidence"], row["rca_reason"], row["rca_note"]) == ("2", "other", "hm")
    assert (row["gap_kind"], row["gap_note"]) == ("silent", "nothing on this")
