"""Taking quizzes in the GUI (issue 14): a training and an exam quiz shipped from a lead's
data directory, taken on a reviewer's with real key events, items protected like cases
(blurred, warning screens, exposure counted), then the lead's who-passed table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import VerdictDraft
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, case_record, introduce, make_workspace, tiny_png, write_batch
from .recording import supporting_citation
from .windows import answer_dialog, note_and_close, open_window

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
    folder = tmp_path / "shared"
    folder.mkdir()
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window.sync_now(folder, PASSPHRASE)  # synced once today: folder and key known
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
    assert screen.last_score is None
    assert "will be sent to your lead with your next sync" in screen.feedback.text()
    assert "Ctrl+Shift+U" in screen.feedback.text()
    assert rae.quizzes.unsent() == 2  # the training attempt goes to the lead as well
    # Ctrl+Shift+U sends them now: a sync in the background with the folder used last.
    window.activateWindow()  # (the offscreen platform leaves it inactive after a dialog)
    qtbot.waitUntil(window.isActiveWindow)
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        qtbot.keyClick(
            screen,
            Qt.Key.Key_U,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert "Sent 2 quiz attempts to your lead." in messages[-1]
    assert rae.quizzes.unsent() == 0
    assert screen.feedback.text() == "Submitted and sent to your lead, who scores it."
    assert window.show_quiz(exam.id) is None  # one attempt only
    assert "attempt-limit" in window.statusBar().currentMessage() or "allows 1" in (
        window.statusBar().currentMessage()
    )
    window.close()

    # The lead's sync takes and scores them; the results table shows who passed what.
    lead_window = open_window(qtbot, lead)
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert lead_window.sync_now(folder, PASSPHRASE)
    assert "Received 2 quiz attempts to score" in messages[-1]
    lead_window.activateWindow()
    qtbot.waitUntil(lead_window.isActiveWindow)
    results = lead_window.show_quiz_results()
    table = results.results
    rows = {
        table.item(r, 1).text(): [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    }
    assert rows["Exam"][:6] == ["Rae", "Exam", "2", "3", "67%", "passed"]
    assert rows["Training"][:6] == ["Rae", "Training", "2", "3", "67%", "not passed"]
    for row in rows.values():  # per guideline section: "VH-0 1/1 · VH-2.1 1/2"
        assert re.fullmatch(r"\S+ \d/\d( · \S+ \d/\d)*", row[7]), row[7]
    # A row's reviewer's history shows under the table; the keys move between rows.
    assert table.hasFocus() and table.currentRow() == 0
    history = results.history.text()
    assert history.startswith("Rae: 2 attempt(s)") and "Training: 2 of 3" in history
    assert "Exam: 2 of 3 (67%), passed" in history
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentRow() == 1 and results.history.text().startswith("Rae:")
    lead_window.close()
    lead.close()
    rae.close()
