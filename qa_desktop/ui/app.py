"""Starting the GUI: the QApplication, logging and crash reports, first-run profile, the window.

The log (``qa-desktop.log`` in the data directory, rotated) holds ids and errors only, never
case text or notes; a hard crash (segfault) dumps the Python stacks to ``crash.log`` there;
an unexpected exception is logged and explained in a plain-text dialog.
"""

from __future__ import annotations

import faulthandler
import gc
import getpass
import logging
import logging.handlers
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QInputDialog

from ..core.api import (
    DatabaseError,
)
from ..core.workspace import Workspace
from .main_window import MainWindow
from .memory import return_freed_pictures_to_os
from .plain_text import ask, fail

LOG_FILENAME = "qa-desktop.log"
CRASH_FILENAME = "crash.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
log = logging.getLogger("qa_desktop")
_crash_file: IO[str] | None = None  # kept open for faulthandler for the life of the process

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]

BASE_POINT_SIZE = 11.0
"""Readable on a laptop and on a shared screen."""


GUI_SWITCH_INTERVAL_S = 0.001
"""``sys.setswitchinterval`` in the GUI process."""


def make_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with the app's names and a readable base font."""
    return_freed_pictures_to_os()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv or sys.argv[:1])
    app.setApplicationName("QA Desktop")
    app.setOrganizationName("QA Desktop")
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), BASE_POINT_SIZE))
    app.setFont(font)
    # A thread waiting for the GIL asks for it after this long: the GUI thread needs it for
    # every Python slot and event filter while workers run Python (5 ms by default made each
    # event wait up to 5 ms, a stall of 60 ms a frame at 1M cases; issue 15).
    sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
    freeze_loaded_objects()
    return app


def freeze_loaded_objects() -> None:
    """Move every object alive now (the loaded modules, classes and functions: ~80k) out of
    the cycle collector's reach, once a process.

    A full collection walks every tracked object with the GIL held. A worker allocating
    fast (an export reading 50k events) set one off at 1M cases, and it held the GIL for
    50-52 ms while the GUI thread waited (issue 15); the loaded code never becomes garbage,
    so walking it again is only cost. Objects made later are collected as before.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()  # no collection first: ~35 ms of start-up for the few cycles imports leave


def ask_display_name() -> str | None:
    """First run: ask the reviewer for the name their verdicts carry."""
    name, ok = QInputDialog.getText(
        None,
        "Welcome to QA Desktop",
        "Your display name (shown on your verdicts; a stable id is made for you):",
        text=getpass.getuser(),
    )
    return name.strip() if ok and name.strip() else None


def setup_logging(data_dir: Path) -> Path:
    """Log to a rotating file in ``data_dir`` (ids and errors only); its path.

    Calling it again for the same file adds no second handler.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOG_FILENAME
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


def enable_crash_dumps(data_dir: Path) -> Path:
    """Have a hard crash (segfault, abort) write every thread's stack to ``crash.log``."""
    global _crash_file
    path = data_dir / CRASH_FILENAME
    if _crash_file is not None:
        _crash_file.close()
    _crash_file = path.open("a", encoding="utf-8")
    faulthandler.enable(_crash_file)
    return path


def describe_crash(error_type: str, log_path: Path) -> str:
    """What the dialog after an unexpected error says (plain text)."""
    return (
        f"Something went wrong inside QA Desktop ({error_type}).\n\n"
        "Nothing you recorded is lost: every verdict is written to the database the moment "
        "you record it.\n\n"
        f"The details are in the log file:\n{log_path}\n\n"
        "You can keep working. If it happens again, send that file to whoever supports "
        "QA Desktop for you (it holds case ids and errors, never case text or notes)."
    )


def make_excepthook(log_path: Path, show: Callable[[str], None] | None = None) -> ExceptHook:
    """A ``sys.excepthook``: log the traceback, then say what happened in a dialog.

    Only the exception's type and the stack are logged, not its message, which may quote
    case text. ``show`` (the dialog by default) gets the plain text to show.
    """

    def show_dialog(text: str) -> None:
        fail(QApplication.activeWindow(), "Unexpected error", text)

    def hook(
        error_type: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        stack = "".join(traceback.format_tb(tb))
        log.error("unexpected %s\n%s", error_type.__name__, stack.rstrip())
        if QApplication.instance() is not None:
            (show or show_dialog)(describe_crash(error_type.__name__, log_path))

    return hook


def run_gui(data_dir: Path) -> int:
    """Open the main window on ``data_dir`` and run until it closes."""
    app = make_application()
    log_path = setup_logging(data_dir)
    enable_crash_dumps(data_dir)
    sys.excepthook = make_excepthook(log_path)
    log.info("started on %s", data_dir.name)
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
        log.info("closed")
