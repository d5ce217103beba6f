"""The calm break screen and the end-of-session summary."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.api import (
    BreakSuggestion,
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
