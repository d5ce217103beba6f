"""The ``case-batch`` payload: a case batch signed by its issuer.

``data/`` holds the batch as it is (``batch.json``, ``cases.jsonl``, ``media/``); only
``issuer`` keys may sign it, and bag-info.txt must say when it ``Expires``. A verified case
batch is not merged here: ``batches.import_batch`` imports it from the verified bytes::

    path = sign_case_batch_files(identity, {"batch.json": ..., "cases.jsonl": ...}, out_dir)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from ... import keys
from ...clock import iso_utc
from ...formats import zip_safety
from ...formats.bagit import BAG_INFO
from ...formats.canonical import StrictJSONError, loads_strict
from ...store import transaction
from ...vocab import KeyRole, RefusalReason
from .. import ledger
from ..atomic_files import write_atomically
from ..export import BuiltBag, build_bag
from ..rejection import BundleRejected
from .kind import PayloadKind, SignedBag, VerifiedBundle

KIND_CASE_BATCH = "case-batch"
EXPIRES = "Expires"
"""bag-info.txt field every case batch must have: the time (UTC) after which it is refused."""
SESSION_FILE = "calibration-session.json"
QUIZ_FILE = "quiz.json"
"""Beside ``batch.json`` in a quiz a lead ships (``core/quizzes.py``)."""
"""Beside ``batch.json`` in a batch a lead ships: its async calibration session."""
DEFAULT_BATCH_VALIDITY = timedelta(days=30)
"""How long a signed case batch is valid when its issuer does not say."""


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
    limits = zip_safety.BUNDLE_LIMITS
    created = datetime.now(UTC)
    until = (expires or created + DEFAULT_BATCH_VALIDITY).astimezone(UTC)
    if "batch.json" not in files:
        raise ValueError("a case batch needs a batch.json at its top")
    too_big = [name for name, data in files.items() if len(data) > limits.max_member_bytes]
    if too_big or sum(len(d) for d in files.values()) > limits.max_total_bytes:
        raise ValueError(
            f"the batch is too big to sign as one bundle (at most {limits.max_member_bytes}"
            f" bytes a file and {limits.max_total_bytes} in all)"
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
            identity,
            kind=KIND_CASE_BATCH,
            bundle_id=bundle_id,
            seq=seq,
            payload=payload,
            info={"Event-Count": str(case_count), "Batch-Ids": batch_id, EXPIRES: iso_utc(until)},
            created=iso_utc(created),
        )
        if len(bag.data) > limits.max_archive_bytes:
            raise ValueError(f"the signed batch is larger than {limits.max_archive_bytes} bytes")
        return bag

    if db is None:
        return write_atomically(out_dir, f"{bundle_id}.zip", sign(seq or 1).data)
    with transaction(db):
        if seq is None:
            seq = ledger.next_seq(db, identity.key_id)
        used = ledger.seq_used_by(db, identity.key_id, seq)
        if used is not None:
            raise ValueError(
                f"sequence number {seq} of your key was already used by bundle {used};"
                " importers would refuse it as a replay (leave the number out to use the next)"
            )
        bag = sign(seq)
        ledger.log_bundle(
            db, bundle_id, identity.key_id, seq, KIND_CASE_BATCH, bag.digest, case_count, "export"
        )
        return write_atomically(out_dir, f"{bundle_id}.zip", bag.data)


def check_not_expired(info: dict[str, str]) -> None:
    """Refuse a case batch without a readable ``Expires``, or past it (``expired``)."""
    if EXPIRES not in info:
        raise BundleRejected(
            RefusalReason.SCHEMA, f"a case batch needs an {EXPIRES} field in {BAG_INFO}"
        )
    try:
        until = datetime.fromisoformat(info[EXPIRES].replace("Z", "+00:00"))
    except ValueError:
        until = None
    if until is None or until.tzinfo is None:
        raise BundleRejected(
            RefusalReason.SCHEMA, f"{EXPIRES} {info[EXPIRES]!r} is not an ISO 8601 UTC time"
        )
    if datetime.now(UTC) >= until:
        raise BundleRejected(
            RefusalReason.EXPIRED,
            f"the issuer's signature on this batch expired at {info[EXPIRES]}",
        )


def read_case_batch(bag: SignedBag) -> VerifiedBundle:
    """The batch's files by name under ``data/`` (checked as a batch when imported).

    A lead's key signs only a batch that ships an async calibration session (its
    ``calibration-session.json``) or a quiz (its ``quiz.json``); any other batch needs an
    issuer (``role-not-allowed``).
    """
    payload = {n[5:]: bytes(d) for n, d in bag.files.items() if n.startswith("data/")}
    ships = any(n.rsplit("/", 1)[-1] in (SESSION_FILE, QUIZ_FILE) for n in payload)
    if bag.signer.role == KeyRole.LEAD and not ships:
        raise BundleRejected(
            RefusalReason.ROLE_NOT_ALLOWED,
            f"key {bag.signer.key_id} is a lead's: it signs case batches only to ship a"
            " calibration session or a quiz; other batches come from an issuer",
        )
    return bag.verified(payload=payload)


CASE_BATCHES = PayloadKind(
    name=KIND_CASE_BATCH,
    signer_roles=(KeyRole.ISSUER, KeyRole.LEAD),
    write=sign_case_batch_files,
    read=read_case_batch,
    check_info=check_not_expired,
)
"""Case batches: written by :func:`sign_case_batch_files`, imported by
``batches.import_batch`` (never merged by ``bundles.import_bundle``)."""
