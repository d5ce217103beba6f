"""The content viewer: blurred by default, revealed only while Space or the mouse is held."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QWidget

from ..core.api import (
    MediaSource,
    revealed_fraction,
)
from .overlay import (
    PROTECTED_BADGE,
    REGION_COLOUR,
    REVEALED_BADGE,
    paint_badge,
    paint_drag_outline,
    paint_message,
    paint_reveal_frame,
    region_between,
    region_box,
)
from .plain_text import SafeTextBrowser
from .render import Rendered, tile_at
from .video_player import VideoPlayer

Region = tuple[float, float, float, float]
"""A revealed part of a picture: x, y, width, height as fractions of its size."""

ZOOM_STEPS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


def smooth_scaling(rendered: Rendered | None, image: QImage, target: QRectF) -> bool:
    """Whether ``image`` needs smooth scaling to be painted into ``target``.

    A Gaussian-blurred picture has no detail left to alias, so shrinking it by nearest
    pixels looks the same and costs a fraction (a smooth shrink of a 1600x1200 render was
    two thirds of a painted next case); sharp, pixelated and stylized pictures, and any
    enlargement, stay smooth."""
    if rendered is None or image is rendered.sharp or target.width() >= image.width():
        return True
    settings = rendered.settings
    return settings.blur_kind != "gaussian" or settings.reduced_detail


class ImageView(QWidget):
    """Paints a case's image (or storyboard): the blurred one unless revealed."""

    reveal_changed = Signal(bool)
    regions_changed = Signal()
    tile_clicked = Signal(float)  # storyboard mode: the time of the clicked keyframe

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._rendered: Rendered | None = None
        self._message = ""
        self._revealed = False
        self._pinned = False  # "reveal for this case": the badge says so
        self._zoom: float | None = None  # None: fit to the widget
        self._pan = QPointF(0, 0)
        self.regions: list[Region] = []
        self._drag_start: QPointF | None = None
        self.blurred_hint = "Blurred — hold Space or the mouse to reveal, Shift+drag a region"
        """What the badge says over the blurred picture (a screen without reveals says so)."""
        self._drag_now: QPointF | None = None
        self.storyboard_mode = False

    # -- state -------------------------------------------------------------------------
    @property
    def revealed(self) -> bool:
        """True while the sharp image is on screen."""
        return self._revealed

    @property
    def rendered(self) -> Rendered | None:
        """The render (or preview) on screen, if any."""
        return self._rendered

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

    def set_pinned(self, pinned: bool) -> None:
        """Mark the reveal as "for this case" (only changes what the badge says)."""
        self._pinned = pinned
        self.update()

    def set_regions(self, regions: list[Region]) -> None:
        """Reveal only these parts of the image (fractions of its size: x, y, w, h)."""
        self.regions = list(regions)
        self.regions_changed.emit()
        self.update()

    def revealed_fraction(self) -> float:
        """How much of the picture shows sharp pixels now (1 when fully revealed)."""
        if self._revealed:
            return 1.0
        if not self.regions or self._rendered is None or self._rendered.sharp is None:
            return 0.0
        return revealed_fraction(self.regions, 1000, 1000)

    def reset_view(self) -> None:
        """Back to blurred, fitted, unpanned, no regions (what every navigation does)."""
        self.set_revealed(False)
        self._pinned = False
        if self.regions:
            self.set_regions([])
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
    def _picture_size(self) -> tuple[int, int] | None:
        """The size the picture is laid out at: the sharp one's (a blurred picture may be
        kept smaller and is painted over the same place), else the painted one's."""
        image = self.current_image()
        if image is None or image.isNull():
            return None
        sharp = self._rendered.sharp if self._rendered is not None else None
        reference = sharp if sharp is not None and not sharp.isNull() else image
        return reference.width(), reference.height()

    def _fit_scale(self) -> float:
        size = self._picture_size()
        if size is None:
            return 1.0
        return min(self.width() / size[0], self.height() / size[1])

    def image_rect(self) -> QRectF:
        """Where the image is painted, in widget coordinates."""
        size = self._picture_size()
        if size is None:
            return QRectF()
        scale = self._zoom or self._fit_scale()
        w, h = size[0] * scale, size[1] * scale
        return QRectF(
            (self.width() - w) / 2 + self._pan.x(), (self.height() - h) / 2 + self._pan.y(), w, h
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 30, 34))
        image = self.current_image()
        if image is None:
            paint_message(painter, self.rect(), self._message, QColor(220, 220, 220))
            return
        target = self.image_rect()
        painter.setRenderHint(
            QPainter.RenderHint.SmoothPixmapTransform, smooth_scaling(self._rendered, image, target)
        )
        painter.drawImage(target, image)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        sharp = self._rendered.sharp if self._rendered else None
        if not self._revealed and sharp is not None:
            painter.setPen(QPen(REGION_COLOUR, 2))
            sharp_rect = QRectF(0, 0, sharp.width(), sharp.height())
            for region in self.regions:
                box = region_box(target, region)
                painter.drawImage(box, sharp, region_box(sharp_rect, region))
                painter.drawRect(box)
        if self._drag_start is not None and self._drag_now is not None:
            paint_drag_outline(painter, QRectF(self._drag_start, self._drag_now).normalized())
        self._paint_badge(painter)

    def _paint_badge(self, painter: QPainter) -> None:
        if self._revealed:
            paint_reveal_frame(painter, self.rect())
            text = (
                "REVEALED FOR THIS CASE — T to blur again"
                if self._pinned
                else "REVEALED — release to blur"
            )
            bg = REVEALED_BADGE
        elif self.regions:
            text = f"{len(self.regions)} region(s) revealed — Esc to blur them"
            bg = QColor(170, 110, 20, 230)
        elif self.storyboard_mode:
            text = "Storyboard, blurred — click a tile to play from there"
            bg = PROTECTED_BADGE
        else:
            text = self.blurred_hint
            bg = PROTECTED_BADGE
        paint_badge(painter, text, bg)

    # -- mouse: hold to reveal, wheel to pan, ctrl+wheel to zoom -----------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.current_image() is None:
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._drag_start = self._drag_now = event.position()
        elif self.storyboard_mode:
            self._click_tile(event.position())
        elif not self._pinned:
            self.set_revealed(True)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_start is not None:
            self._drag_now = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self._drag_start is not None:
            start, self._drag_start, self._drag_now = self._drag_start, None, None
            self.add_region_between(start, event.position())
        elif not self._pinned and not self.storyboard_mode:
            self.set_revealed(False)

    def add_region_between(self, a: QPointF, b: QPointF) -> bool:
        """Reveal the part of the image inside the widget rectangle a-b; False if empty."""
        region = region_between(a, b, self.image_rect())
        if region is None:
            self.update()
            return False
        self.set_regions([*self.regions, region])
        return True

    def _click_tile(self, point: QPointF) -> None:
        target = self.image_rect()
        r = self._rendered
        if r is None or not r.keyframe_times or not target.contains(point):
            return
        index = tile_at(
            (point.x() - target.x()) / target.width(),
            (point.y() - target.y()) / target.height(),
            len(r.keyframe_times),
        )
        if index is not None:
            self.tile_clicked.emit(r.keyframe_times[index])

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_in() if delta.y() > 0 else self.zoom_out()
        elif self._zoom is not None:
            self._pan += QPointF(delta.x() / 2, delta.y() / 2)
            self.update()

    def leaveEvent(self, event: object) -> None:
        # A drag that leaves the widget must not leave the content revealed.
        if not self.underMouse() and not self._pinned:
            self.set_revealed(False)


class TextView(SafeTextBrowser):
    """Shows a text case: large, readable, selectable; collapsed behind its warnings if asked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.setFont(font)
        self.collapsed = False
        self._text = ""

    def show_text(self, text: str, warning_tags: tuple[str, ...] = ()) -> None:
        """Show the post's text as plain text (never as HTML); with ``warning_tags``, show
        only the warning until :meth:`expand`."""
        self._text = text
        self.collapsed = bool(warning_tags)
        if self.collapsed:
            self.setPlainText(
                f"Content warning: {', '.join(warning_tags)}\n\n"
                f"This text ({len(text)} characters) is collapsed. Press W to show it."
            )
        else:
            self.setPlainText(text)

    def expand(self) -> None:
        """Show the collapsed text."""
        self.collapsed = False
        self.setPlainText(self._text)


class WarningView(QLabel):
    """The warning screen shown before any media of a case tagged graphic."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setStyleSheet("background: #1e1e22; color: #f0f0f0; padding: 40px;")
        self.setTextFormat(Qt.TextFormat.PlainText)  # the tags come from the batch file
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        self.setFont(font)

    def show_warning(self, tags: tuple[str, ...]) -> None:
        """Say which warnings the case carries and how to opt in."""
        self.setText(
            f"⚠  This case is tagged: {', '.join(tags)}\n\n"
            "Its media stay hidden until you choose to see them.\n"
            "Press W to show them (still blurred), or decide from the context."
        )


class CaseViewer(QStackedWidget):
    """The case's content: image, video (player above its storyboard), text, or a warning.

    On the playing video, as on images, holding the mouse reveals (``hold_requested``) and
    Shift+drag reveals a region (``regions_changed``).
    """

    hold_requested = Signal(bool)
    regions_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_view = ImageView()
        self.player = VideoPlayer()
        self.media_page = QSplitter(Qt.Orientation.Vertical)
        self.media_page.addWidget(self.player)
        self.media_page.addWidget(self.image_view)
        self.media_page.setChildrenCollapsible(False)
        self.player.hide()
        self.text_view = TextView(self)
        self.warning_view = WarningView(self)
        self.addWidget(self.media_page)
        self.addWidget(self.text_view)
        self.addWidget(self.warning_view)
        self.image_view.tile_clicked.connect(self._play_from)
        self.image_view.regions_changed.connect(self.regions_changed)
        self._video: MediaSource | None = None
        self._player_drag: QPointF | None = None
        self.player.screen_view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.player.screen_view or not isinstance(event, QMouseEvent):
            return False
        screen = self.player.screen_view
        if event.type() == QEvent.Type.MouseMove and self._player_drag is not None:
            screen.dragging = QRectF(self._player_drag, event.position()).normalized()
            screen.update()
            return True
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if event.type() == QEvent.Type.MouseButtonPress:
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self._player_drag = event.position()
            else:
                self.hold_requested.emit(True)
            return True
        if event.type() == QEvent.Type.MouseButtonRelease:
            if self._player_drag is not None:
                start, self._player_drag = self._player_drag, None
                screen.dragging = None
                self._add_player_region(start, event.position())
                screen.update()
            else:
                self.hold_requested.emit(False)
            return True
        return False

    def _add_player_region(self, a: QPointF, b: QPointF) -> None:
        region = region_between(a, b, self.player.screen_view.image_rect())
        if region is None:
            return
        self.player.set_reveal_regions([*self.player.reveal_regions, region])
        self.regions_changed.emit()

    def clear_regions(self) -> None:
        """Blur every revealed region again (image, storyboard and video)."""
        self.image_view.set_regions([])
        if self.player.reveal_regions:
            self.player.set_reveal_regions([])
            self.regions_changed.emit()

    def revealed_region_fraction(self) -> float:
        """The largest share of a picture on screen that regions reveal."""
        fractions = [self.image_view.revealed_fraction()]
        if self.video_active() and self.player.reveal_regions:
            fractions.append(revealed_fraction(self.player.reveal_regions, 1000, 1000))
        return max(fractions)

    def show_text(self, text: str, warning_tags: tuple[str, ...] = ()) -> None:
        """Switch to the text view with ``text`` (collapsed behind ``warning_tags``)."""
        self._leave_media()
        self.text_view.show_text(text, warning_tags)
        self.setCurrentWidget(self.text_view)

    def show_warning(self, tags: tuple[str, ...]) -> None:
        """Show the warning screen instead of the case's media."""
        self._leave_media()
        self.warning_view.show_warning(tags)
        self.setCurrentWidget(self.warning_view)

    def show_visual(self, rendered: Rendered | None, message: str = "") -> None:
        """Switch to the image view with a render (or a message while it is prepared)."""
        self.image_view.show_rendered(rendered, message)
        self.setCurrentWidget(self.media_page)

    def show_video(
        self,
        source: MediaSource,
        rendered: Rendered | None,
        message: str = "",
        storyboard: bool = True,
    ) -> None:
        """The player (paused, blurred, muted) above the video's blurred storyboard (or, for
        an animated image, its first frame)."""
        if self.player.isHidden() or self._video != source:
            self._video = source
            self.player.show()
            self.player.load(source)
            self.media_page.setSizes([600, 300])
        self.image_view.storyboard_mode = storyboard
        self.show_visual(rendered, message)

    def _leave_media(self) -> None:
        self.image_view.reset_view()
        self.image_view.show_rendered(None)
        self.leave_video()

    def leave_video(self, wait: bool = False) -> None:
        """Stop and hide the player (an image, text or another case is next); ``wait`` for
        its worker to end (leaving the app), else return at once."""
        self.image_view.storyboard_mode = False
        if not self.player.isHidden():
            if self.player.reveal_regions:
                self.player.set_reveal_regions([])
            self.player.close_media(wait=wait)
            self.player.hide()
        self._video = None

    def video_active(self) -> bool:
        """True while the player shows a case's video."""
        return not self.player.isHidden() and self.currentWidget() is self.media_page

    def _play_from(self, time_s: float) -> None:
        if not self.player.isHidden():
            self.player.seek(time_s)
