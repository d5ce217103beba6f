"""The join card for the presenter: the page's address, the short session code and a QR
code of the address, in large type for the back of the room.

The QR code is ``segno``'s module matrix painted with QPainter (no image file). The card
shows text only as plain text.
"""

from __future__ import annotations

import segno
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

QUIET_ZONE = 4
"""Modules of white round the symbol (the QR standard's quiet zone)."""


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code of ``text`` (error correction M, or better if it fits the same size) as
    rows of dark (True) / light modules, quiet zone included."""
    code = segno.make_qr(text, error="m", boost_error=True)
    return [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]


def _module_image(matrix: list[list[bool]]) -> QImage:
    """The matrix as an image of one pixel a module, black on white."""
    image = QImage(len(matrix[0]), len(matrix), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    black = QColor("black").rgb()
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                image.setPixel(x, y, black)
    return image


class QrCode(QWidget):
    """A QR code painted square, black on white, whole modules only (crisp at any size)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._matrix: list[list[bool]] = []
        self._image: QImage | None = None  # one pixel a module, drawn scaled
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.set_text(text)

    def set_text(self, text: str) -> None:
        """Encode ``text`` (nothing painted when empty)."""
        self._matrix = qr_matrix(text) if text else []
        self._image = _module_image(self._matrix) if self._matrix else None
        self.setAccessibleName(f"QR code of {text}" if text else "")
        self.update()

    def matrix(self) -> list[list[bool]]:
        """The modules painted (quiet zone included)."""
        return self._matrix

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        side = min(self.width(), self.height())
        painter.fillRect(self.rect(), QColor("white"))
        count = len(self._matrix)
        module = side // count if count else 0  # whole pixels per module: no blurred edges
        if self._image is not None and module >= 1:
            left = (self.width() - module * count) // 2
            top = (self.height() - module * count) // 2
            # One scaled draw, whole pixels a module, no smoothing: crisp, and no Python loop
            # over the modules on the GUI thread (it repaints while a room votes).
            painter.drawImage(QRect(left, top, module * count, module * count), self._image)
        painter.end()


class JoinCard(QWidget):
    """What a participant needs to join: the address, the code, a QR code of the address."""

    def __init__(self, url: str = "", code: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("joinCard")
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), QColor("#111111"))
        palette.setColor(self.foregroundRole(), QColor("#ffffff"))
        self.setPalette(palette)
        self.title = self._label("Vote from your phone or laptop", 22, bold=True)
        self.address = self._label("", 20)
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_caption = self._label("Session code", 18)
        self.code = self._label("", 44, bold=True)
        self.code.setFont(_font(self.font(), 44, bold=True, mono=True))
        self.qr = QrCode()
        text = QVBoxLayout()
        for widget in (self.title, self.address, self.code_caption, self.code):
            text.addWidget(widget)
        text.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(32)
        layout.addWidget(self.qr, 1)
        layout.addLayout(text, 1)
        self.set_join(url, code)

    def _label(self, text: str, points: int, bold: bool = False) -> QLabel:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setFont(_font(self.font(), points, bold))
        return label

    def set_join(self, url: str, code: str) -> None:
        """Show where to go and the code (plain text)."""
        self.address.setText(url)
        self.code.setText(code)
        self.qr.set_text(url)


def _font(base: QFont, points: int, bold: bool = False, mono: bool = False) -> QFont:
    """The app's font at ``points`` (a monospaced one for the code: 0 and O never meet,
    but columns help reading it out)."""
    font = QFont(base)
    if mono:
        font.setFamilies(["DejaVu Sans Mono", "monospace"])
        font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(points)
    font.setBold(bold)
    return font
