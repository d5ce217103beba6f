"""The calm break screen and the end-of-session summary."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.api import (
    BreakSuggestion,
    Clock,
    SessionSummary,
)

SNOOZE_MINUTES = 10


def seconds(ms: float) -> str:
    """``83000`` → ``1 min 23 s``."""
    total = round(ms / 1000)
    minutes, secs = divmod(total, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


class BreakDialog(QDialog):
    """A quiet full-window suggestion: take a break now, or snooze. Content stays blurred."""

    TOOK_BREAK = 1
    SNOOZED = 2

    def __init__(self, suggestion: BreakSuggestion, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Time for a break")
        self.setStyleSheet(
            "QDialog { background: #22313a; } QLabel { color: #e8f0f0; }"
            "QPushButton { padding: 10px 18px; }"
        )
        title = QLabel("Time for a short break")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        title.setFont(font)
        message = QLabel(
            f"{suggestion.message}\n\nLook away from the screen, stretch, breathe slowly for a "
            "minute. Your queue will be here when you come back."
        )
        message.setWordWrap(True)
        take = QPushButton("I'm taking a break")
        take.clicked.connect(lambda: self.done(self.TOOK_BREAK))
        snooze = QPushButton(f"Remind me in {SNOOZE_MINUTES} minutes")
        snooze.clicked.connect(lambda: self.done(self.SNOOZED))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(snooze)
        buttons.addWidget(take)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 40, 40, 30)
        layout.addWidget(title, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(message, 1)
        layout.addLayout(buttons)
        take.setDefault(True)
        self.resize(640, 360)

    def reject(self) -> None:
        # Esc snoozes rather than dismissing the suggestion for good.
        self.done(self.SNOOZED)


def clock_text(seconds_elapsed: float) -> str:
    """``95`` → ``1:35``; an hour and more → ``1:02:05``."""
    total = max(0, int(seconds_elapsed))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class BreakScreen(QDialog):
    """The break itself: calm colour over the whole window, how long it has lasted, and
    the way back (Enter, Space or Esc, or the button). Nothing of the case shows."""

    def __init__(self, clock: Clock = time.monotonic, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("On a break")
        self._clock = clock
        self._started = clock()
        self.setStyleSheet(
            "QDialog { background: qlineargradient(x1:0, y1:0, x2:0, y2:1,"
            " stop:0 #2f5d62, stop:1 #5e8b7e); } QLabel { color: #eef5f1; }"
            "QPushButton { padding: 10px 18px; }"
        )
        title = QLabel("On a break")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        title.setFont(font)
        self.timer_label = QLabel(clock_text(0))
        big = self.timer_label.font()
        big.setPointSizeF(big.pointSizeF() * 4)
        self.timer_label.setFont(big)
        hint = QLabel(
            "Look away from the screen, stretch, breathe slowly. The session clock and the "
            "exposure count are paused.\n\nPress Enter when you are back."
        )
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        back = QPushButton("I'm back")
        back.clicked.connect(self.accept)
        back.setDefault(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 60, 40, 40)
        layout.addStretch(1)
        layout.addWidget(title, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.timer_label, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(hint)
        layout.addStretch(1)
        layout.addWidget(back, 0, Qt.AlignmentFlag.AlignCenter)
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self.tick)
        self.ticker.start()
        if parent is not None:
            self.resize(parent.window().size())
        else:
            self.resize(800, 600)

    @property
    def elapsed_s(self) -> float:
        """How long the break has lasted, in seconds."""
        return max(0.0, self._clock() - self._started)

    def tick(self) -> None:
        """Show how long the break has lasted."""
        self.timer_label.setText(clock_text(self.elapsed_s))

    def timer_text(self) -> str:
        """The time shown now, e.g. ``1:35``."""
        return self.timer_label.text()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter, Space or Esc end the break."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.accept()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        # Esc ends the break too: it is the reviewer's key either way.
        self.accept()

    def done(self, result: int) -> None:
        """Stop the timer as the break ends."""
        self.ticker.stop()
        super().done(result)


def summary_text(summary: SessionSummary) -> str:
    """The session summary as a few readable lines."""
    lines = [
        f"Cases seen: {summary.cases_seen}    Verdicts recorded: {summary.decided}",
        f"Unblurred viewing: {seconds(summary.unblurred_ms)} "
        f"(area-weighted {seconds(summary.weighted_ms)})",
        f"Longest single reveal: {seconds(summary.longest_exposure_ms)}",
        f"Breaks taken: {summary.breaks_taken}",
    ]
    if summary.by_category:
        lines.append("By category:")
        for category, totals in sorted(
            summary.by_category.items(), key=lambda item: -item[1].weighted_ms
        ):
            lines.append(f"    {category or 'untagged'}: {seconds(totals.unblurred_ms)}")
    return "\n".join(lines)


class SummaryDialog(QDialog):
    """What this session amounted to, shown at the end (and on demand)."""

    def __init__(self, summary: SessionSummary, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Session summary")
        self.text = QLabel(summary_text(summary))
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # categories are case tags
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>This session</b>"))
        layout.addWidget(self.text)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
