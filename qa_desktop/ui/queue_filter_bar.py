"""Filters over the queue (status, market, policy, original label, outcome, flags, text)
and saved views, in one compact bar above the queue table."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..core.api import (
    OUTCOMES,
    QueueFilter,
)

ANY = "*"
"""The combo value that lets everything through (not a real value of any column)."""


def _readable(code: str) -> str:
    return code.replace("_", " ")


class QueueFilterBar(QWidget):
    """Emits ``filter_changed`` with the filter (None when everything is let through)."""

    filter_changed = Signal(object)  # QueueFilter | None
    view_saved = Signal(str)
    editing_done = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self.status = self._combo(
            "Status",
            [("all", "all"), ("open", "open"), ("done", "done"), ("disputed", "disputed")],
        )
        self.market = self._combo("Market", [])
        self.policy = self._combo("Policy", [])
        self.original = self._combo("Original decision", [])
        self.outcome = self._combo(
            "QA outcome", [(ANY, "any outcome")] + [(o, _readable(o)) for o in OUTCOMES]
        )
        self.flag = self._combo(
            "Flags",
            [
                (ANY, "any flags"),
                ("any", "flagged"),
                ("rca", "RCA escalated"),
                ("gap", "policy gap"),
            ],
        )
        self.reviewer = self._combo("Whose verdicts decide status, outcome and flags", [])
        self.text = QLineEdit()
        self.text.setPlaceholderText("Find case id or text (Ctrl+F)")
        self.text.setClearButtonEnabled(True)
        self.text.textChanged.connect(self._changed)
        self.text.returnPressed.connect(self.editing_done)
        self.text.installEventFilter(self)
        self.views = QComboBox()
        self.views.setToolTip("Saved views")
        self.views.activated.connect(self._apply_view)
        self.save_button = QPushButton("Save view…")
        self.save_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.save_button.clicked.connect(lambda: self.save_view())
        self.clear_button = QPushButton("Clear")
        self.clear_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.clear_button.clicked.connect(self.clear)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, widget in enumerate((self.status, self.market, self.policy, self.original)):
            grid.addWidget(widget, 0, i)
        grid.addWidget(self.outcome, 1, 0)
        grid.addWidget(self.flag, 1, 1)
        grid.addWidget(self.reviewer, 1, 2)
        grid.addWidget(self.text, 1, 3)
        grid.addWidget(self.views, 2, 0, 1, 2)
        grid.addWidget(self.save_button, 2, 2)
        grid.addWidget(self.clear_button, 2, 3)
        self._saved: dict[str, QueueFilter] = {}

    def _combo(self, tip: str, items: list[tuple[str, str]]) -> QComboBox:
        combo = QComboBox()
        combo.setToolTip(tip)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(4)
        combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for value, text in items:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(self._changed)
        return combo

    def set_choices(
        self,
        markets: list[str],
        policies: list[str],
        labels: list[str],
        views: list[tuple[str, QueueFilter]],
        reviewers: dict[str, str] | None = None,
    ) -> None:
        """The values found in the queue, the reviewers (id → name) and the saved views."""
        self._updating = True
        current = self.reviewer.currentData()
        self.reviewer.clear()
        self.reviewer.addItem("my verdicts", ANY)
        for reviewer_id, name in (reviewers or {}).items():
            self.reviewer.addItem(f"{name}'s verdicts", reviewer_id)
        self.reviewer.setCurrentIndex(max(0, self.reviewer.findData(current)))
        for combo, values, any_text in (
            (self.market, markets, "any market"),
            (self.policy, policies, "any policy"),
            (self.original, labels, "any original"),
        ):
            current = combo.currentData()
            combo.clear()
            combo.addItem(any_text, ANY)
            for value in values:
                combo.addItem(value, value)
            index = combo.findData(current)
            combo.setCurrentIndex(max(0, index))
        self._saved = dict(views)
        self.views.clear()
        self.views.addItem("Saved views…", "")
        for name in self._saved:
            self.views.addItem(name, name)
        self._updating = False

    def current_filter(self) -> QueueFilter | None:
        """The filter the bar shows (None when it lets everything through)."""

        def pick(combo: QComboBox) -> str | None:
            value = combo.currentData()
            return None if value in (ANY, None) else str(value)

        queue_filter = QueueFilter(
            status=str(self.status.currentData() or "all"),
            market=pick(self.market),
            policy=pick(self.policy),
            original_label=pick(self.original),
            outcome=pick(self.outcome),
            flag=pick(self.flag),
            reviewer=pick(self.reviewer),
            text=self.text.text().strip(),
        )
        return None if queue_filter == QueueFilter() else queue_filter

    def show_filter(self, queue_filter: QueueFilter | None) -> None:
        """Set every control from ``queue_filter`` (emits one ``filter_changed``)."""
        f = queue_filter or QueueFilter()
        self._updating = True
        for combo, value in (
            (self.status, f.status),
            (self.market, f.market or ANY),
            (self.policy, f.policy or ANY),
            (self.original, f.original_label or ANY),
            (self.outcome, f.outcome or ANY),
            (self.flag, f.flag or ANY),
            (self.reviewer, f.reviewer or ANY),
        ):
            index = combo.findData(value)
            if index < 0:  # a saved value no longer in the queue: keep it selectable
                combo.addItem(str(value), value)
                index = combo.count() - 1
            combo.setCurrentIndex(index)
        self.text.setText(f.text)
        self._updating = False
        self._changed()

    def clear(self) -> None:
        """Let every case through."""
        self.show_filter(None)

    def save_view(self, name: str | None = None) -> str | None:
        """Save the current filter under a name (asked for unless given)."""
        if name is None:
            name, ok = QInputDialog.getText(self, "Save view", "Name of this view:")
            if not ok:
                return None
        name = name.strip()
        if not name:
            return None
        self.view_saved.emit(name)
        return name

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.text
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
        ):
            self.editing_done.emit()
            return True
        return super().eventFilter(watched, event)

    def _apply_view(self, index: int) -> None:
        name = self.views.itemData(index)
        if name and name in self._saved:
            self.show_filter(self._saved[name])

    def _changed(self, *_args: object) -> None:
        if not self._updating:
            self.filter_changed.emit(self.current_filter())
