"""The progress strip of a session: one button per case, coloured by where it stands.

A case is open (nobody voted), voting (some voted), revealed or ruled; the colour says
which, never anything about the votes' labels. A click opens the case.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from ...core.api import CalibrationCaseState
from ..plain_text import escaped

COLOURS = {
    "open": "#e6e6e6",
    "voting": "#cfe3ff",
    "revealed": "#ffe2b8",
    "ruled": "#c9efcf",
}
"""Background per stage of a case (no colour per label: votes stay hidden)."""


def stage(state: CalibrationCaseState | None) -> str:
    """``open``, ``voting``, ``revealed`` or ``ruled``."""
    if state is None or (state.voted == 0 and state.revealed is None):
        return "open"
    if state.ruling is not None:
        return "ruled"
    return "revealed" if state.revealed is not None else "voting"


def describe(position: int, state: CalibrationCaseState | None) -> str:
    """What the strip says of a case: counts and stage, never a label."""
    text = f"Case {position + 1}"
    if state is None:
        return f"{text}: loading…"
    return f"{text} ({state.case_id}): {state.voted} of {state.participants} voted · {stage(state)}"


class ProgressStrip(QWidget):
    """Where every case of the session stands; the current one is outlined."""

    case_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buttons: list[QPushButton] = []
        self.states: list[CalibrationCaseState | None] = []
        self.current = -1
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._layout.addStretch(1)

    def set_count(self, count: int) -> None:
        """One button per case (states unknown until :meth:`set_state`)."""
        for button in self.buttons:
            button.deleteLater()
        self.buttons, self.states = [], [None] * count
        for i in range(count):
            button = QPushButton(str(i + 1))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setFixedWidth(34)
            button.clicked.connect(lambda _checked=False, n=i: self.case_clicked.emit(n))
            self._layout.insertWidget(i, button)
            self.buttons.append(button)
            self._paint(i)

    def set_state(self, state: CalibrationCaseState) -> None:
        """Show where one case stands."""
        if 0 <= state.position < len(self.states):
            self.states[state.position] = state
            self._paint(state.position)

    def set_current(self, position: int) -> None:
        """Outline the case on screen."""
        previous, self.current = self.current, position
        for i in (previous, position):
            if 0 <= i < len(self.buttons):
                self._paint(i)

    def _paint(self, i: int) -> None:
        state = self.states[i]
        border = "2px solid #1d4ed8" if i == self.current else "1px solid #999"
        button = self.buttons[i]
        style = f"background:{COLOURS[stage(state)]}; border:{border}; padding:2px"
        if button.styleSheet() != style:  # a new style sheet restyles the button: only on change
            button.setStyleSheet(style)
        tip = escaped(describe(i, state))  # case ids come from batches
        if button.toolTip() != tip:
            button.setToolTip(tip)
