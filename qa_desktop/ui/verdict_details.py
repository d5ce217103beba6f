"""Confidence, RCA escalation and policy-gap flag of the verdict being drafted.

All reachable from the keyboard: Ctrl+1..3 confidence, R an RCA reason, P a policy gap
(each opens a numbered menu, then the note field; Esc leaves the note).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QMenu, QWidget

from ..core.api import (
    GAP_KINDS,
    RCA_REASONS,
    VerdictEvent,
)

CONFIDENCE_NAMES = {1: "low", 2: "medium", 3: "high"}


def readable(code: str) -> str:
    """``frontline_error`` → ``Frontline error``."""
    return code.replace("_", " ").capitalize()


class VerdictDetails(QWidget):
    """The optional parts of a verdict, shown as one compact form."""

    note_done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.confidence: int | None = None
        self.rca_reason: str | None = None
        self.gap_kind: str | None = None
        self.confidence_label = QLabel()
        self.rca_label = QLabel()
        self.gap_label = QLabel()
        self.rca_note = QLineEdit()
        self.rca_note.setPlaceholderText("RCA note — what went wrong upstream")
        self.gap_note = QLineEdit()
        self.gap_note.setPlaceholderText("Policy-gap note — what the guideline misses")
        for note in (self.rca_note, self.gap_note):
            note.returnPressed.connect(self.note_done)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Confidence (Ctrl+1–3)", self.confidence_label)
        form.addRow("RCA escalation (R)", self.rca_label)
        form.addRow(self.rca_note)
        form.addRow("Policy gap (P)", self.gap_label)
        form.addRow(self.gap_note)
        self.clear()

    def clear(self) -> None:
        """An empty draft: no confidence, no escalation, no gap."""
        self.load(None)

    def load(self, event: VerdictEvent | None) -> None:
        """Show the details of the reviewer's current verdict (or none)."""
        self.set_confidence(event.confidence if event else None)
        self.set_rca(event.rca_reason if event else None, event.rca_note if event else "")
        self.set_gap(event.gap_kind if event else None, event.gap_note if event else "")

    def set_confidence(self, level: int | None) -> None:
        """Confidence 1 (low) to 3 (high), or None."""
        self.confidence = level if level in CONFIDENCE_NAMES else None
        self.confidence_label.setText(
            f"{self.confidence} · {CONFIDENCE_NAMES[self.confidence]}" if self.confidence else "—"
        )

    def set_rca(self, reason: str | None, note: str = "") -> None:
        """Escalate for root-cause analysis with ``reason`` (None clears it)."""
        self.rca_reason = reason
        self.rca_label.setText(f"<b>{readable(reason)}</b>" if reason else "none")
        self.rca_note.setText(note if reason else "")
        self.rca_note.setVisible(reason is not None)

    def set_gap(self, kind: str | None, note: str = "") -> None:
        """Flag a policy gap of ``kind`` (None clears it)."""
        self.gap_kind = kind
        self.gap_label.setText(f"<b>{readable(kind)}</b>" if kind else "none")
        self.gap_note.setText(note if kind else "")
        self.gap_note.setVisible(kind is not None)

    def choose_rca(self) -> None:
        """Numbered menu of RCA reasons; the note field gets the cursor after a choice."""
        chosen = self._choose("RCA escalation", RCA_REASONS, self.rca_label)
        if chosen is not None:
            self.set_rca(chosen or None, self.rca_note.text())
            if chosen:
                self.rca_note.setFocus()

    def choose_gap(self) -> None:
        """Numbered menu of policy-gap kinds; the note field gets the cursor after a choice."""
        chosen = self._choose("Policy gap: the guideline is…", GAP_KINDS, self.gap_label)
        if chosen is not None:
            self.set_gap(chosen or None, self.gap_note.text())
            if chosen:
                self.gap_note.setFocus()

    def values(self) -> dict[str, object]:
        """The details as ``record_verdict`` keyword arguments."""
        return {
            "confidence": self.confidence,
            "rca_reason": self.rca_reason,
            "rca_note": self.rca_note.text().strip() if self.rca_reason else "",
            "gap_kind": self.gap_kind,
            "gap_note": self.gap_note.text().strip() if self.gap_kind else "",
        }

    def _choose(self, title: str, codes: tuple[str, ...], anchor: QWidget) -> str | None:
        """'' to clear, a code, or None when the menu was dismissed."""
        menu = QMenu(title, self)
        menu.setObjectName("detailsMenu")
        heading = menu.addAction(title)
        heading.setEnabled(False)
        actions: dict[QAction, str] = {}
        for i, code in enumerate(codes, start=1):
            actions[menu.addAction(f"&{i}  {readable(code)}")] = code
        menu.addSeparator()
        actions[menu.addAction("&0  None (clear)")] = ""
        chosen = menu.exec(anchor.mapToGlobal(QPoint(0, anchor.height())))
        return actions.get(chosen) if chosen is not None else None
