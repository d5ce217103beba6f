"""The vote grid: participants x the pack's labels, driven by the keyboard.

Arrow keys move, 1-9 put the cursor on that label in the participant's row, Enter or Space
casts the vote under the cursor (:attr:`VoteGrid.vote_requested`). Before a reveal the grid
shows only who has voted: a tick in the first column and on the row's header, never which
label; after a vote the cursor goes back to the first column of the next row, so the chosen
cell does not stay highlighted. After a reveal of a named session, the cells show the votes.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

from ...core.api import CalibrationCaseState, Label, Participant
from ..plain_text import escaped

VOTED_COLUMN = 0
TICK = "✓"


class VoteGrid(QTableWidget):
    """Participants in rows, the voted tick then the labels in columns."""

    vote_requested = Signal(str, str)
    """(participant id, label id): Enter or Space on a label cell."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.participants: list[Participant] = []
        self.labels: list[Label] = []
        self._shown: list[tuple[bool, str | None] | None] = []  # (voted, label) on each row
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setTabKeyNavigation(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Vote grid")
        self.setToolTip("Arrows move · 1–9 choose the label · Enter or Space records the vote")

    def set_session(self, participants: Sequence[Participant], labels: Sequence[Label]) -> None:
        """Rows for ``participants``, a column per label (the choices; keys 1-9 on the first
        nine)."""
        self.participants = list(participants)
        self.labels = list(labels)
        self.clear()
        self.setRowCount(len(self.participants))
        self.setColumnCount(1 + len(self.labels))
        self.setHorizontalHeaderItem(VOTED_COLUMN, QTableWidgetItem("Voted"))
        for column, label in enumerate(self.labels, start=1):
            key = f"{column} " if column <= 9 else ""
            header = QTableWidgetItem(f"{key}{label.name}")
            header.setToolTip(escaped(f"{label.id}: {label.action.replace('_', ' ')}"))
            self.setHorizontalHeaderItem(column, header)
        for row in range(len(self.participants)):
            for column in range(1 + len(self.labels)):
                self.setItem(row, column, QTableWidgetItem(""))
        self._shown = [None] * len(self.participants)
        self.show_state(None)
        self.resizeColumnsToContents()
        if self.participants:
            self.setCurrentCell(0, VOTED_COLUMN)

    def show_state(self, state: CalibrationCaseState | None) -> None:
        """Ticks for who has voted; the votes themselves only once revealed (named)."""
        voters = set(state.voters) if state is not None else set()
        votes: dict[str, str] = {}
        if state is not None and state.revealed is not None:
            votes = {v.voter: v.label for v in state.revealed.votes}
        for row, person in enumerate(self.participants):
            voted = person.name in voters
            shown = (voted, votes.get(person.name))
            if self._shown[row] == shown:
                continue  # a room's refreshes touch only the rows that changed
            self._shown[row] = shown
            self.setVerticalHeaderItem(
                row, QTableWidgetItem(f"{TICK if voted else '  '} {person.name}")
            )
            tick = self.item(row, VOTED_COLUMN)
            if tick is not None:
                tick.setText(TICK if voted else "—")
            for column, label in enumerate(self.labels, start=1):
                cell = self.item(row, column)
                if cell is not None:
                    cell.setText("●" if votes.get(person.name) == label.id else "")

    def after_vote(self, row: int) -> None:
        """Leave the label cell: the cursor goes to the first column of the next row."""
        self.clearSelection()
        if self.rowCount():
            self.setCurrentCell(min(row + 1, self.rowCount() - 1), VOTED_COLUMN)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Digits choose a label, Enter or Space vote; other keys move or go to the screen."""
        key = event.key()
        plain = not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        )
        row = self.currentRow()
        if plain and Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            number = key - Qt.Key.Key_0
            if row >= 0 and number <= len(self.labels):
                self.setCurrentCell(row, number)
            return
        if plain and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            column = self.currentColumn()
            if 0 <= row < len(self.participants) and column > VOTED_COLUMN:
                self.vote_requested.emit(self.participants[row].id, self.labels[column - 1].id)
            return
        if plain and key in (
            Qt.Key.Key_Left,
            Qt.Key.Key_Right,
            Qt.Key.Key_Up,
            Qt.Key.Key_Down,
            Qt.Key.Key_Home,
            Qt.Key.Key_End,
        ):
            super().keyPressEvent(event)
            return
        event.ignore()  # the screen's keys (R, N, PgDn, ...)
