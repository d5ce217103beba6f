"""Cases as the reviewer sees them: the queue (paged, lazily) and one case in full."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils


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

    @property
    def severe(self) -> bool:
        """True when a content-warning tag marks the case severe (strongest protection)."""
        return any(t == "severe" or t.startswith("severe:") for t in self.tags)


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue: what the table shows, nothing more."""

    seq: int
    id: str
    market: str
    policy: str
    original_label: str
    content_type: str
    my_label: str | None


_QUEUE_SQL = """
    SELECT c.seq, c.id, c.market, c.orig_policy, c.orig_label, c.content_type, ev.label
    FROM cases c
    LEFT JOIN effective_verdicts ev ON ev.case_id = c.id AND ev.reviewer_id = :reviewer
"""


def case_count(db: sqlite_utils.Database) -> int:
    """How many cases the queue holds."""
    return int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])


def queue_page(
    db: sqlite_utils.Database,
    reviewer_id: str,
    *,
    after_seq: int | None = None,
    offset: int = 0,
    limit: int = 200,
) -> list[QueueRow]:
    """A page of queue rows in queue order.

    Keyset paging (``after_seq``) is used when the previous page is known; ``offset``
    when jumping straight into the middle of a long queue.
    """
    params: dict[str, object] = {"reviewer": reviewer_id, "limit": limit}
    if after_seq is not None:
        sql = _QUEUE_SQL + " WHERE c.seq > :after ORDER BY c.seq LIMIT :limit"
        params["after"] = after_seq
    else:
        sql = _QUEUE_SQL + " ORDER BY c.seq LIMIT :limit OFFSET :offset"
        params["offset"] = offset
    return [QueueRow(*row) for row in db.execute(sql, params).fetchall()]


def queue_row(db: sqlite_utils.Database, reviewer_id: str, case_id: str) -> QueueRow | None:
    """The queue row of one case."""
    row = db.execute(_QUEUE_SQL + " WHERE c.id = :id", {"reviewer": reviewer_id, "id": case_id})
    found = row.fetchone()
    return QueueRow(*found) if found else None


def queue_index(db: sqlite_utils.Database, case_id: str) -> int | None:
    """The 0-based position of a case in the queue, or None if it is not there."""
    row = db.execute("SELECT seq FROM cases WHERE id = ?", [case_id]).fetchone()
    if row is None:
        return None
    return int(db.execute("SELECT COUNT(*) FROM cases WHERE seq < ?", [row[0]]).fetchone()[0])


def load_case(db: sqlite_utils.Database, case_id: str) -> Case | None:
    """One case with its media and the guideline pack its batch names."""
    rows = list(
        db.query(
            "SELECT c.*, b.pack_id, b.pack_version FROM cases c"
            " JOIN batches b ON b.id = c.batch_id WHERE c.id = ?",
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
    )
