"""Case batches: validate a folder, .zip or .csv of cases, then import it all or nothing.

(Interface only — being implemented; see docs/batch-format.md.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils


class BatchError(ValueError):
    """A batch that cannot be imported. The message names the file, line and field."""


class ImportCancelled(Exception):
    """The user cancelled the import; nothing was written."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    batch_id: str
    cases_added: int
    cases_already_present: int
    media_added: int


def import_batch(
    db: sqlite_utils.Database,
    media_dir: Path,
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportReport:
    """Validate everything in ``path``, then write it in one transaction."""
    raise NotImplementedError
