"""Importing a case batch from the GUI: off the GUI thread, with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from ..core.batches import BatchError, ImportCancelled, ImportReport
from .background_task import run_with_progress


def describe_import_error(exc: Exception) -> str:
    """What to tell the reviewer when an import did not happen."""
    if isinstance(exc, ImportCancelled):
        return "Import cancelled. Nothing was imported."
    if isinstance(exc, BatchError):
        return f"{exc}\n\nNothing was imported. Fix the batch and import it again."
    return f"Import failed: {exc!r}\n\nNothing was imported."


def run_import(parent: QWidget, data_dir: Path, path: Path) -> ImportReport | None:
    """Import ``path`` with a modal, cancellable progress dialog; tell the user how it went."""
    result, error = run_with_progress(
        parent,
        "Import case batch",
        f"Importing {path.name}…",
        data_dir,
        lambda ws, progress, cancelled: ws.import_batch(path, progress, cancelled),
        describe_import_error,
    )
    if error:
        QMessageBox.warning(parent, "Batch not imported", error)
        return None
    if isinstance(result, ImportReport):
        QMessageBox.information(
            parent,
            "Batch imported",
            f"Batch {result.batch_id}: {result.cases_added} cases added, "
            f"{result.cases_already_present} already present.",
        )
        return result
    return None
