"""Importing a batch: check everything, then write it all or nothing (``import_batch``)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from .. import bundles, calibration
from ..bundles.payloads.case_batches import SESSION_FILE
from ..errors import Refused
from ..formats.canonical import StrictJSONError, loads_strict
from ..media_store import MediaStore
from ..store import find_index_deferred, transaction
from .cases_file import _CasesFile, _chunks, _csv_chunks, _scan_cases_file
from .header import _Header, _read_header
from .issuer import SignedBatchRefused
from .media_intake import _check_media, _store_media
from .problems import BatchError, UnsignedBatch
from .progress import _Progress
from .records import _add_csv_chunk, _add_jsonl_chunk, _Cases
from .sources import (
    HEADER_FILE,
    SIGNED_PREFIX,
    UNSIGNED,
    _MemorySource,
    _open_source,
    _SignedSource,
    _Source,
)
from .writer import (
    _check_chunk_against_database,
    _check_header,
    _database_changed,
    _select_new_cases,
    _write_batch,
    _write_chunk,
    rows_json,
)


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
    """Import the batch at ``path``, all or nothing, in one transaction.

    ``path`` is a batch folder (or its ``batch.json``), a .zip of one, or a .csv of cases with
    a ``batch.json`` beside it. ``progress(done, total)`` is called from time to time and last
    with ``done == total``; ``cancelled()`` is polled between cases and chunks and, once it
    returns True, the import stops with :class:`ImportCancelled`. On any error (or a kill)
    the database is left exactly as it was (media files already copied into the
    content-addressed store stay there, unreferenced and harmless). Media are stored
    encrypted under ``media``'s key (a bare folder path means a store whose key file lives
    in its parent's ``keys/``).

    A signed batch (a ``case-batch`` bundle .zip) is verified against the trust store
    before anything else; a refusal is a :class:`BatchError` naming the file and the bundle
    reason code. An unsigned batch raises :class:`UnsignedBatch` unless ``trust_unsigned``
    (default True for library callers; the CLI and GUI ask the user first). A refused signed
    batch is copied into ``quarantine_dir`` (if given) with a reason file, like a bundle.
    A signed batch is logged in ``bundle_log`` like a bundle, so an issuer's sequence number
    cannot be replayed; its signed copy upgrades a batch first imported unsigned.

    The cases file is streamed: one scan (size, UTF-8, count, hash), then chunks of
    :data:`~.cases_file.CHUNK_CASES` records checked, their media stored and their rows
    inserted, all inside one transaction that holds the write lock from the first chunk.
    Memory stays within one read block, one chunk and the file's case ids (kept to find
    duplicates: about 130 bytes a case for short ids), whatever the file's size.
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
    cases_file = _scan_cases_file(source, header_bytes)
    tracker.start(4 * cases_file.count)
    cases = _Cases(cases_file.label)
    added = present = media_added = 0
    session: calibration.Session | None = None
    refused: list[tuple[str, str, str]] = []
    try:
        with transaction(db):
            batch_is_new = _check_header(db, header, source.label(HEADER_FILE))
            had_cases = db.execute("SELECT 1 FROM cases LIMIT 1").fetchone() is not None
            _write_batch(db, header, cases_file.sha256, batch_is_new, cases_file.count, source)
            with find_index_deferred(db) as index_new_cases:  # one statement a chunk
                chunks = _record_chunks(source, cases_file, header, header_bytes, cases, tracker)
                for chunk in _read_ahead(chunks):
                    tracker.advance(chunk.size)
                    new, old, stored = _import_chunk(
                        db, media, source, header.id, had_cases, chunk, tracker
                    )
                    added, present, media_added = added + new, present + old, media_added + stored
                    if new:
                        index_new_cases()
                cases.raise_if_any()
            session = _shipped_session(source)
            if session is not None:
                refused = _receive_session(db, source, session)
    except sqlite3.IntegrityError as exc:
        raise _database_changed(header.id, exc) from exc
    tracker.finish()
    return ImportReport(
        header.id,
        added,
        present,
        media_added,
        source.signature_status,
        source.signer_name,
        session.name if session is not None else "",
        tuple(refused),
    )


def _record_chunks(
    source: _Source,
    cases_file: _CasesFile,
    header: _Header,
    header_bytes: bytes,
    cases: _Cases,
    tracker: _Progress,
) -> Iterator[_Cases]:
    """The file's records checked, a chunk at a time (each chunk shares ``cases``' ids and
    problems). Safe to run in another thread: it polls cancel but reports no progress."""
    if cases_file.columns is not None:
        columns = list(cases_file.columns)
        for csv_chunk in _csv_chunks(source, cases_file, header_bytes):
            tracker.check_cancelled()
            chunk = cases.chunk()
            _add_csv_chunk(chunk, columns, csv_chunk, header.id)
            yield _with_rows_json(chunk)
    else:
        for lines in _chunks(source, cases_file, header_bytes):
            tracker.check_cancelled()
            chunk = cases.chunk()
            _add_jsonl_chunk(chunk, lines, header.id)
            yield _with_rows_json(chunk)


def _with_rows_json(chunk: _Cases) -> _Cases:
    """``chunk`` with its rows encoded for the insert, here in the reading thread, when they
    are complete (a media case's content hash waits for its media) and will be inserted."""
    if chunk.rows and not chunk.media_cases and not chunk.problems.messages:
        chunk.rows_json = rows_json(chunk.rows)
    return chunk


_Item = TypeVar("_Item")


def _read_ahead(items: Iterator[_Item]) -> Iterator[_Item]:
    """``items``, the next one computed in a worker thread while the caller uses this one.

    The caller's inserts let go of the GIL (SQLite works without it), so reading and checking
    the next chunk runs meanwhile. At most two chunks exist at once.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-read") as pool:
        ahead = pool.submit(next, items, None)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(next, items, None)
            yield item


def _import_chunk(
    db: sqlite_utils.Database,
    media: MediaStore,
    source: _Source,
    batch_id: str,
    had_cases: bool,
    cases: _Cases,
    tracker: _Progress,
) -> tuple[int, int, int]:
    """Check a checked chunk against the database and its media, store its media and insert
    it: (cases added, cases already present, media added). Once a problem is found, later
    chunks are only checked, for the problems of the same or an earlier kind (nothing of
    what is inserted survives: the transaction rolls back)."""
    size = cases.size
    if cases.problems.messages:
        tracker.advance(3 * size)
        return 0, 0, 0
    if had_cases:
        _check_chunk_against_database(db, batch_id, cases)
    if cases.database_problems.messages:
        tracker.advance(3 * size)
        return 0, 0, 0
    _check_media(source, cases, tracker)
    new_rows, present = _select_new_cases(cases)
    if cases.found_problems:
        tracker.advance(2 * size)
        return 0, 0, 0
    media_added = _store_media(source, media, cases, tracker)
    tracker.check_cancelled()
    _write_chunk(db, new_rows, cases)
    tracker.advance(size)
    return len(new_rows), present, media_added


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
