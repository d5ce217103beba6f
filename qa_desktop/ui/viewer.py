"""The content viewer: blurred by default, revealed only while Space or the mouse is held."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QStackedWidget, QTextBrowser, QWidget

from .render import Rendered

ZOOM_STEPS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


class ImageView(QWidget):
    """Paints a case's image (or storyboard): the blurred one unless revealed."""

    reveal_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._rendered: Rendered | None = None
        self._message = ""
        self._revealed = False
        self._zoom: float | None = None  # None: fit to the widget
        self._pan = QPointF(0, 0)

    # -- state -------------------------------------------------------------------------
    @property
    def revealed(self) -> bool:
        """True while the sharp image is on screen."""
        return self._revealed

    @property
    def zoom(self) -> float | None:
        """The zoom factor, or None when fitting the image to the view."""
        return self._zoom

    def show_rendered(self, rendered: Rendered | None, message: str = "") -> None:
        """Show a render (or, while it is being prepared, a message and nothing else)."""
        self._rendered = rendered
        self._message = message
        self.update()

    def current_image(self) -> QImage | None:
        """The image being painted now: blurred unless revealed."""
        r = self._rendered
        if r is None or r.blurred is None:
            return None
        return r.sharp if self._revealed else r.blurred

    def set_revealed(self, revealed: bool) -> None:
        """Reveal (True) or re-blur (False)."""
        if revealed and (self._rendered is None or self._rendered.sharp is None):
            revealed = False
        if revealed != self._revealed:
            self._revealed = revealed
            self.reveal_changed.emit(revealed)
            self.update()

    def reset_view(self) -> None:
        """Back to blurred, fitted, unpanned (what every navigation does)."""
        self.set_revealed(False)
        self._zoom = None
        self._pan = QPointF(0, 0)
        self.update()

    def zoom_in(self) -> None:
        """Next zoom step up."""
        current = self._zoom or self._fit_scale()
        self._zoom = next((z for z in ZOOM_STEPS if z > current + 1e-6), ZOOM_STEPS[-1])
        self.update()

    def zoom_out(self) -> None:
        """Next zoom step down."""
        current = self._zoom or self._fit_scale()
        self._zoom = next((z for z in reversed(ZOOM_STEPS) if z < current - 1e-6), ZOOM_STEPS[0])
        self.update()

    def zoom_fit(self) -> None:
        """Fit the image to the view."""
        self._zoom = None
        self._pan = QPointF(0, 0)
        self.update()

    # -- painting ------------------------------------------------------------------------
    def _fit_scale(self) -> float:
        image = self.current_image()
        if image is None or image.isNull():
            return 1.0
        return min(self.width() / image.width(), self.height() / image.height())

    def image_rect(self) -> QRectF:
        """Where the image is painted, in widget coordinates."""
        image = self.current_image()
        if image is None:
            return QRectF()
        scale = self._zoom or self._fit_scale()
        w, h = image.width() * scale, image.height() * scale
        return QRectF(
            (self.width() - w) / 2 + self._pan.x(), (self.height() - h) / 2 + self._pan.y(), w, h
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 30, 34))
        image = self.current_image()
        if image is None:
            painter.setPen(QColor(220, 220, 220))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            painter.setFont(font)
            painter.drawText(
                self.rect().adjusted(24, 24, -24, -24),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._message,
            )
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(self.image_rect(), image)
        self._paint_badge(painter)

    def _paint_badge(self, painter: QPainter) -> None:
        if self._revealed:
            painter.setPen(QPen(QColor(230, 70, 60), 6))
            painter.drawRect(self.rect().adjusted(3, 3, -3, -3))
            text, bg = "REVEALED — release to blur", QColor(200, 50, 40, 230)
        else:
            text, bg = "Blurred — hold Space or the mouse to reveal", QColor(20, 20, 20, 200)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        box = QRectF(12, 12, metrics.horizontalAdvance(text) + 24, metrics.height() + 12)
        painter.fillRect(box, bg)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # -- mouse: hold to reveal, wheel to pan, ctrl+wheel to zoom -----------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.set_revealed(True)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.set_revealed(False)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_in() if delta.y() > 0 else self.zoom_out()
        elif self._zoom is not None:
            self._pan += QPointF(delta.x() / 2, delta.y() / 2)
            self.update()

    def leaveEvent(self, event: object) -> None:
        # A drag that leaves the widget must not leave the content revealed.
        if not self.underMouse():
            self.set_revealed(False)


class TextView(QTextBrowser):
    """Shows a text case: large, readable, selectable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.setFont(font)

    def show_text(self, text: str) -> None:
        """Show the post's text as plain text (never interpreted as HTML)."""
        self.setPlainText(text)


class CaseViewer(QStackedWidget):
    """Image/storyboard view or text view, whichever the case needs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_view = ImageView(self)
        self.text_view = TextView(self)
        self.addWidget(self.image_view)
        self.addWidget(self.text_view)

    def show_text(self, text: str) -> None:
        """Switch to the text view with ``text``."""
        self.image_view.reset_view()
        self.image_view.show_rendered(None)
        self.text_view.show_text(text)
        self.setCurrentWidget(self.text_view)

    def show_visual(self, rendered: Rendered | None, message: str = "") -> None:
        """Switch to the image view with a render (or a message while it is prepared)."""
        self.image_view.show_rendered(rendered, message)
        self.setCurrentWidget(self.image_view)
