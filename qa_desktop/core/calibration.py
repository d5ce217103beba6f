"""Calibration sessions: blind votes on a set of cases, a reveal per case, the SME's ruling.

A session is made from selected cases, a saved queue view or a batch; the SME who creates
it is its arbiter. Everything is append-only: sessions, participants and case membership
are rows (``calibration_sessions``, ``calibration_participants``, ``calibration_cases``),
reveals and discussion notes are ``calibration_events``, votes are verdict events with the
session id and role ``participant``, the ruling a verdict event with role ``arbiter``::

    s = ws.calibration.create("DE weekly", cases=["c-1", "c-2"], participants=["Ana", "Bo"])
    ws.calibration.vote(s.id, "c-1", "Ana", "vh_remove")
    ws.calibration.case_state(s.id, "c-1").status_text    # "1 of 2 voted"
    ws.calibration.reveal(s.id, "c-1").revealed.distribution
    ws.calibration.rule(s.id, "c-1", VerdictDraft("vh_remove", citations=(...)))

Votes stay hidden until their case is revealed, in the data: before the reveal a case's
state says how many participants voted and who (in the session's participant order), never
what, in what order, or how many per label. A vote never counts as anyone's verdict (the
``effective_verdicts`` view leaves role ``participant`` out); the ruling becomes the case's
final verdict through ``final_verdicts``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from .clock import utc_now_iso
from .errors import Refused
from .guidelines import pack_labels
from .ids import new_event_id
from .queue import QueueFilter, queue_page, saved_views
from .store import transaction
from .verdicts import (
    MAX_NOTE_CHARS,
    Citation,
    VerdictDraft,
    VerdictEvent,
    check_draft,
    check_sizes,
    effective_verdict,
)
from .vocab import RefusalReason, Role

if TYPE_CHECKING:
    from .calibration_report import FiledGaps, SessionReport
    from .keys import Identity
    from .media_store import MediaStore

MODES = ("live", "async")
"""``live``: one room, one screen; ``async``: shipped to participants' laptops."""
MAX_SESSION_CASES = 500
"""Most cases one session may hold (a calibration looks at each case together)."""
MAX_PARTICIPANTS = 100
"""Most participants one session may have."""
MAX_NAME_CHARS = 200
"""Longest session or participant name, in characters."""


@dataclass(frozen=True)
class Participant:
    """Someone who votes in a session: a known reviewer (``known``: ``id`` is their
    reviewer id) or a name typed for a room (``id`` is made for the session)."""

    id: str
    name: str
    known: bool


@dataclass(frozen=True)
class Session:
    """A calibration session: what it looks at, who votes, and who rules."""

    id: str
    name: str
    market: str
    pack_id: str
    pack_version: str
    mode: str
    anonymous: bool
    """After a reveal, votes are shown without their voters' names."""
    arbiter_id: str
    source: str
    """Where the cases came from: ``cases``, ``view:<name>`` or ``batch:<id>``."""
    created_at: str
    participants: tuple[Participant, ...]
    case_ids: tuple[str, ...]


@dataclass(frozen=True)
class Vote:
    """One participant's vote on a revealed case."""

    voter: str
    """The participant's name, or ``Voter 1``, ``Voter 2``... in an anonymous session."""
    label: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True)
class Revealed:
    """What a reveal shows of a case's votes."""

    revealed_at: str
    distribution: tuple[tuple[str, int], ...]
    """(label, votes) for every label of the session's pack, in the pack's order."""
    votes: tuple[Vote, ...]
    """In participant order; in an anonymous session by label, then citations."""


@dataclass(frozen=True)
class Note:
    """A discussion note on a case of a session."""

    author_id: str
    text: str
    created_at: str


@dataclass(frozen=True)
class MediaReveal:
    """A case's media shown unblurred to the room: exposure for everyone in the session."""

    id: str
    session_id: str
    case_id: str
    author_id: str
    """Who showed it (the presenter, the session's arbiter on their laptop)."""
    participants: tuple[str, ...]
    """The session's participant ids when it was shown: each of them saw it."""
    created_at: str


@dataclass(frozen=True)
class CaseState:
    """Where one case of a session stands. Before the reveal it holds counts only."""

    session_id: str
    case_id: str
    position: int
    voted: int
    participants: int
    voters: tuple[str, ...]
    """Who has voted (names, in the session's participant order), not what."""
    revealed: Revealed | None
    """None until the case is revealed."""
    ruling: VerdictEvent | None
    notes: tuple[Note, ...]

    @property
    def status_text(self) -> str:
        """``2 of 3 voted`` before the reveal; the distribution after; the ruling at last."""
        text = f"{self.voted} of {self.participants} voted"
        if self.revealed is not None:
            counts = ", ".join(f"{label} {n}" for label, n in self.revealed.distribution if n)
            text += f"; revealed: {counts or 'no votes'}"
        if self.ruling is not None:
            text += f"; ruled {self.ruling.label}"
        return text


def _refuse(reason: RefusalReason, message: str) -> Refused:
    return Refused(reason, message)


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name:
        raise _refuse(RefusalReason.EMPTY, f"a {what} needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise _refuse(
            RefusalReason.TOO_LARGE,
            f"the {what} name has {len(name)} characters; at most {MAX_NAME_CHARS}",
        )
    return name


def _selected_cases(
    db: sqlite_utils.Database,
    reviewer_id: str,
    cases: Sequence[str],
    view: str | None,
    batch_id: str | None,
) -> tuple[list[str], str]:
    """The case ids a new session looks at, in order, and where they came from."""
    given = [bool(cases), view is not None, batch_id is not None]
    if sum(given) != 1:
        raise ValueError("name the session's cases one way: cases, a saved view or a batch")
    if cases:
        ids = list(dict.fromkeys(c.strip() for c in cases if c.strip()))
        known = {
            row[0]
            for row in db.execute(
                "SELECT id FROM cases WHERE id IN (SELECT value FROM json_each(?))",
                [_json_list(ids)],
            )
        }
        missing = [c for c in ids if c not in known]
        if missing:
            raise _refuse(
                RefusalReason.UNKNOWN_CASE, f"there is no case {', '.join(map(repr, missing))}"
            )
        return ids, "cases"
    if view is not None:
        views = dict(saved_views(db))
        if view not in views:
            raise _refuse(
                RefusalReason.UNKNOWN_VIEW,
                f"there is no saved view {view!r} (saved: {', '.join(views) or 'none'})",
            )
        rows = queue_page(db, reviewer_id, filter=views[view], limit=MAX_SESSION_CASES + 1)
        return [r.id for r in rows], f"view:{view}"
    assert batch_id is not None
    if db.execute("SELECT 1 FROM batches WHERE id = ?", [batch_id]).fetchone() is None:
        raise _refuse(RefusalReason.UNKNOWN_BATCH, f"there is no batch {batch_id!r}")
    rows = queue_page(
        db, reviewer_id, filter=QueueFilter(batch_id=batch_id), limit=MAX_SESSION_CASES + 1
    )
    return [r.id for r in rows], f"batch:{batch_id}"


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))


def _known_reviewers(db: sqlite_utils.Database) -> dict[str, list[str]]:
    """Display name (casefolded) -> the reviewer ids known here under that name."""
    found: dict[str, set[str]] = {}
    for rid, name in db.execute(
        "SELECT id, display_name FROM reviewers"
        " UNION SELECT reviewer_id, signer_name FROM trusted_keys"
        " WHERE reviewer_id IS NOT NULL AND revoked_at IS NULL"
    ):
        found.setdefault(name.casefold(), set()).add(rid)
        found.setdefault(rid.casefold(), set()).add(rid)
    return {name: sorted(ids) for name, ids in found.items()}


def _participants(db: sqlite_utils.Database, names: Sequence[str]) -> list[Participant]:
    """Participants for names typed or known: a known reviewer's name (or id) votes under
    their reviewer id; any other name is a participant of this room only."""
    if len(names) > MAX_PARTICIPANTS:
        raise _refuse(
            RefusalReason.TOO_LARGE,
            f"{len(names)} participants; a session may have at most {MAX_PARTICIPANTS}",
        )
    known = _known_reviewers(db)
    result: list[Participant] = []
    seen: set[str] = set()
    for raw in names:
        name = _check_name(raw, "participant")
        ids = known.get(name.casefold(), [])
        if len(ids) > 1:
            raise _refuse(
                RefusalReason.DUPLICATE_NAME,
                f"{name!r} names {len(ids)} known reviewers ({', '.join(ids)}); give the"
                " reviewer id instead",
            )
        participant = (
            Participant(ids[0], _display_name(db, ids[0]) or name, True)
            if ids
            else Participant(new_event_id(), name, False)
        )
        if participant.id in seen or participant.name.casefold() in seen:
            raise _refuse(RefusalReason.DUPLICATE_NAME, f"participant {name!r} is named twice")
        seen.update((participant.id, participant.name.casefold()))
        result.append(participant)
    if not result:
        raise _refuse(RefusalReason.EMPTY, "a calibration session needs participants")
    return result


def _display_name(db: sqlite_utils.Database, reviewer_id: str) -> str | None:
    row = db.execute(
        "SELECT display_name FROM reviewers WHERE id = ?"
        " UNION ALL SELECT signer_name FROM trusted_keys WHERE reviewer_id = ?",
        [reviewer_id, reviewer_id],
    ).fetchone()
    return str(row[0]) if row else None


def create_session(
    db: sqlite_utils.Database,
    arbiter_id: str,
    name: str,
    *,
    cases: Sequence[str] = (),
    view: str | None = None,
    batch_id: str | None = None,
    participants: Sequence[str] = (),
    mode: str = "live",
    anonymous: bool = False,
    market: str | None = None,
    local: bool = False,
) -> Session:
    """Create a session of the cases named one way (ids, a saved view or a batch).

    A ``local`` session stays on this laptop: its votes and rulings are never exported in a
    bundle (the demo's, whose rulings a reviewer's key may not sign for a lead).

    Its pack is the cases' pack (they must share one, and it must be imported); its
    market is ``market``, else the cases' market(s). :class:`Refused` (nothing written) for
    a name already used, unknown cases, views or batches, no cases or too many, no
    participants or a name given twice, cases of several packs or a pack not imported.
    """
    name = _check_name(name, "calibration session")
    if mode not in MODES:
        raise ValueError(f"mode must be live or async, not {mode!r}")
    with transaction(db):
        if db.execute("SELECT 1 FROM calibration_sessions WHERE name = ?", [name]).fetchone():
            raise _refuse(
                RefusalReason.DUPLICATE_NAME, f"there is already a calibration session {name!r}"
            )
        case_ids, source = _selected_cases(db, arbiter_id, cases, view, batch_id)
        if not case_ids:
            raise _refuse(RefusalReason.EMPTY, f"no cases to calibrate ({source})")
        if len(case_ids) > MAX_SESSION_CASES:
            raise _refuse(
                RefusalReason.TOO_LARGE,
                f"more than {MAX_SESSION_CASES} cases ({source}); a session may hold at most"
                f" {MAX_SESSION_CASES}",
            )
        rows = db.execute(
            "SELECT DISTINCT b.pack_id, b.pack_version FROM cases c"
            " JOIN batches b ON b.id = c.batch_id WHERE c.id IN (SELECT value FROM json_each(?))",
            [_json_list(case_ids)],
        ).fetchall()
        if len(rows) != 1:
            packs = ", ".join(f"{p} {v}" for p, v in rows)
            raise _refuse(
                RefusalReason.MIXED_PACKS,
                f"the cases come under {len(rows)} guideline packs ({packs}); a session's"
                " votes are on one pack's labels",
            )
        pack_id, pack_version = rows[0]
        if not pack_labels(db, pack_id, pack_version):
            raise _refuse(
                RefusalReason.UNKNOWN_LABEL,
                f"the cases' guideline pack {pack_id} {pack_version} is not imported",
            )
        people = _participants(db, participants)
        if market is None:
            markets = sorted(
                r[0]
                for r in db.execute(
                    "SELECT DISTINCT market FROM cases"
                    " WHERE id IN (SELECT value FROM json_each(?))",
                    [_json_list(case_ids)],
                )
            )
            market = ",".join(markets)
        session = Session(
            id=new_event_id(),
            name=name,
            market=market,
            pack_id=pack_id,
            pack_version=pack_version,
            mode=mode,
            anonymous=anonymous,
            arbiter_id=arbiter_id,
            source=source,
            created_at=utc_now_iso(),
            participants=tuple(people),
            case_ids=tuple(case_ids),
        )
        db.table("calibration_sessions").insert(
            {
                "id": session.id,
                "name": name,
                "market": market,
                "pack_id": pack_id,
                "pack_version": pack_version,
                "mode": mode,
                "anonymous": int(anonymous),
                "arbiter_id": arbiter_id,
                "source": source,
                "created_at": session.created_at,
            }
        )
        if local:
            db.execute(
                "INSERT INTO local_sessions (session_id, created_at) VALUES (?, ?)",
                [session.id, session.created_at],
            )
        db.table("calibration_participants").insert_all(
            {
                "session_id": session.id,
                "id": p.id,
                "display_name": p.name,
                "known": int(p.known),
                "position": i,
            }
            for i, p in enumerate(people)
        )
        db.table("calibration_cases").insert_all(
            {"session_id": session.id, "case_id": c, "position": i} for i, c in enumerate(case_ids)
        )
        attach_pending(db, session.id)
    return session


def load_session(db: sqlite_utils.Database, session: str) -> Session:
    """The session with that id or name; :class:`Refused` (``unknown-session``) if none."""
    rows = list(
        db.query("SELECT * FROM calibration_sessions WHERE id = ? OR name = ?", [session] * 2)
    )
    if not rows:
        raise _refuse(RefusalReason.UNKNOWN_SESSION, f"there is no calibration session {session!r}")
    r = rows[0]
    people = tuple(
        Participant(p["id"], p["display_name"], bool(p["known"]))
        for p in db.query(
            "SELECT * FROM calibration_participants WHERE session_id = ? ORDER BY position",
            [r["id"]],
        )
    )
    case_ids = tuple(
        row[0]
        for row in db.execute(
            "SELECT case_id FROM calibration_cases WHERE session_id = ? ORDER BY position",
            [r["id"]],
        )
    )
    return Session(
        id=r["id"],
        name=r["name"],
        market=r["market"],
        pack_id=r["pack_id"],
        pack_version=r["pack_version"],
        mode=r["mode"],
        anonymous=bool(r["anonymous"]),
        arbiter_id=r["arbiter_id"],
        source=r["source"],
        created_at=r["created_at"],
        participants=people,
        case_ids=case_ids,
    )


_CURRENT_VOTE = (
    " FROM verdicts v WHERE v.session_id = ? AND v.case_id = ?"
    " AND v.role = 'participant' AND v.label IS NOT NULL AND NOT EXISTS ("
    "  SELECT 1 FROM verdicts s WHERE s.supersedes = v.id"
    "  AND s.reviewer_id = v.reviewer_id AND s.session_id = v.session_id)"
)
"""The participants' current votes on a case (each one's newest that none of
theirs supersedes): every read of the votes starts here."""


def _effective_votes(
    db: sqlite_utils.Database, session_id: str, case_id: str
) -> dict[str, VerdictEvent]:
    """Each participant's current vote on the case (newest that none of theirs supersedes)."""
    votes: dict[str, VerdictEvent] = {}
    rows = db.query(f"SELECT v.*{_CURRENT_VOTE} ORDER BY v.created_at, v.id", [session_id, case_id])
    for row in rows:
        votes[row["reviewer_id"]] = VerdictEvent.from_row(row)
    return votes


def _voter_ids(db: sqlite_utils.Database, session_id: str, case_id: str) -> set[str]:
    """Who has a current vote on the case: ids only, no vote decoded (before the reveal
    nothing else is shown, and this runs after every vote the room sends)."""
    rows = db.execute(f"SELECT DISTINCT v.reviewer_id{_CURRENT_VOTE}", [session_id, case_id])
    return {row[0] for row in rows}


def _current_vote_id(
    db: sqlite_utils.Database, session_id: str, case_id: str, reviewer_id: str
) -> str | None:
    """The id of the participant's current vote on the case (the one a new vote supersedes),
    the same one :func:`_effective_votes` keeps for them."""
    row = db.execute(
        f"SELECT v.id{_CURRENT_VOTE} AND v.reviewer_id = ?"
        " ORDER BY v.created_at DESC, v.id DESC LIMIT 1",
        [session_id, case_id, reviewer_id],
    ).fetchone()
    return str(row[0]) if row else None


def _ruling(db: sqlite_utils.Database, session_id: str, case_id: str) -> VerdictEvent | None:
    row = list(
        db.query(
            "SELECT * FROM verdicts WHERE session_id = ? AND case_id = ? AND role = 'arbiter'"
            " AND label IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1",
            [session_id, case_id],
        )
    )
    return VerdictEvent.from_row(row[0]) if row else None


def _revealed_at(db: sqlite_utils.Database, session_id: str, case_id: str) -> str | None:
    row = db.execute(
        "SELECT MIN(created_at) FROM calibration_events"
        " WHERE session_id = ? AND case_id = ? AND kind = 'reveal'",
        [session_id, case_id],
    ).fetchone()
    return row[0] if row and row[0] else None


def _position(session: Session, case_id: str) -> int:
    if case_id not in session.case_ids:
        raise _refuse(
            RefusalReason.NOT_IN_SESSION,
            f"case {case_id!r} is not in calibration session {session.name!r}",
        )
    return session.case_ids.index(case_id)


def case_state(db: sqlite_utils.Database, session: Session, case_id: str) -> CaseState:
    """Where a case of the session stands; votes only once it is revealed."""
    position = _position(session, case_id)
    revealed_at = _revealed_at(db, session.id, case_id)
    revealed = None
    if revealed_at is None:  # counts only: who voted, nothing decoded
        voter_ids = _voter_ids(db, session.id, case_id)
        members = [p for p in session.participants if p.id in voter_ids]
    else:
        votes = _effective_votes(db, session.id, case_id)
        members = [p for p in session.participants if p.id in votes]
        counts = {label.id: 0 for label in pack_labels(db, session.pack_id, session.pack_version)}
        for p in members:
            label = votes[p.id].label
            if label is not None:
                counts[label] = counts.get(label, 0) + 1
        shown = [(p.name, votes[p.id]) for p in members]
        if session.anonymous:
            shown.sort(key=lambda nv: (nv[1].label or "", [c.section_id for c in nv[1].citations]))
            shown = [(f"Voter {i}", v) for i, (_, v) in enumerate(shown, 1)]
        revealed = Revealed(
            revealed_at,
            tuple(counts.items()),
            tuple(Vote(name, v.label or "", v.citations) for name, v in shown),
        )
    notes = tuple(
        Note(r["author_id"], r["text"], r["created_at"])
        for r in db.query(
            "SELECT * FROM calibration_events WHERE session_id = ? AND case_id = ?"
            " AND kind = 'note' ORDER BY created_at, id",
            [session.id, case_id],
        )
    )
    return CaseState(
        session_id=session.id,
        case_id=case_id,
        position=position,
        voted=len(members),
        participants=len(session.participants),
        voters=tuple(p.name for p in members),
        revealed=revealed,
        ruling=_ruling(db, session.id, case_id),
        notes=notes,
    )


def _participant(session: Session, who: str) -> Participant:
    for p in session.participants:
        if who == p.id or who.strip().casefold() == p.name.casefold():
            return p
    raise _refuse(
        RefusalReason.NOT_A_PARTICIPANT,
        f"{who!r} is not a participant of calibration session {session.name!r}"
        f" ({', '.join(p.name for p in session.participants)})",
    )


def cast_vote(
    db: sqlite_utils.Database,
    session: Session,
    case_id: str,
    who: str,
    label: str,
    citations: Sequence[Citation] = (),
) -> CaseState:
    """Record (or change, until the reveal) a participant's vote; the case's state after.

    :class:`Refused`, nothing written: a case not in the session, someone not in it (in
    an async session: anyone but the local reviewer), a case already ruled or revealed, a
    label outside the session's pack, oversize citations.
    """
    with transaction(db):
        _position(session, case_id)
        participant = _participant(session, who)
        if session.mode == "async" and participant.id != _local_reviewer(db):
            # An async vote comes signed from the voter's own app; one entered for them
            # here would be nobody's signed vote.
            raise _refuse(
                RefusalReason.NOT_A_PARTICIPANT,
                f"{participant.name} votes in async session {session.name!r} on their own"
                " app; here only you vote (as yourself)",
            )
        if _ruling(db, session.id, case_id) is not None:
            raise _refuse(
                RefusalReason.ALREADY_RULED,
                f"case {case_id} of session {session.name!r} is already ruled; votes are closed",
            )
        if _revealed_at(db, session.id, case_id) is not None:
            raise _refuse(
                RefusalReason.ALREADY_REVEALED,
                f"case {case_id} of session {session.name!r} is revealed; votes are closed",
            )
        labels = [lab.id for lab in pack_labels(db, session.pack_id, session.pack_version)]
        if label not in labels:
            raise _refuse(
                RefusalReason.UNKNOWN_LABEL,
                f"{label!r} is not a label of {session.pack_id} {session.pack_version}, the"
                f" session's pack (its labels: {', '.join(labels)})",
            )
        check_sizes(VerdictDraft(label, tuple(citations)))
        previous = _current_vote_id(db, session.id, case_id, participant.id)
        event = VerdictEvent(
            id=new_event_id(),
            case_id=case_id,
            reviewer_id=participant.id,
            label=label,
            citations=tuple(citations),
            created_at=utc_now_iso(),
            supersedes=previous,
            role=Role.PARTICIPANT.value,
            session_id=session.id,
        )
        db.table("verdicts").insert(event.to_row())
    return case_state(db, session, case_id)


def add_event(
    db: sqlite_utils.Database,
    session: Session,
    case_id: str,
    kind: str,
    author_id: str,
    text: str = "",
) -> CaseState:
    """Append a reveal or a discussion note to a case of the session; its state after.

    A case is revealed once: revealing it again changes nothing.
    """
    if kind == "note":
        text = text.strip()
        if not text:
            raise _refuse(RefusalReason.EMPTY, "a discussion note needs text")
        if len(text) > MAX_NOTE_CHARS:
            raise _refuse(
                RefusalReason.TOO_LARGE,
                f"the note has {len(text):,} characters; at most {MAX_NOTE_CHARS:,}",
            )
    with transaction(db):
        _position(session, case_id)
        if kind != "reveal" or _revealed_at(db, session.id, case_id) is None:
            db.table("calibration_events").insert(
                {
                    "id": new_event_id(),
                    "session_id": session.id,
                    "case_id": case_id,
                    "kind": kind,
                    "author_id": author_id,
                    "text": text,
                    "created_at": utc_now_iso(),
                }
            )
    return case_state(db, session, case_id)


def reveal_media(
    db: sqlite_utils.Database, session: Session, case_id: str, author_id: str
) -> MediaReveal:
    """Record that a case's media were shown unblurred to the room, naming every
    participant of the session (each one's exposure). Every showing is its own record."""
    with transaction(db):
        _position(session, case_id)
        reveal = MediaReveal(
            id=new_event_id(),
            session_id=session.id,
            case_id=case_id,
            author_id=author_id,
            participants=tuple(p.id for p in session.participants),
            created_at=utc_now_iso(),
        )
        db.table("calibration_media_reveals").insert(
            {
                "id": reveal.id,
                "session_id": reveal.session_id,
                "case_id": reveal.case_id,
                "author_id": reveal.author_id,
                "participants": _json_list(reveal.participants),
                "created_at": reveal.created_at,
            }
        )
    return reveal


def media_reveals(db: sqlite_utils.Database, session: Session) -> list[MediaReveal]:
    """Every showing of media to the session's room, oldest first."""
    return [
        MediaReveal(
            id=r["id"],
            session_id=r["session_id"],
            case_id=r["case_id"],
            author_id=r["author_id"],
            participants=tuple(json.loads(r["participants"])),
            created_at=r["created_at"],
        )
        for r in db.query(
            "SELECT * FROM calibration_media_reveals WHERE session_id = ? ORDER BY created_at, id",
            [session.id],
        )
    ]


def rule_case(
    db: sqlite_utils.Database,
    session: Session,
    case_id: str,
    arbiter_id: str,
    draft: VerdictDraft,
) -> tuple[VerdictEvent, list[str]]:
    """Record the arbiter's ruling on a revealed case, under the verdict rules; the event
    and the citation warnings. A later ruling supersedes an earlier one.

    :class:`Refused`, nothing written: not the session's arbiter, a case not in the session
    or not yet revealed, and whatever :func:`~.verdicts.check_draft` refuses.
    """
    with transaction(db):
        _position(session, case_id)
        if arbiter_id != session.arbiter_id:
            arbiter = _display_name(db, session.arbiter_id) or session.arbiter_id
            raise _refuse(
                RefusalReason.NOT_ARBITER,
                f"only the session's arbiter ({arbiter}) rules in {session.name!r}",
            )
        if _revealed_at(db, session.id, case_id) is None:
            raise _refuse(
                RefusalReason.NOT_REVEALED,
                f"case {case_id} of session {session.name!r} is not revealed yet: reveal the"
                " votes before ruling",
            )
        warnings = check_draft(db, case_id, draft)
        current = effective_verdict(db, case_id, arbiter_id)
        event = VerdictEvent(
            id=new_event_id(),
            case_id=case_id,
            reviewer_id=arbiter_id,
            label=draft.label,
            citations=tuple(draft.citations),
            notes=draft.notes,
            created_at=utc_now_iso(),
            supersedes=current.id if current else None,
            role=Role.ARBITER.value,
            session_id=session.id,
            confidence=draft.confidence,
            rca_reason=draft.rca_reason,
            rca_note=draft.rca_note.strip(),
            gap_kind=draft.gap_kind,
            gap_note=draft.gap_note.strip(),
        )
        db.table("verdicts").insert(event.to_row())
    return event, warnings


class Calibration:
    """The calibration room (``ws.calibration``): create sessions, vote, reveal, note, rule.

    The local reviewer is the arbiter of the sessions they create and the author of
    reveals and notes.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        reviewer_id: Callable[[], str],
        media: MediaStore | None = None,
    ) -> None:
        self._db = db
        self._reviewer_id = reviewer_id
        self._media = media

    def create(
        self,
        name: str,
        *,
        cases: Sequence[str] = (),
        view: str | None = None,
        batch_id: str | None = None,
        participants: Sequence[str] = (),
        mode: str = "live",
        anonymous: bool = False,
        market: str | None = None,
        local: bool = False,
    ) -> Session:
        """A new session with the local reviewer as arbiter (see :func:`create_session`;
        ``local``: its votes and rulings never leave this laptop)."""
        return create_session(
            self._db,
            self._reviewer_id(),
            name,
            cases=cases,
            view=view,
            batch_id=batch_id,
            participants=participants,
            mode=mode,
            anonymous=anonymous,
            market=market,
            local=local,
        )

    def sessions(self) -> list[Session]:
        """Every session, oldest first."""
        ids = [
            r[0]
            for r in self._db.execute("SELECT id FROM calibration_sessions ORDER BY created_at, id")
        ]
        return [load_session(self._db, i) for i in ids]

    def session(self, session: str) -> Session:
        """The session with that id or name (``unknown-session`` if none)."""
        return load_session(self._db, session)

    def case_state(self, session: str, case_id: str) -> CaseState:
        """Where a case of the session stands (counts only before its reveal)."""
        return case_state(self._db, load_session(self._db, session), case_id)

    def states(self, session: str) -> list[CaseState]:
        """Every case of the session, in the session's order."""
        found = load_session(self._db, session)
        return [case_state(self._db, found, c) for c in found.case_ids]

    def vote(
        self,
        session: str,
        case_id: str,
        participant: str,
        label: str,
        citations: Sequence[Citation] = (),
    ) -> CaseState:
        """Record a participant's (id or name) vote; the case's state after (counts only)."""
        return cast_vote(
            self._db, load_session(self._db, session), case_id, participant, label, citations
        )

    def reveal(self, session: str, case_id: str) -> CaseState:
        """Reveal a case's votes to the session (once); its state with the votes."""
        found = load_session(self._db, session)
        return add_event(self._db, found, case_id, "reveal", self._reviewer_id())

    def note(self, session: str, case_id: str, text: str) -> CaseState:
        """Add a discussion note to a case of the session."""
        found = load_session(self._db, session)
        return add_event(self._db, found, case_id, "note", self._reviewer_id(), text)

    def rule(
        self, session: str, case_id: str, draft: VerdictDraft
    ) -> tuple[VerdictEvent, list[str]]:
        """The local reviewer rules a revealed case as the session's arbiter (see
        :func:`rule_case`); the ruling becomes the case's final verdict."""
        found = load_session(self._db, session)
        return rule_case(self._db, found, case_id, self._reviewer_id(), draft)

    def reveal_media_to_room(self, session: str, case_id: str) -> MediaReveal:
        """Record that the local reviewer showed a case's media unblurred to the session's
        room: exposure for every participant (named in the record). The local reviewer's
        own unblurred time is a span in ``ws.wellbeing``, recorded when the showing ends."""
        found = load_session(self._db, session)
        return reveal_media(self._db, found, case_id, self._reviewer_id())

    def media_reveals(self, session: str) -> list[MediaReveal]:
        """Every showing of media to the session's room, oldest first."""
        return media_reveals(self._db, load_session(self._db, session))

    # -- the session report (core/calibration_report.py) -----------------------------------
    def report(self, session: str, *, resamples: int = 1000, seed: int = 0) -> SessionReport:
        """The session's report: per case votes, majority, ruling and time; the agreement
        figures over revealed cases; the low-agreement cases flagged."""
        from .calibration_report import session_report

        return session_report(self._db, session, resamples=resamples, seed=seed)

    def file_policy_gaps(self, session: str) -> FiledGaps:
        """File the session's low-agreement ruled cases as policy-gap findings, as its
        arbiter (the local reviewer); filing twice files once."""
        from .calibration_report import file_policy_gaps

        return file_policy_gaps(self._db, session, self._reviewer_id())

    def write_report(
        self,
        report: SessionReport,
        path: Path,
        fmt: str = "xlsx",
        cancelled: Callable[[], bool] | None = None,
    ) -> list[Path]:
        """Write ``report`` as ``xlsx`` (one file at ``path``) or ``csv`` (a file a table in
        the folder ``path``); the files written."""
        from .calibration_report import write_session_csv, write_session_xlsx

        if fmt == "xlsx":
            return [write_session_xlsx(report, path, cancelled)]
        if fmt == "csv":
            return write_session_csv(report, path, cancelled)
        raise ValueError(f"format must be xlsx or csv, not {fmt!r}")

    def ship(
        self,
        session: str,
        identity: Identity,
        out_dir: Path,
        *,
        expires: datetime | None = None,
    ) -> Path:
        """Ship an async session to its participants: a case batch of its cases with the
        session inside, signed with the lead's key into ``out_dir``; the .zip's path.

        Participants import it like any signed batch (they must trust the lead's key as a
        ``lead``). :class:`Refused`: not async, not the arbiter, a participant without a
        trusted key, cases from several batches. ValueError: too big to sign.
        """
        from .batches.shipping import session_batch_files
        from .bundles import sign_case_batch_files

        if self._media is None:
            raise RuntimeError("this calibration room has no media store to ship from")
        found = load_session(self._db, session)
        meta = ship_session(self._db, found, self._reviewer_id())
        files = session_batch_files(self._db, self._media, found.case_ids, meta)
        return sign_case_batch_files(identity, files, out_dir, db=self._db, expires=expires)

    def kept_aside(self) -> int:
        """How many signed votes wait for a session that is not here yet."""
        row = self._db.execute("SELECT COUNT(*) FROM calibration_pending_votes").fetchone()
        return int(row[0])


# -- async sessions: shipped in a case batch, votes in signed bundles ------------------------

SESSION_FORMAT = "qa-desktop-calibration-session"
"""The ``format`` of a shipped session's metadata (``calibration-session.json``)."""
_SESSION_FIELDS = frozenset(
    (
        "format",
        "version",
        "id",
        "name",
        "market",
        "pack_id",
        "pack_version",
        "mode",
        "anonymous",
        "arbiter_id",
        "source",
        "created_at",
        "participants",
        "case_ids",
    )
)


def session_json(db: sqlite_utils.Database, session: Session) -> dict[str, object]:
    """A session's metadata as a shipped batch carries it: participants with their
    reviewer ids and the key id each signs with (None for a name typed for a room)."""
    people = []
    for p in session.participants:
        row = db.execute(
            "SELECT key_id FROM trusted_keys WHERE reviewer_id = ? AND revoked_at IS NULL"
            " ORDER BY added_at DESC LIMIT 1",
            [p.id],
        ).fetchone()
        people.append({"id": p.id, "name": p.name, "key_id": row[0] if row else None})
    return {
        "format": SESSION_FORMAT,
        "version": 1,
        "id": session.id,
        "name": session.name,
        "market": session.market,
        "pack_id": session.pack_id,
        "pack_version": session.pack_version,
        "mode": session.mode,
        "anonymous": session.anonymous,
        "arbiter_id": session.arbiter_id,
        "source": session.source,
        "created_at": session.created_at,
        "participants": people,
        "case_ids": list(session.case_ids),
    }


def session_from_json(data: object, where: str) -> Session:
    """The :class:`Session` a shipped batch describes; ValueError naming ``where`` and the
    problem for anything else."""
    if not isinstance(data, dict) or set(data) != _SESSION_FIELDS:
        raise ValueError(f"{where}: not a calibration session with exactly its fields")
    if data["format"] != SESSION_FORMAT or data["version"] != 1:
        raise ValueError(f"{where}: not a version 1 {SESSION_FORMAT}")
    texts = ("id", "name", "market", "pack_id", "pack_version", "arbiter_id", "source")
    bad = [k for k in (*texts, "created_at", "mode") if not isinstance(data[k], str)]
    bad += [k for k in texts if isinstance(data[k], str) and not data[k].strip()]
    if bad:
        raise ValueError(f"{where}: {', '.join(sorted(set(bad)))} must be non-empty text")
    if data["mode"] != "async" or not isinstance(data["anonymous"], bool):
        raise ValueError(f"{where}: a shipped session is async, with anonymous true or false")
    people = data["participants"]
    if (
        not isinstance(people, list)
        or not 0 < len(people) <= MAX_PARTICIPANTS
        or not all(
            isinstance(p, dict)
            and set(p) == {"id", "name", "key_id"}
            and isinstance(p["id"], str)
            and p["id"]
            and isinstance(p["name"], str)
            and 0 < len(p["name"].strip()) <= MAX_NAME_CHARS
            and (p["key_id"] is None or isinstance(p["key_id"], str))
            for p in people
        )
        or len({p["id"] for p in people}) != len(people)
    ):
        raise ValueError(f"{where}: participants must be 1..{MAX_PARTICIPANTS} distinct people")
    case_ids = data["case_ids"]
    if (
        not isinstance(case_ids, list)
        or not 0 < len(case_ids) <= MAX_SESSION_CASES
        or not all(isinstance(c, str) and c for c in case_ids)
        or len(set(case_ids)) != len(case_ids)
    ):
        raise ValueError(f"{where}: case_ids must be 1..{MAX_SESSION_CASES} distinct case ids")
    return Session(
        id=data["id"],
        name=data["name"],
        market=data["market"],
        pack_id=data["pack_id"],
        pack_version=data["pack_version"],
        mode="async",
        anonymous=data["anonymous"],
        arbiter_id=data["arbiter_id"],
        source=data["source"],
        created_at=data["created_at"],
        participants=tuple(Participant(p["id"], p["name"], True) for p in people),
        case_ids=tuple(case_ids),
    )


def receive_session(
    db: sqlite_utils.Database, session: Session, signer_reviewer_id: str | None
) -> list[tuple[str, str, str]]:
    """Store a shipped async session (inside the caller's transaction), once: a session
    already here is left as it is. Then attach the votes kept aside for it; returns the
    votes refused meanwhile (event id, reason, message).

    :class:`Refused`: the batch's signer is not the session's arbiter (``not-arbiter``),
    another session has its name (``duplicate-name``), a case is missing
    (``unknown-case``), the pack is not imported (``unknown-label``).
    """
    if signer_reviewer_id != session.arbiter_id:
        raise _refuse(
            RefusalReason.NOT_ARBITER,
            f"calibration session {session.name!r} names {session.arbiter_id} as its arbiter,"
            f" but the batch is signed by {signer_reviewer_id or 'a key bound to nobody'}",
        )
    with transaction(db):
        known = db.execute(
            "SELECT id FROM calibration_sessions WHERE id = ? OR name = ?",
            [session.id, session.name],
        ).fetchall()
        if any(row[0] == session.id for row in known):
            return attach_pending(db, session.id)
        if known:
            raise _refuse(
                RefusalReason.DUPLICATE_NAME,
                f"there is already another calibration session {session.name!r}",
            )
        missing = [
            c
            for c in session.case_ids
            if db.execute("SELECT 1 FROM cases WHERE id = ?", [c]).fetchone() is None
        ]
        if missing:
            raise _refuse(
                RefusalReason.UNKNOWN_CASE,
                f"calibration session {session.name!r} names cases not in the batch:"
                f" {', '.join(missing[:5])}",
            )
        if not pack_labels(db, session.pack_id, session.pack_version):
            raise _refuse(
                RefusalReason.UNKNOWN_LABEL,
                f"the session's guideline pack {session.pack_id} {session.pack_version} is not"
                " imported: import it first",
            )
        db.table("calibration_sessions").insert(
            {
                "id": session.id,
                "name": session.name,
                "market": session.market,
                "pack_id": session.pack_id,
                "pack_version": session.pack_version,
                "mode": session.mode,
                "anonymous": int(session.anonymous),
                "arbiter_id": session.arbiter_id,
                "source": session.source,
                "created_at": session.created_at,
            }
        )
        db.table("calibration_participants").insert_all(
            {
                "session_id": session.id,
                "id": p.id,
                "display_name": p.name,
                "known": 1,
                "position": i,
            }
            for i, p in enumerate(session.participants)
        )
        db.table("calibration_cases").insert_all(
            {"session_id": session.id, "case_id": c, "position": i}
            for i, c in enumerate(session.case_ids)
        )
        return attach_pending(db, session.id)


def _local_reviewer(db: sqlite_utils.Database) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = 'local_reviewer'").fetchone()
    return str(row[0]) if row else None


def sees_votes(db: sqlite_utils.Database, session: Session) -> bool:
    """True where others' votes may be attached: not on a participant's own app (votes
    are blind there), only the arbiter's (or an observer's)."""
    local = _local_reviewer(db)
    return local == session.arbiter_id or all(p.id != local for p in session.participants)


def vote_problem(
    db: sqlite_utils.Database, session: Session, vote: VerdictEvent
) -> tuple[str, str] | None:
    """Why a signed vote cannot join the session here, as (reason code, message), or None.

    A case not in the session, a voter who is not a participant, a case already ruled, a
    label outside the session's pack. (A vote that arrives after the case's reveal is
    attached: it was cast before the participant could know the others'.)
    """
    where = f"vote {vote.id} in calibration session {session.name!r}"
    if vote.case_id not in session.case_ids:
        return RefusalReason.NOT_IN_SESSION, f"{where}: case {vote.case_id!r} is not in it"
    if all(p.id != vote.reviewer_id for p in session.participants):
        return (
            RefusalReason.NOT_A_PARTICIPANT,
            f"{where}: reviewer {vote.reviewer_id} is not a participant",
        )
    if _ruling(db, session.id, vote.case_id) is not None:
        return RefusalReason.ALREADY_RULED, f"{where}: case {vote.case_id} is already ruled"
    labels = [lab.id for lab in pack_labels(db, session.pack_id, session.pack_version)]
    if vote.label not in labels:
        return (
            RefusalReason.UNKNOWN_LABEL,
            f"{where}: {vote.label!r} is not a label of {session.pack_id} {session.pack_version}",
        )
    return None


VoteCheck = tuple[str, tuple[str, str] | None]
"""Where a signed vote goes: ``("new", None)``, ``("aside", None)``, ``("unseen", None)``
or ``("refused", (reason, message))``."""


def place_vote(
    db: sqlite_utils.Database, vote: VerdictEvent, sessions: dict[str, Session | None]
) -> VoteCheck:
    """Where a signed vote not yet here goes (``sessions`` caches sessions by id): kept
    aside for a session not here, unseen on a participant's own app, refused with the
    session's reason, or new."""
    session_id = vote.session_id or ""
    if session_id not in sessions:
        try:
            sessions[session_id] = load_session(db, session_id)
        except Refused:
            sessions[session_id] = None
    session = sessions[session_id]
    if session is None:
        return "aside", None
    if not sees_votes(db, session):
        return "unseen", None
    problem = vote_problem(db, session, vote)
    return ("refused", problem) if problem is not None else ("new", None)


def keep_aside(db: sqlite_utils.Database, vote: VerdictEvent, line: bytes, bundle_id: str) -> None:
    """Keep a signed vote (its exact line) until its session arrives (caller's transaction)."""
    db.table("calibration_pending_votes").insert(
        {
            "event_id": vote.id,
            "session_id": vote.session_id,
            "reviewer_id": vote.reviewer_id,
            "line": line.decode(),
            "bundle_id": bundle_id,
            "received_at": utc_now_iso(),
        }
    )


def pending_line(db: sqlite_utils.Database, event_id: str) -> bytes | None:
    """The exact line of a vote kept aside, if it is."""
    row = db.execute(
        "SELECT line FROM calibration_pending_votes WHERE event_id = ?", [event_id]
    ).fetchone()
    return row[0].encode() if row else None


def attach_pending(db: sqlite_utils.Database, session_id: str) -> list[tuple[str, str, str]]:
    """Attach the votes kept aside for a session (inside the caller's transaction), each
    once; a vote the session refuses is dropped with its reason, returned. On a
    participant's own app others' votes are dropped unseen (blind: the arbiter has the
    signed originals)."""
    session = load_session(db, session_id)
    if not sees_votes(db, session):
        db.execute("DELETE FROM calibration_pending_votes WHERE session_id = ?", [session_id])
        return []
    refused: list[tuple[str, str, str]] = []
    rows = db.execute(
        "SELECT event_id, line FROM calibration_pending_votes WHERE session_id = ?"
        " ORDER BY event_id",
        [session_id],
    ).fetchall()
    for event_id, line in rows:
        vote = _vote_from_line(line)
        problem = vote_problem(db, session, vote)
        if problem is not None:
            refused.append((event_id, *problem))
        elif db.execute("SELECT 1 FROM verdicts WHERE id = ?", [event_id]).fetchone() is None:
            db.table("verdicts").insert(vote.to_row())
        db.execute("DELETE FROM calibration_pending_votes WHERE event_id = ?", [event_id])
    return refused


def _vote_from_line(line: str) -> VerdictEvent:
    """A kept-aside vote from its verified line (checked when its bundle was read)."""
    data = json.loads(line)
    citations = tuple(Citation(**c) for c in data["citations"])
    return VerdictEvent(**{**data, "citations": citations})


def ship_session(
    db: sqlite_utils.Database, session: Session, local_reviewer_id: str
) -> dict[str, object]:
    """Check that ``session`` may be shipped by the local reviewer; its metadata.

    :class:`Refused`: not an async session (``not-async``), not its arbiter
    (``not-arbiter``), a participant without a trusted key (``not-a-participant``: they
    could not send their votes back).
    """
    if session.mode != "async":
        raise _refuse(
            RefusalReason.NOT_ASYNC,
            f"calibration session {session.name!r} is {session.mode}; only async sessions are"
            " shipped (create one with mode async)",
        )
    if local_reviewer_id != session.arbiter_id:
        raise _refuse(RefusalReason.NOT_ARBITER, "only a session's arbiter ships it")
    meta = session_json(db, session)
    people = meta["participants"]
    assert isinstance(people, list)
    keyless = [p["name"] for p in people if p["key_id"] is None]
    if keyless:
        raise _refuse(
            RefusalReason.NOT_A_PARTICIPANT,
            f"{', '.join(keyless)} of session {session.name!r} have no trusted key here: their"
            " signed votes could not be taken; trust their keys, or make a live session",
        )
    return meta
