"""Rendering cases for display off the GUI thread, with an in-memory cache for prefetch.

A worker decodes a case's media at display size (an image, or a storyboard grid of a
video's keyframes), applies grayscale, and blurs by downscale-blur-upscale. The media
store is encrypted: core decrypts into memory. The sharp and blurred results are QImages
held in memory only: nothing here ever writes to disk.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from ..core.api import (
    PREVIEW_MAX_SIDE,
    Cancelled,
    Case,
    FilterSettings,
    MediaError,
    MediaFile,
    StoredMedia,
    apply_filters,
    decode_image_for_display,
    resize_to_fit,
    revealed_filters,
    store_preview,
    stored_preview,
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

# A preview (the protected picture shown until the full render is ready) is at most
# PREVIEW_MAX_SIDE large: the image's stored preview (blurred at the strongest level when it
# was imported) under the case's filters, else a JPEG decoded at 1/8 of its size for it.
PREVIEWS_KEPT = 8
BLURRED_MAX_SIDE = 400
"""A Gaussian-blurred image is kept this large (painted enlarged, smoothly): it has no
detail a larger copy would show, and a 1600x1200 one took 5.5 MiB of the render cache for
each case (issue 15: GUI memory)."""


def compact_blur(settings: ViewSettings) -> bool:
    """Whether the protected picture under ``settings`` can be kept small: a Gaussian blur
    without the stylization (pixel blocks and drawn edges need their display size)."""
    return settings.blur_kind == "gaussian" and not settings.reduced_detail


log = logging.getLogger(__name__)

RENDER_THREADS = 2

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
    preview: bool = False
    """A small protected picture shown until the full render arrives: never a sharp one."""


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
COMPACT_TILE_W = TILE_W // 3
"""A blurred storyboard's tiles are kept this wide (see ``BLURRED_MAX_SIDE``)."""


def tile_grid(
    images: list[np.ndarray],
    columns: int = TILE_COLUMNS,
    tile_w: int = TILE_W,
    gap: int = TILE_GAP,
) -> np.ndarray:
    """Lay ``images`` out left to right in a grid of equal tiles on a dark background."""
    if not images:
        raise ValueError("no images to lay out")
    tile_h = max(1, round(tile_w * 9 / 16))
    rows = -(-len(images) // columns)
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
    are filtered one by one, so tiles never bleed into each other. A Gaussian blur of an
    image is made (and kept) at most ``BLURRED_MAX_SIDE`` large and painted enlarged.
    """
    compact = compact_blur(settings)
    side = COMPACT_TILE_W if grid else BLURRED_MAX_SIDE
    sources = [
        resize_to_fit(f, side, side) if compact and max(f.shape[:2]) > side else f for f in frames
    ]
    blurred = [apply_filters(f, settings) for f in sources]
    if settings.grayscale or settings.sepia:
        frames = [apply_filters(f, revealed_filters(settings)) for f in frames]
    if grid:
        if compact:  # the same layout a third the size: painted over the sharp grid
            scale = TILE_W // COMPACT_TILE_W
            return tile_grid(frames), tile_grid(
                blurred, tile_w=COMPACT_TILE_W, gap=TILE_GAP // scale
            )
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


def can_preview(case: Case) -> bool:
    """Whether a quick preview may help: a still image (its stored preview, or for a JPEG
    without one a decode at a reduced DCT scale)."""
    return case.content_type == "image" and bool(case.media)


def _decodes_small(case: Case) -> bool:
    """Whether the image decodes at a reduced size for much less than a full decode: only a
    JPEG does (any other preview without a stored one would cost the full render's decode)."""
    return case.media[0].mime == "image/jpeg"


def preview_case(
    case: Case,
    open_media: OpenMedia,
    settings: ViewSettings,
    cancelled: Callable[[], bool] | None = None,
) -> Rendered | None:
    """A small picture of an image case under its filters (no sharp picture: a preview cannot
    be revealed); None when it cannot be made (the full render reports why) or when
    ``cancelled`` said so during the decode (the reviewer left the case)."""
    preview, store = make_preview(case, open_media, settings, cancelled)
    if store is not None:
        store()
    return preview


def make_preview(
    case: Case,
    open_media: OpenMedia,
    settings: ViewSettings,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[Rendered | None, Callable[[], None] | None]:
    """:func:`preview_case`, and what stores the image's preview when it had none (to call
    once the preview is shown; it writes only the blurred picture, sealed).

    The stored preview (already blurred at the strongest level) costs a tiny decode; without
    one (imported before previews were stored, or damaged) the image is decoded at a reduced
    size, the slow way."""
    store: Callable[[], None] | None = None
    if cancelled is not None and cancelled():
        return None, None
    try:
        stored = open_media(case.media[0])
        try:
            small = stored_preview(stored)
        except MediaError as exc:
            log.warning("case %s: %s", case.id, exc)
            small = None
        if small is None:
            if not _decodes_small(case):
                return None, None
            small = decode_image_for_display(stored, PREVIEW_MAX_SIDE, cancelled=cancelled)
            store = _storer(case.id, stored, small)
        blurred = to_qimage(apply_filters(small, settings))
    except (MediaError, OSError, ValueError, Cancelled):
        return None, None
    return Rendered(case.id, settings, blurred=blurred, preview=True), store


def _storer(case_id: str, stored: StoredMedia, picture: np.ndarray) -> Callable[[], None]:
    def store() -> None:
        try:
            store_preview(stored, picture)
        except (MediaError, OSError, ValueError) as exc:
            log.warning("case %s: its preview was not stored (%s)", case_id, exc)

    return store


class JobKind(StrEnum):
    """What a render job makes."""

    RENDER = "render"
    """The full render: the sharp picture and its protected version."""
    PREVIEW = "preview"
    """A quick protected picture shown until the full render is ready."""


_JobId = tuple[JobKind, str, ViewSettings]


@dataclass
class _Job:
    kind: JobKind
    case: Case
    settings: ViewSettings
    base: Decoded | None
    key: tuple[int, float, int]
    """Lowest first: (minus the request's round, rank within it, arrival)."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set when nobody wants the running job's result any more (a preview of a case left)."""


class _JobQueue:
    """Render jobs taken by priority by a few worker threads (plain Python threads: a
    QRunnable's lifetime shared between Python and C++ crashed under load).

    The case on screen starts a new round; the jobs of the newest round come first, in the
    order of their rank (the preview of the case on screen, then the next case's, then the
    full renders). A job asked for again moves up to its better place.
    """

    def __init__(self, run: Callable[[_Job], None], threads: int) -> None:
        self._run = run
        self._threads_wanted = threads
        self._threads: list[threading.Thread] = []
        self._lock = threading.Condition()
        self._heap: list[tuple[tuple[int, float, int], _JobId]] = []
        self._queued: dict[_JobId, _Job] = {}
        self._running = 0
        self._running_jobs: dict[_JobId, _Job] = {}
        self._stopping = False
        self._held_for: int | None = None
        """While a case opens (:meth:`hold`): the round whose previews alone may start."""

    def put(self, job: _Job, move_only: bool = False) -> None:
        """Queue ``job`` (or move the same queued job up to ``job.key`` if that is sooner);
        ``move_only``: the job was queued before, so if it is no longer queued it is running
        or done and nothing is added."""
        job_id = (job.kind, job.case.id, job.settings)
        with self._lock:
            if self._stopping:
                return
            running = self._running_jobs.get(job_id)
            if running is not None and job.key < running.key:
                running.key = job.key  # asked for in a newer round: still wanted
            queued = self._queued.get(job_id)
            if (queued is None and move_only) or (queued is not None and queued.key <= job.key):
                return
            self._queued[job_id] = job
            heapq.heappush(self._heap, (job.key, job_id))
            if len(self._threads) < self._threads_wanted:
                thread = threading.Thread(target=self._work, name="render", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._lock.notify()

    def _take(self) -> _Job | None:
        with self._lock:
            while not self._stopping and not self._may_start_next():
                self._lock.wait()
            if self._stopping:
                return None
            _, job_id = heapq.heappop(self._heap)
            self._running += 1
            job = self._running_jobs[job_id] = self._queued.pop(job_id)
            return job

    def _may_start_next(self) -> bool:
        """Whether the first job queued may start now (called holding the lock): always,
        unless a case is opening, when only that case's round's previews may."""
        while self._heap:
            key, job_id = self._heap[0]
            job = self._queued.get(job_id)
            if job is None or job.key != key:  # an older place of a moved job
                heapq.heappop(self._heap)
                continue
            return self._held_for is None or (
                job.kind == JobKind.PREVIEW and key[0] == -self._held_for
            )
        return False

    def hold(self, round_: int, keep: str | None = None) -> None:
        """Start only the previews of ``round_`` until :meth:`release`: the case opening
        now has not yet asked for everything (the next case's preview comes before any full
        render). With ``keep`` (the id of the case opening), running previews of earlier
        rounds of any other case are cancelled now, at the key press, so the case opening
        has the threads (and the cores) while the GUI thread reads it."""
        with self._lock:
            self._held_for = round_
            if keep is not None:
                for job in self._running_jobs.values():
                    if job.kind == "preview" and job.key[0] > -round_ and job.case.id != keep:
                        job.cancel.set()

    def release(self, round_: int) -> list[_Job]:
        """End :meth:`hold`, dropping the queued jobs of rounds before ``round_`` (cases
        the reviewer left that were not asked for again) and cancelling such previews
        already running (the case on screen needs the threads); returns the dropped jobs."""
        with self._lock:
            self._held_for = None
            for job in self._running_jobs.values():
                if job.kind == JobKind.PREVIEW and job.key[0] > -round_:
                    job.cancel.set()
            dropped = [job for job in self._queued.values() if job.key[0] > -round_]
            for job in dropped:
                del self._queued[(job.kind, job.case.id, job.settings)]
            self._heap = [(key, job_id) for key, job_id in self._heap if job_id in self._queued]
            heapq.heapify(self._heap)
            self._lock.notify_all()
            return dropped

    def _work(self) -> None:
        while (job := self._take()) is not None:
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running -= 1
                    job_id = (job.kind, job.case.id, job.settings)
                    if self._running_jobs.get(job_id) is job:
                        del self._running_jobs[job_id]
                    self._lock.notify_all()

    def wait(self, timeout_s: float) -> bool:
        """Block until no job is queued or running; False when ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._queued or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def stop(self) -> None:
        """Drop queued jobs, let running ones finish, end the threads."""
        with self._lock:
            self._stopping = True
            self._heap.clear()
            self._queued.clear()
            self._lock.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()


class RenderCache(QObject):
    """Renders cases in worker threads and keeps the last few in memory (never on disk).

    ``request(case, settings)`` returns a finished :class:`Rendered` at once when cached,
    else starts a job and emits ``rendered`` when it is done. With ``preview=True`` a small
    protected picture of a still image is made first (``previewed``; :meth:`preview_of`),
    to show until the full render arrives. Both caches are bounded by bytes (and by
    ``capacity`` entries), least recently used first out; the newest entry always stays.
    """

    rendered = Signal(object)  # Rendered
    previewed = Signal(object)  # Rendered with preview=True
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
        self._jobs = _JobQueue(self._run, RENDER_THREADS)
        self._round = 0
        self._opening = False
        self._arrivals = 0
        self._done: OrderedDict[str, Rendered] = OrderedDict()
        self._bases: OrderedDict[str, Decoded] = OrderedDict()
        self._previews: OrderedDict[str, Rendered] = OrderedDict()
        self._pending: dict[str, ViewSettings] = {}
        self._preview_pending: dict[str, ViewSettings] = {}
        self._job_done.connect(self._finished)

    def cached(self, case_id: str, settings: ViewSettings) -> Rendered | None:
        """The finished render of a case with these settings, if in memory."""
        found = self._done.get(case_id)
        if found is not None and (found.settings == settings or found.sharp is None):
            self._done.move_to_end(case_id)
            return found
        return None

    def preview_of(self, case_id: str, settings: ViewSettings) -> Rendered | None:
        """The preview of a case under these settings, if one was made and is still kept."""
        found = self._previews.get(case_id)
        return found if found is not None and found.settings == settings else None

    def request(
        self, case: Case, settings: ViewSettings, ahead: int = 0, preview: bool = False
    ) -> Rendered | None:
        """Return the render if cached; otherwise start one (unless already under way).

        ``ahead``: 0 for the case on screen (its jobs go before everything asked for
        earlier), 1, 2, ... for the cases prefetched after it, in the same round.
        ``preview``: also make a quick preview first (a still image; the case on screen and
        the next one only)."""
        if ahead == 0 and not self._opening:
            self._round += 1
        found = self.cached(case.id, settings)
        if found is not None:
            return found
        rank = float(max(0, ahead))
        if (
            preview
            and ahead <= 1
            and can_preview(case)
            and self.preview_of(case.id, settings) is None
        ):
            again = self._preview_pending.get(case.id) == settings
            self._preview_pending[case.id] = settings
            self._put(JobKind.PREVIEW, case, settings, None, rank, again)
        again = self._pending.get(case.id) == settings
        self._pending[case.id] = settings
        self._put(JobKind.RENDER, case, settings, self._bases.get(case.id), rank + 1.5, again)
        return None

    @contextlib.contextmanager
    def opening(self, case_id: str | None = None) -> Iterator[None]:
        """A case opens: inside, ask for the case on screen (``ahead=0``) and its
        prefetch. Until the block ends only this round's previews start (the next case's
        preview is not left behind the full renders the threads would have taken first);
        then the queued jobs of earlier rounds not asked for again are dropped, never
        started: the reviewer left those cases (J held down, or pressed twice). With
        ``case_id`` (the case opening) the running previews of other cases are cancelled
        on entry already (the block may read the database first)."""
        self._round += 1
        self._opening = True
        self._jobs.hold(self._round, keep=case_id)
        try:
            yield
        finally:
            self._opening = False
            for job in self._jobs.release(self._round):
                pending = self._preview_pending if job.kind == JobKind.PREVIEW else self._pending
                if pending.get(job.case.id) == job.settings:
                    del pending[job.case.id]

    def _put(
        self,
        kind: JobKind,
        case: Case,
        settings: ViewSettings,
        base: Decoded | None,
        rank: float,
        again: bool,
    ) -> None:
        self._arrivals += 1
        key = (-self._round, rank, self._arrivals)
        self._jobs.put(_Job(kind, case, settings, base, key), move_only=again)

    def _run(self, job: _Job) -> None:
        result: object
        store: Callable[[], None] | None = None
        try:
            if job.kind == JobKind.PREVIEW:
                result, store = make_preview(
                    job.case, self.open_media, job.settings, cancelled=job.cancel.is_set
                )
                if result is None:
                    result = Rendered(job.case.id, job.settings, error="no preview", preview=True)
            else:
                result = render_case(job.case, self.open_media, job.settings, job.base)
        except Exception as exc:  # one escaping a job would end its worker thread for good
            log.exception("rendering case %s failed", job.case.id)
            failed = Rendered(job.case.id, job.settings, error=f"could not be shown: {exc}")
            result = (
                replace(failed, preview=True) if job.kind == JobKind.PREVIEW else (failed, None)
            )
        with contextlib.suppress(RuntimeError):  # the cache's QObject is gone (window closed)
            self._job_done.emit(result)
        if store is not None:
            store()  # after the preview is on its way: a write never delays it

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every started job is done (tests and shutdown); results still need
        the event loop to arrive."""
        return self._jobs.wait(msecs / 1000)

    def shutdown(self) -> None:
        """Finish running jobs, drop queued ones, forget everything (leaving the app)."""
        self._jobs.stop()
        self.clear()

    def clear(self) -> None:
        """Forget everything rendered (e.g. when leaving the app)."""
        self._done.clear()
        self._bases.clear()
        self._previews.clear()

    def _finished(self, payload: object) -> None:
        if isinstance(payload, Rendered):
            self._preview_finished(payload)
            return
        assert isinstance(payload, tuple)
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
        self._previews.pop(result.case_id, None)  # the full render replaces it
        self.rendered.emit(result)

    def _preview_finished(self, preview: Rendered) -> None:
        if self._preview_pending.get(preview.case_id) == preview.settings:
            del self._preview_pending[preview.case_id]
        if preview.error or self.cached(preview.case_id, preview.settings) is not None:
            return  # failed (the full render says why), or too late: the render is here
        self._previews[preview.case_id] = preview
        self._previews.move_to_end(preview.case_id)
        while len(self._previews) > PREVIEWS_KEPT:
            self._previews.popitem(last=False)
        self.previewed.emit(preview)

    def cached_bytes(self) -> int:
        """The memory the cached renders, previews and decoded pictures take now."""
        return (
            sum(rendered_bytes(r) for r in self._done.values())
            + sum(rendered_bytes(r) for r in self._previews.values())
            + sum(decoded_bytes(d) for d in self._bases.values())
        )


def _bound(
    cache: OrderedDict[str, Any], capacity: int, max_bytes: int, size: Callable[[Any], int]
) -> None:
    """Drop the least recently used entries until ``cache`` fits (the newest always stays)."""
    total = sum(size(v) for v in cache.values())
    while len(cache) > 1 and (len(cache) > capacity or total > max_bytes):
        _, dropped = cache.popitem(last=False)
        total -= size(dropped)
