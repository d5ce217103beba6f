"""The bundles room (``ws.bundles``): export, verify and import signed verdict bundles.

::

    result = ws.bundles.export(identity, Path("outbox"))
    ws.bundles.verify(Path("b.zip"))            # raises bundles.BundleRejected if refused
    reports = ws.bundles.import_files([Path("b.zip")])
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from .. import audit, bundles, deliveries, keys
from ..errors import CancelCheck, Progress
from ..paths import quarantine_dir


class Bundles:
    """Signed bundles in and out of one database."""

    def __init__(self, db: sqlite_utils.Database, data_dir: Path) -> None:
        self._db = db
        self._data_dir = data_dir

    @property
    def quarantine_dir(self) -> Path:
        """Where refused bundles are copied, each with a ``.reason.txt``."""
        return quarantine_dir(self._data_dir)

    def export(
        self,
        identity: keys.Identity,
        out_dir: Path,
        since: str | None = None,
        evidence: list[Path] | None = None,
        cancelled: CancelCheck | None = None,
    ) -> bundles.ExportResult | None:
        """Write the local reviewer's events not yet exported as a signed bundle.

        ``evidence`` files travel in it as ``data/evidence/<name>`` (ValueError for
        names that are not plain and unique). None when there is nothing new. Cancelling
        (``cancelled()`` answers True) raises :class:`Cancelled` with nothing written.
        """
        return bundles.export_bundle(
            self._db, identity, out_dir, since, evidence=evidence, cancelled=cancelled
        )

    def verify(self, path: Path) -> bundles.VerifiedBundle:
        """Check a bundle file fully (and against the database) without writing anything."""
        verified = bundles.verify_bundle(self._db, bundles.read_bundle_file(path))
        bundles.check_merge(self._db, verified)
        return verified

    def import_files(
        self,
        paths: list[Path],
        progress: Progress | None = None,
        cancelled: CancelCheck | None = None,
    ) -> list[bundles.ImportReport]:
        """Import bundle files; refusals are reported and quarantined, never half-applied.

        Cancelling stops before the next file; the reports cover the files done.
        """
        return bundles.import_bundles(
            self._db,
            paths,
            quarantine_dir=self.quarantine_dir,
            progress=progress,
            cancelled=cancelled,
        )

    def deliveries(self) -> list[deliveries.SignerDeliveries]:
        """Per signing key: bundles received (sent, for your own) and sequence gaps."""
        return deliveries.signer_deliveries(self._db)

    def audit_problems(self) -> list[str]:
        """Chain any unchained verdict events, then list problems with the audit log."""
        audit.sync_chain(self._db)
        return audit.verify_chain(self._db)
