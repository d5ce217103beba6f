"""A video player that shows every frame protected (blurred) unless the reviewer reveals it.

Two worker threads make the frames: one decodes a few frames ahead
(``video_read_ahead.ReadAhead``, which owns the ``cv2.VideoCapture``), the other paces frames
by its own clock at the source rate times the speed (dropping frames rather than lagging),
resizes each frame to display size and protects it; on two cores the two overlap. Both the
sharp and the protected frame stay in memory only; the widget paints the protected one unless
revealed (whole picture or regions)::

    player = VideoPlayer(protect=lambda f: blur(f, 7), default_speed=1.0)
    player.load(path)          # returns at once; the first frame arrives from the worker
    player.play()
    player.set_revealed(True)  # while the reviewer holds the reveal key

Audio (muted by default) comes from a ``QMediaPlayer`` with no video output, following the
video clock. Without QtMultimedia, an audio device or an audio track, the player is silent.

A case's video is encrypted in the media store: the worker reads it through a decrypting,
seekable stream (``core.api.VideoCapture``), and the audio player reads a copy of the
decrypted file held in memory (a ``QBuffer``, filled by the worker after the first frame).
Nothing decrypted is written to disk.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.api import (
    AnimatedImage,
    MediaError,
    MediaSource,
    Region,
    StoredMedia,
    VideoCapture,
    blur,
    is_animated_image,
    reveal_regions,
    video_info,
)
from .overlay import (
    PROTECTED_BADGE,
    REGION_COLOUR,
    REVEALED_BADGE,
    paint_badge,
    paint_drag_outline,
    paint_message,
    paint_reveal_frame,
    region_box,
)
from .render import to_qimage
from .video_frame import FramePictures, Protect, prepare_frame
from .video_read_ahead import ReadAhead

try:  # QtMultimedia is optional: a build or platform without it plays silently.
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
except ImportError:  # pragma: no cover - depends on the installed Qt
    QAudioOutput = None  # type: ignore[assignment,misc]
    QMediaPlayer = None  # type: ignore[assignment,misc]

# Frames are resized to at most DISPLAY_MAX_SIDE (render.py) on their long side before
# protection and painting, like images (video_frame.prepare_frame).

SPEEDS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
MIN_SPEED, MAX_SPEED = SPEEDS[0], SPEEDS[-1]

AUDIO_MAX_DRIFT_S = 0.15
_AUDIO_CHECK_EVERY_S = 0.5
_JOIN_TIMEOUT_S = 3.0
AUDIO_IN_MEMORY_MAX = 512 * 1024 * 1024
"""A stored video up to this size is decrypted into memory for its audio; a larger one plays
silently (its picture is unaffected)."""


def default_protect(frame: np.ndarray) -> np.ndarray:
    """The default protection: a level-5 blur."""
    return blur(frame, 5)


def format_time(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss`` from an hour up) for a time label."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class _Opened:
    session: int
    fps: float
    frame_count: int


@dataclass(frozen=True)
class _Frame:
    """One decoded frame's pictures at display size (memory only), tagged for the GUI."""

    index: int
    time_s: float
    pictures: FramePictures
    seek_serial: int


@dataclass(frozen=True)
class _Command:
    kind: str  # play, pause, seek, step, speed, protect, stop
    value: Any = None
    serial: int = 0


class _Decoder:
    """Paces and protects frames in a Python thread, decoded by its :class:`ReadAhead`;
    talks back through callbacks.

    The callbacks emit signals of the GUI-thread widget, so Qt queues them to the GUI thread.
    Frames are coalesced: when the GUI has not yet taken the previous frame, the newer one
    replaces it, so a slow GUI drops frames instead of falling behind.
    """

    def __init__(
        self,
        source: MediaSource,
        session: int,
        protect: Protect,
        speed: float,
        notify_opened: Callable[[object], None],
        notify_frame: Callable[[int], None],
        notify_ended: Callable[[int], None],
        notify_failed: Callable[[object], None],
        notify_audio: Callable[[object], None] | None = None,
        seek_serial: int = 0,
    ) -> None:
        self.source = source
        self.name = source.name
        self.session = session
        self._notify_audio = notify_audio
        self._protect = protect
        self._reveal: Protect | None = None
        self._want_sharp = False  # make the sharp pictures with every frame (while revealed)
        self._speed = speed
        self._notify_opened = notify_opened
        self._notify_frame = notify_frame
        self._notify_ended = notify_ended
        self._notify_failed = notify_failed
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._mailbox_lock = threading.Lock()
        self._mailbox: _Frame | None = None
        self._stopping = threading.Event()
        self._ahead: ReadAhead | None = None
        self._fps = 25.0
        self._frame_count = 0
        self._index = -1  # the frame last read; the capture returns _index + 1 next
        self._current: _Frame | None = None
        self._playing = False
        self._anchor_time = 0.0
        self._anchor_index = 0
        self._seek_serial = seek_serial  # the player's: frames tagged older are dropped
        self.thread = threading.Thread(target=self._run, name="video-decode", daemon=True)

    # -- GUI thread side ---------------------------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def send(self, kind: str, value: object = None, serial: int = 0) -> None:
        self._commands.put(_Command(kind, value, serial))

    def take_frame(self) -> _Frame | None:
        with self._mailbox_lock:
            frame, self._mailbox = self._mailbox, None
        return frame

    def stop(self, timeout: float = _JOIN_TIMEOUT_S) -> bool:
        """Ask the thread to finish and wait for it (``timeout`` 0: do not wait); True when
        it has ended. A stopped decoder emits nothing more, so nobody has to wait for it."""
        self._stopping.set()
        ahead = self._ahead
        if ahead is not None:  # else open() sees _stopping once it has made it
            ahead.stop()
        self.send("stop")
        if timeout > 0 and self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        return not self.thread.is_alive()

    # -- worker thread side --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self.open()
            self._loop()
        except Exception as exc:  # nothing may escape a worker thread unseen
            self._fail(str(exc) or type(exc).__name__)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the decode stage and wait for it (off the GUI thread: it finishes at most
        the frame it is decoding), so no thread of this video outlives the decoder."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.stop()
            ahead.thread.join(_JOIN_TIMEOUT_S)

    def _fail(self, reason: str) -> None:
        self._playing = False
        self._emit(self._notify_failed, (self.session, reason))

    def _emit(self, notify: Callable[[Any], None], payload: object) -> None:
        if self._stopping.is_set():
            return
        try:
            notify(payload)
        except RuntimeError:
            # The widget is gone (deleted without close_media): nobody is left to show frames.
            self._stopping.set()

    def open(self) -> None:
        """Open the source, start its decode stage and deliver the first frame (the worker
        calls it first; ``benchmarks video_fps`` calls it and then :meth:`read_next`)."""
        capture: VideoCapture | AnimatedImage
        if is_animated_image(self.source):  # animated GIF/WebP play like a video
            capture = AnimatedImage(self.source)
            self._fps, self._frame_count = capture.fps, capture.frame_count
            self._notify_audio = None  # never audio: the GUI stops waiting at the first frame
        else:
            info = video_info(self.source)  # MediaError with a readable reason
            capture = VideoCapture(self.source)  # decrypts as it reads, for stored media
            self._fps = info.fps if 0 < info.fps < 1000 else 25.0
            self._frame_count = info.frame_count
        ahead = ReadAhead(capture, self.name)
        ahead.start()  # from here on only its thread touches the capture, and releases it
        self._ahead = ahead
        if self._stopping.is_set():  # stop() came before there was a stage to stop
            ahead.stop()
        if not self.read_next():
            raise MediaError(f"{self.name}: no frame could be decoded (corrupt or truncated video)")
        self._emit(self._notify_opened, _Opened(self.session, self._fps, self._frame_count))
        self._deliver()
        self._load_audio()

    def _load_audio(self) -> None:
        """For a stored (encrypted) video: decrypt it whole into memory for the audio player."""
        source = self.source
        if self._notify_audio is None or not isinstance(source, StoredMedia):
            return
        if self._notify_audio is None or self._stopping.is_set():
            return
        data: bytes | None = None
        try:
            if source.path.stat().st_size <= AUDIO_IN_MEMORY_MAX:
                data = source.read_bytes()
        except (OSError, ValueError):
            pass  # the picture decides what is wrong with the file; audio stays silent
        self._emit(self._notify_audio, (self.session, data))  # None: no audio to play

    def _loop(self) -> None:
        while not self._stopping.is_set():
            commands = [self._next_command()]
            while True:
                try:
                    commands.append(self._commands.get_nowait())
                except queue.Empty:
                    break
            seek: _Command | None = None
            refilter = False
            for command in commands:
                if command is None:
                    continue
                kind = command.kind
                if kind == "stop":
                    return
                if kind == "play":
                    self._start_playing()
                elif kind == "pause":
                    self._playing = False
                elif kind == "speed":
                    self._speed = float(command.value)
                    self._reanchor()
                elif kind == "protect":
                    self._protect, self._reveal = command.value
                    refilter = True
                elif kind == "sharp":
                    self._want_sharp = bool(command.value)
                elif kind == "seek":
                    seek = command  # while scrubbing, only the latest seek matters
                elif kind == "step_to":
                    seek = None  # the step's target already accounts for earlier seeks
                    self._playing = False
                    self._seek_serial = command.serial
                    self._step_to(int(command.value))
            if seek is not None:
                self._seek_to(seek)
            elif refilter and self._current is not None:
                current = self._current
                self._current = _Frame(
                    current.index,
                    current.time_s,
                    self._prepare(current.pictures.decoded),
                    self._seek_serial,
                )
                self._post(self._current)
            if self._playing and time.monotonic() >= self._due():
                self._advance()

    def _next_command(self) -> _Command | None:
        timeout = max(0.0, self._due() - time.monotonic()) if self._playing else None
        try:
            return self._commands.get(timeout=timeout)
        except queue.Empty:
            return None

    def _rate(self) -> float:
        return self._fps * self._speed

    def _due(self) -> float:
        """When the frame after the current one is due on the playback clock."""
        return self._anchor_time + (self._index + 1 - self._anchor_index) / self._rate()

    def _reanchor(self) -> None:
        self._anchor_time = time.monotonic()
        self._anchor_index = self._index

    def _start_playing(self) -> None:
        if self._frame_count and self._index >= self._frame_count - 1:
            self._seek_index(0)
        self._playing = True
        self._reanchor()

    def _advance(self) -> None:
        elapsed = time.monotonic() - self._anchor_time
        target = max(self._index + 1, self._anchor_index + int(elapsed * self._rate()))
        if self._frame_count and target >= self._frame_count:
            target = self._frame_count - 1
            if target <= self._index:
                self._end()
                return
        skip = target - self._index - 1
        if skip > self._fps:  # far behind (a stall): a seek is cheaper than grabbing through
            self._seek_index(target)
            return
        assert self._ahead is not None
        for _ in range(skip):
            if self._ahead.next() is None:
                self._end()
                return
            self._index += 1
        if not self.read_next():
            self._end()
            return
        self._deliver()

    def _end(self) -> None:
        self._playing = False
        if self._frame_count == 0 or self._index < self._frame_count - 1:
            self._frame_count = self._index + 1  # the file was shorter than it claimed
        self._emit(self._notify_ended, self.session)

    def _step_to(self, index: int) -> None:
        if index == self._index + 1:  # the common case: no seek needed (already decoded)
            if self.read_next():
                self._deliver()
        elif index == self._index:
            if self._current is not None:  # re-tag with the step's serial so it is shown
                self._current = _Frame(
                    self._current.index,
                    self._current.time_s,
                    self._current.pictures,
                    self._seek_serial,
                )
            self._deliver()
        else:
            self._seek_index(index)

    def _seek_to(self, command: _Command) -> None:
        self._seek_serial = command.serial
        self._seek_index(round(float(command.value) * self._fps))

    def _seek_index(self, index: int) -> None:
        last = self._frame_count - 1 if self._frame_count else max(self._index, 0)
        index = max(0, min(index, last))
        assert self._ahead is not None
        self._ahead.seek(index)  # drops the frames decoded ahead of the old position
        self._index = index - 1
        if not self.read_next():
            if self._stopping.is_set():
                return
            # Seeking past what can be decoded: go back to the start rather than show nothing.
            self._ahead.seek(0)
            self._index = -1
            if not self.read_next() and not self._stopping.is_set():
                raise MediaError(f"{self.name}: the video stopped decoding")
        self._deliver()
        if self._playing:
            self._reanchor()

    def read_next(self) -> bool:
        """The player's per-frame step: take the next decoded frame from the decode stage,
        resize and protect it into ``_current``; False at the end (or once stopped)."""
        assert self._ahead is not None
        item = self._ahead.next()
        if item is None:
            return False
        index, bgr = item
        self._index = index
        self._current = _Frame(
            self._index, self._index / self._fps, self._prepare(bgr), self._seek_serial
        )
        return True

    def _prepare(self, decoded: np.ndarray) -> FramePictures:
        return prepare_frame(decoded, self._protect, self._reveal, self._want_sharp)

    def _deliver(self) -> None:
        if self._current is not None:
            self._post(self._current)

    def _post(self, frame: _Frame) -> None:
        with self._mailbox_lock:
            waiting = self._mailbox is not None
            self._mailbox = frame
        if not waiting:
            self._emit(self._notify_frame, self.session)


class _Screen(QWidget):
    """Paints the current frame fitted to the widget, or a message in its place."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.image: QImage | None = None
        self.message = ""
        self.revealed = False
        self.regions: list[Region] = []
        """Revealed regions (fractions of the frame), outlined like on images."""
        self.dragging: QRectF | None = None
        """The region being drawn with Shift+drag, in widget coordinates."""

    def image_rect(self) -> QRectF:
        """Where the frame is painted, in widget coordinates."""
        if self.image is None or self.image.isNull():
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(18, 18, 20))
        if self.message or self.image is None:
            paint_message(painter, self.rect(), self.message, QColor(230, 230, 230))
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        target = self.image_rect()
        painter.drawImage(target, self.image)
        if not self.revealed:
            painter.setPen(QPen(REGION_COLOUR, 2))
            for region in self.regions:
                painter.drawRect(region_box(target, region))
        if self.dragging is not None:
            paint_drag_outline(painter, self.dragging)
        if self.revealed:
            paint_reveal_frame(painter, self.rect())
            text, bg = "REVEALED — release to blur", REVEALED_BADGE
        elif self.regions:
            text, bg = "Blurred — regions revealed", QColor(160, 90, 20, 220)
        else:
            text, bg = "Blurred — hold to reveal", PROTECTED_BADGE
        paint_badge(painter, text, bg)


class VideoPlayer(QWidget):
    """Plays a case's video with every frame protected unless revealed; audio muted by default.

    The widget never takes keyboard focus; the main window binds keys to its slots
    (``toggle_play``, ``step_frame``, ``jump``, ``faster``, ``slower``, ``toggle_mute``).
    """

    position_changed = Signal(float)
    frame_shown = Signal(int)
    failed = Signal(str)
    reveal_changed = Signal(bool)
    ended = Signal()

    # Emitted from the worker thread; connected to methods of this GUI-thread object, so Qt
    # queues them onto the GUI thread.
    _worker_opened = Signal(object)
    _worker_frame = Signal(int)
    _worker_ended = Signal(int)
    _worker_failed = Signal(object)
    _worker_audio = Signal(object)

    def __init__(
        self,
        protect: Protect = default_protect,
        default_speed: float = 1.0,
        jump_seconds: float = 5.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._protect = protect
        self._reveal: Protect | None = None
        self._speed = self._clamp_speed(default_speed)
        self.jump_seconds = float(jump_seconds)
        self._decoder: _Decoder | None = None
        self._session = 0
        self._source: MediaSource | None = None
        self._audio_pending = False  # a stored video's audio: until the worker decrypted it
        self._audio_buffer: QBuffer | None = None
        self._fps = 25.0
        self._frame_count = 0
        self._frame: _Frame | None = None
        self._shown: np.ndarray | None = None
        self._revealed = False
        self._regions: list[Region] = []
        self._playing = False
        self._error = ""
        self._seek_serial = 0
        self._seek_target: float | None = None  # where a seek or step is headed, until shown
        self._muted = True
        self._has_audio = False
        self._audio: QMediaPlayer | None = None
        """The audio player while it plays this video's sound (else None)."""
        self._audio_output: QAudioOutput | None = None
        self._audio_url: QUrl | None = None
        self._shared_audio: tuple[QMediaPlayer, QAudioOutput] | None = None
        self._audio_checked_at = 0.0
        self._scrubbing = False

        self._worker_opened.connect(self._on_opened)
        self._worker_frame.connect(self._on_frame)
        self._worker_ended.connect(self._on_ended)
        self._worker_failed.connect(self._on_failed)
        self._worker_audio.connect(self._on_audio_bytes)
        # If the widget is deleted without close_media(), still stop the thread. The hook
        # holds the decoder box, not self, which is already gone when destroyed fires.
        self._decoder_box: list[_Decoder | None] = [None]
        self.destroyed.connect(_StopOnDestroy(self._decoder_box))

        self._build_ui()
        self._update_controls()

    # -- construction ----------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.screen_view = _Screen(self)
        self.play_button = self._button("Play (L)", "Play / pause", self.toggle_play)
        self.back_button = self._button("", "Jump back", lambda: self.jump(-self.jump_seconds))
        self.forward_button = self._button("", "Jump forward", lambda: self.jump(self.jump_seconds))
        self.time_label = QLabel("0:00 / 0:00", self)
        self.timeline = QSlider(Qt.Orientation.Horizontal, self)
        self.timeline.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timeline.setRange(0, 0)
        self.timeline.valueChanged.connect(self._on_timeline_moved)
        self.timeline.sliderPressed.connect(self._on_scrub_started)
        self.timeline.sliderReleased.connect(self._on_scrub_ended)
        self.speed_label = QLabel(self)
        self.mute_button = self._button(
            "", "Mute / unmute (audio is muted by default)", self.toggle_mute
        )

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 4)
        bar.addWidget(self.back_button)
        bar.addWidget(self.play_button)
        bar.addWidget(self.forward_button)
        bar.addWidget(self.time_label)
        bar.addWidget(self.timeline, 1)
        bar.addWidget(self.speed_label)
        bar.addWidget(self.mute_button)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        for widget in (
            self.play_button,
            self.back_button,
            self.forward_button,
            self.time_label,
            self.speed_label,
            self.mute_button,
        ):
            widget.setFont(font)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.screen_view, 1)
        layout.addLayout(bar)

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    # -- state ------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        """True while the video plays."""
        return self._playing

    @property
    def speed(self) -> float:
        """The playback speed factor (0.5-2)."""
        return self._speed

    @property
    def revealed(self) -> bool:
        """True while the whole sharp picture is shown."""
        return self._revealed

    @property
    def reveal_regions(self) -> list[Region]:
        """The normalized rectangles shown sharp while not fully revealed."""
        return list(self._regions)

    @property
    def muted(self) -> bool:
        """True while audio is muted (the default for every video)."""
        return self._muted

    @property
    def has_audio(self) -> bool:
        """True when the video has an audio track that can be played here."""
        return self._has_audio

    @property
    def error(self) -> str:
        """The message shown when the video cannot be played, else ''."""
        return self._error

    @property
    def fps(self) -> float:
        """The source frame rate (25 when the file does not say)."""
        return self._fps

    @property
    def frame_index(self) -> int:
        """The index of the frame on screen (-1 before the first)."""
        return self._frame.index if self._frame is not None else -1

    @property
    def position_s(self) -> float:
        """Where the frame on screen is in the video, in seconds."""
        return self._frame.time_s if self._frame is not None else 0.0

    @property
    def duration_s(self) -> float:
        """The video's length in seconds (0 until loaded)."""
        return self._frame_count / self._fps if self._frame_count else 0.0

    def current_frame(self) -> np.ndarray | None:
        """The RGB pixels being painted right now (protected unless revealed)."""
        return self._shown

    # -- loading --------------------------------------------------------------------------------
    def load(self, source: MediaSource) -> None:
        """Start playing nothing yet: open ``source`` (a case's stored video, or a plain file)
        in the worker and show its first frame.

        Returns at once. A file that cannot be played shows a message and emits ``failed``.
        Every load starts blurred, paused and muted.
        """
        self.close_media()
        self._session += 1
        self._source = source if isinstance(source, StoredMedia) else Path(source)
        self._muted = True
        self._set_message("Loading video…")
        self._decoder = _Decoder(
            self._source,
            self._session,
            self._protect,
            self._speed,
            self._worker_opened.emit,
            self._worker_frame.emit,
            self._worker_ended.emit,
            self._worker_failed.emit,
            self._worker_audio.emit,
            seek_serial=self._seek_serial,
        )
        self._decoder_box[0] = self._decoder
        if self._reveal is not None:
            self._decoder.send("protect", (self._protect, self._reveal))
        self._decoder.start()
        if isinstance(self._source, Path):
            self._start_audio(QUrl.fromLocalFile(str(self._source)))
        else:
            self._audio_pending = self._source.mime.startswith("video/")
        # a stored video's audio starts when the worker has decrypted it (_on_audio_bytes)

    def close_media(self, wait: bool = False) -> None:
        """Stop playback, stop the worker thread and forget the frames (they were never on
        disk); the player shows nothing until the next ``load``.

        Returns at once (a case change never waits for a decoder busy with a frame): the
        old worker finishes its frame, emits nothing more and releases its file by itself.
        ``wait``: also wait for it to end (closing the widget, leaving the app)."""
        decoder, self._decoder = self._decoder, None
        self._decoder_box[0] = None
        if decoder is not None:
            decoder.stop(timeout=_JOIN_TIMEOUT_S if wait else 0)
        self._stop_audio()
        self._audio_pending = False
        self._session += 1  # anything still queued from the old worker is ignored
        self._playing = False
        self._frame = None
        self._shown = None
        self._error = ""
        self._seek_target = None
        self._frame_count = 0
        self._has_audio = False
        self._regions = []
        self.set_revealed(False)
        self.screen_view.image = None
        self._set_message("")
        self._update_controls()

    @property
    def worker_alive(self) -> bool:
        """True while a decoding thread is running (for tests and shutdown checks)."""
        return self._decoder is not None and self._decoder.thread.is_alive()

    @property
    def frames_decoded_ahead(self) -> int:
        """Frames the decode stage holds ahead of the one on screen (for tests)."""
        decoder = self._decoder
        ahead = decoder._ahead if decoder is not None else None
        return ahead.buffered if ahead is not None else 0

    # -- transport ----------------------------------------------------------------------------
    def play(self) -> None:
        """Play from the current frame (from the start when at the end)."""
        if self._decoder is None or self._frame is None or self._error:
            return
        self._playing = True
        self._decoder.send("play")
        if self._frame_count and self._frame.index >= self._frame_count - 1:
            self._sync_audio(0.0, force=True)
        else:
            self._sync_audio(self.position_s, force=True)
        self._update_controls()

    def pause(self) -> None:
        """Pause on the current frame."""
        if self._decoder is not None:
            self._decoder.send("pause")
        self._playing = False
        self._pause_audio()
        self._update_controls()

    def toggle_play(self) -> None:
        """Play when paused, pause when playing."""
        self.pause() if self._playing else self.play()

    def seek(self, seconds: float) -> None:
        """Show the frame at ``seconds`` (clamped to the video); playback continues if playing."""
        if self._decoder is None or self._error:
            return
        seconds = max(0.0, float(seconds))
        if self._frame_count:
            seconds = min(seconds, (self._frame_count - 1) / self._fps)
        self._seek_serial += 1
        self._seek_target = seconds
        self._decoder.send("seek", seconds, self._seek_serial)
        self._sync_audio(seconds, force=True)

    def step_frame(self, frames: int = 1) -> None:
        """Pause and move ``frames`` frames forward (negative: back) from the frame on screen."""
        if self._decoder is None or self._error or self._frame is None or frames == 0:
            return
        if self._playing:
            self.pause()
        if self._seek_target is not None:
            base = round(self._seek_target * self._fps)
        else:
            base = self._frame.index
        target = max(0, base + int(frames))
        if self._frame_count:
            target = min(target, self._frame_count - 1)
        # Counted from what the reviewer sees: frames still in flight from playback are stale.
        self._seek_serial += 1
        self._seek_target = target / self._fps
        self._decoder.send("step_to", target, self._seek_serial)
        self._sync_audio(self._seek_target, force=True)

    def jump(self, seconds: float) -> None:
        """Seek ``seconds`` forward (negative: back) from where the video is."""
        base = self._seek_target if self._seek_target is not None else self.position_s
        self.seek(base + seconds)

    def set_jump_seconds(self, seconds: float) -> None:
        """How far the jump buttons move (seconds, positive)."""
        self.jump_seconds = abs(float(seconds)) or 5.0
        self._update_controls()

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` times the source rate, clamped to 0.5-2."""
        self._speed = self._clamp_speed(speed)
        if self._decoder is not None:
            self._decoder.send("speed", self._speed)
        if self._audio is not None:
            self._audio.setPlaybackRate(self._speed)
        self._update_controls()

    def faster(self) -> None:
        """The next speed step up."""
        self.set_speed(next((s for s in SPEEDS if s > self._speed + 1e-6), MAX_SPEED))

    def slower(self) -> None:
        """The next speed step down."""
        self.set_speed(next((s for s in reversed(SPEEDS) if s < self._speed - 1e-6), MIN_SPEED))

    @staticmethod
    def _clamp_speed(speed: float) -> float:
        return max(MIN_SPEED, min(MAX_SPEED, float(speed)))

    # -- protection -----------------------------------------------------------------------------
    def set_revealed(self, revealed: bool) -> None:
        """Show the sharp picture (True) or the protected one (False)."""
        revealed = bool(revealed) and self._frame is not None and not self._error
        if revealed != self._revealed:
            self._revealed = revealed
            self._want_sharp()
            self._refresh_picture()
            self.reveal_changed.emit(revealed)

    def set_reveal_regions(self, regions: list[Region]) -> None:
        """Show sharp pixels only inside these normalized (x, y, w, h) rectangles."""
        self._regions = [tuple(float(v) for v in r) for r in regions]  # type: ignore[misc]
        self._want_sharp()
        self._refresh_picture()

    def _want_sharp(self) -> None:
        """Have the worker make the sharp picture with every frame while something shows it
        (the frame already on screen makes its own on first use)."""
        if self._decoder is not None:
            self._decoder.send("sharp", self._revealed or bool(self._regions))

    def set_protect(self, protect: Protect, reveal: Protect | None = None) -> None:
        """Use another protection filter, from the frame on screen on; ``reveal`` is what a
        reveal still applies (the case's colour filters), None for the decoded frame."""
        self._protect = protect
        self._reveal = reveal
        if self._decoder is not None:
            self._decoder.send("protect", (protect, reveal))

    # -- audio -----------------------------------------------------------------------------
    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the audio (unmuting is always an explicit act)."""
        self._muted = bool(muted)
        if self._audio_output is not None:  # the shared output: muted while no video sounds
            self._audio_output.setMuted(self._muted or self._audio is None)
        self._update_controls()

    def toggle_mute(self) -> None:
        """Unmute when muted, mute when not."""
        self.set_muted(not self._muted)

    def _on_audio_bytes(self, payload: tuple[int, bytes | None]) -> None:
        session, data = payload
        if session != self._session:
            return
        self._audio_pending = False
        if data is None or self._error or not isinstance(self._source, StoredMedia):
            self._update_controls()
            return
        buffer = QBuffer(self)
        buffer.setData(QByteArray(data))  # memory only
        del data
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self._audio_buffer = buffer
        self._start_audio(QUrl(self._source.name), buffer)

    def _audio_player(self) -> tuple[QMediaPlayer, QAudioOutput] | None:
        """The widget's one audio player and output, made on first use and kept for every
        later video (setting one up per case cost the GUI thread each case change)."""
        if QMediaPlayer is None or QAudioOutput is None:
            return None
        if self._shared_audio is None:
            output = QAudioOutput(self)
            output.setMuted(True)
            player = QMediaPlayer(self)
            player.setAudioOutput(output)  # and no video output: audio only
            player.mediaStatusChanged.connect(self._on_audio_status)
            player.errorOccurred.connect(self._on_audio_error)
            self._shared_audio = (player, output)
        return self._shared_audio

    def _start_audio(self, url: QUrl, device: QIODevice | None = None) -> None:
        try:
            shared = self._audio_player()
            if shared is None:
                return
            player, output = shared
            output.setMuted(True)
            player.setPlaybackRate(self._speed)
            self._audio, self._audio_output, self._audio_url = player, output, url
            if device is None:
                player.setSource(url)
            else:
                player.setSourceDevice(device, url)  # the url only hints at the format
        except Exception:  # a broken multimedia backend must not stop the video
            self._stop_audio()

    def _stop_audio(self) -> None:
        """Stop this video's audio and let go of its source (the player stays for the next)."""
        player, output = self._audio, self._audio_output
        self._audio = None
        self._audio_url = None
        self._has_audio = False
        if output is not None:
            output.setMuted(True)
        if player is not None:
            try:
                player.stop()
                player.setSource(QUrl())
            except RuntimeError:  # the player is gone with its widget
                pass
        buffer, self._audio_buffer = self._audio_buffer, None
        if buffer is not None:
            buffer.close()
            buffer.setData(QByteArray())
            buffer.deleteLater()

    def _current_audio(self) -> QMediaPlayer | None:
        """This video's audio player, when the player's source is still this video's (a
        status of an earlier source that arrives late is none of this video's business)."""
        player = self._audio
        if player is None or self._audio_url is None or player.source() != self._audio_url:
            return None
        if self._audio_buffer is not None and player.sourceDevice() is not self._audio_buffer:
            return None
        return player

    def _on_audio_status(self, status: object) -> None:
        player = self._current_audio()
        if player is None or QMediaPlayer is None:
            return
        if status == QMediaPlayer.MediaStatus.LoadedMedia:
            if not player.hasAudio():
                self._stop_audio()  # nothing to hear: do not keep a decoder busy
            else:
                self._has_audio = True
                if player.hasVideo():
                    player.setActiveVideoTrack(-1)  # the video is ours to decode
                if self._audio_output is not None:
                    self._audio_output.setMuted(self._muted)
                if self._playing:
                    self._sync_audio(self.position_s, force=True)
            self._update_controls()
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._stop_audio()
            self._update_controls()

    def _on_audio_error(self, *args: object) -> None:
        if self._current_audio() is None:
            return
        self._stop_audio()
        self._update_controls()

    def _sync_audio(self, seconds: float, force: bool = False) -> None:
        """Keep the audio on the video clock: same position, rate and play state."""
        player = self._audio
        if player is None or not self._has_audio:
            return
        now = time.monotonic()
        if not force and now - self._audio_checked_at < _AUDIO_CHECK_EVERY_S:
            return
        self._audio_checked_at = now
        target_ms = int(seconds * 1000)
        if force or abs(player.position() - target_ms) > AUDIO_MAX_DRIFT_S * 1000:
            player.setPosition(target_ms)
        if abs(player.playbackRate() - self._speed) > 1e-3:
            player.setPlaybackRate(self._speed)
        playing = player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        if self._playing and not playing:
            player.play()
        elif not self._playing and playing:
            player.pause()

    def _pause_audio(self) -> None:
        if self._audio is not None and self._has_audio:
            self._audio.pause()

    # -- from the worker (GUI thread, queued) -------------------------------------------------
    def _on_opened(self, opened: _Opened) -> None:
        if opened.session != self._session:
            return
        self._fps = opened.fps
        self._frame_count = opened.frame_count
        self._set_message("")
        self._update_controls()

    def _on_frame(self, session: int) -> None:
        decoder = self._decoder
        if session != self._session or decoder is None:
            return
        frame = decoder.take_frame()
        if frame is None or frame.seek_serial < self._seek_serial:
            return  # decoded before the latest seek: stale
        self._frame = frame
        if frame.seek_serial == self._seek_serial:
            self._seek_target = None
        if self._frame_count and frame.index >= self._frame_count:
            self._frame_count = frame.index + 1
        self._refresh_picture()
        self._update_position()
        if self._playing:
            self._sync_audio(frame.time_s)
        self.frame_shown.emit(frame.index)
        self.position_changed.emit(frame.time_s)

    def _on_ended(self, session: int) -> None:
        if session != self._session:
            return
        if self._frame is not None:
            self._frame_count = max(self._frame.index + 1, 1)
        self._playing = False
        self._pause_audio()
        self._update_controls()
        self.ended.emit()

    def _on_failed(self, payload: tuple[int, str]) -> None:
        session, reason = payload
        if session != self._session:
            return
        self._error = f"Cannot play this video: {reason}"
        self._playing = False
        self._frame = None
        self._shown = None
        self.screen_view.image = None
        self._stop_audio()
        self.set_revealed(False)
        self._set_message(self._error)
        self._update_controls()
        self.failed.emit(self._error)

    # -- painting and controls -------------------------------------------------------------------
    def _refresh_picture(self) -> None:
        frame = self._frame
        if frame is None:
            self._shown = None
            self.screen_view.image = None
        else:
            pictures = frame.pictures
            if self._revealed:
                shown = pictures.revealed
                image = to_qimage(shown)
            elif self._regions:
                shown = reveal_regions(pictures.protected, pictures.revealed, self._regions)
                image = to_qimage(shown)
            else:
                shown, image = pictures.protected, pictures.protected_image  # made by the worker
            self._shown = shown
            self.screen_view.image = image
        self.screen_view.revealed = self._revealed
        self.screen_view.regions = list(self._regions)
        self.screen_view.update()

    def _set_message(self, message: str) -> None:
        self.screen_view.message = message
        self.screen_view.update()

    def _update_position(self) -> None:
        self.time_label.setText(f"{format_time(self.position_s)} / {format_time(self.duration_s)}")
        if not self._scrubbing:
            self.timeline.blockSignals(True)
            self.timeline.setRange(0, int(self.duration_s * 1000))
            self.timeline.setValue(int(self.position_s * 1000))
            self.timeline.blockSignals(False)

    def _update_controls(self) -> None:
        ready = self._decoder is not None and not self._error
        # Plain words and the fonts' own arrows: emoji media symbols are missing from the
        # fonts of many Linux desktops and would show as empty boxes.
        self.play_button.setText("Pause (L)" if self._playing else "Play (L)")
        jump = f"{self.jump_seconds:g} s"
        self.back_button.setText(f"← {jump}")
        self.forward_button.setText(f"{jump} →")
        self.speed_label.setText(f"{self._speed:g}×")
        text = "Muted (M)" if self._muted else "Sound on (M)"
        if ready and self._audio is None and not self._has_audio and not self._audio_pending:
            text += " (no audio)"  # probed (or no QtMultimedia): nothing to hear
        self.mute_button.setText(text)
        for widget in (self.play_button, self.back_button, self.forward_button, self.timeline):
            widget.setEnabled(ready)
        self._update_position()

    def _on_timeline_moved(self, value: int) -> None:
        self.seek(value / 1000)

    def _on_scrub_started(self) -> None:
        self._scrubbing = True

    def _on_scrub_ended(self) -> None:
        self._scrubbing = False
        self.seek(self.timeline.value() / 1000)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_media(wait=True)
        super().closeEvent(event)


class _StopOnDestroy:
    """Stops whatever decoder is in ``box`` when the widget is destroyed (GUI thread)."""

    def __init__(self, box: list[_Decoder | None]) -> None:
        self._box = box

    def __call__(self, *args: object) -> None:
        decoder = self._box[0]
        if decoder is not None:
            decoder.stop(timeout=0.5)
