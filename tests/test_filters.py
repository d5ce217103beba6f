"""Wellbeing filters: sepia, transparency, reduced detail, the filter chain, region reveal."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from qa_desktop.core import media
from qa_desktop.core.media import FilterSettings

from .factory import detailed_image


def solid(colour: tuple[int, int, int], width: int = 8, height: int = 6) -> np.ndarray:
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = colour
    return img


def test_sepia_tones_by_the_classic_matrix_and_strength_blends() -> None:
    img = solid((100, 50, 20))
    toned = media.sepia(img)
    # R = .393*100 + .769*50 + .189*20 = 81.5; G = 72.5; B = 56.5 (within rounding)
    assert np.allclose(toned[0, 0], (81.53, 72.56, 56.52), atol=1)
    assert np.array_equal(media.sepia(img, 0.0), img)
    half = media.sepia(img, 0.5)[0, 0].astype(float)
    assert np.allclose(half, (img[0, 0] + toned[0, 0]) / 2, atol=1)
    assert np.array_equal(media.sepia(solid((255, 255, 255)))[0, 0], (255, 255, 239))


@pytest.mark.parametrize(
    ("level", "expected"), [(0.0, (200, 100, 0)), (0.5, (115, 65, 17)), (1.0, (30, 30, 34))]
)
def test_transparency_blends_toward_the_background(
    level: float, expected: tuple[int, int, int]
) -> None:
    img = solid((200, 100, 0))
    out = media.transparency(img, level)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.allclose(out[0, 0], expected, atol=1)
    assert out is not img


def test_transparency_takes_another_background_and_clamps_the_level() -> None:
    img = solid((200, 100, 0))
    assert np.array_equal(media.transparency(img, 7, background=(1, 2, 3))[0, 0], (1, 2, 3))
    assert np.array_equal(media.transparency(img, -1), img)


@pytest.mark.parametrize("level", [1, 5, 10])
def test_reduced_detail_removes_fine_detail_and_keeps_the_shape(level: int) -> None:
    img = detailed_image(1600, 1200, seed=level)
    out = media.reduced_detail(img, level)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert media.high_frequency_energy(out) < 0.1 * media.high_frequency_energy(img)


def test_reduced_detail_keeps_large_shapes_and_flattens_colour() -> None:
    img = solid((40, 40, 40), 400, 300)
    img[100:200, 150:300] = (220, 30, 30)
    out = media.reduced_detail(img, 5)
    assert np.allclose(out[150, 220], (220, 30, 30), atol=12)
    assert np.allclose(out[20, 20], (40, 40, 40), atol=12)
    noisy = detailed_image(400, 300)
    assert len(np.unique(media.reduced_detail(noisy, 5, edges=False).reshape(-1, 3), axis=0)) < 64


def test_reduced_detail_is_deterministic_and_works_on_small_images() -> None:
    img = detailed_image(120, 90, seed=4)
    assert np.array_equal(media.reduced_detail(img, 3), media.reduced_detail(img, 3))
    assert media.reduced_detail(img, 3).shape == img.shape


def test_no_filters_give_an_equal_copy() -> None:
    img = detailed_image(64, 48)
    out = media.apply_filters(img, FilterSettings(blur_kind="none"))
    assert np.array_equal(out, img) and out is not img


def test_filters_apply_in_the_documented_order() -> None:
    img = detailed_image(320, 240, seed=2)
    settings = FilterSettings(
        blur_kind="pixelate",
        blur_level=4,
        grayscale=True,
        sepia=True,
        transparency=0.3,
        reduced_detail=True,
    )
    expected = media.transparency(
        media.pixelate(media.sepia(media.grayscale(media.reduced_detail(img, 4))), 4), 0.3
    )
    assert np.array_equal(media.apply_filters(img, settings), expected)


def test_gaussian_filter_chain_blurs_and_greys() -> None:
    img = detailed_image(640, 480)
    out = media.apply_filters(img, FilterSettings(blur_level=6, grayscale=True))
    assert np.array_equal(out, media.blur(media.grayscale(img), 6))
    assert media.high_frequency_energy(out) < 0.15 * media.high_frequency_energy(img)
    assert np.all(out[..., 0] == out[..., 1])


def test_reveal_changes_only_the_pixels_inside_the_regions() -> None:
    sharp = detailed_image(200, 100, seed=1)
    protected = media.blur(sharp, 5)
    out = media.reveal_regions(protected, sharp, [(0.25, 0.5, 0.25, 0.3), (0.9, 0.0, 0.5, 0.1)])
    inside = np.zeros((100, 200), dtype=bool)
    inside[50:80, 50:100] = True
    inside[0:10, 180:200] = True  # the second region is clipped at the right edge
    assert np.array_equal(out[inside], sharp[inside])
    assert np.array_equal(out[~inside], protected[~inside])
    assert np.array_equal(media.reveal_regions(protected, sharp, []), protected)


def test_reveal_refuses_images_of_different_sizes() -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        media.reveal_regions(solid((0, 0, 0)), solid((0, 0, 0), 9, 6), [(0, 0, 1, 1)])


def test_revealed_fraction_counts_overlaps_once() -> None:
    assert media.revealed_fraction([(0, 0, 0.5, 1)], 100, 50) == pytest.approx(0.5)
    regions = [(0, 0, 0.5, 0.5), (0.25, 0, 0.5, 0.5)]
    assert media.revealed_fraction(regions, 100, 100) == pytest.approx(0.375)
    assert media.revealed_fraction([], 100, 100) == 0.0


# -- player media ------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "box"), [((1920, 1080), (1280, 720)), ((320, 240), (1280, 720))])
def test_blur_frame_looks_like_blur_at_display_size(
    size: tuple[int, int], box: tuple[int, int]
) -> None:
    rgb = detailed_image(*size, seed=5)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    out = media.blur_frame(bgr, 5, *box)
    sharp = media.resize_to_fit(rgb, *box) if size[0] > box[0] else rgb
    reference = media.blur(sharp, 5)
    assert out.shape == reference.shape and out.flags.c_contiguous
    assert np.abs(out.astype(int) - reference).mean() < 3
    assert media.high_frequency_energy(out) < 0.15 * media.high_frequency_energy(sharp)


def write_two_scene_video(path: Path, frames: int, cut: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    for i in range(frames):
        frame = np.full((48, 64, 3), 30 if i < cut else 220, dtype=np.uint8)
        cv2.putText(frame, str(i % 10), (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (90, 90, 90), 1)
        writer.write(frame)
    writer.release()


def test_long_video_storyboard_seeks_and_still_finds_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    write_two_scene_video(path, frames=400, cut=200)
    assert media._seek_positions(400, 2) == [0, 133, 266, 399]
    frames = media.storyboard(path, count=2, max_side=32)
    assert [f.index for f in frames] == [0, 266]
    assert frames[0].image.mean() < 60 < 180 < frames[1].image.mean()
    assert frames[1].time_s == pytest.approx(266 / 25)


def test_short_videos_are_read_through() -> None:
    assert media._seek_positions(48, 6) is None
    assert media._seek_positions(0, 9) is None
    assert media._seek_positions(9 * 8 * 24, 9) is None
