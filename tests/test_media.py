"""Decoding and protective filters on real generated images and videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from qa_desktop.core import media

from .factory import detailed_image, write_video


def write_image(path: Path, width: int, height: int, seed: int = 0) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(detailed_image(width, height, seed), cv2.COLOR_RGB2BGR))
    return path


@pytest.mark.parametrize("level", [1, 3, 5, 10])
@pytest.mark.parametrize("size", [(64, 48), (640, 480), (1600, 1200)])
def test_blur_removes_almost_all_fine_detail_at_every_level(
    level: int, size: tuple[int, int]
) -> None:
    img = detailed_image(*size, seed=level)
    blurred = media.blur(img, level)
    assert blurred.shape == img.shape and blurred.dtype == np.uint8
    assert media.high_frequency_energy(blurred) < 0.15 * media.high_frequency_energy(img)


def test_stronger_levels_blur_more_and_levels_are_clamped() -> None:
    img = detailed_image(800, 600)
    energies = [media.high_frequency_energy(media.blur(img, lv)) for lv in (1, 5, 10)]
    assert energies[0] > energies[1] > energies[2]
    assert np.array_equal(media.blur(img, 0), media.blur(img, 1))
    assert np.array_equal(media.blur(img, 99), media.blur(img, 10))


def test_pixelate_and_grayscale_keep_shape() -> None:
    img = detailed_image(300, 200)
    pixelated = media.pixelate(img, 5)
    assert pixelated.shape == img.shape
    assert len(np.unique(pixelated.reshape(-1, 3), axis=0)) < 400
    gray = media.grayscale(img)
    assert gray.shape == img.shape
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])


def test_large_jpeg_is_decoded_at_display_size(tmp_path: Path) -> None:
    path = write_image(tmp_path / "big.jpg", 4000, 3000)
    shown = media.decode_image_for_display(path, 1600)
    assert shown.shape == (1200, 1600, 3)
    assert media.decode_image(path).shape == (3000, 4000, 3)


def test_small_image_is_not_enlarged_and_exif_rotation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "portrait.jpg"
    image = Image.fromarray(detailed_image(300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    image.save(path, exif=exif)
    assert media.decode_image_for_display(path, 1600).shape == (300, 200, 3)


def test_transparent_png_is_composited_not_hidden(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (40, 30), (255, 0, 0, 0)).save(path)
    shown = media.decode_image(path)
    assert shown.shape == (30, 40, 3) and int(shown.max()) < 64


def test_image_over_the_pixel_limit_is_refused_without_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (12000, 10000)).save(path)  # tiny file, 120 megapixels
    with pytest.raises(media.MediaError, match=r"bomb.png.*megapixels"):
        media.decode_image_for_display(path, 1600)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an image"),
        (b"this is not an image at all", "not an image"),
        (None, "missing"),
    ],
)
def test_bad_images_raise_media_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(media.MediaError, match=message):
        media.decode_image_for_display(path, 800)


def test_truncated_jpeg_raises_media_error(tmp_path: Path) -> None:
    path = write_image(tmp_path / "cut.jpg", 800, 600)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(media.MediaError, match="corrupt or truncated"):
        media.decode_image_for_display(path, 800)


def test_storyboard_starts_at_each_scene_and_is_display_sized(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, 640, 360, frames=48)
    info = media.video_info(path)
    assert (info.width, info.height, info.frame_count) == (640, 360, 48)
    assert info.duration_s == pytest.approx(4.0)
    frames = media.storyboard(path, count=6, max_side=320)
    indices = [f.index for f in frames]
    assert indices == sorted(indices) and len(frames) == 6
    assert 0 in indices and 24 in indices  # the first frame and the scene change
    assert all(f.image.shape == (180, 320, 3) for f in frames)
    assert frames[-1].time_s == pytest.approx(indices[-1] / 12)


@pytest.mark.parametrize(
    ("content", "message"), [(b"", "empty"), (b"\x00\x01garbage" * 100, "not a video")]
)
def test_bad_videos_raise_media_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(media.MediaError, match=message):
        media.storyboard(path)


def test_truncated_video_gives_what_frames_it_has_or_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    write_video(path, 320, 240, frames=24)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        frames = media.storyboard(path, count=4)
    except media.MediaError as exc:
        assert "cut.mp4" in str(exc)
    else:
        assert frames and all(f.image.shape[2] == 3 for f in frames)


def test_filters_never_write_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    image_path = write_image(tmp_path / "a.jpg", 640, 480)
    video_path = tmp_path / "v.mp4"
    write_video(video_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    shown = media.decode_image_for_display(image_path, 400)
    media.blur(media.grayscale(shown), 3)
    media.pixelate(shown, 3)
    media.storyboard(video_path, count=4)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
