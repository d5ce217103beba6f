"""Verdict events: append-only, an edit or an undo is a new event that supersedes an older one.

The effective verdict of a reviewer on a case is their newest event that no other event
supersedes; an event whose ``label`` is None is a retraction (the case is undecided again)::

    event = record_verdict(db, case_id="c-001", reviewer_id=me.id, label="vh_remove",
                           citations=[Citation("demo-global", "1.0.0", "VH-2.3")])
    undo_last_verdict(db, case_id="c-001", reviewer_id=me.id)

A verdict may carry details: a confidence (1-3), an RCA escalation (a reason from
:data:`RCA_REASONS` and a note) and a policy-gap flag (a kind from :data:`GAP_KINDS` and a
note). Edits and undos carry them like the label: an undo restores them too.

:func:`check_citations` is the citation rule: an enforcing label must cite a section that
supports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import sqlite_utils

from .cases import load_case
from .clock import utc_now_iso
from .errors import Refused
from .guidelines import (
    GuidelineNotFound,
    Label,
    check_resolvable,
    pack_labels,
    resolve_guideline,
)
from .ids import new_event_id
from .store import transaction
from .vocab import RefusalReason, Role

CONFIDENCE_LEVELS = (1, 2, 3)
"""Confidence of a verdict: 1 (unsure) to 3 (certain); optional."""

RCA_REASONS = (
    "frontline_error",
    "guideline_misread",
    "tooling_issue",
    "queue_routing",
    "training_gap",
    "other",
)
"""Why a case is escalated for root-cause analysis."""

MAX_NOTE_CHARS = 20_000
"""Longest ``notes``, ``rca_note`` or ``gap_note`` a verdict may have, in characters."""
MAX_QUOTE_CHARS = 2_000
"""Longest quote of a guideline section a citation may carry, in characters."""
MAX_CITATIONS = 50
"""Most citations one verdict may carry.

Together these keep one verdict event under about 1 MiB (6 bytes a character at worst in
canonical JSON), so every event fits in a bundle (``bundles.payloads.verdicts``)."""

GAP_KINDS = ("silent", "ambiguous", "conflicting", "outdated")
"""How the guidelines fall short for a case: silent, ambiguous, conflicting or outdated."""


class CitationError(Refused):
    """A verdict's citations do not justify its label."""

    def __init__(self, message: str) -> None:
        super().__init__(RefusalReason.CITATION_REQUIRED, message)


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
    role: str = Role.SME.value
    session_id: str | None = None
    restores: str | None = None
    """For an undo: the event whose verdict it brings back (None for a retraction)."""
    confidence: int | None = None
    rca_reason: str | None = None
    rca_note: str = ""
    gap_kind: str | None = None
    gap_note: str = ""

    @property
    def escalated(self) -> bool:
        """True when the verdict is escalated for root-cause analysis."""
        return self.rca_reason is not None

    @property
    def flags_gap(self) -> bool:
        """True when the verdict flags a policy gap."""
        return self.gap_kind is not None

    def to_row(self) -> dict[str, Any]:
        """The event as a ``verdicts`` table row (citations as JSON)."""
        row = asdict(self)
        row["citations"] = citations_json(self.citations)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> VerdictEvent:
        """Rebuild an event from a ``verdicts`` table row."""
        data = dict(row)
        data["citations"] = tuple(Citation(**c) for c in json.loads(data["citations"] or "[]"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @classmethod
    def from_checked(cls, fields: dict[str, Any]) -> VerdictEvent:
        """The event of ``fields``, a dict of exactly the event's fields whose values were
        checked already (citations as a tuple of :class:`Citation`), made without the
        frozen ``__init__``'s one guarded set per field: a bundle import makes 100,000."""
        if fields.keys() != _EVENT_FIELD_NAMES:
            raise ValueError(f"not the fields of a verdict event: {sorted(fields)}")
        event = object.__new__(cls)
        event.__dict__.update(fields)
        return event

    def to_json(self) -> dict[str, Any]:
        """The event as plain JSON-ready data (citations as objects)."""
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        return data


_EVENT_FIELD_NAMES = frozenset(VerdictEvent.__dataclass_fields__)


@dataclass(frozen=True)
class VerdictDraft:
    """What the reviewer is about to record (the verdict panel's state)."""

    label: str
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    notes: str = ""
    confidence: int | None = None
    rca_reason: str | None = None
    rca_note: str = ""
    gap_kind: str | None = None
    gap_note: str = ""


def citations_json(citations: tuple[Citation, ...] | list[Citation]) -> str:
    """Citations as the ``verdicts.citations`` column stores them (a JSON list of objects,
    keys in field order)."""
    return json.dumps(
        [
            {
                "pack_id": c.pack_id,
                "pack_version": c.pack_version,
                "section_id": c.section_id,
                "quote": c.quote,
            }
            for c in citations
        ],
        ensure_ascii=False,
    )


_EVENT_COLUMNS = tuple(VerdictEvent.__dataclass_fields__)
_INSERT_EVENT = (
    f"INSERT INTO verdicts ({', '.join(_EVENT_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})"
)


def _insert_event(db: sqlite_utils.Database, event: VerdictEvent) -> None:
    """Append ``event`` with one prepared INSERT (no per-call table checks, no asdict)."""
    values = [getattr(event, name) for name in _EVENT_COLUMNS]
    values[_EVENT_COLUMNS.index("citations")] = citations_json(event.citations)
    db.conn.execute(_INSERT_EVENT, values)


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
    confidence: int | None = None,
    rca_reason: str | None = None,
    rca_note: str = "",
    gap_kind: str | None = None,
    gap_note: str = "",
) -> VerdictEvent:
    """Append a verdict; it supersedes the reviewer's current event on the case, if any.

    Raises ValueError for a missing label, a confidence outside 1-3, an unknown RCA reason
    or gap kind, or a note without its reason or kind.
    """
    if not label:
        raise ValueError("a verdict needs a label")
    check_details(confidence, rca_reason, rca_note, gap_kind, gap_note)
    # Inside a caller's transaction (``Verdicts.record``) the one INSERT needs no savepoint.
    with nullcontext(db) if db.conn.in_transaction else transaction(db):
        # The reviewer's effective event, as the maintained table holds it (migration 17).
        current = db.conn.execute(
            "SELECT event_id FROM current_verdicts WHERE case_id = ? AND reviewer_id = ?",
            [case_id, reviewer_id],
        ).fetchone()
        event = VerdictEvent(
            id=new_event_id(),
            case_id=case_id,
            reviewer_id=reviewer_id,
            label=label,
            citations=tuple(citations),
            notes=notes,
            time_on_case_ms=max(0, int(time_on_case_ms)),
            created_at=utc_now_iso(),
            supersedes=current[0] if current else None,
            confidence=confidence,
            rca_reason=rca_reason,
            rca_note=rca_note.strip(),
            gap_kind=gap_kind,
            gap_note=gap_note.strip(),
        )
        _insert_event(db, event)
    return event


def check_details(
    confidence: int | None,
    rca_reason: str | None,
    rca_note: str,
    gap_kind: str | None,
    gap_note: str,
) -> None:
    """Raise ValueError, saying what is wrong, unless the verdict details are valid."""
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, int)
        or confidence not in CONFIDENCE_LEVELS
    ):
        raise ValueError(f"confidence must be 1, 2 or 3 (or none), not {confidence!r}")
    if rca_reason is not None and rca_reason not in RCA_REASONS:
        raise ValueError(
            f"unknown RCA reason {rca_reason!r}; expected one of {', '.join(RCA_REASONS)}"
        )
    if rca_note.strip() and rca_reason is None:
        raise ValueError("an RCA note needs an RCA reason")
    if gap_kind is not None and gap_kind not in GAP_KINDS:
        raise ValueError(
            f"unknown policy-gap kind {gap_kind!r}; expected one of {', '.join(GAP_KINDS)}"
        )
    if gap_note.strip() and gap_kind is None:
        raise ValueError("a policy-gap note needs a policy-gap kind")


class CitedSection(Protocol):
    """What :func:`check_citations` needs to know about a guideline section."""

    @property
    def labels(self) -> tuple[str, ...]:
        """Ids of the labels the section supports."""
        ...

    @property
    def status(self) -> str:
        """``active`` or ``retired``."""
        ...

    @property
    def pack_id(self) -> str:
        """The pack (global or a market overlay) the section comes from."""
        ...


class ResolvedGuideline(Protocol):
    """The guideline in force for a case (``guidelines.resolve_guideline``'s result)."""

    @property
    def market(self) -> str:
        """The market the guideline is resolved for."""
        ...

    def section(self, section_id: str) -> CitedSection | None:
        """The section with that id, or None if the guideline has none."""
        ...


def check_citations(
    label: Label, citations: tuple[Citation, ...] | list[Citation], guideline: ResolvedGuideline
) -> list[str]:
    """Check that ``citations`` justify ``label``; return warnings for the reviewer.

    An enforcing label needs at least one cited section that supports it, else
    :class:`CitationError`. Citing an unknown or a retired section is only a warning; a
    no-action verdict may cite anything.
    """
    warnings: list[str] = []
    supported = False
    for citation in citations:
        section = guideline.section(citation.section_id)
        if section is None:
            warnings.append(f"section {citation.section_id} is not in the guidelines in force")
            continue
        if section.status == "retired":
            warnings.append(f"section {citation.section_id} is retired")
        if label.id in section.labels:
            supported = True
    if label.enforces and not supported:
        raise CitationError(
            f"{label.id} ({label.action}) needs a citation of a section that supports it"
        )
    return warnings


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
            **(_details(restored) if restored else {}),
        )
        db.table("verdicts").insert(event.to_row())
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


def _details(event: VerdictEvent) -> dict[str, Any]:
    """The verdict details of ``event`` (what an undo restores besides label and notes)."""
    return {
        "confidence": event.confidence,
        "rca_reason": event.rca_reason,
        "rca_note": event.rca_note,
        "gap_kind": event.gap_kind,
        "gap_note": event.gap_note,
    }


def _event(db: sqlite_utils.Database, event_id: str) -> VerdictEvent | None:
    rows = list(db.query("SELECT * FROM verdicts WHERE id = ?", [event_id]))
    return VerdictEvent.from_row(rows[0]) if rows else None


@dataclass(frozen=True)
class FinalVerdict:
    """A case's final verdict as the ``final_verdicts`` view defines it (see :mod:`.store`)."""

    case_id: str
    status: str
    """``ruled``, ``decided``, ``disputed`` or ``open``."""
    event: VerdictEvent | None = None
    """The deciding event (None when disputed or open)."""

    @property
    def label(self) -> str | None:
        """The final label, None when there is no final verdict."""
        return self.event.label if self.event is not None else None


def final_verdict(db: sqlite_utils.Database, case_id: str) -> FinalVerdict | None:
    """The final verdict of a case (None for an unknown case)."""
    row = db.execute(
        "SELECT event_id, status FROM final_verdicts WHERE case_id = ?", [case_id]
    ).fetchone()
    if row is None:
        return None
    return FinalVerdict(case_id, row[1], _event(db, row[0]) if row[0] else None)


def check_sizes(draft: VerdictDraft) -> None:
    """Refuse (``too-large``) a draft whose notes, quotes or citations exceed the limits
    (:data:`MAX_NOTE_CHARS`, :data:`MAX_QUOTE_CHARS`, :data:`MAX_CITATIONS`)."""
    for name, text in (
        ("notes", draft.notes),
        ("RCA note", draft.rca_note),
        ("policy-gap note", draft.gap_note),
    ):
        if len(text) > MAX_NOTE_CHARS:
            raise Refused(
                RefusalReason.TOO_LARGE,
                f"the {name} has {len(text):,} characters; a verdict's {name} may have at most"
                f" {MAX_NOTE_CHARS:,} (shorten it or attach the text as evidence to a bundle)",
            )
    if len(draft.citations) > MAX_CITATIONS:
        raise Refused(
            RefusalReason.TOO_LARGE,
            f"the verdict cites {len(draft.citations)} sections; at most {MAX_CITATIONS}",
        )
    for citation in draft.citations:
        if len(citation.quote) > MAX_QUOTE_CHARS:
            raise Refused(
                RefusalReason.TOO_LARGE,
                f"the quote of section {citation.section_id} has {len(citation.quote):,}"
                f" characters; a quote may have at most {MAX_QUOTE_CHARS:,}",
            )


def check_draft(db: sqlite_utils.Database, case_id: str, draft: VerdictDraft) -> list[str]:
    """Apply the domain rules to a draft verdict on a case; return warnings for the reviewer.

    Refuses (:class:`Refused`, with its reason) an unknown case, a label that is not in the
    case's guideline pack, and an enforcing label without a citation of a section that
    supports it in the guideline in force for the case's market (:func:`check_citations`).
    Citing an unknown or retired section is only a warning.
    """
    check_sizes(draft)
    # The case's market and pack, not the whole case: the rules need nothing else.
    case = db.conn.execute(
        "SELECT c.market, b.pack_id, b.pack_version FROM cases c"
        " JOIN batches b ON b.id = c.batch_id WHERE c.id = ?",
        [case_id],
    ).fetchone()
    if case is None:
        raise Refused(RefusalReason.UNKNOWN_CASE, f"there is no case {case_id!r}")
    market, pack_id, pack_version = case
    labels = {label.id: label for label in pack_labels(db, pack_id, pack_version)}
    label = labels.get(draft.label)
    if label is None:
        known = ", ".join(sorted(labels)) or "none: the pack is not imported"
        raise Refused(
            RefusalReason.UNKNOWN_LABEL,
            f"{draft.label!r} is not a label of {pack_id} {pack_version}, the pack"
            f" of case {case_id} (its labels: {known})",
        )
    check_details(
        draft.confidence, draft.rca_reason, draft.rca_note, draft.gap_kind, draft.gap_note
    )
    try:
        if not draft.citations:  # no section to look up: check the pack resolves, no more
            check_resolvable(db, pack_id, pack_version)
            return check_citations(label, (), _NO_SECTIONS)
        guideline = resolve_guideline(db, pack_id, pack_version, market)
    except GuidelineNotFound as exc:
        raise Refused(RefusalReason.UNKNOWN_SECTION, str(exc)) from exc
    return check_citations(label, draft.citations, guideline)


class _NoSections:
    """A guideline nobody cites from: what :func:`check_citations` gets for a draft without
    citations (it asks no section of it)."""

    market = ""

    def section(self, section_id: str) -> CitedSection | None:
        """No section."""
        return None


_NO_SECTIONS = _NoSections()


class Verdicts:
    """The verdicts room (``ws.verdicts``): record, undo, read the local reviewer's verdicts
    and every case's history and final verdict."""

    def __init__(self, db: sqlite_utils.Database, reviewer_id: Callable[[], str]) -> None:
        self._db = db
        self._reviewer_id = reviewer_id

    def check(self, case_id: str, draft: VerdictDraft) -> list[str]:
        """The warnings recording ``draft`` would give; :class:`Refused` if it would be refused."""
        return check_draft(self._db, case_id, draft)

    def record(
        self, case_id: str, draft: VerdictDraft, *, time_on_case_ms: int = 0
    ) -> VerdictEvent:
        """Record the local reviewer's verdict on a case now, under the domain rules.

        :class:`Refused` (nothing written) for an unknown case, a label not in the case's
        pack, an enforcing label without a supporting citation, or invalid details.
        """
        reviewer_id = self._reviewer_id()
        with transaction(self._db):
            check_draft(self._db, case_id, draft)
            return record_verdict(
                self._db,
                case_id=case_id,
                reviewer_id=reviewer_id,
                label=draft.label,
                citations=draft.citations,
                notes=draft.notes,
                time_on_case_ms=time_on_case_ms,
                confidence=draft.confidence,
                rca_reason=draft.rca_reason,
                rca_note=draft.rca_note,
                gap_kind=draft.gap_kind,
                gap_note=draft.gap_note,
            )

    def citation(self, case_id: str, section_id: str, quote: str = "") -> Citation:
        """A citation of ``section_id`` as the guideline in force for the case has it.

        :class:`Refused` for an unknown case or a section the case's guideline lacks.
        """
        case = load_case(self._db, case_id)
        if case is None:
            raise Refused(RefusalReason.UNKNOWN_CASE, f"there is no case {case_id!r}")
        try:
            guideline = resolve_guideline(self._db, case.pack_id, case.pack_version, case.market)
        except GuidelineNotFound as exc:
            raise Refused(RefusalReason.UNKNOWN_SECTION, str(exc)) from exc
        section = guideline.section(section_id)
        if section is None:
            raise Refused(
                RefusalReason.UNKNOWN_SECTION,
                f"section {section_id!r} is not in the guidelines in force for case {case_id}"
                f" ({case.pack_id} {case.pack_version}, market {case.market})",
            )
        return Citation(section.pack_id, section.pack_version, section.id, quote)

    def undo(self, case_id: str) -> VerdictEvent | None:
        """Undo the local reviewer's current verdict on a case (a superseding event)."""
        return undo_last_verdict(self._db, case_id=case_id, reviewer_id=self._reviewer_id())

    def mine(self, case_id: str) -> VerdictEvent | None:
        """The local reviewer's effective verdict on a case (None if undecided)."""
        event = effective_verdict(self._db, case_id, self._reviewer_id())
        return event if event is not None and event.label is not None else None

    def final(self, case_id: str) -> FinalVerdict | None:
        """The case's final verdict (arbiter's, the agreed SME verdict, or disputed/open)."""
        return final_verdict(self._db, case_id)

    def history(self, case_id: str) -> list[VerdictEvent]:
        """Every verdict event on a case (all reviewers), oldest first."""
        return case_history(self._db, case_id)

    def events(self) -> list[VerdictEvent]:
        """Every verdict event, oldest first."""
        return all_events(self._db)

    def reviewer_names(self) -> dict[str, str]:
        """Display names of every reviewer known here, by reviewer id."""
        return {r["id"]: r["display_name"] for r in self._db["reviewers"].rows}
