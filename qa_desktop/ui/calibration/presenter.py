"""The presenter: a live calibration session on the room's screen (a projector, say).

A second top-level window, full screen on the screen it is placed on, readable from the back
of a room: light text on near-black, large type scaled from the window's height (Ctrl+= and
Ctrl+- change it, Ctrl+0 resets it). It shows the session's name, where the session is, the
case (media blurred with the review screen's protection, severe or graphic cases behind the
warning screen), who has voted but never what, and after the reveal the distribution, each
vote with its citations and the ruling. Nothing private: no queue, no reviewer's notes, no
exposure figures, no other batches.

Showing media unblurred to the room is an explicit act the presenter confirms; it ends on
the next case and counts as exposure for everyone in the session (``ws.calibration``
records it; the local reviewer's own span goes to ``ws.wellbeing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from PySide6.QtCore import QElapsedTimer, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QGuiApplication,
    QHideEvent,
    QImage,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QScreen,
    QShortcut,
)
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ...core.api import (
    CalibrationCaseState,
    CalibrationSession,
    Case,
    Citation,
    ExposureMeter,
    Protection,
    protection_for,
    tag_key,
)
from ...core.workspace import Workspace
from ..overlay import PROTECTED_BADGE, REVEALED_BADGE, paint_badge, paint_reveal_frame
from ..plain_text import SafeTextBrowser, ask
from ..render import RenderCache, Rendered
from ..vote_page.join_card import JoinCard
from .distribution_chart import BACKGROUND, FOREGROUND, RULED_BAR, DistributionChart

TEXT_PX_AT_1080 = 30
"""The case text's size at a 1080-pixel-high window (zoom 1): >= 28 px at 1920x1080."""
MIN_TEXT_PX = 16
"""The case text is never smaller than this, whatever the window and zoom."""
ZOOM_STEPS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
DIM = QColor(150, 150, 160)
STYLE = (
    f"PresenterWindow, QWidget {{ background: {BACKGROUND.name()}; color: {FOREGROUND.name()}; }}"
    " QTextBrowser { border: none; }"
)

_Screen = TypeVar("_Screen")


def pick_projector(screens: Sequence[_Screen], primary: _Screen) -> _Screen:
    """The screen the presenter goes on: the first that is not the primary one (the
    projector, with the laptop as primary), else the primary."""
    for screen in screens:
        if screen != primary:
            return screen
    return primary


def projector_screen() -> QScreen:
    """The application's projector screen (see :func:`pick_projector`)."""
    primary = QGuiApplication.primaryScreen()
    return pick_projector(QGuiApplication.screens(), primary)


def case_text_px(window_height: int, zoom: float = 1.0) -> int:
    """The case text's pixel size for a window this high: 30 px at 1080, 21 px at 768."""
    return max(MIN_TEXT_PX, round(window_height * TEXT_PX_AT_1080 / 1080 * zoom))


def _plain_label(parent: QWidget | None = None, wrap: bool = True) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)  # names and labels come from outside
    label.setWordWrap(wrap)
    label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return label


def _sections(citations: tuple[Citation, ...]) -> str:
    return ", ".join(f"§ {c.section_id}" for c in citations) or "no section cited"


class ProgressStrip(QWidget):
    """The session's cases as a row of cells: the current one bright, ruled ones filled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(10)
        self._count = 0
        self._current = -1
        self._ruled: frozenset[int] = frozenset()

    def set_progress(self, count: int, current: int, ruled: frozenset[int]) -> None:
        """``count`` cases, the ``current`` one (0-based), the positions already ruled."""
        self._count, self._current, self._ruled = count, current, ruled
        self.update()

    @property
    def ruled(self) -> frozenset[int]:
        """The positions shown as ruled."""
        return self._ruled

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._count <= 0:
            return
        painter = QPainter(self)
        cell = self.width() / self._count
        gap = 2.0 if cell > 6 else 0.0
        for i in range(self._count):
            if i == self._current:
                colour = RULED_BAR
            elif i in self._ruled:
                colour = QColor(120, 120, 130)
            else:
                colour = QColor(45, 45, 52)
            painter.fillRect(QRectF(i * cell, 0, cell - gap, self.height()), colour)


class RoomMediaView(QWidget):
    """A case's picture for the room: blurred, or behind its warning screen, unless shown to
    the room; the badge says which."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(200, 120)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rendered: Rendered | None = None
        self.warning_tags: tuple[str, ...] = ()
        self.revealed = False
        self.message = ""
        self._font_px = 24

    def show_case(self, warning_tags: tuple[str, ...], message: str) -> None:
        """A new case: nothing rendered yet, blurred, behind ``warning_tags`` if any."""
        self.rendered = None
        self.warning_tags = warning_tags
        self.revealed = False
        self.message = message
        self.update()

    def set_rendered(self, rendered: Rendered) -> None:
        """The case's blurred and sharp pictures (or why there are none)."""
        self.rendered = rendered
        if rendered.error:
            self.message = f"Cannot show this media: {rendered.error}"
        self.update()

    def set_revealed(self, revealed: bool) -> None:
        """Show the sharp picture (True) or the protected one."""
        self.revealed = revealed
        self.update()

    def set_font_px(self, pixels: int) -> None:
        """The size of the view's messages and badge."""
        self._font_px = pixels
        self.update()

    def current_image(self) -> QImage | None:
        """What is painted: the sharp picture once shown to the room, else the blurred one;
        nothing behind a warning screen."""
        r = self.rendered
        if r is None or r.blurred is None or (self.warning_tags and not self.revealed):
            return None
        return r.sharp if self.revealed and r.sharp is not None else r.blurred

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        font = QFont(self.font())
        font.setPixelSize(self._font_px)
        painter.setFont(font)
        image = self.current_image()
        if image is None:
            painter.setPen(FOREGROUND)
            text = self.message
            if self.warning_tags and not self.revealed:
                text = (
                    f"⚠  This case is tagged: {', '.join(self.warning_tags)}\n\n"
                    "Its media stay hidden from the room."
                )
            painter.drawText(
                QRectF(self.rect()).adjusted(24, 24, -24, -24),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                text,
            )
            if not (self.warning_tags and not self.revealed):
                return
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            scale = min(self.width() / image.width(), self.height() / image.height())
            w, h = image.width() * scale, image.height() * scale
            target = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
            painter.drawImage(target, image)
        if self.revealed:
            paint_reveal_frame(painter, self.rect())
            paint_badge(
                painter, "SHOWN TO THE ROOM — blurred again on the next case", REVEALED_BADGE
            )
        else:
            hidden = "Behind its warning screen" if self.warning_tags else "Blurred for the room"
            paint_badge(painter, hidden, PROTECTED_BADGE)


class PresenterWindow(QWidget):
    """A live calibration session on the room's screen (see the module's docstring)."""

    def __init__(
        self, workspace: Workspace, session_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.ws = workspace
        self.session: CalibrationSession = workspace.calibration.session(session_id)
        self.case: Case | None = None
        self.state: CalibrationCaseState | None = None
        self.zoom = 1.0
        self._labels: list[str] = []
        self._meter = ExposureMeter()
        self._room_case: str | None = None  # the case whose media the room sees unblurred
        # the ruled cases' positions (the progress strip): read from every case's state when
        # first shown (None: not read), then kept from the states shown, so a vote or a new
        # case does not read every vote of the session on the GUI thread; the laptop tells a
        # visible presenter of every change, so hiding it forgets them
        self._ruled_positions: set[int] | None = None
        self.setWindowTitle(f"{self.session.name} — presenter")
        self.setStyleSheet(STYLE)
        self.setMinimumSize(640, 400)

        self.renderer = RenderCache(workspace.queue.open_media, capacity=3, parent=self)
        self.renderer.rendered.connect(self._on_rendered)

        self.session_label = _plain_label(wrap=False)
        self.session_label.setText(self.session.name)
        self.position_label = _plain_label(wrap=False)
        self.timer_label = _plain_label(wrap=False)
        self.timer_label.setObjectName("caseTimer")
        self.progress = ProgressStrip()
        self.case_text = SafeTextBrowser()
        self.case_text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.case_text.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.media = RoomMediaView()
        self.voted_label = _plain_label()
        self.voters_label = _plain_label()
        self.chart = DistributionChart()
        self.votes_label = _plain_label()
        self.votes_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.ruling_label = _plain_label()
        self.join_card = JoinCard()
        self.join_card.hide()

        top = QHBoxLayout()
        top.addWidget(self.session_label, 1)
        top.addWidget(self.position_label)
        top.addSpacing(32)
        top.addWidget(self.timer_label)
        case_column = QVBoxLayout()
        case_column.addWidget(self.case_text, 2)
        case_column.addWidget(self.media, 3)
        side = QVBoxLayout()
        side.addWidget(self.join_card)
        side.addWidget(self.voted_label)
        side.addWidget(self.voters_label)
        side.addWidget(self.chart, 3)
        votes_scroll = QScrollArea()
        votes_scroll.setWidget(self.votes_label)
        votes_scroll.setWidgetResizable(True)  # many voters scroll, never push the window
        votes_scroll.setFrameShape(QFrame.Shape.NoFrame)
        votes_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        votes_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.addWidget(votes_scroll, 2)
        side.addWidget(self.ruling_label)
        body = QHBoxLayout()
        body.addLayout(case_column, 3)
        body.addSpacing(24)
        body.addLayout(side, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 20, 32, 24)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addSpacing(12)
        layout.addLayout(body, 1)

        for keys, slot in (
            # One shortcut per key sequence: two on the same keys are ambiguous, and neither
            # fires (QKeySequence.ZoomIn/ZoomOut are these same keys on most platforms).
            (("Ctrl+=", "Ctrl++"), self.zoom_in),
            (("Ctrl+-",), self.zoom_out),
            (("Ctrl+0",), self.reset_zoom),
        ):
            for key in keys:
                QShortcut(QKeySequence(key), self, slot)

        self._elapsed = QElapsedTimer()
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)
        self._apply_fonts()
        if self.session.case_ids:
            self.show_case(self.session.case_ids[0])

    # -- the interface the laptop's screen drives --------------------------------------------
    def show_case(self, case_id: str) -> None:
        """Show a case of the session from the start: blurred, its timer from zero. Media
        shown to the room on the previous case are blurred again (and their exposure kept)."""
        self._end_room_reveal()
        self.case = self.ws.queue.case(case_id)
        self.state = self.ws.calibration.case_state(self.session.id, case_id)
        protection = self._protection()
        warned = self._warning_tags(protection)
        if self.case is None:
            self.case_text.setPlainText(f"Case {case_id} is not in this data directory.")
            self.media.show_case((), "")
            self._labels = []
        else:
            self._labels = [label.id for label in self.ws.guidelines.labels_for(self.case)]
            has_media = self.case.content_type != "text" and bool(self.case.media)
            self.media.setVisible(has_media)
            self._show_text(warned)
            self.media.show_case(warned, "Preparing the blurred view…" if has_media else "")
            if has_media:
                rendered = self.renderer.request(self.case, protection.filters)
                if rendered is not None:
                    self.media.set_rendered(rendered)
        self._elapsed.start()
        self._ticker.start()
        self._tick()
        self._show_state()

    def refresh(self, state: CalibrationCaseState | None = None) -> None:
        """Show the current case's state again (after a vote, reveal, note or ruling):
        ``state`` when the caller has just read it, else read here."""
        if self.state is None:
            return
        if state is None or state.case_id != self.state.case_id:
            state = self.ws.calibration.case_state(self.session.id, self.state.case_id)
        self.state = state
        self._show_state()

    def place_on(self, screen: QScreen) -> None:
        """Full screen on ``screen`` (:func:`projector_screen` picks the projector)."""
        if self.isFullScreen():
            self.showNormal()
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self.showFullScreen()

    def reveal_media_to_room(self) -> bool:
        """Ask the presenter to confirm, then show the case's media unblurred to the room
        until the next case, recorded as exposure for everyone in the session. True when
        the media are (now) shown; False when declined or when there is nothing to show."""
        case = self.case
        if case is None or self.state is None:
            return False
        if self._room_case == case.id:
            return True
        has_media = case.content_type != "text" and bool(case.media)
        collapsed_text = bool(self.media.warning_tags) and bool(case.text)
        if not has_media and not collapsed_text:
            return False
        confirmed = ask(
            self,
            "Show to the room?",
            f"Show case {case.id} unblurred to everyone in the room?\n\n"
            "It counts as exposure for every participant of the session. It is blurred "
            "again on the next case.",
        )
        if not confirmed or self.case is not case:
            return False
        self.ws.calibration.reveal_media_to_room(self.session.id, case.id)
        self._room_case = case.id
        self._meter.start_reveal(case.id, tag_key(case.tags[0]) if case.tags else "untagged")
        self.media.set_revealed(True)
        self._show_text(())
        return True

    def show_join(self, url: str, code: str) -> None:
        """Show the vote page's join card (address, code, QR code) to the room."""
        self.join_card.set_join(url, code)
        self.join_card.show()

    def hide_join(self) -> None:
        """The vote page stopped: its card goes."""
        self.join_card.hide()

    @property
    def media_shown_to_room(self) -> bool:
        """True while the current case's media are shown unblurred to the room."""
        return self._room_case is not None

    # -- type size ------------------------------------------------------------------------------
    @property
    def text_px(self) -> int:
        """The case text's pixel size now."""
        return case_text_px(self.height(), self.zoom)

    def zoom_in(self) -> None:
        """Larger type (Ctrl+=)."""
        self._set_zoom(next((z for z in ZOOM_STEPS if z > self.zoom), self.zoom))

    def zoom_out(self) -> None:
        """Smaller type (Ctrl+-)."""
        self._set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self.zoom), self.zoom))

    def reset_zoom(self) -> None:
        """The default type size for the window (Ctrl+0)."""
        self._set_zoom(1.0)

    def _set_zoom(self, zoom: float) -> None:
        self.zoom = zoom
        self._apply_fonts()

    def _apply_fonts(self) -> None:
        px = self.text_px
        sizes = {
            self.case_text: px,
            self.session_label: round(px * 1.1),
            self.position_label: px,
            self.timer_label: px,
            self.voted_label: round(px * 1.3),
            self.voters_label: round(px * 0.8),
            self.votes_label: round(px * 0.8),
            self.ruling_label: px,
        }
        for widget, size in sizes.items():
            font = QFont(widget.font())
            font.setPixelSize(max(MIN_TEXT_PX * 3 // 4, size))
            if widget in (self.session_label, self.voted_label, self.ruling_label):
                font.setBold(True)
            widget.setFont(font)
        self.chart.set_font_px(round(px * 0.8))
        self.media.set_font_px(round(px * 0.8))
        self.progress.setFixedHeight(max(6, px // 3))
        self._fit_text()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._apply_fonts()

    # -- what is on screen ----------------------------------------------------------------------
    def _protection(self) -> Protection:
        return protection_for(self.case.tags if self.case else ())

    def _warning_tags(self, protection: Protection) -> tuple[str, ...]:
        if self.case is None or not (protection.warning_screen or self.case.severe):
            return ()
        return self.case.tags

    def _show_text(self, warned: tuple[str, ...]) -> None:
        case = self.case
        if case is None:
            return
        if warned and case.text:
            self.case_text.setPlainText(
                f"⚠  Content warning: {', '.join(warned)}\n\n"
                f"This text ({len(case.text)} characters) is hidden from the room."
            )
        else:
            self.case_text.setPlainText(case.text or f"Case {case.id} ({case.content_type})")
        self.case_text.setVisible(bool(case.text) or case.content_type == "text")
        self._fit_text()

    def _fit_text(self) -> None:
        """Beside media, the text box is as high as its text (at most 40% of the window,
        then it scrolls); a text case's text has all the room."""
        if not self.media.isVisibleTo(self):
            self.case_text.setMaximumHeight(16777215)
            return
        document = self.case_text.document()
        document.setTextWidth(max(100, self.case_text.viewport().width()))
        needed = int(document.size().height()) + 2 * self.case_text.frameWidth() + 8
        self.case_text.setMaximumHeight(min(needed, int(self.height() * 0.4)))

    def _show_state(self) -> None:
        state = self.state
        if state is None:
            return
        total = len(self.session.case_ids)
        self.position_label.setText(f"Case {state.position + 1} of {total}")
        ruled = self._ruled_positions
        if ruled is None:
            ruled = {s.position for s in self.ws.calibration.states(self.session.id) if s.ruling}
            self._ruled_positions = ruled
        if state.ruling is not None:  # rulings are given on the case on screen
            ruled.add(state.position)
        else:
            ruled.discard(state.position)
        self.progress.set_progress(total, state.position, frozenset(ruled))
        self.voted_label.setText(f"{state.voted} of {state.participants} voted")
        self.voters_label.setText(self._voters_text(state))
        self.chart.set_state(state, self._labels)
        revealed = state.revealed
        if revealed is None:
            self.votes_label.setText("Votes stay hidden until the reveal.")
        else:
            self.votes_label.setText(
                "\n".join(
                    f"{v.voter}: {v.label} — {_sections(v.citations)}" for v in revealed.votes
                )
                or "Nobody voted."
            )
        ruling = state.ruling
        self.ruling_label.setVisible(ruling is not None)
        if ruling is not None:
            self.ruling_label.setText(f"Ruling: {ruling.label} — {_sections(ruling.citations)}")
        else:
            self.ruling_label.setText("")

    def _voters_text(self, state: CalibrationCaseState) -> str:
        voted = set(state.voters)
        people = list(enumerate(self.session.participants, 1))
        if self.session.anonymous:
            done = [f"participant {i}" for i, p in people if p.name in voted]
            waiting = [f"participant {i}" for i, p in people if p.name not in voted]
        else:
            done = [p.name for _, p in people if p.name in voted]
            waiting = [p.name for _, p in people if p.name not in voted]
        lines = [f"Voted: {', '.join(done) or 'nobody yet'}"]
        if waiting:
            lines.append(f"Waiting for: {', '.join(waiting)}")
        return "\n".join(lines)

    def _tick(self) -> None:
        seconds = self._elapsed.elapsed() // 1000 if self._elapsed.isValid() else 0
        self.timer_label.setText(f"Time on case {seconds // 60}:{seconds % 60:02d}")

    def _on_rendered(self, rendered: Rendered) -> None:
        if self.case is not None and rendered.case_id == self.case.id:
            self.media.set_rendered(rendered)

    def _end_room_reveal(self) -> None:
        """Blur again and keep the local reviewer's unblurred time of the room's showing."""
        if self._room_case is None:
            return
        self._room_case = None
        self.media.set_revealed(False)
        span = self._meter.stop_reveal()
        if span is not None:
            self.ws.wellbeing.record_exposure(None, span)

    def hideEvent(self, event: QHideEvent) -> None:
        """Hidden, the laptop stops telling it of changes: read the rulings again on return."""
        self._ruled_positions = None
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._end_room_reveal()
        self._ticker.stop()
        self.renderer.shutdown()
        super().closeEvent(event)
