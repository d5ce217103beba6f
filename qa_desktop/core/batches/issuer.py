"""Batches signed by their issuer: signing them, and verifying them before anything is used.

A signed batch is a ``case-batch`` bundle. Signing is the payload kind's writer
(``bundles.payloads.case_batches``), offered here too::

    path = sign_case_batch_files(identity, batch_files(Path("weekly-de")), out_dir, db=db)

On import a signed batch is read once, verified entirely in memory against the trust
store, checked against the bundle log (a reused sequence number is a replay), and then
imported from the verified bytes. A refusal is a :class:`SignedBatchRefused` carrying the
bundle's reason.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from ..bundles import (
    BundleRejected,
    VerifiedBundle,
    check_bundle_log,
    read_bundle_file,
    verify_case_batch,
)
from ..bundles.payloads.case_batches import sign_case_batch, sign_case_batch_files
from .problems import BatchError

__all__ = [
    "SignedBatchRefused",
    "open_signed_batch",
    "sign_case_batch",
    "sign_case_batch_files",
    "verify_case_batch",
]


class SignedBatchRefused(BatchError):
    """A signed batch whose bundle was refused (bad signature, replay, expired...)."""

    def __init__(self, path: Path, data: bytes, rejected: BundleRejected) -> None:
        super().__init__(
            f"{path.name}: signed case batch refused ({rejected.reason}): {rejected.message}"
        )
        self.path = path
        self.data = data
        self.rejected = rejected


def open_signed_batch(path: Path, db: sqlite_utils.Database | None) -> VerifiedBundle:
    """Read a signed batch once and verify it in memory; nothing unverified is used.

    Raises :class:`SignedBatchRefused` (the bundle was refused) or :class:`BatchError`.
    """
    if db is None:
        raise BatchError(f"{path.name}: a signed batch needs the trust store to be verified")
    data = b""
    try:
        data = read_bundle_file(path)
        verified = verify_case_batch(db, data)
        check_bundle_log(db, verified)
    except BundleRejected as exc:
        raise SignedBatchRefused(path, data, exc) from None
    except OSError as exc:
        raise BatchError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return verified
