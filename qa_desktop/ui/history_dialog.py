"""A case's full verdict history (H): every event, oldest first, nothing hidden or merged."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    VerdictEvent,
    display_text,
    distinct_names,
)
from .tables import read_only_table

COLUMNS = (
    "When (UTC)",
    "Reviewer",
    "Event",
    "Label",
    "Citations",
    "Confidence",
    "RCA",
    "Gap",
    "Notes",
)


def describe(event: VerdictEvent, events_by_id: dict[str, VerdictEvent]) -> str:
    """What kind of event this is: a verdict, an edit, an undo or a retraction."""
    if event.label is None:
        return "undo → undecided"
    if event.restores:
        return "undo → restored"
    if event.supersedes and events_by_id.get(event.supersedes) is not None:
        return "edit"
    return "verdict"


def history_rows(events: list[VerdictEvent], names: dict[str, str]) -> list[list[str]]:
    """The table rows for ``events`` (reviewer ids shown as display names where known, with
    the id beside a name that looks like another's; bidi controls made inert)."""
    by_id = {e.id: e for e in events}
    shown = distinct_names(list(names.items()))
    rows = []
    for e in events:
        rows.append(
            [
                e.created_at.replace("T", " ").rstrip("Z")[:19],
                shown.get(e.reviewer_id) or display_text(e.reviewer_id[:8]),
                describe(e, by_id),
                e.label or "—",
                ", ".join(c.section_id for c in e.citations),
                str(e.confidence or ""),
                (e.rca_reason or "") + (f": {e.rca_note}" if e.rca_note else ""),
                (e.gap_kind or "") + (f": {e.gap_note}" if e.gap_note else ""),
                e.notes,
            ]
        )
    return rows


class HistoryDialog(QDialog):
    """Read-only table of a case's events."""

    def __init__(
        self,
        case_id: str,
        events: list[VerdictEvent],
        names: dict[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"History of {case_id}")
        rows = history_rows(events, names)
        self.table = read_only_table(COLUMNS, rows, self)
        summary = QLabel(
            f"{len(events)} events on {case_id}. Events are never changed or deleted: an edit "
            "or an undo is a new event."
        )
        summary.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(1100, 420)
