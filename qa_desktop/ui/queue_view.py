"""The queue: a lazy table model over the cases, fetched a page at a time."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ..core.api import (
    QueueFilter,
    QueueRow,
)
from ..core.workspace import Workspace
from .changes import Changes
from .plain_text import escaped
from .queue_counter import QueueCounter

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
    """Rows come from the database a page at a time (keyset paging where it can).

    Under a filter the first page is read at once and shown; how many rows there are and
    where a case is in them are asked of a :class:`.QueueCounter` (a worker thread), so the
    GUI thread never counts: the rows after the first page appear when the count arrives
    (``counted``), and :meth:`locate` answers through ``located``. Each new filter or reload
    is a new generation; answers to an older one are dropped.
    """

    counted = Signal()
    """The filtered queue's row count arrived (or changed)."""
    located = Signal(str, int)
    """(case id, its row; -1 when the filter hides it): the answer to :meth:`locate`."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.filter: QueueFilter | None = None
        self._count = workspace.queue.count(filter=None)
        self.total_count = self._count  # every case, whatever the filter
        self._pages: dict[int, list[QueueRow]] = {}
        self.pages_loaded = 0  # how many pages were read from the database (for tests)
        self._generation = 0
        self.counting = False
        """The filtered count is being worked out: rows beyond the first page are to come."""
        self._counter: QueueCounter | None = None

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
        """The row of a case id, if it is known without counting: always without a filter
        (arithmetic on its seq), else only among the pages read so far (see :meth:`locate`)."""
        if self.filter is None:
            return self.ws.queue.index(case_id)
        for page_no, page in self._pages.items():
            for offset, row in enumerate(page):
                if row.id == case_id:
                    return page_no * PAGE_SIZE + offset
        return None

    def locate(self, case_id: str) -> None:
        """Find the row of ``case_id``: ``located`` says it, at once if :meth:`row_of` knows
        it, else once the worker counted the rows before it (-1: the filter hides it)."""
        row = self.row_of(case_id)
        if row is not None or self.filter is None:
            self.located.emit(case_id, -1 if row is None else row)
            return
        self._worker().position(self._generation, self.filter, case_id)

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

        Under a filter a verdict can move a case out of the queue (a recorded case is no
        longer "open"): one listed case that left is taken out of the rows read so far (the
        count is one less, exactly); anything else is counted and read again.
        """
        if self.filter is None:
            for case_id in case_ids:
                self.refresh_case(case_id)
            return
        row_no = self.row_of(case_ids[0]) if len(case_ids) == 1 else None
        if row_no is None or self.counting:
            self.reload()
            return
        if self.ws.queue.row(case_ids[0], filter=self.filter) is not None:
            self.refresh_case(case_ids[0])
        else:
            self._take_out(row_no)

    def _take_out(self, row_no: int) -> None:
        """Remove row ``row_no`` (its case left the filtered queue); the rows read after it
        move up one, and a page left short that is not the queue's last is read again."""
        self.beginRemoveRows(QModelIndex(), row_no, row_no)
        first = row_no // PAGE_SIZE
        run: list[QueueRow] = []
        page_no = first
        while page_no in self._pages:
            run.extend(self._pages.pop(page_no))
            page_no += 1
        for later in [n for n in self._pages if n > first]:  # after a gap: rows moved up
            del self._pages[later]
        del run[row_no - first * PAGE_SIZE]
        self._count -= 1
        for at in range(0, len(run), PAGE_SIZE):
            chunk = run[at : at + PAGE_SIZE]
            number = first + at // PAGE_SIZE
            if len(chunk) == PAGE_SIZE or number * PAGE_SIZE + len(chunk) >= self._count:
                self._pages[number] = chunk
        self.endRemoveRows()

    def follow(self, changes: Changes) -> None:
        """Keep up with the change hub: rows on new verdicts (the review screen calls
        :meth:`reload` on new cases, when it is on screen)."""
        changes.verdicts_changed.connect(self.refresh_cases)

    def reload(self) -> None:
        """Forget every page and count again (after an import): under a filter, the first
        page now and the count from the worker."""
        self._generation += 1
        self.beginResetModel()
        self._pages.clear()
        self.total_count = self.ws.queue.count()
        self.counting = False
        if self.filter is None:
            self._count = self.total_count
        else:
            first = self.ws.queue.page(limit=PAGE_SIZE, filter=self.filter)
            self.pages_loaded += 1
            self._pages[0] = first
            self._count = len(first)
            if len(first) == PAGE_SIZE:  # there may be more: count them off this thread
                self.counting = True
                self._worker().count(self._generation, self.filter)
        self.endResetModel()
        self.counted.emit()

    def set_filter(self, queue_filter: QueueFilter | None) -> None:
        """Show only the cases ``queue_filter`` lets through (None: all)."""
        self.filter = queue_filter
        self.reload()

    def take_answer(self, generation: int, case_id: str, result: object) -> None:
        """An answer from the worker: the count (rows appear) or a case's position."""
        if generation != self._generation:
            return  # asked under a filter or of rows that are gone
        if isinstance(result, Exception):
            result = None
        if not case_id:
            self.counting = False
            if isinstance(result, int) and result > self._count:
                self.beginInsertRows(QModelIndex(), self._count, result - 1)
                self._count = result
                self.endInsertRows()
            elif isinstance(result, int) and result < self._count:
                self.reload()  # the queue shrank under the first page: read it again
                return
            self.counted.emit()
        else:
            self.located.emit(case_id, result if isinstance(result, int) else -1)

    def shutdown(self) -> None:
        """Stop the worker (the window closes)."""
        if self._counter is not None:
            self._counter.stop()

    def _worker(self) -> QueueCounter:
        if self._counter is None:
            self._counter = QueueCounter(self.ws.data_dir, self)
            self._counter.answered.connect(self.take_answer)
        return self._counter

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
