"""Opening the real main window in a test, shown and active, closed by pytest-qt."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.main_window import MainWindow


def open_window(qtbot: QtBot, ws: Workspace, **kwargs: Any) -> MainWindow:
    """A shown, active MainWindow on ``ws`` (``kwargs`` go to MainWindow)."""
    window = MainWindow(ws, **kwargs)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window
