"""Opening the real main window in a test, shown and active, closed by pytest-qt; answering
the modal dialogs it opens, within a bounded time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
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


def wait_for_full_render(
    qtbot: QtBot, view: Any, settings: Callable[[Any], bool] = lambda _settings: True
) -> None:
    """Until ``view`` (an ImageView) shows its case's full render, made under view settings
    that pass ``settings``, not the quick preview shown first (a preview has no sharp
    picture: it cannot be revealed)."""
    qtbot.waitUntil(
        lambda: (
            view.current_image() is not None
            and not view._rendered.preview
            and settings(view._rendered.settings)
        ),
        timeout=10000,
    )


# -- modal dialogs ------------------------------------------------------------------------------

Answer = Callable[[Any], object]
Kind = type[QWidget] | tuple[type[QWidget], ...]


@contextmanager
def answer_dialog(
    qtbot: QtBot, *answers: Answer, kind: Kind = QWidget, timeout_ms: int = 5000
) -> Iterator[list[QWidget]]:
    """Answer the modal dialogs (or popup menus) that come up inside the ``with`` block, in
    order: the i-th gets ``answers[i](dialog)``, which must close it (or click what closes it).
    ``kind`` (a class, or a tuple of them) says which to answer: others (a progress dialog)
    may come and go.

    Bounded: the test fails with a clear message, and never hangs, when no ``kind`` dialog
    comes up within ``timeout_ms`` of the block's start (or of the previous answer), when a
    dialog is still up ``timeout_ms`` after its answer, when one more dialog than answered
    comes up, or when an answer raises (its exception is raised again at the block's end).
    Whatever dialog is up when that happens is closed, so the code under test returns.
    Yields the list of the dialogs answered so far."""
    watch = _DialogWatch(answers, kind, timeout_ms)
    try:
        yield watch.answered
        while watch.pending and watch.failure is None:  # e.g. a dialog shown without exec()
            qtbot.wait(_POLL_MS)
    except BaseException as exc:
        if watch.failure is not None:
            exc.add_note(f"while answering dialogs: {watch.failure!r}")
        raise
    finally:
        watch.timer.stop()
    if isinstance(watch.failure, BaseException):
        raise watch.failure
    if watch.failure is not None:
        pytest.fail(watch.failure, pytrace=False)


def note_and_close(texts: list[str]) -> Answer:
    """An answer for :func:`answer_dialog`: note a message box's text, then close it."""

    def answer(box: QMessageBox) -> None:
        texts.append(box.text())
        box.done(0)

    return answer


_POLL_MS = 20


class _DialogWatch:
    """Polls for the next modal dialog or popup and answers it (see :func:`answer_dialog`)."""

    def __init__(self, answers: tuple[Answer, ...], kind: Kind, timeout_ms: int) -> None:
        self.pending = list(answers)
        self.count = len(answers)
        self.kind = kind
        self.timeout_ms = timeout_ms
        self.answered: list[QWidget] = []
        self.failure: str | BaseException | None = None
        self.since = time.monotonic()
        self.timer = QTimer()
        self.timer.setInterval(_POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def poll(self) -> None:
        widget = QApplication.activePopupWidget() or QApplication.activeModalWidget()
        if self.failure is not None:  # failed already: let the code under test return
            if widget is not None:
                _close(widget)
            return
        late = (time.monotonic() - self.since) * 1000 > self.timeout_ms
        if widget is None:
            if late and self.pending:
                self.fail(f"no {self.wanted()} came up within {self.timeout_ms} ms", None)
            return
        if any(widget is done for done in self.answered):
            if late:
                self.fail(
                    f"{_name(widget)} was still open {self.timeout_ms} ms after its answer", widget
                )
            return
        if self.pending and isinstance(widget, self.kind):
            answer = self.pending.pop(0)
            self.answered.append(widget)
            self.since = time.monotonic()
            try:
                answer(widget)
            except BaseException as exc:  # raised again at the block's end
                self.failure = exc
                _close(widget)
            return
        if late:
            what = self.wanted() if self.pending else f"no more than {self.count} dialog(s)"
            self.fail(f"expected {what}, but {_name(widget)} came up", widget)

    def wanted(self) -> str:
        number = len(self.answered) + 1
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        names = " or ".join(kind.__name__ for kind in kinds)
        return f"{names} (dialog {number} of {self.count})"

    def fail(self, message: str, widget: QWidget | None) -> None:
        self.failure = f"answer_dialog: {message}"
        if widget is not None:
            _close(widget)


def _name(widget: QWidget) -> str:
    title = widget.windowTitle()
    return f"{type(widget).__name__} {title!r}" if title else type(widget).__name__


def _close(widget: QWidget) -> None:
    """Close a dialog or popup so the ``exec()`` waiting on it returns."""
    if isinstance(widget, QDialog):
        widget.done(0)
    else:
        widget.close()
