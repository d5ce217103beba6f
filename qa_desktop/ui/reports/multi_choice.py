"""A multi-select filter: a short list of checkable values; none checked means all.

Space (or a click on the box) checks the current value; :attr:`MultiChoice.changed` says the
selection changed. The values come from outside (market codes, moderator ids) and show as
plain text::

    markets = MultiChoice("market")
    markets.set_values(["AT", "DE"])
    markets.set_selected(("DE",)); markets.selected()   # ("DE",)
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

ROWS_SHOWN = 3


class MultiChoice(QListWidget):
    """Checkable values of one filter; :meth:`selected` is the checked ones, in list order."""

    changed = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setAccessibleName(f"{name} filter")
        self.setToolTip(f"{name.capitalize()}: check values to keep (none checked: all).")
        self.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.setMaximumHeight(64)
        self.setMinimumWidth(90)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._filling = False
        self.itemChanged.connect(self._item_changed)

    def set_values(self, values: Iterable[str]) -> None:
        """Offer ``values``; the ones checked before stay checked."""
        keep = set(self.selected())
        self._filling = True
        try:
            self.clear()
            for value in values:
                item = QListWidgetItem(str(value))
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsUserCheckable
                )
                checked = value in keep
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                self.addItem(item)
        finally:
            self._filling = False
        if self.count():
            self.setMaximumHeight(self.sizeHintForRow(0) * ROWS_SHOWN + 2 * self.frameWidth())

    def selected(self) -> tuple[str, ...]:
        """The checked values (empty: the filter lets everything through)."""
        return tuple(
            self.item(i).text()
            for i in range(self.count())
            if self.item(i).checkState() == Qt.CheckState.Checked
        )

    def set_selected(self, values: Iterable[str]) -> None:
        """Check exactly ``values`` (one :attr:`changed` signal)."""
        wanted = set(values)
        self._filling = True
        try:
            for i in range(self.count()):
                item = self.item(i)
                on = item.text() in wanted
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        finally:
            self._filling = False
        self.changed.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space checks or unchecks the current value; other keys move as in any list."""
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Select) and item is not None:
            on = item.checkState() != Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            event.accept()
            return
        super().keyPressEvent(event)

    def _item_changed(self, _item: QListWidgetItem) -> None:
        if not self._filling:
            self.changed.emit()
