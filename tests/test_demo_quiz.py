"""The demo's calibration session (issue 14: "done when a lead builds a quiz from the demo's
arbitrated cases"): the README's commands promote gold, build and ship a quiz on demo data."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_desktop.cli import cli
from qa_desktop.demo import (
    DEMO_PACKS,
    DEMO_RULINGS,
    DEMO_SESSION,
    add_demo_calibration,
)

from .factory import PASSPHRASE, introduce, make_workspace

README_COMMANDS = [
    ["gold", "promote", "demo-009", "demo-019", "demo-044", "demo-053", "demo-059"],
    [
        *("quiz", "build", "--name", "DE violence", "--mode", "training"),
        *("--market", "DE", "--policy", "VH", "--count", "5"),
    ],
    ["quiz", "ship", "DE violence", "OUT"],
]


def test_readme_names_the_commands() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    assert "qa-desktop gold promote demo-009 demo-019 demo-044 demo-053 demo-059" in readme
    assert (
        'qa-desktop quiz build --name "DE violence" --mode training --market DE --policy VH'
        " --count 5" in readme
    )
    assert 'qa-desktop quiz ship "DE violence"' in readme


@pytest.mark.slow
def test_a_lead_builds_a_quiz_from_the_demo_session(tmp_path: Path, demo_batch: Path) -> None:
    lead = make_workspace(tmp_path, "Lead", cases=0, pack=False)
    lead.guidelines.import_packs(DEMO_PACKS)
    lead.batches.import_batch(demo_batch)
    session_id = add_demo_calibration(lead)
    assert session_id is not None and add_demo_calibration(lead) is None  # once
    [session] = lead.calibration.sessions()
    assert session.name == DEMO_SESSION
    states = lead.calibration.states(session_id)
    assert all(s.ruling is not None for s in states)
    split = [s for s in states if s.revealed and sum(n > 0 for _, n in s.revealed.distribution) > 1]
    assert len(split) >= 3 and sum(bool(s.notes) for s in states) >= 3
    runner = CliRunner(env={"QA_DESKTOP_PASSPHRASE": PASSPHRASE})
    out = tmp_path / "out"
    for command in README_COMMANDS:
        args = [str(out) if a == "OUT" else a for a in command]
        result = runner.invoke(cli, ["--data-dir", str(lead.data_dir), *args], obj={})
        assert result.exit_code == 0, result.output
    [shipped] = out.glob("*.zip")
    # A reviewer takes it: the feedback quotes the section, the common wrong answer, the note.
    rae = make_workspace(tmp_path, "Rae", cases=0, pack=False)
    rae.guidelines.import_packs(DEMO_PACKS)
    introduce(rae, lead, role="issuer")
    quiz = rae.quizzes.receive(shipped)
    attempt = rae.quizzes.start(quiz.id)
    fiction = next(i for i in quiz.items if i.label == "no_violation")
    feedback = rae.quizzes.answer(attempt, fiction.case_id, "vh_remove")
    assert feedback is not None and not feedback.correct
    explanation = feedback.explanation
    assert [s.id for s in explanation.sections] == ["VH-3.2"]
    assert explanation.common_wrong == "vh_remove"
    assert explanation.notes == (DEMO_RULINGS["demo-044"][3],)
    lead.close()
    rae.close()
