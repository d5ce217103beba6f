"""Verdict events: append-only, an edit or an undo is a new event that supersedes an older one.

The effective verdict of a reviewer on a case is their newest event that no other event
supersedes; an event whose ``label`` is None is a retraction (the case is undecided again)::

    event = record_verdict(db, case_id="c-001", reviewer_id=me.id, label="vh_remove",
                           citations=[Citation("demo-global", "1.0.0", "VH-2.3")])
    undo_last_verdict(db, case_id="c-001", reviewer_id=me.id)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from .clock import utc_now_iso
from .ids import new_event_id
from .store import transaction


@dataclass(frozen=True)
class Citation:
    """A reference to one section of one version of a guideline pack."""

    pack_id: str
    pack_version: str
    section_id: str
    quote: str = ""


@dataclass(frozen=True)
class VerdictEvent:
    """One recorded decision (or retraction, when ``label`` is None) by one reviewer."""

    id: str
    case_id: str
    reviewer_id: str
    label: str | None
    citations: tuple[Citation, ...] = ()
    notes: str = ""
    time_on_case_ms: int = 0
    created_at: str = ""
    supersedes: str | None = None
    role: str = "sme"
    session_id: str | None = None
    restores: str | None = None
    """For an undo: the event whose verdict it brings back (None for a retraction)."""

    def to_row(self) -> dict[str, Any]:
        """The event as a ``verdicts`` table row (citations as JSON)."""
        row = asdict(self)
        row["citations"] = json.dumps([asdict(c) for c in self.citations], ensure_ascii=False)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> VerdictEvent:
        """Rebuild an event from a ``verdicts`` table row."""
        data = dict(row)
        data["citations"] = tuple(Citation(**c) for c in json.loads(data["citations"] or "[]"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        """The event as plain JSON-ready data (citations as objects)."""
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        return data


@dataclass(frozen=True)
class VerdictDraft:
    """What the reviewer is about to record (the verdict panel's state)."""

    label: str
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    notes: str = ""


def effective_verdict(
    db: sqlite_utils.Database, case_id: str, reviewer_id: str
) -> VerdictEvent | None:
    """The reviewer's current event on the case (may be a retraction), or None if none."""
    rows = list(
        db.query(
            "SELECT * FROM effective_verdicts WHERE case_id = ? AND reviewer_id = ?",
            [case_id, reviewer_id],
        )
    )
    return VerdictEvent.from_row(rows[0]) if rows else None


def record_verdict(
    db: sqlite_utils.Database,
    *,
    case_id: str,
    reviewer_id: str,
    label: str,
    citations: tuple[Citation, ...] | list[Citation] = (),
    notes: str = "",
    time_on_case_ms: int = 0,
) -> VerdictEvent:
    """Append a verdict; it supersedes the reviewer's current event on the case, if any."""
    if not label:
        raise ValueError("a verdict needs a label")
    with transaction(db):
        current = effective_verdict(db, case_id, reviewer_id)
        event = VerdictEvent(
            id=new_event_id(),
            case_id=case_id,
            reviewer_id=reviewer_id,
            label=label,
            citations=tuple(citations),
            notes=notes,
            time_on_case_ms=max(0, int(time_on_case_ms)),
            created_at=utc_now_iso(),
            supersedes=current.id if current else None,
        )
        db["verdicts"].insert(event.to_row())
    return event


def undo_last_verdict(
    db: sqlite_utils.Database, *, case_id: str, reviewer_id: str
) -> VerdictEvent | None:
    """Undo the reviewer's current verdict on the case with a new superseding event.

    The new event restores what the undone one superseded (so undoing an edit brings back
    the previous verdict), or is a retraction if there was nothing before. Returns None
    when there is nothing to undo.
    """
    with transaction(db):
        current = effective_verdict(db, case_id, reviewer_id)
        if current is None or current.label is None:
            return None
        # The verdict on screen may itself be an undo's restoration: step back from the
        # event that first recorded it, so repeated undos walk back instead of redoing.
        recorded = _event(db, current.restores) if current.restores else current
        before = _event(db, recorded.supersedes) if recorded and recorded.supersedes else None
        if before is not None and before.restores:
            before = _event(db, before.restores)
        restored = before if before is not None and before.label is not None else None
        event = VerdictEvent(
            id=new_event_id(),
            case_id=case_id,
            reviewer_id=reviewer_id,
            label=restored.label if restored else None,
            citations=restored.citations if restored else (),
            notes=restored.notes if restored else "",
            time_on_case_ms=0,
            created_at=utc_now_iso(),
            supersedes=current.id,
            restores=restored.id if restored else None,
        )
        db["verdicts"].insert(event.to_row())
    return event


def case_history(db: sqlite_utils.Database, case_id: str) -> list[VerdictEvent]:
    """Every event on the case, oldest first."""
    return [
        VerdictEvent.from_row(r)
        for r in db.query(
            "SELECT * FROM verdicts WHERE case_id = ? ORDER BY created_at, id", [case_id]
        )
    ]


def all_events(db: sqlite_utils.Database) -> list[VerdictEvent]:
    """Every verdict event in the database, oldest first."""
    return [
        VerdictEvent.from_row(r) for r in db.query("SELECT * FROM verdicts ORDER BY created_at, id")
    ]


def _event(db: sqlite_utils.Database, event_id: str) -> VerdictEvent | None:
    rows = list(db.query("SELECT * FROM verdicts WHERE id = ?", [event_id]))
    return VerdictEvent.from_row(rows[0]) if rows else None
