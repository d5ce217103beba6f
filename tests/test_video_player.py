"""The video player: protected frames, reveal, transport, audio mute, bad media, shutdown."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from qa_desktop.core import media
from qa_desktop.ui.video_player import VideoPlayer, format_time

from .factory import write_video_with_audio

FPS = 24
FRAMES = 72  # 3 s
WIDTH, HEIGHT = 640, 360
BAND = slice(4, 28), slice(200, 440)  # a flat grey band whose level encodes the frame index


def write_detailed_video(path: Path, frames: int = FRAMES, fps: int = FPS) -> Path:
    """A 640x360 mp4 of fine stripes, text and a moving disc; the top band's grey = 3 x index."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (WIDTH, HEIGHT))
    yy, xx = np.indices((HEIGHT, WIDTH))
    stripes = ((xx + yy) % 4 < 2)[..., None]
    for i in range(frames):
        frame = np.where(stripes, np.uint8(220), np.uint8(30)).repeat(3, axis=2).astype(np.uint8)
        frame[:, :, 0] = np.where(stripes[..., 0], 60 + i, 200 - i)
        for row in range(3):
            cv2.putText(
                frame,
                f"CASE FRAME {i:03d} LINE {row}",
                (20, 90 + row * 80),
                cv2.FONT_HERSHEY_SIMPLEX,
                1.0,
                (255, 255, 0),
                2,
            )
        cv2.circle(frame, (40 + i * 8, 300), 24, (255, 255, 255), -1)
        frame[0:32, :] = 3 * i
        writer.write(frame)
    writer.release()
    return path


def read_band_levels(video: Path) -> np.ndarray:
    """The grey band's level in every frame, read sequentially (the codec shifts it a little)."""
    capture = cv2.VideoCapture(str(video))
    levels = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        levels.append(float(bgr[BAND].mean()))
    capture.release()
    return np.array(levels)


@pytest.fixture(scope="module")
def band_levels(video: Path) -> np.ndarray:
    """:func:`read_band_levels` of the module's video, one level a frame."""
    levels = read_band_levels(video)
    assert len(levels) == FRAMES
    return levels


def encoded_index(rgb: np.ndarray, levels: np.ndarray) -> int:
    """Which frame a sharp picture is, by its grey band (the nearest sequential level)."""
    return int(np.abs(levels - float(rgb[BAND].mean())).argmin())


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_detailed_video(tmp_path_factory.mktemp("video") / "detailed.mp4")


@pytest.fixture(scope="module")
def sharp_energy(video: Path) -> float:
    """Fine-detail energy of the first frame, decoded straight from the file."""
    capture = cv2.VideoCapture(str(video))
    ok, bgr = capture.read()
    capture.release()
    assert ok
    return media.high_frequency_energy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


@pytest.fixture
def player(qtbot):
    widget = VideoPlayer()
    qtbot.addWidget(widget)
    widget.resize(800, 520)
    yield widget
    widget.close()
    assert not widget.worker_alive


def loaded(qtbot, player: VideoPlayer, video: Path) -> VideoPlayer:
    with qtbot.waitSignal(player.frame_shown, timeout=5000):
        player.load(video)
    return player


def wait_for_frame(qtbot, player: VideoPlayer, action) -> int:
    """Run ``action`` and return the index of the next frame shown."""
    with qtbot.waitSignal(player.frame_shown, timeout=5000) as blocker:
        action()
    return blocker.args[0]


def energy(rgb: np.ndarray | None) -> float:
    assert rgb is not None
    return media.high_frequency_energy(rgb)


def test_first_frame_is_protected_at_display_size(qtbot, player, video, sharp_energy):
    loaded(qtbot, player, video)
    frame = player.current_frame()
    assert frame is not None and frame.shape == (HEIGHT, WIDTH, 3)
    assert energy(frame) < 0.15 * sharp_energy
    assert not player.playing and not player.revealed
    assert player.duration_s == pytest.approx(FRAMES / FPS, abs=0.1)
    assert player.time_label.text() == "0:00 / 0:03"


def test_frames_stay_blurred_during_playback(qtbot, player, video, sharp_energy):
    loaded(qtbot, player, video)
    energies: list[float] = []
    player.frame_shown.connect(lambda _i: energies.append(energy(player.current_frame())))
    player.play()
    qtbot.waitUntil(lambda: len(energies) >= 6, timeout=5000)
    player.pause()
    assert max(energies) < 0.15 * sharp_energy


def test_hold_to_reveal_shows_sharp_then_blurs_again(qtbot, player, video, sharp_energy):
    loaded(qtbot, player, video)
    with qtbot.waitSignal(player.reveal_changed) as on:
        player.set_revealed(True)
    assert on.args == [True] and player.revealed
    assert energy(player.current_frame()) > 0.8 * sharp_energy
    with qtbot.waitSignal(player.reveal_changed) as off:
        player.set_revealed(False)
    assert off.args == [False]
    assert energy(player.current_frame()) < 0.15 * sharp_energy


def test_region_reveal_changes_only_that_region(qtbot, player, video):
    loaded(qtbot, player, video)
    protected = player.current_frame().copy()
    player.set_revealed(True)
    sharp = player.current_frame().copy()
    player.set_revealed(False)
    player.set_reveal_regions([(0.5, 0.25, 0.25, 0.5)])
    shown = player.current_frame()
    x0, y0, x1, y1 = media.region_pixels((0.5, 0.25, 0.25, 0.5), WIDTH, HEIGHT)
    assert np.array_equal(shown[y0:y1, x0:x1], sharp[y0:y1, x0:x1])
    outside = np.ones(shown.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(shown[outside], protected[outside])
    player.set_reveal_regions([])
    assert np.array_equal(player.current_frame(), protected)


def test_play_advances_at_about_the_source_rate_and_pause_stops(qtbot, player, video):
    loaded(qtbot, player, video)
    shown: list[int] = []
    player.frame_shown.connect(shown.append)
    player.play()
    assert player.playing and player.play_button.text() == "Pause (L)"
    started = time.monotonic()
    qtbot.wait(1000)
    elapsed = time.monotonic() - started
    player.pause()
    assert not player.playing
    assert 0.5 * elapsed <= player.position_s <= 1.5 * elapsed + 0.1
    assert len(shown) >= 0.5 * elapsed * FPS
    qtbot.wait(150)  # a frame already on its way may still land
    paused_at = player.position_s
    qtbot.wait(400)
    assert player.position_s == paused_at


def test_playback_reaches_the_end_and_stops(qtbot, player, video):
    loaded(qtbot, player, video)
    wait_for_frame(qtbot, player, lambda: player.seek(2.6))
    with qtbot.waitSignal(player.ended, timeout=5000):
        player.play()
    assert not player.playing
    assert player.frame_index == FRAMES - 1


def test_double_speed_advances_faster(qtbot, player, video):
    loaded(qtbot, player, video)

    def advance_at(speed: float) -> float:
        wait_for_frame(qtbot, player, lambda: player.seek(0.0))
        player.set_speed(speed)
        player.play()
        qtbot.wait(700)
        player.pause()
        return player.position_s

    normal = advance_at(1.0)
    double = advance_at(2.0)
    assert player.speed == 2.0 and player.speed_label.text() == "2×"
    assert double > 1.3 * normal


def test_speed_steps_and_clamps(qtbot):
    player = VideoPlayer(default_speed=1.5)
    qtbot.addWidget(player)
    assert player.speed == 1.5
    player.faster()
    player.faster()
    assert player.speed == 2.0
    player.set_speed(0.1)
    assert player.speed == 0.5
    player.slower()
    assert player.speed == 0.5
    player.faster()
    assert player.speed == 0.75
    player.close()


def test_seek_lands_near_the_target(qtbot, player, video, band_levels):
    loaded(qtbot, player, video)
    player.set_revealed(True)
    with qtbot.waitSignal(player.position_changed, timeout=5000) as moved:
        player.seek(1.5)
    assert moved.args[0] == pytest.approx(1.5, abs=1.5 / FPS)
    assert player.frame_index == round(1.5 * FPS)
    assert encoded_index(player.current_frame(), band_levels) == player.frame_index
    assert player.time_label.text() == "0:01 / 0:03"
    assert player.timeline.value() == int(player.position_s * 1000)


def test_scrubbing_the_timeline_seeks(qtbot, player, video):
    loaded(qtbot, player, video)
    wait_for_frame(qtbot, player, lambda: player.timeline.setValue(2000))
    qtbot.waitUntil(lambda: abs(player.position_s - 2.0) <= 1 / FPS, timeout=3000)


def test_step_frame_moves_exactly_one_frame_while_paused(qtbot, player, video, band_levels):
    loaded(qtbot, player, video)
    player.set_revealed(True)
    wait_for_frame(qtbot, player, lambda: player.seek(1.0))
    start = player.frame_index
    assert wait_for_frame(qtbot, player, lambda: player.step_frame(1)) == start + 1
    assert encoded_index(player.current_frame(), band_levels) == start + 1
    assert wait_for_frame(qtbot, player, lambda: player.step_frame(-1)) == start
    assert encoded_index(player.current_frame(), band_levels) == start
    assert wait_for_frame(qtbot, player, lambda: player.step_frame(-1)) == start - 1
    assert encoded_index(player.current_frame(), band_levels) == start - 1
    assert not player.playing


def test_step_frame_pauses_playback(qtbot, player, video):
    loaded(qtbot, player, video)
    player.play()
    qtbot.wait(200)
    wait_for_frame(qtbot, player, lambda: player.step_frame(1))
    assert not player.playing
    settled = player.frame_index
    qtbot.wait(300)
    assert player.frame_index == settled


def test_jump_moves_by_seconds_and_clamps(qtbot, player, video):
    loaded(qtbot, player, video)
    wait_for_frame(qtbot, player, lambda: player.jump(1.0))
    assert player.position_s == pytest.approx(1.0, abs=1.5 / FPS)
    wait_for_frame(qtbot, player, lambda: player.jump(player.jump_seconds))  # 5 s: the end
    assert player.frame_index == FRAMES - 1
    wait_for_frame(qtbot, player, lambda: player.jump(-player.jump_seconds))
    assert player.frame_index == 0
    player.set_jump_seconds(2)
    assert player.forward_button.text() == "2 s →"


def test_set_protect_refilters_the_frame_on_screen(qtbot, player, video, sharp_energy):
    loaded(qtbot, player, video)
    wait_for_frame(qtbot, player, lambda: player.set_protect(lambda f: np.zeros_like(f)))
    assert not player.current_frame().any()
    wait_for_frame(qtbot, player, lambda: player.set_protect(lambda f: media.pixelate(f, 8)))
    assert energy(player.current_frame()) < 0.5 * sharp_energy
    assert player.current_frame().any()


def test_a_reveal_keeps_the_colour_filter_and_stays_sharp(qtbot, player, video, sharp_energy):
    """A reveal of a playing video removes the blur but keeps the case's grayscale (issue 10:
    the least exposure needed); regions likewise. Without a reveal filter it shows colour."""
    loaded(qtbot, player, video)
    grey = media.FilterSettings(grayscale=True)
    wait_for_frame(
        qtbot,
        player,
        lambda: player.set_protect(
            lambda f: media.blur(f, 7),
            lambda f: media.apply_filters(
                f, media.FilterSettings(blur_kind="none", grayscale=True)
            ),
        ),
    )
    assert grey.grayscale
    player.set_revealed(True)
    shown = player.current_frame()
    assert shown is not None
    assert np.array_equal(shown[..., 0], shown[..., 1]) and np.array_equal(
        shown[..., 1], shown[..., 2]
    )
    assert energy(shown) > 0.5 * sharp_energy
    player.set_revealed(False)
    player.set_reveal_regions([(0.0, 0.0, 0.5, 0.5)])
    region = player.current_frame()
    assert region is not None
    height, width = region.shape[:2]
    corner = region[: height // 2 - 2, : width // 2 - 2]
    assert np.array_equal(corner[..., 0], corner[..., 1])
    player.set_reveal_regions([])
    wait_for_frame(qtbot, player, lambda: player.set_protect(lambda f: media.blur(f, 7)))
    player.set_revealed(True)
    colour = player.current_frame()
    assert colour is not None and not np.array_equal(colour[..., 0], colour[..., 1])


def test_audio_is_muted_by_default_and_mute_works_without_a_device(qtbot, player, video):
    assert player.muted
    loaded(qtbot, player, video)
    assert player.muted
    assert "Muted" in player.mute_button.text()
    player.set_muted(False)
    assert not player.muted and player.mute_button.text().startswith("Sound on")
    player.toggle_mute()
    assert player.muted
    qtbot.wait(300)  # let the audio probe finish: this video has no audio track
    assert not player.has_audio
    player.set_muted(False)
    player.play()
    qtbot.wait(200)
    player.pause()
    # a new video is muted again
    loaded(qtbot, player, video)
    assert player.muted


def test_one_audio_player_serves_every_video_and_a_case_change_stops_the_sound(
    qtbot, player, tmp_path
):
    from PySide6.QtCore import QBuffer, QUrl
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

    media_player, audio_output = QMediaPlayer, QAudioOutput
    first = write_video_with_audio(tmp_path / "first.avi", tone_hz=440)
    second = write_video_with_audio(tmp_path / "second.avi", tone_hz=660)
    loaded(qtbot, player, first)
    qtbot.waitUntil(lambda: player.has_audio, timeout=5000)
    [audio] = player.findChildren(media_player)
    player.set_muted(False)
    player.play()
    qtbot.waitUntil(
        lambda: audio.playbackState() == media_player.PlaybackState.PlayingState, timeout=5000
    )
    loaded(qtbot, player, second)
    # the first video's sound stopped at the case change; the same player took the next
    assert audio.playbackState() != media_player.PlaybackState.PlayingState
    assert audio.source() == QUrl.fromLocalFile(str(second))
    assert player.muted
    qtbot.waitUntil(lambda: player.has_audio, timeout=5000)
    for video in (first, second, first, second):  # nothing piles up case after case
        loaded(qtbot, player, video)
    qtbot.waitUntil(lambda: player.has_audio, timeout=5000)
    assert player.findChildren(media_player) == [audio]
    assert len(player.findChildren(audio_output)) == 1
    assert player.findChildren(QBuffer) == []
    player.close_media()
    assert audio.source() == QUrl()
    assert audio.playbackState() == media_player.PlaybackState.StoppedState
    assert not player.has_audio


def _zero_length(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def _garbage(folder: Path) -> Path:
    path = folder / "garbage.mp4"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 20_000, np.uint8).tobytes())
    return path


def _truncated(folder: Path) -> Path:
    good = write_detailed_video(folder / "good.mp4", frames=24)
    path = folder / "truncated.mp4"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    return path


def _missing(folder: Path) -> Path:
    return folder / "missing.mp4"


@pytest.mark.parametrize(
    "make",
    [_zero_length, _garbage, _truncated, _missing],
    ids=["zero-length", "garbage", "truncated", "missing"],
)
def test_bad_media_shows_a_message_and_emits_failed(qtbot, player, tmp_path, make):
    path = make(tmp_path)
    with qtbot.waitSignal(player.failed, timeout=5000) as failure:
        player.load(path)
    message = failure.args[0]
    assert message.startswith("Cannot play this video: ")
    assert player.error == message == player.screen_view.message
    assert player.current_frame() is None
    player.play()
    player.set_revealed(True)
    player.step_frame(1)
    assert not player.playing and not player.revealed
    qtbot.waitUntil(lambda: not player.worker_alive, timeout=3000)


def test_a_good_video_plays_after_a_bad_one(qtbot, player, video, tmp_path):
    with qtbot.waitSignal(player.failed, timeout=5000):
        player.load(_garbage(tmp_path))
    loaded(qtbot, player, video)
    assert player.error == "" and player.screen_view.message == ""
    assert player.current_frame() is not None


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "video-decode" and t.is_alive()]


def test_close_media_stops_the_worker_thread(qtbot, player, video):
    loaded(qtbot, player, video)
    player.play()
    qtbot.wait(100)
    assert player.worker_alive
    player.close_media()
    assert not player.worker_alive
    qtbot.waitUntil(lambda: not _decode_threads(), timeout=3000)  # it ends by itself
    assert player.current_frame() is None and not player.playing
    qtbot.wait(100)  # nothing queued from the old worker may bring a frame back
    assert player.current_frame() is None


def test_a_case_change_never_waits_for_a_busy_decoder(qtbot, video, monkeypatch):
    """Issue 15: close_media (every case change) used to join the decoder thread on the GUI
    thread, waiting out whatever frame it was protecting."""
    busy, release = threading.Event(), threading.Event()
    slow: list[threading.Thread | None] = [None]  # the worker that gets stuck

    def slow_protect(frame: np.ndarray) -> np.ndarray:
        if threading.current_thread() is slow[0]:
            busy.set()
            release.wait(10)  # a decoder stuck in a long frame
        return media.blur(frame, 5)

    joined: list[str] = []
    real_join = threading.Thread.join

    def spy_join(thread: threading.Thread, timeout: float | None = None) -> None:
        if thread.name == "video-decode" and threading.current_thread() is threading.main_thread():
            joined.append(thread.name)
        real_join(thread, timeout)

    monkeypatch.setattr(threading.Thread, "join", spy_join)
    player = VideoPlayer(protect=slow_protect)
    qtbot.addWidget(player)
    loaded(qtbot, player, video)
    slow[0] = _decode_threads()[0]
    player.step_frame(1)
    assert busy.wait(5)  # the worker is inside the slow frame now
    old = _decode_threads()
    try:
        loaded(qtbot, player, video)  # the next case: a new worker shows its first frame...
        assert not joined  # ...without the GUI thread ever waiting for the old one
        assert old[0].is_alive() and not release.is_set()
    finally:
        release.set()
    qtbot.waitUntil(lambda: not old[0].is_alive(), timeout=5000)
    assert player.frame_index == 0  # the old worker's late frame was never shown
    player.close_media()


def test_load_replaces_the_worker_and_re_blurs(qtbot, player, video):
    loaded(qtbot, player, video)
    player.set_revealed(True)
    player.play()
    loaded(qtbot, player, video)
    assert not player.revealed and not player.playing
    assert len(_decode_threads()) == 1


def test_closing_the_widget_stops_the_worker_thread(qtbot, video):
    widget = VideoPlayer()
    qtbot.addWidget(widget)
    loaded(qtbot, widget, video)
    widget.play()
    qtbot.wait(100)
    widget.close()
    assert not widget.worker_alive
    assert not _decode_threads()


def test_format_time():
    assert format_time(0) == "0:00"
    assert format_time(63.9) == "1:03"
    assert format_time(3725) == "1:02:05"


def test_deleting_the_widget_without_closing_stops_the_worker_thread(qtbot, video):
    widget = VideoPlayer()
    loaded(qtbot, widget, video)  # paused: the worker is waiting, only the hook can stop it
    widget.deleteLater()
    del widget
    qtbot.waitUntil(lambda: not _decode_threads(), timeout=3000)
