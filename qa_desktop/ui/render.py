"""Rendering cases for display off the GUI thread, with an in-memory cache for prefetch.

A worker decodes a case's media at display size (an image, or a storyboard grid of a
video's keyframes), applies grayscale, and blurs by downscale-blur-upscale. The media
store is encrypted: core decrypts into memory. The sharp and blurred results are QImages
held in memory only: nothing here ever writes to disk.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ..core.api import (
    Case,
    FilterSettings,
    MediaError,
    MediaFile,
    StoredMedia,
    apply_filters,
    decode_image_for_display,
    resize_to_fit,
    revealed_filters,
    storyboard,
)

DISPLAY_MAX_SIDE = 1600
"""Images and video frames are shown no larger than this on their long side: enough for a
laptop or a shared screen. The one display limit (video_player.py imports it)."""

STORYBOARD_TILES = 9

RENDER_CACHE_BYTES = 64 * 1024 * 1024
"""What finished renders (sharp and blurred QImages) may hold in memory together: about
five 1600x1200 images: the case on screen, the three prefetched ahead and the one behind."""
DECODED_CACHE_BYTES = 8 * 1024 * 1024
"""What decoded (sharp) pictures kept to re-filter without decoding again may hold."""

OpenMedia = Callable[[MediaFile], StoredMedia]
"""How a worker gets a case's media from the store (``ws.queue.open_media``: no database,
safe in any thread)."""


ViewSettings = FilterSettings
"""How a case's content is protected on screen (blur kind and level, colour, fade...)."""


@dataclass(frozen=True)
class Rendered:
    """A case's visual content at display size: sharp (for reveal) and blurred, or an error."""

    case_id: str
    settings: ViewSettings
    sharp: QImage | None = None
    blurred: QImage | None = None
    error: str = ""
    keyframe_times: tuple[float, ...] = ()
    """For a video's storyboard: the time of each tile, in seconds."""


def rendered_bytes(rendered: Rendered) -> int:
    """The memory a render's pictures take."""
    return sum(int(i.sizeInBytes()) for i in (rendered.sharp, rendered.blurred) if i is not None)


def decoded_bytes(decoded: Decoded) -> int:
    """The memory a decoded case's pictures take."""
    return sum(int(f.nbytes) for f in decoded.frames)


def to_qimage(rgb: np.ndarray) -> QImage:
    """Copy an RGB uint8 array into a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """An RGB uint8 array copied from a QImage (used by tests and measurements)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


TILE_COLUMNS = 3
TILE_W = 480
TILE_GAP = 6


def tile_grid(
    images: list[np.ndarray], columns: int = TILE_COLUMNS, tile_w: int = TILE_W
) -> np.ndarray:
    """Lay ``images`` out left to right in a grid of equal tiles on a dark background."""
    if not images:
        raise ValueError("no images to lay out")
    tile_h = max(1, round(tile_w * 9 / 16))
    rows = -(-len(images) // columns)
    gap = TILE_GAP
    grid = np.full(
        (rows * tile_h + (rows + 1) * gap, columns * tile_w + (columns + 1) * gap, 3),
        24,
        dtype=np.uint8,
    )
    for i, img in enumerate(images):
        fitted = resize_to_fit(img, tile_w, tile_h)
        fh, fw = fitted.shape[:2]
        r, c = divmod(i, columns)
        y = gap + r * (tile_h + gap) + (tile_h - fh) // 2
        x = gap + c * (tile_w + gap) + (tile_w - fw) // 2
        grid[y : y + fh, x : x + fw] = fitted
    return grid


def tile_at(x: float, y: float, count: int) -> int | None:
    """The storyboard tile under a point given as fractions (0-1) of the grid's size."""
    tile_h = round(TILE_W * 9 / 16)
    rows = -(-count // TILE_COLUMNS)
    width = TILE_COLUMNS * TILE_W + (TILE_COLUMNS + 1) * TILE_GAP
    height = rows * tile_h + (rows + 1) * TILE_GAP
    col = int(x * width) // (TILE_W + TILE_GAP)
    row = int(y * height) // (tile_h + TILE_GAP)
    index = row * TILE_COLUMNS + col
    return index if 0 <= col < TILE_COLUMNS and 0 <= index < count else None


@dataclass(frozen=True)
class Decoded:
    """A case's visual content, sharp, in memory: one image or a video's keyframes."""

    frames: list[np.ndarray]
    times: tuple[float, ...] = ()


def decode_for_display(case: Case, open_media: OpenMedia) -> Decoded | None:
    """The case's visual content as sharp RGB arrays; None for a text-only case."""
    if case.content_type == "text" or not case.media:
        return None
    stored = open_media(case.media[0])
    if case.content_type == "video":
        keyframes = storyboard(stored, count=STORYBOARD_TILES, max_side=480)
        return Decoded([f.image for f in keyframes], tuple(f.time_s for f in keyframes))
    return Decoded([decode_image_for_display(stored, DISPLAY_MAX_SIDE)])


def protect(
    frames: list[np.ndarray], settings: ViewSettings, grid: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the case's filters: (what reveal shows, what is shown).

    A reveal shows the original without blur, but in the colour filters the case is under
    (grayscale, sepia), see :func:`~qa_desktop.core.api.revealed_filters`. Storyboard tiles
    are filtered one by one, so tiles never bleed into each other.
    """
    blurred = [apply_filters(f, settings) for f in frames]
    if settings.grayscale or settings.sepia:
        frames = [apply_filters(f, revealed_filters(settings)) for f in frames]
    if grid:
        return tile_grid(frames), tile_grid(blurred)
    return frames[0], blurred[0]


def render_case(
    case: Case, open_media: OpenMedia, settings: ViewSettings, base: Decoded | None
) -> tuple[Rendered, Decoded | None]:
    """Decode (unless ``base`` is given) and protect one case: runs in a worker thread."""
    try:
        if base is None:
            base = decode_for_display(case, open_media)
        if base is None:
            return Rendered(case.id, settings), None
        sharp, blurred = protect(base.frames, settings, grid=case.content_type == "video")
        rendered = Rendered(
            case.id, settings, to_qimage(sharp), to_qimage(blurred), keyframe_times=base.times
        )
        return rendered, base
    except (MediaError, OSError, ValueError) as exc:
        return Rendered(case.id, settings, error=str(exc)), None


class RenderCache(QObject):
    """Renders cases in worker threads and keeps the last few in memory (never on disk).

    ``request(case, settings)`` returns a finished :class:`Rendered` at once when cached,
    else starts a job and emits ``rendered`` when it is done. Both caches are bounded by
    bytes (and by ``capacity`` entries), least recently used first out; the newest entry
    always stays.
    """

    rendered = Signal(object)  # Rendered
    _job_done = Signal(object)  # emitted from a worker, delivered on the GUI thread

    def __init__(
        self,
        open_media: OpenMedia,
        capacity: int = 8,
        parent: QObject | None = None,
        max_bytes: int = RENDER_CACHE_BYTES,
        max_decoded_bytes: int = DECODED_CACHE_BYTES,
    ) -> None:
        super().__init__(parent)
        self.open_media = open_media
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.max_decoded_bytes = max_decoded_bytes
        # Plain Python threads: a QRunnable subclass's lifetime is shared between Python and
        # C++, which crashed under load; a signal carries the result back instead.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="render")
        self._futures: set[Future[None]] = set()
        self._done: OrderedDict[str, Rendered] = OrderedDict()
        self._bases: OrderedDict[str, Decoded] = OrderedDict()
        self._pending: dict[str, ViewSettings] = {}
        self._job_done.connect(self._finished)

    def cached(self, case_id: str, settings: ViewSettings) -> Rendered | None:
        """The finished render of a case with these settings, if in memory."""
        found = self._done.get(case_id)
        if found is not None and (found.settings == settings or found.sharp is None):
            self._done.move_to_end(case_id)
            return found
        return None

    def request(self, case: Case, settings: ViewSettings) -> Rendered | None:
        """Return the render if cached; otherwise start one (unless already under way)."""
        found = self.cached(case.id, settings)
        if found is not None:
            return found
        if self._pending.get(case.id) == settings:
            return None
        self._pending[case.id] = settings
        base = self._bases.get(case.id)
        future = self._pool.submit(self._run, case, settings, base)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return None

    def _run(self, case: Case, settings: ViewSettings, base: Decoded | None) -> None:
        self._job_done.emit(render_case(case, self.open_media, settings, base))

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every started job is done (tests and shutdown); results still need
        the event loop to arrive."""
        _, not_done = futures_wait(list(self._futures), timeout=msecs / 1000)
        return not not_done

    def shutdown(self) -> None:
        """Finish running jobs, drop queued ones, forget everything (leaving the app)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.clear()

    def clear(self) -> None:
        """Forget everything rendered (e.g. when leaving the app)."""
        self._done.clear()
        self._bases.clear()

    def _finished(self, payload: tuple[Rendered, Decoded | None]) -> None:
        result, base = payload
        if self._pending.get(result.case_id) == result.settings:
            del self._pending[result.case_id]
        if base is not None:
            self._bases[result.case_id] = base
            self._bases.move_to_end(result.case_id)
            _bound(self._bases, self.capacity, self.max_decoded_bytes, decoded_bytes)
        self._done[result.case_id] = result
        self._done.move_to_end(result.case_id)
        _bound(self._done, self.capacity, self.max_bytes, rendered_bytes)
        self.rendered.emit(result)

    def cached_bytes(self) -> int:
        """The memory the cached renders and decoded pictures take now."""
        return sum(rendered_bytes(r) for r in self._done.values()) + sum(
            decoded_bytes(d) for d in self._bases.values()
        )


def _bound(
    cache: OrderedDict[str, Any], capacity: int, max_bytes: int, size: Callable[[Any], int]
) -> None:
    """Drop the least recently used entries until ``cache`` fits (the newest always stays)."""
    total = sum(size(v) for v in cache.values())
    while len(cache) > 1 and (len(cache) > capacity or total > max_bytes):
        _, dropped = cache.popitem(last=False)
        total -= size(dropped)
