"""Importing a case batch from the GUI: off the GUI thread, with progress and cancel."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from ..core.batches import BatchError, ImportCancelled, ImportReport
from ..core.workspace import Workspace


class ImportWorker(QObject):
    """Runs one import on its own database connection, in a worker thread."""

    progressed = Signal(int, int)
    finished = Signal(object)  # ImportReport
    failed = Signal(str)

    def __init__(self, data_dir: Path, path: Path) -> None:
        super().__init__()
        self.data_dir, self.path = data_dir, path
        self.cancel_requested = threading.Event()

    def run(self) -> None:
        """Import, reporting progress; emits finished or failed exactly once."""
        ws = Workspace.open(self.data_dir)
        try:
            report = ws.import_batch(
                self.path,
                progress=lambda done, total: self.progressed.emit(done, total),
                cancelled=self.cancel_requested.is_set,
            )
        except ImportCancelled:
            self.failed.emit("Import cancelled. Nothing was imported.")
        except BatchError as exc:
            self.failed.emit(f"{exc}\n\nNothing was imported. Fix the batch and import it again.")
        except Exception as exc:  # an unexpected bug must still reach the user, not vanish
            self.failed.emit(f"Import failed: {exc!r}\n\nNothing was imported.")
        else:
            self.finished.emit(report)
        finally:
            ws.close()


class _ImportDialog(QObject):
    """Drives one import from the GUI thread: its slots run here, whatever thread emits."""

    def __init__(self, parent: QWidget, data_dir: Path, path: Path) -> None:
        super().__init__(parent)
        self.dialog = QProgressDialog(f"Importing {path.name}…", "Cancel", 0, 0, parent)
        self.dialog.setWindowTitle("Import case batch")
        self.dialog.setMinimumDuration(0)
        # Close only when the worker says it ended, never because progress reached 100%.
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.worker = ImportWorker(data_dir, path)
        self.thread = QThread(self)
        self.worker.moveToThread(self.thread)
        self.report: ImportReport | None = None
        self.error = ""
        self.worker.progressed.connect(self.on_progress)
        self.worker.finished.connect(self.on_finished)
        self.worker.failed.connect(self.on_failed)
        # The Cancel button emits canceled; Esc only rejects the dialog: both cancel.
        self.dialog.canceled.connect(self.worker.cancel_requested.set)
        self.dialog.rejected.connect(self.worker.cancel_requested.set)
        self.thread.started.connect(self.worker.run)

    def run(self) -> None:
        """Start the worker and block in the progress dialog until it ends."""
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
    def on_finished(self, report: ImportReport) -> None:
        self.report = report
        self.dialog.reset()
        self.dialog.hide()

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self.error = message
        self.dialog.reset()
        self.dialog.hide()


def run_import(parent: QWidget, data_dir: Path, path: Path) -> ImportReport | None:
    """Import ``path`` with a modal, cancellable progress dialog; tell the user how it went."""
    driver = _ImportDialog(parent, data_dir, path)
    driver.run()
    driver.deleteLater()
    if driver.error:
        QMessageBox.warning(parent, "Batch not imported", driver.error)
        return None
    report = driver.report
    if report is not None:
        QMessageBox.information(
            parent,
            "Batch imported",
            f"Batch {report.batch_id}: {report.cases_added} cases added, "
            f"{report.cases_already_present} already present.",
        )
    return report
