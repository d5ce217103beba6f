"""Importing a case batch from the GUI: off the GUI thread, with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QLineEdit, QWidget

from ..core.api import (
    BatchError,
    BatchImportReport,
    ImportCancelled,
    SignedBatchRefused,
    UnsignedBatch,
)
from ..core.workspace import Workspace
from .advice import advice
from .plain_text import ask, inform, warn
from .workers import Outcome, run_in_background

BATCH_HEADER = "batch.json"


class BatchFileDialog(QFileDialog):
    """Choose a case batch: a folder (holding batch.json), its batch.json, a .zip or a .csv.

    A standard file dialog cannot choose "a file or a folder", so this one (Qt's own, the
    same on every platform) accepts a selected folder that holds a batch.json, or the
    folder it is showing when that folder is a batch, instead of opening it.
    """

    def __init__(self, parent: QWidget | None = None, start: Path | None = None) -> None:
        super().__init__(parent, "Import case batch", str(start or Path.home()))
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setFileMode(QFileDialog.FileMode.ExistingFile)
        self.setNameFilters(["Case batches (batch.json *.zip *.csv)", "All files (*)"])
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Import")
        self.chosen: Path | None = None

    def accept(self) -> None:
        """A batch folder (selected, typed, or the one shown) is chosen, not opened."""
        shown = Path(self.directory().absolutePath())
        edit = self.findChild(QLineEdit, "fileNameEdit")
        typed = edit.text().strip() if edit is not None else ""
        if typed:
            candidates = [shown / typed]
        else:
            candidates = [Path(p) for p in self.selectedFiles()] or [shown]
        if not typed and (shown / BATCH_HEADER).is_file():
            candidates.append(shown)
        for candidate in candidates:
            if candidate.is_dir() and (candidate / BATCH_HEADER).is_file():
                self.chosen = candidate
                QDialog.accept(self)
                return
        super().accept()
        if self.result() == QDialog.DialogCode.Accepted and self.selectedFiles():
            path = Path(self.selectedFiles()[0])
            self.chosen = path.parent if path.name == BATCH_HEADER else path


def choose_batch(parent: QWidget | None, start: Path | None = None) -> Path | None:
    """Ask for a case batch (folder, batch.json, .zip or .csv); None when cancelled."""
    dialog = BatchFileDialog(parent, start)
    return dialog.chosen if dialog.exec() == QDialog.DialogCode.Accepted else None


def describe_import_error(exc: Exception, quarantine: Path | None = None) -> str:
    """What to tell the reviewer when an import did not happen (and where the copy went)."""
    if isinstance(exc, ImportCancelled):
        return "Import cancelled. Nothing was imported."
    if isinstance(exc, SignedBatchRefused):
        return f"{exc}\n\nNothing was imported. {advice(exc.rejected.reason)}" + (
            f"\n\nA copy of the file and the reason are in {quarantine}."
            if quarantine is not None
            else ""
        )
    if isinstance(exc, BatchError):
        return f"{exc}\n\nNothing was imported. Fix the batch and import it again."
    return f"Import failed: {exc!r}\n\nNothing was imported."


def run_import(
    parent: QWidget, ws: Workspace, path: Path, trust_unsigned: bool | None = None
) -> BatchImportReport | None:
    """Import ``path`` with a modal, cancellable progress dialog; tell the user how it went.

    A batch not signed by a trusted issuer is imported only after the reviewer confirms
    (or when ``trust_unsigned`` says so); it then shows as unsigned.
    """

    def attempt(trust: bool) -> Outcome[BatchImportReport]:
        return run_in_background(
            parent,
            "Import case batch",
            f"Importing {path.name}…",
            ws.data_dir,
            lambda ws, progress, cancelled: ws.batches.import_batch(
                path, progress, cancelled, trust_unsigned=trust
            ),
        )

    outcome = attempt(bool(trust_unsigned))
    if isinstance(outcome.error, UnsignedBatch):
        if trust_unsigned is None:
            trust_unsigned = ask(
                parent,
                "Unsigned batch",
                f"{path.name} is not signed by an issuer you trust, so nobody vouches that "
                "its cases and original decisions are genuine.\n\n"
                "Import it anyway, marked as unsigned?",
            )
        if not trust_unsigned:
            inform(parent, "Batch not imported", "Nothing was imported.")
            return None
        outcome = attempt(True)
    if outcome.error is not None:
        warn(
            parent,
            "Batch not imported",
            describe_import_error(outcome.error, ws.batches.quarantine_dir),
        )
        return None
    result = outcome.result
    if isinstance(result, BatchImportReport):
        signed = f"Signed by {result.signer_name}." if result.signed else "Marked as unsigned."
        inform(
            parent,
            "Batch imported",
            f"Batch {result.batch_id}: {result.cases_added} cases added, "
            f"{result.cases_already_present} already present. {signed}",
        )
        return result
    return None
