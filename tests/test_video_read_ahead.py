"""The player's decode stage (issue 15): decoded on its own thread a few frames ahead, handed
out in order, a seek never followed by a frame from before it, no thread left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_desktop.core import media
from qa_desktop.core.api import MediaError
from qa_desktop.ui.video_player import VideoPlayer
from qa_desktop.ui.video_read_ahead import READ_AHEAD_FRAMES, ReadAhead

from .test_media_encryption import CHUNK_SIZE, HEADER_SIZE, TAG_SIZE, flip, stored_copy
from .test_video_player import BAND, FPS, FRAMES, read_band_levels, write_detailed_video


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_detailed_video(tmp_path_factory.mktemp("ahead") / "detailed.mp4")


@pytest.fixture(scope="module")
def levels(video: Path) -> np.ndarray:
    """The grey band's level of every frame, decoded sequentially without the stage."""
    return read_band_levels(video)


def index_of(bgr: np.ndarray, levels: np.ndarray) -> int:
    """Which frame a decoded picture is, by its grey band."""
    return int(np.abs(levels - float(bgr[BAND].mean())).argmin())


def stage_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name in ("video-decode", "video-read") and t.is_alive()
    ]


def wait_full(ahead: ReadAhead, want: int = READ_AHEAD_FRAMES) -> None:
    """Wait until the stage holds ``want`` frames (its buffer is full)."""
    pause = threading.Event()
    for _ in range(500):
        if ahead.buffered >= want:
            return
        pause.wait(0.01)
    raise AssertionError(f"the stage never held {want} frames")


def test_frames_come_in_order_then_the_end(video: Path, levels: np.ndarray) -> None:
    ahead = ReadAhead(media.VideoCapture(video), video.name)
    ahead.start()
    got = []
    while (item := ahead.next()) is not None:
        index, bgr = item
        assert index_of(bgr, levels) == index
        got.append(index)
    assert got == list(range(FRAMES))
    assert ahead.next() is None  # past the end: at once, never waiting
    ahead.stop()
    ahead.thread.join(5)
    assert not ahead.thread.is_alive()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.integers(0, FRAMES - 1), st.just(-1)),  # -1: take the next frame
        min_size=1,
        max_size=8,
    )
)
def test_any_seeks_and_reads_give_the_frames_a_sequential_decode_gives(
    video: Path, levels: np.ndarray, steps: list[int]
) -> None:
    ahead = ReadAhead(media.VideoCapture(video), video.name)
    ahead.start()
    expected, fills = 0, True  # fills: the stage refills (the end not yet taken)
    try:
        for step in steps:
            if step >= 0:
                # seek with the buffer full (of frames, or up to the end of the stream)
                wait_full(ahead, min(READ_AHEAD_FRAMES, FRAMES - expected + 1) if fills else 0)
                ahead.seek(step)
                expected, fills = step, True
            item = ahead.next()
            if expected >= FRAMES:
                assert item is None
                fills = False  # the end was taken: the stage holds nothing until a seek
                continue
            assert item is not None
            index, bgr = item
            assert (index, index_of(bgr, levels)) == (expected, expected)
            expected += 1
    finally:
        ahead.stop()
        ahead.thread.join(5)
    assert not ahead.thread.is_alive()


def test_stop_while_the_buffer_is_full_ends_the_thread(video: Path) -> None:
    ahead = ReadAhead(media.VideoCapture(video), video.name)
    ahead.start()
    wait_full(ahead)  # the thread now waits for room
    ahead.stop()
    ahead.thread.join(5)
    assert not ahead.thread.is_alive()
    assert ahead.next() is None


def test_a_damaged_stored_video_raises_its_error_in_order(tmp_path: Path) -> None:
    stored = stored_copy(tmp_path, write_detailed_video(tmp_path / "clip.mp4", frames=FRAMES))
    flip(stored.path, HEADER_SIZE + 3 * (CHUNK_SIZE + TAG_SIZE) + 100)
    ahead = ReadAhead(media.VideoCapture(stored), stored.name)
    ahead.start()
    seen = 0
    with pytest.raises(MediaError, match=r"clip\.mp4: the stored file is damaged"):
        while ahead.next() is not None:
            seen += 1
    assert 0 < seen < FRAMES
    ahead.stop()
    ahead.thread.join(5)


# -- through the player -------------------------------------------------------------------


@pytest.fixture
def player(qtbot):
    widget = VideoPlayer()
    qtbot.addWidget(widget)
    widget.resize(800, 520)
    yield widget
    widget.close()
    assert not stage_threads()


def test_a_seek_while_the_stage_is_full_shows_the_frame_sought(qtbot, player, video, levels):
    with qtbot.waitSignal(player.frame_shown, timeout=5000):
        player.load(video)
    player.set_revealed(True)
    qtbot.waitUntil(lambda: player.frames_decoded_ahead == READ_AHEAD_FRAMES, timeout=5000)
    target = 2 * FPS  # frames 1-3 wait in the stage; none of them may show
    shown: list[int] = []
    player.frame_shown.connect(shown.append)
    with qtbot.waitSignal(player.frame_shown, timeout=5000):
        player.seek(target / FPS)
    assert shown == [target]
    assert index_of(cv2.cvtColor(player.current_frame(), cv2.COLOR_RGB2BGR), levels) == target
    with qtbot.waitSignal(player.frame_shown, timeout=5000) as step:
        player.step_frame(1)
    assert step.args == [target + 1]
    assert shown == [target, target + 1]


def test_close_mid_stream_leaves_no_thread_running(qtbot, player, video):
    with qtbot.waitSignal(player.frame_shown, timeout=5000):
        player.load(video)
    player.play()
    qtbot.waitUntil(lambda: player.frame_index >= 5, timeout=5000)
    assert {t.name for t in stage_threads()} == {"video-decode", "video-read"}
    player.close_media()  # returns at once; both threads end by themselves
    qtbot.waitUntil(lambda: not stage_threads(), timeout=5000)
    assert player.current_frame() is None and not player.playing


def _undecodable(folder: Path) -> Path:
    """An mp4 whose container is intact but whose frame data is noise."""
    good = write_detailed_video(folder / "good.mp4", frames=24)
    data = bytearray(good.read_bytes())
    start = data.index(b"mdat") + 4
    noise = np.random.default_rng(5).integers(0, 256, len(data) - start, np.uint8).tobytes()
    data[start:] = noise
    path = folder / "undecodable.mp4"
    path.write_bytes(bytes(data))
    return path


def test_an_undecodable_video_shows_the_error(qtbot, player, tmp_path):
    path = _undecodable(tmp_path)
    with qtbot.waitSignal(player.failed, timeout=10000) as failure:
        player.load(path)
    assert failure.args[0].startswith("Cannot play this video: undecodable.mp4")
    assert player.error == failure.args[0] == player.screen_view.message
    assert player.current_frame() is None
    qtbot.waitUntil(lambda: not stage_threads(), timeout=5000)
