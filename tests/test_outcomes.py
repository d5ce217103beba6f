"""QA outcomes: every pair of demo labels, in Python and in the queue's SQL, and the edges."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from qa_desktop.core.guidelines import Label, load_pack
from qa_desktop.core.outcomes import OUTCOMES, qa_outcome
from qa_desktop.core.verdicts import record_verdict
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import batch_header, case_record, write_batch
from .recording import record


def plant(ws: Workspace, case_id: str, label: str) -> None:
    """An event as another app could have recorded it, past the local rules."""
    assert ws.reviewer is not None
    record_verdict(
        ws.database_for_tests(), case_id=case_id, reviewer_id=ws.reviewer.id, label=label
    )


LABELS = {label.id: label for label in load_pack(DEMO_PACK).labels}

ORDER = (
    "no_violation", "vh_remove", "vh_age_restrict", "hs_remove", "an_remove",
    "an_age_restrict", "hb_remove", "sh_remove", "sp_reduce",
)  # fmt: skip

# Rows: the original label; columns: the final label, both in ORDER.
# A agree, O over_enforcement, U under_enforcement, P wrong_policy (W wrong_action: none here,
# the demo pack has one label per policy and action).
MATRIX = """
    A U U U U U U U U
    O A O P P O P P O
    O U A U U P U U O
    O P O A P O P P O
    O P O P A O P P O
    O U P U U A U U O
    O P O P P O A P O
    O P O P P O P A O
    O U U U U U U U A
"""
CODES = {
    "A": "agree",
    "O": "over_enforcement",
    "U": "under_enforcement",
    "P": "wrong_policy",
    "W": "wrong_action",
}
EXPECTED = {
    (original, final): CODES[code]
    for original, line in zip(ORDER, MATRIX.split("\n")[1:-1], strict=True)
    for final, code in zip(ORDER, line.split(), strict=True)
}
PAIRS = list(itertools.product(ORDER, ORDER))


def test_the_matrix_covers_every_label_of_the_demo_pack() -> None:
    assert set(ORDER) == set(LABELS) and len(EXPECTED) == 81
    assert set(EXPECTED.values()) <= set(OUTCOMES)


@pytest.mark.parametrize(("original", "final"), PAIRS)
def test_outcome_of_every_demo_label_pair(original: str, final: str) -> None:
    assert qa_outcome(LABELS[original], LABELS[final]) == EXPECTED[(original, final)]


def test_the_queue_computes_the_same_outcomes_in_sql(workspace: Workspace, tmp_path: Path) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    records = [
        case_record(f"{o}--{f}", "text", [], tags=[], decision=_decision(o)) for o, f in PAIRS
    ]
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    for original, final in PAIRS:
        record(workspace, f"{original}--{final}", final)
    rows = workspace.queue.page(limit=100)
    assert len(rows) == 81
    for row in rows:
        original, final = row.id.split("--")
        assert row.outcome == EXPECTED[(original, final)], row.id


def test_no_outcome_while_undecided_or_after_a_retraction(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(write_batch(tmp_path / "b", [case_record("t-0", "text", [])]))
    assert workspace.queue.row("t-0").outcome is None  # type: ignore[union-attr]
    record(workspace, "t-0", "no_violation")
    assert workspace.queue.row("t-0").outcome == "over_enforcement"  # type: ignore[union-attr]
    workspace.verdicts.undo("t-0")
    assert workspace.queue.row("t-0").outcome is None  # type: ignore[union-attr]


def test_a_label_unknown_to_the_pack_gives_unknown_label(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    records = [
        case_record("odd-original", "text", [], decision=_decision("xx_legacy_label")),
        case_record("odd-final", "text", []),
    ]
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    record(workspace, "odd-original", "vh_remove")
    # The rules refuse a label no pack has; an event from elsewhere may still carry one.
    plant(workspace, "odd-final", "not_in_pack")
    assert workspace.queue.row("odd-original").outcome == "unknown_label"  # type: ignore[union-attr]
    assert workspace.queue.row("odd-final").outcome == "unknown_label"  # type: ignore[union-attr]
    assert qa_outcome(None, LABELS["vh_remove"]) == "unknown_label"
    assert qa_outcome(LABELS["vh_remove"], None) == "unknown_label"


def test_labels_come_from_the_pack_the_batch_names(workspace: Workspace, tmp_path: Path) -> None:
    # The batch names demo-global 1.0.0, which is not imported: no label is known.
    workspace.batches.import_batch(write_batch(tmp_path / "b", [case_record("t-0", "text", [])]))
    plant(workspace, "t-0", "vh_remove")  # from elsewhere: the rules refuse it here
    assert workspace.queue.row("t-0").outcome == "unknown_label"  # type: ignore[union-attr]


def test_wrong_action_same_policy_same_strength_different_label(
    workspace: Workspace, tmp_path: Path
) -> None:
    pack = _write_pack(tmp_path / "pack.json")
    workspace.guidelines.import_pack(pack)
    folder = write_batch(
        tmp_path / "b",
        [
            case_record("t-0", "text", [], decision=_decision("vh_remove_minor")),
            case_record("t-1", "text", [], decision=_decision("vh_remove_minor")),
        ],
    )
    header = batch_header(guideline_pack={"id": "test-pack", "version": "1.0.0"})
    (folder / "batch.json").write_text(json.dumps(header), encoding="utf-8")
    workspace.batches.import_batch(folder)
    plant(workspace, "t-0", "vh_remove_severe")  # the test pack has no section to cite
    plant(workspace, "t-1", "no_violation_other")
    assert workspace.queue.row("t-0").outcome == "wrong_action"  # type: ignore[union-attr]
    assert workspace.queue.row("t-1").outcome == "over_enforcement"  # type: ignore[union-attr]
    minor = Label("vh_remove_minor", "minor", "remove", 2, "VH")
    severe = Label("vh_remove_severe", "severe", "remove", 4, "VH")
    assert qa_outcome(minor, severe) == "wrong_action"


def test_two_no_action_labels_agree_whatever_their_policy() -> None:
    none = Label("no_violation", "none", "no_action", 0, "NONE")
    other = Label("no_violation_other", "none", "no_action", 0, "OTHER")
    assert qa_outcome(none, other) == "agree"


def test_action_strength_decides_before_policy() -> None:
    assert qa_outcome(LABELS["hs_remove"], LABELS["vh_age_restrict"]) == "over_enforcement"
    assert qa_outcome(LABELS["sp_reduce"], LABELS["hs_remove"]) == "under_enforcement"


def _decision(label: str) -> dict[str, str]:
    policy = LABELS[label].policy if label in LABELS else "VH"
    return {
        "label": label,
        "policy": policy,
        "moderator_id": "m-001",
        "queue": "test",
        "decided_at": "2026-10-30T12:00:00Z",
    }


def _write_pack(path: Path) -> Path:
    labels = [
        ("no_violation_other", "no_action", "NONE"),
        ("vh_remove_minor", "remove", "VH"),
        ("vh_remove_severe", "remove", "VH"),
    ]
    # Start from the demo pack so the file follows whatever the pack format requires.
    pack = json.loads(DEMO_PACK.read_text(encoding="utf-8"))
    pack["id"], pack["version"], pack["title"] = "test-pack", "1.0.0", "Test pack"
    pack["labels"] = [
        {"id": i, "name": i, "action": a, "severity": 1, "policy": p} for i, a, p in labels
    ]
    pack["sections"] = [
        {"id": "VH-9", "policy": "VH", "title": "t", "body": "b", "labels": [labels[1][0]]}
    ]
    path.write_text(json.dumps(pack), encoding="utf-8")
    return path
