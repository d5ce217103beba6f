"""A report table (core's plain table) as a sortable Qt model: numbers sort as numbers,
fractions show as percentages, small-n rows are grey and italic."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHeaderView, QTableView

from ...core.api import ReportTable, percent

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""The raw value of a cell (numbers as numbers), for sorting."""

GREY = QColor("#8C8C8C")


class ReportTableModel(QAbstractTableModel):
    """Read-only rows of one :class:`ReportTable`."""

    def __init__(self, table: ReportTable | None = None) -> None:
        super().__init__()
        self.table = table

    def set_table(self, table: ReportTable | None) -> None:
        """Show ``table`` instead."""
        self.beginResetModel()
        self.table = table
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Rows of the table."""
        return 0 if parent.isValid() or self.table is None else len(self.table.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        """Columns of the table."""
        return 0 if parent.isValid() or self.table is None else len(self.table.headers)

    def row(self, row: int) -> tuple[object, ...]:
        """The raw cells of one row."""
        assert self.table is not None
        return self.table.rows[row]

    def small(self, row: int) -> bool:
        """Whether the row's n is under the small-n threshold."""
        t = self.table
        return t is not None and t.small_column is not None and bool(t.rows[row][t.small_column])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        """Text, sort value, alignment and the small-n grey of a cell."""
        if self.table is None or not index.isValid():
            return None
        value = self.table.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return ""
            if index.column() in self.table.percent_columns and isinstance(value, float):
                return percent(value)
            return f"{value:g}" if isinstance(value, float) else str(value)
        if role == SORT_ROLE:
            return -1.0 if value is None else value
        if role == Qt.ItemDataRole.TextAlignmentRole and not isinstance(value, str):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self.small(index.row()):
            return GREY
        if role == Qt.ItemDataRole.FontRole and self.small(index.row()):
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> object:
        """The column names."""
        if (
            self.table is not None
            and role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
        ):
            return self.table.headers[section].replace("_", " ")
        return None


def sortable_view(
    model: ReportTableModel, parent: QObject
) -> tuple[QTableView, QSortFilterProxyModel]:
    """A read-only view of ``model`` through a sorting proxy (numbers sort as numbers), whole
    rows selected, in core's order until a header is clicked; the view and its proxy."""
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    proxy.sort(-1)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view, proxy
