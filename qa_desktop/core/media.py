"""Decoding and protective filters for case media, in memory only (Pillow, OpenCV; no Qt).

Every array here is RGB uint8, height x width x 3. Nothing in this module writes pixels
to disk: decoded, revealed or blurred content lives in memory and is gone with it::

    sharp = decode_image_for_display(path, 1600)   # reduced JPEG decode, EXIF-rotated
    shown = blur(sharp, 5)                         # downscale, blur, upscale
    frames = storyboard(video_path, count=9)       # keyframes at scene changes
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_PIXELS = 100_000_000
"""Images larger than this are refused as probable decompression bombs."""

MAX_BLUR_LEVEL = 10

# At blur level 1 the image is shrunk to at most this many pixels on its long side before
# blurring; each level above divides it further. Small enough that even level 1 hides detail.
_LEVEL_ONE_SIDE = 192


class MediaError(ValueError):
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


def _open_image(path: Path, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Our own limit below decides; Pillow's warning threshold is lower than it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except FileNotFoundError as exc:
        raise MediaError(f"{path.name}: the media file is missing from the store") from exc
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path.name}: not an image format this app can read") from exc
    except Image.DecompressionBombError as exc:
        raise MediaError(f"{path.name}: image is too large to decode safely") from exc
    except OSError as exc:
        raise MediaError(f"{path.name}: cannot read ({exc})") from exc
    w, h = image.size
    if w * h > max_pixels:
        image.close()
        raise MediaError(
            f"{path.name}: image is {w}x{h} = {w * h / 1e6:.0f} megapixels, over the "
            f"limit of {max_pixels / 1e6:.0f} (a possible decompression bomb)"
        )
    return image


def _to_rgb_array(image: Image.Image, path: Path) -> np.ndarray:
    try:
        image = ImageOps.exif_transpose(image)
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGBA") if "A" in image.getbands() else image.convert("RGB")
        if image.mode == "RGBA":
            # Composite transparency on dark grey rather than showing arbitrary hidden pixels.
            background = Image.new("RGB", image.size, (32, 32, 32))
            background.paste(image, mask=image.getchannel("A"))
            image = background
        image = image.convert("RGB")
        return np.asarray(image, dtype=np.uint8).copy()
    except (OSError, ValueError, SyntaxError) as exc:
        raise MediaError(f"{path.name}: the image data is corrupt or truncated ({exc})") from exc


def decode_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode a whole image at full size (first frame of an animation)."""
    with _open_image(path, max_pixels) as image:
        return _to_rgb_array(image, path)


def decode_image_for_display(
    path: Path, max_side: int, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """Decode an image no larger than ``max_side`` on its long side.

    JPEGs are decoded at a reduced DCT scale (Pillow's ``draft``), so a 4000x3000 photo
    costs a fraction of a full decode.
    """
    with _open_image(path, max_pixels) as image:
        w, h = image.size
        if max(w, h) > max_side:
            target = fit_size(w, h, max_side, max_side)
            if image.format == "JPEG":
                image.draft("RGB", target)
        rgb = _to_rgb_array(image, path)
    h, w = rgb.shape[:2]
    if max(w, h) > max_side:
        rgb = resize_to_fit(rgb, max_side, max_side)
    return rgb


def blur(img: np.ndarray, level: int) -> np.ndarray:
    """A strongly blurred copy of ``img``: downscale, Gaussian blur, upscale.

    ``level`` runs from 1 (lightest, still hides detail) to 10 (shapes and colours only).
    """
    level = max(1, min(MAX_BLUR_LEVEL, int(level)))
    h, w = img.shape[:2]
    long_side = max(w, h)
    small_side = max(6, min(_LEVEL_ONE_SIDE // level, long_side // 4))
    small = resize_to_fit(img, small_side, small_side)
    sigma = 1.0 + level * 0.25
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def pixelate(img: np.ndarray, level: int) -> np.ndarray:
    """A copy of ``img`` made of coarse blocks; more levels, bigger blocks."""
    level = max(1, min(MAX_BLUR_LEVEL, int(level)))
    h, w = img.shape[:2]
    blocks = max(4, min(96 // level, max(w, h) // 2))
    small = resize_to_fit(img, blocks, blocks)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def grayscale(img: np.ndarray) -> np.ndarray:
    """A grey copy of ``img``, still three channels so it paints like the original."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def high_frequency_energy(img: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey image: fine detail, which blurring removes."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    return float(np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)).mean())


def _open_video(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise MediaError(f"{path.name}: the media file is missing from the store")
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name}: the video file is empty (0 bytes)")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise MediaError(f"{path.name}: not a video format this app can play")
    return capture


def video_info(path: Path) -> VideoInfo:
    """Size, frame rate and frame count of a video; :class:`MediaError` if unreadable."""
    capture = _open_video(path)
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
        raise MediaError(f"{path.name}: the video has no picture")
    return info


def _scene_signature(frame_bgr: np.ndarray) -> np.ndarray:
    tiny = cv2.resize(frame_bgr, (32, 18), interpolation=cv2.INTER_AREA)
    return tiny.astype(np.int16)


def storyboard(path: Path, count: int = 9, max_side: int = 480) -> list[Keyframe]:
    """Up to ``count`` keyframes: the first frame, the strongest scene changes, then even fill.

    The video is read once; only sampled frames are converted and kept, at ``max_side``.
    """
    info = video_info(path)
    fps = info.fps if info.fps > 0 else 25.0
    samples_wanted = max(count * 8, 1)
    step = max(1, info.frame_count // samples_wanted) if info.frame_count else 1
    capture = _open_video(path)
    sampled: list[tuple[int, float, np.ndarray]] = []  # (index, change score, small frame)
    previous: np.ndarray | None = None
    index = 0
    try:
        while capture.grab():
            if index % step == 0:
                ok, frame = capture.retrieve()
                if ok and frame is not None:
                    signature = _scene_signature(frame)
                    score = (
                        float("inf")
                        if previous is None
                        else float(np.abs(signature - previous).mean())
                    )
                    previous = signature
                    small = resize_to_fit(frame, max_side, max_side)
                    sampled.append((index, score, cv2.cvtColor(small, cv2.COLOR_BGR2RGB)))
            index += 1
    finally:
        capture.release()
    if not sampled:
        raise MediaError(f"{path.name}: no frame could be decoded (corrupt or truncated video)")
    chosen = _choose_keyframes(sampled, count)
    return [Keyframe(i, i / fps, img) for i, _, img in chosen]


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
