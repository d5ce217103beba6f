"""Logging and crash reports: ids and errors in the log, never case text; a plain dialog."""

from __future__ import annotations

import faulthandler
import logging
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui import app
from qa_desktop.ui.app import (
    LOG_FILENAME,
    enable_crash_dumps,
    make_excepthook,
    setup_logging,
)

from .factory import case_record, write_batch
from .windows import open_window

SECRET = "the-unique-words-of-a-case-caption-77"
NOTE = "a-private-note-of-the-reviewer-91"


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """Logging into ``tmp_path/data``; the handler is removed afterwards."""
    path = setup_logging(tmp_path / "data")
    yield path
    for handler in list(app.log.handlers):
        if Path(getattr(handler, "baseFilename", "")) == path:
            app.log.removeHandler(handler)
            handler.close()


def answer_next_box(texts: list[str], formats: list[Qt.TextFormat]) -> None:
    """Record and close the next message box (give up after 5 s)."""
    deadline = time.monotonic() + 5

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            texts.append(box.text())
            formats.append(box.textFormat())
            box.done(0)
        elif time.monotonic() < deadline:
            QTimer.singleShot(25, poll)

    QTimer.singleShot(25, poll)


def test_setting_up_twice_adds_no_second_handler(log_path: Path) -> None:
    handlers = len(app.log.handlers)
    assert setup_logging(log_path.parent) == log_path
    assert len(app.log.handlers) == handlers
    assert log_path.name == LOG_FILENAME


def test_the_hook_logs_the_traceback_and_says_what_happened(qtbot: QtBot, log_path: Path) -> None:
    hook = make_excepthook(log_path)
    texts: list[str] = []
    formats: list[Qt.TextFormat] = []
    answer_next_box(texts, formats)
    try:
        raise RuntimeError(f"<b>boom</b> while showing {SECRET}")
    except RuntimeError:
        hook(*sys.exc_info())
    assert len(texts) == 1, "the dialog did not come up"
    text = texts[0]
    assert formats == [Qt.TextFormat.PlainText]
    assert "RuntimeError" in text and "Nothing you recorded is lost" in text
    assert str(log_path) in text
    logged = log_path.read_text(encoding="utf-8")
    assert "unexpected RuntimeError" in logged
    assert "test_the_hook_logs_the_traceback_and_says_what_happened" in logged  # the stack
    assert SECRET not in logged  # the message may quote case text: never logged


def test_the_log_holds_ids_but_no_case_text_or_notes(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path
) -> None:
    path = setup_logging(workspace.data_dir)
    try:
        workspace.guidelines.import_pack(DEMO_PACK)
        record = case_record("t-0", "text", [], tags=[], text=SECRET)
        window = open_window(qtbot, workspace)
        answered: list[str] = []
        answer_next_box(answered, [])
        window.import_batch(write_batch(tmp_path / "batch", [record]), trust_unsigned=True)
        assert answered and "1 cases added" in answered[0]
        window.review.open_case_by_id("t-0")
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        assert window.review.case is not None and window.review.case.text == SECRET
        qtbot.keyClick(window.review.queue, Qt.Key.Key_1)
        window.review.panel.notes.setPlainText(NOTE)
        qtbot.keyClick(window.review.queue, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert workspace.verdicts.mine("t-0") is not None, window.statusBar().currentMessage()
        qtbot.keyClick(window.review.queue, Qt.Key.Key_U)
        logging.getLogger("qa_desktop").handlers[-1].flush()
        logged = path.read_text(encoding="utf-8")
        assert "recorded a verdict on t-0" in logged and "undid the last verdict on t-0" in logged
        assert SECRET not in logged and NOTE not in logged
    finally:
        for handler in list(app.log.handlers):
            if Path(getattr(handler, "baseFilename", "")) == path:
                app.log.removeHandler(handler)
                handler.close()


def test_crash_dumps_go_to_a_file_in_the_data_dir(tmp_path: Path) -> None:
    try:
        path = enable_crash_dumps(tmp_path)
        assert faulthandler.is_enabled() and path == tmp_path / "crash.log" and path.exists()
    finally:
        faulthandler.enable(sys.__stderr__)
