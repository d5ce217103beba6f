"""RCA escalations and policy gaps, grouped by guideline section, exportable to CSV: the
counts per section, or the flagged verdicts one row each (notes, market, moderator, reviewer).

These are the lists the SME takes to policy meetings. The main window opens the dialog at
once and reads the findings in a worker (:meth:`FindingsDialog.fill` when they arrive); keys
typed before the rows are there wait for them, so nothing typed is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    FindingCase,
    FindingGroup,
    write_cases_csv,
    write_csv,
)
from .plain_text import warn
from .tables import fill_table, read_only_table

COLUMNS = ("Section", "Title", "Count", "Kinds", "Example cases")


class FindingsDialog(QDialog):
    """A table of finding groups with Export CSV buttons; Return or a double-click opens a
    row's first example case. Made with ``groups=None`` it says it is reading until
    :meth:`fill` (or :meth:`failed`)."""

    def __init__(
        self,
        title: str,
        groups: list[FindingGroup] | None,
        open_case: Callable[[str], None],
        parent: QWidget | None = None,
        cases: list[FindingCase] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.groups: list[FindingGroup] = []
        self.cases: list[FindingCase] = []
        self.open_case = open_case
        self.loaded = False
        """The findings are on screen (not still being read)."""
        self._held: list[QKeyEvent] = []
        self.table = read_only_table(COLUMNS, [], self)
        self.table.cellDoubleClicked.connect(self._open_example)
        self.table.installEventFilter(self)
        self.summary = QLabel("Reading the flagged verdicts…")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Counts per section, one row each")
        self.export_button.setEnabled(False)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(lambda: self.export())
        self.export_cases_button = QPushButton("Export cases CSV…")
        self.export_cases_button.setToolTip(
            "Every flagged verdict, one row each: notes, market, moderator, reviewer"
        )
        self.export_cases_button.setEnabled(False)
        buttons.addButton(self.export_cases_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.export_cases_button.clicked.connect(lambda: self.export_cases())
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(1000, 480)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if groups is not None:
            self.fill(groups, cases or [])

    def fill(self, groups: list[FindingGroup], cases: list[FindingCase]) -> None:
        """Show the findings read; then the keys typed while they were read."""
        self.groups, self.cases = groups, cases
        fill_table(
            self.table,
            [
                (
                    g.section_id,
                    g.title,
                    str(g.count),
                    ", ".join(f"{kind.replace('_', ' ')} ×{n}" for kind, n in g.kinds),
                    ", ".join(g.example_case_ids),
                )
                for g in groups
            ],
        )
        self.table.resizeColumnsToContents()
        if groups:
            self.table.setCurrentCell(0, 0)
        total = sum(g.count for g in groups)
        self.summary.setText(
            f"{total} flagged verdicts in {len(groups)} sections. "
            "Press Return or double-click a row to open its first example case."
            if groups
            else "Nothing flagged yet: flag verdicts with R (RCA) or P (policy gap)."
        )
        self.export_button.setEnabled(bool(groups))
        self.export_cases_button.setEnabled(bool(self.cases))
        self.loaded = True
        held, self._held = self._held, []
        for event in held:
            QApplication.sendEvent(self.table, event)

    def failed(self, error: Exception) -> None:
        """Say the findings could not be read."""
        self._held.clear()
        self.summary.setText(f"The findings could not be read: {error}")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """While the findings are read, keep the keys typed into the table for them."""
        if (
            not self.loaded
            and watched is self.table
            and event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease)
        ):
            key: QKeyEvent = event  # type: ignore[assignment]
            if key.key() != Qt.Key.Key_Escape:
                self._held.append(
                    QKeyEvent(
                        key.type(),
                        key.key(),
                        key.modifiers(),
                        key.text(),
                        key.isAutoRepeat(),
                        key.count(),
                    )
                )
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Return (or Enter) on a row opens its first example case."""
        row = self.table.currentRow()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.hasFocus():
            if row >= 0:
                self._open_example(row, 0)
            return
        super().keyPressEvent(event)

    def export(self, path: Path | None = None) -> Path | None:
        """Write the groups as CSV (asking where, unless ``path`` is given)."""
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export CSV", str(Path.home() / "findings.csv"), "CSV (*.csv)"
            )
            if not chosen:
                return None
            path = Path(chosen)
        try:
            write_csv(self.groups, path)
        except OSError as exc:
            warn(self, "Not exported", f"Cannot write {path}: {exc.strerror}")
            return None
        return path

    def export_cases(self, path: Path | None = None) -> Path | None:
        """Write the flagged verdicts one row each as CSV (asking where unless given)."""
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self, "Export cases CSV", str(Path.home() / "findings-cases.csv"), "CSV (*.csv)"
            )
            if not chosen:
                return None
            path = Path(chosen)
        try:
            write_cases_csv(self.cases, path)
        except OSError as exc:
            warn(self, "Not exported", f"Cannot write {path}: {exc.strerror}")
            return None
        return path

    def _open_example(self, row: int, _column: int) -> None:
        if 0 <= row < len(self.groups) and self.groups[row].example_case_ids:
            self.open_case(self.groups[row].example_case_ids[0])
            self.accept()
