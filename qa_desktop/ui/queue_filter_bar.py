"""Filters over the queue (status, market, policy, original label, outcome, flags, whose
verdicts, content type, frontline moderator and queue, batch, text and tags) and saved views
(apply, save, rename, delete), in one compact bar above the queue table."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..core.api import (
    OUTCOMES,
    ContentType,
    QueueFilter,
)
from .plain_text import ask

ANY = "*"
"""The combo value that lets everything through (not a real value of any column)."""


FIND_DELAY_MS = 250
"""How long the find field waits after a key for the next before it filters the queue."""


def _readable(code: str) -> str:
    return code.replace("_", " ")


class QueueFilterBar(QWidget):
    """Emits ``filter_changed`` with the filter (None when everything is let through)."""

    filter_changed = Signal(object)  # QueueFilter | None
    view_saved = Signal(str)
    view_renamed = Signal(str, str)  # old name, new name
    view_deleted = Signal(str)
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
        self.content_type = self._combo(
            "Content type",
            [(ANY, "any content")] + [(str(t), str(t)) for t in ContentType],
        )
        self.moderator = self._combo("Frontline moderator who made the original decision", [])
        self.queue = self._combo("Moderation queue of the original decision", [])
        self.batch = self._combo("Batch the case came in", [])
        self.text = QLineEdit()
        self.text.setPlaceholderText("Find case id, text or tag (Ctrl+F)")
        self.text.setToolTip("Find case id, text or tag (Ctrl+F); Esc goes back to the queue")
        self.text.setClearButtonEnabled(True)
        # Typing re-queries once the keys pause, not on every key (each query reads the
        # cases' text); Enter or Esc applies what is typed at once.
        self.find_delay = QTimer(self)
        self.find_delay.setSingleShot(True)
        self.find_delay.setInterval(FIND_DELAY_MS)
        self.find_delay.timeout.connect(self._changed)
        self.text.textChanged.connect(self._typed)
        self.text.returnPressed.connect(self.apply_typed)
        self.text.returnPressed.connect(self.editing_done)
        self.text.installEventFilter(self)
        self.views = QComboBox()
        self.views.setToolTip("Saved views")
        self.views.activated.connect(self._apply_view)
        self.views.currentIndexChanged.connect(self._view_chosen)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("Rename the saved view chosen on the left")
        self.rename_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rename_button.clicked.connect(lambda: self.rename_view())
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the saved view chosen on the left")
        self.delete_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.delete_button.clicked.connect(lambda: self.delete_view())
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
        for i, widget in enumerate((self.outcome, self.flag, self.reviewer, self.content_type)):
            grid.addWidget(widget, 1, i)
        for i, widget in enumerate((self.moderator, self.queue, self.batch)):
            grid.addWidget(widget, 2, i)
        grid.addWidget(self.text, 2, 3)
        views_row = QHBoxLayout()
        views_row.addWidget(self.views, 1)
        for button in (self.rename_button, self.delete_button, self.save_button, self.clear_button):
            views_row.addWidget(button)
        grid.addLayout(views_row, 3, 0, 1, 4)
        for column in range(4):  # the four filters of a row share the width
            grid.setColumnStretch(column, 1)
        self._saved: dict[str, QueueFilter] = {}
        self._view_chosen()

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
        *,
        moderators: list[str] | None = None,
        queues: list[str] | None = None,
        batches: dict[str, str] | None = None,
    ) -> None:
        """The values found in the queue, the reviewers (id → name), the frontline
        moderators and queues, the batches (id → name) and the saved views."""
        self._updating = True
        chosen_view = self.views.currentData()
        current = self.reviewer.currentData()
        self.reviewer.clear()
        self.reviewer.addItem("my verdicts", ANY)
        for reviewer_id, name in (reviewers or {}).items():
            self.reviewer.addItem(f"{name}'s verdicts", reviewer_id)
        self.reviewer.setCurrentIndex(max(0, self.reviewer.findData(current)))
        batch_names = batches or {}
        for combo, values, any_text in (
            (self.market, {v: v for v in markets}, "any market"),
            (self.policy, {v: v for v in policies}, "any policy"),
            (self.original, {v: v for v in labels}, "any original"),
            (self.moderator, {v: v for v in moderators or []}, "any moderator"),
            (self.queue, {v: v for v in queues or []}, "any queue"),
            (self.batch, batch_names, "any batch"),
        ):
            current = combo.currentData()
            combo.clear()
            combo.addItem(any_text, ANY)
            for value, text in values.items():
                combo.addItem(text, value)
            index = combo.findData(current)
            combo.setCurrentIndex(max(0, index))
        self._saved = dict(views)
        self.views.clear()
        self.views.addItem("Saved views…", "")
        for name in self._saved:
            self.views.addItem(name, name)
        self.views.setCurrentIndex(max(0, self.views.findData(chosen_view)))
        self._updating = False
        self._view_chosen()

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
            moderator=pick(self.moderator),
            queue=pick(self.queue),
            content_type=pick(self.content_type),
            batch_id=pick(self.batch),
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
            (self.content_type, f.content_type or ANY),
            (self.moderator, f.moderator or ANY),
            (self.queue, f.queue or ANY),
            (self.batch, f.batch_id or ANY),
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
        """Let every case through (and show no saved view as chosen)."""
        self.show_filter(None)
        self.views.setCurrentIndex(0)

    def chosen_view(self) -> str | None:
        """The name of the saved view chosen in the views combo, if any."""
        name = self.views.currentData()
        return str(name) if name and name in self._saved else None

    def rename_view(self, new_name: str | None = None) -> str | None:
        """Rename the chosen saved view (the new name is asked for unless given)."""
        old = self.chosen_view()
        if old is None:
            return None
        if new_name is None:
            new_name, ok = QInputDialog.getText(
                self, "Rename view", f"New name for “{old}”:", QLineEdit.EchoMode.Normal, old
            )
            if not ok:
                return None
        new_name = new_name.strip()
        if not new_name or new_name == old:
            return None
        self.view_renamed.emit(old, new_name)
        return new_name

    def delete_view(self, confirm: bool = True) -> str | None:
        """Delete the chosen saved view (after a Yes unless ``confirm`` is False)."""
        name = self.chosen_view()
        if name is None:
            return None
        if confirm and not ask(self, "Delete view", f"Delete the saved view “{name}”?"):
            return None
        self.view_deleted.emit(name)
        return name

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
            self.apply_typed()
            self.editing_done.emit()
            return True
        return super().eventFilter(watched, event)

    def _apply_view(self, index: int) -> None:
        name = self.views.itemData(index)
        if name and name in self._saved:
            self.show_filter(self._saved[name])

    def _view_chosen(self, *_args: object) -> None:
        chosen = self.chosen_view() is not None
        self.rename_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)

    def apply_typed(self) -> None:
        """Apply the find text typed so far now, if its pause has not yet come."""
        if self.find_delay.isActive():
            self._changed()

    def _typed(self, *_args: object) -> None:
        if not self._updating:
            self.find_delay.start()

    def _changed(self, *_args: object) -> None:
        self.find_delay.stop()
        if self._updating:
            return
        shown = self.current_filter()
        chosen = self.chosen_view()
        if chosen is not None and self._saved[chosen] != (shown or QueueFilter()):
            self.views.setCurrentIndex(0)  # the bar no longer shows that view
        self.filter_changed.emit(shown)
