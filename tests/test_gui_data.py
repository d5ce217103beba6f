"""The main window and its data: a batch folder chosen in the import dialog, the demo batch
loaded from the GUI, and changes another process commits picked up while the window is open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.actions import BY_ID
from qa_desktop.ui.import_dialog import BatchFileDialog

from .factory import mixed_batch
from .windows import open_window


def name_field(dialog: BatchFileDialog) -> QLineEdit:
    field = dialog.findChild(QLineEdit, "fileNameEdit")
    assert field is not None
    return field


def test_the_import_dialog_picks_a_batch_folder(qtbot: QtBot, tmp_path: Path) -> None:
    folder = mixed_batch(tmp_path / "batches" / "spot-check", images=1, videos=0, texts=1)
    dialog = BatchFileDialog(None, tmp_path / "batches")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(name_field(dialog), "spot-check")
    qtbot.keyClick(name_field(dialog), Qt.Key.Key_Return)
    assert dialog.chosen == folder and dialog.result() == BatchFileDialog.DialogCode.Accepted


def test_the_import_dialog_picks_the_folder_it_shows_or_its_batch_json(
    qtbot: QtBot, tmp_path: Path
) -> None:
    folder = mixed_batch(tmp_path / "spot-check", images=1, videos=0, texts=1)
    inside = BatchFileDialog(None, folder)  # navigated into the batch, nothing typed
    qtbot.addWidget(inside)
    inside.show()
    qtbot.waitExposed(inside)
    qtbot.keyClick(name_field(inside), Qt.Key.Key_Return)
    assert inside.chosen == folder
    header = BatchFileDialog(None, folder)
    qtbot.addWidget(header)
    header.show()
    qtbot.waitExposed(header)
    qtbot.keyClicks(name_field(header), "batch.json")
    qtbot.keyClick(name_field(header), Qt.Key.Key_Return)
    assert header.chosen == folder


@pytest.mark.slow
def test_the_empty_screen_loads_the_demo_batch_off_the_gui_thread(
    qtbot: QtBot, workspace: Workspace
) -> None:
    window = open_window(qtbot, workspace)
    assert "qa-desktop demo" not in window.review.viewer.image_view._message
    assert "Load the demo batch" in window.review.viewer.image_view._message
    assert BY_ID["load_demo"].menu == "&File"
    button = window.review.demo_button
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # returns when the worker is done
    qtbot.waitUntil(lambda: window.review.case is not None, timeout=30_000)
    assert window.review.model.rowCount() == workspace.queue.count() > 50
    assert not button.isVisible()
    assert workspace.guidelines.for_case(window.review.case) is not None  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_batch_imported_by_the_cli_in_another_process_shows_up(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    window = open_window(qtbot, workspace)
    assert window.review.case is None and window.review.model.rowCount() == 0
    batch = mixed_batch(tmp_path / "batch", images=2, videos=0, texts=1)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "qa_desktop", "--data-dir", str(workspace.data_dir), "import",
         "--trust-unsigned", str(batch)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: window.review.model.rowCount() == 3, timeout=10_000)
    assert window.review.case is not None and window.review.case.id == "img-0"
    assert "case 1 of 3" in window.status.text()
    assert not window.check_outside_changes()  # nothing new since


@pytest.mark.slow
def test_cases_changed_behind_another_screen_reload_the_queue_when_it_shows_again(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    """A live room's page votes change the data every second while the calibration screen is
    current: the hidden review queue is not reloaded for each, but catches up when shown."""
    workspace.guidelines.import_pack(DEMO_PACK)
    window = open_window(qtbot, workspace)
    window.quiz_screen()  # another screen of the stack is current
    assert window.review.isHidden()
    other = Workspace.open(workspace.data_dir)  # another connection commits, as the page does
    try:
        other.batches.import_batch(mixed_batch(tmp_path / "b", images=1, videos=0, texts=1))
    finally:
        other.close()
    assert window.check_outside_changes()
    assert window.review.model.rowCount() == 0  # not reloaded behind the other screen
    window.show_review()
    qtbot.waitUntil(lambda: window.review.model.rowCount() == 2, timeout=10_000)
    assert window.review.case is not None
    assert "case 1 of 2" in window.status.text()
