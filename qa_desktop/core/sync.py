"""Sync through a shared folder: each reviewer writes bundles to their own subfolder and
imports everyone else's.

Layout: ``FOLDER/<key id>/<bundle id>.zip``, one subfolder per signing key, so two machines
never write the same file. Bundles appear atomically (temporary dot-name, fsync, rename)::

    report = sync_folder(db, identity, Path("~/Shared/qa-sync"), quarantine_dir=...)
    report.exported, report.imported, report.new_events, report.refused

Files whose names start with ``.`` or end with ``.tmp``/``.partial`` are never read; a
file is read once, as a direct import reads it (``read_bundle_file_hashed``: stored evidence
is hashed while read, never kept in memory), verified from those bytes and hashes, and
remembered in ``seen_bundles`` by its content key (:func:`content_key`: the file's SHA-256
when it holds no evidence) once it was imported, so a rerun skips it; ``seen_files`` also
remembers its path, size and modification time, so a rerun does not even read it again
(a file changed in place gets a new modification time and is read again). Our own bundles
(``<bundle id>.zip`` in our outbox, logged as exported) are skipped without being read.
Refused bundles are quarantined and retried next time (the signer may be trusted later).
One bad file never stops a sync: whatever goes wrong importing it (short of the database
itself failing) refuses and quarantines that file, and the next one is imported.

A bundle signed by a key nobody here trusts is not a fault of the bundle: it is reported per
signer (``report.untrusted``: the key and how many bundles), quarantined once, and remembered
in ``untrusted_bundles`` so later syncs count it without verifying or quarantining it again.
Once the key is trusted the bundle is imported by the next sync; a signer the reviewer
dismissed (:meth:`Sync.dismiss_signer`) is only counted (``report.dismissed``).

Besides verdicts (and calibration votes), a sync sends the reviewer's submitted exam attempts
not yet exported as a signed ``quiz-attempts`` bundle (:func:`send_own`); the lead's sync
imports and scores them (``report.attempts_received``), refusing bad ones like an import.
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
from .bundles.payloads.quiz_attempts import export_attempts, unsent_attempts
from .bundles.verify import Digests, read_bundle_file_hashed
from .clock import utc_now_iso
from .errors import Cancelled, QADesktopError
from .paths import quarantine_dir
from .store import transaction
from .vocab import RefusalReason

SKIPPED_SUFFIXES = (".tmp", ".partial")


class SyncFolderMissing(QADesktopError, OSError):
    """The sync folder is not there: a share that is not mounted must not look synced."""


@dataclass(frozen=True)
class UntrustedSigner:
    """A key that signed bundles in the sync folder but is not in the trust store."""

    key_id: str
    names: tuple[str, ...]
    """The file names of its bundles, in the order the sync met them."""

    @property
    def bundles(self) -> int:
        """How many of its bundles wait in the folder."""
        return len(self.names)


@dataclass
class SyncReport:
    """What one sync did."""

    exported: bundles.ExportResult | None = None
    imported: list[bundles.ImportReport] = field(default_factory=list)
    refused: list[bundles.ImportReport] = field(default_factory=list)
    """Bundles refused for what they are (damaged, replayed, ...), not for who signed them."""
    skipped_seen: int = 0
    """Others' bundles already imported by an earlier sync (our own are not counted)."""
    cancelled: bool = False
    untrusted: list[UntrustedSigner] = field(default_factory=list)
    """Signers not trusted (and not dismissed) whose bundles wait in the folder, by key id."""
    dismissed: int = 0
    """Bundles left alone because their signer was dismissed."""
    attempts_sent: int = 0
    """The reviewer's submitted quiz attempts sent in a ``quiz-attempts`` bundle."""
    attempts_received: int = 0
    """Reviewers' quiz attempts added here (a lead's app scores them)."""

    @property
    def new_events(self) -> int:
        """Events added to the database by this sync."""
        return sum(r.new_events for r in self.imported)


def untrusted_summary(signers: list[UntrustedSigner], where: str = "") -> str:
    """One line for every bundle waiting on untrusted signers (``""`` if none)::

        2 bundles from 1 signer you do not trust: key 4F2A9C0B1D3E5F67 — trust their key
        to take them

    ``where`` says where the front end trusts a key (a menu, a command), in brackets.
    """
    if not signers:
        return ""
    count = sum(s.bundles for s in signers)
    one = len(signers) == 1
    return (
        f"{count} bundle{'' if count == 1 else 's'} from {len(signers)}"
        f" signer{'' if one else 's'} you do not trust:"
        f" key{'' if one else 's'} {', '.join(s.key_id for s in signers)}"
        f" — trust {'their key' if one else 'their keys'}{f' ({where})' if where else ''}"
        " to take them"
    )


def send_own(
    db: sqlite_utils.Database, identity: keys.Identity, out_dir: Path, report: SyncReport
) -> None:
    """Export the reviewer's new events, then their submitted quiz attempts, into ``out_dir``."""
    report.exported = bundles.export_bundle(db, identity, out_dir)
    waiting = unsent_attempts(db, identity.reviewer_id)
    if waiting and export_attempts(db, identity, identity.reviewer_id, out_dir) is not None:
        report.attempts_sent = waiting


def received_attempts(db: sqlite_utils.Database) -> int:
    """How many quiz attempts came here in bundles (before and after a sync: the new ones)."""
    return int(
        db.execute("SELECT count(*) FROM quiz_attempts WHERE source = 'bundle'").fetchone()[0]
    )


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
    send_own(db, identity, own, report)
    attempts_before = received_attempts(db)
    mine = bundles.exported_bundle_ids(db, identity.key_id)
    dismissed = dismissed_signers(db)
    waiting: dict[str, list[str]] = {}  # untrusted key id -> names of its bundles met
    files = candidate_files(folder)
    for done, path in enumerate(files):
        if progress is not None:
            progress(done, len(files))
        if cancelled is not None and cancelled():
            report.cancelled = True
            _group_untrusted(report, waiting)
            report.attempts_received = received_attempts(db) - attempts_before
            return report
        if path.parent == own and path.stem in mine:
            continue
        untrusted_key = _sync_one(db, path, quarantine_dir, report)
        if untrusted_key in dismissed:
            report.dismissed += 1
        elif untrusted_key:
            waiting.setdefault(untrusted_key, []).append(path.name)
    if progress is not None:
        progress(len(files), len(files))
    _group_untrusted(report, waiting)
    report.attempts_received = received_attempts(db) - attempts_before
    return report


def _group_untrusted(report: SyncReport, waiting: dict[str, list[str]]) -> None:
    report.untrusted = [
        UntrustedSigner(key_id, tuple(names)) for key_id, names in sorted(waiting.items())
    ]


def _sync_one(
    db: sqlite_utils.Database, path: Path, quarantine_dir: Path | None, report: SyncReport
) -> str:
    """Take one file; the key id if it waits for an untrusted signer, else ``""``."""
    try:
        stat = path.stat()
    except OSError as exc:
        report.refused.append(_refusal(path, "unreadable", str(exc)))
        return ""
    key = str(path.resolve())
    if db.execute(
        "SELECT 1 FROM seen_files WHERE path = ? AND size = ? AND mtime_ns = ?",
        [key, stat.st_size, stat.st_mtime_ns],
    ).fetchone():
        report.skipped_seen += 1
        return ""
    try:
        data, digests = read_bundle_file_hashed(path)
    except bundles.BundleRejected as exc:
        report.refused.append(_refusal(path, exc.reason, exc.message))
        return ""
    except OSError as exc:  # vanished or unreadable mid-sync: try again next time
        report.refused.append(_refusal(path, "unreadable", str(exc)))
        return ""
    return take_bundle(
        db,
        path.name,
        data,
        quarantine_dir,
        report,
        digests=digests,
        source=path,
        also=(
            "INSERT OR REPLACE INTO seen_files (path, size, mtime_ns, sha256) VALUES (?,?,?,?)",
            [key, stat.st_size, stat.st_mtime_ns],
        ),
    )


def take_bundle(
    db: sqlite_utils.Database,
    name: str,
    data: bytes,
    quarantine_dir: Path | None,
    report: SyncReport,
    *,
    digests: Digests | None = None,
    source: Path | None = None,
    also: tuple[str, list[object]] | None = None,
) -> str:
    """Import one bundle's bytes met by a sync (any target) into ``report``.

    ``digests`` and ``source``: ``data`` came from ``read_bundle_file_hashed(source)``
    (its evidence only hashed); a refused bundle is then quarantined from the file itself.
    Returns the key id if it waits for an untrusted signer, else ``""``. A bundle imported
    now or before is remembered as seen, and ``also`` (an SQL statement whose parameters get
    the bundle's content key appended) runs in that same transaction.
    """
    sha = content_key(data, digests)
    waiting = _still_untrusted(db, sha)
    if waiting:
        return waiting  # refused and quarantined before, and its key is still not trusted
    if db.execute("SELECT 1 FROM seen_bundles WHERE sha256 = ?", [sha]).fetchone():
        report.skipped_seen += 1
    else:
        try:
            imported = _import(db, name, data, digests, source, quarantine_dir)
        except bundles.BundleRejected as exc:
            if exc.reason == RefusalReason.UNKNOWN_SIGNER and exc.key_id:
                with transaction(db):
                    db.execute(
                        "INSERT OR REPLACE INTO untrusted_bundles (sha256, key_id, name, seen_at)"
                        " VALUES (?, ?, ?, ?)",
                        [sha, exc.key_id, name, utc_now_iso()],
                    )
                return exc.key_id
            report.refused.append(_named_refusal(name, exc.reason, exc.message))
            return ""
        except (sqlite3.Error, Cancelled):
            raise  # the database or the user, not this file: stop
        except Exception as exc:  # anything unforeseen in one file must not stop the sync
            whole = data if source is None or not digests else _file_bytes(source)
            _quarantine_unforeseen(name, whole, exc, quarantine_dir, report)
            return ""
        report.imported.append(imported)
    with transaction(db):
        db.execute("DELETE FROM untrusted_bundles WHERE sha256 = ?", [sha])
        bundles.remember_seen(db, sha, name, "imported")
        if also is not None:
            db.execute(also[0], [*also[1], sha])
    return ""


def content_key(data: bytes, digests: Digests | None = None) -> str:
    """What a sync remembers a bundle by: the SHA-256 of its file's bytes, or, for bytes
    read by ``read_bundle_file_hashed`` (``digests``: its evidence ranges, only hashed), the
    SHA-256 of the bytes around those ranges, each range's place and SHA-256 in its stead (it
    changes with any byte of the file, like the file's own hash). The ranges themselves are
    never touched: their pages were never read into memory and stay so."""
    sha = hashlib.sha256()
    view, at = memoryview(data), 0
    for (start, size), (_crc, range_sha) in sorted((digests or {}).items()):
        sha.update(view[at:start])
        sha.update(f"\n{start} {size} {range_sha}\n".encode())
        at = start + size
    sha.update(view[at:])
    return sha.hexdigest()


def _import(
    db: sqlite_utils.Database,
    name: str,
    data: bytes,
    digests: Digests | None,
    source: Path | None,
    quarantine_dir: Path | None,
) -> bundles.ImportReport:
    """``import_bundle``; a refused bundle read with its evidence only hashed is quarantined
    from its file (``data`` holds zeros where the evidence was)."""
    if source is None or not digests:
        return bundles.import_bundle(db, data, name=name, quarantine_dir=quarantine_dir)
    try:
        return bundles.import_bundle(db, data, name=name, digests=digests)
    except bundles.BundleRejected as exc:
        whole = _file_bytes(source)
        if quarantine_dir is not None and whole is not None:
            bundles.quarantine(quarantine_dir, name, whole, exc)
        raise


def _file_bytes(source: Path) -> bytes | None:
    """The whole file, for the quarantine; None if it can no longer be read."""
    try:
        return bundles.read_bundle_file(source)
    except (OSError, bundles.BundleRejected):
        return None


def _still_untrusted(db: sqlite_utils.Database, sha: str) -> str:
    """The key id of a bundle refused earlier for its untrusted signer, if the key is still
    not in the trust store (``""`` otherwise: a trusted or revoked key is verified anew)."""
    row = db.execute(
        "SELECT u.key_id FROM untrusted_bundles u WHERE u.sha256 = ?"
        " AND NOT EXISTS (SELECT 1 FROM trusted_keys t WHERE t.key_id = u.key_id)",
        [sha],
    ).fetchone()
    return str(row[0]) if row else ""


def dismissed_signers(db: sqlite_utils.Database) -> set[str]:
    """The key ids whose bundles a sync only counts, without reporting them."""
    return {row[0] for row in db.execute("SELECT key_id FROM dismissed_signers")}


def _quarantine_unforeseen(
    name: str,
    data: bytes | None,
    exc: Exception,
    quarantine_dir: Path | None,
    report: SyncReport,
) -> None:
    """Refuse (and quarantine) a file whose import failed in a way no rule names yet."""
    rejected = bundles.BundleRejected(
        RefusalReason.CORRUPT, f"cannot be read ({type(exc).__name__}: {exc})"
    )
    if quarantine_dir is not None and data is not None:
        with contextlib.suppress(OSError):
            bundles.quarantine(quarantine_dir, name, data, rejected)
    report.refused.append(_named_refusal(name, rejected.reason, rejected.message))


def _refusal(path: Path, reason: str, message: str) -> bundles.ImportReport:
    return _named_refusal(path.name, reason, message)


def _named_refusal(name: str, reason: str, message: str) -> bundles.ImportReport:
    return bundles.ImportReport(name, refused_reason=reason, refused_message=message)


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

    def to(
        self,
        identity: keys.Identity,
        where: str | Path,
        *,
        endpoint_url: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> SyncReport:
        """Sync with a folder or an ``s3://bucket/prefix`` (see ``core/sync_targets.py``)."""
        from .sync_targets import sync_target

        target = sync_target(where, endpoint_url=endpoint_url)
        return target.sync(
            self._db, identity, data_dir=self._data_dir, progress=progress, cancelled=cancelled
        )

    def dismiss_signer(self, key_id: str) -> None:
        """Stop reporting the untrusted key ``key_id`` on every sync (its bundles stay in the
        folder; trusting the key later takes them)."""
        with transaction(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO dismissed_signers (key_id, dismissed_at) VALUES (?, ?)",
                [key_id, utc_now_iso()],
            )

    def undismiss_signer(self, key_id: str) -> bool:
        """Report ``key_id``'s bundles again; True if it was dismissed."""
        with transaction(self._db):
            cursor = self._db.execute("DELETE FROM dismissed_signers WHERE key_id = ?", [key_id])
        return cursor.rowcount > 0

    def dismissed_signers(self) -> set[str]:
        """The untrusted keys the reviewer chose not to hear about."""
        return dismissed_signers(self._db)
