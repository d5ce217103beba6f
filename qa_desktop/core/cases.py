"""One case in full: its content, context, media and the frontline decision QA reviews.

The queue (paged, filtered lists of cases) is :mod:`.queue`::

    case = load_case(db, "demo-007")
    case.severe, case.original.label, [m.name for m in case.media]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from .content_warnings import is_severe


@dataclass(frozen=True)
class MediaFile:
    """One media file of a case, stored by content hash in the media store."""

    name: str
    sha256: str
    mime: str
    size: int

    def path_in(self, media_dir: Path) -> Path:
        """Where the file lives in the content-addressed media store."""
        return media_dir / self.sha256[:2] / self.sha256


@dataclass(frozen=True)
class OriginalDecision:
    """The frontline decision that QA reviews."""

    label: str
    policy: str
    moderator_id: str
    queue: str
    decided_at: str


@dataclass(frozen=True)
class Case:
    """One case in full: content, context and the original decision."""

    seq: int
    id: str
    batch_id: str
    content_type: str
    market: str
    language: str
    text: str
    tags: tuple[str, ...]
    metadata: dict[str, object]
    original: OriginalDecision
    media: tuple[MediaFile, ...]
    pack_id: str
    pack_version: str
    batch_signer: str | None = None
    """Who signed the case's batch (the trust store's name), or None: imported unsigned."""

    @property
    def severe(self) -> bool:
        """True when a content-warning tag names a severe harm type (strongest protection)."""
        return is_severe(self.tags)


def _signer_of(status: str, name: str | None) -> str | None:
    """The signer to show for a batch's ``signature_status`` (None when unsigned)."""
    if not status.startswith("signed:"):
        return None
    return name or f"key {status.removeprefix('signed:')} (no longer trusted)"


def load_case(db: sqlite_utils.Database, case_id: str) -> Case | None:
    """One case with its media and the guideline pack its batch names."""
    rows = list(
        db.query(
            "SELECT c.*, b.pack_id, b.pack_version, b.signature_status, k.signer_name"
            " FROM cases c JOIN batches b ON b.id = c.batch_id"
            " LEFT JOIN trusted_keys k ON b.signature_status = 'signed:' || k.key_id"
            " WHERE c.id = ?",
            [case_id],
        )
    )
    if not rows:
        return None
    r = rows[0]
    media = tuple(
        MediaFile(m["name"], m["sha256"], m["mime"], m["size"])
        for m in db.query("SELECT * FROM media WHERE case_id = ? ORDER BY position", [case_id])
    )
    return Case(
        seq=r["seq"],
        id=r["id"],
        batch_id=r["batch_id"],
        content_type=r["content_type"],
        market=r["market"],
        language=r["language"],
        text=r["text"],
        tags=tuple(json.loads(r["tags"])),
        metadata=json.loads(r["metadata"]),
        original=OriginalDecision(
            r["orig_label"],
            r["orig_policy"],
            r["orig_moderator"],
            r["orig_queue"],
            r["orig_decided_at"],
        ),
        media=media,
        pack_id=r["pack_id"],
        pack_version=r["pack_version"],
        batch_signer=_signer_of(r["signature_status"], r["signer_name"]),
    )
