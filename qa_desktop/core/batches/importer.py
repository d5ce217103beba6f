"""Importing a batch: check everything, then write it all or nothing (``import_batch``)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .. import bundles, calibration
from ..bundles.payloads.case_batches import SESSION_FILE
from ..errors import Refused
from ..formats.canonical import StrictJSONError, loads_strict
from ..media_store import MediaStore
from ..store import transaction
from .fields import _sha256_hex
from .header import _read_header
from .issuer import SignedBatchRefused
from .media_intake import _check_media, _store_media
from .problems import BatchError, UnsignedBatch
from .progress import _Progress
from .records import _parse_cases, _read_cases_file
from .sources import (
    HEADER_FILE,
    SIGNED_PREFIX,
    UNSIGNED,
    _MemorySource,
    _open_source,
    _SignedSource,
    _Source,
)
from .writer import _check_against_database, _select_new_cases, _write


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    batch_id: str
    cases_added: int
    cases_already_present: int
    media_added: int
    signature_status: str = UNSIGNED
    """``unsigned`` or ``signed:<key id>`` (how this file came in)."""
    signer_name: str = ""
    """The trusted issuer's name, for a signed batch."""
    calibration_session: str = ""
    """The async calibration session a lead shipped in the batch (its name), if any."""
    refused_votes: tuple[tuple[str, str, str], ...] = ()
    """Votes kept aside for that session that it refuses: (event id, reason, message)."""

    @property
    def signed(self) -> bool:
        """True when the batch was signed by a trusted issuer."""
        return self.signature_status.startswith(SIGNED_PREFIX)


def import_batch(
    db: sqlite_utils.Database,
    media: MediaStore | Path,
    path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    trust_unsigned: bool = True,
    quarantine_dir: Path | None = None,
) -> ImportReport:
    """Validate everything in ``path``, then write it in one transaction.

    ``path`` is a batch folder (or its ``batch.json``), a .zip of one, or a .csv of cases with
    a ``batch.json`` beside it. ``progress(done, total)`` is called from time to time and last
    with ``done == total``; ``cancelled()`` is polled between cases and chunks and, once it
    returns True, the import stops with :class:`ImportCancelled`. On any error the database
    is left exactly as it was (media files already copied into the content-addressed store
    stay there, unreferenced and harmless). Media are stored encrypted under ``media``'s key
    (a bare folder path means a store whose key file lives in its parent's ``keys/``).

    A signed batch (a ``case-batch`` bundle .zip) is verified against the trust store
    before anything else; a refusal is a :class:`BatchError` naming the file and the bundle
    reason code. An unsigned batch raises :class:`UnsignedBatch` unless ``trust_unsigned``
    (default True for library callers; the CLI and GUI ask the user first). A refused signed
    batch is copied into ``quarantine_dir`` (if given) with a reason file, like a bundle.
    A signed batch is logged in ``bundle_log`` like a bundle, so an issuer's sequence number
    cannot be replayed; its signed copy upgrades a batch first imported unsigned.
    """
    if not isinstance(media, MediaStore):  # a bare media folder: its key lives beside it
        media = MediaStore(media.parent, media)
    try:
        with _gc_paused():
            return _import(db, media, Path(path), _Progress(progress, cancelled), trust_unsigned)
    except SignedBatchRefused as exc:
        if quarantine_dir is not None and exc.data:  # an oversize file is not copied
            bundles.quarantine(quarantine_dir, exc.path.name, exc.data, exc.rejected)
        raise


def _import(
    db: sqlite_utils.Database,
    media: MediaStore,
    path: Path,
    tracker: _Progress,
    trust_unsigned: bool,
) -> ImportReport:
    with _open_source(path, db) as source:
        return _import_source(db, media, path, source, tracker, trust_unsigned)


def import_batch_files(
    db: sqlite_utils.Database, media: MediaStore, name: str, files: dict[str, bytes]
) -> ImportReport:
    """Import an unsigned batch the app built in memory (``{name: bytes}`` as
    ``batch_files`` gives), checked like any batch, all or nothing; ``name`` labels messages.
    Nothing of it is written to disk but the media store's sealed files."""
    with _gc_paused():
        return _import_source(
            db, media, Path(name), _MemorySource(name, files), _Progress(None, None), True
        )


def _import_source(
    db: sqlite_utils.Database,
    media: MediaStore,
    path: Path,
    source: _Source,
    tracker: _Progress,
    trust_unsigned: bool,
) -> ImportReport:
    if source.signature_status == UNSIGNED and not trust_unsigned:
        raise UnsignedBatch(
            f"{path.name}: this batch is not signed by a trusted issuer. Import it only if"
            " you trust where it came from: on the command line with"
            " `qa-desktop import --trust-unsigned`, in the app by confirming when asked."
            " It will show as unsigned."
        )
    header, header_bytes = _read_header(source)
    if source.batch_id is not None and header.id != source.batch_id:
        raise BatchError(
            f"{source.label(HEADER_FILE)}, field 'id': batch {header.id!r} is not the batch"
            f" the signed bag-info.txt names ({source.batch_id!r})"
        )
    cases_name, cases_bytes = _read_cases_file(source)
    # hashlib lets go of the GIL on large buffers: hash while the cases are parsed.
    with ThreadPoolExecutor(max_workers=1) as pool:
        source_hash = pool.submit(_sha256_hex, header_bytes, cases_bytes)
        cases = _parse_cases(source.label(cases_name), cases_name, cases_bytes, header, tracker)
        source_sha256 = source_hash.result()
    del cases_bytes
    batch_is_new = _check_against_database(db, header, source.label(HEADER_FILE), cases)
    _check_media(source, cases, tracker)
    new_rows, present = _select_new_cases(cases)
    session = _shipped_session(source)
    media_added = _store_media(source, media, cases, tracker)
    refused: list[tuple[str, str, str]] = []
    with transaction(db):
        _write(db, header, source_sha256, batch_is_new, cases, new_rows, tracker, source)
        if session is not None:
            refused = _receive_session(db, source, session)
    tracker.finish()
    return ImportReport(
        header.id,
        len(new_rows),
        present,
        media_added,
        source.signature_status,
        source.signer_name,
        session.name if session is not None else "",
        tuple(refused),
    )


def _shipped_session(source: _Source) -> calibration.Session | None:
    """The async calibration session a signed batch ships, checked; None if it has none.

    Only a signed batch may ship one (an unsigned file could name anyone as arbiter).
    """
    if not source.has(SESSION_FILE):
        return None
    label = source.label(SESSION_FILE)
    if not isinstance(source, _SignedSource):
        raise BatchError(f"{label}: only a batch signed by its lead may ship a calibration session")
    try:
        data = loads_strict(source.files[source.prefix + SESSION_FILE])
        return calibration.session_from_json(data, label)
    except StrictJSONError as exc:
        raise BatchError(f"{label}: {exc}") from None
    except ValueError as exc:
        raise BatchError(str(exc)) from None


def _receive_session(
    db: sqlite_utils.Database, source: _Source, session: calibration.Session
) -> list[tuple[str, str, str]]:
    """Store the shipped session and attach the votes kept aside for it; those it refuses."""
    assert isinstance(source, _SignedSource) and source.bundle is not None
    try:
        return calibration.receive_session(db, session, source.bundle.signer.reviewer_id)
    except Refused as exc:
        raise BatchError(
            f"{source.label(SESSION_FILE)}: refused ({exc.reason}): {exc.message}"
        ) from None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cycle collector: building 100,000s of records would run it over and over.

    Nothing an import builds forms cycles, so refcounting frees it all the same; what it
    built is freed before the collector resumes, so resuming costs nothing either. (The pause
    is process-wide: cycles other threads make meanwhile wait for the end of the import.)
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
