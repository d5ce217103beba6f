"""The reports screen: a screen of the main window's stack (not a modal dialog).

Filters (decision dates; batch, market, policy, queue, moderator: several values each, a
checkable list, none checked meaning all) and a breakdown (one
dimension, or two crossed) at the top; the figures below in tabs: accuracy bars with Wilson
whiskers and the stacked errors, the weekly line, the error taxonomy, the confusion heat
map, flags and throughput, weighted accuracy, the calibration drift line (agreement per
market and policy across sessions). Every table sorts. A click on a bar, a point,
a heat-map cell or a table row opens the cases behind it in the review queue
(:attr:`ReportsScreen.open_cases`). Queries run in a QThreadPool task with their own
Workspace; the GUI thread only paints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QPointF,
    QRectF,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.api import (
    REPORT_DIMENSIONS,
    Report,
    ReportFilter,
    ReportTable,
    exposure_table,
    headline_lines,
    report_tables,
)
from ...core.workspace import Workspace
from ..workers import TaskSignals, WorkspaceTask
from .charts import (
    bars_from,
    paint_accuracy_bars,
    paint_drift,
    paint_error_stack,
    paint_heat_map,
    paint_weekly_line,
)
from .model import ReportTableModel, sortable_view
from .multi_choice import MultiChoice

log = logging.getLogger(__name__)

ALL = "(all)"
NONE = "(none)"
ERROR_OUTCOMES = ("over_enforcement", "under_enforcement", "wrong_policy", "wrong_action")

TAXONOMY_OUTCOMES: tuple[tuple[str, ...], ...] = (
    ("over_enforcement",),
    ("under_enforcement",),
    ("wrong_policy",),
    ("wrong_action",),
    ("wrong_policy", "wrong_action"),
    ("disputed",),
    ("open",),
    ("unknown_label",),
)
"""The outcomes behind each row of the taxonomy table, in its order."""

STEP_MS = 1
"""The screen is built in steps this far apart: a real timer, not a zero one (a zero timer is
a posted event, run in the same pass as the paint it follows), so other timers and input get
their turn between steps."""

Pick = tuple[dict[str, str], tuple[str, ...]]
"""What a click picked: the key columns and the outcomes (empty: every case)."""


@dataclass(frozen=True)
class Tab:
    """One tab of figures: its charts (attribute names of the screen's :class:`ChartView`),
    then its tables, stacked top to bottom, or side by side when ``across``."""

    title: str
    tables: tuple[str, ...]
    charts: tuple[str, ...] = ()
    across: bool = False


TABS = (
    Tab("&Accuracy", ("accuracy",), ("accuracy_chart", "errors_chart")),
    Tab("&Weekly", ("weekly",), ("weekly_chart",)),
    Tab("&Errors", ("taxonomy",)),
    Tab("C&onfusion", ("confusion",), ("heat_map",), across=True),
    Tab("&Flags and throughput", ("flags", "throughput", "time_on_case")),
    Tab("Wei&ghted", ("weighted",)),
    Tab("Ca&libration", ("calibration",), ("drift_chart",)),
    Tab("&My exposure (only you)", ("my_exposure",)),
)
"""The tabs, in order."""


class ChartView(QWidget):
    """A chart painted by one of :mod:`.charts`' functions; a click emits what it hit."""

    picked = Signal(object)

    def __init__(
        self, painter_of: Callable[[QPainter, QRectF], list], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.painter_of = painter_of
        self.boxes: list = []
        self.setMinimumHeight(200)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the chart into the widget, white behind it."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        self.boxes = self.painter_of(painter, QRectF(self.rect()).adjusted(8, 8, -8, -8))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Emit the mark under the pointer."""
        self.pick_at(event.position())

    def pick_at(self, point: QPointF) -> bool:
        """Emit the mark at ``point``; False if there is none."""
        for box, item in self.boxes:
            if box.contains(point):
                self.picked.emit(item)
                return True
        return False


class ReportsScreen(QWidget):
    """Filters, figures, charts; a click opens the cases behind a figure."""

    back_requested = Signal()
    open_cases = Signal(list)
    """The case ids behind a figure, in queue order."""
    report_shown = Signal()
    """A report arrived and is on screen (the first paint follows)."""
    failed = Signal(str)

    def __init__(self, ws: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.report: Report | None = None
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.signals = TaskSignals(self)
        self.signals.done.connect(self._finished)
        self.signals.failed.connect(self._failed)
        self._number = 0
        self._handlers: dict[int, Callable[[object], None]] = {}

        self.date_from = QLineEdit(placeholderText="from YYYY-MM-DD")
        self.date_to = QLineEdit(placeholderText="to YYYY-MM-DD")
        for edit in (self.date_from, self.date_to):
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("YYYY-MM-DD") + 16)
        self.combos = {
            name: MultiChoice(name) for name in ("batch", "market", "policy", "queue", "moderator")
        }
        self.by_first = QComboBox()
        self.by_second = QComboBox()
        self.by_first.addItems(list(REPORT_DIMENSIONS))
        self.by_second.addItems([NONE, *REPORT_DIMENSIONS])
        self.refresh_button = QPushButton("&Refresh")
        self.xlsx_button = QPushButton("Export &XLSX…")
        self.csv_button = QPushButton("Export &CSV…")
        self.pdf_button = QPushButton("Export &PDF…")
        self.back_button = QPushButton("&Back to review")
        self.include_exposure = QCheckBox("Include my exposure in XLSX/CSV exports")
        self.include_exposure.setToolTip(
            "Your own exposure summary is private: it is shown here to you and exported only"
            " when you tick this."
        )
        self.refresh_button.clicked.connect(self.refresh)
        self.xlsx_button.clicked.connect(lambda: self.export("xlsx"))
        self.csv_button.clicked.connect(lambda: self.export("csv"))
        self.pdf_button.clicked.connect(lambda: self.export("pdf"))
        self.back_button.clicked.connect(self.back_requested)
        for edit in (self.date_from, self.date_to):
            edit.returnPressed.connect(self.refresh)
        for choice in self.combos.values():
            choice.changed.connect(self.refresh)
        for combo in (self.by_first, self.by_second):
            combo.activated.connect(lambda _i: self.refresh())

        filters = QHBoxLayout()
        filters.addWidget(self.date_from)
        filters.addWidget(self.date_to)
        for name, choice in self.combos.items():
            filters.addWidget(QLabel(name.capitalize()))
            filters.addWidget(choice)
        filters.addWidget(QLabel("By"))
        filters.addWidget(self.by_first)
        filters.addWidget(QLabel("×"))
        filters.addWidget(self.by_second)
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.xlsx_button, self.csv_button, self.pdf_button):
            buttons.addWidget(button)
        buttons.addWidget(self.include_exposure)
        buttons.addStretch(1)
        buttons.addWidget(self.back_button)

        self.headline = QLabel("No report yet: press Refresh.")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setWordWrap(True)
        self.models: dict[str, ReportTableModel] = {
            name: ReportTableModel() for tab in TABS for name in tab.tables
        }
        self.views: dict[str, QTableView] = {}
        """The tables of the tabs built so far (see :meth:`build_tab`)."""
        self._unsized: set[str] = set()
        """Views whose columns wait to be sized to a report's rows until their tab shows."""
        self.accuracy_chart = ChartView(self._paint_accuracy)
        self.errors_chart = ChartView(self._paint_errors)
        self.weekly_chart = ChartView(self._paint_weekly)
        self.heat_map = ChartView(self._paint_heat_map)
        self.drift_chart = ChartView(self._paint_drift)
        self.charts = (
            self.accuracy_chart,
            self.errors_chart,
            self.weekly_chart,
            self.heat_map,
            self.drift_chart,
        )
        self.accuracy_chart.picked.connect(lambda bar: self._pick_bar(bar, ()))
        self.errors_chart.picked.connect(lambda bar: self._pick_bar(bar, ERROR_OUTCOMES))
        self.weekly_chart.picked.connect(self._pick_week)
        self.heat_map.picked.connect(
            lambda pair: self.open_cases_behind({"orig_label": pair[0], "final_label": pair[1]})
        )
        # Each tab's page is filled when first shown, or one tab per event-loop turn after the
        # screen opens: building every table view at once stalled the GUI thread (issue 15).
        self.tabs = QTabWidget()
        self._built: list[bool] = []
        self._pages: list[QVBoxLayout] = []
        for tab in TABS:
            page = QWidget()
            self._pages.append(QVBoxLayout(page))
            self._pages[-1].setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(page, tab.title)
            self._built.append(False)
        self.tabs.currentChanged.connect(self._tab_shown)
        self.tabs.hide()  # until its current tab is built, an event-loop turn after opening

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addLayout(buttons)
        layout.addWidget(self.headline)
        layout.addWidget(self.tabs, 1)

    # -- tabs, built when first needed -----------------------------------------------------------
    def build_tab(self, index: int) -> None:
        """Fill tab ``index``'s page with its charts and tables (once)."""
        if self._built[index]:
            return
        self._built[index] = True
        tab = TABS[index]
        parts: list[QWidget] = [getattr(self, name) for name in tab.charts]
        parts += [self._table(name) for name in tab.tables]
        layout = self._pages[index]
        if len(parts) == 1:
            layout.addWidget(parts[0])
            return
        splitter = QSplitter(Qt.Orientation.Horizontal if tab.across else Qt.Orientation.Vertical)
        for part in parts:
            splitter.addWidget(part)
        layout.addWidget(splitter)

    def build_all_tabs(self) -> None:
        """Build every tab now (tests, and the steps after the screen opens)."""
        for index in range(len(TABS)):
            self.build_tab(index)

    def _build_next_tab(self) -> None:
        """Build one tab, the current one first, and show the tabs; come back at the next
        event-loop turn for the next."""
        for index in (self.tabs.currentIndex(), *range(len(TABS))):
            if not self._built[index]:
                self.build_tab(index)
                break
        self.tabs.show()
        if not all(self._built):
            QTimer.singleShot(STEP_MS, self, self._build_next_tab)

    def _tab_shown(self, index: int) -> None:
        self.build_tab(index)
        self._size_columns(TABS[index].tables)

    def _size_columns(self, names: Sequence[str]) -> None:
        """Size the columns of these tables to their rows, if a report waits for it."""
        for name in names:
            if name in self._unsized and name in self.views:
                self._unsized.discard(name)
                self.views[name].resizeColumnsToContents()

    def _table(self, name: str) -> QTableView:
        model = self.models[name]
        # Core's order (biggest cells first, the total last) until a header is clicked.
        view, proxy = sortable_view(model, self)
        # Sized once a report arrives, from its first rows: measuring every cell of a big
        # table would stall the GUI thread.
        view.horizontalHeader().setResizeContentsPrecision(30)
        view.activated.connect(
            lambda index, n=name: self._pick_row(n, proxy.mapToSource(index).row())
        )
        view.doubleClicked.connect(
            lambda index, n=name: self._pick_row(n, proxy.mapToSource(index).row())
        )
        self.views[name] = view
        return view

    # -- queries off the GUI thread ------------------------------------------------------------
    def _run(self, job: Callable[[Workspace], object], then: Callable[[object], None]) -> None:
        self._number += 1
        self._handlers = {self._number: then}  # a newer query supersedes an older one
        self.pool.start(WorkspaceTask(self._number, self.ws.data_dir, job, self.signals))

    def _finished(self, number: int, result: object) -> None:
        handler = self._handlers.pop(number, None)
        if handler is not None:
            handler(result)

    def _failed(self, number: int, error: Exception) -> None:
        if self._handlers.pop(number, None) is not None:
            self.headline.setText(f"The report could not be made: {error}")
            self.failed.emit(str(error))

    def current_filter(self) -> ReportFilter:
        """The filter the controls describe."""

        def chosen(name: str) -> tuple[str, ...]:
            return self.combos[name].selected()

        return ReportFilter(
            date_from=self.date_from.text().strip() or None,
            date_to=self.date_to.text().strip() or None,
            batches=chosen("batch"),
            markets=chosen("market"),
            policies=chosen("policy"),
            queues=chosen("queue"),
            moderators=chosen("moderator"),
        )

    def current_by(self) -> tuple[str, ...]:
        """The breakdown the controls describe (one dimension, or two)."""
        second = self.by_second.currentText()
        first = self.by_first.currentText()
        return (first,) if second in (NONE, first) else (first, second)

    def open_screen(self) -> None:
        """Fill the filter choices and compute the report (both in the background); the tabs
        not built yet are built one per event-loop turn meanwhile."""
        QTimer.singleShot(STEP_MS, self, self._build_next_tab)
        self._run(lambda ws: ws.reports.filter_values(), self._fill_choices)

    def _fill_choices(self, values: object, names: tuple[str, ...] | None = None) -> None:
        """Fill one filter's choices per event-loop turn (a million cases have many
        moderators), then compute the report."""
        assert isinstance(values, dict)
        left = tuple(self.combos) if names is None else names
        if not left:
            self.refresh()
            return
        self.combos[left[0]].set_values(values.get(left[0], []))
        QTimer.singleShot(STEP_MS, self, lambda: self._fill_choices(values, left[1:]))

    def refresh(self) -> None:
        """Compute the report for the current filter in the background; a newer refresh
        (or any newer query) cancels this one at its next step."""
        flt, by = self.current_filter(), self.current_by()
        self.headline.setText("Computing the report…")
        mine = self._number + 1  # the number _run gives this query

        def stale() -> bool:
            return self._number != mine

        self._run(
            lambda ws: (ws.reports.performance(flt, by, stale), ws.reports.my_exposure(flt)),
            self._show,
        )

    def _show(self, result: object) -> None:
        assert isinstance(result, tuple)
        report, exposure = result
        assert isinstance(report, Report)
        self.report = report
        tables: dict[str, ReportTable] = {t.name: t for t in report_tables(report)}
        tables["my_exposure"] = exposure_table(exposure)
        for name, model in self.models.items():
            model.set_table(tables.get(name))
        self.build_tab(self.tabs.currentIndex())
        self.tabs.show()
        # Columns are sized when their tab shows: only the current tab's now.
        self._unsized = set(self.models)
        self._size_columns(TABS[self.tabs.currentIndex()].tables)
        self.headline.setText(
            "   ·   ".join(f"{name}: {text}" for name, text in headline_lines(report))
        )
        for chart in self.charts:
            chart.update()
        self.report_shown.emit()

    # -- painting ----------------------------------------------------------------------------------
    def _paint_accuracy(self, painter: QPainter, rect: QRectF) -> list:
        if self.report is None:
            return []
        by = " x ".join(self.report.by)
        return paint_accuracy_bars(
            painter, rect, bars_from(self.report.accuracy), f"Accuracy by {by}"
        )

    def _paint_errors(self, painter: QPainter, rect: QRectF) -> list:
        if self.report is None:
            return []
        return paint_error_stack(painter, rect, bars_from(self.report.accuracy))

    def _paint_weekly(self, painter: QPainter, rect: QRectF) -> list:
        if self.report is None:
            return []
        return paint_weekly_line(painter, rect, bars_from(self.report.weekly, limit=53))

    def _paint_drift(self, painter: QPainter, rect: QRectF) -> list:
        if self.report is None:
            return []
        return paint_drift(painter, rect, self.report.calibration)

    def _paint_heat_map(self, painter: QPainter, rect: QRectF) -> list:
        if self.report is None or not self.report.confusion:
            return []
        return paint_heat_map(painter, rect, self.report.confusion[0])

    # -- the cases behind a figure --------------------------------------------------------------
    def _pick_bar(self, bar: object, outcomes: Sequence[str]) -> None:
        if self.report is None:
            return
        key = dict(zip(self.report.by, bar.key, strict=True))  # type: ignore[attr-defined]
        self.open_cases_behind(key, outcomes)

    def _pick_week(self, bar: object) -> None:
        self.open_cases_behind({"week": bar.key[0]})  # type: ignore[attr-defined]

    def _pick_row(self, name: str, row: int) -> None:
        if self.report is None:
            return
        cells = self.models[name].row(row)
        if name == "accuracy" and cells[0] != "all":
            self.open_cases_behind(dict(zip(self.report.by, map(str, cells), strict=False)))
        elif name == "weekly":
            self.open_cases_behind({"week": str(cells[0])})
        elif name == "taxonomy" and row < len(TAXONOMY_OUTCOMES):
            self.open_cases_behind({}, TAXONOMY_OUTCOMES[row])
        elif name == "confusion":
            self.open_cases_behind({"orig_label": str(cells[1]), "final_label": str(cells[2])})

    def open_cases_behind(self, key: dict[str, str], outcomes: Sequence[str] = ()) -> None:
        """Find the cases behind a figure (in the background), then emit :attr:`open_cases`."""
        flt = self.current_filter() if self.report is None else self.report.filter
        outcomes = tuple(outcomes)

        def found(ids: object) -> None:
            assert isinstance(ids, list)
            self.headline.setText(f"{len(ids)} cases behind {key}: opened in the review queue.")
            self.open_cases.emit(ids)

        self._run(lambda ws: ws.reports.case_ids(flt, key, outcomes), found)

    # -- export ------------------------------------------------------------------------------------
    def export(self, fmt: str, path: Path | None = None, page: str = "A4") -> None:
        """Write the report on screen as XLSX, CSV (a folder) or PDF; asks where if no path."""
        report = self.report
        if report is None:
            return
        if path is None:
            if fmt == "csv":
                chosen = QFileDialog.getExistingDirectory(self, "Export the tables as CSV files")
            else:
                chosen, _ = QFileDialog.getSaveFileName(
                    self, f"Export the report as {fmt.upper()}", f"qa-report.{fmt}", f"*.{fmt}"
                )
            if not chosen:
                return
            path = Path(chosen)
        target = path
        mine = self.include_exposure.isChecked()

        def write(ws: Workspace) -> object:
            if fmt == "pdf":  # QPainter may paint a QPdfWriter outside the GUI thread
                from .pdf import write_pdf

                return write_pdf(report, target, page)
            if fmt == "xlsx":
                return ws.reports.write_xlsx(report, target, include_my_exposure=mine)
            return ws.reports.write_csv(report, target, include_my_exposure=mine)

        self._run(write, lambda _r: self.headline.setText(f"Written to {target}"))
