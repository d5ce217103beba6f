"""Long work (import, sync) off the GUI thread, behind a modal progress dialog with Cancel.

The job gets its own Workspace (its own SQLite connection) in the worker thread::

    result, error = run_with_progress(
        parent, "Import case batch", "Importing batch.zip…", data_dir,
        lambda ws, progress, cancelled: ws.batches.import_batch(path, progress, cancelled),
    )
    # error: None, or the exception the job raised (cancelling included), to describe
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..core.workspace import Workspace

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]
Job = Callable[[Workspace, Progress, Cancelled], object]


class _Worker(QObject):
    progressed = Signal(int, int)
    finished = Signal(object)
    failed = Signal(object)  # the exception

    def __init__(self, data_dir: Path, job: Job):
        super().__init__()
        self.data_dir, self.job = data_dir, job
        self.cancel_requested = threading.Event()

    def run(self) -> None:
        """Run the job; emits finished or failed exactly once."""
        try:
            ws = Workspace.open(self.data_dir)
        except Exception as exc:
            self.failed.emit(exc)
            return
        try:
            result = self.job(
                ws,
                lambda done, total: self.progressed.emit(done, total),
                self.cancel_requested.is_set,
            )
        except Exception as exc:  # every failure must reach the user, not vanish in a thread
            self.failed.emit(exc)
        else:
            self.finished.emit(result)
        finally:
            ws.close()


class _Driver(QObject):
    """Lives in the GUI thread: its slots run here, whatever thread emits."""

    def __init__(self, parent: QWidget, title: str, label: str, worker: _Worker) -> None:
        super().__init__(parent)
        self.dialog = QProgressDialog(label, "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setMinimumDuration(0)
        # Close only when the worker says it ended, never because progress reached 100%.
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.worker = worker
        self.thread = QThread(self)
        worker.moveToThread(self.thread)
        self.result: object = None
        self.error: Exception | None = None
        worker.progressed.connect(self.on_progress)
        worker.finished.connect(self.on_finished)
        worker.failed.connect(self.on_failed)
        # The Cancel button emits canceled; Esc only rejects the dialog: both cancel.
        self.dialog.canceled.connect(worker.cancel_requested.set)
        self.dialog.rejected.connect(worker.cancel_requested.set)
        self.thread.started.connect(worker.run)

    def run(self) -> None:
        self.thread.start()
        self.dialog.exec()
        self.thread.quit()
        self.thread.wait()
        # After a cancel the worker's last signal may still be queued: deliver it now.
        QCoreApplication.sendPostedEvents(self)

    @Slot(int, int)
    def on_progress(self, done: int, total: int) -> None:
        self.dialog.setMaximum(total)
        self.dialog.setValue(done)

    @Slot(object)
    def on_finished(self, result: object) -> None:
        self.result = result
        self.dialog.reset()
        self.dialog.hide()

    @Slot(object)
    def on_failed(self, error: Exception) -> None:
        self.error = error
        self.dialog.reset()
        self.dialog.hide()


def run_with_progress(
    parent: QWidget,
    title: str,
    label: str,
    data_dir: Path,
    job: Job,
) -> tuple[object, Exception | None]:
    """Run ``job`` in a worker thread behind a progress dialog; (result, what it raised)."""
    driver = _Driver(parent, title, label, _Worker(data_dir, job))
    driver.run()
    driver.deleteLater()
    return driver.result, driver.error
