"""Wellbeing in the review loop, through real widgets: reveal controls, filters, warning
screen, video, exposure accounting with an injected clock, break suggestions, and no
unblurred pixels ever written to disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from qa_desktop.core import media
from qa_desktop.core.wellbeing import Preferences, SessionTimeRule
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.main_window import MainWindow
from qa_desktop.ui.render import qimage_to_rgb
from qa_desktop.ui.review.preferences import save_preferences
from qa_desktop.ui.wellbeing_dialogs import BreakDialog

from . import windows
from .factory import case_record, detailed_image, write_batch, write_video


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def batch(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Two detailed images, a video, a text tagged graphic, an image tagged graphic."""
    import cv2

    media_dir = tmp_path / "b" / "media"
    media_dir.mkdir(parents=True)
    for i in range(3):
        rgb = detailed_image(800, 600, seed=i)
        cv2.imwrite(str(media_dir / f"img{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    write_video(media_dir / "clip.mp4", 320, 240, frames=36)
    records = [
        case_record("img-0", "image", ["media/img0.png"], tags=["violence"]),
        case_record("img-1", "image", ["media/img1.png"], tags=["spam"]),
        case_record("vid-0", "video", ["media/clip.mp4"], tags=["violence"]),
        case_record("txt-0", "text", [], text="A long and upsetting post. " * 20, tags=["graphic"]),
        case_record("img-2", "image", ["media/img2.png"], tags=["graphic"]),
    ]
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(write_batch(tmp_path / "b", records))
    return workspace


def open_window(qtbot: QtBot, ws: Workspace, clock: FakeClock | None = None) -> MainWindow:
    window = windows.open_window(qtbot, ws, **({"clock": clock} if clock else {}))
    windows.wait_for_full_render(qtbot, window.review.viewer.image_view)
    return window


def key(qtbot: QtBot, window: MainWindow, k: Qt.Key) -> None:
    qtbot.keyClick(window.review.queue, k)


def go_to(qtbot: QtBot, window: MainWindow, case_id: str) -> None:
    window.review.go_to_row(window.review.model.row_of(case_id))  # type: ignore[arg-type]
    assert window.review.case is not None and window.review.case.id == case_id


def shown(window: MainWindow) -> np.ndarray:
    image = window.review.viewer.image_view.current_image()
    assert image is not None
    return qimage_to_rgb(image)


def test_reveal_for_this_case_holds_until_navigation(qtbot: QtBot, batch: Workspace) -> None:
    window = open_window(qtbot, batch)
    view = window.review.viewer.image_view
    key(qtbot, window, Qt.Key.Key_T)
    assert view.revealed and window.review.case_revealed
    assert "REVEALED FOR THIS CASE" in window.status.text()
    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    assert view.revealed  # releasing Space does not undo the toggle
    key(qtbot, window, Qt.Key.Key_J)
    assert not view.revealed and not window.review.case_revealed  # never carries to the next case
    key(qtbot, window, Qt.Key.Key_K)
    assert not view.revealed


def test_a_region_reveal_changes_only_that_region(qtbot: QtBot, batch: Workspace) -> None:
    window = open_window(qtbot, batch)
    view = window.review.viewer.image_view
    blurred = qimage_to_rgb(view.grab().toImage())
    target = view.image_rect()
    a = QPoint(int(target.x() + target.width() * 0.25), int(target.y() + target.height() * 0.25))
    b = QPoint(int(target.x() + target.width() * 0.5), int(target.y() + target.height() * 0.5))
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, a)
    qtbot.mouseMove(view, b)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, b)
    assert len(view.regions) == 1 and not view.revealed
    assert 0.05 < view.revealed_fraction() < 0.08
    after = qimage_to_rgb(view.grab().toImage())
    changed = np.any(after != blurred, axis=2)
    changed[:60, :] = False  # the badge in the corner says a region is revealed
    ys, xs = np.nonzero(changed)
    margin = 4  # the region's outline
    assert xs.min() >= a.x() - margin and xs.max() <= b.x() + margin
    assert ys.min() >= a.y() - margin and ys.max() <= b.y() + margin
    inside = after[a.y() + 5 : b.y() - 5, a.x() + 5 : b.x() - 5]
    before_inside = blurred[a.y() + 5 : b.y() - 5, a.x() + 5 : b.x() - 5]
    assert media.high_frequency_energy(inside) > 5 * media.high_frequency_energy(before_inside)
    key(qtbot, window, Qt.Key.Key_Escape)
    assert view.regions == []


def test_filter_keys_apply_to_this_case_only(qtbot: QtBot, batch: Workspace) -> None:
    window = open_window(qtbot, batch)
    for k, check in (
        (Qt.Key.Key_X, lambda f: f.blur_kind == "pixelate"),
        (Qt.Key.Key_E, lambda f: f.sepia),
        (Qt.Key.Key_D, lambda f: f.reduced_detail),
        (Qt.Key.Key_O, lambda f: f.transparency > 0),
    ):
        key(qtbot, window, k)
        assert check(window.review.case_filters)
        windows.wait_for_full_render(
            qtbot,
            window.review.viewer.image_view,
            lambda s: s == window.review.case_filters,
        )
    assert window.review.protection_bar.buttons["toggle_sepia"].isChecked()
    pixels = shown(window)
    sharp = qimage_to_rgb(window.review.viewer.image_view._rendered.sharp)  # type: ignore[union-attr]
    assert media.high_frequency_energy(pixels) < 0.15 * media.high_frequency_energy(sharp)
    key(qtbot, window, Qt.Key.Key_J)
    assert window.review.case_filters == window.review.settings_for(window.review.case)  # type: ignore[arg-type]


def test_my_default_filters_are_kept_for_the_next_start(qtbot: QtBot, batch: Workspace) -> None:
    window = open_window(qtbot, batch)
    key(qtbot, window, Qt.Key.Key_G)
    qtbot.keyClick(
        window.review.queue,
        Qt.Key.Key_D,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    window.close()
    again = open_window(qtbot, batch)
    assert again.review.settings.grayscale and again.review.case_filters.grayscale


def test_warning_screen_and_collapsed_text_need_an_explicit_opt_in(
    qtbot: QtBot, batch: Workspace
) -> None:
    window = open_window(qtbot, batch)
    go_to(qtbot, window, "txt-0")
    assert window.review.viewer.text_view.collapsed
    assert "graphic" in window.review.viewer.text_view.toPlainText()
    assert "upsetting" not in window.review.viewer.text_view.toPlainText()
    key(qtbot, window, Qt.Key.Key_W)
    assert "upsetting" in window.review.viewer.text_view.toPlainText()

    go_to(qtbot, window, "img-2")
    assert window.review.viewer.currentWidget() is window.review.viewer.warning_view
    key(qtbot, window, Qt.Key.Key_T)
    assert not window.review.case_revealed  # nothing to reveal behind the warning
    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    assert window.review.meter.revealing is False  # nothing to reveal behind the warning
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    key(qtbot, window, Qt.Key.Key_W)
    view = window.review.viewer.image_view
    qtbot.waitUntil(lambda: view.current_image() is not None, timeout=10000)
    assert not window.review.viewer.image_view.revealed  # opting in shows the media protected
    assert window.review.case_filters.grayscale and window.review.case_filters.blur_level >= 9
    go_to(qtbot, window, "img-0")
    go_to(qtbot, window, "img-2")
    # per case, every time
    assert window.review.viewer.currentWidget() is window.review.viewer.warning_view


def test_video_plays_blurred_muted_and_the_storyboard_seeks(qtbot: QtBot, batch: Workspace) -> None:
    window = open_window(qtbot, batch)
    go_to(qtbot, window, "vid-0")
    player = window.review.viewer.player
    qtbot.waitUntil(lambda: player.current_frame() is not None, timeout=10000)
    view = window.review.viewer.image_view
    qtbot.waitUntil(lambda: view.current_image() is not None, timeout=10000)
    assert player.muted and window.review.viewer.video_active()
    key(qtbot, window, Qt.Key.Key_M)
    assert not player.muted
    key(qtbot, window, Qt.Key.Key_L)
    assert player.playing
    qtbot.waitUntil(lambda: player.position_s > 0.3, timeout=5000)
    assert not player.revealed
    key(qtbot, window, Qt.Key.Key_L)
    assert not player.playing

    view = window.review.viewer.image_view
    times = view._rendered.keyframe_times  # type: ignore[union-attr]
    assert len(times) >= 2 and times[-1] > 1.0
    target = view.image_rect()
    # the last tile of the first row of three, or the last tile if fewer
    last = len(times) - 1
    col, row = last % 3, last // 3
    rows = -(-len(times) // 3)
    x = target.x() + target.width() * (col + 0.5) / 3
    y = target.y() + target.height() * (row + 0.5) / rows
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
    qtbot.waitUntil(lambda: abs(player.position_s - times[last]) < 0.2, timeout=5000)
    assert not view.revealed  # a click on the storyboard seeks, it does not reveal

    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    assert player.revealed
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    assert not player.revealed
    key(qtbot, window, Qt.Key.Key_J)
    assert player.isHidden() and not player.worker_alive


def test_exposure_counts_only_revealed_time_weighted_by_area(
    qtbot: QtBot, batch: Workspace
) -> None:
    clock = FakeClock()
    window = open_window(qtbot, batch, clock)
    clock.advance(30)  # looking at blurred content costs nothing
    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    clock.advance(2)
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    clock.advance(10)
    window.review.viewer.image_view.set_regions([(0.0, 0.0, 0.5, 0.5)])  # a quarter of the image
    clock.advance(4)
    window.review.viewer.image_view.set_regions([])
    key(qtbot, window, Qt.Key.Key_T)
    clock.advance(1)
    window.review._tick_exposure()
    assert "unblurred this session 7.0 s" in window.status.text()
    key(qtbot, window, Qt.Key.Key_J)  # navigation stops the reveal and stores it
    totals = batch.wellbeing.exposure_for_case("img-0")
    assert totals.unblurred_ms == pytest.approx(7000)
    assert totals.weighted_ms == pytest.approx(2000 + 1000 + 1000)
    summary = batch.wellbeing.session_summary(window.review.session_id)  # type: ignore[arg-type]
    assert summary.unblurred_ms == 7000
    assert batch.wellbeing.exposure_for_case("img-1").unblurred_ms == 0


def test_a_break_is_suggested_by_rule_and_can_be_taken_or_snoozed(
    qtbot: QtBot, batch: Workspace
) -> None:
    save_preferences_for(batch, Preferences(break_rules=(SessionTimeRule(minutes=1),)))
    clock = FakeClock()
    window = open_window(qtbot, batch, clock)
    window.review.check_break()
    assert QApplication.activeModalWidget() is None  # not yet
    clock.advance(61)
    answers: list[str] = []

    def answer(result: int) -> windows.Answer:
        def close(dialog: BreakDialog) -> None:
            answers.append("break")
            dialog.done(result)

        return close

    with windows.answer_dialog(qtbot, answer(BreakDialog.SNOOZED), kind=BreakDialog):
        window.review.check_break()
    assert answers == ["break"]
    window.review.check_break()
    assert answers == ["break"]  # snoozed
    clock.advance(11 * 60)
    with windows.answer_dialog(
        qtbot, answer(BreakDialog.TOOK_BREAK), lambda screen: screen.accept()
    ):  # the break screen follows; it ends on the reviewer's key
        window.review.check_break()
    assert answers == ["break", "break"]
    assert batch.wellbeing.session_summary(window.review.session_id).breaks_taken == 1  # type: ignore[arg-type]
    window.review.check_break()
    assert answers == ["break", "break"]  # the clock restarted with the break


def save_preferences_for(ws: Workspace, preferences: Preferences) -> None:
    from PySide6.QtCore import QSettings

    save_preferences(
        QSettings(str(ws.data_dir / "settings.ini"), QSettings.Format.IniFormat), preferences
    )


IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"\xff\xd8\xff\xdb",
    b"GIF89a",
    b"ftypisom",
)


def test_no_unblurred_pixels_are_ever_written_to_disk(
    qtbot: QtBot, batch: Workspace, tmp_path: Path
) -> None:
    """Scan every file written during a session full of reveals: none holds pixels."""
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    started = max(before.values())
    window = open_window(qtbot, batch)
    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    key(qtbot, window, Qt.Key.Key_T)
    window.review.viewer.image_view.set_regions([(0.1, 0.1, 0.3, 0.3)])
    key(qtbot, window, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: window.review.case_filters.reduced_detail)
    go_to(qtbot, window, "vid-0")
    player = window.review.viewer.player
    qtbot.waitUntil(lambda: player.current_frame() is not None, timeout=10000)
    key(qtbot, window, Qt.Key.Key_T)
    key(qtbot, window, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: player.position_s > 0.3, timeout=5000)
    key(qtbot, window, Qt.Key.Key_L)
    window.close()

    written = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and (p not in before or p.stat().st_mtime_ns > started)
    ]
    assert written, "the session must at least have written to the database"
    for path in written:
        assert path.name in {"qa.db", "qa.db-wal", "qa.db-shm", "settings.ini"}, path
        data = path.read_bytes()
        for magic in IMAGE_MAGIC:
            assert magic not in data, f"{path.name} holds {magic!r}: image data on disk"
    # and nothing landed in the working directory or the system temp dir either
    assert not [p for p in Path.cwd().glob("*.png") if p.stat().st_mtime_ns > started]
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    assert not [
        p
        for p in tmp.glob("*")
        if p.is_file()
        and p.stat().st_mtime_ns > started
        and p.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp", ".mp4", ".ppm"}
    ]


@pytest.mark.parametrize("suffix", ["gif", "webp"])
def test_animated_images_play_like_video_and_stay_blurred(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, suffix: str
) -> None:
    from PIL import Image

    folder = tmp_path / "anim"
    (folder / "media").mkdir(parents=True)
    frames = [Image.fromarray(detailed_image(320, 240, seed=i)) for i in range(6)]
    frames[0].save(
        folder / "media" / f"a.{suffix}",
        save_all=True,
        append_images=frames[1:],
        duration=80,
        loop=0,
    )
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(
        write_batch(folder, [case_record("anim-0", "image", [f"media/a.{suffix}"], tags=[])])
    )
    window = open_window(qtbot, workspace)
    player = window.review.viewer.player
    viewer = window.review.viewer
    assert viewer.video_active() and not viewer.image_view.storyboard_mode
    qtbot.waitUntil(lambda: player.current_frame() is not None, timeout=10000)
    assert 0.3 < player.duration_s < 0.8  # 6 frames of 80 ms (WebP may round to 100)
    key(qtbot, window, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: player.frame_index >= 3, timeout=5000)
    painted = player.current_frame()
    assert painted is not None
    sharp = np.asarray(frames[player.frame_index].convert("RGB"))
    assert media.high_frequency_energy(painted) < 0.15 * media.high_frequency_energy(sharp)


def test_on_the_playing_video_the_mouse_reveals_and_shift_drag_reveals_a_region(
    qtbot: QtBot, batch: Workspace
) -> None:
    clock = FakeClock()
    window = open_window(qtbot, batch, clock)
    go_to(qtbot, window, "vid-0")
    player = window.review.viewer.player
    qtbot.waitUntil(lambda: player.current_frame() is not None, timeout=10000)
    screen = player.screen_view
    qtbot.waitUntil(lambda: not screen.image_rect().isEmpty(), timeout=5000)
    qtbot.mousePress(screen, Qt.MouseButton.LeftButton)
    assert player.revealed and window.review.meter.revealing
    clock.advance(1)
    qtbot.mouseRelease(screen, Qt.MouseButton.LeftButton)
    assert not player.revealed and not window.review.meter.revealing

    target = screen.image_rect()
    a = QPoint(int(target.x() + 2), int(target.y() + 2))
    b = QPoint(int(target.x() + target.width() / 2), int(target.y() + target.height() / 2))
    qtbot.mousePress(screen, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, a)
    qtbot.mouseMove(screen, b)
    assert screen.dragging is not None  # the dashed outline follows the mouse
    assert screen.dragging.contains(QPointF(a)) and screen.dragging.width() > 10
    assert player.reveal_regions == []
    qtbot.mouseRelease(screen, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, b)
    assert len(player.reveal_regions) == 1 and not player.revealed
    assert screen.dragging is None and screen.regions == player.reveal_regions
    assert window.review.meter.revealing  # a quarter of the picture is unblurred
    clock.advance(4)
    key(qtbot, window, Qt.Key.Key_Escape)
    assert player.reveal_regions == [] and not window.review.meter.revealing
    totals = batch.wellbeing.exposure_for_case("vid-0")
    assert totals.unblurred_ms == pytest.approx(5000)
    assert totals.weighted_ms == pytest.approx(1000 + 1000, rel=0.1)


def test_preferences_dialog_sets_defaults_and_break_rules(qtbot: QtBot, batch: Workspace) -> None:
    from qa_desktop.ui.preferences_dialog import PreferencesDialog

    clock = FakeClock()
    window = open_window(qtbot, batch, clock)
    dialog = PreferencesDialog(window.review.prefs, window)
    dialog.blur_level.setValue(8)
    dialog.grayscale.setChecked(True)
    dialog.session_minutes.setValue(2)
    dialog.severe_seconds.setValue(0)  # never
    dialog.streak.setValue(0)
    dialog.warning_tags.setText("graphic, severe, gore")
    with windows.answer_dialog(qtbot, PreferencesDialog.accept, kind=PreferencesDialog):
        assert window.edit_preferences(dialog)
    assert window.review.settings.blur_level == 8 and window.review.settings.grayscale
    assert [r.kind for r in window.review.advisor.rules] == ["session_time"]
    key(qtbot, window, Qt.Key.Key_J)
    assert window.review.case_filters.blur_level >= 8  # the next case starts from the new defaults
    window.close()
    again = open_window(qtbot, batch)
    assert "gore" in again.review.prefs.warning_screen_tags
    assert again.review.settings.blur_level == 8
