"""The queue: a lazy table model over the cases, fetched a page at a time."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ..core.api import (
    QueueFilter,
    QueueRow,
)
from ..core.workspace import Workspace
from .changes import Changes
from .plain_text import escaped

COLUMNS = ("Done", "Case", "Market", "Policy", "Original", "My verdict", "Outcome")
VERDICT_COLUMN = 5
OUTCOME_COLUMN = 6
OUTCOME_COLOURS = {
    "agree": QColor(60, 160, 90),
    "over_enforcement": QColor(220, 90, 60),
    "under_enforcement": QColor(230, 140, 20),
    "wrong_policy": QColor(150, 90, 200),
    "wrong_action": QColor(150, 90, 200),
}
PAGE_SIZE = 200
MAX_CACHED_PAGES = 50

Index = QModelIndex | QPersistentModelIndex


class QueueModel(QAbstractTableModel):
    """Rows come from the database a page at a time (keyset paging where it can)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.filter: QueueFilter | None = None
        self._count = workspace.queue.count(filter=None)
        self.total_count = self._count  # every case, whatever the filter
        self._pages: dict[int, list[QueueRow]] = {}
        self.pages_loaded = 0  # how many pages were read from the database (for tests)

    # -- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if section == VERDICT_COLUMN and self.filter is not None and self.filter.reviewer:
                name = self.ws.verdicts.reviewer_names().get(self.filter.reviewer)
                return f"{name or self.filter.reviewer}'s verdict"
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self.row_at(index.row())
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            done = "✓" if row.my_label else "·"
            flags = (" R" if row.rca else "") + (" G" if row.gap else "")
            return (
                done + flags,
                row.id,
                row.market,
                row.policy,
                row.original_label,
                row.my_label or "",
                (row.outcome or "").replace("_", " "),
            )[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 5 and row.my_label:
            differs = row.my_label != row.original_label
            return QBrush(QColor(220, 90, 60) if differs else QColor(60, 160, 90))
        if role == Qt.ItemDataRole.ForegroundRole and col == OUTCOME_COLUMN and row.outcome:
            colour = OUTCOME_COLOURS.get(row.outcome)
            return QBrush(colour) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole:
            flags = ", ".join(
                name for name, on in (("RCA escalation", row.rca), ("policy gap", row.gap)) if on
            )
            return escaped(
                f"{row.id} · {row.content_type} · original: {row.original_label}"
                + (f" · flagged: {flags}" if flags else "")
            )
        return None

    # -- access ---------------------------------------------------------------------------
    def row_at(self, row: int) -> QueueRow | None:
        """The queue row at ``row``, reading its page if needed."""
        if not 0 <= row < self._count:
            return None
        page_no, offset = divmod(row, PAGE_SIZE)
        page = self._pages.get(page_no)
        if page is None:
            page = self._load_page(page_no)
        return page[offset] if offset < len(page) else None

    def case_id_at(self, row: int) -> str | None:
        """The case id at ``row``."""
        found = self.row_at(row)
        return found.id if found else None

    def row_of(self, case_id: str) -> int | None:
        """The row of a case id."""
        return self.ws.queue.index(case_id, filter=self.filter)

    def refresh_case(self, case_id: str) -> None:
        """Re-read one case's row (after a verdict) and repaint it."""
        row_no = self.row_of(case_id)
        fresh = self.ws.queue.row(case_id, filter=self.filter)
        if row_no is None or fresh is None:
            return
        page_no, offset = divmod(row_no, PAGE_SIZE)
        page = self._pages.get(page_no)
        if page is not None and offset < len(page):
            page[offset] = fresh
        self.dataChanged.emit(self.index(row_no, 0), self.index(row_no, len(COLUMNS) - 1))

    def refresh_cases(self, case_ids: list[str]) -> None:
        """Re-read the rows of ``case_ids`` (their verdicts changed).

        Under a filter a verdict can move a case in or out of the queue (a recorded case
        is no longer "open"): then the whole queue is counted and read again.
        """
        if self.filter is not None:
            self.reload()
            return
        for case_id in case_ids:
            self.refresh_case(case_id)

    def follow(self, changes: Changes) -> None:
        """Keep up with the change hub: rows on new verdicts, everything on new cases."""
        changes.verdicts_changed.connect(self.refresh_cases)
        changes.cases_changed.connect(self.reload)

    def reload(self) -> None:
        """Forget every page and re-count (after an import)."""
        self.beginResetModel()
        self._pages.clear()
        self.total_count = self.ws.queue.count()
        self._count = self.ws.queue.count(filter=self.filter) if self.filter else self.total_count
        self.endResetModel()

    def set_filter(self, queue_filter: QueueFilter | None) -> None:
        """Show only the cases ``queue_filter`` lets through (None: all)."""
        self.filter = queue_filter
        self.reload()

    def _load_page(self, page_no: int) -> list[QueueRow]:
        previous = self._pages.get(page_no - 1)
        if previous:
            page = self.ws.queue.page(
                after_seq=previous[-1].seq, limit=PAGE_SIZE, filter=self.filter
            )
        else:
            page = self.ws.queue.page(
                offset=page_no * PAGE_SIZE, limit=PAGE_SIZE, filter=self.filter
            )
        self.pages_loaded += 1
        if len(self._pages) >= MAX_CACHED_PAGES:
            self._pages.pop(next(iter(self._pages)))
        self._pages[page_no] = page
        return page


class QueueView(QTableView):
    """The queue table: one row per case, selecting a row opens the case."""

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((56, 100, 60, 56, 130, 130)):
            self.setColumnWidth(col, width)
