"""Media intake: sniff, size-check and hash every media file of a batch, then copy the new
ones, encrypted, into the content-addressed store (``media_dir/sha[:2]/sha``, see
:mod:`..media_store`)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from PIL import Image

from ..formats import zip_safety
from ..media_store import (
    PREVIEW_SUFFIX,
    MediaKeyError,
    MediaStore,
    SealedWriter,
    sealed_size,
    write_preview,
)
from . import limits
from .problems import BatchError, _Unusable
from .progress import _Progress
from .records import _CHUNK_CASES, _ROW_SHA, _Cases
from .sources import _READ_CHUNK, _Source

_SNIFF_BYTES = 64
_WORKERS = max(1, min(4, os.cpu_count() or 1))
"""Media files inspected (decoded, hashed) at once."""
_BIG_IMAGE_PIXELS = 16_000_000
_BIG_IMAGE = threading.Lock()
"""Held while an image over :data:`_BIG_IMAGE_PIXELS` is decoded at full size, so that the
workers never hold several of them in memory at once."""


@dataclass(frozen=True)
class _Media:
    sha256: str
    mime: str
    size: int
    preview: bytes | None = None
    """An image's stored preview (blurred, :func:`..media.encode_preview`), made by its check."""

    @property
    def kind(self) -> str:
        return self.mime.split("/")[0]


_IMAGE_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
}
_HEIF_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
}


def _sniff_mime(head: bytes) -> str | None:
    """The media type of a file from its first bytes (extensions are not trusted), or None.

    Images: PNG, JPEG, GIF, WebP, BMP. Videos: MP4 / QuickTime (``ftyp``), WebM / Matroska,
    AVI.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"BM") and len(head) >= 26:
        return "image/bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    return None


def _check_media(source: _Source, cases: _Cases, tracker: _Progress) -> None:
    """Hash and check every media file of a chunk; finish the content hashes of image and
    video cases (problems go to ``cases.media_problems``)."""
    if not cases.media_cases:
        tracker.advance(cases.count)
        return
    media_cases = {index: (paths, canonical) for index, paths, canonical in cases.media_cases}
    seen: dict[str, _Media | str] = {}
    for start in range(0, cases.count, _CHUNK_CASES):
        tracker.check_cancelled()
        end = min(start + _CHUNK_CASES, cases.count)
        _inspect_new_media(source, media_cases, range(start, end), seen, tracker)
        for index in range(start, end):
            entry = media_cases.get(index)
            if entry is not None:
                _check_case_media(source, cases, index, entry[0], entry[1], seen, tracker)
        tracker.advance(end - start - sum(1 for i in range(start, end) if i in media_cases))


def _inspect_new_media(
    source: _Source,
    media_cases: dict[int, tuple[list[str], bytes]],
    indexes: range,
    seen: dict[str, _Media | str],
    tracker: _Progress,
) -> None:
    """Inspect every media path of these cases not seen yet, several at a time.

    Decoding dominates (Pillow and OpenCV release the GIL while decoding), so files are
    inspected in :data:`_WORKERS` threads; results are kept by path, in the cases' order.
    """
    paths: dict[str, None] = {}
    for index in indexes:
        entry = media_cases.get(index)
        for path in entry[0] if entry is not None else ():
            if path not in seen:
                paths[path] = None
    if not paths:
        return

    def inspect(path: str) -> _Media | str:
        try:
            return _inspect_media(source, path, tracker)
        except _Unusable as exc:
            return str(exc)

    results: list[_Media | str]
    if _WORKERS == 1 or len(paths) == 1:
        results = [inspect(path) for path in paths]
    else:
        pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="media-intake")
        try:
            results = list(pool.map(inspect, paths))
        finally:
            pool.shutdown(cancel_futures=True)
    for path, found in zip(paths, results, strict=True):
        seen[path] = found
        if isinstance(found, _Media):
            source.count(found.size)


def _check_case_media(
    source: _Source,
    cases: _Cases,
    index: int,
    paths: list[str],
    canonical: bytes,
    seen: dict[str, _Media | str],
    tracker: _Progress,
) -> None:
    row = cases.rows[index]
    content_type = row[2]
    where = f"{cases.label} line {cases.lines[row[0]]}, field 'media'"
    media: list[_Media] = []
    for path in paths:
        tracker.check_cancelled()
        found = seen[path]  # inspected by _inspect_new_media
        if isinstance(found, str):
            cases.media_problems.add(f"{where}: {path} {found} (case {row[0]!r})")
        elif found.kind != content_type:
            cases.media_problems.add(
                f"{where}: {path} is {found.mime}, but the case's content_type is"
                f" {content_type!r} (the file's bytes decide, not its name)"
            )
        else:
            media.append(found)
    tracker.advance(1)
    if len(media) != len(paths):
        return
    pairs = "\x00".join(f"{p}\x00{m.sha256}" for p, m in zip(paths, media, strict=True))
    row[_ROW_SHA] = hashlib.sha256(canonical + b"\x00" + pairs.encode()).hexdigest()
    for m in media:
        if m.preview is not None:
            cases.previews[m.sha256] = m.preview
    cases.media_rows[row[0]] = [
        (row[0], position, path, m.sha256, m.mime, m.size)
        for position, (path, m) in enumerate(zip(paths, media, strict=True))
    ]


def _inspect_media(source: _Source, path: str, tracker: _Progress) -> _Media:
    """Sniff, size-check, decode-check and hash one media file of the batch (the caller
    charges its size to the batch)."""
    stream, limit, why = source.open(path)
    with stream:
        try:
            head = stream.read(_SNIFF_BYTES)
            mime = _sniff_mime(head)
            if mime is None:
                raise _Unusable(f"is not a supported image or video (it starts with {head[:8]!r})")
            stream.seek(0)
            preview = None
            if mime.startswith("image/"):
                preview = _check_image(stream, mime)
            else:
                _check_video(stream)
            stream.seek(0)
            digest, size = _hash_stream(stream, limit, why, tracker)
        except zip_safety.DECODE_ERRORS as exc:
            raise _Unusable(f"cannot be read ({exc})") from None
    return _Media(digest, mime, size, preview)


def _check_image(stream: IO[bytes], mime: str) -> bytes | None:
    """Refuse an image Pillow cannot decode, or one over :data:`limits.MAX_IMAGE_PIXELS`;
    return its stored preview, made from that decode (None if it cannot be made: then the
    app makes it when the image is first shown).

    The size is checked from the header first (a decompression bomb is never decoded); then
    the whole image is decoded once, so a truncated or corrupt file is refused here and not
    found broken on screen. A JPEG is decoded at 1/8 scale: every byte is still read and
    entropy-decoded (truncation and corruption show), for a fraction of the time. An
    animation is checked by its first frame.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[_IMAGE_FORMATS[mime]]) as image:
                width, height = image.size
                if width * height > limits.MAX_IMAGE_PIXELS:
                    raise _Unusable(f"is {width}x{height} pixels; {_bomb_problem()}")
                if mime == "image/jpeg":
                    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
                if width * height > _BIG_IMAGE_PIXELS and mime != "image/jpeg":
                    with _BIG_IMAGE:  # one full-size decode of a big image at a time
                        image.load()
                else:
                    image.load()
                return _preview(image, width, height)
    except _Unusable:
        raise
    except Image.DecompressionBombError:
        raise _Unusable(_bomb_problem()) from None
    except Exception as exc:  # Pillow's plugins raise many types on a malformed file
        raise _Unusable(f"is not a readable {mime} image ({exc})") from None


def _preview(image: Image.Image, width: int, height: int) -> bytes | None:
    from ..media import encode_image_preview  # OpenCV: loaded when a batch has an image

    try:
        return encode_image_preview(image, width, height)
    except Exception:  # an odd mode or size: the app makes the preview when first shown
        return None


def _check_video(stream: IO[bytes]) -> None:
    """Refuse a video OpenCV (FFmpeg) cannot play: it must open, its first frame must decode,
    and so must a frame near its end (a truncated file fails there).

    Read from the stream itself (a file, a .zip member, memory): nothing is written to disk.
    """
    import cv2  # imported here: only video batches pay for loading OpenCV

    try:
        reader = cast("cv2.IStreamReader", stream)  # any object with read() and seek()
        capture = cv2.VideoCapture(reader, cv2.CAP_FFMPEG, [])
    except Exception as exc:  # cv2.error, or the stream failing underneath
        raise _Unusable(f"is not a playable video ({exc})") from None
    try:
        if not capture.isOpened():
            raise _Unusable("is not a playable video (it cannot be opened)")
        if not capture.read()[0]:
            raise _Unusable("is not a playable video (its first frame cannot be decoded)")
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        near_end = frames - 1 - frames // 20  # 95%: frame counts of some containers are estimates
        if near_end > 0:
            capture.set(cv2.CAP_PROP_POS_FRAMES, near_end)
            if not capture.read()[0]:
                raise _Unusable(
                    f"is not a playable video (frame {near_end + 1} of {frames}, near its end,"
                    " cannot be decoded: is it truncated?)"
                )
    except cv2.error as exc:
        raise _Unusable(f"is not a playable video ({exc})") from None
    finally:
        capture.release()


def _bomb_problem() -> str:
    megapixels = limits.MAX_IMAGE_PIXELS / 1e6
    return f"images over {megapixels:g} megapixels are refused (a decompression bomb?)"


def _hash_stream(stream: IO[bytes], limit: int, why: str, tracker: _Progress) -> tuple[str, int]:
    """SHA-256 and size of a stream, counting the bytes as they come (headers may lie)."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _Unusable(why)
        digest.update(chunk)
        tracker.check_cancelled()
    return digest.hexdigest(), size


def _store_media(source: _Source, store: MediaStore, cases: _Cases, tracker: _Progress) -> int:
    """Encrypt every media file not yet in the store into it; return how many were added."""
    if not cases.media_rows:
        tracker.advance(cases.count)
        return 0
    media_dir = store.media_dir
    try:
        key = store.key()
    except MediaKeyError as exc:
        raise BatchError(f"cannot write to the media store: {exc}") from exc
    try:
        media_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc
    stored: set[str] = set()
    added = 0
    for start in range(0, cases.count, _CHUNK_CASES):
        tracker.check_cancelled()
        end = min(start + _CHUNK_CASES, cases.count)
        for index in range(start, end):
            media_rows = cases.media_rows.get(cases.rows[index][0])
            for _case_id, _position, name, sha256, _mime, size in media_rows or ():
                if sha256 not in stored:
                    added += _store_one(source, media_dir, key, name, sha256, size, tracker)
                    _store_preview(media_dir, key, sha256, cases.previews.get(sha256))
                    stored.add(sha256)
            if media_rows:
                tracker.advance(1)
        tracker.advance(
            end - start - sum(1 for i in range(start, end) if cases.rows[i][0] in cases.media_rows)
        )
    return added


def _store_one(
    source: _Source,
    media_dir: Path,
    key: bytes,
    name: str,
    sha256: str,
    size: int,
    tracker: _Progress,
) -> bool:
    """Encrypt one file to ``media_dir/sha[:2]/sha`` atomically; False if it was there."""
    target = media_dir / sha256[:2] / sha256
    try:
        if target.is_file() and target.stat().st_size == sealed_size(size):
            return False
        target.parent.mkdir(mode=0o700, exist_ok=True)
        target.parent.chmod(0o700)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            with SealedWriter(out, key, sha256) as sealed:
                _copy_verified(source, name, sha256, size, sealed, tracker)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return True


def _store_preview(media_dir: Path, key: bytes, sha256: str, preview: bytes | None) -> None:
    """Seal an image's preview beside its media file, unless it has one."""
    target = media_dir / sha256[:2] / (sha256 + PREVIEW_SUFFIX)
    if preview is None or target.is_file():
        return
    try:
        write_preview(target, key, sha256, preview)
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc


def _copy_verified(
    source: _Source, name: str, sha256: str, size: int, out: SealedWriter, tracker: _Progress
) -> None:
    changed = BatchError(f"{source.label(name)}: changed while it was being imported")
    try:
        stream, _limit, _why = source.open(name)
        with stream:
            digest, copied = hashlib.sha256(), 0
            while chunk := stream.read(_READ_CHUNK):
                copied += len(chunk)
                if copied > size:
                    raise changed
                digest.update(chunk)
                out.write(chunk)
                tracker.check_cancelled()
    except _Unusable as exc:
        raise BatchError(f"{source.label(name)}: {exc}") from None
    except OSError:
        raise
    except zip_safety.DECODE_ERRORS as exc:
        raise BatchError(f"{source.label(name)}: cannot be read ({exc})") from None
    if copied != size or digest.hexdigest() != sha256:
        raise changed
