"""Decoding and protective filters for case media, in memory only (Pillow, OpenCV; no Qt).

Every array here is RGB uint8, height x width x 3. Nothing in this module writes pixels
to disk: decoded, revealed or blurred content lives in memory and is gone with it::

    sharp = decode_image_for_display(stored, 1600) # reduced JPEG decode, EXIF-rotated
    shown = blur(sharp, 5)                         # downscale, blur, upscale
    frames = storyboard(stored_video, count=9)     # keyframes at scene changes

A media source is a :class:`~.media_store.StoredMedia` (a case's file in the encrypted
store, decrypted into memory: images whole, videos through a seekable stream) or a plain
``Path`` (files outside the store: tests, benchmarks, a batch being made).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .errors import CancelCheck, Cancelled, QADesktopError
from .media_store import StoredMedia
from .sealed_files import SealedFileError, SealedReader
from .vocab import BlurKind

MediaSource = Path | StoredMedia
"""A case's file in the encrypted store, or a plain file."""

MAX_IMAGE_PIXELS = 100_000_000
"""Images larger than this are refused as probable decompression bombs."""

MAX_BLUR_LEVEL = 10

# At blur level 1 the image is shrunk to at most this many pixels on its long side before
# blurring; each level above divides it further. Small enough that even level 1 hides detail.
_LEVEL_ONE_SIDE = 192


class MediaError(QADesktopError, ValueError):
    """Media that cannot be decoded or shown; the message says what is wrong."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself."""

    width: int
    height: int
    fps: float
    frame_count: int

    @property
    def duration_s(self) -> float:
        """Length in seconds (0 when the frame rate is unknown)."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass(frozen=True)
class Keyframe:
    """One storyboard frame: where it is in the video, and its pixels (sharp, in memory)."""

    index: int
    time_s: float
    image: np.ndarray


def fit_size(width: int, height: int, max_w: int, max_h: int) -> tuple[int, int]:
    """The largest size with the aspect of ``width`` x ``height`` that fits the box."""
    if width <= 0 or height <= 0:
        raise ValueError(f"bad size {width}x{height}")
    scale = min(max_w / width, max_h / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_to_fit(img: np.ndarray, max_w: int, max_h: int) -> np.ndarray:
    """``img`` scaled (up or down, aspect kept) to fit ``max_w`` x ``max_h``."""
    h, w = img.shape[:2]
    new_w, new_h = fit_size(w, h, max_w, max_h)
    if (new_w, new_h) == (w, h):
        return img
    interpolation = cv2.INTER_AREA if new_w < w else cv2.INTER_LINEAR
    return cv2.resize(img, (new_w, new_h), interpolation=interpolation)


def media_name(source: MediaSource) -> str:
    """The name messages use for a media source: the case's file name for stored media."""
    return source.name


def _damaged(name: str, error: SealedFileError) -> MediaError:
    return MediaError(
        f"{name}: the stored file is damaged or was altered, so it is not shown "
        f"({str(error).partition(': ')[2] or error})"
    )


class _CancellableFile(io.BytesIO):
    """Bytes in memory whose every read first asks whether the work was cancelled: Pillow
    decodes a picture a block (64 KiB) at a time, so a decode stops within a block."""

    def __init__(self, data: bytes, cancelled: CancelCheck) -> None:
        super().__init__(data)
        self._cancelled = cancelled

    def read(self, size: int | None = -1) -> bytes:
        if self._cancelled():
            raise Cancelled("the picture is no longer wanted")
        return super().read(size)


def _open_image(
    source: MediaSource, max_pixels: int, cancelled: CancelCheck | None = None
) -> Image.Image:
    name = media_name(source)
    try:
        # A stored image is decrypted (and authenticated) whole into memory, then decoded.
        file: io.BytesIO | Path
        if cancelled is not None:
            file = _CancellableFile(source.read_bytes(), cancelled)
        elif isinstance(source, StoredMedia):
            file = io.BytesIO(source.read_bytes())
        else:
            file = source
        with warnings.catch_warnings():
            # Our own limit below decides; Pillow's warning threshold is lower than it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(file)
    except SealedFileError as exc:
        raise _damaged(name, exc) from exc
    except FileNotFoundError as exc:
        raise MediaError(f"{name}: the media file is missing from the store") from exc
    except UnidentifiedImageError as exc:
        raise MediaError(f"{name}: not an image format this app can read") from exc
    except Image.DecompressionBombError as exc:
        raise MediaError(f"{name}: image is too large to decode safely") from exc
    except OSError as exc:
        raise MediaError(f"{name}: cannot read ({exc})") from exc
    w, h = image.size
    if w * h > max_pixels:
        image.close()
        raise MediaError(
            f"{name}: image is {w}x{h} = {w * h / 1e6:.0f} megapixels, over the "
            f"limit of {max_pixels / 1e6:.0f} (a possible decompression bomb)"
        )
    return image


def _to_rgb_array(image: Image.Image, name: str) -> np.ndarray:
    try:
        return _rgb_of(ImageOps.exif_transpose(image))
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{name}: the image data is corrupt or truncated ({exc})") from exc


def _rgb_of(image: Image.Image) -> np.ndarray:
    """An image as it stands (no EXIF turn) as an RGB array; transparency on dark grey."""
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGBA") if "A" in image.getbands() else image.convert("RGB")
    if image.mode == "RGBA":
        # Composite transparency on dark grey rather than showing arbitrary hidden pixels.
        background = Image.new("RGB", image.size, (32, 32, 32))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    if image.mode != "RGB":
        image = image.convert("RGB")  # (converting an RGB image would only copy it)
    return np.array(image, dtype=np.uint8)


def decode_image(source: MediaSource, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode a whole image at full size (first frame of an animation)."""
    with _open_image(source, max_pixels) as image:
        return _to_rgb_array(image, media_name(source))


def decode_image_for_display(
    source: MediaSource,
    max_side: int,
    max_pixels: int = MAX_IMAGE_PIXELS,
    cancelled: CancelCheck | None = None,
) -> np.ndarray:
    """Decode an image no larger than ``max_side`` on its long side.

    JPEGs are decoded at a reduced DCT scale (Pillow's ``draft``), so a 4000x3000 photo
    costs a fraction of a full decode. With ``cancelled``, the decode stops soon after it
    returns True, raising :class:`Cancelled` (Pillow decodes block by block; OpenCV's
    faster path for a large picture cannot stop, so it is not taken).
    """
    with _open_image(source, max_pixels, cancelled) as image:
        w, h = image.size
        fast = _decode_jpeg_scaled(image, max_side) if cancelled is None else None
        if fast is not None:
            rgb = fast
        else:
            if max(w, h) > max_side and image.format == "JPEG":
                image.draft("RGB", fit_size(w, h, max_side, max_side))
            rgb = _to_rgb_array(image, media_name(source))
    h, w = rgb.shape[:2]
    if max(w, h) > max_side:
        # after the DCT scale, at most a halving or two and a bilinear step (issue 15: an
        # area resize by 0.8 cost a quarter of a not-prefetched next case)
        rgb = _shrink_to_fit(rgb, max_side, max_side)
    return rgb


_REDUCED_FLAGS = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4),
                  (2, cv2.IMREAD_REDUCED_COLOR_2))  # fmt: skip
_JPEG_END = b"\xff\xd9"


def _decode_jpeg_scaled(image: Image.Image, max_side: int) -> np.ndarray | None:
    """A whole, plain (RGB or grey) JPEG decoded by OpenCV straight into an array at the
    smallest DCT scale still at least the display size (EXIF orientation applied), as RGB.

    Pillow's path cost three times the decode: its array export copies the picture twice
    (issue 15: a not-prefetched next case). None for anything else, or when OpenCV cannot
    decode it: then Pillow decodes, and says what is wrong."""
    fp = getattr(image, "fp", None)  # the open file of an ImageFile (a JPEG is one)
    if image.format != "JPEG" or image.mode not in ("RGB", "L") or fp is None:
        return None
    fp.seek(0)
    data = fp.read()
    if not data.rstrip(b"\0").endswith(_JPEG_END):
        return None  # truncated: Pillow says so
    w, h = image.size
    tw, th = fit_size(w, h, max_side, max_side) if max(w, h) > max_side else (w, h)
    flags = next((f for k, f in _REDUCED_FLAGS if w // k >= tw and h // k >= th), cv2.IMREAD_COLOR)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if bgr is None or bgr.ndim != 3:
        return None
    return cv2.cvtColor(_shrink_to_fit(bgr, max_side, max_side), cv2.COLOR_BGR2RGB)


def _shrink_to_fit(img: np.ndarray, max_w: int, max_h: int) -> np.ndarray:
    """``img`` scaled down to fit: exact halvings (area), then one bilinear step by less
    than half, which looks like an area resize at that ratio for a fraction of its cost."""
    h, w = img.shape[:2]
    out_w, out_h = fit_size(w, h, min(w, max_w), min(h, max_h))
    while img.shape[1] >= 2 * out_w and img.shape[0] >= 2 * out_h:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (img.shape[1], img.shape[0]) == (out_w, out_h):
        return img
    return cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_LINEAR)


def shrink(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """``img`` averaged down to ``width`` x ``height``: exact halvings first (OpenCV's cheap
    kind of area averaging), then one area step. Much faster than one ``INTER_AREA`` resize
    by an odd factor, with the same look."""
    while img.shape[1] >= 2 * width and img.shape[0] >= 2 * height:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (img.shape[1], img.shape[0]) == (width, height):
        return img
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def _blur_side(level: int, width: int, height: int) -> int:
    """The long side a level-``level`` blur of a ``width`` x ``height`` picture works at."""
    return max(6, min(_LEVEL_ONE_SIDE // level, max(width, height) // 4))


def _blur_small(small: np.ndarray, level: int) -> np.ndarray:
    sigma = 1.0 + level * 0.25
    return cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def _pixel_blocks(level: int, width: int, height: int) -> int:
    return max(4, min(96 // level, max(width, height) // 2))


def blur(img: np.ndarray, level: int) -> np.ndarray:
    """A strongly blurred copy of ``img``: downscale, Gaussian blur, upscale.

    ``level`` runs from 1 (lightest, still hides detail) to 10 (shapes and colours only).
    """
    level = max(1, min(MAX_BLUR_LEVEL, int(level)))
    h, w = img.shape[:2]
    side = _blur_side(level, w, h)
    small = shrink(img, *fit_size(w, h, side, side))
    return cv2.resize(_blur_small(small, level), (w, h), interpolation=cv2.INTER_LINEAR)


def pixelate(img: np.ndarray, level: int) -> np.ndarray:
    """A copy of ``img`` made of coarse blocks; more levels, bigger blocks."""
    level = max(1, min(MAX_BLUR_LEVEL, int(level)))
    h, w = img.shape[:2]
    blocks = _pixel_blocks(level, w, h)
    small = shrink(img, *fit_size(w, h, blocks, blocks))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def grayscale(img: np.ndarray) -> np.ndarray:
    """A grey copy of ``img``, still three channels so it paints like the original."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def high_frequency_energy(img: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey image: fine detail, which blurring removes."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    return float(np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)).mean())


PREVIEW_MAX_SIDE = 400
"""A preview (the protected picture shown until a case's full render is ready) is shown at
most this large on its long side."""
PREVIEW_BLUR_LEVEL = MAX_BLUR_LEVEL
"""A stored preview is blurred this strongly: the strongest blur the app has."""
_PREVIEW_SIZE_KEY = "qa-desktop-preview-size"
_ORIENTATION = 0x0112
_SWAPS_SIDES = (5, 6, 7, 8)
_EXIF_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""How a picture is turned for its EXIF orientation (as ``ImageOps.exif_transpose`` does)."""
_REDUCIBLE_MODES = ("RGB", "L", "RGBA", "LA")


def preview_size(width: int, height: int) -> tuple[int, int]:
    """The size a picture of ``width`` x ``height`` is previewed at."""
    if max(width, height) <= PREVIEW_MAX_SIDE:
        return width, height
    return fit_size(width, height, PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE)


def encode_preview(rgb: np.ndarray, width: int, height: int) -> bytes:
    """The stored preview of a picture shown ``width`` x ``height`` (``rgb`` is that picture
    at any size), as PNG bytes: the picture under the strongest blur at its preview size,
    kept at the small size that blur works at (its bilinear enlargement, which
    :func:`decode_preview` makes, is ``blur(picture, PREVIEW_BLUR_LEVEL)``), naming the
    preview size. Only this blurred picture is ever stored."""
    out_w, out_h = preview_size(width, height)
    side = min(_blur_side(PREVIEW_BLUR_LEVEL, out_w, out_h), max(out_w, out_h))
    small = shrink(rgb, *fit_size(out_w, out_h, side, side))
    blurred = _blur_small(np.ascontiguousarray(small), PREVIEW_BLUR_LEVEL)
    info = PngImagePlugin.PngInfo()
    info.add_text(_PREVIEW_SIZE_KEY, f"{out_w}x{out_h}")
    out = io.BytesIO()
    Image.fromarray(blurred).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def encode_image_preview(image: Image.Image, width: int, height: int) -> bytes:
    """:func:`encode_preview` of a decoded Pillow image whose file says it is ``width`` x
    ``height`` (before its EXIF orientation; the image may be decoded smaller, as a JPEG at a
    reduced DCT scale): the import makes it from the decode that checks the file."""
    orientation = image.getexif().get(_ORIENTATION, 1)
    if orientation in _SWAPS_SIDES:
        width, height = height, width
    # A box average down to a few times the blur's working size first (what a bigger picture
    # adds is blurred away), then the EXIF orientation on that small picture: converting the
    # whole image to an array cost more than the rest of its check (issue 15, import_media).
    factor = max(image.size) // (4 * _LEVEL_ONE_SIDE // PREVIEW_BLUR_LEVEL)
    if factor > 1 and image.mode in _REDUCIBLE_MODES:
        image = image.reduce(factor)
    turn = _EXIF_TURNS.get(orientation)
    if turn is not None:
        image = image.transpose(turn)
    return encode_preview(_rgb_of(image), width, height)


def decode_preview(data: bytes, name: str) -> np.ndarray:
    """A stored preview (:func:`encode_preview`) as RGB at its preview size; a
    :class:`MediaError` naming ``name`` when ``data`` is not one."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            text = getattr(image, "text", {}).get(_PREVIEW_SIZE_KEY, "")
            width, _, height = text.partition("x")
            out_w, out_h = int(width), int(height)
            if not (0 < out_w <= PREVIEW_MAX_SIDE and 0 < out_h <= PREVIEW_MAX_SIDE):
                raise ValueError(f"preview size {text!r}")
            if image.mode != "RGB" or image.width > out_w or image.height > out_h:
                raise ValueError(f"a {image.mode} picture of {image.width}x{image.height}")
            small = np.asarray(image)
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{name}: the stored preview is not readable ({exc})") from exc
    return cv2.resize(small, (out_w, out_h), interpolation=cv2.INTER_LINEAR)


def stored_preview(source: StoredMedia) -> np.ndarray | None:
    """A stored media file's preview (:func:`decode_preview`); None when it has none, a
    :class:`MediaError` when it is damaged or was altered."""
    try:
        data = source.read_preview()
    except SealedFileError as exc:
        raise _damaged(f"{source.name} (preview)", exc) from exc
    except OSError as exc:
        raise MediaError(f"{source.name}: cannot read its preview ({exc})") from exc
    return None if data is None else decode_preview(data, source.name)


def store_preview(source: StoredMedia, picture: np.ndarray) -> None:
    """Store the preview of a stored image (``picture``: it as decoded for its preview, in
    memory; what is written is :func:`encode_preview`'s blurred picture, sealed)."""
    height, width = picture.shape[:2]
    source.write_preview(encode_preview(picture, width, height))


class VideoCapture:
    """A ``cv2.VideoCapture`` of a media source: for stored media, OpenCV reads a decrypting
    stream (``cv2.VideoCapture(stream, CAP_FFMPEG, [])``, OpenCV >= 4.10) with random
    access, so seeking decrypts only the chunks it lands on.

    Only what storyboards and the player use: ``read``, ``grab``, ``retrieve``, ``set``,
    ``get``, ``isOpened``, ``release``. A stored file that fails its authentication check
    mid-way raises :class:`MediaError` instead of looking like the end of the video.
    """

    def __init__(self, source: MediaSource) -> None:
        self.name = media_name(source)
        self._reader: SealedReader | None = None
        path = source.path if isinstance(source, StoredMedia) else source
        if not path.is_file():
            raise MediaError(f"{self.name}: the media file is missing from the store")
        if path.stat().st_size == 0:
            raise MediaError(f"{self.name}: the video file is empty (0 bytes)")
        if isinstance(source, StoredMedia):
            try:
                # quiet: an exception raised inside OpenCV's read callback kills the process
                self._reader = source.open(quiet=True)
            except SealedFileError as exc:
                raise _damaged(self.name, exc) from exc
            # The stubs say IStreamReader; at run time any io.BufferedIOBase is taken.
            try:
                self._capture = cv2.VideoCapture(self._reader, cv2.CAP_FFMPEG, [])  # type: ignore[call-overload]
            except cv2.error as exc:  # an OpenCV before 4.10, which cannot read a stream
                self._reader.close()
                raise MediaError(
                    f"{self.name}: this OpenCV ({cv2.__version__}) cannot play encrypted "
                    "videos; version 4.10 or later is needed"
                ) from exc
        else:
            self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            self.release()
            self._check()
            raise MediaError(f"{self.name}: not a video format this app can play")

    def _check(self) -> None:
        if self._reader is not None and self._reader.error is not None:
            raise _damaged(self.name, self._reader.error)

    def isOpened(self) -> bool:
        """True while the video is open."""
        return bool(self._capture.isOpened())

    def grab(self) -> bool:
        """Decode the next frame without converting it; False at the end."""
        ok = bool(self._capture.grab())
        if not ok:
            self._check()
        return ok

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        """The frame last grabbed, as BGR."""
        ok, frame = self._capture.retrieve()
        return bool(ok), frame

    def read(self) -> tuple[bool, np.ndarray | None]:
        """The next frame as BGR, or ``(False, None)`` at the end."""
        ok, frame = self._capture.read()
        if not ok:
            self._check()
        return bool(ok), frame if ok else None

    def set(self, prop: int, value: float) -> bool:
        """Set a capture property (the frame position, to seek)."""
        ok = bool(self._capture.set(prop, value))
        if not ok:
            self._check()
        return ok

    def get(self, prop: int) -> float:
        """A capture property, as OpenCV reports it."""
        return float(self._capture.get(prop))

    def release(self) -> None:
        """Close the video (and its decrypting stream)."""
        self._capture.release()
        if self._reader is not None:
            self._reader.close()


def _open_video(source: MediaSource) -> VideoCapture:
    return VideoCapture(source)


def video_info(source: MediaSource) -> VideoInfo:
    """Size, frame rate and frame count of a video; :class:`MediaError` if unreadable."""
    capture = _open_video(source)
    try:
        info = VideoInfo(
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
            frame_count=max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
        )
    finally:
        capture.release()
    if info.width <= 0 or info.height <= 0:
        raise MediaError(f"{media_name(source)}: the video has no picture")
    return info


def _scene_signature(frame_bgr: np.ndarray) -> np.ndarray:
    tiny = cv2.resize(frame_bgr, (32, 18), interpolation=cv2.INTER_AREA)
    return tiny.astype(np.int16)


SEEK_COST_FRAMES = 24
"""About what one seek costs, in sequential frame decodes: OpenCV seeks to a keyframe at
least 16 frames before the target and decodes forward from there."""

_STORYBOARD_DECODE_SHARE = 4
"""A long video's storyboard aims to cost at most 1/4 of decoding every frame."""


def storyboard(source: MediaSource, count: int = 9, max_side: int = 480) -> list[Keyframe]:
    """Up to ``count`` keyframes: the first frame, the strongest scene changes, then even fill.

    Short videos are read once, front to back, sampling every few frames. Long ones (where
    skipping ahead is cheaper than reading through) are sampled by seeking to evenly spaced
    frames, fewer of them, so a storyboard costs a fraction of a full decode. Only sampled
    frames are converted and kept, at ``max_side``.
    """
    capture = _open_video(source)
    try:
        info = _capture_info(capture)
        positions = _seek_positions(info.frame_count, count)
        if positions is None:
            sampled = _sample_sequentially(capture, info.frame_count, count, max_side)
        else:
            sampled = _sample_by_seeking(capture, positions, max_side)
    finally:
        capture.release()
    if not sampled:
        raise MediaError(f"{capture.name}: no frame could be decoded (corrupt or truncated video)")
    fps = info.fps if info.fps > 0 else 25.0
    chosen = _choose_keyframes(sampled, count)
    return [Keyframe(i, i / fps, img) for i, _, img in chosen]


def _capture_info(capture: VideoCapture) -> VideoInfo:
    info = VideoInfo(
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        fps=float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
        frame_count=max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
    )
    if info.width <= 0 or info.height <= 0:
        raise MediaError(f"{capture.name}: the video has no picture")
    return info


def _seek_positions(frame_count: int, count: int) -> list[int] | None:
    """Frames to seek to, evenly spaced from the first; None when reading through is cheaper.

    As many samples as fit a budget of 1/4 of a full decode, between ``2 * count`` and
    ``8 * count``.
    """
    if frame_count <= 0:
        return None
    most = max(count * 8, 1)
    if frame_count // most <= SEEK_COST_FRAMES:
        return None
    affordable = frame_count // (_STORYBOARD_DECODE_SHARE * SEEK_COST_FRAMES)
    samples = max(count * 2, min(most, affordable), 2)
    last = frame_count - 1
    return sorted({round(j * last / (samples - 1)) for j in range(samples)})


_Sample = tuple[int, float, np.ndarray]  # (frame index, change score, small RGB frame)


def _sample_sequentially(
    capture: VideoCapture, frame_count: int, count: int, max_side: int
) -> list[_Sample]:
    samples_wanted = max(count * 8, 1)
    step = max(1, frame_count // samples_wanted) if frame_count else 1
    sampled: list[_Sample] = []
    previous: np.ndarray | None = None
    index = 0
    while capture.grab():
        if index % step == 0:
            ok, frame = capture.retrieve()
            if ok and frame is not None:
                previous = _add_sample(sampled, index, frame, previous, max_side)
        index += 1
    return sampled


def _sample_by_seeking(capture: VideoCapture, positions: list[int], max_side: int) -> list[_Sample]:
    sampled: list[_Sample] = []
    previous: np.ndarray | None = None
    for position in positions:
        if position > 0 and not capture.set(cv2.CAP_PROP_POS_FRAMES, position):
            break
        ok, frame = capture.read()
        if not ok or frame is None:
            break  # a truncated file: keep what was read
        previous = _add_sample(sampled, position, frame, previous, max_side)
    return sampled


def _add_sample(
    sampled: list[_Sample],
    index: int,
    frame_bgr: np.ndarray,
    previous: np.ndarray | None,
    max_side: int,
) -> np.ndarray:
    """Append a sampled frame with its change from the previous sample; returns its signature."""
    signature = _scene_signature(frame_bgr)
    score = float("inf") if previous is None else float(np.abs(signature - previous).mean())
    small = resize_to_fit(frame_bgr, max_side, max_side)
    sampled.append((index, score, cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
    return signature


_SCENE_CHANGE = 12.0
"""Mean absolute change of a tiny frame signature (0-255) that counts as a new scene."""


def _choose_keyframes(
    sampled: list[tuple[int, float, np.ndarray]], count: int
) -> list[tuple[int, float, np.ndarray]]:
    by_change = sorted(range(len(sampled)), key=lambda k: sampled[k][1], reverse=True)
    picked = [k for k in by_change if sampled[k][1] >= _SCENE_CHANGE][:count]
    if len(picked) < count:
        # Fill with evenly spaced samples, skipping ones already picked.
        remaining = [k for k in range(len(sampled)) if k not in set(picked)]
        need = min(count - len(picked), len(remaining))
        if need > 0:
            spacing = len(remaining) / need
            picked += [remaining[int(j * spacing)] for j in range(need)]
    return [sampled[k] for k in sorted(set(picked))]


# -- wellbeing filters (issue 3) ---------------------------------------------------------

BLUR_KINDS = (BlurKind.GAUSSIAN, BlurKind.PIXELATE, BlurKind.NONE)
"""How :func:`apply_filters` obscures detail: Gaussian blur, coarse blocks, or not at all."""

DEFAULT_BACKGROUND = (30, 30, 34)
"""The dark grey a fully transparent image fades into (the viewer's background)."""

# Classic sepia tone matrix (rows give output R, G, B from input R, G, B).
_SEPIA = np.array(
    [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float32
)

# Reduced detail works on an image this size on its long side: level 1 -> 480, level 10 -> 320.
_DETAIL_SIDE_MAX = 480
_DETAIL_SIDE_MIN = 320
_DETAIL_KMEANS_SAMPLES = 6000
_DETAIL_KMEANS_ROUNDS = 6


def sepia(img: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """A sepia-toned copy of ``img``; ``strength`` 0 keeps the colours, 1 is full sepia."""
    s = float(np.clip(strength, 0.0, 1.0))
    matrix = (1.0 - s) * np.eye(3, dtype=np.float32) + s * _SEPIA
    return cv2.transform(img, matrix)  # saturates to 0..255 for uint8


def transparency(
    img: np.ndarray, level: float, background: tuple[int, int, int] = DEFAULT_BACKGROUND
) -> np.ndarray:
    """``img`` faded toward ``background``: ``level`` 0 leaves it, 1 makes it invisible."""
    alpha = float(np.clip(level, 0.0, 1.0))
    if alpha == 0.0:
        return img.copy()
    backdrop = np.empty_like(img)
    backdrop[:] = np.asarray(background, dtype=np.uint8)
    if alpha == 1.0:
        return backdrop
    return cv2.addWeighted(img, 1.0 - alpha, backdrop, alpha, 0.0)


def reduced_detail(img: np.ndarray, level: int = 5, edges: bool = True) -> np.ndarray:
    """An illustration-like copy of ``img`` (after Besançon et al., "Hiding the gory details").

    The image is shrunk to 320-480 px on its long side, smoothed while keeping edges
    (median, then bilateral), reduced to a few flat colours (k-means), optionally outlined
    with dark edge lines, and scaled back. Shapes and layout stay readable; texture, skin,
    wounds and fine detail do not. ``level`` 1-10: higher is smaller and fewer colours.
    """
    level = max(1, min(MAX_BLUR_LEVEL, int(level)))
    h, w = img.shape[:2]
    side = _DETAIL_SIDE_MAX - (level - 1) * (_DETAIL_SIDE_MAX - _DETAIL_SIDE_MIN) // 9
    small = resize_to_fit(img, side, side) if max(w, h) > side else img.copy()
    small = cv2.medianBlur(small, 5)
    small = cv2.bilateralFilter(small, 9, 60, 7)
    flat = _quantize_colours(small, colours=max(4, 12 - level))
    if edges:
        flat = _draw_edge_lines(flat, small)
    return cv2.resize(flat, (w, h), interpolation=cv2.INTER_LINEAR)


def _quantize_colours(img: np.ndarray, colours: int) -> np.ndarray:
    """``img`` with every pixel replaced by the nearest of ``colours`` k-means centres.

    Deterministic: the centres start at luminance quantiles of a fixed subsample.
    """
    pixels = img.reshape(-1, 3).astype(np.float32)
    stride = max(1, len(pixels) // _DETAIL_KMEANS_SAMPLES)
    sample = pixels[::stride]
    order = np.argsort(sample @ np.array([0.299, 0.587, 0.114], dtype=np.float32))
    picks = order[np.linspace(0, len(order) - 1, colours).astype(int)]
    centres = sample[picks].copy()
    for _ in range(_DETAIL_KMEANS_ROUNDS):
        labels = _nearest_centre(sample, centres)
        for k in range(colours):
            members = sample[labels == k]
            if len(members):
                centres[k] = members.mean(axis=0)
    labels = _nearest_centre(pixels, centres)
    result: np.ndarray = centres.round().astype(np.uint8)[labels].reshape(img.shape)
    return result


def _nearest_centre(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2; |p|^2 is the same for every centre.
    scores = points @ (-2.0 * centres.T) + (centres * centres).sum(axis=1)
    nearest: np.ndarray = scores.argmin(axis=1)
    return nearest


def _draw_edge_lines(flat: np.ndarray, smoothed: np.ndarray) -> np.ndarray:
    """``flat`` with the strong edges of ``smoothed`` drawn as dark lines."""
    gray = cv2.cvtColor(smoothed, cv2.COLOR_RGB2GRAY)
    lines = cv2.Canny(gray, 60, 150) > 0
    out = flat.copy()
    out[lines] = (out[lines] * 0.35).astype(np.uint8)
    return out


@dataclass(frozen=True)
class FilterSettings:
    """What protects an image on screen; :func:`apply_filters` applies it.

    ``blur_kind`` is one of :data:`BLUR_KINDS`; ``blur_level`` 1-10; ``transparency``
    0-1 (1 = invisible).
    """

    blur_kind: str = "gaussian"
    blur_level: int = 5
    grayscale: bool = False
    sepia: bool = False
    transparency: float = 0.0
    reduced_detail: bool = False


def apply_filters(img: np.ndarray, settings: FilterSettings) -> np.ndarray:
    """``img`` with every filter in ``settings`` applied, in this order.

    1. reduced detail (the stylization needs the sharp image to find its edges),
    2. colour: grayscale, then sepia (both: a sepia-toned grey),
    3. blur or pixelate (last of the shape filters, so nothing re-sharpens it),
    4. transparency (a fade toward the background, over the final picture).

    The input is never modified; the result is always a new array.
    """
    out = img
    if settings.reduced_detail:
        out = reduced_detail(out, max(1, settings.blur_level))
    if settings.grayscale:
        out = grayscale(out)
    if settings.sepia:
        out = sepia(out)
    if settings.blur_kind == "gaussian":
        out = blur(out, settings.blur_level)
    elif settings.blur_kind == "pixelate":
        out = pixelate(out, settings.blur_level)
    if settings.transparency > 0:
        out = transparency(out, settings.transparency)
    return out.copy() if out is img else out


def display_frame(frame_bgr: np.ndarray, max_w: int, max_h: int) -> np.ndarray:
    """A decoded (BGR or grey) video frame as sharp RGB no larger than ``max_w`` x ``max_h``.

    Resized before the colour conversion, so the conversion runs on the smaller picture; a
    shrink by less than half is bilinear (area averaging by an odd factor costs several times
    a decode and looks the same at these ratios).
    """
    img = _shrink_to_fit(frame_bgr, max_w, max_h)
    code = cv2.COLOR_GRAY2RGB if img.ndim == 2 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(img, code)


def protect_frame(
    frame_bgr: np.ndarray, settings: FilterSettings, max_w: int, max_h: int
) -> np.ndarray:
    """A decoded video frame protected as :func:`apply_filters` protects its display-size
    picture (``display_frame(frame_bgr, max_w, max_h)``), for a fraction of the work.

    Blur and pixelate work on a tiny picture whose size is set by the display size (so the
    strength relative to what is shown is the same): the frame is averaged straight down to
    it, the colour filters run on it, and only the result is scaled up to the display size.
    Reduced detail needs the sharp picture's edges and takes the full path. Returns a new
    C-contiguous RGB array of the display size.
    """
    h, w = frame_bgr.shape[:2]
    out_w, out_h = fit_size(w, h, min(w, max_w), min(h, max_h))
    level = max(1, min(MAX_BLUR_LEVEL, int(settings.blur_level)))
    if settings.reduced_detail or settings.blur_kind not in ("gaussian", "pixelate"):
        return np.ascontiguousarray(apply_filters(display_frame(frame_bgr, max_w, max_h), settings))
    if settings.blur_kind == "gaussian":
        side = _blur_side(level, out_w, out_h)
    else:
        side = _pixel_blocks(level, out_w, out_h)
    small = shrink(frame_bgr, *fit_size(w, h, side, side))
    small = cv2.cvtColor(small, cv2.COLOR_GRAY2RGB if small.ndim == 2 else cv2.COLOR_BGR2RGB)
    if settings.grayscale:
        small = grayscale(small)
    if settings.sepia:
        small = sepia(small)
    if settings.blur_kind == "gaussian":
        out = cv2.resize(_blur_small(small, level), (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    else:
        out = cv2.resize(small, (out_w, out_h), interpolation=cv2.INTER_NEAREST)
    if settings.transparency > 0:
        out = transparency(out, settings.transparency)
    return np.ascontiguousarray(out)


Region = tuple[float, float, float, float]
"""A normalized rectangle: x, y, width, height, each a share (0-1) of the image."""


def region_pixels(region: Region, width: int, height: int) -> tuple[int, int, int, int]:
    """The pixel box ``(x0, y0, x1, y1)`` a normalized region covers, clipped to the image."""
    x, y, w, h = (float(v) for v in region)
    x0 = int(np.clip(np.floor(x * width), 0, width))
    y0 = int(np.clip(np.floor(y * height), 0, height))
    x1 = int(np.clip(np.ceil((x + max(0.0, w)) * width), x0, width))
    y1 = int(np.clip(np.ceil((y + max(0.0, h)) * height), y0, height))
    return x0, y0, x1, y1


def reveal_regions(
    protected: np.ndarray, sharp: np.ndarray, regions: list[Region] | tuple[Region, ...]
) -> np.ndarray:
    """A copy of ``protected`` with the ``sharp`` pixels pasted inside each region.

    Pixels outside every region are exactly those of ``protected``.
    """
    if protected.shape != sharp.shape:
        raise ValueError(f"shapes differ: {protected.shape} vs {sharp.shape}")
    out = protected.copy()
    height, width = protected.shape[:2]
    for region in regions:
        x0, y0, x1, y1 = region_pixels(region, width, height)
        out[y0:y1, x0:x1] = sharp[y0:y1, x0:x1]
    return out


def revealed_fraction(regions: list[Region] | tuple[Region, ...], width: int, height: int) -> float:
    """The share (0-1) of a ``width`` x ``height`` image that the regions reveal (overlaps once)."""
    if width <= 0 or height <= 0:
        return 0.0
    mask = np.zeros((height, width), dtype=bool)
    for region in regions:
        x0, y0, x1, y1 = region_pixels(region, width, height)
        mask[y0:y1, x0:x1] = True
    return float(mask.mean())


def blur_frame(frame_bgr: np.ndarray, level: int, max_w: int, max_h: int) -> np.ndarray:
    """A decoded video frame as the player paints it: blurred, RGB, at most ``max_w`` x ``max_h``.

    The same look as ``blur(resize_to_fit(rgb, ...), level)`` for much less work per frame:
    the frame goes straight down to the blur size (by exact halvings, the cheap kind of area
    averaging), colour is converted on that tiny image, and only the result is scaled up to
    the display size (never above the frame's own size). Returns a C-contiguous array.
    """
    level = max(1, min(MAX_BLUR_LEVEL, int(level)))
    h, w = frame_bgr.shape[:2]
    out_w, out_h = fit_size(w, h, min(w, max_w), min(h, max_h))
    small_side = max(6, min(_LEVEL_ONE_SIDE // level, max(out_w, out_h) // 4))
    small_w, small_h = fit_size(w, h, small_side, small_side)
    small = frame_bgr
    while small.shape[1] >= 4 * small_w and small.shape[0] >= 4 * small_h:
        half = (small.shape[1] // 2, small.shape[0] // 2)
        small = cv2.resize(small, half, interpolation=cv2.INTER_AREA)
    small = cv2.resize(small, (small_w, small_h), interpolation=cv2.INTER_AREA)
    small = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    sigma = 1.0 + level * 0.25
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    return np.ascontiguousarray(cv2.resize(small, (out_w, out_h), interpolation=cv2.INTER_LINEAR))


_MAY_BE_ANIMATED = ("image/gif", "image/webp", "image/png")


def is_animated_image(source: MediaSource) -> bool:
    """True for an image file with more than one frame (animated GIF, WebP or PNG)."""
    if isinstance(source, StoredMedia) and source.mime not in _MAY_BE_ANIMATED:
        return False  # never decrypt a whole file only to ask Pillow what its type says
    try:
        with _open_image(source, MAX_IMAGE_PIXELS) as image:
            return bool(getattr(image, "is_animated", False))
    except MediaError:
        return False


class AnimatedImage:
    """An animated GIF/WebP/PNG read frame by frame like a ``cv2.VideoCapture``.

    Only what the player uses: ``read``, ``grab``, ``set``/``get`` of the frame position,
    ``isOpened`` and ``release``. Frames are decoded with Pillow, in memory.
    """

    def __init__(self, source: MediaSource, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
        self._image = _open_image(source, max_pixels)
        self.name = media_name(source)
        if not getattr(self._image, "is_animated", False):
            self._image.close()
            raise MediaError(f"{self.name}: not an animated image")
        self.frame_count = int(getattr(self._image, "n_frames", 1))
        duration = float(self._image.info.get("duration") or 100)
        self.fps = 1000.0 / duration if duration > 0 else 10.0
        self._position = 0

    def isOpened(self) -> bool:
        """Always True once constructed."""
        return True

    def grab(self) -> bool:
        """Skip one frame; False at the end."""
        if self._position >= self.frame_count:
            return False
        self._position += 1
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        """The next frame as BGR (like OpenCV), or ``(False, None)`` at the end."""
        if self._position >= self.frame_count:
            return False, None
        try:
            self._image.seek(self._position)
            rgb = np.asarray(self._image.convert("RGB"), dtype=np.uint8)
        except (OSError, EOFError, ValueError) as exc:
            problem = f"{self.name}: frame {self._position} is corrupt ({exc})"
            raise MediaError(problem) from exc
        self._position += 1
        return True, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)

    def set(self, prop: int, value: float) -> bool:
        """Move to a frame (only ``CAP_PROP_POS_FRAMES`` is supported)."""
        if prop != cv2.CAP_PROP_POS_FRAMES:
            return False
        self._position = max(0, min(int(value), self.frame_count))
        return True

    def get(self, prop: int) -> float:
        """Frame position, count, rate or size, as OpenCV would report them."""
        values = {
            cv2.CAP_PROP_POS_FRAMES: self._position,
            cv2.CAP_PROP_FRAME_COUNT: self.frame_count,
            cv2.CAP_PROP_FPS: self.fps,
            cv2.CAP_PROP_FRAME_WIDTH: self._image.size[0],
            cv2.CAP_PROP_FRAME_HEIGHT: self._image.size[1],
        }
        return float(values.get(prop, 0.0))

    def release(self) -> None:
        """Close the file."""
        self._image.close()
