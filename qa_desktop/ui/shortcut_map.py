"""The shortcut map (``?``): every key the review loop answers to, in one table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class Binding(Protocol):
    """Anything with keys and a description."""

    @property
    def keys(self) -> str:
        """The keys, as the map shows them."""
        ...

    @property
    def description(self) -> str:
        """What they do."""
        ...


class ShortcutMapDialog(QDialog):
    """A read-only table of keys and what they do; Esc or ? closes it."""

    def __init__(self, bindings: Sequence[Binding], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(bindings), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Does"])
        for row, binding in enumerate(bindings):
            table.setItem(row, 0, QTableWidgetItem(binding.keys))
            table.setItem(row, 1, QTableWidgetItem(binding.description))
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setWordWrap(False)
        font = table.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        table.setFont(font)
        row_height = table.fontMetrics().height() + 12
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(row_height)
        # Every row at once where the screen is tall enough; on a laptop the table scrolls
        # and the dialog (with its Close button) still fits the screen.
        available = (parent or self).screen().availableGeometry().height()
        table.setMinimumHeight(min(row_height * (len(bindings) + 1) + 8, int(available * 0.8)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.table = table
        self.resize(max(760, self.sizeHint().width()), self.sizeHint().height())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Question:
            self.accept()
            return
        super().keyPressEvent(event)
