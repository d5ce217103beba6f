"""The player's per-frame step (issue 15): fast, and hiding exactly as much as before."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from qa_desktop.core import media
from qa_desktop.ui.render import qimage_to_rgb
from qa_desktop.ui.video_frame import FilterProtect, prepare_frame
from qa_desktop.ui.video_player import VideoPlayer


def detailed_frame(width: int, height: int) -> np.ndarray:
    """A BGR frame full of fine detail: stripes, text, noise."""
    rng = np.random.default_rng(5)
    yy, xx = np.indices((height, width))
    frame = np.where(((xx + yy) % 4 < 2)[..., None], 220, 30).repeat(3, axis=2).astype(np.uint8)
    frame[..., 0] = rng.integers(0, 256, (height, width), dtype=np.uint8)
    for row in range(0, height - 40, 60):
        cv2.putText(frame, "SHARP TEXT 0123", (20, row + 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                    (255, 255, 0), 2)  # fmt: skip
    return frame


SETTINGS = [
    media.FilterSettings(blur_level=1),
    media.FilterSettings(blur_level=5),
    media.FilterSettings(blur_level=10),
    media.FilterSettings(blur_level=3, grayscale=True),
    media.FilterSettings(blur_level=5, sepia=True, transparency=0.4),
    media.FilterSettings(blur_kind="pixelate", blur_level=4),
    media.FilterSettings(blur_level=5, reduced_detail=True),
]


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (640, 360), (1080, 1920)])
@pytest.mark.parametrize("settings", SETTINGS, ids=repr)
def test_fast_protection_hides_as_much_as_filtering_the_display_picture(size, settings):
    bgr = detailed_frame(*size)
    display = media.display_frame(bgr, 1600, 1600)
    assert max(display.shape[:2]) == min(1600, max(size))
    reference = media.apply_filters(display, settings)
    fast = media.protect_frame(bgr, settings, 1600, 1600)
    assert fast.shape == display.shape and fast.flags.c_contiguous
    sharp_energy = media.high_frequency_energy(display)
    # as blurred as before (never more detail than the old path left, within codec noise)...
    assert media.high_frequency_energy(fast) <= 1.15 * media.high_frequency_energy(reference) + 0.05
    assert media.high_frequency_energy(fast) < 0.15 * sharp_energy
    # ...and the same picture (colours, layout) up to rounding
    assert np.abs(fast.astype(int) - reference.astype(int)).mean() < 6


def test_prepare_frame_paints_the_protected_picture_and_makes_sharp_only_on_use():
    bgr = detailed_frame(1920, 1080)
    pictures = prepare_frame(bgr, FilterProtect(media.FilterSettings()))
    assert not pictures.has_sharp  # nothing showed it: never made
    assert np.array_equal(qimage_to_rgb(pictures.protected_image), pictures.protected)
    assert pictures.protected.shape == (900, 1600, 3)
    sharp = pictures.sharp
    assert pictures.has_sharp and np.array_equal(sharp, media.display_frame(bgr, 1600, 1600))
    assert media.high_frequency_energy(pictures.protected) < 0.15 * media.high_frequency_energy(
        sharp
    )


def test_prepare_frame_applies_the_reveal_filters_and_any_protect_callable():
    bgr = detailed_frame(1280, 720)
    grey = media.FilterSettings(blur_kind="none", grayscale=True)
    pictures = prepare_frame(
        bgr, lambda f: media.pixelate(f, 8), lambda f: media.apply_filters(f, grey), True
    )
    assert pictures.has_sharp
    revealed = pictures.revealed
    assert np.array_equal(revealed[..., 0], revealed[..., 1])  # grey
    assert np.array_equal(pictures.protected, media.pixelate(pictures.sharp, 8))


def test_grey_frames_are_protected_too():
    grey = cv2.cvtColor(detailed_frame(1280, 720), cv2.COLOR_BGR2GRAY)
    pictures = prepare_frame(grey, FilterProtect(media.FilterSettings()))
    assert pictures.protected.shape == (720, 1280, 3)
    assert pictures.sharp.shape == (720, 1280, 3)


def test_player_with_filter_protection_reveals_sharp_and_blurs_again(qtbot, tmp_path: Path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 24, (1280, 720))
    for _ in range(6):
        writer.write(detailed_frame(1280, 720))
    writer.release()
    player = VideoPlayer(protect=FilterProtect(media.FilterSettings(blur_level=5)))
    qtbot.addWidget(player)
    with qtbot.waitSignal(player.frame_shown, timeout=10000):
        player.load(path)
    blurred = player.current_frame()
    player.set_revealed(True)  # the frame on screen makes its sharp picture on first use
    sharp = player.current_frame()
    assert media.high_frequency_energy(blurred) < 0.15 * media.high_frequency_energy(sharp)
    player.set_revealed(False)
    assert np.array_equal(player.current_frame(), blurred)
    player.close_media()
