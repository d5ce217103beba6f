"""Importing a case batch from the GUI: off the GUI thread, with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

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
