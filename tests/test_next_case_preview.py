"""The next case paints at once (issue 15): a small protected preview of a still JPEG shows
until its full render arrives, never a sharp picture; the case on screen is rendered before
older prefetches; a blurred picture is shrunk without smoothing."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qa_desktop.core import media
from qa_desktop.core.api import Cancelled, Case, FilterSettings
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui import render
from qa_desktop.ui.main_window import MainWindow
from qa_desktop.ui.render import RenderCache, Rendered, _Job, _JobQueue, preview_case, qimage_to_rgb
from qa_desktop.ui.viewer import smooth_scaling

from .factory import case_record, detailed_image, write_batch
from .windows import open_window


def jpeg_batch(folder: Path, count: int = 4) -> Path:
    """A batch of detailed 1200x900 JPEG image cases (``jpg-0`` ...)."""
    (folder / "media").mkdir(parents=True)
    records = []
    for i in range(count):
        name = f"media/jpg{i}.jpg"
        cv2.imwrite(str(folder / name), detailed_image(1200, 900, seed=i))
        records.append(case_record(f"jpg-{i}", "image", [name]))
    return write_batch(folder, records)


@pytest.fixture
def jpegs(workspace: Workspace, tmp_path: Path) -> Workspace:
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(jpeg_batch(tmp_path / "batch"))
    return workspace


def painted(window: MainWindow) -> np.ndarray:
    view = window.review.viewer.image_view
    rect = view.image_rect().toAlignedRect().intersected(view.rect())
    return qimage_to_rgb(view.grab(rect).toImage())


def sharp_energy(seed: int) -> float:
    return media.high_frequency_energy(detailed_image(1200, 900, seed=seed))


def test_j_paints_a_protected_preview_first_and_space_cannot_reveal_it(
    qtbot: QtBot, jpegs: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One render thread: the preview (first in the round) is surely done before the render.
    monkeypatch.setattr(render, "RENDER_THREADS", 1)
    window = open_window(qtbot, jpegs)
    review = window.review
    view = review.viewer.image_view
    qtbot.waitUntil(lambda: view.rendered is not None and not view.rendered.preview, timeout=10000)
    review.renderer.wait()
    QApplication.processEvents()  # the prefetched renders arrive...
    review.renderer.clear()  # ...and are forgotten: nobody prefetched the next case
    seen: list[Rendered | None] = []
    review.renderer.previewed.connect(lambda _p: seen.append(view.rendered))
    with qtbot.waitSignal(review.renderer.previewed, timeout=10000):
        qtbot.keyClick(review.queue, Qt.Key.Key_J)
    assert review.case is not None and review.case.id == "jpg-1"
    shown = seen[0]  # (the next case's stored preview may arrive in the same turn)
    assert shown is not None and shown.preview and shown.case_id == "jpg-1"
    assert shown.sharp is None
    assert media.high_frequency_energy(painted(window)) < 0.15 * sharp_energy(1)
    qtbot.keyPress(review.queue, Qt.Key.Key_Space)  # nothing sharp to reveal yet
    assert not view.revealed
    assert media.high_frequency_energy(painted(window)) < 0.15 * sharp_energy(1)
    qtbot.keyRelease(review.queue, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: view.rendered is not None and not view.rendered.preview, timeout=10000)
    assert view.rendered is not None and view.rendered.case_id == "jpg-1"
    assert view.rendered.sharp is not None and not view.revealed


def test_a_late_preview_never_replaces_the_render_on_screen(qtbot: QtBot, jpegs: Workspace) -> None:
    window = open_window(qtbot, jpegs)
    review = window.review
    view = review.viewer.image_view
    qtbot.waitUntil(lambda: view.rendered is not None and not view.rendered.preview, timeout=10000)
    full = view.rendered
    assert review.case is not None and full is not None
    late = preview_case(review.case, jpegs.queue.open_media, review.case_filters)
    assert late is not None and late.preview
    review._on_previewed(late)
    assert view.rendered is full


def test_a_preview_is_small_blurred_and_has_no_sharp_picture(jpegs: Workspace) -> None:
    case = jpegs.queue.case("jpg-2")
    assert case is not None
    for settings in (FilterSettings(), FilterSettings(blur_kind="pixelate", grayscale=True)):
        preview = preview_case(case, jpegs.queue.open_media, settings)
        assert preview is not None and preview.sharp is None and preview.blurred is not None
        assert max(preview.blurred.width(), preview.blurred.height()) <= render.PREVIEW_MAX_SIDE
        pixels = qimage_to_rgb(preview.blurred)
        small_sharp = cv2.resize(detailed_image(1200, 900, seed=2), pixels.shape[1::-1])
        assert media.high_frequency_energy(pixels) < 0.15 * media.high_frequency_energy(small_sharp)


def test_a_damaged_image_has_no_preview(jpegs: Workspace) -> None:
    case = jpegs.queue.case("jpg-3")
    assert case is not None
    stored = jpegs.queue.open_media(case.media[0])
    stored.preview_path.unlink()  # made the slow way (its stored preview: test_stored_previews)
    data = bytearray(stored.path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the sealed file no longer authenticates
    stored.path.write_bytes(bytes(data))
    assert preview_case(case, jpegs.queue.open_media, FilterSettings()) is None


def _job(case: Case, name: str, round_: int, rank: float, arrival: int) -> _Job:
    return _Job("render", replace(case, id=name), FilterSettings(), None, (-round_, rank, arrival))


def test_the_case_on_screen_is_rendered_before_older_prefetches(jpegs: Workspace) -> None:
    case = jpegs.queue.case("jpg-0")
    assert case is not None
    order: list[str] = []
    started, release = threading.Event(), threading.Event()

    def run(job: _Job) -> None:
        order.append(job.case.id)
        if job.case.id == "busy":
            started.set()
            release.wait(10)

    jobs = _JobQueue(run, threads=1)
    jobs.put(_job(case, "busy", 1, 0, 1))
    assert started.wait(10)
    jobs.put(_job(case, "old-next", 1, 1.5, 2))
    jobs.put(_job(case, "old-far", 1, 2.5, 3))
    jobs.put(_job(case, "now", 2, 1.5, 4))  # the reviewer moved on: a new round
    jobs.put(_job(case, "old-far", 2, 2.5, 5))  # asked for again in the new round: moves up
    jobs.put(_job(case, "busy", 2, 3.5, 6), move_only=True)  # running: not queued twice
    release.set()
    assert jobs.wait(10)
    jobs.stop()
    assert order == ["busy", "now", "old-far", "old-next"]


def test_the_render_cache_stops_its_threads(qtbot: QtBot, jpegs: Workspace) -> None:
    cache = RenderCache(jpegs.queue.open_media)
    case = jpegs.queue.case("jpg-0")
    assert case is not None
    with qtbot.waitSignal(cache.rendered, timeout=10000):
        cache.request(case, FilterSettings(), preview=True)
    threads = list(cache._jobs._threads)
    assert threads
    cache.shutdown()
    assert not any(t.is_alive() for t in threads)
    assert cache.cached_bytes() == 0


def test_only_a_shrunk_gaussian_blur_is_painted_without_smoothing() -> None:
    big = QImage(1600, 1200, QImage.Format.Format_RGB888)
    small_target, large_target = QRectF(0, 0, 800, 600), QRectF(0, 0, 2000, 1500)
    blurred = Rendered("c", FilterSettings(), sharp=QImage(big), blurred=big)
    assert not smooth_scaling(blurred, big, small_target)
    assert smooth_scaling(blurred, big, large_target)  # enlarging stays smooth
    assert smooth_scaling(blurred, blurred.sharp, small_target)  # type: ignore[arg-type]
    for settings in (FilterSettings(blur_kind="pixelate"), FilterSettings(reduced_detail=True)):
        assert smooth_scaling(Rendered("c", settings, blurred=big), big, small_target)
    assert smooth_scaling(None, big, small_target)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_jpeg_decodes_for_display_as_pillow_decodes_it(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "photo.jpg"
    Image.fromarray(detailed_image(2400, 1800, seed=5)).convert(mode).save(path, quality=90)
    shown = media.decode_image_for_display(path, 1600)
    with Image.open(path) as image:
        image.draft("RGB", (1600, 1200))
        reference = np.asarray(image.convert("RGB").resize((1600, 1200), Image.BILINEAR))
    assert shown.shape == (1200, 1600, 3)

    def coarse(rgb: np.ndarray) -> np.ndarray:  # the picture, without resampling noise
        return cv2.resize(rgb, (160, 120), interpolation=cv2.INTER_AREA).astype(int)

    assert float(np.abs(coarse(shown) - coarse(reference)).mean()) < 3


def test_a_cmyk_jpeg_still_decodes(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.fromarray(detailed_image(800, 600, seed=6)).convert("CMYK").save(path)
    assert media.decode_image_for_display(path, 400).shape == (300, 400, 3)


def _preview_job(case: Case, name: str, round_: int, rank: float, arrival: int) -> _Job:
    return _Job("preview", replace(case, id=name), FilterSettings(), None, (-round_, rank, arrival))


def test_while_a_case_opens_only_its_previews_start_then_left_cases_are_dropped(
    jpegs: Workspace,
) -> None:
    case = jpegs.queue.case("jpg-0")
    assert case is not None
    order: list[str] = []
    jobs = _JobQueue(lambda job: order.append(job.case.id), threads=2)
    jobs.hold(1)
    jobs.put(_preview_job(case, "left-preview", 0, 0, 1))  # a case the reviewer left
    jobs.put(_job(case, "left-render", 0, 1.5, 2))
    jobs.put(_preview_job(case, "now-preview", 1, 0, 3))
    jobs.put(_job(case, "now-render", 1, 1.5, 4))
    jobs.put(_preview_job(case, "next-preview", 1, 1, 5))
    jobs.put(_job(case, "next-render", 1, 2.5, 6))
    jobs.put(_job(case, "left-render", 1, 3.5, 7))  # asked for again: kept
    deadline = time.monotonic() + 10
    while len(order) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # nothing else may start while the case opens
    assert sorted(order) == ["next-preview", "now-preview"]
    dropped = jobs.release(1)
    assert [job.case.id for job in dropped] == ["left-preview"]
    assert jobs.wait(10)
    jobs.stop()
    assert order[2:] == ["now-render", "next-render", "left-render"]


def test_a_job_dropped_for_a_left_case_is_made_when_asked_for_again(
    qtbot: QtBot, jpegs: Workspace
) -> None:
    cache = RenderCache(jpegs.queue.open_media)
    first, second = jpegs.queue.case("jpg-0"), jpegs.queue.case("jpg-1")
    assert first is not None and second is not None
    settings = FilterSettings()
    cache._jobs.hold(-1)  # nothing starts: the jobs stay queued
    cache.request(first, settings, preview=True)
    with cache.opening():  # the reviewer moved on before anything started
        cache.request(second, settings, preview=True)
    assert "jpg-0" not in cache._pending and "jpg-0" not in cache._preview_pending
    assert cache.wait()
    QApplication.processEvents()
    assert cache.cached("jpg-0", settings) is None  # dropped, never rendered
    with qtbot.waitSignal(cache.rendered, timeout=10000) as signal, cache.opening():
        cache.request(first, settings)
    assert signal.args is not None and signal.args[0].case_id == "jpg-0"
    cache.shutdown()


def test_a_display_decode_stops_when_cancelled_and_is_the_same_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), detailed_image(2400, 1800, seed=7))
    asked: list[int] = []

    def cancelled_after_two_reads() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Cancelled):
        media.decode_image_for_display(path, 400, cancelled=cancelled_after_two_reads)
    kept = media.decode_image_for_display(path, 400, cancelled=lambda: False)
    plain = media.decode_image_for_display(path, 400)
    assert kept.shape == plain.shape == (300, 400, 3)
    assert float(np.abs(kept.astype(int) - plain.astype(int)).mean()) < 3


def test_a_cancelled_preview_is_none(jpegs: Workspace) -> None:
    case = jpegs.queue.case("jpg-1")
    assert case is not None
    assert preview_case(case, jpegs.queue.open_media, FilterSettings(), lambda: True) is None


def test_a_running_preview_of_a_case_left_is_cancelled_and_one_still_wanted_is_not(
    jpegs: Workspace,
) -> None:
    case = jpegs.queue.case("jpg-0")
    assert case is not None
    running: dict[str, _Job] = {}
    both_started = threading.Barrier(3)
    ended: list[tuple[str, bool]] = []

    def run(job: _Job) -> None:
        running[job.case.id] = job
        both_started.wait(10)
        job.cancel.wait(0.5)  # a decode that stops soon after it is cancelled
        ended.append((job.case.id, job.cancel.is_set()))

    jobs = _JobQueue(run, threads=2)
    jobs.put(_preview_job(case, "left", 1, 0, 1))
    jobs.put(_preview_job(case, "next", 1, 1, 2))
    both_started.wait(10)
    jobs.hold(2)  # J again: "next" is on screen now, "left" is not asked for
    jobs.put(_preview_job(case, "next", 2, 0, 3), move_only=True)
    assert jobs.release(2) == []
    assert jobs.wait(10)
    jobs.stop()
    assert sorted(ended) == [("left", True), ("next", False)]


def test_a_case_opening_cancels_other_running_previews_before_it_reads_the_case(
    jpegs: Workspace,
) -> None:
    case = jpegs.queue.case("jpg-0")
    assert case is not None
    both_started = threading.Barrier(3)
    finish = threading.Event()
    ended: list[tuple[str, bool]] = []

    def run(job: _Job) -> None:
        both_started.wait(10)
        # a decode that stops soon after it is cancelled, or ends when the test says so
        while not job.cancel.wait(0.01) and not finish.is_set():
            pass
        ended.append((job.case.id, job.cancel.is_set()))

    jobs = _JobQueue(run, threads=2)
    jobs.put(_preview_job(case, "left", 1, 0, 1))
    jobs.put(_preview_job(case, "next", 1, 1, 2))
    both_started.wait(10)
    jobs.hold(2, keep="next")  # J again: the key press, before the case is read
    deadline = time.monotonic() + 10
    while not ended and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended == [("left", True)], "the left case's preview still held a thread"
    finish.set()
    jobs.put(_preview_job(case, "next", 2, 0, 3), move_only=True)
    assert jobs.release(2) == []
    assert jobs.wait(10)
    jobs.stop()
    assert ended == [("left", True), ("next", False)]
