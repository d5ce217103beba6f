"""Starting the GUI: the QApplication, first-run profile, the main window."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QInputDialog

from ..core.api import (
    DatabaseError,
)
from ..core.workspace import Workspace
from .main_window import MainWindow
from .plain_text import ask, fail

BASE_POINT_SIZE = 11.0
"""Readable on a laptop and on a shared screen."""


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the app's names and a readable base font."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("QA Desktop")
    app.setOrganizationName("QA Desktop")
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), BASE_POINT_SIZE))
    app.setFont(font)
    return app  # type: ignore[return-value]


def ask_display_name() -> str | None:
    """First run: ask the reviewer for the name their verdicts carry."""
    name, ok = QInputDialog.getText(
        None,
        "Welcome to QA Desktop",
        "Your display name (shown on your verdicts; a stable id is made for you):",
        text=getpass.getuser(),
    )
    return name.strip() if ok and name.strip() else None


def run_gui(data_dir: Path) -> int:
    """Open the main window on ``data_dir`` and run until it closes."""
    app = make_application()
    try:
        ws = Workspace.open(data_dir)
    except DatabaseError as exc:
        fail(None, "Cannot open the data", f"{exc}\n\nChoose another --data-dir.")
        return 2
    first_run = ws.reviewer is None
    if first_run:
        name = ask_display_name()
        if name is None:
            return 1
        ws.ensure_reviewer(name)
    window = MainWindow(ws, summary_on_close=True)
    window.show()
    if first_run and ask(
        window,
        "Signing key",
        "Create your signing key now? Every verdict bundle you send is signed with it, so a "
        "lead can prove it came from you. (Later: Keys ▸ Create my signing key…)",
    ):
        window.create_key()
    try:
        return app.exec()
    finally:
        ws.close()
