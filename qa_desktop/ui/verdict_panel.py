"""The verdict panel: labels on keys 1-9, citations found as you type, notes, record."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    Citation,
    EffectiveSection,
    Label,
    SectionMatch,
    VerdictDraft,
    VerdictEvent,
)
from .plain_text import escaped
from .verdict_details import VerdictDetails

SectionSearch = Callable[[str, str | None], list[SectionMatch]]
"""Search the case's guideline: (typed words, the chosen label id) -> ranked matches."""

HINTS = {
    "citation": "Typing a citation: ↑/↓ choose · Enter adds it and gives the keys back · "
    "Esc leaves · Ctrl+Backspace (empty field) removes the selected citation",
    "notes": "Typing notes: Esc leaves · Ctrl+Enter records",
    "note": "Typing a note: Esc leaves · Ctrl+Enter records",
}
"""What the panel says while a field of it has the keys: how to leave it."""


class CitationField(QLineEdit):
    """Type a section id or words of its title; Up/Down choose, Enter adds, Esc leaves."""

    escaped = Signal()
    remove_requested = Signal()

    def __init__(self, suggestions: QListWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.suggestions = suggestions
        self.setPlaceholderText("Cite: type a section id or title (C)")
        self.setClearButtonEnabled(True)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.suggestions.count():
            step = 1 if key == Qt.Key.Key_Down else -1
            row = max(0, min(self.suggestions.count() - 1, self.suggestions.currentRow() + step))
            self.suggestions.setCurrentRow(row)
            return
        if key == Qt.Key.Key_Escape:
            self.clear()
            self.escaped.emit()
            return
        if (
            key == Qt.Key.Key_Backspace
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and not self.text()
        ):
            self.remove_requested.emit()
            return
        super().keyPressEvent(event)


class VerdictPanel(QWidget):
    """Holds the draft verdict for the case on screen and asks for it to be recorded."""

    record_requested = Signal()
    text_editing_done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: list[Label] = []
        self._citations: list[tuple[Citation, str]] = []
        self._search: SectionSearch = lambda _text, _label: []
        self._pack: tuple[str, str] = ("", "")
        self._localized = False

        title = QLabel("Verdict")
        title_font = QFont(title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        title_font.setBold(True)
        title.setFont(title_font)

        self.current = QLabel("Not decided yet")
        self.current.setWordWrap(True)
        self.typing_hint = QLabel()
        self.typing_hint.setTextFormat(Qt.TextFormat.PlainText)
        self.typing_hint.setWordWrap(True)
        self.typing_hint.setStyleSheet(
            "background:#fff3c4; color:#5a4500; padding:3px; border-radius:3px"
        )
        self.problem = QLabel()
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(
            "background:#fde2e1; color:#8a1c13; padding:3px; border-radius:3px; font-weight:bold"
        )
        self.label_list = QListWidget()
        self.label_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.label_list.setWordWrap(True)
        self.label_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.suggestions = QListWidget()
        self.suggestions.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.suggestions.setMaximumHeight(150)
        self.suggestions.setWordWrap(True)
        self.suggestions.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.suggestions.itemClicked.connect(lambda _item: self.add_selected_citation())
        self.citation_field = CitationField(self.suggestions)
        self.citation_field.textEdited.connect(self._update_suggestions)
        self.citation_field.returnPressed.connect(self._enter_in_citation_field)
        self.citation_field.escaped.connect(self.text_editing_done)
        self.citation_field.remove_requested.connect(self.remove_selected_citation)

        self.citation_list = QListWidget()
        self.citation_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.citation_list.setMaximumHeight(110)
        self.citation_list.setWordWrap(True)
        self.citation_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.citation_list.setToolTip(
            "Backspace removes the selected citation (double-click removes one too)"
        )
        self.citation_list.itemDoubleClicked.connect(
            lambda item: self.remove_citation(self.citation_list.row(item))
        )

        self.details = VerdictDetails()
        self.details.note_done.connect(self.text_editing_done)
        for note in (self.details.rca_note, self.details.gap_note):
            note.installEventFilter(self)

        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Notes (N) — Esc to leave, Ctrl+Enter to record")
        self.notes.setMaximumHeight(110)
        self.notes.installEventFilter(self)

        self.record_button = QPushButton("Record verdict and next  (Ctrl+Enter)")
        self.record_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.record_button.clicked.connect(self.record_requested)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.current)
        layout.addWidget(self.typing_hint)
        layout.addWidget(self.problem)
        layout.addWidget(QLabel("Label (keys 1–9)"))
        layout.addWidget(self.label_list, 3)
        layout.addWidget(QLabel("Citations"))
        layout.addWidget(self.citation_field)
        layout.addWidget(self.suggestions)
        layout.addWidget(self.citation_list)
        layout.addWidget(self.details)
        layout.addWidget(QLabel("Notes"))
        layout.addWidget(self.notes)
        layout.addWidget(self.record_button)
        self.suggestions.hide()
        self.citation_list.hide()
        self.typing_hint.hide()
        self.problem.hide()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    # -- the focus model: a field with the keys says how to leave it -------------------------
    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        fields: dict[QWidget, str] = {
            self.citation_field: HINTS["citation"],
            self.notes: HINTS["notes"],
            self.details.rca_note: HINTS["note"],
            self.details.gap_note: HINTS["note"],
        }
        hint = fields.get(new, "") if new is not None else ""
        self.typing_hint.setText(hint)
        self.typing_hint.setVisible(bool(hint))

    def show_problem(self, text: str) -> None:
        """Say, where the eye is, why the verdict was not recorded (plain text)."""
        self.problem.setText(text)
        self.problem.show()

    def clear_problem(self) -> None:
        """The problem is answered (or the case changed)."""
        self.problem.clear()
        self.problem.hide()

    # -- what the case brings --------------------------------------------------------------
    def set_case_context(
        self,
        labels: list[Label],
        pack: tuple[str, str],
        search: SectionSearch,
        localized: bool = False,
    ) -> None:
        """The labels and section search of the pack the case is judged against
        (``localized``: a market overlay applies, so suggestions say whose words matched)."""
        self._labels = labels
        self._pack = pack
        self._search = search
        self._localized = localized
        self.label_list.clear()
        for i, label in enumerate(labels[:9], start=1):
            action = label.action.replace("_", " ")
            text = f"{i}   {label.name}"
            if action.split()[0] not in label.name.lower():
                text += f"  ({action})"
            item = QListWidgetItem(text)
            item.setToolTip(escaped(f"{label.id}: {action}, severity {label.severity}"))
            self.label_list.addItem(item)
        if not labels:
            self.label_list.addItem(
                QListWidgetItem(f"No labels: guideline pack {pack[0]} {pack[1]} is not loaded")
            )

    def load_draft(self, event: VerdictEvent | None) -> None:
        """Start from the reviewer's current verdict on the case (or an empty draft)."""
        self.label_list.clearSelection()
        self.label_list.setCurrentRow(-1)
        self._citations = []
        self.notes.clear()
        self.citation_field.clear()
        self.suggestions.clear()
        self.clear_problem()
        if event is not None and event.label:
            ids = [lb.id for lb in self._labels]
            if event.label in ids:
                self.label_list.setCurrentRow(ids.index(event.label))
            self._citations = [(c, c.section_id) for c in event.citations]
            self.notes.setPlainText(event.notes)
        self.details.load(event if event is not None and event.label else None)
        self._show_citations()
        self.show_current(event)

    def show_current(self, event: VerdictEvent | None) -> None:
        """Say what is recorded for this case now."""
        if event is None or not event.label:
            self.current.setText("Not decided yet")
            return
        cites = ", ".join(c.section_id for c in event.citations) or "no citation"
        name = self._label_name(event.label)
        when = event.created_at[11:19]
        self.current.setText(
            f"Recorded: <b>{html.escape(name)}</b> · {html.escape(cites)} · {when} UTC"
        )

    # -- editing -------------------------------------------------------------------------
    def select_label(self, number: int) -> bool:
        """Choose the label on key ``number`` (1-based); False if there is none."""
        if not 1 <= number <= min(9, len(self._labels)):
            return False
        self.label_list.setCurrentRow(number - 1)
        self.clear_problem()
        return True

    def selected_label(self) -> Label | None:
        """The label chosen in the draft."""
        row = self.label_list.currentRow()
        return self._labels[row] if 0 <= row < len(self._labels) else None

    def add_selected_citation(self) -> bool:
        """Add the highlighted suggestion (or the first) as a citation."""
        item = self.suggestions.currentItem() or self.suggestions.item(0)
        if item is None:
            return False
        self.add_citation(item.data(Qt.ItemDataRole.UserRole))
        return True

    def _enter_in_citation_field(self) -> None:
        if self.add_selected_citation():
            self.text_editing_done.emit()  # the keys go back to the review loop
        elif self.citation_field.text().strip():
            self.show_problem(self._no_match())

    def take_typed_citation(self) -> bool:
        """Before recording: add a half-typed citation's highlighted section.

        False (and the problem shown, the words kept) when words are typed that match no
        section: a citation is never dropped silently.
        """
        if not self.citation_field.text().strip():
            return True
        if self.add_selected_citation():
            return True
        self.show_problem(f"Not recorded: {self._no_match()}")
        return False

    def _no_match(self) -> str:
        typed = self.citation_field.text().strip()
        return f"no section matches “{typed}”: change the words, or Esc to drop them"

    def add_citation(self, section: EffectiveSection, quote: str = "") -> None:
        """Cite ``section`` from the pack its text comes from (global or market overlay),
        optionally with a quoted span of its text."""
        self._citations = [(c, t) for c, t in self._citations if c.section_id != section.id]
        citation = Citation(section.pack_id, section.pack_version, section.id, quote=quote)
        retired = "  (retired!)" if section.status == "retired" else ""
        quoted = f"  “{quote}”" if quote else ""
        self._citations.append((citation, f"{section.id}  {section.title}{retired}{quoted}"))
        self.citation_field.clear()
        self.suggestions.clear()
        self.clear_problem()
        self._show_citations()

    def remove_citation(self, row: int) -> str | None:
        """Remove the citation at ``row``; the section id removed (None if none)."""
        if not 0 <= row < len(self._citations):
            return None
        removed = self._citations.pop(row)[0].section_id
        self._show_citations(min(row, len(self._citations) - 1))
        return removed

    def remove_selected_citation(self) -> str | None:
        """Remove the selected citation (the newest unless another was clicked)."""
        row = self.citation_list.currentRow()
        return self.remove_citation(row if row >= 0 else len(self._citations) - 1)

    def draft(self) -> VerdictDraft | None:
        """The verdict as drafted, or None when no label is chosen."""
        label = self.selected_label()
        if label is None:
            return None
        details = self.details.values()
        return VerdictDraft(
            label=label.id,
            citations=tuple(c for c, _ in self._citations),
            notes=self.notes.toPlainText().strip(),
            confidence=details["confidence"],  # type: ignore[arg-type]
            rca_reason=details["rca_reason"],  # type: ignore[arg-type]
            rca_note=str(details["rca_note"]),
            gap_kind=details["gap_kind"],  # type: ignore[arg-type]
            gap_note=str(details["gap_note"]),
        )

    def _label_name(self, label_id: str) -> str:
        return next((lb.name for lb in self._labels if lb.id == label_id), label_id)

    def _update_suggestions(self, text: str) -> None:
        self.suggestions.clear()
        label = self.selected_label()
        for match in self._search(text, label.id if label else None)[:12]:
            section = match.section
            words = f"  · {match.wording} wording" if self._localized else ""
            supports = "✓ " if match.supports else ""
            item = QListWidgetItem(f"{section.id}  {supports}{section.title}{words}")
            item.setData(Qt.ItemDataRole.UserRole, section)
            tip = section.body
            if section.localized and section.global_body:
                tip += f"\n\nGlobal wording: {section.global_title}\n{section.global_body}"
            item.setToolTip(escaped(tip))
            self.suggestions.addItem(item)
        if self.suggestions.count():
            self.suggestions.setCurrentRow(0)
        self.suggestions.setVisible(self.suggestions.count() > 0)

    def _show_citations(self, selected: int | None = None) -> None:
        self.citation_list.clear()
        for _citation, text in self._citations:
            self.citation_list.addItem(text)
        if self._citations:
            self.citation_list.setCurrentRow(
                len(self._citations) - 1 if selected is None else selected
            )
        self.citation_list.setVisible(bool(self._citations))
        self.suggestions.setVisible(self.suggestions.count() > 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        text_inputs = (self.notes, self.details.rca_note, self.details.gap_note)
        if watched in text_inputs and event.type() == QEvent.Type.KeyPress:
            key_event: QKeyEvent = event  # type: ignore[assignment]
            if key_event.key() == Qt.Key.Key_Escape:
                self.text_editing_done.emit()
                return True
            if key_event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                key_event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.record_requested.emit()
                return True
        return super().eventFilter(watched, event)
