"""The review loop through real widgets: blurred by default, hold to reveal, keyboard verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QProgressDialog
from pytestqt.qtbot import QtBot

from qa_desktop.core import media
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.actions import keyed
from qa_desktop.ui.main_window import MainWindow
from qa_desktop.ui.render import qimage_to_rgb
from qa_desktop.ui.shortcut_map import ShortcutMapDialog

from .factory import case_record, mixed_batch, write_batch
from .windows import answer_dialog, note_and_close, open_window, wait_for_full_render


@pytest.fixture
def loaded(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The workspace with the demo pack and a small mixed batch imported."""
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch"))
    return workspace


def wait_for_image(qtbot: QtBot, window: MainWindow) -> None:
    wait_for_full_render(qtbot, window.review.viewer.image_view)


def painted(window: MainWindow) -> np.ndarray:
    """What the image view paints right now, as RGB pixels (only the image area)."""
    view = window.review.viewer.image_view
    rect = view.image_rect().toAlignedRect().intersected(view.rect())
    return qimage_to_rgb(view.grab(rect).toImage())


def first_tile(grid: np.ndarray, grid_width: int) -> np.ndarray:
    """The middle of the first storyboard tile of a painted grid (480x270 tiles, 6 px gaps)."""
    scale = grid.shape[1] / grid_width
    return grid[round(40 * scale) : round(240 * scale), round(100 * scale) : round(390 * scale)]


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key, text: str = "") -> None:
    qtbot.keyClick(window.review.queue, key)


def test_painted_image_is_blurred_and_space_reveals_only_while_held(
    qtbot: QtBot, loaded: Workspace
) -> None:
    window = open_window(qtbot, loaded)
    wait_for_image(qtbot, window)
    blurred = painted(window)
    assert not window.review.viewer.image_view.revealed

    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    assert window.review.viewer.image_view.revealed
    sharp = painted(window)
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    assert not window.review.viewer.image_view.revealed
    again = painted(window)

    assert media.high_frequency_energy(blurred) < 0.15 * media.high_frequency_energy(sharp)
    assert np.array_equal(blurred, again)


def test_mouse_hold_reveals_and_navigation_reblurs(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    wait_for_image(qtbot, window)
    view = window.review.viewer.image_view
    qtbot.mousePress(view, Qt.MouseButton.LeftButton)
    assert view.revealed
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton)
    assert not view.revealed

    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    assert view.revealed
    press(qtbot, window, Qt.Key.Key_J)  # navigating while revealed
    assert not view.revealed
    assert window.review.case is not None and window.review.case.id == "img-1"


def test_keys_record_a_verdict_with_a_citation_and_move_on(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    assert window.review.case is not None and window.review.case.id == "img-0"
    press(qtbot, window, Qt.Key.Key_2)  # vh_remove in the demo pack
    press(qtbot, window, Qt.Key.Key_C)
    assert QApplication.focusWidget() is window.review.panel.citation_field
    qtbot.keyClicks(window.review.panel.citation_field, "dismember")  # words of a title or body
    assert window.review.panel.suggestions.count() > 0
    qtbot.keyClick(window.review.panel.citation_field, Qt.Key.Key_Return)
    assert window.review.panel.citation_list.count() == 1
    qtbot.wait(300)  # the reviewer looks a while longer: at least 300 ms on this case
    qtbot.keyClick(
        window.review.panel.citation_field, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )

    event = loaded.verdicts.mine("img-0")
    assert event is not None and event.label == "vh_remove"
    assert len(event.citations) == 1 and event.citations[0].pack_id == "demo-global"
    assert event.time_on_case_ms >= 300
    assert window.review.case.id == "img-1"
    assert window.review.model.data(window.review.model.index(0, 5)) == "vh_remove"
    assert window.review.model.data(window.review.model.index(0, 6)) == "agree"


def test_an_enforcing_verdict_needs_a_supporting_citation_and_shows_its_outcome(
    qtbot: QtBot, loaded: Workspace
) -> None:
    window = open_window(qtbot, loaded)  # img-0: the frontline removed it under VH
    press(qtbot, window, Qt.Key.Key_9)  # sp_reduce
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert loaded.verdicts.events() == []
    assert "Not recorded" in window.statusBar().currentMessage()
    press(qtbot, window, Qt.Key.Key_C)
    # VH-2.3 supports vh_remove only
    qtbot.keyClicks(window.review.panel.citation_field, "dismember")
    qtbot.keyClick(window.review.panel.citation_field, Qt.Key.Key_Return)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert loaded.verdicts.events() == []
    press(qtbot, window, Qt.Key.Key_C)
    qtbot.keyClicks(window.review.panel.citation_field, "bulk automated")  # words of SP-1.1
    qtbot.keyClick(window.review.panel.citation_field, Qt.Key.Key_Return)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    event = loaded.verdicts.mine("img-0")
    assert event is not None and event.label == "sp_reduce"
    assert [c.section_id for c in event.citations] == ["VH-2.3", "SP-1.1"]
    assert window.review.model.data(window.review.model.index(0, 6)) == "over enforcement"
    press(qtbot, window, Qt.Key.Key_K)
    assert "over enforcement" in window.review.header.text()


def test_typing_in_the_citation_field_never_triggers_shortcuts(
    qtbot: QtBot, loaded: Workspace
) -> None:
    window = open_window(qtbot, loaded)
    press(qtbot, window, Qt.Key.Key_C)
    qtbot.keyClicks(window.review.panel.citation_field, "jk ug1 2")
    assert window.review.case is not None and window.review.case.id == "img-0"
    assert window.review.panel.selected_label() is None
    assert not window.review.settings.grayscale
    assert window.review.panel.citation_field.text() == "jk ug1 2"
    qtbot.keyClick(window.review.panel.citation_field, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is not window.review.panel.citation_field
    press(qtbot, window, Qt.Key.Key_J)
    assert window.review.case.id == "img-1"


def test_record_needs_a_label(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert loaded.verdicts.events() == []
    assert "label" in window.statusBar().currentMessage()


def test_undo_and_a_restarted_window_reopens_where_we_left(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    press(qtbot, window, Qt.Key.Key_1)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, window, Qt.Key.Key_3)
    press(qtbot, window, Qt.Key.Key_C)
    qtbot.keyClicks(window.review.panel.citation_field, "VH-2.2")
    qtbot.keyClick(window.review.panel.citation_field, Qt.Key.Key_Return)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, window, Qt.Key.Key_K)  # back to img-1
    press(qtbot, window, Qt.Key.Key_U)
    assert loaded.verdicts.mine("img-1") is None
    assert loaded.verdicts.mine("img-0").label == "no_violation"  # type: ignore[union-attr]
    assert len(loaded.verdicts.events()) == 3  # two verdicts and the undo: nothing deleted
    window.close()

    reopened = Workspace.open(loaded.data_dir)
    again = open_window(qtbot, reopened)
    assert again.review.case is not None and again.review.case.id == "img-1"
    press(qtbot, again, Qt.Key.Key_K)
    assert again.review.case.id == "img-0"
    assert "Recorded" in again.review.panel.current.text()
    assert again.review.model.data(again.review.model.index(0, 5)) == "no_violation"
    reopened.close()


def test_grayscale_and_blur_strength_keys(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    wait_for_image(qtbot, window)
    level = window.review.case_filters.blur_level
    press(qtbot, window, Qt.Key.Key_BracketRight)
    assert window.review.case_filters.blur_level == level + 1
    press(qtbot, window, Qt.Key.Key_BracketLeft)
    press(qtbot, window, Qt.Key.Key_BracketLeft)
    assert window.review.case_filters.blur_level == level - 1
    press(qtbot, window, Qt.Key.Key_G)
    assert window.review.case_filters.grayscale
    wait_for_full_render(qtbot, window.review.viewer.image_view, lambda s: s.grayscale)
    pixels = painted(window)
    assert np.array_equal(pixels[..., 0], pixels[..., 1])
    press(qtbot, window, Qt.Key.Key_Plus)
    assert window.review.viewer.image_view.zoom is not None
    press(qtbot, window, Qt.Key.Key_0)
    assert window.review.viewer.image_view.zoom is None
    press(qtbot, window, Qt.Key.Key_J)  # filter changes are for one case only
    assert window.review.case_filters == window.review.settings


def test_video_shows_a_blurred_storyboard_and_text_shows_text(
    qtbot: QtBot, loaded: Workspace
) -> None:
    window = open_window(qtbot, loaded)
    window.review.go_to_row(window.review.model.row_of("vid-0"))  # type: ignore[arg-type]
    wait_for_image(qtbot, window)
    view = window.review.viewer.image_view
    assert view.storyboard_mode and window.review.viewer.video_active()
    # compared at the sharp grid's size: the blurred one is kept a third as large and
    # painted enlarged, smoothly, over the same place
    size = view.rendered.sharp.size()  # type: ignore[union-attr]
    shown = view.current_image().scaled(  # type: ignore[union-attr]
        size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    blurred = first_tile(qimage_to_rgb(shown), size.width())
    qtbot.keyPress(window.review.queue, Qt.Key.Key_Space)
    sharp = first_tile(qimage_to_rgb(view.current_image()), size.width())  # type: ignore[arg-type]
    qtbot.keyRelease(window.review.queue, Qt.Key.Key_Space)
    assert media.high_frequency_energy(blurred) < 0.15 * media.high_frequency_energy(sharp)

    window.review.go_to_row(window.review.model.row_of("txt-0"))  # type: ignore[arg-type]
    assert window.review.viewer.currentWidget() is window.review.viewer.text_view
    assert "synthetic caption" in window.review.viewer.text_view.toPlainText()


def test_next_cases_are_prefetched(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    wait_for_image(qtbot, window)
    review = window.review
    qtbot.waitUntil(lambda: review.renderer.cached("img-1", review.settings) is not None)
    press(qtbot, window, Qt.Key.Key_J)
    assert window.review.viewer.image_view.current_image() is not None  # swapped at once


def test_broken_media_says_what_is_wrong_and_the_case_can_be_decided(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    folder = mixed_batch(tmp_path / "b", images=1, videos=0, texts=0)
    workspace.batches.import_batch(folder)
    stored = workspace.queue.case("img-0").media[0]  # type: ignore[union-attr]
    path = workspace.queue.media_path(stored)
    path.chmod(0o600)
    path.write_bytes(b"\x89PNG\r\n\x1a\n truncated")  # damaged after import
    window = open_window(qtbot, workspace)
    view = window.review.viewer.image_view
    qtbot.waitUntil(lambda: "Cannot show" in view._message, timeout=10000)
    press(qtbot, window, Qt.Key.Key_1)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert workspace.verdicts.mine("img-0") is not None


def test_shortcut_map_lists_every_key(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    seen: list[list[tuple[str, str]]] = []

    def close_map(dialog: ShortcutMapDialog) -> None:
        table = dialog.table
        seen.append(
            [(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())]
        )
        # it fits the screen, Close button included (the table scrolls on a small one)
        assert dialog.frameGeometry().height() <= dialog.screen().availableGeometry().height()
        dialog.done(QDialog.DialogCode.Accepted)

    with answer_dialog(qtbot, close_map, kind=ShortcutMapDialog):
        press(qtbot, window, Qt.Key.Key_Question)
    assert seen == [[(action.keys, action.description) for action in keyed()]]


def test_bad_batch_from_the_gui_says_what_to_do_and_changes_nothing(
    qtbot: QtBot, loaded: Workspace, tmp_path: Path
) -> None:
    window = open_window(qtbot, loaded)
    bad = write_batch(
        tmp_path / "bad", [case_record("x-1", "image", ["media/missing.png"])], batch_id="bad-batch"
    )
    messages: list[str] = []

    before = loaded.queue.count()
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        window.import_batch(bad, trust_unsigned=True)
    assert messages and "missing.png" in messages[0] and "Nothing was imported" in messages[0]
    assert loaded.queue.count() == before


def test_good_batch_from_the_gui_fills_the_queue(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    window = open_window(qtbot, workspace)
    assert window.review.case is None
    assert "No cases yet" in window.review.viewer.image_view._message

    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        window.import_batch(
            mixed_batch(tmp_path / "batch", images=2, videos=0, texts=1), trust_unsigned=True
        )
    assert messages and "3 cases added" in messages[0] and "unsigned" in messages[0]
    assert window.review.model.rowCount() == 3
    assert window.review.case is not None and window.review.case.id == "img-0"


def test_long_queue_reads_only_the_pages_it_shows(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    records = [case_record(f"t-{i:05d}", "text", [], tags=[]) for i in range(3000)]
    workspace.batches.import_batch(write_batch(tmp_path / "long", records, batch_id="long"))
    window = open_window(qtbot, workspace)
    assert window.review.model.rowCount() == 3000
    assert window.review.model.pages_loaded <= 2
    window.review.go_to_row(2999)
    assert window.review.case is not None and window.review.case.id == "t-02999"
    assert window.review.model.pages_loaded <= 4


def test_cancelling_the_import_dialog_writes_nothing(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    records = [case_record(f"c-{i:06d}", "text", [], tags=[]) for i in range(60000)]
    batch = write_batch(tmp_path / "big", records, batch_id="big")
    window = open_window(qtbot, workspace)
    messages: list[str] = []

    def cancel(box: QProgressDialog) -> None:
        assert isinstance(box, QProgressDialog)
        qtbot.keyClick(box, Qt.Key.Key_Escape)  # what a keyboard user does

    with answer_dialog(qtbot, cancel, note_and_close(messages), kind=QDialog):
        window.import_batch(batch, trust_unsigned=True)
    assert messages and "cancelled" in messages[0] and "Nothing was imported" in messages[0]
    assert workspace.queue.count() == 0
    assert list(workspace.database_for_tests().query("select * from batches")) == []


def test_a_case_tagged_severe_gets_stronger_blur_and_grayscale(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    folder = mixed_batch(tmp_path / "b", images=2, videos=0, texts=0)
    records = [json.loads(line) for line in (folder / "cases.jsonl").read_text().splitlines()]
    records[1]["tags"] = ["violence", "severe"]
    write_batch(folder, records)
    workspace.batches.import_batch(folder)
    window = open_window(qtbot, workspace)
    wait_for_image(qtbot, window)
    review = window.review
    assert review.settings_for(review.case).blur_level == review.settings.blur_level  # type: ignore[arg-type]
    press(qtbot, window, Qt.Key.Key_J)
    # tagged severe
    assert window.review.viewer.currentWidget() is window.review.viewer.warning_view
    assert "severe" in window.review.viewer.warning_view.text()
    press(qtbot, window, Qt.Key.Key_W)  # explicit opt-in
    wait_for_image(qtbot, window)
    shown = window.review.viewer.image_view.current_image()
    assert shown is not None
    rgb = qimage_to_rgb(shown)
    assert np.array_equal(rgb[..., 0], rgb[..., 1])  # grayscale
    assert window.review.settings_for(window.review.case).blur_level >= 8  # type: ignore[arg-type]
    assert "severe" in window.status.text()


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_an_unsigned_batch_is_imported_only_after_the_reviewer_says_so(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, answer: str
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    window = open_window(qtbot, workspace)
    seen: list[str] = []

    def respond(box: QMessageBox) -> None:  # the question
        seen.append(box.text())
        button = (
            QMessageBox.StandardButton.Yes if answer == "yes" else QMessageBox.StandardButton.No
        )
        box.button(button).click()

    with answer_dialog(qtbot, respond, note_and_close(seen), kind=QMessageBox):
        window.import_batch(mixed_batch(tmp_path / "batch", images=1, videos=0, texts=1))
    assert "not signed by an issuer you trust" in seen[0]
    if answer == "yes":
        assert "Marked as unsigned" in seen[1] and workspace.queue.count() == 2
        status = (
            workspace.database_for_tests()
            .execute("select signature_status from batches")
            .fetchone()[0]
        )
        assert status == "unsigned"
    else:
        assert "Nothing was imported" in seen[1] and workspace.queue.count() == 0


def test_the_window_fits_a_1366_by_768_laptop(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768
    available = window.screen().availableGeometry()  # (800x800 offscreen)
    assert window.width() <= max(available.width(), hint.width())
    assert window.height() <= max(available.height(), hint.height())


def test_with_the_guidelines_open_it_still_fits_a_laptop(qtbot: QtBot, loaded: Workspace) -> None:
    window = open_window(qtbot, loaded)
    window.show_guidelines()
    qtbot.waitUntil(window.guideline_dock.isVisible)
    assert not window.review.queue_pane.isVisible()  # folded away to make room
    assert window.minimumSizeHint().width() <= 1366
    window.toggle_guidelines()
    qtbot.waitUntil(window.review.queue_pane.isVisible)
