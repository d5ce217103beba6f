"""Importing bundles: verify, check against the database, merge in one transaction.

Verdict events merge as a set union by event id: idempotent, order-independent, lossless.
A refused bundle leaves the database unchanged and is copied into the quarantine::

    report = import_bundle(db, data, name="b.zip", quarantine_dir=data_dir / "quarantine")
    reports = import_bundles(db, paths, quarantine_dir=..., progress=..., cancelled=...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from ..store import transaction
from ..vocab import RefusalReason
from . import ledger
from .payloads import MergePlan, VerifiedBundle, payload_kind
from .rejection import BundleRejected, quarantine
from .verify import Digests, read_bundle_file, read_bundle_file_hashed, verify_bundle


@dataclass(frozen=True)
class ImportReport:
    """What importing one bundle did (or why it was refused)."""

    name: str
    bundle_id: str = ""
    signer: str = ""
    new_events: int = 0
    already_known: int = 0
    refused_reason: str | None = None
    refused_message: str = ""
    kept_aside: int = 0
    """Calibration votes kept aside: their session is not here yet."""
    unseen: int = 0
    """Other participants' calibration votes, not stored on a participant's app (blind)."""
    refused_votes: tuple[tuple[str, str, str], ...] = ()
    """Calibration votes not attached: (event id, reason code, message); nothing written."""

    @property
    def refused(self) -> bool:
        """True when the bundle was refused (and quarantined)."""
        return self.refused_reason is not None


def check_merge(db: sqlite_utils.Database, bundle: VerifiedBundle) -> MergePlan:
    """Check a verified bundle against the database; :class:`BundleRejected` if it conflicts.

    Refuses the same bundle id with other content (``equivocation``), a sequence number
    reused under another bundle id (``replay``), and whatever the payload kind refuses
    (for verdicts: a checkpoint that contradicts the signer's earlier ones,
    ``history-rewritten``; an event id with other content, ``event-conflict``; events on
    cases not in the database, ``unknown-case``).
    """
    logged = ledger.check_bundle_log(db, bundle)
    kind = payload_kind(bundle.kind)
    if kind.plan_merge is None:
        return MergePlan(logged, (), 0)
    return kind.plan_merge(db, bundle, logged)


def import_bundle(
    db: sqlite_utils.Database,
    data: bytes,
    *,
    name: str = "bundle.zip",
    quarantine_dir: Path | None = None,
    digests: Digests | None = None,
) -> ImportReport:
    """Verify a verdict bundle and merge its events (set union by id) in one transaction.

    A refused bundle raises :class:`BundleRejected`, leaves the database unchanged and, if
    ``quarantine_dir`` is given, is copied there with a ``.reason.txt`` beside it.
    """
    try:
        bundle = verify_bundle(db, data, digests=digests)
        kind = payload_kind(bundle.kind)
        assert kind.apply_merge is not None
        with transaction(db):
            plan = check_merge(db, bundle)
            if not plan.already_imported:
                kind.apply_merge(db, bundle, plan)
    except BundleRejected as exc:
        if quarantine_dir is not None:
            quarantine(quarantine_dir, name, data, exc)
        raise
    return ImportReport(
        name=name,
        bundle_id=bundle.bundle_id,
        signer=bundle.signer.signer_name,
        new_events=len(plan.new_events),
        already_known=plan.already_known,
        kept_aside=0 if plan.already_imported else len(plan.kept_aside),
        refused_votes=() if plan.already_imported else plan.refused,
        unseen=0 if plan.already_imported else plan.unseen,
    )


def import_bundle_file(
    db: sqlite_utils.Database, path: Path, *, quarantine_dir: Path | None = None
) -> ImportReport:
    """:func:`import_bundle` on a file, refusing oversize files before reading them."""
    data, digests = read_bundle_file_hashed(path)
    try:
        return import_bundle(db, data, name=path.name, digests=digests)
    except BundleRejected as exc:
        if quarantine_dir is not None:
            # The buffer holds no evidence (only its hashes): quarantine the file's bytes.
            quarantine(quarantine_dir, path.name, read_bundle_file(path), exc)
        raise


def import_bundles(
    db: sqlite_utils.Database,
    paths: list[Path],
    *,
    quarantine_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[ImportReport]:
    """Import each bundle file; a refusal is reported (and quarantined), not raised.

    ``progress(done, total)`` counts files; once ``cancelled()`` returns True no further
    file is started (each bundle is imported whole or not at all), and the reports cover
    the files done so far.
    """
    reports = []
    for done, path in enumerate(paths):
        if progress is not None:
            progress(done, len(paths))
        if cancelled is not None and cancelled():
            break
        try:
            reports.append(import_bundle_file(db, path, quarantine_dir=quarantine_dir))
        except BundleRejected as exc:
            reports.append(
                ImportReport(path.name, refused_reason=exc.reason, refused_message=exc.message)
            )
        except OSError as exc:
            reports.append(
                ImportReport(
                    path.name, refused_reason=RefusalReason.UNREADABLE, refused_message=str(exc)
                )
            )
    if progress is not None and len(reports) == len(paths):
        progress(len(paths), len(paths))
    return reports
