"""Findings: the RCA escalations and policy gaps reviewers flagged, grouped by cited section.

Only deciding verdicts count: a case's final verdict, or every verdict of a disputed case
(an edited or undone flag is gone). A verdict that cites
several sections counts in each of their groups; one without a citation goes under
:data:`NO_SECTION`::

    for group in rca_escalations(db):
        print(group.section_id, group.count, group.kinds, group.example_case_ids)
    write_csv(policy_gaps(db), Path("gaps.csv"))

The same verdicts one row each (:func:`rca_cases`, :func:`gap_cases`), with the notes, the
market, the frontline moderator and the reviewer, for the meeting that goes through them::

    write_cases_csv(gap_cases(db), Path("gap-cases.csv"))
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from .spreadsheet import safe_row

NO_SECTION = "(no section)"
"""The group of flagged verdicts that cite no section."""

EXAMPLES = 5
"""How many example case ids a group keeps."""

CSV_FIELDS = ("section_id", "title", "count", "kinds", "example_case_ids")
CASE_CSV_FIELDS = (
    "case_id",
    "section_ids",
    "kind",
    "label",
    "original_label",
    "market",
    "moderator",
    "queue",
    "reviewer",
    "decided_at",
    "flag_note",
    "notes",
)


@dataclass(frozen=True)
class FindingGroup:
    """The flagged verdicts citing one section: how many, of which kinds, and examples."""

    section_id: str
    title: str
    count: int
    kinds: tuple[tuple[str, int], ...]
    """(RCA reason or gap kind, how many), most frequent first."""
    example_case_ids: tuple[str, ...]

    def to_csv_row(self) -> dict[str, str | int]:
        """The group as one CSV row (lists joined with ``;``)."""
        return {
            "section_id": self.section_id,
            "title": self.title,
            "count": self.count,
            "kinds": ";".join(f"{kind}={n}" for kind, n in self.kinds),
            "example_case_ids": ";".join(self.example_case_ids),
        }


def rca_escalations(
    db: sqlite_utils.Database, reviewer_id: str | None = None
) -> list[FindingGroup]:
    """Effective verdicts escalated for RCA, grouped by cited section, biggest group first."""
    return _groups(db, "rca_reason", reviewer_id)


def policy_gaps(db: sqlite_utils.Database, reviewer_id: str | None = None) -> list[FindingGroup]:
    """Effective verdicts flagging a policy gap, grouped by cited section, biggest first."""
    return _groups(db, "gap_kind", reviewer_id)


def write_csv(rows: list[FindingGroup], path: Path) -> Path:
    """Write finding groups to ``path`` as CSV with a header row; returns ``path``."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(CSV_FIELDS))
        writer.writeheader()
        for group in rows:
            writer.writerow(safe_row(group.to_csv_row()))
    return path


@dataclass(frozen=True)
class FindingCase:
    """One flagged verdict: the case, what it cites, the flag's kind and the people."""

    case_id: str
    section_ids: tuple[str, ...]
    """The cited sections (:data:`NO_SECTION` when none)."""
    kind: str
    """The RCA reason or policy-gap kind."""
    label: str
    original_label: str
    market: str
    moderator: str
    """The frontline moderator of the original decision."""
    queue: str
    reviewer: str
    """The reviewer's display name (their id if the name is unknown)."""
    decided_at: str
    flag_note: str
    """The reviewer's note on the RCA escalation or policy gap."""
    notes: str
    """The verdict's notes."""

    def to_csv_row(self) -> dict[str, str]:
        """The verdict as one CSV row (section ids joined with ``;``)."""
        return {
            "case_id": self.case_id,
            "section_ids": ";".join(self.section_ids),
            "kind": self.kind,
            "label": self.label,
            "original_label": self.original_label,
            "market": self.market,
            "moderator": self.moderator,
            "queue": self.queue,
            "reviewer": self.reviewer,
            "decided_at": self.decided_at,
            "flag_note": self.flag_note,
            "notes": self.notes,
        }


def rca_cases(db: sqlite_utils.Database, reviewer_id: str | None = None) -> list[FindingCase]:
    """The verdicts :func:`rca_escalations` counts, one each, in queue order."""
    return _cases(db, "rca_reason", "rca_note", reviewer_id)


def gap_cases(db: sqlite_utils.Database, reviewer_id: str | None = None) -> list[FindingCase]:
    """The verdicts :func:`policy_gaps` counts, one each, in queue order."""
    return _cases(db, "gap_kind", "gap_note", reviewer_id)


def write_cases_csv(rows: list[FindingCase], path: Path) -> Path:
    """Write flagged verdicts to ``path`` as CSV, one row each; every cell spreadsheet-safe."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(CASE_CSV_FIELDS))
        writer.writeheader()
        for row in rows:
            writer.writerow(safe_row(row.to_csv_row()))
    return path


def _cases(
    db: sqlite_utils.Database, column: str, note_column: str, reviewer_id: str | None
) -> list[FindingCase]:
    sql = (
        f"SELECT ev.case_id, ev.citations, ev.{column}, ev.label, c.orig_label, c.market,"
        " c.orig_moderator, c.orig_queue, COALESCE(r.display_name, ev.reviewer_id),"
        f" ev.created_at, ev.{note_column}, ev.notes"
        f" {_deciding_from(column, reviewer_id)}"
    )
    found = []
    for case_id, citations, kind, *rest in db.execute(sql, {"reviewer": reviewer_id}).fetchall():
        sections = tuple(s for s, _ in _cited_sections(db, json.loads(citations or "[]")))
        label, original, market, moderator, queue, reviewer, decided_at, note, notes = rest
        found.append(
            FindingCase(
                case_id,
                sections,
                kind,
                label or "",
                original,
                market,
                moderator,
                queue,
                reviewer,
                decided_at,
                note or "",
                notes or "",
            )
        )
    return found


def _deciding_from(column: str, reviewer_id: str | None) -> str:
    """SQL from FROM on: the deciding verdicts (``ev``, with case ``c`` and reviewer ``r``)
    whose ``column`` (a flag's kind) is set, in queue order.

    For everyone: each case's final verdict (see ``final_verdicts``) and, where reviewers
    disagree and nobody ruled, each of their verdicts, so that no flag is lost to a dispute.
    For one reviewer: that reviewer's effective verdicts.
    """
    if reviewer_id:
        deciding = "ev.label IS NOT NULL AND ev.reviewer_id = :reviewer"
    else:
        deciding = (
            "(ev.id = fv.event_id OR (fv.status = 'disputed' AND ev.role = 'sme'"
            " AND ev.label IS NOT NULL))"
        )
    return (
        "FROM effective_verdicts ev"
        " JOIN cases c ON c.id = ev.case_id"
        " JOIN final_verdicts fv ON fv.case_id = ev.case_id"
        " LEFT JOIN reviewers r ON r.id = ev.reviewer_id"
        f" WHERE {deciding} AND ev.{column} IS NOT NULL"
        " ORDER BY c.seq, ev.reviewer_id"
    )


@dataclass
class _Tally:
    """A group being counted."""

    title: str = ""
    count: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    cases: list[str] = field(default_factory=list)

    def add(self, case_id: str, kind: str, title: str) -> None:
        """Count one flagged verdict on ``case_id``."""
        self.count += 1
        self.kinds[kind] += 1
        if case_id not in self.cases and len(self.cases) < EXAMPLES:
            self.cases.append(case_id)
        self.title = self.title or title

    def group(self, section_id: str) -> FindingGroup:
        """The finished group."""
        return FindingGroup(
            section_id=section_id,
            title=self.title,
            count=self.count,
            kinds=tuple(sorted(self.kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
            example_case_ids=tuple(self.cases),
        )


def _groups(db: sqlite_utils.Database, column: str, reviewer_id: str | None) -> list[FindingGroup]:
    """Group the deciding verdicts (see :func:`_deciding_from`) whose ``column`` is set."""
    sql = f"SELECT ev.case_id, ev.citations, ev.{column} {_deciding_from(column, reviewer_id)}"
    tallies: dict[str, _Tally] = {}
    for case_id, citations, kind in db.execute(sql, {"reviewer": reviewer_id}).fetchall():
        for section_id, title in _cited_sections(db, json.loads(citations or "[]")):
            tallies.setdefault(section_id, _Tally()).add(case_id, kind, title)
    groups = [tally.group(section_id) for section_id, tally in tallies.items()]
    return sorted(groups, key=lambda g: (-g.count, g.section_id))


def _cited_sections(db: sqlite_utils.Database, citations: list[dict]) -> list[tuple[str, str]]:
    """(section id, title) of each distinct cited section, or the no-section group."""
    found: dict[str, str] = {}
    for c in citations:
        section_id = c["section_id"]
        if section_id not in found:
            found[section_id] = _section_title(db, c["pack_id"], c["pack_version"], section_id)
    return list(found.items()) or [(NO_SECTION, "")]


def _section_title(db: sqlite_utils.Database, pack_id: str, version: str, section_id: str) -> str:
    row = db.execute(
        "SELECT title FROM guideline_sections WHERE pack_id = ? AND pack_version = ? AND id = ?",
        [pack_id, version, section_id],
    ).fetchone()
    return row[0] if row else ""
