"""Signed bundles: zipped BagIt bags signed in minisign's format; export, verify, import.

The format is specified in ``docs/bundle-format.md``. In short::

    result = export_bundle(db, identity, Path("outbox"))        # None if nothing new
    verified = verify_bundle(db, Path(result.path).read_bytes())  # BundleRejected if not
    report = import_bundle(db, result.path.read_bytes(), quarantine_dir=data_dir / "quarantine")

Verification happens entirely in memory, before anything is written: archive safety (names,
links, sizes, compression ratio), the signature against the trust store, every hash, the
bag layout, then the events. Every refusal is a :class:`BundleRejected` with a reason code.
An import merges the events as a set union by event id in one transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import itertools
import os
import re
import secrets
import stat
import struct
import uuid
import zipfile
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.exceptions import InvalidSignature

from .. import __version__
from . import audit, keys
from .clock import iso_utc, utc_now_iso
from .formats.canonical import DuplicateKeyError, StrictJSONError, dumps_canonical, loads_strict
from .formats.safe_paths import relative_path_problem
from .store import transaction
from .verdicts import Citation, VerdictEvent, check_details

FORMAT_VERSION = 1
"""The bundle format version this module writes and reads (``Format-Version``)."""

KIND_VERDICTS = "verdicts"
KIND_CASE_BATCH = "case-batch"
KIND_ROLES = {KIND_VERDICTS: ("reviewer", "lead"), KIND_CASE_BATCH: ("issuer",)}
"""Which trust-store roles may sign which kind of bundle."""

KiB, MiB = 1024, 1024**2
MAX_BUNDLE_BYTES = 256 * MiB
"""Largest bundle file."""
MAX_MEMBER_BYTES = 256 * MiB
"""Largest member, uncompressed."""
MAX_TOTAL_BYTES = 512 * MiB
"""Largest bundle, every member uncompressed."""
MAX_TAG_FILE_BYTES = 1 * MiB
"""Largest tag file (bagit.txt, bag-info.txt, manifests, signature)."""
MAX_COMPRESSION_RATIO = 100
"""A member may expand at most this many times its compressed size ..."""
RATIO_CHECK_MIN_BYTES = 64 * KiB
"""... unless it is no bigger than this uncompressed."""
MAX_MEMBERS = 100_000
"""Most entries in one bundle."""

BAGIT_TXT = "bagit.txt"
BAG_INFO = "bag-info.txt"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
SIGNATURE = "tagmanifest-sha256.txt.minisig"
EVENTS = "data/events.jsonl"
CHECKPOINT = "data/checkpoint.json"
EVIDENCE_DIR = "data/evidence/"
"""Evidence files of a verdict bundle: ``data/evidence/<plain file name>``, stored uncompressed."""
_CHUNK = 4 * MiB
_PENDING_CHUNKS = 4
REQUIRED_TAG_FILES = (BAGIT_TXT, BAG_INFO, MANIFEST, TAGMANIFEST, SIGNATURE)
BAGIT_DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
CHAIN_FORMAT = "qa-desktop-signer-chain"
REQUIRED_INFO = (
    "Producer",
    "Key-Id",
    "App-Version",
    "Created",
    "Event-Count",
    "Batch-Ids",
    "Sequence-Number",
    "Bundle-Id",
    "Bundle-Kind",
    "Format-Version",
    "Signer-Public-Key",
    "Payload-Oxum",
)
"""bag-info.txt fields every bundle must have (each exactly once)."""
EXPIRES = "Expires"
"""bag-info.txt field every case batch must have: the time (UTC) after which it is refused."""
DEFAULT_BATCH_VALIDITY = timedelta(days=30)
"""How long a signed case batch is valid when its issuer does not say."""

_CHECKPOINT_FIELDS = frozenset(
    ("format", "version", "key_id", "reviewer_id", "start", "prev_head", "count", "head",
     "created")
)
_EVENT_FIELDS = frozenset(VerdictEvent.__dataclass_fields__)
_CITATION_FIELDS = frozenset(Citation.__dataclass_fields__)
_STR_FIELDS = ("id", "case_id", "reviewer_id", "notes", "created_at", "role", "rca_note",
               "gap_note")
_OPTIONAL_STR_FIELDS = ("label", "supersedes", "session_id", "restores", "rca_reason",
                        "gap_kind")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NUMBER = re.compile(r"[0-9]{1,15}")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
               OSError, EOFError, zlib.error, ValueError, KeyError, IndexError)


class BundleRejected(Exception):
    """A bundle refused, with a reason code (``reason``) and a message for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Checkpoint:
    """A signer's chain of exported events: head before and after this bundle's events."""

    key_id: str
    reviewer_id: str
    start: int
    prev_head: str
    count: int
    head: str
    created: str

    def to_json(self) -> dict[str, Any]:
        """The checkpoint as ``data/checkpoint.json`` holds it."""
        return {
            "format": CHAIN_FORMAT,
            "version": 1,
            "key_id": self.key_id,
            "reviewer_id": self.reviewer_id,
            "start": self.start,
            "prev_head": self.prev_head,
            "count": self.count,
            "head": self.head,
            "created": self.created,
        }


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle that passed every check that does not depend on what the database holds."""

    bundle_id: str
    kind: str
    signer: keys.TrustedKey
    seq: int
    created: str
    digest: str
    """SHA-256 of the signed tag manifest: the bundle's identity across re-zipping."""
    info: dict[str, str]
    events: tuple[VerdictEvent, ...] = ()
    event_lines: tuple[bytes, ...] = ()
    checkpoint: Checkpoint | None = None
    payload: dict[str, bytes] = field(default_factory=dict)
    """Payload files by name under ``data/`` (case batches)."""
    evidence: dict[str, str] = field(default_factory=dict)
    """Evidence files of a verdict bundle: plain file name -> SHA-256 (checked)."""


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

    @property
    def refused(self) -> bool:
        """True when the bundle was refused (and quarantined)."""
        return self.refused_reason is not None


@dataclass(frozen=True)
class ExportResult:
    """A bundle written by :func:`export_bundle`."""

    path: Path
    bundle_id: str
    seq: int
    event_count: int


# -- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltBag:
    """A signed, zipped bag in memory."""

    data: bytes
    digest: str


def minisign_signature(
    identity: keys.Identity, message: bytes, trusted_comment: str, untrusted_comment: str = ""
) -> bytes:
    """A minisign signature file (prehashed ``ED`` variant) of ``message``."""
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise ValueError("a trusted comment is one line")
    signature = identity.sign(hashlib.blake2b(message, digest_size=64).digest())
    global_signature = identity.sign(signature + trusted_comment.encode("utf-8"))
    blob = base64.b64encode(b"ED" + keys.keynum_bytes(identity.key_id) + signature).decode()
    untrusted = untrusted_comment or f"signature from QA Desktop key {identity.key_id}"
    return (
        f"untrusted comment: {untrusted}\n{blob}\n"
        f"trusted comment: {trusted_comment}\n{base64.b64encode(global_signature).decode()}\n"
    ).encode()


def build_bag(
    identity: keys.Identity,
    *,
    kind: str,
    bundle_id: str,
    seq: int,
    payload: dict[str, bytes],
    info: dict[str, str],
    created: str | None = None,
) -> BuiltBag:
    """Sign and zip a bag: ``payload`` maps names under ``data/`` to bytes.

    ``info`` adds bag-info.txt fields (``Event-Count`` and ``Batch-Ids`` at least); the
    signer, kind, ids, sequence number and Payload-Oxum fields are filled in here.
    """
    hashes = {name: hashlib.sha256(data).hexdigest() for name, data in payload.items()}
    sizes = {name: len(data) for name, data in payload.items()}
    tags, digest = _signed_tags(
        identity, kind=kind, bundle_id=bundle_id, seq=seq, hashes=hashes, sizes=sizes,
        info=info, created=created,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**tags, **payload}.items():
            archive.writestr(_zip_info(bundle_id, name, zipfile.ZIP_DEFLATED), data)
    return BuiltBag(buffer.getvalue(), digest)


def _zip_info(bundle_id: str, name: str, compress_type: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{bundle_id}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = compress_type
    return info


def _signed_tags(
    identity: keys.Identity,
    *,
    kind: str,
    bundle_id: str,
    seq: int,
    hashes: dict[str, str],
    sizes: dict[str, int],
    info: dict[str, str],
    created: str | None,
) -> tuple[dict[str, bytes], str]:
    """The tag files (signature included) for payload files with these hashes and sizes."""
    created = created or utc_now_iso()
    manifest = "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes)).encode("utf-8")
    fields = {
        "Bag-Software-Agent": f"QA Desktop {__version__}",
        "Bagging-Date": created[:10],
        "Payload-Oxum": f"{sum(sizes.values())}.{len(sizes)}",
        "Format-Version": str(FORMAT_VERSION),
        "Bundle-Kind": kind,
        "Bundle-Id": bundle_id,
        "Sequence-Number": str(seq),
        "Producer": identity.display_name or identity.key_id,
        "Key-Id": identity.key_id,
        "Signer-Public-Key": identity.public_key.to_minisign().splitlines()[1],
        "App-Version": __version__,
        "Created": created,
        **info,
    }
    bag_info = "".join(f"{k}: {_one_line(v)}\n" for k, v in fields.items()).encode("utf-8")
    tags = {BAGIT_TXT: BAGIT_DECLARATION, BAG_INFO: bag_info, MANIFEST: manifest}
    tagmanifest = "".join(
        f"{hashlib.sha256(tags[name]).hexdigest()}  {name}\n" for name in sorted(tags)
    ).encode("utf-8")
    comment = f"kind={kind} bundle_id={bundle_id} key_id={identity.key_id} seq={seq}"
    members = {
        **tags,
        TAGMANIFEST: tagmanifest,
        SIGNATURE: minisign_signature(identity, tagmanifest, comment),
    }
    return members, hashlib.sha256(tagmanifest).hexdigest()


def verdict_payload(lines: list[bytes], checkpoint: Checkpoint) -> dict[str, bytes]:
    """The ``data/`` files of a verdict bundle: events (one JSON line each) and checkpoint."""
    return {
        EVENTS: b"".join(line + b"\n" for line in lines),
        CHECKPOINT: dumps_canonical(checkpoint.to_json()) + b"\n",
    }


def export_bundle(
    db: sqlite_utils.Database,
    identity: keys.Identity,
    out_dir: Path,
    since: str | None = None,
    evidence: list[Path] | None = None,
) -> ExportResult | None:
    """Write the reviewer's events not yet exported as ``out_dir/<bundle_id>.zip``.

    ``since`` (an ISO timestamp) leaves out events created before it. ``evidence`` files
    go into the bundle as ``data/evidence/<file name>`` (listed and hashed like every
    payload file, stored uncompressed, streamed: never all in memory); their names must be
    plain and unique, else ValueError. Returns None when there is nothing to export. The
    file appears atomically (temporary name, fsync, rename); the database records the
    export in the same transaction, committed only once the file is in place.
    """
    attached = _evidence_members(evidence)
    with transaction(db):
        events = _unexported_events(db, identity.reviewer_id, since)
        if not events:
            return None
        seq = _next_seq(db, identity.key_id)
        bundle_id = str(uuid.uuid4())
        lines = [audit.event_bytes(e) for e in events]
        hashes = [hashlib.sha256(line).hexdigest() for line in lines]
        start, prev_head = _latest_chain_point(db, identity.key_id)
        checkpoint = Checkpoint(
            key_id=identity.key_id,
            reviewer_id=identity.reviewer_id,
            start=start,
            prev_head=prev_head,
            count=start + len(lines),
            head=audit.chain_head(prev_head, hashes),
            created=utc_now_iso(),
        )
        info = {"Event-Count": str(len(lines)), "Batch-Ids": _batch_ids(db, events)}

        def tags(hashes: dict[str, str], sizes: dict[str, int]) -> tuple[dict[str, bytes], str]:
            return _signed_tags(
                identity, kind=KIND_VERDICTS, bundle_id=bundle_id, seq=seq, hashes=hashes,
                sizes=sizes, info=info, created=checkpoint.created,
            )

        name = f"{bundle_id}.zip"
        tmp, digest = _write_bag_file(
            out_dir, name, bundle_id, verdict_payload(lines, checkpoint), attached, tags
        )
        try:
            _log_bundle(db, bundle_id, identity.key_id, seq, KIND_VERDICTS, digest,
                        len(lines), "export")
            db["exported_events"].insert_all(
                [{"event_id": e.id, "bundle_id": bundle_id} for e in events]
            )
            _add_chain_points(db, checkpoint, bundle_id)
            audit.sync_chain(db)
            os.replace(tmp, out_dir / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(out_dir)
    return ExportResult(out_dir / name, bundle_id, seq, len(lines))


def _evidence_members(evidence: list[Path] | None) -> list[tuple[str, Path, int]]:
    """``(member name, path, size)`` of each evidence file; ValueError for bad names/files."""
    members: list[tuple[str, Path, int]] = []
    folded: set[str] = set()
    for item in evidence or []:
        path = Path(item)
        name = path.name
        if relative_path_problem(name, strict=True) or len(name) > 255:
            raise ValueError(f"evidence file name {name!r} is not a plain, portable file name")
        if name.casefold() in folded:
            raise ValueError(f"two evidence files are named {name!r} (names must be unique)")
        folded.add(name.casefold())
        if path.is_symlink() or not path.is_file():
            raise ValueError(f"evidence {path} is not a regular file")
        size = path.stat().st_size
        if size > MAX_MEMBER_BYTES:
            raise ValueError(f"evidence {name!r} is larger than {MAX_MEMBER_BYTES} bytes")
        members.append((EVIDENCE_DIR + name, path, size))
    if sum(m[2] for m in members) > MAX_BUNDLE_BYTES - MiB:
        raise ValueError(f"the evidence does not fit in one bundle ({MAX_BUNDLE_BYTES} bytes)")
    return members


def _submit(
    pool: ThreadPoolExecutor, pending: deque[Future[None]], fn: Callable[[bytes], None],
    data: bytes,
) -> None:
    pending.append(pool.submit(fn, data))
    _drain(pending, _PENDING_CHUNKS)


def _drain(pending: deque[Future[None]], keep: int) -> None:
    while len(pending) > keep:
        pending.popleft().result()


def _write_bag_file(
    out_dir: Path,
    name: str,
    bundle_id: str,
    payload: dict[str, bytes],
    evidence: list[tuple[str, Path, int]],
    tags: Callable[[dict[str, str], dict[str, int]], tuple[dict[str, bytes], str]],
) -> tuple[Path, str]:
    """Stream a bag into a temporary file in ``out_dir``, fsynced: (path, tag manifest digest).

    Evidence (if any) is read in chunks into reused buffers; a worker thread hashes each chunk for
    the manifest while zipfile computes its CRC and writes it, so every byte is read once.
    The tag files (which need those hashes) come last in the archive.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{name}.{secrets.token_hex(4)}.tmp"
    hashes = {n: hashlib.sha256(d).hexdigest() for n, d in payload.items()}
    sizes = {n: len(d) for n, d in payload.items()}
    try:
        with tmp.open("xb") as raw, ThreadPoolExecutor(1) as pool:
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
                for member, path, size in evidence:
                    hashes[member] = _stream_member(archive, bundle_id, member, path, size, pool)
                    sizes[member] = size
                signed, digest = tags(hashes, sizes)
                for member, data in {**payload, **signed}.items():
                    archive.writestr(_zip_info(bundle_id, member, zipfile.ZIP_DEFLATED), data)
            raw.flush()
            os.fsync(raw.fileno())
        if tmp.stat().st_size > MAX_BUNDLE_BYTES:
            raise ValueError(f"the bundle would be larger than {MAX_BUNDLE_BYTES} bytes")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest


def _stream_member(
    archive: zipfile.ZipFile, bundle_id: str, member: str, path: Path, size: int,
    pool: ThreadPoolExecutor,
) -> str:
    """Copy one file into the archive uncompressed (ZIP_STORED); its SHA-256."""
    sha = hashlib.sha256()
    pending: deque[Future[None]] = deque()
    info = _zip_info(bundle_id, member, zipfile.ZIP_STORED)
    info.file_size = size
    # Reused buffers: fresh 4 MiB objects would cost a page fault per 4 KiB every time.
    # A buffer comes round again only after the hash of what it held was drained.
    buffers = [bytearray(_CHUNK) for _ in range(_PENDING_CHUNKS + 2)]
    copied = 0
    with path.open("rb", buffering=0) as source, archive.open(info, "w") as dest:
        for turn in itertools.count():
            buffer = buffers[turn % len(buffers)]
            read = source.readinto(buffer)
            if not read:
                break
            chunk = memoryview(buffer)[:read]
            _submit(pool, pending, sha.update, chunk)
            dest.write(chunk)
            copied += read
    _drain(pending, 0)
    if copied != size:
        raise ValueError(f"evidence {path} changed while it was being exported")
    return sha.hexdigest()


def sign_case_batch(
    identity: keys.Identity,
    batch_folder: Path,
    out_dir: Path,
    *,
    seq: int | None = None,
    db: sqlite_utils.Database | None = None,
    expires: datetime | None = None,
) -> Path:
    """Sign a case batch folder as a ``case-batch`` bundle (only ``issuer`` keys verify).

    Every file under ``batch_folder`` becomes a payload file under ``data/``. See
    :func:`sign_case_batch_files` for ``seq``, ``db`` and ``expires``.
    """
    files: dict[str, bytes] = {}
    for path in sorted(batch_folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(batch_folder).as_posix()] = path.read_bytes()
    return sign_case_batch_files(identity, files, out_dir, seq=seq, db=db, expires=expires)


def sign_case_batch_files(
    identity: keys.Identity,
    files: dict[str, bytes],
    out_dir: Path,
    *,
    seq: int | None = None,
    db: sqlite_utils.Database | None = None,
    expires: datetime | None = None,
) -> Path:
    """Sign a case batch given as ``{name relative to batch.json: bytes}``; the .zip path.

    With ``db`` (the issuer's own database) the signed batch is logged as an export and
    ``seq`` defaults to the key's next sequence number; importers refuse a reused one as a
    replay. Without it ``seq`` defaults to 1. ``expires`` (an aware datetime; default
    :data:`DEFAULT_BATCH_VALIDITY` from now) goes into the signed bag-info.txt; importers
    refuse the batch after it. Raises ValueError when the batch has no ``batch.json``, is
    too big for a bundle, or ``seq`` was already used with ``db``.
    """
    created = datetime.now(UTC)
    until = (expires or created + DEFAULT_BATCH_VALIDITY).astimezone(UTC)
    if "batch.json" not in files:
        raise ValueError("a case batch needs a batch.json at its top")
    too_big = [name for name, data in files.items() if len(data) > MAX_MEMBER_BYTES]
    if too_big or sum(len(d) for d in files.values()) > MAX_TOTAL_BYTES:
        raise ValueError(
            f"the batch is too big to sign as one bundle (at most {MAX_MEMBER_BYTES} bytes a"
            f" file and {MAX_TOTAL_BYTES} in all)"
        )
    payload = {"data/" + name: data for name, data in sorted(files.items())}
    cases_file = payload.get("data/cases.jsonl", b"")
    try:
        header = loads_strict(payload["data/batch.json"])
    except StrictJSONError as exc:
        raise ValueError(f"batch.json: {exc}") from None
    batch_id = str(header.get("id", "")) if isinstance(header, dict) else ""
    bundle_id = str(uuid.uuid4())
    case_count = cases_file.count(b"\n")

    def sign(seq: int) -> BuiltBag:
        bag = build_bag(
            identity, kind=KIND_CASE_BATCH, bundle_id=bundle_id, seq=seq, payload=payload,
            info={"Event-Count": str(case_count), "Batch-Ids": batch_id,
                  EXPIRES: iso_utc(until)},
            created=iso_utc(created),
        )
        if len(bag.data) > MAX_BUNDLE_BYTES:
            raise ValueError(f"the signed batch is larger than {MAX_BUNDLE_BYTES} bytes")
        return bag

    if db is None:
        return write_atomically(out_dir, f"{bundle_id}.zip", sign(seq or 1).data)
    with transaction(db):
        if seq is None:
            seq = _next_seq(db, identity.key_id)
        used = db.execute(
            "SELECT bundle_id FROM bundle_log WHERE key_id = ? AND seq = ?",
            [identity.key_id, seq],
        ).fetchone()
        if used is not None:
            raise ValueError(
                f"sequence number {seq} of your key was already used by bundle {used[0]};"
                " importers would refuse it as a replay (leave the number out to use the next)"
            )
        bag = sign(seq)
        _log_bundle(db, bundle_id, identity.key_id, seq, KIND_CASE_BATCH, bag.digest,
                    case_count, "export")
        return write_atomically(out_dir, f"{bundle_id}.zip", bag.data)


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` so that it appears complete or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
    try:
        with tmp.open("xb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return folder / name


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _one_line(value: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]", " ", value).strip()


def _unexported_events(
    db: sqlite_utils.Database, reviewer_id: str, since: str | None
) -> list[VerdictEvent]:
    sql = (
        "SELECT v.* FROM verdicts v WHERE v.reviewer_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM exported_events x WHERE x.event_id = v.id)"
    )
    params: list[Any] = [reviewer_id]
    if since:
        sql += " AND v.created_at >= ?"
        params.append(since)
    return [VerdictEvent.from_row(r) for r in db.query(sql + " ORDER BY v.created_at, v.id",
                                                        params)]


def _batch_ids(db: sqlite_utils.Database, events: list[VerdictEvent]) -> str:
    case_ids = sorted({e.case_id for e in events})
    found: set[str] = set()
    for i in range(0, len(case_ids), 500):
        chunk = case_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            r[0]
            for r in db.execute(
                f"SELECT DISTINCT batch_id FROM cases WHERE id IN ({marks})", chunk
            )
        )
    return " ".join(sorted(found))


def _next_seq(db: sqlite_utils.Database, key_id: str) -> int:
    row = db.execute("SELECT MAX(seq) FROM bundle_log WHERE key_id = ?", [key_id]).fetchone()
    return int(row[0] or 0) + 1


def _latest_chain_point(db: sqlite_utils.Database, key_id: str) -> tuple[int, str]:
    row = db.execute(
        "SELECT position, head FROM chain_points WHERE key_id = ? ORDER BY position DESC LIMIT 1",
        [key_id],
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, audit.GENESIS)


def _log_bundle(
    db: sqlite_utils.Database,
    bundle_id: str,
    key_id: str,
    seq: int,
    kind: str,
    digest: str,
    event_count: int,
    direction: str,
) -> None:
    db["bundle_log"].insert(
        {
            "bundle_id": bundle_id,
            "key_id": key_id,
            "seq": seq,
            "kind": kind,
            "digest": digest,
            "event_count": event_count,
            "direction": direction,
            "logged_at": utc_now_iso(),
        }
    )


def _add_chain_points(db: sqlite_utils.Database, cp: Checkpoint, bundle_id: str) -> None:
    for position, head in ((cp.start, cp.prev_head), (cp.count, cp.head)):
        db.execute(
            "INSERT OR IGNORE INTO chain_points (key_id, position, head, bundle_id)"
            " VALUES (?,?,?,?)",
            [cp.key_id, position, head, bundle_id],
        )


def exported_bundle_ids(db: sqlite_utils.Database, key_id: str) -> set[str]:
    """The ids of the bundles this database exported, signed by ``key_id``."""
    return {
        row[0]
        for row in db.execute(
            "SELECT bundle_id FROM bundle_log WHERE key_id = ? AND direction = 'export'",
            [key_id],
        )
    }


def remember_seen(db: sqlite_utils.Database, sha256: str, name: str, outcome: str) -> None:
    """Note a bundle file (by SHA-256) that a sync need not read again."""
    db.execute(
        "INSERT OR IGNORE INTO seen_bundles (sha256, name, outcome, seen_at) VALUES (?,?,?,?)",
        [sha256, name, outcome, utc_now_iso()],
    )


# -- reading: the archive -------------------------------------------------------------------


_DAMAGED = ("The file was changed after it was signed, or damaged on the way. Ask the sender"
            " for a new copy; do not repair it by hand.")
_NOT_OURS = "This is not a QA Desktop bundle. Check that you picked the right file."
_WHAT_TO_DO = {
    "unknown-signer": "Nobody you trust signed it. If you know the signer, add their public key"
                      " (Keys ▸ Trusted signers, or `qa-desktop keys trust`) and import it again.",
    "revoked-signer": "The signer's key was revoked here. Ask them to sign it again with their"
                      " current key.",
    "role-not-allowed": "The signer's key is trusted, but not for this kind of bundle (only an"
                        " issuer signs case batches; reviewers and leads sign verdicts). Change"
                        " the key's role only if that is really their job.",
    "wrong-kind": "A case batch and a verdict bundle are imported in different places: use"
                  " File ▸ Import batch for case batches and Import bundles for verdicts.",
    "expired": "Ask the issuer for a freshly signed copy of the batch.",
    "replay": "The signer used this sequence number for another bundle already. Ask them to"
              " export again: a new export takes a new number.",
    "equivocation": "Two different bundles carry the same id. Keep both files and tell the"
                    " signer and your lead: one of them was not made by QA Desktop.",
    "history-rewritten": "The signer's earlier history differs from what they sent before (a"
                         " restored backup or an edited database). Tell your lead.",
    "impersonation": "The bundle holds verdicts in someone else's name. Tell your lead.",
    "unknown-case": "Import the case batch these verdicts are about first, then this bundle.",
    "event-conflict": "An event id was reused with other content. Tell the signer and your lead.",
    "zip-bomb": "The file is larger than a bundle may be (or expands too much). Ask the sender"
                " to split it.",
    "unreadable": "The file could not be read. Check that it is fully copied, then try again.",
}


def what_to_do(reason: str) -> str:
    """Advice for a person about a bundle refused with ``reason`` (a reason code)."""
    if reason in ("not-a-zip", "not-a-bag", "empty"):
        return _NOT_OURS
    return _WHAT_TO_DO.get(reason, _DAMAGED)


def _reject(reason: str, message: str) -> BundleRejected:
    return BundleRejected(reason, message)


def _open_archive(data: bytes) -> zipfile.ZipFile:
    if not data:
        raise _reject("empty", "the file is empty")
    if len(data) > MAX_BUNDLE_BYTES:
        raise _reject("zip-bomb", f"the file is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise _reject("not-a-zip", f"not a readable .zip file ({exc})") from None


def _checked_members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every file member by name, after refusing unsafe names, links and oversize members."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _reject("zip-bomb", f"more than {MAX_MEMBERS} entries")
    files: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    folded: dict[str, str] = {}
    total = 0
    for info in infos:
        name = info.filename
        kind = stat.S_IFMT(info.external_attr >> 16)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _reject("unsafe-path", f"{name!r} is a link")
        if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise _reject("unsafe-path", f"{name!r} is not a plain file or folder")
        bare = name.rstrip("/") if info.is_dir() else name
        problem = relative_path_problem(bare, strict=True)
        if problem:
            raise _reject("unsafe-path", f"{name!r} {problem}")
        if bare in seen:
            raise _reject("duplicate-name", f"{name!r} appears twice")
        seen.add(bare)
        fold = bare.casefold()
        if fold in folded:
            raise _reject(
                "case-collision", f"{name!r} and {folded[fold]!r} differ only by case"
            )
        folded[fold] = bare
        if info.flag_bits & 0x1:
            raise _reject("corrupt", f"{name!r} is encrypted")
        if info.file_size > MAX_MEMBER_BYTES:
            raise _reject("zip-bomb", f"{name!r} is larger than {MAX_MEMBER_BYTES} bytes")
        if info.file_size > RATIO_CHECK_MIN_BYTES and (
            info.file_size > MAX_COMPRESSION_RATIO * info.compress_size
        ):
            raise _reject(
                "zip-bomb", f"{name!r} expands more than {MAX_COMPRESSION_RATIO} times"
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise _reject("zip-bomb", f"uncompressed, more than {MAX_TOTAL_BYTES} bytes")
        if not info.is_dir():
            files[name] = info
    return files


def _bag_root(members: dict[str, zipfile.ZipInfo]) -> str:
    """The one top-level folder that holds the bag."""
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) != 1 or any("/" not in name for name in members):
        raise _reject("not-a-bag", "a bundle holds exactly one top-level folder (the bag)")
    return tops.pop()


def _read_members(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], root: str, data: bytes
) -> dict[str, bytes]:
    """Every file's bytes by bag-relative name, counting bytes as they come out.

    Evidence stored uncompressed is not copied: it is a view into ``data`` (its CRC-32
    checked in worker threads, like its hash later).
    """
    files: dict[str, bytes] = {}
    views: list[tuple[str, zipfile.ZipInfo]] = []
    total = 0
    for name, info in members.items():
        relative = name[len(root) + 1 :]
        if relative.startswith(EVIDENCE_DIR) and info.compress_type == zipfile.ZIP_STORED:
            files[relative] = _stored_view(data, info, relative)  # type: ignore[assignment]
            views.append((relative, info))
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise _reject("zip-bomb", f"uncompressed, more than {MAX_TOTAL_BYTES} bytes")
            continue
        _data_start(data, info, relative)
        limit = min(info.file_size, MAX_MEMBER_BYTES)
        if "/" not in relative or not relative.startswith("data/"):
            limit = min(limit, MAX_TAG_FILE_BYTES)
            if info.file_size > MAX_TAG_FILE_BYTES:
                raise _reject("zip-bomb", f"tag file {relative!r} is too large")
        try:
            with archive.open(info) as stream:
                content = stream.read(limit + 1)
        except _ZIP_ERRORS as exc:
            raise _reject("corrupt", f"{relative!r} cannot be read ({exc})") from None
        if len(content) > limit:
            raise _reject("zip-bomb", f"{relative!r} holds more than it declares")
        total += len(content)
        if total > MAX_TOTAL_BYTES:
            raise _reject("zip-bomb", f"uncompressed, more than {MAX_TOTAL_BYTES} bytes")
        files[relative] = content
    crcs = _parallel(zlib.crc32, [files[relative] for relative, _ in views])
    for (relative, info), crc in zip(views, crcs, strict=True):
        if crc != info.CRC:
            raise _reject("corrupt", f"{relative!r} cannot be read (bad CRC-32)")
    return files


def _data_start(data: bytes, info: zipfile.ZipInfo, relative: str) -> int:
    """Where a member's data starts, after checking its local header against the central
    directory.

    zipfile reads sizes, CRC and method from the central directory only, while a streaming
    extractor (``unzip -`` and the like) reads the local headers: where the two disagree,
    other tools could see other files than the ones verified here.
    """
    offset = info.header_offset
    header = data[offset : offset + 30]
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise _reject("corrupt", f"{relative!r} has no local file header")
    flags, method, _time, _date, crc, compressed, size, name_length, extra_length = (
        struct.unpack("<HHHHLLLHH", header[6:30])
    )
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        expected = info.orig_filename.encode(encoding)
    except UnicodeEncodeError:
        expected = b""
    if data[offset + 30 : offset + 30 + name_length] != expected:
        raise _reject("corrupt", f"{relative!r}: the local header names another file")
    described = (crc, compressed, size)
    deferred = flags & 0x08 and described == (0, 0, 0)  # sizes in a data descriptor
    if (
        flags != info.flag_bits
        or method != info.compress_type
        or (not deferred and described != (info.CRC, info.compress_size, info.file_size))
    ):
        raise _reject(
            "corrupt", f"{relative!r}: the local header disagrees with the central directory"
        )
    return offset + 30 + name_length + extra_length


def _stored_view(data: bytes, info: zipfile.ZipInfo, relative: str) -> memoryview:
    """The bytes of an uncompressed member, as a view into the archive (no copy)."""
    start = _data_start(data, info, relative)
    end = start + info.compress_size
    if info.compress_size != info.file_size or end > len(data):
        raise _reject("corrupt", f"{relative!r} is truncated or mis-sized")
    return memoryview(data)[start:end]


def _parallel(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """``[fn(x) for x in items]``, in threads when there are several big items (hashlib
    and zlib release the GIL)."""
    if len(items) < 2 or sum(len(x) for x in items) < 4 * MiB:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(fn, items))


# -- reading: the signature -----------------------------------------------------------------


@dataclass(frozen=True)
class _Signature:
    key_id: str
    signature: bytes
    trusted_comment: str
    global_signature: bytes


def _parse_signature(data: bytes) -> _Signature:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _reject("bad-signature", "the signature file is not UTF-8") from None
    lines = text.split("\n")
    if len(lines) == 5 and lines[4] == "":
        lines = lines[:4]
    if (
        len(lines) != 4
        or not lines[0].startswith("untrusted comment: ")
        or not lines[2].startswith("trusted comment: ")
    ):
        raise _reject("bad-signature", "not a minisign signature file")
    try:
        blob = base64.b64decode(lines[1], validate=True)
        global_signature = base64.b64decode(lines[3], validate=True)
    except (binascii.Error, ValueError):
        raise _reject("bad-signature", "the signature is not valid base64") from None
    if len(blob) != 74 or len(global_signature) != 64:
        raise _reject("bad-signature", "the signature has the wrong length")
    if blob[:2] != b"ED":
        raise _reject("bad-signature", "only prehashed (ED) minisign signatures are accepted")
    return _Signature(
        key_id=keys.key_id_hex(blob[2:10]),
        signature=blob[10:],
        trusted_comment=lines[2].removeprefix("trusted comment: "),
        global_signature=global_signature,
    )


def _signature_holds(public_key: keys.PublicKey, sig: _Signature, message: bytes) -> bool:
    verifier = public_key.verifier()
    try:
        verifier.verify(sig.signature, hashlib.blake2b(message, digest_size=64).digest())
        verifier.verify(sig.global_signature, sig.signature + sig.trusted_comment.encode())
    except InvalidSignature:
        return False
    return True


def _check_signature(db: sqlite_utils.Database, files: dict[str, bytes]) -> _Signature:
    sig = _parse_signature(files[SIGNATURE])
    signer = keys.trusted_key(db, sig.key_id)
    if signer is None:
        raise _reject("unknown-signer", f"key {sig.key_id} is not in the trust store")
    if signer.revoked:
        raise _reject("revoked-signer", f"key {sig.key_id} was revoked {signer.revoked_at}")
    if not _signature_holds(signer.as_public_key(), sig, files[TAGMANIFEST]):
        claimed = _claimed_public_key(files.get(BAG_INFO, b""))
        if (
            claimed is not None
            and claimed.key_id == sig.key_id
            and claimed.key != signer.as_public_key().key
            and _signature_holds(claimed, sig, files[TAGMANIFEST])
        ):
            raise _reject(
                "key-id-mismatch",
                f"signed by a different key that copies trusted key id {sig.key_id}",
            )
        raise _reject("bad-signature", f"the signature does not verify with key {sig.key_id}")
    return sig


def _claimed_public_key(bag_info: bytes) -> keys.PublicKey | None:
    """The Signer-Public-Key bag-info.txt claims (unverified), if it parses."""
    try:
        for line in bag_info.decode("utf-8").splitlines():
            if line.startswith("Signer-Public-Key:"):
                return keys.PublicKey.from_minisign(line.split(":", 1)[1].strip())
    except (UnicodeDecodeError, keys.KeyFormatError):
        return None
    return None


def _trusted_comment_fields(comment: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in comment.split(" "):
        key, sep, value = token.partition("=")
        if not sep or key in fields:
            raise _reject("schema", f"unexpected trusted comment {comment!r}")
        fields[key] = value
    if set(fields) != {"kind", "bundle_id", "key_id", "seq"}:
        raise _reject("schema", f"unexpected trusted comment {comment!r}")
    return fields


# -- reading: manifests and bag-info ------------------------------------------------------


def _parse_manifest(data: bytes, label: str) -> dict[str, str]:
    """``name -> sha256`` from a manifest file."""
    entries: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _reject("schema", f"{label} is not UTF-8") from None
    for line in text.splitlines():
        digest, sep, name = line.partition(" ")
        name = name.lstrip(" ")
        if not sep or not _HEX64.fullmatch(digest) or relative_path_problem(name, strict=True):
            raise _reject("schema", f"{label}: unreadable line {line!r}")
        if name in entries:
            raise _reject("schema", f"{label} lists {name!r} twice")
        entries[name] = digest
    return entries


def _check_hashes(
    files: dict[str, bytes], listed: dict[str, str], present: set[str], label: str
) -> None:
    """Refuse files not listed, listed files missing, and any hash that differs."""
    for name in sorted(present):
        if name not in listed:
            raise _reject("unlisted-file", f"{name!r} is not in {label}")
    for name in sorted(listed):
        if name not in files:
            raise _reject("missing-file", f"{label} lists {name!r}, which is missing")
    names = sorted(listed)
    digests = _parallel(lambda d: hashlib.sha256(d).hexdigest(), [files[n] for n in names])
    for name, digest in zip(names, digests, strict=True):
        if digest != listed[name]:
            raise _reject("hash-mismatch", f"{name!r} does not match its hash in {label}")


def _check_bag_hashes(files: dict[str, bytes]) -> None:
    tag_files = {n for n in files if not n.startswith("data/")}
    payload_files = {n for n in files if n.startswith("data/")}
    other_manifests = {
        n for n in tag_files
        if re.fullmatch(r"(tag)?manifest-\w+\.txt", n) and n not in (MANIFEST, TAGMANIFEST)
    }
    if other_manifests:
        raise _reject("schema", f"only sha256 manifests are allowed, not {sorted(other_manifests)}")
    tag_listed = _parse_manifest(files[TAGMANIFEST], TAGMANIFEST)
    if any(n.startswith("data/") or n in (TAGMANIFEST, SIGNATURE) for n in tag_listed):
        raise _reject("schema", f"{TAGMANIFEST} lists payload or signature files")
    _check_hashes(files, tag_listed, tag_files - {TAGMANIFEST, SIGNATURE}, TAGMANIFEST)
    payload_listed = _parse_manifest(files[MANIFEST], MANIFEST)
    if any(not n.startswith("data/") for n in payload_listed):
        raise _reject("schema", f"{MANIFEST} lists files outside data/")
    _check_hashes(files, payload_listed, payload_files, MANIFEST)
    if files[BAGIT_TXT] != BAGIT_DECLARATION:
        raise _reject("not-a-bag", f"{BAGIT_TXT} is not a BagIt 1.0 UTF-8 declaration")


def _parse_bag_info(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _reject("schema", f"{BAG_INFO} is not UTF-8") from None
    info: dict[str, str] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if not sep or not label or label != label.strip() or line[:1].isspace():
            raise _reject("schema", f"{BAG_INFO}: unreadable line {line!r}")
        if label in info:
            raise _reject("duplicate-key", f"{BAG_INFO} names {label!r} twice")
        info[label] = value.strip()
    missing = [name for name in REQUIRED_INFO if name not in info]
    if missing:
        raise _reject("schema", f"{BAG_INFO} lacks {', '.join(missing)}")
    return info


def _check_info(
    info: dict[str, str],
    sig: _Signature,
    signer: keys.TrustedKey,
    root: str,
    files: dict[str, bytes],
    kind: str,
) -> int:
    """Check bag-info.txt against the signature and the bag; returns the sequence number."""
    comment = _trusted_comment_fields(sig.trusted_comment)
    for found in (comment["kind"], info["Bundle-Kind"]):
        if found != kind:
            raise _reject("wrong-kind", f"a {found!r} bundle cannot be used as {kind!r}")
    if info["Key-Id"] != sig.key_id or comment["key_id"] != sig.key_id:
        raise _reject("key-id-mismatch", "bag-info.txt and the signature name different keys")
    if info["Signer-Public-Key"] != signer.as_public_key().to_minisign().splitlines()[1]:
        raise _reject("key-id-mismatch", "the bundle names a different key under this key id")
    if info["Format-Version"] != str(FORMAT_VERSION):
        raise _reject("schema", f"format version {info['Format-Version']!r} is not supported")
    if not (info["Bundle-Id"] == comment["bundle_id"] == root):
        raise _reject("schema", "the bundle id differs between bag-info, signature and folder")
    if not (info["Sequence-Number"] == comment["seq"] and _NUMBER.fullmatch(comment["seq"])):
        raise _reject("schema", "the sequence number differs between bag-info and signature")
    payload = [d for n, d in files.items() if n.startswith("data/")]
    if info["Payload-Oxum"] != f"{sum(len(d) for d in payload)}.{len(payload)}":
        raise _reject("schema", "Payload-Oxum does not match the payload")
    if not _NUMBER.fullmatch(info["Event-Count"]):
        raise _reject("schema", "Event-Count is not a number")
    if signer.role not in KIND_ROLES[kind]:
        raise _reject(
            "role-not-allowed", f"a {signer.role} key may not sign {kind!r} bundles"
        )
    if kind == KIND_CASE_BATCH:
        _check_not_expired(info)
    return int(comment["seq"])


def _check_not_expired(info: dict[str, str]) -> None:
    """Refuse a case batch without a readable ``Expires``, or past it (``expired``)."""
    if EXPIRES not in info:
        raise _reject("schema", f"a case batch needs an {EXPIRES} field in {BAG_INFO}")
    try:
        until = datetime.fromisoformat(info[EXPIRES].replace("Z", "+00:00"))
    except ValueError:
        until = None
    if until is None or until.tzinfo is None:
        raise _reject("schema", f"{EXPIRES} {info[EXPIRES]!r} is not an ISO 8601 UTC time")
    if datetime.now(UTC) >= until:
        raise _reject(
            "expired",
            f"the issuer's signature on this batch expired at {info[EXPIRES]}",
        )



# -- reading: events ------------------------------------------------------------------------


def _parse_event(line: bytes, number: int) -> VerdictEvent:
    where = f"{EVENTS} line {number}"
    try:
        data = loads_strict(line)
    except DuplicateKeyError as exc:
        raise _reject("duplicate-key", f"{where}: {exc}") from None
    except StrictJSONError as exc:
        raise _reject("schema", f"{where}: {exc}") from None
    if not isinstance(data, dict) or set(data) != _EVENT_FIELDS:
        raise _reject("schema", f"{where}: not a verdict event with exactly its fields")
    try:
        if dumps_canonical(data) != line:
            raise _reject("schema", f"{where}: not RFC 8785 canonical JSON")
    except StrictJSONError as exc:
        raise _reject("schema", f"{where}: {exc}") from None
    problem = _event_problem(data)
    if problem:
        raise _reject("schema", f"{where}: {problem}")
    citations = tuple(Citation(**c) for c in data["citations"])
    return VerdictEvent(**{**data, "citations": citations})


def _event_problem(data: dict[str, Any]) -> str | None:
    for name in _STR_FIELDS:
        if not isinstance(data[name], str):
            return f"{name} must be a string"
    for name in _OPTIONAL_STR_FIELDS:
        if data[name] is not None and not isinstance(data[name], str):
            return f"{name} must be a string or null"
    if not data["id"] or not data["case_id"] or not data["reviewer_id"]:
        return "id, case_id and reviewer_id must not be empty"
    ms = data["time_on_case_ms"]
    if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
        return "time_on_case_ms must be a whole number >= 0"
    citations = data["citations"]
    if not isinstance(citations, list) or not all(
        isinstance(c, dict)
        and set(c) == _CITATION_FIELDS
        and all(isinstance(v, str) for v in c.values())
        for c in citations
    ):
        return "citations must be a list of {pack_id, pack_version, section_id, quote}"
    try:
        check_details(
            data["confidence"], data["rca_reason"], data["rca_note"], data["gap_kind"],
            data["gap_note"],
        )
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _parse_events(data: bytes, info: dict[str, str], signer: keys.TrustedKey) -> tuple[
    tuple[VerdictEvent, ...], tuple[bytes, ...]
]:
    if data and not data.endswith(b"\n"):
        raise _reject("schema", f"{EVENTS} must end with a newline")
    lines = data.split(b"\n")[:-1] if data else []
    if not lines:
        raise _reject("empty", "the bundle holds no events")
    events = tuple(_parse_event(line, i) for i, line in enumerate(lines, 1))
    if len({e.id for e in events}) != len(events):
        raise _reject("schema", f"{EVENTS} lists an event twice")
    if int(info["Event-Count"]) != len(events):
        raise _reject("schema", "Event-Count does not match the events")
    for event in events:
        if signer.reviewer_id is None or event.reviewer_id != signer.reviewer_id:
            raise _reject(
                "impersonation",
                f"event {event.id} is in reviewer {event.reviewer_id}'s name, but the key"
                f" {signer.key_id} belongs to {signer.reviewer_id or 'no reviewer'}",
            )
    return events, tuple(lines)


def _parse_checkpoint(
    data: bytes, signer: keys.TrustedKey, lines: tuple[bytes, ...]
) -> Checkpoint:
    try:
        raw = loads_strict(data)
    except DuplicateKeyError as exc:
        raise _reject("duplicate-key", f"{CHECKPOINT}: {exc}") from None
    except StrictJSONError as exc:
        raise _reject("schema", f"{CHECKPOINT}: {exc}") from None
    if (
        not isinstance(raw, dict)
        or set(raw) != _CHECKPOINT_FIELDS
        or raw["format"] != CHAIN_FORMAT
        or raw["version"] != 1
        or not all(isinstance(raw[k], str) for k in ("key_id", "reviewer_id", "created"))
        or not all(
            isinstance(raw[k], int) and not isinstance(raw[k], bool) and raw[k] >= 0
            for k in ("start", "count")
        )
        or not all(isinstance(raw[k], str) and _HEX64.fullmatch(raw[k])
                   for k in ("prev_head", "head"))
    ):
        raise _reject("schema", f"{CHECKPOINT} is not a version 1 checkpoint")
    cp = Checkpoint(**{k: raw[k] for k in Checkpoint.__dataclass_fields__})
    hashes = [hashlib.sha256(line).hexdigest() for line in lines]
    if (
        cp.key_id != signer.key_id
        or cp.reviewer_id != signer.reviewer_id
        or cp.count != cp.start + len(lines)
        or (cp.start == 0 and cp.prev_head != audit.GENESIS)
        or audit.chain_head(cp.prev_head, hashes) != cp.head
    ):
        raise _reject("schema", f"{CHECKPOINT} does not match the signer and the events")
    return cp


# -- verification ---------------------------------------------------------------------------


def verify_bundle(
    db: sqlite_utils.Database, data: bytes, *, kind: str = KIND_VERDICTS
) -> VerifiedBundle:
    """Check a bundle completely, in memory; :class:`BundleRejected` says why it fails.

    Reads the trust store but writes nothing. What depends on the database's events
    (replay, equivocation, conflicts, unknown cases) is checked by :func:`check_merge`.
    """
    if kind not in KIND_ROLES:
        raise ValueError(f"unknown bundle kind {kind!r}")
    with _open_archive(data) as archive:
        members = _checked_members(archive)
        if not members:
            raise _reject("empty", "the archive holds no files")
        root = _bag_root(members)
        files = _read_members(archive, members, root, data)
    for name in REQUIRED_TAG_FILES:
        if name not in files:
            raise _reject("missing-file", f"the bundle has no {name}")
    sig = _check_signature(db, files)
    signer = keys.trusted_key(db, sig.key_id)
    assert signer is not None
    _check_bag_hashes(files)
    info = _parse_bag_info(files[BAG_INFO])
    seq = _check_info(info, sig, signer, root, files, kind)
    digest = hashlib.sha256(files[TAGMANIFEST]).hexdigest()
    common = {
        "bundle_id": root,
        "kind": kind,
        "signer": signer,
        "seq": seq,
        "created": info["Created"],
        "digest": digest,
        "info": info,
    }
    if kind == KIND_CASE_BATCH:
        payload = {n[5:]: bytes(d) for n, d in files.items() if n.startswith("data/")}
        return VerifiedBundle(**common, payload=payload)
    listed = _parse_manifest(files[MANIFEST], MANIFEST)  # checked above
    evidence = {
        n.removeprefix(EVIDENCE_DIR): listed[n]
        for n in files
        if n.startswith(EVIDENCE_DIR) and "/" not in n.removeprefix(EVIDENCE_DIR)
    }
    extra = sorted(
        n for n in files
        if n.startswith("data/") and n not in (EVENTS, CHECKPOINT)
        and n.removeprefix(EVIDENCE_DIR) not in evidence
    )
    if extra:
        raise _reject(
            "schema",
            f"a verdict bundle holds only events, a checkpoint and evidence files: {extra}",
        )
    for name in (EVENTS, CHECKPOINT):
        if name not in files:
            raise _reject("missing-file", f"the bundle has no {name}")
    events, lines = _parse_events(files[EVENTS], info, signer)
    checkpoint = _parse_checkpoint(files[CHECKPOINT], signer, lines)
    return VerifiedBundle(**common, events=events, event_lines=lines, checkpoint=checkpoint,
                          evidence=evidence)


def verify_case_batch(db: sqlite_utils.Database, data: bytes) -> VerifiedBundle:
    """Check a signed case batch (kind ``case-batch``, signed by an ``issuer`` key)."""
    return verify_bundle(db, data, kind=KIND_CASE_BATCH)


def check_bundle_log(db: sqlite_utils.Database, bundle: VerifiedBundle) -> bool:
    """True if this very bundle was logged before; refuses ``equivocation`` and ``replay``.

    The same bundle id with other signed content is equivocation; a signer's sequence
    number already used by another bundle id is a replay.
    """
    logged = db.execute(
        "SELECT digest FROM bundle_log WHERE bundle_id = ?", [bundle.bundle_id]
    ).fetchone()
    if logged is not None:
        if logged[0] != bundle.digest:
            raise _reject("equivocation", f"bundle {bundle.bundle_id} was seen with other content")
        return True
    other = db.execute(
        "SELECT bundle_id FROM bundle_log WHERE key_id = ? AND seq = ?",
        [bundle.signer.key_id, bundle.seq],
    ).fetchone()
    if other is not None:
        raise _reject(
            "replay",
            f"sequence number {bundle.seq} of key {bundle.signer.key_id} was already"
            f" used by bundle {other[0]}",
        )
    return False


def log_imported_bundle(db: sqlite_utils.Database, bundle: VerifiedBundle, count: int) -> None:
    """Record an imported bundle in ``bundle_log`` (no-op if it is there already)."""
    if db.execute("SELECT 1 FROM bundle_log WHERE bundle_id = ?", [bundle.bundle_id]).fetchone():
        return
    _log_bundle(db, bundle.bundle_id, bundle.signer.key_id, bundle.seq, bundle.kind,
                bundle.digest, count, "import")


@dataclass(frozen=True)
class MergePlan:
    """What importing a verified bundle would add."""

    already_imported: bool
    new_events: tuple[VerdictEvent, ...]
    already_known: int


def check_merge(db: sqlite_utils.Database, bundle: VerifiedBundle) -> MergePlan:
    """Check a verified bundle against the database; :class:`BundleRejected` if it conflicts.

    Refuses the same bundle id with other content (``equivocation``), a sequence number
    reused under another bundle id (``replay``), a checkpoint that contradicts the signer's
    earlier ones (``history-rewritten``), an event id with other content
    (``event-conflict``) and events on cases not in the database (``unknown-case``).
    """
    logged = check_bundle_log(db, bundle)
    if bundle.checkpoint is not None:
        _check_chain_points(db, bundle.checkpoint)
    new: list[VerdictEvent] = []
    known = 0
    for event, line in zip(bundle.events, bundle.event_lines, strict=True):
        rows = list(db.query("SELECT * FROM verdicts WHERE id = ?", [event.id]))
        if rows:
            if audit.event_bytes(VerdictEvent.from_row(rows[0])) != line:
                raise _reject("event-conflict", f"event {event.id} differs from the stored one")
            known += 1
            continue
        if db.execute("SELECT 1 FROM cases WHERE id = ?", [event.case_id]).fetchone() is None:
            raise _reject("unknown-case", f"event {event.id} is on case {event.case_id},"
                          " which is not in this database (import its batch first)")
        new.append(event)
    return MergePlan(logged, tuple(new), known)


def _check_chain_points(db: sqlite_utils.Database, cp: Checkpoint) -> None:
    for position, head in ((cp.start, cp.prev_head), (cp.count, cp.head)):
        row = db.execute(
            "SELECT head FROM chain_points WHERE key_id = ? AND position = ?",
            [cp.key_id, position],
        ).fetchone()
        if row is not None and row[0] != head:
            raise _reject(
                "history-rewritten",
                f"key {cp.key_id}'s event chain at position {position} differs from an"
                " earlier bundle's",
            )


# -- import ---------------------------------------------------------------------------------


def import_bundle(
    db: sqlite_utils.Database,
    data: bytes,
    *,
    name: str = "bundle.zip",
    quarantine_dir: Path | None = None,
) -> ImportReport:
    """Verify a verdict bundle and merge its events (set union by id) in one transaction.

    A refused bundle raises :class:`BundleRejected`, leaves the database unchanged and, if
    ``quarantine_dir`` is given, is copied there with a ``.reason.txt`` beside it.
    """
    try:
        bundle = verify_bundle(db, data)
        with transaction(db):
            plan = check_merge(db, bundle)
            if not plan.already_imported:
                _write_merge(db, bundle, plan)
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
    )


def import_bundle_file(
    db: sqlite_utils.Database, path: Path, *, quarantine_dir: Path | None = None
) -> ImportReport:
    """:func:`import_bundle` on a file, refusing oversize files before reading them."""
    return import_bundle(
        db, read_bundle_file(path), name=path.name, quarantine_dir=quarantine_dir
    )


def read_bundle_file(path: Path) -> bytes:
    """A bundle file's bytes, read at most :data:`MAX_BUNDLE_BYTES` (+1) of them."""
    with path.open("rb") as stream:
        data = stream.read(MAX_BUNDLE_BYTES + 1)
    if len(data) > MAX_BUNDLE_BYTES:
        raise _reject("zip-bomb", f"{path.name} is larger than {MAX_BUNDLE_BYTES} bytes")
    return data


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
            reports.append(ImportReport(path.name, refused_reason=exc.reason,
                                        refused_message=exc.message))
        except OSError as exc:
            reports.append(ImportReport(path.name, refused_reason="unreadable",
                                        refused_message=str(exc)))
    if progress is not None and len(reports) == len(paths):
        progress(len(paths), len(paths))
    return reports


def _write_merge(db: sqlite_utils.Database, bundle: VerifiedBundle, plan: MergePlan) -> None:
    for event in plan.new_events:
        db["verdicts"].insert(event.to_row())
    _log_bundle(db, bundle.bundle_id, bundle.signer.key_id, bundle.seq, bundle.kind,
                bundle.digest, len(bundle.events), "import")
    if bundle.checkpoint is not None:
        _add_chain_points(db, bundle.checkpoint, bundle.bundle_id)
    audit.sync_chain(db)


def quarantine(folder: Path, name: str, data: bytes, reason: BundleRejected) -> Path:
    """Copy a refused bundle into ``folder`` with a ``<name>.reason.txt`` beside it."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-100:] or "bundle"
    target = f"{hashlib.sha256(data).hexdigest()[:12]}-{safe}"
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"{reason.reason}\n{reason.message}\nrefused at {stamp}\n{what_to_do(reason.reason)}\n"
    write_atomically(folder, f"{target}.reason.txt", text.encode())
    return write_atomically(folder, target, data)
