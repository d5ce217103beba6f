"""RCA escalations and policy gaps, grouped by guideline section, exportable to CSV: the
counts per section, or the flagged verdicts one row each (notes, market, moderator, reviewer).

These are the lists the SME takes to policy meetings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
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
from .tables import read_only_table

COLUMNS = ("Section", "Title", "Count", "Kinds", "Example cases")


class FindingsDialog(QDialog):
    """A table of finding groups with an Export CSV button; double-click opens an example."""

    def __init__(
        self,
        title: str,
        groups: list[FindingGroup],
        open_case: Callable[[str], None],
        parent: QWidget | None = None,
        cases: list[FindingCase] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.groups = groups
        self.cases = cases or []
        self.open_case = open_case
        rows = [
            (
                g.section_id,
                g.title,
                str(g.count),
                ", ".join(f"{kind.replace('_', ' ')} ×{n}" for kind, n in g.kinds),
                ", ".join(g.example_case_ids),
            )
            for g in groups
        ]
        self.table = read_only_table(COLUMNS, rows, self)
        self.table.cellDoubleClicked.connect(self._open_example)
        total = sum(g.count for g in groups)
        summary = QLabel(
            f"{total} flagged verdicts in {len(groups)} sections. "
            "Double-click a row to open its first example case."
            if groups
            else "Nothing flagged yet: flag verdicts with R (RCA) or P (policy gap)."
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Counts per section, one row each")
        self.export_button.setEnabled(bool(groups))
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(lambda: self.export())
        self.export_cases_button = QPushButton("Export cases CSV…")
        self.export_cases_button.setToolTip(
            "Every flagged verdict, one row each: notes, market, moderator, reviewer"
        )
        self.export_cases_button.setEnabled(bool(self.cases))
        buttons.addButton(self.export_cases_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.export_cases_button.clicked.connect(lambda: self.export_cases())
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(1000, 480)

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
