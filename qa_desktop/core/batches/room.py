"""The batches room (``ws.batches``): import case batches, and sign them as their issuer.

::

    report = ws.batches.import_batch(Path("batch.zip"), trust_unsigned=False)
    ws.batches.sign(identity, Path("batch-folder"), Path("out"))   # an issuer's signed .zip
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlite_utils

from .. import bundles, keys
from ..errors import CancelCheck, Progress
from ..media_store import MediaStore
from ..paths import quarantine_dir
from .importer import ImportReport, import_batch
from .problems import BatchError
from .sources import batch_files


class Batches:
    """Case batches into the queue, and signed batches out of an issuer's data directory."""

    def __init__(self, db: sqlite_utils.Database, data_dir: Path, media: MediaStore) -> None:
        self._db = db
        self._data_dir = data_dir
        self._media = media

    @property
    def quarantine_dir(self) -> Path:
        """Where refused signed batches are copied, each with a reason file."""
        return quarantine_dir(self._data_dir)

    def import_batch(
        self,
        path: Path,
        progress: Progress | None = None,
        cancelled: CancelCheck | None = None,
        *,
        trust_unsigned: bool = True,
    ) -> ImportReport:
        """Validate and import a case batch (folder, .zip, .csv, or a signed .zip).

        All or nothing. A signed batch is verified against the trust store first (a refused
        one is quarantined); an unsigned one raises :class:`.UnsignedBatch` unless
        ``trust_unsigned``.
        """
        return import_batch(
            self._db,
            self._media,
            path,
            progress=progress,
            cancelled=cancelled,
            trust_unsigned=trust_unsigned,
            quarantine_dir=self.quarantine_dir,
        )

    def has(self, batch_id: str) -> bool:
        """True when a batch with that id is imported."""
        return bool(self._db["batches"].count_where("id = ?", [batch_id]))

    @staticmethod
    def read_for_signing(source: Path) -> dict[str, bytes]:
        """The files of a case batch folder or .zip, by name relative to its batch.json.

        :class:`.BatchError` naming ``source`` when it cannot be read.
        """
        try:
            return batch_files(source)
        except OSError as exc:
            raise BatchError(f"{source}: cannot be read ({exc})") from exc

    def sign(
        self,
        identity: keys.Identity,
        files: dict[str, bytes],
        out_dir: Path,
        *,
        seq: int | None = None,
        expires: datetime | None = None,
    ) -> Path:
        """Sign a case batch (:meth:`read_for_signing`'s files) as its issuer into ``out_dir``.

        Returns the signed .zip. Takes the key's next sequence number unless ``seq`` is
        given (a used one is refused as a replay); ``expires`` defaults to 30 days.
        ValueError for a batch that cannot be signed.
        """
        return bundles.sign_case_batch_files(
            identity, files, out_dir, seq=seq, db=self._db, expires=expires
        )
