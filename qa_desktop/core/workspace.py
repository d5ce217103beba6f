"""The Workspace: one object, opened on a data directory, through which every core operation goes.

The GUI holds one for its whole life; the CLI opens one per command::

    ws = Workspace.open(data_dir())
    ws.ensure_reviewer("Ana")
    report = ws.import_batch(Path("demo-batch"))
    for row in ws.queue_page(limit=50): ...
    ws.record_verdict("c-001", "vh_remove", citations=[...])
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from . import (
    audit,
    batches,
    bundles,
    cases,
    deliveries,
    findings,
    guidelines,
    keys,
    sync,
    verdicts,
    wellbeing,
)
from .clock import utc_now_iso
from .paths import private_dir, quarantine_dir
from .reviewers import Reviewer, create_local_reviewer, local_reviewer
from .store import open_database, transaction

DB_FILENAME = "qa.db"


class Workspace:
    """The data directory: database, media store, and the local reviewer."""

    def __init__(self, data_dir: Path, db: sqlite_utils.Database) -> None:
        self.data_dir = data_dir
        self.db = db
        self.media_dir = private_dir(data_dir / "media")
        self._reviewer = local_reviewer(db)
        self._closed = False

    @classmethod
    def open(cls, data_dir: Path) -> Workspace:
        """Open (creating if needed) the workspace in ``data_dir``."""
        private_dir(data_dir)
        return cls(data_dir, open_database(data_dir / DB_FILENAME))

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()
        self._closed = True

    @property
    def is_open(self) -> bool:
        """False once :meth:`close` was called."""
        return not self._closed

    # -- reviewer -----------------------------------------------------------------------
    @property
    def reviewer(self) -> Reviewer | None:
        """The local reviewer profile, or None before first run."""
        return self._reviewer

    def ensure_reviewer(self, display_name: str) -> Reviewer:
        """The local profile, made with ``display_name`` if there is none yet."""
        if self._reviewer is None:
            self._reviewer = create_local_reviewer(self.db, display_name)
        return self._reviewer

    def _reviewer_id(self) -> str:
        if self._reviewer is None:
            raise RuntimeError("no local reviewer profile yet: call ensure_reviewer first")
        return self._reviewer.id

    # -- batches and guidelines ----------------------------------------------------------
    def import_batch(
        self,
        path: Path,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        *,
        trust_unsigned: bool = True,
    ) -> batches.ImportReport:
        """Validate and import a case batch (folder, .zip, .csv, or a signed .zip).

        All or nothing. A signed batch is verified against the trust store first (a refused
        one is quarantined); an unsigned one raises :class:`batches.UnsignedBatch` unless
        ``trust_unsigned``.
        """
        return batches.import_batch(
            self.db, self.media_dir, path, progress=progress, cancelled=cancelled,
            trust_unsigned=trust_unsigned, quarantine_dir=self.quarantine_dir,
        )

    def import_guideline_pack(self, path: Path) -> guidelines.Pack:
        """Load and store a guideline pack file (a no-op if that version is stored)."""
        pack = guidelines.load_pack(path)
        guidelines.store_pack(self.db, pack)
        return pack

    def labels_for(self, case: cases.Case) -> list[guidelines.Label]:
        """The labels of the pack the case's batch names."""
        return guidelines.pack_labels(self.db, case.pack_id, case.pack_version)

    def search_sections(self, case: cases.Case, text: str) -> list[guidelines.Section]:
        """Sections of the case's pack matching ``text`` by id, title or body."""
        return guidelines.search_sections(self.db, case.pack_id, case.pack_version, text)

    # -- guidelines (issue 4a) --
    def import_guideline_packs(self, paths: list[Path]) -> list[bool]:
        """Load every pack file, then store them all (globals first) in one transaction.

        Returns whether each was added (False: that version was already stored).
        """
        packs = [guidelines.load_pack(path) for path in paths]
        return guidelines.store_packs(self.db, packs)

    def guideline_packs(self) -> list[guidelines.PackSummary]:
        """Every stored guideline pack version, global and overlay."""
        return guidelines.list_packs(self.db)

    def guideline(
        self, pack_id: str, version: str, market: str, on_date: str | None = None
    ) -> guidelines.Guideline:
        """The guideline in force for ``market`` under a global pack version (default: today)."""
        return guidelines.resolve_guideline(self.db, pack_id, version, market, on_date)

    def guideline_for(self, case: cases.Case, on_date: str | None = None) -> guidelines.Guideline:
        """The guideline a case is judged against: its batch's pack, its market's overlay."""
        return guidelines.resolve_guideline(
            self.db, case.pack_id, case.pack_version, case.market, on_date
        )

    # -- the queue ---------------------------------------------------------------------
    def case_count(self, filter: cases.QueueFilter | None = None) -> int:
        """How many cases the queue holds (that pass ``filter``)."""
        if filter is None:
            return cases.case_count(self.db)
        return cases.case_count(self.db, filter, reviewer_id=self._reviewer_id())

    def queue_page(
        self,
        *,
        after_seq: int | None = None,
        offset: int = 0,
        limit: int = 200,
        filter: cases.QueueFilter | None = None,
    ) -> list[cases.QueueRow]:
        """A page of the queue (cases passing ``filter``) with the local reviewer's verdicts."""
        return cases.queue_page(
            self.db,
            self._reviewer_id(),
            after_seq=after_seq,
            offset=offset,
            limit=limit,
            filter=filter,
        )

    def queue_row(
        self, case_id: str, filter: cases.QueueFilter | None = None
    ) -> cases.QueueRow | None:
        """One queue row, fresh from the database (None if ``filter`` hides it)."""
        return cases.queue_row(self.db, self._reviewer_id(), case_id, filter)

    def queue_index(self, case_id: str, filter: cases.QueueFilter | None = None) -> int | None:
        """Position of a case in the (filtered) queue."""
        if filter is None:
            return cases.queue_index(self.db, case_id)
        return cases.queue_index(self.db, case_id, filter, reviewer_id=self._reviewer_id())

    def case(self, case_id: str) -> cases.Case | None:
        """One case in full."""
        return cases.load_case(self.db, case_id)

    def media_path(self, media: cases.MediaFile) -> Path:
        """Where a media file of a case is stored."""
        return media.path_in(self.media_dir)

    # -- verdicts ----------------------------------------------------------------------
    def record_verdict(
        self,
        case_id: str,
        label: str,
        citations: tuple[verdicts.Citation, ...] | list[verdicts.Citation] = (),
        notes: str = "",
        time_on_case_ms: int = 0,
        *,
        confidence: int | None = None,
        rca_reason: str | None = None,
        rca_note: str = "",
        gap_kind: str | None = None,
        gap_note: str = "",
    ) -> verdicts.VerdictEvent:
        """Record the local reviewer's verdict on a case, now (with optional details)."""
        return verdicts.record_verdict(
            self.db,
            case_id=case_id,
            reviewer_id=self._reviewer_id(),
            label=label,
            citations=citations,
            notes=notes,
            time_on_case_ms=time_on_case_ms,
            confidence=confidence,
            rca_reason=rca_reason,
            rca_note=rca_note,
            gap_kind=gap_kind,
            gap_note=gap_note,
        )

    def undo_last_verdict(self, case_id: str) -> verdicts.VerdictEvent | None:
        """Undo the local reviewer's current verdict on a case (a superseding event)."""
        return verdicts.undo_last_verdict(self.db, case_id=case_id, reviewer_id=self._reviewer_id())

    def my_verdict(self, case_id: str) -> verdicts.VerdictEvent | None:
        """The local reviewer's effective verdict on a case (None if undecided)."""
        event = verdicts.effective_verdict(self.db, case_id, self._reviewer_id())
        return event if event is not None and event.label is not None else None

    def case_history(self, case_id: str) -> list[verdicts.VerdictEvent]:
        """Every verdict event on a case (all reviewers), oldest first."""
        return verdicts.case_history(self.db, case_id)

    def reviewer_names(self) -> dict[str, str]:
        """Display names of every reviewer known here, by reviewer id."""
        return {r["id"]: r["display_name"] for r in self.db["reviewers"].rows}

    def verdict_events(self) -> list[verdicts.VerdictEvent]:
        """Every verdict event, oldest first."""
        return verdicts.all_events(self.db)

    # -- findings and views (issue 4b) ---------------------------------------------------
    def rca_escalations(self) -> list[findings.FindingGroup]:
        """Effective verdicts escalated for RCA, grouped by cited section."""
        return findings.rca_escalations(self.db)

    def policy_gaps(self) -> list[findings.FindingGroup]:
        """Effective verdicts flagging a policy gap, grouped by cited section."""
        return findings.policy_gaps(self.db)

    def queue_facets(self) -> dict[str, list[str]]:
        """The distinct markets, policies and original labels in the queue (for filters)."""
        return {
            column: [
                row[0]
                for row in self.db.execute(
                    f"SELECT DISTINCT {column} FROM cases ORDER BY {column}"
                )
            ]
            for column in ("market", "orig_policy", "orig_label")
        }

    def save_view(self, name: str, filter: cases.QueueFilter) -> None:
        """Save a queue filter under ``name`` (replacing one of that name)."""
        cases.save_view(self.db, name, filter)

    def saved_views(self) -> list[tuple[str, cases.QueueFilter]]:
        """Every saved queue view as (name, filter), by name."""
        return cases.saved_views(self.db)

    def delete_view(self, name: str) -> bool:
        """Delete a saved queue view; True if there was one."""
        return cases.delete_view(self.db, name)

    # -- wellbeing (issue 3) --
    def start_session(self) -> str:
        """Open a review session for the local reviewer now; returns its id."""
        return wellbeing.start_session(self.db, self._reviewer_id())

    def end_session(self, session_id: str) -> None:
        """Close a review session now."""
        wellbeing.end_session(self.db, session_id)

    def record_exposure(self, session_id: str | None, span: wellbeing.ExposureSpan) -> int:
        """Store one finished reveal (stays local; see :mod:`wellbeing`)."""
        return wellbeing.record_exposure(self.db, session_id, span)

    def record_break(self, session_id: str, reason: str = "") -> None:
        """Note a break taken in the session now."""
        wellbeing.record_break(self.db, session_id, reason)

    def session_summary(self, session_id: str) -> wellbeing.SessionSummary:
        """What a review session amounted to: cases, decisions, exposure, breaks."""
        return wellbeing.session_summary(self.db, session_id)

    def exposure_for_case(self, case_id: str) -> wellbeing.ExposureTotals:
        """All stored unblurred time on one case, across sessions."""
        return wellbeing.exposure_for_case(self.db, case_id)

    # -- identity, bundles and sync (issue 5) --
    def create_identity(self, passphrase: str) -> keys.Identity:
        """Make the local reviewer's signing key (encrypted with ``passphrase``) and trust it."""
        return keys.create_identity(self.db, self.data_dir, self._require_reviewer(), passphrase)

    def identity(self, passphrase: str) -> keys.Identity:
        """Open the local reviewer's signing key; ``keys.WrongPassphrase`` if it does not open."""
        return keys.load_private_key(self.data_dir, passphrase)

    def public_key(self) -> keys.PublicKey:
        """The local reviewer's public key (``keys.NoIdentity`` before one is made)."""
        return keys.local_public_key(self.data_dir)

    def trust_key(
        self, public_key: keys.PublicKey, signer_name: str, role: str,
        reviewer_id: str | None = None,
    ) -> keys.TrustedKey:
        """Add a signer's public key to the trust store, bound to a reviewer id (who then
        shows by ``signer_name`` wherever reviewers are listed)."""
        with transaction(self.db):
            trusted = keys.trust_key(
                self.db, public_key, signer_name=signer_name, role=role, reviewer_id=reviewer_id
            )
            if reviewer_id and not self.db["reviewers"].count_where("id = ?", [reviewer_id]):
                self.db["reviewers"].insert(
                    {"id": reviewer_id, "display_name": signer_name, "created_at": utc_now_iso()}
                )
        return trusted

    def revoke_key(self, key_id: str) -> keys.TrustedKey:
        """Revoke a trusted key: its new bundles are refused, its old events stay."""
        return keys.revoke_key(self.db, key_id)

    def remove_key(self, key_id: str) -> keys.TrustedKey:
        """Forget a trusted key added by mistake (not your own, not a revoked one)."""
        return keys.remove_key(self.db, key_id)

    def deliveries(self) -> list[deliveries.SignerDeliveries]:
        """Per signing key: bundles received (sent, for your own) and sequence gaps."""
        return deliveries.signer_deliveries(self.db)

    def trusted_keys(self) -> list[keys.TrustedKey]:
        """The trust store, oldest first (revoked keys included)."""
        return keys.list_keys(self.db)

    @property
    def quarantine_dir(self) -> Path:
        """Where refused bundles are copied, each with a ``.reason.txt``."""
        return quarantine_dir(self.data_dir)

    def export_bundle(
        self,
        identity: keys.Identity,
        out_dir: Path,
        since: str | None = None,
        evidence: list[Path] | None = None,
    ) -> bundles.ExportResult | None:
        """Write the local reviewer's events not yet exported as a signed bundle.

        ``evidence`` files travel in it as ``data/evidence/<name>`` (ValueError for
        names that are not plain and unique).
        """
        return bundles.export_bundle(self.db, identity, out_dir, since, evidence=evidence)

    def verify_bundle(self, path: Path) -> bundles.VerifiedBundle:
        """Check a bundle file fully (and against the database) without writing anything."""
        verified = bundles.verify_bundle(self.db, bundles.read_bundle_file(path))
        bundles.check_merge(self.db, verified)
        return verified

    def import_bundles(
        self,
        paths: list[Path],
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[bundles.ImportReport]:
        """Import bundle files; refusals are reported and quarantined, never half-applied.

        Cancelling stops before the next file; the reports cover the files done.
        """
        return bundles.import_bundles(self.db, paths, quarantine_dir=self.quarantine_dir,
                                      progress=progress, cancelled=cancelled)

    def sync_folder(
        self,
        identity: keys.Identity,
        folder: Path,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> sync.SyncReport:
        """Export new events into a shared folder and import everyone else's bundles."""
        return sync.sync_folder(
            self.db, identity, folder, quarantine_dir=self.quarantine_dir,
            progress=progress, cancelled=cancelled,
        )

    def audit_problems(self) -> list[str]:
        """Chain any unchained verdict events, then list problems with the audit log."""
        audit.sync_chain(self.db)
        return audit.verify_chain(self.db)

    def _require_reviewer(self) -> Reviewer:
        if self._reviewer is None:
            raise RuntimeError("no local reviewer profile yet: call ensure_reviewer first")
        return self._reviewer

    # -- where the reviewer left off ----------------------------------------------------
    def last_case_id(self) -> str | None:
        """The case that was on screen when the app last closed."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'last_case'").fetchone()
        return row[0] if row else None

    def set_last_case_id(self, case_id: str) -> None:
        """Remember the case on screen, to reopen there."""
        with transaction(self.db):
            self.db["meta"].upsert({"key": "last_case", "value": case_id}, pk="key")
