"""Start-up in two short blocks of the GUI thread: the window shows, then the start case opens
(issue 15: no stall over 50 ms at a million cases, measured in benchmarks/bench_scale.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.factory import make_workspace
from tests.windows import open_window

_FIRST_CASE = textwrap.dedent(
    """
    import enum, os, sys
    from pathlib import Path
    from PySide6.QtTest import QTest
    from qa_desktop.core.workspace import Workspace
    from qa_desktop.ui.app import make_application
    from qa_desktop.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(Workspace.open(Path(sys.argv[1])))
    window.show()
    made = []
    create = enum.EnumType._create_
    def counting(cls, name, *args, **kwargs):
        made.append(name)
        return create(cls, name, *args, **kwargs)
    enum.EnumType._create_ = counting
    for _ in range(200):
        if window.review.case is not None:
            break
        QTest.qWait(10)
    print(window.review.case.id if window.review.case else "-", len(made))
    os._exit(0)
    """
)


def test_the_start_case_opens_after_the_window_first_shows(tmp_path: Path, qtbot: QtBot) -> None:
    ws = make_workspace(tmp_path, "ana", cases=3, key=False)
    try:
        window = open_window(qtbot, ws)
        qtbot.waitUntil(lambda: window.review.case is not None)
        assert window.review.case is not None and window.review.case.id == "t-0"
    finally:
        ws.close()


def test_opening_the_first_case_builds_no_python_types_of_qt(tmp_path: Path) -> None:
    """The one-off build of PySide's types (~30 ms, once per process) happens while the
    window is built, before it shows, not in the block that opens the first case."""
    make_workspace(tmp_path, "ana", cases=3, key=False).close()
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_CASE, str(tmp_path / "ana")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=True,
    ).stdout.split()
    assert out[-2:] == ["t-0", "0"]
