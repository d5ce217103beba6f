"""A calibration session's report on screen: the agreement figures with their intervals and
interpretation bands (and where the bands come from), the per-case table with the
low-agreement rows marked, filing those as policy gaps (G), and XLSX/CSV export.

Every query, the filing and the exports run in a QThreadPool task with its own Workspace;
the GUI thread only shows results. Text from outside (case ids, names, labels) is plain
text in item views and plain-text labels::

    view = SessionReportView(ws, session.id)
    view.refresh()      # computes in the background, then emits report_shown
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.api import (
    ALPHA_BANDS,
    KAPPA_BANDS,
    LOW_AGREEMENT,
    LOW_RULING_SHARE,
    CalibrationSessionReport,
    FiledGaps,
    session_tables,
)
from ...core.workspace import Workspace
from ..reports.model import ReportTableModel, sortable_view
from ..workers import TaskSignals, WorkspaceTask

FLAGGED = QColor("#FCE4C4")
"""The background of a low-agreement row."""
FILE_GAPS_KEY = "G"


class CaseTableModel(ReportTableModel):
    """The per-case table; low-agreement rows have a warm background and a tooltip."""

    def flagged(self, row: int) -> bool:
        """Whether the row is a low-agreement case."""
        t = self.table
        return t is not None and "flag" in t.headers and bool(t.rows[row][t.headers.index("flag")])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        """As the report tables, plus the low-agreement mark."""
        if index.isValid() and self.table is not None and self.flagged(index.row()):
            if role == Qt.ItemDataRole.BackgroundRole:
                return FLAGGED
            if role == Qt.ItemDataRole.ToolTipRole:
                reason = self.table.rows[index.row()][self.table.headers.index("flag_reason")]
                return f"Low agreement (candidate policy gap): {reason}"
        return super().data(index, role)


def bands_text() -> str:
    """The interpretation bands and their published sources, as plain text."""
    lines = []
    for name, bands in (("kappa and AC1", KAPPA_BANDS), ("alpha", ALPHA_BANDS)):
        steps = ", ".join(
            f"{b.label} from {b.low:g}" if b.low > -1e9 else b.label for b in bands.bands
        )
        lines.append(f"Bands for {name}: {steps}. Source: {bands.source}")
    return "\n".join(lines)


class SessionReportView(QWidget):
    """One session's report: figures, cases, file gaps (G), export."""

    report_shown = Signal()
    gaps_filed = Signal(object)
    """The :class:`FiledGaps` of a filing."""
    exported = Signal(object)
    """The paths an export wrote."""
    failed = Signal(str)

    def __init__(self, ws: Workspace, session_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.session_id = session_id
        self.report: CalibrationSessionReport | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.signals = TaskSignals(self)
        self.signals.done.connect(self._finished)
        self.signals.failed.connect(self._failed)
        self._number = 0
        self._handlers: dict[int, Callable[[object], None]] = {}

        self.headline = QLabel("Computing the session report…")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setWordWrap(True)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.bands = QLabel(bands_text())
        self.bands.setTextFormat(Qt.TextFormat.PlainText)
        self.bands.setWordWrap(True)
        self.file_gaps_button = QPushButton(
            f"File low-agreement cases as policy gaps ({FILE_GAPS_KEY})"
        )
        self.file_gaps_button.setToolTip(
            f"Files each ruled case whose votes agree below {LOW_AGREEMENT:g} (pairs), or whose"
            f" ruling drew under {LOW_RULING_SHARE:.0%} of the votes, as a policy-gap finding."
            " A case already filed is left alone."
        )
        self.xlsx_button = QPushButton("Export &XLSX…")
        self.csv_button = QPushButton("Export &CSV…")
        self.file_gaps_button.clicked.connect(self.file_gaps)
        self.xlsx_button.clicked.connect(lambda: self.export("xlsx"))
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        shortcut = QShortcut(QKeySequence(FILE_GAPS_KEY), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.file_gaps)

        self.models: dict[str, ReportTableModel] = {}
        self.views: dict[str, QTableView] = {}
        figures = QTabWidget()
        figures.addTab(self._table("metrics"), "&Agreement")
        figures.addTab(self._table("pairwise"), "&Pairs (Cohen)")
        figures.addTab(self._table("with_ruling"), "With the &ruling")
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(figures, 1)
        top_layout.addWidget(self.bands)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self._table("cases", CaseTableModel()))

        buttons = QHBoxLayout()
        for button in (self.file_gaps_button, self.xlsx_button, self.csv_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    def _table(self, name: str, model: ReportTableModel | None = None) -> QTableView:
        model = model or ReportTableModel()
        view, _proxy = sortable_view(model, self)
        self.models[name] = model
        self.views[name] = view
        return view

    # -- background work ---------------------------------------------------------------------
    def _run(self, job: Callable[[Workspace], object], then: Callable[[object], None]) -> None:
        self._number += 1
        self._handlers[self._number] = then
        self.pool.start(WorkspaceTask(self._number, self.ws.data_dir, job, self.signals))

    def _finished(self, number: int, result: object) -> None:
        handler = self._handlers.pop(number, None)
        if handler is not None:
            handler(result)

    def _failed(self, number: int, error: Exception) -> None:
        self._handlers.pop(number, None)
        self.status.setText(f"Could not finish: {error}")
        self.failed.emit(str(error))

    # -- actions -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Compute the session's report in the background, then show it."""
        session = self.session_id
        self._run(lambda ws: ws.calibration.report(session), self._show)

    def _show(self, result: object) -> None:
        assert isinstance(result, CalibrationSessionReport)
        self.report = result
        tables = {t.name: t for t in session_tables(result)}
        for name, model in self.models.items():
            model.set_table(tables.get(name))
        for view in self.views.values():
            view.resizeColumnsToContents()
        a = result.agreement
        figures = []
        for e in (a.percent, a.fleiss_kappa, a.alpha, a.ac1):
            if e.value is None:
                figures.append(f"{e.name}: undefined ({e.reason})")
                continue
            text = f"{e.name}: {e.value:.3f}"
            if e.interval is not None:
                text += f" (95% CI {e.interval.low:.3f} to {e.interval.high:.3f})"
            if e.band:
                text += f", {e.band}"
            figures.append(text)
        s = result.session
        self.headline.setText(
            f"{s.name}: {result.revealed} of {len(result.cases)} cases revealed (only those"
            f" count), {len(result.flagged)} of low agreement.   " + "   ·   ".join(figures)
        )
        self.report_shown.emit()

    def file_gaps(self) -> None:
        """File the low-agreement ruled cases as policy gaps (background), then refresh."""
        session = self.session_id

        def done(result: object) -> None:
            assert isinstance(result, FiledGaps)
            text = f"Filed {len(result.filed)} policy gap(s)"
            if result.filed:
                text += ": " + ", ".join(result.filed)
            if result.already:
                text += f"; already filed: {', '.join(result.already)}"
            if result.unruled:
                text += f"; not ruled yet (rule them first): {', '.join(result.unruled)}"
            self.status.setText(text + ".")
            self.gaps_filed.emit(result)
            self.refresh()

        self._run(lambda ws: ws.calibration.file_policy_gaps(session), done)

    def export(self, fmt: str, path: Path | None = None) -> None:
        """Write the report on screen as XLSX (a file) or CSV (a folder); asks where if no
        path is given. Runs in the background."""
        report = self.report
        if report is None:
            return
        if path is None:
            if fmt == "csv":
                chosen = QFileDialog.getExistingDirectory(self, "Export the session as CSV files")
            else:
                chosen, _ = QFileDialog.getSaveFileName(
                    self, "Export the session as XLSX", f"{report.session.name}.xlsx", "*.xlsx"
                )
            if not chosen:
                return
            path = Path(chosen)
        target = path

        def done(result: object) -> None:
            assert isinstance(result, list)
            self.status.setText(f"Written to {target}")
            self.exported.emit(result)

        self._run(lambda ws: ws.calibration.write_report(report, target, fmt), done)
