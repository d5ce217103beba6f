"""The player's per-frame step: a decoded frame made into what is painted (memory only).

:func:`prepare_frame` is the one function the video player's worker calls for every frame
(and the one ``python -m benchmarks video_fps`` times): from the decoded BGR frame to the
protected picture at display size and the QImage the screen paints. The sharp picture (for a
reveal) is made only when something shows it::

    pictures = prepare_frame(bgr, FilterProtect(settings), reveal=None)
    painter.drawImage(target, pictures.protected_image)
    pictures.sharp              # made on first use, then kept with the frame

A :class:`FilterProtect` (the case's filter settings) is protected straight from the decoded
frame by ``core.api.protect_frame`` (the blur works on a tiny picture whose size the display
size sets, so it hides as much as a blur of the display-size picture); any other protect
callable gets the display-size RGB picture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ..core.api import FilterSettings, apply_filters, display_frame, protect_frame
from .render import DISPLAY_MAX_SIDE, to_qimage

Protect = Callable[[np.ndarray], np.ndarray]


class FilterProtect:
    """A protection given by filter settings: callable like any protect (on a display-size
    RGB picture), and known to :func:`prepare_frame`, which takes the fast path for it."""

    def __init__(self, settings: FilterSettings) -> None:
        self.settings = settings

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` under the filters."""
        return apply_filters(rgb, self.settings)


class FramePictures:
    """One decoded frame's pictures at display size; the sharp ones are made on first use."""

    def __init__(
        self,
        decoded: np.ndarray,
        protected: np.ndarray,
        reveal: Protect | None,
        sharp: np.ndarray | None = None,
        max_side: int = DISPLAY_MAX_SIDE,
    ) -> None:
        self.decoded = decoded
        """The frame as decoded (BGR, full size): kept to make the sharp picture or to
        protect it again under other filters."""
        self.protected = protected
        self.protected_image: QImage = to_qimage(protected)
        self._reveal = reveal
        self._sharp = sharp
        self._revealed: np.ndarray | None = None
        self._max_side = max_side
        self._lock = threading.Lock()

    @property
    def has_sharp(self) -> bool:
        """True once the sharp picture has been made."""
        return self._sharp is not None

    @property
    def sharp(self) -> np.ndarray:
        """The frame at display size, unprotected (RGB)."""
        with self._lock:
            if self._sharp is None:
                self._sharp = display_frame(self.decoded, self._max_side, self._max_side)
            return self._sharp

    @property
    def revealed(self) -> np.ndarray:
        """What a reveal shows: the sharp picture under the case's colour filters, if any."""
        sharp = self.sharp
        if self._reveal is None:
            return sharp
        with self._lock:
            if self._revealed is None:
                self._revealed = np.ascontiguousarray(self._reveal(sharp))
            return self._revealed

    def make_sharp(self) -> None:
        """Make the sharp (and revealed) pictures now, e.g. in the worker while revealed."""
        self.revealed  # noqa: B018 - the property makes and keeps them


def prepare_frame(
    decoded: np.ndarray,
    protect: Protect,
    reveal: Protect | None = None,
    want_sharp: bool = False,
    max_side: int = DISPLAY_MAX_SIDE,
) -> FramePictures:
    """The player's step for one decoded frame: protect it at display size, make the
    QImage the screen paints, and (``want_sharp``) the sharp pictures a reveal shows."""
    if isinstance(protect, FilterProtect):
        protected = protect_frame(decoded, protect.settings, max_side, max_side)
        pictures = FramePictures(decoded, protected, reveal, max_side=max_side)
    else:
        sharp = display_frame(decoded, max_side, max_side)
        protected = np.ascontiguousarray(protect(sharp))
        if protected.shape != sharp.shape:  # a filter that changed the size: paint it in place
            height, width = sharp.shape[:2]
            protected = cv2.resize(protected, (width, height), interpolation=cv2.INTER_LINEAR)
        pictures = FramePictures(decoded, protected, reveal, sharp, max_side=max_side)
    if want_sharp:
        pictures.make_sharp()
    return pictures
