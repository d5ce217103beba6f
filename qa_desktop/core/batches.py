"""Case batches: validate a folder, .zip or .csv of cases, then import it all or nothing.

The format is specified in ``docs/batch-format.md``. In short::

    report = import_batch(db, media_dir, Path("weekly-de.zip"), progress=print)
    report.cases_added, report.cases_already_present, report.media_added

An import runs in four phases, each advancing ``progress(done, total)`` by one unit per case
(so ``total == 4 * cases``): check the records, check and hash the media, copy new media into
the content-addressed store (``media_dir/sha[:2]/sha``), write the rows in one transaction.
Nothing reaches the database unless every case and every media file passed; a
:class:`BatchError` lists the problems found, each naming the file, the line and the field.

A batch signed by an issuer (``bundles.sign_case_batch``: a ``case-batch`` bundle) is
verified against the trust store first, entirely in memory, and then imported from the
verified bytes (its ``data/`` folder); the batch row records ``signed:<key id>``. An unsigned
batch is imported only with ``trust_unsigned=True`` (the library default; the CLI asks for
``--trust-unsigned``) and is recorded as ``unsigned``.
"""

from __future__ import annotations

import csv
import difflib
import gc
import hashlib
import io
import json
import os
import re
import sqlite3
import stat
import tempfile
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlite_utils
from PIL import Image

from . import bundles
from .clock import utc_now_iso
from .formats.safe_paths import relative_path_problem
from .store import transaction

FORMAT_VERSION = 1
"""The batch format version this module reads (``format_version`` in ``batch.json``)."""

KiB, MiB, GiB = 1024, 1024**2, 1024**3

MAX_MEMBER_BYTES = 2 * GiB
"""Largest single file (media, or a member of a .zip once uncompressed)."""
MAX_TOTAL_BYTES = 20 * GiB
"""Largest batch: every file it holds, uncompressed, counted once."""
MAX_COMPRESSION_RATIO = 200
"""A .zip member may expand at most this many times its compressed size ..."""
RATIO_CHECK_MIN_BYTES = 1 * MiB
"""... unless it is no bigger than this uncompressed (small files may compress very well)."""
MAX_MEMBERS = 200_000
"""Most entries a .zip may hold."""
MAX_HEADER_BYTES = 1 * MiB
"""Largest ``batch.json``."""
MAX_CASES_FILE_BYTES = 1 * GiB
"""Largest ``cases.jsonl`` / ``cases.csv``."""
MAX_CASES = 1_000_000
"""Most cases in one batch."""
MAX_MEDIA_PER_CASE = 100
"""Most media files one case may list."""
MAX_IMAGE_PIXELS = 100_000_000
"""Largest image, in pixels (width x height): bigger is refused as a decompression bomb."""
MAX_TOKEN_LENGTH = 200
"""Longest id, name, market, language, tag or decision field (compiled into the checks)."""
MAX_REPORTED_PROBLEMS = 20
"""Problems listed in one :class:`BatchError` message (the rest are counted)."""

CONTENT_TYPES = ("image", "video", "text")
HEADER_FILE = "batch.json"
JSONL_FILE = "cases.jsonl"
CSV_FILE = "cases.csv"

CSV_COLUMNS = (
    "id",
    "content_type",
    "media",
    "text",
    "market",
    "language",
    "tags",
    "label",
    "policy",
    "moderator_id",
    "queue",
    "decided_at",
    "metadata",
)
CSV_REQUIRED_COLUMNS = frozenset(
    (
        "id",
        "content_type",
        "market",
        "language",
        "label",
        "policy",
        "moderator_id",
        "queue",
        "decided_at",
    )
)

_CASE_FIELDS = frozenset(
    ("id", "content_type", "media", "text", "market", "language", "tags", "metadata", "decision")
)
_CASE_REQUIRED = frozenset(("id", "content_type", "market", "language", "decision"))
_DECISION_FIELDS = frozenset(("label", "policy", "moderator_id", "queue", "decided_at"))
_HEADER_FIELDS = frozenset(
    ("format_version", "id", "name", "issuer", "market", "guideline_pack", "created_at")
)
_PACK_FIELDS = frozenset(("id", "version"))

# A token: 1..MAX_TOKEN_LENGTH characters, no control characters, no surrounding whitespace.
_LIST_CELL_SEPARATORS = re.compile(r"[;|]")

_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode

_CHUNK_CASES = 2000
_READ_CHUNK = 1 * MiB
_SNIFF_BYTES = 64

_INSERT_CASE = (
    "INSERT INTO cases (id, batch_id, content_type, market, language, text, tags, metadata,"
    " orig_label, orig_policy, orig_moderator, orig_queue, orig_decided_at, content_sha256)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_MEDIA = (
    "INSERT INTO media (case_id, position, name, sha256, mime, size) VALUES (?,?,?,?,?,?)"
)
_ROW_SHA = 13  # index of content_sha256 in a case row


class BatchError(ValueError):
    """A batch that cannot be imported. The message names the file, line and field.

    ``problems`` holds every problem found (the message lists the first
    :data:`MAX_REPORTED_PROBLEMS`).
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


class UnsignedBatch(BatchError):
    """An unsigned batch offered without ``trust_unsigned``: the user must choose to trust it."""


class SignedBatchRefused(BatchError):
    """A signed batch whose bundle was refused (bad signature, replay, expired...)."""

    def __init__(self, path: Path, data: bytes, rejected: bundles.BundleRejected) -> None:
        super().__init__(
            f"{path.name}: signed case batch refused ({rejected.reason}): {rejected.message}"
        )
        self.path = path
        self.data = data
        self.rejected = rejected


UNSIGNED = "unsigned"
"""``batches.signature_status`` of a batch imported unsigned (trusted on request)."""
SIGNED_PREFIX = "signed:"
"""``batches.signature_status`` of a signed batch: ``signed:<issuer key id>``."""


class ImportCancelled(Exception):
    """The user cancelled the import; nothing was written."""


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

    @property
    def signed(self) -> bool:
        """True when the batch was signed by a trusted issuer."""
        return self.signature_status.startswith(SIGNED_PREFIX)


def import_batch(
    db: sqlite_utils.Database,
    media_dir: Path,
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
    stay there, unreferenced and harmless).

    A signed batch (a ``case-batch`` bundle .zip) is verified against the trust store
    before anything else; a refusal is a :class:`BatchError` naming the file and the bundle
    reason code. An unsigned batch raises :class:`UnsignedBatch` unless ``trust_unsigned``
    (default True for library callers; the CLI and GUI ask the user first). A refused signed
    batch is copied into ``quarantine_dir`` (if given) with a reason file, like a bundle.
    A signed batch is logged in ``bundle_log`` like a bundle, so an issuer's sequence number
    cannot be replayed; its signed copy upgrades a batch first imported unsigned.
    """
    try:
        with _gc_paused():
            return _import(
                db, media_dir, Path(path), _Progress(progress, cancelled), trust_unsigned
            )
    except SignedBatchRefused as exc:
        if quarantine_dir is not None and exc.data:  # an oversize file is not copied
            bundles.quarantine(quarantine_dir, exc.path.name, exc.data, exc.rejected)
        raise


def _import(
    db: sqlite_utils.Database,
    media_dir: Path,
    path: Path,
    tracker: _Progress,
    trust_unsigned: bool,
) -> ImportReport:
    with _open_source(path, db) as source:
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
        media_added = _store_media(source, media_dir, cases, tracker)
    _write(db, header, source_sha256, batch_is_new, cases, new_rows, tracker, source)
    tracker.finish()
    return ImportReport(header.id, len(new_rows), present, media_added,
                        source.signature_status, source.signer_name)


def batch_files(path: Path) -> dict[str, bytes]:
    """Every file of an unsigned batch folder or .zip, by name relative to its batch.json.

    For signing a batch (``bundles.sign_case_batch_files``); links are left out, .zip
    members are read with the usual safety checks. Contents are not validated here.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / HEADER_FILE).is_file():
            raise BatchError(f"{path}: no {HEADER_FILE} in this folder; it is not a case batch")
        files: dict[str, bytes] = {}
        for item in sorted(path.rglob("*")):
            if item.is_file() and not item.is_symlink():
                files[item.relative_to(path).as_posix()] = item.read_bytes()
        return files
    if not path.is_file():
        raise BatchError(f"{path}: no such batch folder or .zip")
    source = _open_zip(path)
    try:
        if not isinstance(source, _ZipSource):
            raise BatchError(f"{path.name}: already a signed batch")
        return {
            name[len(source.prefix) :]: _read_member(
                source, name[len(source.prefix) :], MAX_MEMBER_BYTES
            )
            for name, info in source.members.items()
            if name.startswith(source.prefix) and not info.is_dir()
        }
    finally:
        source.close()


# -- problems and progress -----------------------------------------------------------------


class _Bad(Exception):
    """One problem with one field of one record (the caller adds file and line)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Unusable(Exception):
    """A file of the batch cannot be used; the message says why (the caller names it)."""


class _Problems:
    """Problems collected while checking, so one BatchError can list many of them."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def add_bad(self, where: str, bad: _Bad, names: dict[str, str] | None = None) -> None:
        """Add a field problem found at ``where`` (e.g. ``cases.jsonl line 3``)."""
        if bad.field is None:
            self.add(f"{where}: {bad.message}")
        else:
            name = names.get(bad.field, bad.field) if names else bad.field
            self.add(f"{where}, field {name!r}: {bad.message}")

    def raise_if_any(self) -> None:
        count = len(self.messages)
        if count == 1:
            raise BatchError(self.messages[0])
        if count > 1:
            shown = self.messages[:MAX_REPORTED_PROBLEMS]
            lines = [f"{count} problems in this batch:", *(f"- {m}" for m in shown)]
            if count > len(shown):
                lines.append(f"- ... and {count - len(shown)} more")
            raise BatchError("\n".join(lines), tuple(self.messages))


class _Progress:
    """Reports ``progress(done, total)`` now and then (not on every unit) and polls cancel."""

    def __init__(
        self, report: Callable[[int, int], None] | None, cancelled: Callable[[], bool] | None
    ) -> None:
        self._report = report
        self._cancelled = cancelled
        self.total = 0
        self.done = 0
        self._reported_done = 0
        self._reported_at = 0.0
        self._step = 1

    def start(self, total: int) -> None:
        self.total = total
        self._step = max(1, total // 200)
        self._emit()

    def advance(self, units: int) -> None:
        self.done += units
        if (
            self.done - self._reported_done >= self._step
            or time.monotonic() - self._reported_at >= 0.2
        ):
            self._emit()

    def check_cancelled(self) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ImportCancelled("import cancelled; nothing was imported")

    def finish(self) -> None:
        self.done = self.total
        if self._reported_done != self.total:
            self._emit()

    def _emit(self) -> None:
        self._reported_done, self._reported_at = self.done, time.monotonic()
        if self._report is not None:
            self._report(min(self.done, self.total), self.total)


# -- where the batch comes from: a folder or a .zip ------------------------------------------


class _Source:
    """The files of a batch, by '/'-separated relative name, read with size limits."""

    signature_status = UNSIGNED
    signer_name = ""
    batch_id: str | None = None
    """The batch id the signature vouches for (None: unsigned)."""
    bundle: bundles.VerifiedBundle | None = None
    """The verified bundle of a signed batch."""

    def __init__(self) -> None:
        self.bytes_read = 0

    def label(self, name: str) -> str:
        """How messages name a file of the batch."""
        return name

    def has(self, name: str) -> bool:
        raise NotImplementedError

    def open(self, name: str) -> tuple[IO[bytes], int, str]:
        """An open stream, the most bytes it may yield, and what exceeding that means."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the source."""

    def count(self, nbytes: int) -> None:
        """Charge bytes read while checking against :data:`MAX_TOTAL_BYTES`."""
        self.bytes_read += nbytes
        if self.bytes_read > MAX_TOTAL_BYTES:
            raise BatchError(f"the batch is larger than the {_size(MAX_TOTAL_BYTES)} limit")


class _FolderSource(_Source):
    """A batch folder; links are followed only while they stay inside it."""

    def __init__(self, root: Path, cases_name: str | None = None) -> None:
        super().__init__()
        self.root = root
        self.real_root = root.resolve()
        self.cases_name = cases_name

    def has(self, name: str) -> bool:
        return os.path.lexists(self.root / name)

    def open(self, name: str) -> tuple[IO[bytes], int, str]:
        try:
            real = (self.root / name).resolve(strict=True)
        except FileNotFoundError:
            raise _Unusable("not found in the batch") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            raise _Unusable(f"cannot be read ({exc})") from None
        if not real.is_relative_to(self.real_root):
            raise _Unusable("is a link to a file outside the batch") from None
        try:
            info = real.stat()
            if stat.S_ISDIR(info.st_mode):
                raise _Unusable("is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise _Unusable("is not a regular file")
            if info.st_size > MAX_MEMBER_BYTES:
                raise _Unusable(f"is larger than the {_size(MAX_MEMBER_BYTES)} limit for one file")
            stream = real.open("rb")
        except OSError as exc:
            raise _Unusable(f"cannot be read ({exc.strerror or exc})") from None
        return stream, MAX_MEMBER_BYTES, f"is larger than the {_size(MAX_MEMBER_BYTES)} limit"


class _ZipSource(_Source):
    """A .zip of a batch, its members checked before any is read (never extracted)."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        super().__init__()
        self.path = path
        self.archive = archive
        self.members = _checked_members(path, archive)
        self.prefix = _batch_prefix(path, self.members)

    def label(self, name: str) -> str:
        return f"{self.path.name}: {self.prefix}{name}"

    def has(self, name: str) -> bool:
        return self.prefix + name in self.members

    def open(self, name: str) -> tuple[IO[bytes], int, str]:
        info = self.members.get(self.prefix + name)
        if info is None:
            raise _Unusable("not found in the archive")
        if info.is_dir():
            raise _Unusable("is a folder, not a file")
        limit = MAX_MEMBER_BYTES
        why = f"is larger than the {_size(MAX_MEMBER_BYTES)} limit"
        ratio_cap = max(RATIO_CHECK_MIN_BYTES, MAX_COMPRESSION_RATIO * info.compress_size)
        if ratio_cap < limit:
            limit, why = ratio_cap, _ratio_problem()
        try:
            return self.archive.open(info), limit, why
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise _Unusable(f"cannot be read from the archive ({exc})") from None

    def close(self) -> None:
        self.archive.close()


class _SignedSource(_Source):
    """A verified signed batch: the files of its ``data/`` folder, held in memory."""

    def __init__(self, path: Path, verified: bundles.VerifiedBundle) -> None:
        super().__init__()
        self.path = path
        self.files = verified.payload
        self.prefix = _batch_prefix(path, self.files)
        self.bundle = verified
        self.signature_status = SIGNED_PREFIX + verified.signer.key_id
        self.signer_name = verified.signer.signer_name
        self.batch_id = verified.info.get("Batch-Ids", "")

    def label(self, name: str) -> str:
        return f"{self.path.name}: data/{self.prefix}{name}"

    def has(self, name: str) -> bool:
        return self.prefix + name in self.files

    def open(self, name: str) -> tuple[IO[bytes], int, str]:
        data = self.files.get(self.prefix + name)
        if data is None:
            raise _Unusable("not found in the signed batch")
        why = f"is larger than the {_size(MAX_MEMBER_BYTES)} limit"
        return io.BytesIO(data), MAX_MEMBER_BYTES, why


def _looks_signed(names: list[str]) -> bool:
    """True for a .zip holding a bag (``<folder>/bagit.txt`` or its signature)."""
    return any(
        name.count("/") == 1 and name.split("/", 1)[1] in (bundles.BAGIT_TXT, bundles.SIGNATURE)
        for name in names
    )


def _open_signed(path: Path, db: sqlite_utils.Database | None) -> _SignedSource:
    """Read a signed batch once and verify it in memory; nothing unverified is used."""
    if db is None:
        raise BatchError(f"{path.name}: a signed batch needs the trust store to be verified")
    data = b""
    try:
        data = bundles.read_bundle_file(path)
        verified = bundles.verify_case_batch(db, data)
        bundles.check_bundle_log(db, verified)
    except bundles.BundleRejected as exc:
        raise SignedBatchRefused(path, data, exc) from None
    except OSError as exc:
        raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return _SignedSource(path, verified)


def _ratio_problem() -> str:
    return f"expands more than {MAX_COMPRESSION_RATIO} times its compressed size (a zip bomb?)"


def _checked_members(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every member by name, after refusing unsafe names, links and oversize members."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BatchError(f"{path.name}: more than {MAX_MEMBERS:,} entries in the archive")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        problem = _member_problem(info)
        if problem:
            raise BatchError(f"{path.name}: member {info.filename!r} {problem}")
        if info.filename in members:
            raise BatchError(f"{path.name}: member {info.filename!r} appears twice")
        members[info.filename] = info
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BatchError(
                f"{path.name}: uncompressed, the archive is larger than the"
                f" {_size(MAX_TOTAL_BYTES)} limit"
            )
    return members


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a link; links are not allowed in a batch"
    path_problem = relative_path_problem(name.rstrip("/") if info.is_dir() else name)
    if path_problem:
        return path_problem
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"is larger than the {_size(MAX_MEMBER_BYTES)} limit for one file"
    if info.file_size > RATIO_CHECK_MIN_BYTES and (
        info.file_size > MAX_COMPRESSION_RATIO * info.compress_size
    ):
        return _ratio_problem()
    return None


def _batch_prefix(path: Path, members: Mapping[str, object]) -> str:
    """'' when batch.json is at the top of the archive, 'folder/' when it is in one folder."""
    if HEADER_FILE in members:
        return ""
    nested = [n for n in members if n.count("/") == 1 and n.endswith("/" + HEADER_FILE)]
    if len(nested) == 1:
        return nested[0][: -len(HEADER_FILE)]
    raise BatchError(f"{path.name}: no {HEADER_FILE} at the top of the archive")


@contextmanager
def _open_source(path: Path, db: sqlite_utils.Database | None = None) -> Iterator[_Source]:
    """The batch at ``path``: a folder, its batch.json, a .zip (signed or not), or a .csv.

    A signed .zip is verified against ``db``'s trust store before it is used.
    """
    source: _Source
    try:
        if path.name in (HEADER_FILE, JSONL_FILE) and path.is_file():
            path = path.parent
        is_dir, is_file, exists = path.is_dir(), path.is_file(), path.exists()
    except OSError as exc:
        raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if is_dir:
        if not (path / HEADER_FILE).exists() and (path / bundles.BAGIT_TXT).exists():
            raise BatchError(
                f"{path}: an unzipped signed batch; import the signed .zip itself so that its"
                " signature can be checked"
            )
        if not (path / HEADER_FILE).exists():
            raise BatchError(f"{path}: no {HEADER_FILE} in this folder; it is not a case batch")
        source = _FolderSource(path)
    elif is_file and path.suffix.lower() == ".csv":
        if not (path.parent / HEADER_FILE).exists():
            raise BatchError(
                f"{path}: a .csv of cases needs a {HEADER_FILE} beside it giving the batch"
                " header (see docs/batch-format.md)"
            )
        source = _FolderSource(path.parent, cases_name=path.name)
    elif is_file:
        source = _open_zip(path, db)
    elif not exists:
        raise BatchError(f"{path}: no such file or folder")
    else:
        raise BatchError(f"{path}: not a batch folder, .zip or .csv file")
    try:
        yield source
    finally:
        source.close()


def _open_zip(path: Path, db: sqlite_utils.Database | None = None) -> _Source:
    try:
        is_zip = zipfile.is_zipfile(path)
        if not is_zip:
            raise BatchError(
                f"{path}: not a case batch (expected a folder with {HEADER_FILE}, a .zip or a"
                " .csv file)"
            )
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except zipfile.BadZipFile as exc:
        raise BatchError(f"{path}: not a readable zip archive ({exc})") from exc
    try:
        signed = _looks_signed(archive.namelist())
        if not signed:
            return _ZipSource(path, archive)
    except BaseException:
        archive.close()
        raise
    archive.close()
    return _open_signed(path, db)


def _read_member(source: _Source, name: str, limit: int) -> bytes:
    """The whole of a small file of the batch (batch.json, the cases file)."""
    label = source.label(name)
    try:
        stream, member_limit, why = source.open(name)
    except _Unusable as exc:
        raise BatchError(f"{label}: {exc}") from None
    with stream:
        data = _read_all(stream, min(limit, member_limit) + 1, label)
    if len(data) > member_limit:
        raise BatchError(f"{label}: {why}")
    if len(data) > limit:
        raise BatchError(f"{label}: is larger than the {_size(limit)} limit for this file")
    source.count(len(data))
    return data


def _read_all(stream: IO[bytes], limit: int, label: str) -> bytes:
    """At most ``limit`` bytes of ``stream``, read in chunks (never one ``limit``-sized buffer)."""
    chunks, size = [], 0
    try:
        while size < limit and (chunk := stream.read(min(_READ_CHUNK * 16, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise BatchError(f"{label}: cannot be read ({exc})") from None
    return b"".join(chunks)


# -- batch.json ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    id: str
    name: str
    issuer: str
    market: str
    pack_id: str
    pack_version: str
    created_at: str
    format_version: int


def _read_header(source: _Source) -> tuple[_Header, bytes]:
    label = source.label(HEADER_FILE)
    data = _read_member(source, HEADER_FILE, MAX_HEADER_BYTES)
    obj = _decode_json_document(label, data)
    problems = _Problems()
    if not isinstance(obj, dict):
        raise BatchError(f"{label}: expected a JSON object, got {_json_type(obj)}")
    version = obj.get("format_version")
    if type(version) is not int:
        raise BatchError(
            f"{label}, field 'format_version': expected the integer {FORMAT_VERSION}, got"
            f" {_shown(version) if 'format_version' in obj else 'nothing (missing)'}"
        )
    if version != FORMAT_VERSION:
        raise BatchError(
            f"{label}, field 'format_version': unsupported format_version {version};"
            f" this app reads format_version {FORMAT_VERSION}"
        )
    _check_fields(obj, _HEADER_FIELDS, _HEADER_FIELDS, "", label, problems)
    pack = obj.get("guideline_pack")
    if "guideline_pack" in obj and not isinstance(pack, dict):
        problems.add(
            f"{label}, field 'guideline_pack': expected an object with id and version,"
            f" got {_json_type(pack)}"
        )
    elif isinstance(pack, dict):
        _check_fields(pack, _PACK_FIELDS, _PACK_FIELDS, "guideline_pack.", label, problems)
    problems.raise_if_any()
    assert isinstance(pack, dict)
    values = {
        "id": obj["id"],
        "name": obj["name"],
        "issuer": obj["issuer"],
        "market": obj["market"],
        "guideline_pack.id": pack["id"],
        "guideline_pack.version": pack["version"],
    }
    for name, value in values.items():
        if not _is_token(value):
            problems.add(f"{label}, field {name!r}: {_token_problem(value)}")
    time_problem = _timestamp_problem(obj["created_at"])
    if time_problem:
        problems.add(f"{label}, field 'created_at': {time_problem}")
    problems.raise_if_any()
    header = _Header(
        id=obj["id"],
        name=obj["name"],
        issuer=obj["issuer"],
        market=obj["market"],
        pack_id=pack["id"],
        pack_version=pack["version"],
        created_at=obj["created_at"],
        format_version=version,
    )
    return header, data


def _check_fields(
    obj: dict[str, Any],
    allowed: frozenset[str],
    required: frozenset[str],
    prefix: str,
    label: str,
    problems: _Problems,
) -> None:
    """Add a problem for each unknown and each missing field of a header object."""
    try:
        _check_keys(obj, allowed, required, prefix)
    except _Bad as bad:
        problems.add_bad(label, bad)


def _check_keys(
    obj: dict[str, Any], allowed: frozenset[str], required: frozenset[str], prefix: str
) -> None:
    """Raise :class:`_Bad` for the unknown fields (with a suggestion) or the missing ones."""
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        others = f"; also unknown: {', '.join(map(repr, unknown[1:]))}" if unknown[1:] else ""
        raise _Bad(prefix + unknown[0], _unknown_name("field", unknown[0], allowed) + others)
    missing = [k for k in sorted(required) if k not in obj]
    if missing:
        raise _Bad(
            prefix + missing[0],
            "missing (required)"
            + (f"; also missing: {', '.join(missing[1:])}" if missing[1:] else ""),
        )


def _unknown_name(kind: str, name: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    """'unknown field (did you mean ...?); allowed: ...' for a typo'd field or column."""
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind}{hint}; allowed: {', '.join(sorted(allowed))}"


# -- the cases file ----------------------------------------------------------------------------


@dataclass
class _Cases:
    """Checked case rows, ready to insert, with what is still to check about their media."""

    label: str
    rows: list[Any] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # case id -> line
    media_cases: list[tuple[int, list[str], bytes]] = field(default_factory=list)
    media_rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    existing: dict[str, str] = field(default_factory=dict)  # same batch: id -> content_sha256
    problems: _Problems = field(default_factory=_Problems)

    @property
    def count(self) -> int:
        return len(self.rows)


def _read_cases_file(source: _Source) -> tuple[str, bytes]:
    """The name and bytes of the cases file: cases.jsonl or cases.csv (or the .csv chosen)."""
    if isinstance(source, _FolderSource) and source.cases_name:
        name = source.cases_name
    else:
        has_jsonl, has_csv = source.has(JSONL_FILE), source.has(CSV_FILE)
        if has_jsonl and has_csv:
            raise BatchError(
                f"{source.label(JSONL_FILE)}: the batch also has a {CSV_FILE};"
                " keep only one cases file"
            )
        if not (has_jsonl or has_csv):
            raise BatchError(
                f"{source.label(JSONL_FILE)}: missing; a batch needs {JSONL_FILE} or {CSV_FILE}"
            )
        name = JSONL_FILE if has_jsonl else CSV_FILE
    return name, _read_member(source, name, MAX_CASES_FILE_BYTES)


def _parse_cases(label: str, name: str, data: bytes, header: _Header, tracker: _Progress) -> _Cases:
    text = _decode_utf8(label, data)
    cases = _Cases(label)
    if name.lower().endswith(".csv"):
        _parse_csv(text, header.id, cases, tracker)
    else:
        _parse_jsonl(text, header.id, cases, tracker)
    cases.problems.raise_if_any()
    return cases


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


def _start_counting(cases: _Cases, count: int, tracker: _Progress) -> None:
    if count == 0:
        raise BatchError(f"{cases.label}: the batch has no cases")
    if count > MAX_CASES:
        raise BatchError(f"{cases.label}: {count:,} cases, more than the {MAX_CASES:,} limit")
    tracker.start(4 * count)


def _parse_jsonl(text: str, batch_id: str, cases: _Cases, tracker: _Progress) -> None:
    # str.splitlines would also split at U+2028 and friends, which JSON strings may hold raw.
    texts = text.split("\n")
    numbers = [n for n, s in enumerate(texts, 1) if s and not s.isspace()]
    if len(numbers) != len(texts):
        texts = [texts[n - 1] for n in numbers]
    _start_counting(cases, len(numbers), tracker)
    for start in range(0, len(numbers), _CHUNK_CASES):
        tracker.check_cancelled()
        end = start + _CHUNK_CASES
        records = [
            _decode_line(cases, n, s)
            for n, s in zip(numbers[start:end], texts[start:end], strict=True)
        ]
        _add_cases(cases, numbers[start:end], records, batch_id, None)
        tracker.advance(len(records))


_MALFORMED = object()


def _decode_line(cases: _Cases, line: int, text: str) -> Any:
    """The JSON value of one line, or ``_MALFORMED`` after noting the problem."""
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        cases.problems.add(f"{cases.label} line {line}: not valid JSON ({_json_error(exc)})")
    except RecursionError:
        cases.problems.add(f"{cases.label} line {line}: not valid JSON (nested too deeply)")
    return _MALFORMED


def _parse_csv(text: str, batch_id: str, cases: _Cases, tracker: _Progress) -> None:
    label = cases.label
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise BatchError(f"{label} line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:
        raise BatchError(f"{label}: empty; expected a header row naming the columns")
    columns = _csv_columns(label, header)
    _start_counting(cases, len(rows), tracker)
    for start in range(0, len(rows), _CHUNK_CASES):
        tracker.check_cancelled()
        chunk = rows[start : start + _CHUNK_CASES]
        records = [_record_from_csv_row(cases, columns, line, row) for line, row in chunk]
        _add_cases(cases, [line for line, _ in chunk], records, batch_id, _CSV_FIELD_NAMES)
        tracker.advance(len(chunk))


_CSV_FIELD_NAMES = {f"decision.{name}": name for name in _DECISION_FIELDS}


def _csv_columns(label: str, header: list[str]) -> list[str]:
    columns = [cell.strip() for cell in header]
    problems = _Problems()
    seen: set[str] = set()
    for column in columns:
        if column not in CSV_COLUMNS:
            problems.add(
                f"{label} line 1, field {column!r}: {_unknown_name('column', column, CSV_COLUMNS)}"
            )
        elif column in seen:
            problems.add(f"{label} line 1, field {column!r}: the column appears twice")
        seen.add(column)
    for column in CSV_COLUMNS:
        if column in CSV_REQUIRED_COLUMNS and column not in seen:
            problems.add(f"{label} line 1, field {column!r}: missing column (required)")
    problems.raise_if_any()
    return columns


def _record_from_csv_row(cases: _Cases, columns: list[str], line: int, row: list[str]) -> Any:
    """The record of one CSV row, or ``_MALFORMED`` after noting the problem."""
    if len(row) != len(columns):
        cases.problems.add(
            f"{cases.label} line {line}: {len(row)} cells, but the header names"
            f" {len(columns)} columns"
        )
        return _MALFORMED
    try:
        return _record_from_csv(dict(zip(columns, row, strict=True)))
    except _Bad as bad:
        cases.problems.add_bad(f"{cases.label} line {line}", bad)
        return _MALFORMED


def _record_from_csv(cells: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the record a cases.jsonl line would hold (cells trimmed, except text)."""
    record: dict[str, Any] = {
        "id": cells["id"].strip(),
        "content_type": cells["content_type"].strip(),
        "market": cells["market"].strip(),
        "language": cells["language"].strip(),
        "decision": {name: cells[name].strip() for name in _DECISION_FIELDS},
    }
    for name in ("media", "tags"):
        if cells.get(name, "").strip():
            record[name] = [
                p.strip() for p in _LIST_CELL_SEPARATORS.split(cells[name]) if p.strip()
            ]
    if cells.get("text"):
        record["text"] = cells["text"]
    metadata = cells.get("metadata", "").strip()
    if metadata:
        try:
            record["metadata"] = json.loads(metadata)
        except ValueError as exc:
            raise _Bad("metadata", f"not valid JSON ({_json_error(exc)})") from None
        except RecursionError:
            raise _Bad("metadata", "not valid JSON (nested too deeply)") from None
    return record


def _add_cases(
    cases: _Cases,
    lines: list[int],
    records: list[Any],
    batch_id: str,
    names: dict[str, str] | None,
) -> None:
    """Check records (from ``lines``) and keep their rows, or note why they cannot be imported.

    ``_MALFORMED`` records were already reported.
    """
    rows, seen, media_cases, case_row = cases.rows, cases.lines, cases.media_cases, _case_row
    for line, record in zip(lines, records, strict=True):
        if record is _MALFORMED:
            continue
        try:
            row, media, canonical = case_row(record, batch_id)
        except _Bad as bad:
            cases.problems.add_bad(f"{cases.label} line {line}", bad, names)
            continue
        case_id = row[0]
        if case_id in seen:
            cases.problems.add(
                f"{cases.label} line {line}, field 'id': duplicate case id {case_id!r}"
                f" (first on line {seen[case_id]})"
            )
            continue
        seen[case_id] = line
        if media:
            media_cases.append((len(rows), media, canonical))
        rows.append(row)


# The canonical form of a case joins its fields with NUL, which none of them can contain
# (tokens have no control characters, text refuses NUL, JSON escapes it). One regex over it
# checks every token at once: this is the hot loop of a 100,000-case import.
_T = rf"(?!\s)[^\x00-\x1f\x7f-\x9f]{{1,{MAX_TOKEN_LENGTH}}}(?<!\s)"
_ANY = r"[^\x00]*"
_TOKEN = re.compile(_T).fullmatch
_CANONICAL_OK = re.compile(
    "\x00".join((_T, "(?:image|video|text)", _ANY, _T, _T, _ANY, _ANY, _T, _T, _T, _T, _ANY))
).fullmatch


class _NotValid(Exception):
    """The fast path met something it does not accept; the thorough check says what."""


def _case_row(record: Any, batch_id: str) -> tuple[Any, list[str], bytes]:
    """The database row of one case record, its media paths and its canonical bytes.

    For a text case the row is complete. For an image or video case ``content_sha256`` is
    still to be computed from the canonical bytes and the media hashes. The fast path below
    accepts only valid records; anything else goes to :func:`_case_problem` for a precise
    message.
    """
    try:
        if type(record) is not dict:
            raise _NotValid
        keys = record.keys()
        decision = record["decision"]
        if not (
            keys <= _CASE_FIELDS
            and keys >= _CASE_REQUIRED
            and type(decision) is dict
            and decision.keys() == _DECISION_FIELDS
        ):
            raise _NotValid
        content_type = record["content_type"]
        text = record.get("text")
        if text is None:
            text = ""
        tags = record.get("tags")
        metadata = record.get("metadata")
        media = record.get("media")
        decided_at = decision["decided_at"]
        if type(tags) is list and tags:
            tags_json = _TAG_LISTS.get(tuple(tags)) or _tags_json(tags)
        else:
            tags_json = "[]" if tags is None or tags == [] else _tags_json(tags)
        metadata_json = "{}" if metadata is None or metadata == {} else _metadata_json(metadata)
        fields = (
            record["id"], content_type, text, record["market"], record["language"],
            tags_json, metadata_json, decision["label"], decision["policy"],
            decision["moderator_id"], decision["queue"], decided_at,
        )  # fmt: skip
        canonical = "\x00".join(fields)
        if not _CANONICAL_OK(canonical):
            raise _NotValid
        if decided_at not in _VALID_TIMES:
            _check_timestamp("decision.decided_at", decided_at)
        if content_type == "text":
            if media or media not in (None, []) or not text or text.isspace():
                raise _NotValid
            media = []
        else:
            _check_media_paths(media, content_type)
        encoded = canonical.encode()
    except (_NotValid, LookupError, TypeError, UnicodeEncodeError):
        raise _case_problem(record) from None
    row = [
        fields[0], batch_id, content_type, fields[3], fields[4], text, tags_json, metadata_json,
        fields[7], fields[8], fields[9], fields[10], decided_at,
        None if media else hashlib.sha256(encoded).hexdigest(),
    ]  # fmt: skip
    return row, media, encoded


def _case_problem(record: Any) -> _Bad:
    """The first problem of a case record, checked field by field, for the message."""
    try:
        _check_case(record)
    except _Bad as bad:
        return bad
    return _Bad(None, "not a valid case record")


def _check_case(record: Any) -> None:
    """Raise :class:`_Bad` for the first problem of a case record; the rules, spelled out."""
    if type(record) is not dict:
        raise _Bad(None, f"expected a JSON object, got {_json_type(record)}")
    _check_keys(record, _CASE_FIELDS, _CASE_REQUIRED, "")
    decision = record["decision"]
    if type(decision) is not dict:
        raise _Bad("decision", f"expected an object, got {_json_type(decision)}")
    _check_keys(decision, _DECISION_FIELDS, _DECISION_FIELDS, "decision.")
    for name in ("id", "market", "language"):
        _check_token(name, record[name])
    for name in ("label", "policy", "moderator_id", "queue"):
        _check_token(f"decision.{name}", decision[name])
    content_type = record["content_type"]
    if type(content_type) is not str or content_type not in CONTENT_TYPES:
        raise _Bad(
            "content_type",
            f"expected one of {', '.join(CONTENT_TYPES)}, got {_shown(content_type)}",
        )
    _check_timestamp("decision.decided_at", decision["decided_at"])
    text = record.get("text")
    if text is None:
        text = ""
    if type(text) is not str:
        raise _Bad("text", f"expected a string, got {_json_type(text)}")
    if "\x00" in text:
        raise _Bad("text", "must not contain NUL characters")
    tags, metadata, media = record.get("tags"), record.get("metadata"), record.get("media")
    if tags is not None:
        _tags_json(tags)
    if metadata is not None:
        _metadata_json(metadata)
    if content_type == "text":
        if not text.strip():
            raise _Bad("text", "a text case needs text")
        if media is not None and type(media) is not list:
            raise _Bad("media", f"expected a list of paths, got {_json_type(media)}")
        if media:
            raise _Bad("media", "a text case has no media; use content_type image or video")
    else:
        _check_media_paths(media, content_type)
    for name, value in record.items():
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise _Bad(name, "invalid Unicode (an unpaired surrogate escape)") from None


_VALID_TIMES: set[str] = set()
"""Timestamps already seen valid: batches repeat them a lot, and checking is not free."""


def _check_timestamp(name: str, value: Any) -> None:
    problem = _timestamp_problem(value)
    if problem:
        raise _Bad(name, problem)
    if len(_VALID_TIMES) < 100_000:
        _VALID_TIMES.add(value)


def _check_token(name: str, value: Any) -> None:
    if not _is_token(value):
        raise _Bad(name, _token_problem(value))


def _is_token(value: Any) -> bool:
    return type(value) is str and _TOKEN(value) is not None


def _token_problem(value: Any) -> str:
    if type(value) is not str:
        return f"expected a string, got {_json_type(value)}"
    if not value:
        return "must not be empty"
    if re.search(r"[\x00-\x1f\x7f-\x9f]", value):
        return f"must not contain control characters, got {value!r}"
    if len(value) > MAX_TOKEN_LENGTH:
        return f"longer than {MAX_TOKEN_LENGTH} characters"
    return f"must not start or end with whitespace, got {value!r}"


def _tags_json(tags: Any) -> str:
    """The stored (canonical JSON) form of a list of tags, once they are checked."""
    if type(tags) is not list:
        raise _Bad("tags", f"expected a list of strings, got {_json_type(tags)}")
    for tag in tags:
        if not _is_token(tag):
            raise _Bad("tags", f"each tag: {_token_problem(tag)}")
    encoded = _CANONICAL(tags)
    if len(_TAG_LISTS) < 10_000:
        _TAG_LISTS[tuple(tags)] = encoded
    return encoded


_TAG_LISTS: dict[tuple[str, ...], str] = {}
"""Tag lists already checked, and their JSON: batches repeat a few of them a lot."""


def _metadata_json(metadata: Any) -> str:
    """The stored (canonical JSON, sorted keys) form of a metadata object."""
    if type(metadata) is not dict:
        raise _Bad("metadata", f"expected an object, got {_json_type(metadata)}")
    try:
        return _CANONICAL(metadata)
    except ValueError:
        raise _Bad("metadata", "numbers must be finite (no NaN or Infinity)") from None
    except RecursionError:
        raise _Bad("metadata", "nested too deeply") from None


def _check_media_paths(media: Any, content_type: str) -> None:
    if media is None or media == []:
        article = "an" if content_type[0] in "aeiou" else "a"
        raise _Bad("media", f"{article} {content_type} case needs at least one media file")
    if type(media) is not list:
        raise _Bad("media", f"expected a list of paths, got {_json_type(media)}")
    if len(media) > MAX_MEDIA_PER_CASE:
        raise _Bad("media", f"{len(media)} files, more than the {MAX_MEDIA_PER_CASE} limit")
    for path in media:
        if type(path) is not str:
            raise _Bad("media", f"expected paths (strings), got {_json_type(path)}")
        problem = relative_path_problem(path)
        if problem:
            raise _Bad("media", f"{path!r} {problem}")


# -- the database as it is -------------------------------------------------------------------


def _check_against_database(
    db: sqlite_utils.Database, header: _Header, header_label: str, cases: _Cases
) -> bool:
    """Refuse a changed batch header and case ids of other batches; True if the batch is new.

    Cases already in this batch are noted (``cases.existing``) for the content check.
    """
    stored = db.execute(
        "SELECT name, issuer, market, pack_id, pack_version, created_at, format_version"
        " FROM batches WHERE id = ?",
        [header.id],
    ).fetchone()
    if stored is not None:
        _check_same_header(header, header_label, stored)
    if db.execute("SELECT 1 FROM cases LIMIT 1").fetchone() is None:
        return stored is None
    ids = json.dumps([row[0] for row in cases.rows])
    found = db.execute(
        "SELECT id, batch_id, content_sha256 FROM cases"
        " WHERE id IN (SELECT value FROM json_each(?))",
        [ids],
    ).fetchall()
    for case_id, batch_id, content_sha256 in found:
        if batch_id == header.id:
            cases.existing[case_id] = content_sha256
        else:
            cases.problems.add(
                f"{cases.label} line {cases.lines[case_id]}, field 'id': case {case_id!r}"
                f" already belongs to batch {batch_id!r}; case ids must be unique across"
                " batches"
            )
    cases.problems.raise_if_any()
    return stored is None


def _check_same_header(header: _Header, label: str, stored: tuple[Any, ...]) -> None:
    name, issuer, market, pack_id, pack_version, created_at, format_version = stored
    changed = [
        (field_name, old, new)
        for field_name, old, new in (
            ("name", name, header.name),
            ("issuer", issuer, header.issuer),
            ("market", market, header.market),
            (
                "guideline_pack",
                f"{pack_id} {pack_version}",
                f"{header.pack_id} {header.pack_version}",
            ),
            ("created_at", created_at, header.created_at),
            ("format_version", format_version, header.format_version),
        )
        if old != new
    ]
    if changed:
        field_name, old, new = changed[0]
        raise BatchError(
            f"{label}, field {field_name!r}: batch {header.id!r} is already imported with"
            f" {field_name} {old!r}, this file says {new!r}; a changed batch needs a new id"
        )


def _select_new_cases(cases: _Cases) -> tuple[list[Any], int]:
    """The rows to insert, and how many cases are already present unchanged.

    A case already imported in this batch with other content is a conflict.
    """
    if not cases.existing:
        return cases.rows, 0
    new_rows, present = [], 0
    for row in cases.rows:
        stored = cases.existing.get(row[0])
        if stored is None:
            new_rows.append(row)
        elif stored == row[_ROW_SHA]:
            present += 1
        else:
            cases.problems.add(
                f"{cases.label} line {cases.lines[row[0]]}, field 'id': case {row[0]!r} is"
                f" already imported in batch {row[1]!r} with different content; a changed"
                " case needs a new id"
            )
    cases.problems.raise_if_any()
    return new_rows, present


# -- media ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Media:
    sha256: str
    mime: str
    size: int

    @property
    def kind(self) -> str:
        return self.mime.split("/")[0]


_IMAGE_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
}
_HEIF_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
}


def _sniff_mime(head: bytes) -> str | None:
    """The media type of a file from its first bytes (extensions are not trusted), or None.

    Images: PNG, JPEG, GIF, WebP, BMP. Videos: MP4 / QuickTime (``ftyp``), WebM / Matroska,
    AVI.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith(b"BM") and len(head) >= 26:
        return "image/bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    return None


def _check_media(source: _Source, cases: _Cases, tracker: _Progress) -> None:
    """Hash and check every media file; finish the content hashes of image and video cases."""
    if not cases.media_cases:
        tracker.advance(cases.count)
        return
    media_cases = {index: (paths, canonical) for index, paths, canonical in cases.media_cases}
    seen: dict[str, _Media | str] = {}
    for start in range(0, cases.count, _CHUNK_CASES):
        tracker.check_cancelled()
        end = min(start + _CHUNK_CASES, cases.count)
        for index in range(start, end):
            entry = media_cases.get(index)
            if entry is not None:
                _check_case_media(source, cases, index, entry[0], entry[1], seen, tracker)
        tracker.advance(end - start - sum(1 for i in range(start, end) if i in media_cases))
    cases.problems.raise_if_any()


def _check_case_media(
    source: _Source,
    cases: _Cases,
    index: int,
    paths: list[str],
    canonical: bytes,
    seen: dict[str, _Media | str],
    tracker: _Progress,
) -> None:
    row = cases.rows[index]
    content_type = row[2]
    where = f"{cases.label} line {cases.lines[row[0]]}, field 'media'"
    media: list[_Media] = []
    for path in paths:
        tracker.check_cancelled()
        found = seen.get(path)
        if found is None:
            try:
                found = _inspect_media(source, path, tracker)
            except _Unusable as exc:
                found = str(exc)
            seen[path] = found
        if isinstance(found, str):
            cases.problems.add(f"{where}: {path} {found}")
        elif found.kind != content_type:
            cases.problems.add(
                f"{where}: {path} is {found.mime}, but the case's content_type is"
                f" {content_type!r} (the file's bytes decide, not its name)"
            )
        else:
            media.append(found)
    tracker.advance(1)
    if len(media) != len(paths):
        return
    pairs = "\x00".join(f"{p}\x00{m.sha256}" for p, m in zip(paths, media, strict=True))
    row[_ROW_SHA] = hashlib.sha256(canonical + b"\x00" + pairs.encode()).hexdigest()
    cases.media_rows[row[0]] = [
        (row[0], position, path, m.sha256, m.mime, m.size)
        for position, (path, m) in enumerate(zip(paths, media, strict=True))
    ]


def _inspect_media(source: _Source, path: str, tracker: _Progress) -> _Media:
    """Sniff, size-check and hash one media file of the batch."""
    stream, limit, why = source.open(path)
    with stream:
        try:
            head = stream.read(_SNIFF_BYTES)
            mime = _sniff_mime(head)
            if mime is None:
                raise _Unusable(f"is not a supported image or video (it starts with {head[:8]!r})")
            if mime.startswith("image/"):
                stream.seek(0)
                _check_image_header(stream, mime)
            stream.seek(0)
            digest, size = _hash_stream(stream, limit, why, tracker)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise _Unusable(f"cannot be read ({exc})") from None
    source.count(size)
    return _Media(digest, mime, size)


def _check_image_header(stream: IO[bytes], mime: str) -> None:
    """Refuse an image Pillow cannot identify, or one over :data:`MAX_IMAGE_PIXELS`.

    Only the header is read; nothing is decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream, formats=[_IMAGE_FORMATS[mime]]) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        raise _Unusable(_bomb_problem()) from None
    except Exception as exc:  # Pillow's plugins raise many types on a malformed header
        raise _Unusable(f"is not a readable {mime} image ({exc})") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise _Unusable(f"is {width}x{height} pixels; {_bomb_problem()}")


def _bomb_problem() -> str:
    return f"images over {MAX_IMAGE_PIXELS / 1e6:g} megapixels are refused (a decompression bomb?)"


def _hash_stream(stream: IO[bytes], limit: int, why: str, tracker: _Progress) -> tuple[str, int]:
    """SHA-256 and size of a stream, counting the bytes as they come (headers may lie)."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise _Unusable(why)
        digest.update(chunk)
        tracker.check_cancelled()
    return digest.hexdigest(), size


def _store_media(source: _Source, media_dir: Path, cases: _Cases, tracker: _Progress) -> int:
    """Copy every media file not yet in the store into it; return how many were added."""
    if not cases.media_rows:
        tracker.advance(cases.count)
        return 0
    try:
        media_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc
    stored: set[str] = set()
    added = 0
    for start in range(0, cases.count, _CHUNK_CASES):
        tracker.check_cancelled()
        end = min(start + _CHUNK_CASES, cases.count)
        for index in range(start, end):
            media_rows = cases.media_rows.get(cases.rows[index][0])
            for _case_id, _position, name, sha256, _mime, size in media_rows or ():
                if sha256 not in stored:
                    added += _store_one(source, media_dir, name, sha256, size, tracker)
                    stored.add(sha256)
            if media_rows:
                tracker.advance(1)
        tracker.advance(
            end - start - sum(1 for i in range(start, end) if cases.rows[i][0] in cases.media_rows)
        )
    return added


def _store_one(
    source: _Source, media_dir: Path, name: str, sha256: str, size: int, tracker: _Progress
) -> bool:
    """Copy one file to ``media_dir/sha[:2]/sha`` atomically; False if it was there already."""
    target = media_dir / sha256[:2] / sha256
    try:
        if target.is_file() and target.stat().st_size == size:
            return False
        target.parent.mkdir(mode=0o700, exist_ok=True)
        target.parent.chmod(0o700)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_verified(source, name, sha256, size, out, tracker)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except OSError as exc:
        raise BatchError(f"cannot write to the media store {media_dir} ({exc})") from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return True


def _copy_verified(
    source: _Source, name: str, sha256: str, size: int, out: IO[bytes], tracker: _Progress
) -> None:
    changed = BatchError(f"{source.label(name)}: changed while it was being imported")
    try:
        stream, _limit, _why = source.open(name)
        with stream:
            digest, copied = hashlib.sha256(), 0
            while chunk := stream.read(_READ_CHUNK):
                copied += len(chunk)
                if copied > size:
                    raise changed
                digest.update(chunk)
                out.write(chunk)
                tracker.check_cancelled()
    except _Unusable as exc:
        raise BatchError(f"{source.label(name)}: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BatchError(f"{source.label(name)}: cannot be read ({exc})") from None
    if copied != size or digest.hexdigest() != sha256:
        raise changed


# -- writing -----------------------------------------------------------------------------------


def _write(
    db: sqlite_utils.Database,
    header: _Header,
    source_sha256: str,
    batch_is_new: bool,
    cases: _Cases,
    new_rows: list[Any],
    tracker: _Progress,
    source: _Source,
) -> None:
    """Insert the batch, its new cases and their media in one transaction.

    A signed source is logged in ``bundle_log`` and marks a batch known as unsigned signed.
    """
    tracker.check_cancelled()
    tracker.advance(cases.count - len(new_rows))
    if not new_rows and not batch_is_new and source.bundle is None:
        return
    signature_status = source.signature_status
    conn = db.conn
    try:
        with transaction(db):
            if source.bundle is not None:
                bundles.log_imported_bundle(db, source.bundle, cases.count)
                conn.execute(
                    "UPDATE batches SET signature_status = ? WHERE id = ? AND"
                    " signature_status = ?",
                    [signature_status, header.id, UNSIGNED],
                )
            if batch_is_new:
                conn.execute(
                    "INSERT INTO batches (id, name, issuer, market, pack_id, pack_version,"
                    " created_at, format_version, imported_at, source_sha256, signature_status)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        header.id,
                        header.name,
                        header.issuer,
                        header.market,
                        header.pack_id,
                        header.pack_version,
                        header.created_at,
                        header.format_version,
                        utc_now_iso(),
                        source_sha256,
                        signature_status,
                    ],
                )
            for start in range(0, len(new_rows), _CHUNK_CASES * 5):
                tracker.check_cancelled()
                chunk = new_rows[start : start + _CHUNK_CASES * 5]
                conn.executemany(_INSERT_CASE, chunk)
                tracker.advance(len(chunk))
            if cases.media_rows:
                tracker.check_cancelled()
                conn.executemany(_INSERT_MEDIA, _media_rows_of(new_rows, cases.media_rows))
    except sqlite3.IntegrityError as exc:
        raise BatchError(
            f"batch {header.id!r}: the database changed during the import (another import of"
            f" the same cases?): {exc}. Nothing was imported; try again."
        ) from exc


def _media_rows_of(
    rows: list[Any], media_rows: dict[str, list[tuple[Any, ...]]]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        yield from media_rows.get(row[0], ())


# -- small helpers ---------------------------------------------------------------------------


def _sha256_hex(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _decode_utf8(label: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BatchError(
            f"{label} line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at column"
            f" {column}); save the file as UTF-8"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _decode_json_document(label: str, data: bytes) -> Any:
    text = _decode_utf8(label, data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BatchError(
            f"{label} line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise BatchError(f"{label}: not valid JSON ({exc})") from None


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return str(exc)


def _timestamp_problem(value: Any) -> str | None:
    """Why ``value`` is not an ISO 8601 date and time with a UTC offset, or None."""
    example = "like 2026-10-30T12:00:00Z"
    if type(value) is not str:
        return f"expected an ISO 8601 timestamp {example}, got {_json_type(value)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"expected an ISO 8601 timestamp {example}, got {value!r}"
    if parsed.tzinfo is None:
        return f"the timestamp needs a UTC offset (Z or +hh:mm), {example}; got {value!r}"
    return None


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _json_type(value)


def _size(nbytes: int) -> str:
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if nbytes >= factor:
            return f"{nbytes / factor:g} {unit}"
    return f"{nbytes} bytes"
