"""When the database cannot take a verdict (another process holds it), the window says so
and the reviewer's draft stays in the panel, to be recorded again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qa_desktop.core import store
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import mixed_batch
from .windows import open_window

_HOLD_WRITE_LOCK = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_a_failed_record_is_shown_in_the_window_and_keeps_the_draft(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.guidelines.import_pack(DEMO_PACK)
    workspace.batches.import_batch(mixed_batch(tmp_path / "batch"))
    # Wait briefly for the lock and do not retry, so the test does not wait 40 s.
    monkeypatch.setattr(store, "BUSY_RETRIES", 0)
    workspace.database_for_tests().execute("PRAGMA busy_timeout=50")
    window = open_window(qtbot, workspace)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_1)
    qtbot.keyClick(window.review.queue, Qt.Key.Key_N)
    qtbot.keyClicks(window.review.panel.notes, "seen before, same uploader")

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE_LOCK, str(workspace.data_dir / "qa.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        qtbot.keyClick(
            window.review.panel.notes, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
        message = window.statusBar().currentMessage()
        assert "Not recorded" in message and "busy" in message and "draft is kept" in message
        assert workspace.verdicts.events() == []
        assert window.review.panel.notes.toPlainText() == "seen before, same uploader"
    finally:
        holder.communicate("", timeout=30)

    qtbot.keyClick(
        window.review.panel.notes, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )
    [event] = workspace.verdicts.events()
    assert event.notes == "seen before, same uploader"
    window.close()
