"""The render cache is bounded by bytes, not only by entries (issue 15: GUI memory)."""

from __future__ import annotations

from pathlib import Path

from qa_desktop.core.media import FilterSettings
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.memory import return_freed_pictures_to_os
from qa_desktop.ui.render import (
    BLURRED_MAX_SIDE,
    JobKind,
    RenderCache,
    decoded_bytes,
    rendered_bytes,
)
from qa_desktop.ui.viewer import ImageView

from .factory import mixed_batch


def render_all(qtbot, cache: RenderCache, ws: Workspace, ids: list[str]) -> None:
    for case_id in ids:
        case = ws.queue.case(case_id)
        assert case is not None
        with qtbot.waitSignal(cache.rendered, timeout=20000):
            cache.request(case, FilterSettings())


def test_renders_and_decoded_pictures_stay_within_their_byte_budgets(
    qtbot, workspace: Workspace, tmp_path: Path
):
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch", images=6, videos=1, texts=0))
    one = 640 * 480 * 3  # a 640x480 render holds a sharp picture this size and a blurred
    # one of 400x300 (see test_a_blurred_picture_is_kept_small)
    cache = RenderCache(workspace.queue.open_media, max_bytes=5 * one, max_decoded_bytes=2 * one)
    ids = ["vid-0"] + [f"img-{i}" for i in range(6)]
    render_all(qtbot, cache, workspace, ids)
    kept = list(cache._done.values())
    assert sum(rendered_bytes(r) for r in kept) <= 5 * one  # two renders, not eight
    assert sum(decoded_bytes(d) for d in cache._bases.values()) <= 2 * one
    assert [r.case_id for r in kept] == ["img-3", "img-4", "img-5"]  # the newest, three fit
    assert cache.cached_bytes() <= 7 * one
    assert cache.cached("img-5", FilterSettings()) is not None  # recent ones still cached
    assert cache.cached("vid-0", FilterSettings()) is None  # the oldest were dropped
    cache.shutdown()


def test_one_render_larger_than_the_budget_is_still_kept(qtbot, workspace, tmp_path: Path):
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch", images=2, videos=0, texts=0))
    cache = RenderCache(workspace.queue.open_media, max_bytes=1, max_decoded_bytes=1)
    render_all(qtbot, cache, workspace, ["img-0", "img-1"])
    assert cache.cached("img-1", FilterSettings()) is not None
    assert cache.cached("img-0", FilterSettings()) is None
    cache.shutdown()


def test_freed_pictures_go_back_to_the_system_on_linux():
    import sys

    assert return_freed_pictures_to_os() is sys.platform.startswith("linux")


def test_a_blurred_picture_is_kept_small_and_laid_out_over_the_sharp_one(
    qtbot, workspace: Workspace, tmp_path: Path
):
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch", images=1, videos=1, texts=0))
    cache = RenderCache(workspace.queue.open_media)
    render_all(qtbot, cache, workspace, ["img-0", "vid-0"])
    image, grid = cache.cached("img-0", FilterSettings()), cache.cached("vid-0", FilterSettings())
    assert image is not None and image.sharp is not None and image.blurred is not None
    assert (image.sharp.width(), image.blurred.width()) == (640, BLURRED_MAX_SIDE)
    assert grid is not None and grid.sharp is not None and grid.blurred is not None
    assert grid.blurred.width() * 3 == grid.sharp.width()  # a third of the storyboard
    assert abs(grid.blurred.height() * 3 - grid.sharp.height()) <= 3
    pixelated = FilterSettings(blur_kind="pixelate")  # blocks keep their display size
    with qtbot.waitSignal(cache.rendered, timeout=20000) as blocker:
        cache.request(workspace.queue.case("img-0"), pixelated)  # type: ignore[arg-type]
    assert blocker.args[0].blurred.width() == 640
    cache.shutdown()

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show_rendered(image)
    blurred_rect = view.image_rect()
    view.zoom_in()
    zoomed_blurred = view.image_rect()
    view.set_revealed(True)
    assert view.current_image() is image.sharp
    assert view.image_rect() == zoomed_blurred  # revealing never moves the picture
    view.zoom_fit()
    assert view.image_rect() == blurred_rect


def test_an_unexpected_error_in_a_render_job_is_shown_and_the_workers_keep_going(
    qtbot, workspace: Workspace, tmp_path: Path
):
    """A job raising what the renderer does not expect (e.g. OpenCV's cv2.error) once ended
    its worker thread silently: that case stayed on "Preparing…" and, with both threads gone,
    every later one too."""
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch", images=4, videos=0, texts=0))

    broken = [m for c in ("img-0", "img-1") for m in workspace.queue.case(c).media]  # type: ignore[union-attr]

    def open_media(media):
        if media in broken:
            raise RuntimeError("decoder exploded")
        return workspace.queue.open_media(media)

    cache = RenderCache(open_media)
    for case_id in ("img-0", "img-1"):  # one per worker thread
        case = workspace.queue.case(case_id)
        assert case is not None
        with qtbot.waitSignal(cache.rendered, timeout=20000) as failed:
            cache.request(case, FilterSettings())
        assert "decoder exploded" in failed.args[0].error
    render_all(qtbot, cache, workspace, ["img-2", "img-3"])
    done = cache.cached("img-3", FilterSettings())
    assert done is not None and done.error == "" and done.blurred is not None
    cache.shutdown()


def test_render_jobs_say_their_kind_with_the_job_kind_enum(
    qtbot, workspace: Workspace, tmp_path: Path
):
    """House style: a job's kind is a ``JobKind`` (a StrEnum), not a bare string."""
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch", images=1, videos=0, texts=0))
    case = workspace.queue.case("img-0")
    assert case is not None
    cache = RenderCache(workspace.queue.open_media)
    with cache.opening():  # only previews start while a case opens: the render stays queued
        cache.request(case, FilterSettings(), preview=True)
        queued = [job.kind for job in cache._jobs._queued.values()]
        running = [job.kind for job in cache._jobs._running_jobs.values()]
    assert JobKind.RENDER in queued
    assert all(type(kind) is JobKind for kind in queued + running)
    assert [k.value for k in JobKind] == ["render", "preview"]  # the strings they replace
    cache.wait()
    cache.shutdown()
