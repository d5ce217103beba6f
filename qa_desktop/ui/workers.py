"""Slow work (import, export, sync) off the GUI thread, behind a progress dialog with Cancel.

The job gets its own Workspace (its own SQLite connection), opened on the data directory in
the worker thread; it reports ``progress(done, total)`` and polls ``cancelled()``::

    outcome = run_in_background(
        parent, "Import case batch", "Importing batch.zip…", data_dir,
        lambda ws, progress, cancelled: ws.batches.import_batch(path, progress, cancelled),
    )
    if outcome.cancelled: ...            # the job stopped because Cancel was pressed
    elif outcome.error is not None: ...  # what the job raised, to describe
    else: use(outcome.result)
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QRunnable,
    QThread,
    QTimer,
    Signal,
    SignalInstance,
    Slot,
)
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..core.api import Cancelled
from ..core.workspace import Workspace

T = TypeVar("T")

Progress = Callable[[int, int], None]
"""``progress(done, total)``: how far the job got."""
IsCancelled = Callable[[], bool]
"""``cancelled()``: True once the reviewer pressed Cancel; the job stops at its next poll."""
Job = Callable[[Workspace, Progress, IsCancelled], T]
"""The work: gets the worker thread's own Workspace, a progress callback, the cancel check."""

log = logging.getLogger(__name__)

START_AFTER_MS = 50
"""A modal task's worker starts this long after its dialog shows (the window under the dialog
repaints first, with the interpreter to itself)."""


WORKER_NICENESS = 5
"""How much nicer (to the CPU scheduler) than the GUI thread a background job's thread is."""


def yield_to_gui_thread() -> None:
    """Make the calling worker thread nicer than the app's GUI thread (Linux: a thread's
    niceness is its own), so when a worker lets go of the GIL the woken GUI thread runs
    first instead of the worker taking the GIL straight back: two workers at once (a report
    computing at 1M cases and an export) starved the GUI thread for 68 ms (issue 15).
    Idempotent for a pool's reused thread (set from the process's niceness, not added);
    does nothing where threads cannot have their own priority."""
    try:
        base = os.getpriority(os.PRIO_PROCESS, os.getpid())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, base + WORKER_NICENESS))
    except (AttributeError, OSError):  # no per-thread priority here (not Linux)
        pass


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How a background job ended: its result, or what it raised, and whether it was cancelled."""

    result: T | None = None
    error: Exception | None = None
    cancel_requested: bool = False
    """Cancel was pressed (a job may still have finished, or returned what it did so far)."""

    @property
    def cancelled(self) -> bool:
        """The job stopped because Cancel was pressed (it raised a cancellation)."""
        return isinstance(self.error, Cancelled)

    @property
    def ok(self) -> bool:
        """The job ran to its end without raising."""
        return self.error is None and not self.cancelled


class _Worker(QObject, Generic[T]):
    """Runs the job in the worker thread; emits ``finished`` or ``failed`` exactly once."""

    progressed = Signal(int, int)
    finished = Signal(object)
    failed = Signal(object)  # the exception

    def __init__(self, data_dir: Path, job: Job[T]) -> None:
        super().__init__()
        self.data_dir, self.job = data_dir, job
        self.cancel_requested = threading.Event()

    def run(self) -> None:
        """Open a Workspace on the data directory here, run the job on it, close it."""
        yield_to_gui_thread()
        try:
            ws = Workspace.open(self.data_dir)
        except Exception as exc:
            self.failed.emit(exc)
            return
        ws.share_interpreter()  # the GUI thread gets the GIL while the job queries
        try:
            result = self.job(
                ws,
                lambda done, total: self.progressed.emit(done, total),
                self.cancel_requested.is_set,
            )
        except Exception as exc:  # every failure must reach the user, not vanish in a thread
            log.info("background job ended with %s", type(exc).__name__)
            self.failed.emit(exc)
        else:
            self.finished.emit(result)
        finally:
            ws.close()


class _Driver(QObject, Generic[T]):
    """Lives in the GUI thread: its slots run here, whatever thread emits."""

    def __init__(self, parent: QWidget, title: str, label: str, worker: _Worker[T]) -> None:
        super().__init__(parent)
        self.dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setMinimumDuration(0)
        # Close only when the worker says it ended, never because progress reached 100%.
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.worker = worker
        self.worker_thread = QThread(self)  # not ``thread``: that is QObject.thread()
        worker.moveToThread(self.worker_thread)
        self.result: T | None = None
        self.error: Exception | None = None
        worker.progressed.connect(self.on_progress)
        worker.finished.connect(self.on_finished)
        worker.failed.connect(self.on_failed)
        # The Cancel button emits canceled; Esc only rejects the dialog: both cancel.
        self.dialog.canceled.connect(worker.cancel_requested.set)
        self.dialog.rejected.connect(worker.cancel_requested.set)
        self.worker_thread.started.connect(worker.run)

    def run(self) -> Outcome[T]:
        """Start the worker, show the dialog until it ends, and say how it went."""
        # The worker starts once the dialog is up: showing a modal dialog repaints the window
        # under it (an item view repaints on deactivation: ~1,300 Python calls for the queue),
        # each call waiting for the GIL while a worker runs Python (issue 15).
        starter = QTimer(self)
        starter.setSingleShot(True)
        starter.timeout.connect(self.worker_thread.start)
        starter.start(START_AFTER_MS)
        self.dialog.exec()
        starter.stop()
        if not self.worker_thread.isRunning() and not self.worker_thread.isFinished():
            self.worker_thread.start()  # the dialog closed first (Esc): the job still runs once
        self.worker_thread.quit()
        self.worker_thread.wait()
        # After a cancel the worker's last signal may still be queued: deliver it now.
        QCoreApplication.sendPostedEvents(self)
        return Outcome(self.result, self.error, self.worker.cancel_requested.is_set())

    @Slot(int, int)
    def on_progress(self, done: int, total: int) -> None:
        """Show how far the job got."""
        self.dialog.setMaximum(total)
        self.dialog.setValue(done)

    @Slot(object)
    def on_finished(self, result: object) -> None:
        """Keep the result and close the dialog."""
        self.result = result  # type: ignore[assignment]
        self.dialog.reset()
        self.dialog.hide()

    @Slot(object)
    def on_failed(self, error: Exception) -> None:
        """Keep what the job raised and close the dialog."""
        self.error = error
        self.dialog.reset()
        self.dialog.hide()


def run_in_background(
    parent: QWidget, title: str, label: str, data_dir: Path, job: Job[T]
) -> Outcome[T]:
    """Run ``job`` in a worker thread behind a modal progress dialog with Cancel.

    The GUI keeps painting meanwhile; the call returns once the job ended (a cancelled
    job ends at its next poll of ``cancelled()``).
    """
    driver: _Driver[T] = _Driver(parent, title, label, _Worker(data_dir, job))
    outcome = driver.run()
    driver.deleteLater()
    return outcome


class TaskSignals(QObject):
    """Lives in the GUI thread; a :class:`WorkspaceTask` emits through it (a queued
    connection): ``done(number, result)`` or ``failed(number, exception)``."""

    done = Signal(int, object)
    failed = Signal(int, object)


class WorkspaceTask(QRunnable):
    """One job on its own Workspace in a ``QThreadPool`` thread, never modal: the screen
    numbers its tasks and keeps the answers it still wants (reports, the session report,
    the findings, the queue's counts)."""

    def __init__(
        self, number: int, data_dir: Path, job: Callable[[Workspace], object], signals: TaskSignals
    ) -> None:
        super().__init__()
        self.number, self.data_dir, self.job, self.signals = number, data_dir, job, signals

    def run(self) -> None:
        """Run the job; emit its result or what it raised."""
        yield_to_gui_thread()
        try:
            with Workspace.open(self.data_dir) as ws:
                ws.share_interpreter()
                result = self.job(ws)
        except Exception as exc:  # every failure must reach the screen, not vanish
            log.info("background query ended with %s", type(exc).__name__)
            self._emit(self.signals.failed, exc)
        else:
            self._emit(self.signals.done, result)

    def _emit(self, signal: SignalInstance, payload: object) -> None:
        try:
            signal.emit(self.number, payload)
        except RuntimeError:  # the screen (and its signals object) is gone: nobody to tell
            log.info("background query answered after its screen closed")
