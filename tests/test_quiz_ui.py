"""Taking quizzes in the GUI (issue 14): a training and an exam quiz shipped from a lead's
data directory, taken on a reviewer's with real key events, items protected like cases
(blurred, warning screens, exposure counted), then the lead's who-passed table."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import VerdictDraft
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, introduce, make_workspace, tiny_png, write_batch
from .recording import supporting_citation
from .windows import open_window

LABELS = ("no_violation", "vh_remove", "vh_age_restrict")


def lead_with_image_gold(root: Path, n: int = 6) -> Workspace:
    """Six image cases ruled in calibration (q-0 tagged severe), promoted to gold."""
    lead = make_workspace(root, "Lead", cases=0)
    folder = root / "gold-src"
    records = []
    for i in range(n):
        tiny_png(folder / "media" / f"q{i}.png", seed=i)
        tags = ["severe:gore"] if i == 0 else ["violence"]
        records.append(case_record(f"q-{i}", "image", [f"media/q{i}.png"], tags=tags))
    lead.batches.import_batch(write_batch(folder, records, batch_id="gold-src"))
    ids = [r["id"] for r in records]
    session = lead.calibration.create("VH", cases=ids, participants=["Ana", "Bo"])
    for i, case_id in enumerate(ids):
        ruling = "vh_remove" if i % 2 == 0 else "no_violation"
        lead.calibration.vote(session.id, case_id, "Ana", ruling)
        lead.calibration.vote(session.id, case_id, "Bo", "vh_age_restrict")
        lead.calibration.reveal(session.id, case_id)
        lead.calibration.note(session.id, case_id, f"Note on {case_id}: <b>look</b> closer.")
        cited = supporting_citation(lead, case_id, ruling)
        lead.calibration.rule(session.id, case_id, VerdictDraft(ruling, cited))
        lead.gold.promote(case_id)
    return lead


class Clock:
    """A clock the test moves by hand (no timed assertions)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.slow
def test_training_and_exam_quizzes_in_the_gui(qtbot: QtBot, tmp_path: Path) -> None:
    lead = lead_with_image_gold(tmp_path)
    rae = make_workspace(tmp_path, "Rae", cases=0)
    introduce(rae, lead, role="issuer")
    introduce(lead, rae)
    identity = lead.trust.identity(PASSPHRASE)
    training = lead.quizzes.build("Training", mode="training", market="DE", policy="VH", count=3)
    exam = lead.quizzes.build("Exam", mode="exam", market="DE", policy="VH", count=3, pass_mark=0.6)
    for quiz in (training, exam):
        rae.quizzes.receive(lead.quizzes.ship(quiz.id, identity, tmp_path / "out"))
    key = {i.case_id: i.label for q in (training, exam) for i in q.items}

    clock = Clock()
    window = open_window(qtbot, rae, clock=clock)
    screen = window.show_quiz(training.id)
    assert screen is not None and window.screens.currentWidget() is screen
    labels = [lab.id for lab in screen.labels]

    def press(key_: Qt.Key, text: str = "") -> None:
        qtbot.keyClick(screen, key_)

    for position, item in enumerate(training.items):
        assert screen.position == position
        case = rae.queue.case(item.case_id)
        assert case is not None
        if case.severe:  # a warning screen first; W opts in, still protected
            assert screen.viewer.currentWidget() is screen.viewer.warning_view
            press(Qt.Key.Key_W)
        assert screen.viewer.currentWidget() is screen.viewer.media_page
        qtbot.waitUntil(lambda: screen.viewer.image_view.current_image() is not None)
        view = screen.viewer.image_view
        assert not view.revealed  # blurred by default
        qtbot.keyPress(screen, Qt.Key.Key_Space)
        assert view.revealed and screen.meter.revealing
        clock.now += 2.0
        qtbot.keyRelease(screen, Qt.Key.Key_Space)
        assert not view.revealed and not screen.meter.revealing
        # Answer: right on the first two items, wrong on the last.
        right = key[item.case_id]
        answer = right if position < 2 else next(lab for lab in LABELS if lab != right)
        press(Qt.Key(Qt.Key.Key_0 + labels.index(answer) + 1))
        text = screen.feedback.text()
        assert (": right." in text) == (position < 2)
        assert f"The ruling is {right}" in text or position < 2
        assert "The common wrong answer in calibration was vh_age_restrict" in text
        assert "<b>look</b>" in text  # outside text stays plain text
        assert screen.feedback.textFormat() == Qt.TextFormat.PlainText
        assert item.explanation is not None
        if right == "vh_remove":  # an enforcing ruling cites its section: quoted
            assert item.explanation.sections[0].text in text
        press(Qt.Key.Key_N)
    press(Qt.Key.Key_S)
    assert screen.last_score is not None
    assert (screen.last_score.correct, screen.last_score.total) == (2, 3)
    assert "Score 2 of 3" in screen.feedback.text()
    summary = rae.wellbeing.session_summary(window.review.session_id)
    assert summary.unblurred_ms >= 3 * 2000  # each item revealed for 2 s of the test clock

    # The exam: no feedback, each answer moves on; S submits.
    screen = window.show_quiz(exam.id)
    assert screen is not None
    for position, item in enumerate(exam.items):
        assert screen.position == position
        answer = key[item.case_id] if position != 1 else "vh_age_restrict"
        if screen.viewer.currentWidget() is screen.viewer.warning_view:
            press(Qt.Key.Key_W)
        press(Qt.Key(Qt.Key.Key_0 + labels.index(answer) + 1))
        assert screen.last_feedback is None
    press(Qt.Key.Key_S)
    assert screen.last_score is None and "Submitted" in screen.feedback.text()
    assert window.show_quiz(exam.id) is None  # one attempt only
    assert "attempt-limit" in window.statusBar().currentMessage() or "allows 1" in (
        window.statusBar().currentMessage()
    )
    window.close()

    sent = rae.quizzes.export_attempts(rae.trust.identity(PASSPHRASE), tmp_path / "outbox")
    assert sent is not None
    assert lead.quizzes.import_attempts(sent) == 2
    lead_window = open_window(qtbot, lead)
    table = lead_window.show_quiz_results().results
    rows = {
        table.item(r, 1).text(): [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    }
    assert rows["Exam"][:6] == ["Rae", "Exam", "2", "3", "67%", "passed"]
    assert rows["Training"][:6] == ["Rae", "Training", "2", "3", "67%", "not passed"]
    lead_window.close()
    lead.close()
    rae.close()
