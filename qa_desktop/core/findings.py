"""Findings: the RCA escalations and policy gaps reviewers flagged, grouped by cited section.

Only deciding verdicts count: a case's final verdict, or every verdict of a disputed case
(an edited or undone flag is gone). A verdict that cites
several sections counts in each of their groups; one without a citation goes under
:data:`NO_SECTION`::

    for group in rca_escalations(db):
        print(group.section_id, group.count, group.kinds, group.example_case_ids)
    write_csv(policy_gaps(db), Path("gaps.csv"))
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
    """Group the deciding verdicts whose ``column`` (a flag's kind) is set.

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
    sql = (
        f"SELECT ev.case_id, ev.citations, ev.{column} FROM effective_verdicts ev"
        f" JOIN cases c ON c.id = ev.case_id"
        f" JOIN final_verdicts fv ON fv.case_id = ev.case_id"
        f" WHERE {deciding} AND ev.{column} IS NOT NULL"
        " ORDER BY c.seq, ev.reviewer_id"
    )
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
