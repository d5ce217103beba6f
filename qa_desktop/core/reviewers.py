"""The local reviewer profile: display name and stable id, made at first run."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from .clock import utc_now_iso
from .ids import new_event_id
from .store import transaction


@dataclass(frozen=True)
class Reviewer:
    """A person who records verdicts. ``id`` never changes; the name may."""

    id: str
    display_name: str
    created_at: str


def local_reviewer(db: sqlite_utils.Database) -> Reviewer | None:
    """The profile of whoever uses this data directory, or None before first run."""
    row = db.execute("SELECT value FROM meta WHERE key = 'local_reviewer'").fetchone()
    if row is None:
        return None
    found = db.execute(
        "SELECT id, display_name, created_at FROM reviewers WHERE id = ?", [row[0]]
    ).fetchone()
    return Reviewer(*found) if found else None


def create_local_reviewer(db: sqlite_utils.Database, display_name: str) -> Reviewer:
    """Make the local profile (first run). The id is a fresh UUIDv7."""
    name = display_name.strip()
    if not name:
        raise ValueError("a reviewer needs a display name")
    reviewer = Reviewer(id=new_event_id(), display_name=name, created_at=utc_now_iso())
    with transaction(db):
        db.table("reviewers").insert(
            {"id": reviewer.id, "display_name": name, "created_at": reviewer.created_at}
        )
        db.table("meta").upsert({"key": "local_reviewer", "value": reviewer.id}, pk="key")
    return reviewer
