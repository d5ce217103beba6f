"""The guideline browser: the effective guideline tree for the case on screen, searchable.

Shows the sections of the pack version the case's batch names, as localized for the case's
market (overlay sections marked), retired sections greyed, the section text beside the tree.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    EffectiveSection,
    Guideline,
)
from .plain_text import SafeTextBrowser

_SECTION_ROLE = Qt.ItemDataRole.UserRole


class GuidelineBrowser(QWidget):
    """Tree of sections, a search field and the selected section's text.

    ``cite_requested`` is emitted with a section when the reviewer asks to cite it (Enter
    on a section, double-click, or the Cite button), with the words selected in the
    section text as a quote.
    """

    cite_requested = Signal(object, str)  # EffectiveSection, quoted span ("" for none)
    escaped = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guideline: Guideline | None = None
        self.title = QLabel("No guideline loaded")
        self.title.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText(
            "Search the guidelines: ↓ into the tree · Enter cites · Esc back to the case"
        )
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Section", "Title"])
        self.tree.setColumnWidth(0, 110)
        self.tree.currentItemChanged.connect(lambda item, _prev: self._show(item))
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._cite(item))
        self.tree.installEventFilter(self)
        self.tree.setToolTip("↑/↓ choose · Enter cites · Esc back to the case")
        self.text = SafeTextBrowser()
        self.cite_button = QPushButton("Cite (Enter) · select words to quote")
        self.cite_button.setToolTip(
            "Cite this section in your verdict; words selected in its text become the quote"
        )
        self.cite_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cite_button.clicked.connect(lambda: self._cite(self.tree.currentItem()))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.text)
        splitter.setSizes([320, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.search)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.cite_button)

    def set_guideline(self, guideline: Guideline | None) -> None:
        """Show ``guideline`` (the effective one for the case on screen)."""
        if guideline == self.guideline and guideline is not None:
            return
        self.guideline = guideline
        self.tree.clear()
        self.text.clear()
        if guideline is None:
            self.title.setText("No guideline pack loaded for this case")
            return
        e = html.escape
        overlay = f" + {guideline.overlay[0]} {guideline.overlay[1]}" if guideline.overlay else ""
        self.title.setText(
            f"<b>{e(guideline.pack_id)} {e(guideline.pack_version)}</b>{e(overlay)} · "
            f"market {e(guideline.market)} · {e(guideline.language)}"
        )
        self._add_children(self.tree.invisibleRootItem(), None)
        self.tree.expandAll()
        self._filter(self.search.text())

    def show_section(self, section_id: str) -> bool:
        """Select a section in the tree (and show its text); False if it is not there."""
        for item in self._items():
            if self._section(item).id == section_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def focus_search(self) -> None:
        """Put the cursor in the search field."""
        self.search.setFocus()
        self.search.selectAll()

    def _add_children(self, parent: QTreeWidgetItem, parent_id: str | None) -> None:
        assert self.guideline is not None
        for section in self.guideline.children(parent_id):
            item = QTreeWidgetItem(parent, [section.id, section.title])
            item.setData(0, _SECTION_ROLE, section)
            tip = "localized for this market" if section.localized else ""
            if section.status == "retired":
                grey = QBrush(QColor(140, 140, 140))
                item.setForeground(0, grey)
                item.setForeground(1, grey)
                tip = "retired in this version"
            elif section.localized:
                item.setText(0, f"{section.id} ●")
            item.setToolTip(1, tip)
            self._add_children(item, section.id)

    def _items(self) -> list[QTreeWidgetItem]:
        found: list[QTreeWidgetItem] = []
        stack = [self.tree.invisibleRootItem()]
        while stack:
            node = stack.pop()
            for i in range(node.childCount()):
                child = node.child(i)
                if child is not None:
                    found.append(child)
                    stack.append(child)
        return found

    @staticmethod
    def _section(item: QTreeWidgetItem) -> EffectiveSection:
        section: EffectiveSection = item.data(0, _SECTION_ROLE)
        return section

    def _filter(self, text: str) -> None:
        if self.guideline is None:
            return
        ranked = self.guideline.search(text, limit=1000) if text.strip() else None
        matches = {s.id for s in ranked} if ranked is not None else None
        items = self._items()
        for item in items:
            item.setHidden(matches is not None and self._section(item).id not in matches)
        if ranked is not None and not ranked:
            self.tree.setCurrentItem(None)  # type: ignore[call-overload]  # clears it
            self.text.set_markdown(f"No section of this guideline matches *{text.strip()}*.")
            return
        if ranked is None:
            return
        # Keep the ancestors of a match visible so the tree still reads as a tree.
        for item in items:
            parent = item.parent() if not item.isHidden() else None
            while parent is not None:
                parent.setHidden(False)
                parent = parent.parent()
        best = ranked[0].id
        self.tree.setCurrentItem(next(i for i in items if self._section(i).id == best))

    def _show(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            self.text.clear()
            return
        s = self._section(item)
        status = " — RETIRED in this version" if s.status == "retired" else ""
        source = f"{s.pack_id} {s.pack_version}" + (" (localized)" if s.localized else "")
        examples = "".join(f"\n- {e}" for e in s.examples)
        supports = ", ".join(s.labels) or "—"
        self.text.set_markdown(
            f"### {s.id} {s.title}{status}\n\n{s.body}\n\n"
            + (f"**Examples**\n{examples}\n\n" if examples else "")
            + f"*Supports:* {supports}  \n*From:* {source}"
        )

    def _cite(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            quote = " ".join(self.text.textCursor().selectedText().split())
            self.cite_requested.emit(self._section(item), quote)

    def eventFilter(self, watched: object, event: object) -> bool:
        if isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.escaped.emit()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self._cite(self.tree.currentItem())
                return True
            if watched is self.search and key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                # Into the tree, on the best match; the key ends here (never reaches the queue).
                self.tree.setFocus()
                return True
        return super().eventFilter(watched, event)  # type: ignore[arg-type]
