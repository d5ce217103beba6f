"""Where a batch comes from: a folder, a .zip, a .csv beside its batch.json, or a signed
batch verified in memory. Every file is read through a :class:`_Source`, with size limits
(:data:`~..formats.zip_safety.BATCH_LIMITS`); a .zip's members pass the archive-safety
rules of :mod:`..formats.zip_safety` before any is read, and are never extracted."""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import sqlite_utils

from ..bundles import VerifiedBundle
from ..bundles.layout import SIGNATURE
from ..formats import zip_safety
from ..formats.bagit import BAGIT_TXT
from ..formats.zip_safety import ZipProblem, size_text
from . import issuer
from .problems import BatchError, _Unusable

_READ_CHUNK = 1 * zip_safety.MiB

HEADER_FILE = "batch.json"
JSONL_FILE = "cases.jsonl"
CSV_FILE = "cases.csv"

UNSIGNED = "unsigned"
"""``batches.signature_status`` of a batch imported unsigned (trusted on request)."""
SIGNED_PREFIX = "signed:"
"""``batches.signature_status`` of a signed batch: ``signed:<issuer key id>``."""


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
                source, name[len(source.prefix) :], zip_safety.BATCH_LIMITS.max_member_bytes
            )
            for name, info in source.members.items()
            if name.startswith(source.prefix) and not info.is_dir()
        }
    finally:
        source.close()


class _Source:
    """The files of a batch, by '/'-separated relative name, read with size limits."""

    signature_status = UNSIGNED
    signer_name = ""
    batch_id: str | None = None
    """The batch id the signature vouches for (None: unsigned)."""
    bundle: VerifiedBundle | None = None
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
        """Charge bytes read while checking against the batch's ``max_total_bytes``."""
        self.bytes_read += nbytes
        total = zip_safety.BATCH_LIMITS.max_total_bytes
        if self.bytes_read > total:
            raise BatchError(f"the batch is larger than the {size_text(total)} limit")


def _larger_than(limits: zip_safety.ZipLimits) -> str:
    return f"is larger than the {size_text(limits.max_member_bytes)} limit"


def _zip_problem_message(path: Path, problem: ZipProblem) -> str:
    """How a batch names a broken archive rule: ``b.zip: member 'x' <problem>``."""
    if problem.member is None:
        return f"{path.name}: {problem.problem}"
    return f"{path.name}: member {problem.member!r} {problem.problem}"


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
        limits = zip_safety.BATCH_LIMITS
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
            if info.st_size > limits.max_member_bytes:
                raise _Unusable(zip_safety.member_too_large(limits))
            stream = real.open("rb")
        except OSError as exc:
            raise _Unusable(f"cannot be read ({exc.strerror or exc})") from None
        return stream, limits.max_member_bytes, _larger_than(limits)


class _ZipSource(_Source):
    """A .zip of a batch, its members checked before any is read (never extracted)."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        super().__init__()
        self.path = path
        self.archive = archive
        self._lock = threading.Lock()
        try:
            self._raw = path.open("rb")
        except OSError as exc:
            raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        try:
            self.members = zip_safety.checked_members(archive, zip_safety.BATCH_LIMITS)
            size = os.fstat(self._raw.fileno()).st_size
            zip_safety.check_layout(archive, self._read_at, size)
        except ZipProblem as problem:
            self._raw.close()
            raise BatchError(_zip_problem_message(path, problem)) from None
        except OSError as exc:
            self._raw.close()
            raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
        try:
            self.prefix = _batch_prefix(path, self.members)
        except BaseException:
            self._raw.close()
            raise

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
        limits = zip_safety.BATCH_LIMITS
        limit, why = zip_safety.read_cap(info, limits)
        if limit == limits.max_member_bytes:
            why = _larger_than(limits)
        with self._lock:  # media are inspected in several threads
            try:
                zip_safety.data_offset(self._read_at, info)
            except ZipProblem as problem:
                raise _Unusable(problem.problem) from None
            except OSError as exc:
                raise _Unusable(f"cannot be read from the archive ({exc})") from None
            try:
                return self.archive.open(info), limit, why
            except zip_safety.DECODE_ERRORS as exc:
                raise _Unusable(f"cannot be read from the archive ({exc})") from None

    def _read_at(self, offset: int, size: int) -> bytes:
        if offset < 0:
            return b""
        self._raw.seek(offset)
        return self._raw.read(size)

    def close(self) -> None:
        self.archive.close()
        self._raw.close()


class _SignedSource(_Source):
    """A verified signed batch: the files of its ``data/`` folder, held in memory."""

    def __init__(self, path: Path, verified: VerifiedBundle) -> None:
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
        limits = zip_safety.BATCH_LIMITS
        return io.BytesIO(data), limits.max_member_bytes, _larger_than(limits)


class _MemorySource(_Source):
    """An unsigned batch built in memory (``{name relative to batch.json: bytes}``): a
    batch the app itself wrote, imported without its files touching the disk."""

    def __init__(self, name: str, files: Mapping[str, bytes]) -> None:
        super().__init__()
        self.name = name
        self.files = files

    def label(self, name: str) -> str:
        return f"{self.name}: {name}"

    def has(self, name: str) -> bool:
        return name in self.files

    def open(self, name: str) -> tuple[IO[bytes], int, str]:
        data = self.files.get(name)
        if data is None:
            raise _Unusable("not found in the batch")
        limits = zip_safety.BATCH_LIMITS
        return io.BytesIO(data), limits.max_member_bytes, _larger_than(limits)


def _looks_signed(names: list[str]) -> bool:
    """True for a .zip holding a bag (``<folder>/bagit.txt`` or its signature)."""
    return any(
        name.count("/") == 1 and name.split("/", 1)[1] in (BAGIT_TXT, SIGNATURE) for name in names
    )


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
        if not (path / HEADER_FILE).exists() and (path / BAGIT_TXT).exists():
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


def _claims_to_be_zip(path: Path) -> bool:
    """A file named .zip, or one that starts like a zip: a damaged archive, not another kind."""
    if path.suffix.lower() == ".zip":
        return True
    with path.open("rb") as stream:
        return stream.read(2) == b"PK"


def _open_zip(path: Path, db: sqlite_utils.Database | None = None) -> _Source:
    try:
        is_zip = zipfile.is_zipfile(path)
        if not is_zip and _claims_to_be_zip(path):
            raise BatchError(
                f"{path}: the .zip file is damaged or incomplete (no readable zip directory);"
                " copy or download it again"
            )
        if not is_zip:
            raise BatchError(
                f"{path}: not a case batch (expected a folder with {HEADER_FILE}, a .zip or a"
                " .csv file)"
            )
        zip_safety.check_archive_size(path.stat().st_size, zip_safety.BATCH_LIMITS)
        archive = zipfile.ZipFile(path)
    except ZipProblem as problem:
        raise BatchError(_zip_problem_message(path, problem)) from None
    except OSError as exc:
        raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except zip_safety.DECODE_ERRORS as exc:  # a bad "version needed", a name not in UTF-8...
        raise BatchError(
            f"{path}: not a readable zip archive ({type(exc).__name__}: {exc})"
        ) from None
    try:
        signed = _looks_signed(archive.namelist())
        if not signed:
            return _ZipSource(path, archive)
    except BaseException:
        archive.close()
        raise
    archive.close()
    return _SignedSource(path, issuer.open_signed_batch(path, db))


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
        raise BatchError(f"{label}: is larger than the {size_text(limit)} limit for this file")
    source.count(len(data))
    return data


def _read_all(stream: IO[bytes], limit: int, label: str) -> bytes:
    """At most ``limit`` bytes of ``stream``, read in chunks (never one ``limit``-sized buffer)."""
    chunks, size = [], 0
    try:
        while size < limit and (chunk := stream.read(min(_READ_CHUNK * 16, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
    except zip_safety.DECODE_ERRORS as exc:
        raise BatchError(f"{label}: cannot be read ({exc})") from None
    return b"".join(chunks)
