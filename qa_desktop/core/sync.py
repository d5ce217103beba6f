"""Sync through a shared folder: each reviewer writes bundles to their own subfolder and
imports everyone else's.

Layout: ``FOLDER/<key id>/<bundle id>.zip``, one subfolder per signing key, so two machines
never write the same file. Bundles appear atomically (temporary dot-name, fsync, rename)::

    report = sync_folder(db, identity, Path("~/Shared/qa-sync"), quarantine_dir=...)
    report.exported, report.imported, report.new_events, report.refused

Files whose names start with ``.`` or end with ``.tmp``/``.partial`` are never read; a
file is read once into memory, hashed, verified from those bytes, and remembered in
``seen_bundles`` by SHA-256 once it was imported, so a rerun skips it; ``seen_files`` also
remembers its path, size and modification time, so a rerun does not even read it again
(a file changed in place gets a new modification time and is read again). Our own bundles
(``<bundle id>.zip`` in our outbox, logged as exported) are skipped without being read.
Refused bundles are quarantined and retried next time (the signer may be trusted later).
One bad file never stops a sync: whatever goes wrong importing it (short of the database
itself failing) refuses and quarantines that file, and the next one is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from . import bundles, keys
from .errors import Cancelled, QADesktopError
from .paths import quarantine_dir
from .store import transaction
from .vocab import RefusalReason

SKIPPED_SUFFIXES = (".tmp", ".partial")


class SyncFolderMissing(QADesktopError, OSError):
    """The sync folder is not there: a share that is not mounted must not look synced."""


@dataclass
class SyncReport:
    """What one sync did."""

    exported: bundles.ExportResult | None = None
    imported: list[bundles.ImportReport] = field(default_factory=list)
    refused: list[bundles.ImportReport] = field(default_factory=list)
    skipped_seen: int = 0
    """Others' bundles already imported by an earlier sync (our own are not counted)."""
    cancelled: bool = False

    @property
    def new_events(self) -> int:
        """Events added to the database by this sync."""
        return sum(r.new_events for r in self.imported)


def outbox(folder: Path, key_id: str) -> Path:
    """The subfolder of ``folder`` where the key ``key_id`` writes its bundles."""
    return folder / key_id


def candidate_files(folder: Path) -> list[Path]:
    """Every complete ``*.zip`` under ``folder`` (recursive), in a stable order.

    Hidden names and temporary or partial files are left alone; links are not followed.
    """
    found = []
    for path in folder.rglob("*.zip"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.name.lower().endswith(SKIPPED_SUFFIXES) or path.is_symlink():
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def sync_folder(
    db: sqlite_utils.Database,
    identity: keys.Identity,
    folder: Path,
    *,
    quarantine_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SyncReport:
    """Export the reviewer's new events into the folder, then import every new bundle.

    The folder must exist (:class:`SyncFolderMissing` otherwise): creating it would turn an
    unmounted network share into a local folder that nobody else sees.

    ``progress(done, total)`` counts files; ``cancelled()`` is polled between files and
    stops the sync with ``report.cancelled`` set: every bundle is imported whole or not at
    all and every file is written whole or not at all, so stopping leaves nothing half done.
    """
    if not folder.is_dir():
        raise SyncFolderMissing(
            f"the sync folder {folder} does not exist or cannot be reached (is the share or"
            " drive connected?). To start a new sync folder, create it first."
        )
    report = SyncReport()
    if cancelled is not None and cancelled():
        report.cancelled = True
        return report
    own = outbox(folder, identity.key_id)
    report.exported = bundles.export_bundle(db, identity, own)
    mine = bundles.exported_bundle_ids(db, identity.key_id)
    files = candidate_files(folder)
    for done, path in enumerate(files):
        if progress is not None:
            progress(done, len(files))
        if cancelled is not None and cancelled():
            report.cancelled = True
            return report
        if path.parent == own and path.stem in mine:
            continue
        _sync_one(db, path, quarantine_dir, report)
    if progress is not None:
        progress(len(files), len(files))
    return report


def _sync_one(
    db: sqlite_utils.Database, path: Path, quarantine_dir: Path | None, report: SyncReport
) -> None:
    try:
        stat = path.stat()
    except OSError as exc:
        report.refused.append(_refusal(path, "unreadable", str(exc)))
        return
    key = str(path.resolve())
    if db.execute(
        "SELECT 1 FROM seen_files WHERE path = ? AND size = ? AND mtime_ns = ?",
        [key, stat.st_size, stat.st_mtime_ns],
    ).fetchone():
        report.skipped_seen += 1
        return
    try:
        data = bundles.read_bundle_file(path)
    except bundles.BundleRejected as exc:
        report.refused.append(_refusal(path, exc.reason, exc.message))
        return
    except OSError as exc:  # vanished or unreadable mid-sync: try again next time
        report.refused.append(_refusal(path, "unreadable", str(exc)))
        return
    sha = hashlib.sha256(data).hexdigest()
    if db.execute("SELECT 1 FROM seen_bundles WHERE sha256 = ?", [sha]).fetchone():
        report.skipped_seen += 1
    else:
        try:
            imported = bundles.import_bundle(
                db, data, name=path.name, quarantine_dir=quarantine_dir
            )
        except bundles.BundleRejected as exc:
            report.refused.append(_refusal(path, exc.reason, exc.message))
            return
        except (sqlite3.Error, Cancelled):
            raise  # the database or the user, not this file: stop
        except Exception as exc:  # anything unforeseen in one file must not stop the sync
            _quarantine_unforeseen(path, data, exc, quarantine_dir, report)
            return
        report.imported.append(imported)
    with transaction(db):
        bundles.remember_seen(db, sha, path.name, "imported")
        db.execute(
            "INSERT OR REPLACE INTO seen_files (path, size, mtime_ns, sha256) VALUES (?,?,?,?)",
            [key, stat.st_size, stat.st_mtime_ns, sha],
        )


def _quarantine_unforeseen(
    path: Path, data: bytes, exc: Exception, quarantine_dir: Path | None, report: SyncReport
) -> None:
    """Refuse (and quarantine) a file whose import failed in a way no rule names yet."""
    rejected = bundles.BundleRejected(
        RefusalReason.CORRUPT, f"cannot be read ({type(exc).__name__}: {exc})"
    )
    if quarantine_dir is not None:
        with contextlib.suppress(OSError):
            bundles.quarantine(quarantine_dir, path.name, data, rejected)
    report.refused.append(_refusal(path, rejected.reason, rejected.message))


def _refusal(path: Path, reason: str, message: str) -> bundles.ImportReport:
    return bundles.ImportReport(path.name, refused_reason=reason, refused_message=message)


class Sync:
    """The sync room (``ws.sync``): send your new events, take everyone else's."""

    def __init__(self, db: sqlite_utils.Database, data_dir: Path) -> None:
        self._db = db
        self._data_dir = data_dir

    def folder(
        self,
        identity: keys.Identity,
        folder: Path,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> SyncReport:
        """Export new events into a shared folder and import everyone else's bundles."""
        return sync_folder(
            self._db,
            identity,
            folder,
            quarantine_dir=quarantine_dir(self._data_dir),
            progress=progress,
            cancelled=cancelled,
        )
