"""Text from outside (batches, packs, bundles, file names) shown as text, never as markup.

Qt renders a label, message box or tooltip as rich text when its first line *looks* like
HTML, and rich text loads images named in ``<img src=…>`` from disk. A case tagged
``<img src="…/media/ab/abcd…">`` would then show a stored original, unblurred, in a warning
screen or an error message. So every message box here is plain text, and outside values
that go into rich text are escaped::

    warn(parent, "Batch not imported", str(error))   # never rendered as HTML
    item.setToolTip(escaped(section.body))           # rich text whose content is literal
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser, QWidget

Button = QMessageBox.StandardButton


def escaped(text: str) -> str:
    """``text`` as rich text that shows exactly those characters, line breaks kept."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>"


def show_message(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    buttons: QMessageBox.StandardButton = Button.Ok,
    details: str = "",
    labels: dict[QMessageBox.StandardButton, str] | None = None,
) -> QMessageBox.StandardButton:
    """A modal message box whose text is plain text; the button pressed. ``labels`` renames
    standard buttons (``{Button.Ignore: "Dismiss these signers"}``)."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    for button, label in (labels or {}).items():
        found = box.button(button)
        if found is not None:
            found.setText(label)
    if details:
        box.setDetailedText(details)  # always plain text in Qt
    return QMessageBox.StandardButton(box.exec())


def inform(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    """An information box (plain text), with optional details under *Show Details…*."""
    show_message(parent, QMessageBox.Icon.Information, title, text, details=details)


def warn(parent: QWidget | None, title: str, text: str) -> None:
    """A warning box (plain text)."""
    show_message(parent, QMessageBox.Icon.Warning, title, text)


def fail(parent: QWidget | None, title: str, text: str) -> None:
    """A critical-error box (plain text)."""
    show_message(parent, QMessageBox.Icon.Critical, title, text)


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """A Yes/No question (plain text); True for Yes."""
    answer = show_message(parent, QMessageBox.Icon.Question, title, text, Button.Yes | Button.No)
    return answer == Button.Yes


_NOTHING = QImage(1, 1, QImage.Format.Format_ARGB32)
_NOTHING.fill(0)


class SafeTextBrowser(QTextBrowser):
    """A text browser that never loads anything: no image, style sheet or page, from disk
    or anywhere, whatever the (Markdown or HTML) text asks for, and links do not navigate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)

    def loadResource(self, kind: int, name: QUrl | str) -> object:  # Qt calls it for every resource
        # Not None: for "nothing here" QTextDocument goes and reads local files itself.
        return _NOTHING if kind == QTextDocument.ResourceType.ImageResource.value else ""

    def set_markdown(self, text: str) -> None:
        """Show Markdown (GitHub dialect) with any raw HTML in it shown as text."""
        features = (
            QTextDocument.MarkdownFeature.MarkdownDialectGitHub
            | QTextDocument.MarkdownFeature.MarkdownNoHTML
        )
        self.document().setMarkdown(text, features)
