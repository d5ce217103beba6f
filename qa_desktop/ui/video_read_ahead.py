"""The video player's decode stage: a capture read on its own thread, a few frames ahead.

Decoding and the per-frame step (``video_frame.prepare_frame``) used to run one after the
other on the player's worker; OpenCV leaves the GIL while it decodes and while it resizes, so
on two cores the two stages overlap when each has its own thread. :class:`ReadAhead` owns the
capture once started, decodes into a small bounded buffer (``depth`` frames, BGR, memory
only) and hands the frames out in order::

    ahead = ReadAhead(capture, "clip.mp4")
    ahead.start()
    item = ahead.next()        # (index, bgr), or None at the end of the stream
    ahead.seek(120)            # what was buffered is dropped; next() gives frame 120 on
    ahead.stop()               # never waits; the thread releases the capture as it ends

Only decoded frames wait in the buffer, so a protection change applies to the next frame
processed; a seek drops the buffer and everything decoded for an earlier position, so a
frame from before a seek is never handed out after it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

import cv2
import numpy as np

from ..core.api import MediaError

READ_AHEAD_FRAMES = 3
"""Decoded frames the stage may hold ahead of the player (a 1080p frame is 6 MiB)."""

THREAD_NAME = "video-read"


class Capture(Protocol):
    """What the stage needs of a capture (``core.api.VideoCapture``, ``AnimatedImage``)."""

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def set(self, prop: int, value: float) -> bool: ...

    def release(self) -> None: ...


class ReadAhead:
    """Decodes ``capture`` on its own thread into a buffer of at most ``depth`` frames."""

    def __init__(self, capture: Capture, name: str, depth: int = READ_AHEAD_FRAMES) -> None:
        self.name = name
        self._capture = capture
        self._depth = max(1, int(depth))
        self._cond = threading.Condition()
        # (generation, index, frame or None at the end, error or None); the generation
        # counts seeks, so whatever was decoded for an earlier position is dropped.
        self._buffer: deque[tuple[int, int, np.ndarray | None, BaseException | None]] = deque()
        self._generation = 0
        self._seek_to: int | None = None
        self._next_index = 0
        self._exhausted = False  # the end (or an error) is in the buffer: nothing to decode
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    # -- the consumer's side (the player's worker) -------------------------------------------
    def start(self) -> None:
        """Start decoding from the capture's current position (frame 0 when just opened)."""
        self.thread.start()

    def next(self) -> tuple[int, np.ndarray] | None:
        """The next frame as ``(index, bgr)``, waiting for it to be decoded; None at the end
        of the stream or once stopped. A decode error is raised here, in order."""
        with self._cond:
            while True:
                if self._stopped:
                    return None
                if self._buffer and self._seek_to is None:
                    generation, index, frame, error = self._buffer.popleft()
                    self._cond.notify_all()  # room for one more
                    if generation != self._generation:
                        continue
                    if error is not None:
                        raise error
                    return None if frame is None else (index, frame)
                if self._exhausted and self._seek_to is None:
                    return None  # past the end (or an error): nothing more until a seek
                self._cond.wait()

    def seek(self, index: int) -> None:
        """Make :meth:`next` give the frame at ``index`` and those after it."""
        with self._cond:
            self._generation += 1
            self._seek_to = max(0, int(index))
            self._buffer.clear()
            self._exhausted = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop decoding (any thread; never waits). :meth:`next` returns None from now on,
        and the thread releases the capture when its current decode ends."""
        with self._cond:
            self._stopped = True
            self._buffer.clear()
            self._cond.notify_all()

    @property
    def buffered(self) -> int:
        """Frames decoded and waiting (for tests and measurements)."""
        with self._cond:
            return len(self._buffer)

    # -- the stage's own thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            while self._decode_one():
                pass
        finally:
            self._capture.release()

    def _decode_one(self) -> bool:
        """Wait for room (or a seek), decode one frame into the buffer; False once stopped."""
        with self._cond:
            while not self._stopped and self._seek_to is None:
                if not self._exhausted and len(self._buffer) < self._depth:
                    break
                self._cond.wait()
            if self._stopped:
                return False
            seek_to, self._seek_to = self._seek_to, None
            generation = self._generation
            if seek_to is not None:
                self._next_index = seek_to
            index = self._next_index
        frame: np.ndarray | None = None
        error: BaseException | None = None
        try:  # outside the lock: OpenCV leaves the GIL while it seeks and decodes
            if seek_to is not None:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, seek_to)
            ok, frame = self._capture.read()
            if not ok or frame is None or frame.size == 0:
                frame = None
        except MediaError as exc:
            error = exc
        except Exception as exc:  # nothing may escape a worker thread unseen
            error = MediaError(f"{self.name}: {exc or type(exc).__name__}")
        with self._cond:
            if self._stopped:
                return False
            if generation != self._generation or self._seek_to is not None:
                return True  # decoded for a position nobody wants any more
            self._buffer.append((generation, index, frame, error))
            self._next_index = index + 1
            self._exhausted = frame is None
            self._cond.notify_all()
        return True
