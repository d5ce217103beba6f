"""The quiz screen: taking a received quiz from the keyboard, and the lead's results table.

Each item is a case and is shown under the same protection as on the review screen: the
reviewer's filters raised for its harm types (``protection_for``), blurred until Space is
held, a warning screen first where the protection asks for one (W opts in), and every
unblurred moment counted as exposure in the review session (``ws.wellbeing``). Keys:

- 1-9: answer with the pack's label of that number (training: the ruling, the cited
  section's text and the common wrong answer show at once);
- N or Right: the next item, P or Left: the previous one;
- Space (hold): reveal; W: opt in past the warning screen;
- S: submit the attempt (training: the score shows; an exam says it goes to the lead with
  the next sync, or now with Ctrl+Shift+U, File ▸ Send quiz attempts now);
- Escape: back to the review screen.

The lead's results table (``show_results``) has a row per scored attempt with its score per
guideline section; the selected row's reviewer's history of attempts shows under it.

Everything from outside (labels, section text, notes) is shown as plain text.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.api import (
    Case,
    Clock,
    ExposureMeter,
    Label,
    Protection,
    Quiz,
    QuizAttempt,
    QuizFeedback,
    QuizScore,
    Refused,
    RevealState,
    protection_for,
    protects,
    tag_key,
)
from ...core.workspace import Workspace
from ..render import RenderCache, Rendered
from ..review.preferences import load_preferences
from ..viewer import CaseViewer

RESULT_COLUMNS = (
    "Reviewer",
    "Quiz",
    "Correct",
    "Of",
    "Score",
    "Result",
    "Submitted",
    "By guideline section",
)
SEND_LATER = (
    "Submitted. Your attempt will be sent to your lead with your next sync"
    " (File ▸ Sync now). Press Ctrl+Shift+U to send it now."
)


def _plain(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def feedback_text(feedback: QuizFeedback) -> str:
    """The training feedback for one answer, as plain text."""
    e = feedback.explanation
    lines = [
        f"{feedback.answered}: right."
        if feedback.correct
        else f"{feedback.answered}: wrong. The ruling is {e.ruling}."
    ]
    for section in e.sections:
        lines += ["", f"{section.id} {section.title}", f"\u201c{section.text}\u201d"]
    if e.common_wrong:
        lines += ["", f"The common wrong answer in calibration was {e.common_wrong}."]
        lines += [f"Why (calibration notes): {note}" for note in e.notes]
    elif e.notes:
        lines += ["", *(f"Calibration note: {note}" for note in e.notes)]
    return "\n".join(lines)


def score_text(score: QuizScore) -> str:
    """A submitted attempt's score with its per-section breakdown, as plain text."""
    lines = [
        f"Score {score.correct} of {score.total} ({score.fraction:.0%}):"
        f" {'passed' if score.passed else 'not passed'}.",
        "",
        "By guideline section:",
    ]
    lines += [f"  {s.section_id}: {s.correct} of {s.total}" for s in score.by_section]
    return "\n".join(lines)


def sections_text(score: QuizScore) -> str:
    """A score per guideline section on one line: ``VH-2.1 1/2 · VH-3.1 2/2``."""
    return " · ".join(f"{s.section_id} {s.correct}/{s.total}" for s in score.by_section)


def history_text(reviewer: str, attempts: list[QuizAttempt]) -> str:
    """A reviewer's attempts, oldest first, as plain text (score and sections when known)."""
    lines = [f"{reviewer}: {len(attempts)} attempt(s), oldest first"]
    for a in attempts:
        when = (a.submitted_at or a.started_at)[:16].replace("T", " ")
        if a.score is None:
            state = "submitted, not scored here" if a.submitted_at else "not submitted"
            lines.append(f"  {when}  {a.quiz_name}: {a.answered} answered, {state}")
            continue
        s = a.score
        lines.append(
            f"  {when}  {a.quiz_name}: {s.correct} of {s.total} ({s.fraction:.0%}),"
            f" {'passed' if s.passed else 'not passed'} · {sections_text(s)}"
        )
    return "\n".join(lines)


class QuizScreen(QWidget):
    """One quiz attempt at a time (``open_quiz``), or the results table (``show_results``)."""

    back_requested = Signal()

    def __init__(
        self,
        workspace: Workspace,
        settings: QSettings,
        session_id: str | None,
        clock: Clock = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.prefs = load_preferences(settings)
        self.session_id = session_id
        self.meter = ExposureMeter(clock)
        self.reveal = RevealState()
        self.renderer = RenderCache(workspace.queue.open_media, parent=self)
        self.renderer.rendered.connect(self._on_rendered)
        self.quiz: Quiz | None = None
        self.attempt_id: str | None = None
        self.position = 0
        self.case: Case | None = None
        self.labels: list[Label] = []
        self.last_feedback: QuizFeedback | None = None
        self.last_score: QuizScore | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.header = _plain(QLabel())
        self.viewer = CaseViewer()
        self.viewer.hold_requested.connect(self.hold_reveal)
        self.label_list = _plain(QLabel())
        self.feedback = _plain(QLabel())
        self.feedback.setObjectName("quiz-feedback")
        self.feedback.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        feedback_scroll = QScrollArea()  # several quoted sections can be longer than the window
        feedback_scroll.setWidget(self.feedback)
        feedback_scroll.setWidgetResizable(True)
        feedback_scroll.setFrameShape(QFrame.Shape.NoFrame)
        feedback_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        side = QVBoxLayout()
        side.addWidget(self.label_list)
        side.addSpacing(12)
        side.addWidget(feedback_scroll, 1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setMinimumWidth(280)
        take = QWidget()
        row = QHBoxLayout(take)
        row.addWidget(self.viewer, 3)
        row.addWidget(side_widget, 1)

        self.results = QTableWidget(0, len(RESULT_COLUMNS))
        self.results.setHorizontalHeaderLabels(list(RESULT_COLUMNS))
        self.results.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.results.horizontalHeader().setStretchLastSection(True)
        self.results.currentCellChanged.connect(self._show_history)
        self.history = _plain(QLabel())
        self.history.setObjectName("quiz-history")
        self.history.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.scores: list[QuizScore] = []
        results_page = QWidget()
        results_layout = QVBoxLayout(results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.results, 3)
        results_layout.addWidget(self.history, 1)
        self.results_page = results_page
        self.pages = QStackedWidget()
        self.pages.addWidget(take)
        self.pages.addWidget(results_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.pages, 1)
        self.take_page = take

    # -- taking a quiz ---------------------------------------------------------------------
    def open_quiz(self, quiz: str) -> None:
        """Start (or resume) the local reviewer's attempt of a received quiz.

        :class:`Refused` (``attempt-limit``) when no attempt is left."""
        found = self.ws.quizzes.quiz(quiz)
        self.attempt_id = self.ws.quizzes.start(found.id)
        self.quiz = found
        self.labels = self._labels(found)
        self.last_score = None
        self.pages.setCurrentWidget(self.take_page)
        self.label_list.setText(
            "Answer with a key:\n"
            + "\n".join(f"{n}  {lab.id} ({lab.name})" for n, lab in enumerate(self.labels, 1))
            + "\n\nN next · P previous · hold Space to reveal · W past a warning · S submit"
        )
        answered = self.ws.quizzes.answers(self.attempt_id)
        pending = [i for i, item in enumerate(found.items) if item.case_id not in answered]
        self.show_item(pending[0] if pending else 0)

    def _labels(self, quiz: Quiz) -> list[Label]:
        first = self.ws.queue.case(quiz.items[0].case_id) if quiz.items else None
        return list(self.ws.guidelines.labels_for(first)) if first is not None else []

    def show_item(self, position: int) -> None:
        """Show item ``position`` of the quiz, protected."""
        if self.quiz is None or not 0 <= position < len(self.quiz.items):
            return
        self._stop_reveal()
        self.position = position
        item = self.quiz.items[position]
        self.case = self.ws.queue.case(item.case_id)
        self.reveal.open_case()
        self.last_feedback = None
        self.feedback.setText("")
        self._show_header()
        self._show_content()

    def _show_header(self) -> None:
        """The quiz, the item's place in it and the answer given so far."""
        if self.quiz is None:
            return
        item = self.quiz.items[self.position]
        answered = self.ws.quizzes.answers(self.attempt_id or "").get(item.case_id)
        self.header.setText(
            f"Quiz {self.quiz.name} ({self.quiz.mode}) · item {self.position + 1} of"
            f" {len(self.quiz.items)}" + (f" · your answer: {answered}" if answered else "")
        )

    def _protection(self) -> Protection:
        """The case's protection, as on the review screen (filters raised for harm types)."""
        return protection_for(self.case.tags if self.case is not None else (), self.prefs)

    def _show_content(self) -> None:
        case = self.case
        if case is None:
            self.viewer.show_visual(None, "This item's case is missing.")
            return
        protection = self._protection()
        warning, filters = protection.warning_screen, protection.filters
        if case.content_type == "text":
            warned = tuple(case.tags) if self.reveal.shows_warning(warning) else ()
            self.viewer.show_text(case.text, warned)
            return
        if self.reveal.shows_warning(warning):
            self.viewer.show_warning(case.tags)
            return
        rendered = self.renderer.request(case, filters)
        self.viewer.show_visual(rendered, "" if rendered else "Preparing the blurred view…")
        self._apply_reveal()

    def _on_rendered(self, rendered: Rendered) -> None:
        if self.case is not None and rendered.case_id == self.case.id:
            self._show_content()

    def answer(self, number: int) -> QuizFeedback | None:
        """Answer the item on screen with the label on key ``number``; training feedback."""
        if self.quiz is None or self.attempt_id is None or not 1 <= number <= len(self.labels):
            return None
        item = self.quiz.items[self.position]
        try:
            feedback = self.ws.quizzes.answer(
                self.attempt_id, item.case_id, self.labels[number - 1].id
            )
        except Refused as exc:
            self.feedback.setText(str(exc))
            return None
        self.last_feedback = feedback
        if feedback is not None:
            self._show_header()
            self.feedback.setText(feedback_text(feedback))
        elif self.position + 1 < len(self.quiz.items):
            self.show_item(self.position + 1)
        else:
            self.feedback.setText("Every item answered: press S to submit.")
        return feedback

    def submit(self) -> QuizScore | None:
        """Submit the attempt; its score where the key is known here (training)."""
        if self.attempt_id is None:
            return None
        self._stop_reveal()
        score = self.ws.quizzes.submit(self.attempt_id)
        self.last_score = score
        self.attempt_id = None
        if self.quiz is not None:
            self.header.setText(f"Quiz {self.quiz.name} ({self.quiz.mode}) · submitted")
        self.feedback.setText(
            f"{score_text(score)}\n\nYour lead gets this attempt with your next sync."
            if score is not None
            else SEND_LATER
        )
        return score

    def attempts_sent(self, waiting: int) -> None:
        """A sync ran: say whether the submitted attempt on screen is with the lead now."""
        if self.attempt_id is None and SEND_LATER in self.feedback.text():
            self.feedback.setText(
                "Submitted and sent to your lead, who scores it."
                if waiting == 0
                else f"{SEND_LATER}\n\n{waiting} attempt(s) still wait: the sync did not send them."
            )

    # -- protection and exposure -------------------------------------------------------------
    def hold_reveal(self, held: bool) -> None:
        """Space or the mouse held: the item shows sharp until released."""
        self.reveal.hold(held)
        self._apply_reveal()

    def accept_warning(self) -> None:
        """Opt in past the warning screen (the media still shows protected)."""
        self.reveal.accept_warning()
        self._show_content()

    def _media_on_screen(self) -> bool:
        return self.viewer.currentWidget() is self.viewer.media_page

    def _apply_reveal(self) -> None:
        self.viewer.image_view.set_revealed(self.reveal.full)
        fraction = self.reveal.fraction(
            self._media_on_screen(),
            self.viewer.revealed_region_fraction() if self._media_on_screen() else 0.0,
            self.viewer.image_view.revealed,
            protects(self._protection().filters),
        )
        if fraction > 0 and self.case is not None:
            if self.meter.revealing:
                self.meter.set_fraction(fraction)
            else:
                category = tag_key(self.case.tags[0]) if self.case.tags else "untagged"
                self.meter.start_reveal(self.case.id, category, fraction)
        else:
            self._stop_reveal()

    def _stop_reveal(self) -> None:
        span = self.meter.stop_reveal()
        if span is not None and span.unblurred_ms > 0 and self.session_id is not None:
            self.ws.wellbeing.record_exposure(self.session_id, span)

    def protect(self) -> None:
        """Back to protected now (the window lost focus, leaving the screen)."""
        self.reveal.protect()
        self._apply_reveal()

    # -- the lead's table ----------------------------------------------------------------------
    def show_results(self) -> list[QuizScore]:
        """Show who passed what (every submitted attempt of the quizzes here, scored)."""
        self.protect()
        scores = self.ws.quizzes.results()
        passed = sum(s.passed for s in scores)
        self.header.setText(
            f"Quiz results: {len(scores)} scored attempt(s), {passed} passed ·"
            " ↑/↓ choose a row: that reviewer's history shows below"
        )
        self.scores = scores
        self.results.setRowCount(len(scores))
        for row, s in enumerate(scores):
            cells = (
                s.reviewer,
                s.quiz_name,
                str(s.correct),
                str(s.total),
                f"{s.fraction:.0%}",
                "passed" if s.passed else "not passed",
                (s.submitted_at or "")[:16].replace("T", " "),
                sections_text(s),
            )
            for column, text in enumerate(cells):
                self.results.setItem(row, column, QTableWidgetItem(text))
        self.results.resizeColumnsToContents()
        self.pages.setCurrentWidget(self.results_page)
        self.history.setText("No attempt scored yet." if not scores else "")
        if scores:
            self.results.setCurrentCell(0, 0)
            self._show_history(0)
        self.results.setFocus(Qt.FocusReason.OtherFocusReason)
        return scores

    def _show_history(self, row: int, *_: int) -> None:
        """The history of the reviewer on ``row`` of the results table."""
        if not 0 <= row < len(self.scores):
            return
        score = self.scores[row]
        self.history.setText(
            history_text(score.reviewer, self.ws.quizzes.history(score.reviewer_id))
        )

    # -- keys ----------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """The quiz's keys (see the module's docstring)."""
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.hold_reveal(True)
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            self.answer(key - Qt.Key.Key_0)
        elif key in (Qt.Key.Key_N, Qt.Key.Key_Right):
            self.show_item(self.position + 1)
        elif key in (Qt.Key.Key_P, Qt.Key.Key_Left):
            self.show_item(self.position - 1)
        elif key == Qt.Key.Key_W:
            self.accept_warning()
        elif key == Qt.Key.Key_S:
            self.submit()
        elif key == Qt.Key.Key_Escape:
            self.protect()
            self.back_requested.emit()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        """Releasing Space protects the item again."""
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.hold_reveal(False)
        else:
            super().keyReleaseEvent(event)

    def shutdown(self) -> None:
        """Record the last exposure and stop the render workers (the window closes)."""
        self._stop_reveal()
        self.renderer.shutdown()
