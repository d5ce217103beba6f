"""Knowledge quizzes built from gold cases: training (key ships) and exam (the lead scores).

On the lead's machine::

    quiz = ws.quizzes.build("VH basics", mode="training", market="DE", policy="VH", count=10)
    ws.quizzes.ship(quiz.id, identity, Path("outbox"))   # a signed case batch + quiz.json
    ws.quizzes.import_attempts(Path("attempts.zip"))     # exam attempts come back signed
    ws.quizzes.results()                                 # who passed what

On a reviewer's::

    quiz = ws.quizzes.receive(Path("quiz.zip"))          # verified; the key checked
    attempt = ws.quizzes.start(quiz.id)
    feedback = ws.quizzes.answer(attempt, case_id, "vh_remove")   # training: the ruling
    ws.quizzes.submit(attempt)
    ws.quizzes.export_attempts(identity, Path("outbox"))

A case used in a quiz is burnt for hidden gold (``gold_cases.quiz_id``). The quiz ships as
a signed case batch whose cases are copies of the gold cases under fresh ids, with a
``quiz.json`` beside ``batch.json``: the items, the mode, the pass mark, the attempts
allowed and, in training mode only, the answer key with its explanations.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from . import keys
from .batches.importer import import_batch
from .bundles import check_bundle_log, read_bundle_file, verify_bundle, verify_case_batch
from .bundles.merge import check_merge
from .bundles.payloads.case_batches import QUIZ_FILE, sign_case_batch_files
from .bundles.payloads.quiz_attempts import (
    ATTEMPTS_FILE,
    KIND_QUIZ_ATTEMPTS,
    apply_attempts,
    export_attempts,
    issues_quizzes,
    parse_attempts,
    unsent_attempts,
)
from .clock import utc_now_iso
from .errors import Refused
from .gold import GoldCase, _import_own, _new_case_id, _rename, case_record, gold_cases
from .guidelines import GuidelineNotFound, pack_labels, resolve_guideline
from .ids import new_event_id
from .media_store import MediaStore
from .plain_text import without_markers
from .store import transaction
from .verdicts import Citation
from .vocab import RefusalReason

MODES = ("training", "exam")


@dataclass(frozen=True)
class QuotedSection:
    """A section the ruling cites, quoted as plain text (markdown markers taken out)."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Explanation:
    """Why a quiz item's answer is what it is (training feedback)."""

    ruling: str
    sections: tuple[QuotedSection, ...]
    common_wrong: str | None
    """The wrong answer drawn most often in calibration (None: nobody erred, or never
    calibrated)."""
    notes: tuple[str, ...]
    """The calibration discussion notes on the case."""


@dataclass(frozen=True)
class QuizItem:
    """One case of a quiz; ``label`` and ``explanation`` only where the key is known."""

    case_id: str
    position: int
    label: str | None
    citations: tuple[Citation, ...]
    explanation: Explanation | None


@dataclass(frozen=True)
class Quiz:
    """A quiz: what it asks, how it is passed, and (when known here) its key."""

    id: str
    name: str
    mode: str
    market: str
    policy: str
    pack_id: str
    pack_version: str
    pass_mark: float
    max_attempts: int
    batch_id: str
    created_at: str
    shipped_at: str | None
    received_at: str | None
    items: tuple[QuizItem, ...]

    @property
    def has_key(self) -> bool:
        """True when every item's answer is known in this database."""
        return all(item.label is not None for item in self.items)


@dataclass(frozen=True)
class Feedback:
    """What a reviewer sees after answering a training item."""

    case_id: str
    answered: str
    correct: bool
    explanation: Explanation


@dataclass(frozen=True)
class SectionScore:
    """Answers on the items whose ruling cites one section."""

    section_id: str
    correct: int
    total: int


@dataclass(frozen=True)
class Score:
    """One attempt, scored against the key."""

    attempt_id: str
    quiz_id: str
    quiz_name: str
    reviewer_id: str
    reviewer: str
    submitted_at: str | None
    correct: int
    total: int
    passed: bool
    by_section: tuple[SectionScore, ...]

    @property
    def fraction(self) -> float:
        """Share of the quiz's items answered correctly."""
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class Attempt:
    """An attempt of the local reviewer (scored when the key is known here)."""

    id: str
    quiz_id: str
    quiz_name: str
    started_at: str
    submitted_at: str | None
    answered: int
    score: Score | None


def _explanation_json(e: Explanation) -> str:
    return json.dumps(
        {
            "ruling": e.ruling,
            "sections": [{"id": s.id, "title": s.title, "text": s.text} for s in e.sections],
            "common_wrong": e.common_wrong,
            "notes": list(e.notes),
        }
    )


def _explanation_from(data: Any) -> Explanation:
    return Explanation(
        ruling=str(data["ruling"]),
        sections=tuple(
            QuotedSection(
                str(s["id"]), without_markers(str(s["title"])), without_markers(str(s["text"]))
            )
            for s in data["sections"]
        ),
        common_wrong=None if data.get("common_wrong") is None else str(data["common_wrong"]),
        notes=tuple(str(n) for n in data.get("notes", [])),
    )


def explain(db: sqlite_utils.Database, gold: GoldCase) -> Explanation:
    """The ruling, the cited sections' text, the common wrong vote and the notes."""
    sections = []
    try:
        guideline = resolve_guideline(db, gold.pack_id, gold.pack_version, gold.market)
    except GuidelineNotFound:
        guideline = None
    for c in gold.citations:
        found = guideline.section(c.section_id) if guideline else None
        if found is not None:
            sections.append(
                QuotedSection(found.id, without_markers(found.title), without_markers(found.body))
            )
    wrong: Counter[str] = Counter()
    notes: list[str] = []
    if gold.session_id is not None:
        wrong.update(
            r[0]
            for r in db.execute(
                "SELECT v.label FROM verdicts v WHERE v.session_id = ? AND v.case_id = ?"
                " AND v.role = 'participant' AND v.label IS NOT NULL AND v.label <> ?"
                " AND NOT EXISTS (SELECT 1 FROM verdicts s WHERE s.supersedes = v.id"
                " AND s.reviewer_id = v.reviewer_id AND s.session_id = v.session_id)",
                [gold.session_id, gold.case_id, gold.label],
            )
        )
        notes = [
            r[0]
            for r in db.execute(
                "SELECT text FROM calibration_events WHERE session_id = ? AND case_id = ?"
                " AND kind = 'note' ORDER BY created_at, id",
                [gold.session_id, gold.case_id],
            )
        ]
    common = wrong.most_common(1)[0][0] if wrong else None
    return Explanation(gold.label, tuple(sections), common, tuple(notes))


def load_quiz(db: sqlite_utils.Database, quiz: str) -> Quiz:
    """The quiz with that id or name (``unknown-quiz`` if none)."""
    rows = list(db.query("SELECT * FROM quizzes WHERE id = ? OR name = ?", [quiz, quiz]))
    if not rows:
        raise Refused(RefusalReason.UNKNOWN_QUIZ, f"there is no quiz {quiz!r}")
    r = rows[0]
    items = tuple(
        QuizItem(
            case_id=i["case_id"],
            position=i["position"],
            label=i["label"],
            citations=tuple(
                Citation(c["pack_id"], c["pack_version"], c["section_id"])
                for c in json.loads(i["citations"])
            ),
            explanation=_explanation_from(json.loads(i["explanation"]))
            if i["explanation"]
            else None,
        )
        for i in db.query("SELECT * FROM quiz_items WHERE quiz_id = ? ORDER BY position", [r["id"]])
    )
    return Quiz(
        id=r["id"],
        name=r["name"],
        mode=r["mode"],
        market=r["market"],
        policy=r["policy"],
        pack_id=r["pack_id"],
        pack_version=r["pack_version"],
        pass_mark=float(r["pass_mark"]),
        max_attempts=int(r["max_attempts"]),
        batch_id=r["batch_id"],
        created_at=r["created_at"],
        shipped_at=r["shipped_at"],
        received_at=r["received_at"],
        items=items,
    )


def build(
    db: sqlite_utils.Database,
    author: str,
    name: str,
    *,
    mode: str,
    market: str,
    policy: str,
    count: int,
    pack_version: str | None = None,
    min_difficulty: float = 0.0,
    max_difficulty: float = 1.0,
    pass_mark: float = 0.8,
    max_attempts: int = 1,
) -> Quiz:
    """Build a quiz of ``count`` active gold cases of a market and policy (and pack version),
    hardest first within the difficulty range; those cases are burnt for hidden gold.

    :class:`Refused`, nothing written: an empty or used name (``empty``,
    ``duplicate-name``), fewer active gold cases than ``count`` (``not-enough-gold``).
    ValueError for a mode, count, pass mark or attempt limit out of range.
    """
    name = name.strip()
    if mode not in MODES:
        raise ValueError(f"mode must be training or exam, not {mode!r}")
    if count < 1 or not 0 < pass_mark <= 1 or max_attempts < 1:
        raise ValueError("count and attempts must be at least 1, the pass mark in (0, 1]")
    if not name:
        raise Refused(RefusalReason.EMPTY, "a quiz needs a name")
    with transaction(db):
        if db.execute("SELECT 1 FROM quizzes WHERE name = ?", [name]).fetchone():
            raise Refused(RefusalReason.DUPLICATE_NAME, f"there is already a quiz {name!r}")
        shipped = {
            r[0]
            for r in db.execute(
                "SELECT gold_case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL"
            )
        }
        pool = [
            g
            for g in gold_cases(db, market=market, policy=policy, include_retired=False)
            if g.quiz_id is None
            and g.case_id not in shipped
            and (pack_version is None or g.pack_version == pack_version)
            and min_difficulty <= (g.difficulty or 0.0) <= max_difficulty
        ]
        packs = {(g.pack_id, g.pack_version) for g in pool}
        if len(packs) > 1:
            pool = [g for g in pool if (g.pack_id, g.pack_version) == max(packs)]
        if len(pool) < count:
            raise Refused(
                RefusalReason.NOT_ENOUGH_GOLD,
                f"{len(pool)} active gold case(s) of {market} {policy} fit (not in hidden gold"
                f" or another quiz, difficulty {min_difficulty}-{max_difficulty}); the quiz"
                f" needs {count}",
            )
        chosen = sorted(pool, key=lambda g: (-(g.difficulty or 0.0), g.case_id))[:count]
        quiz_id = new_event_id()
        db.table("quizzes").insert(
            {
                "id": quiz_id,
                "name": name,
                "mode": mode,
                "market": market,
                "policy": policy,
                "pack_id": chosen[0].pack_id,
                "pack_version": chosen[0].pack_version,
                "pass_mark": pass_mark,
                "max_attempts": max_attempts,
                "batch_id": f"quiz-{quiz_id}",
                "author": author,
                "created_at": utc_now_iso(),
                "shipped_at": None,
                "received_at": None,
            }
        )
        for position, gold in enumerate(chosen):
            db.table("quiz_items").insert(
                {
                    "quiz_id": quiz_id,
                    "case_id": _new_case_id(),
                    "position": position,
                    "gold_case_id": gold.case_id,
                    "label": gold.label,
                    "citations": json.dumps(
                        [
                            {
                                "pack_id": c.pack_id,
                                "pack_version": c.pack_version,
                                "section_id": c.section_id,
                            }
                            for c in gold.citations
                        ]
                    ),
                    "explanation": _explanation_json(explain(db, gold)),
                }
            )
            db.execute(
                "UPDATE gold_cases SET quiz_id = ? WHERE case_id = ?", [quiz_id, gold.case_id]
            )
    return load_quiz(db, quiz_id)


def quiz_files(
    db: sqlite_utils.Database, media: MediaStore, quiz: Quiz, issuer: str
) -> dict[str, bytes]:
    """The quiz as case batch files: batch.json, cases.jsonl, media and quiz.json (with
    the key only in training mode)."""
    files: dict[str, bytes] = {}
    records = []
    for item in quiz.items:
        row = db.execute(
            "SELECT gold_case_id FROM quiz_items WHERE quiz_id = ? AND case_id = ?",
            [quiz.id, item.case_id],
        ).fetchone()
        record, media_files = case_record(db, media, row[0])
        renamed = _rename(record, media_files, files)
        renamed["id"] = item.case_id
        records.append(renamed)
    header = {
        "format_version": 1,
        "id": quiz.batch_id,
        "name": f"Quiz: {quiz.name}",
        "issuer": issuer,
        "market": quiz.market,
        "guideline_pack": {"id": quiz.pack_id, "version": quiz.pack_version},
        "created_at": quiz.created_at,
    }
    meta: dict[str, Any] = {
        "format_version": 1,
        "id": quiz.id,
        "name": quiz.name,
        "mode": quiz.mode,
        "market": quiz.market,
        "policy": quiz.policy,
        "pass_mark": quiz.pass_mark,
        "max_attempts": quiz.max_attempts,
        "items": [item.case_id for item in quiz.items],
    }
    if quiz.mode == "training":
        meta["key"] = [
            {
                "case_id": item.case_id,
                "label": item.label,
                "citations": [
                    {
                        "pack_id": c.pack_id,
                        "pack_version": c.pack_version,
                        "section_id": c.section_id,
                    }
                    for c in item.citations
                ],
                "explanation": json.loads(_explanation_json(item.explanation))
                if item.explanation
                else None,
            }
            for item in quiz.items
        ]
    files["batch.json"] = json.dumps(header).encode()
    files["cases.jsonl"] = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    files[QUIZ_FILE] = json.dumps(meta).encode()
    return files


def ship(
    db: sqlite_utils.Database,
    media: MediaStore,
    quiz_name: str,
    identity: keys.Identity,
    issuer: str,
    out_dir: Path,
) -> Path:
    """Sign a quiz as a case batch into ``out_dir``; the .zip. Shipping again re-signs it.

    The lead's database imports the quiz's cases as well (see ``gold._import_own``)."""
    quiz = load_quiz(db, quiz_name)
    files = quiz_files(db, media, quiz, issuer)
    with transaction(db):
        # The lead holds the quiz's cases too, so a reviewer's verdict on one (recorded from
        # the queue) merges instead of refusing their whole bundle; reports leave them out.
        _import_own(db, media, files)
        path = sign_case_batch_files(identity, files, out_dir, db=db)
        db.execute(
            "UPDATE quizzes SET shipped_at = COALESCE(shipped_at, ?),"
            " issuer_key_id = COALESCE(issuer_key_id, ?) WHERE id = ?",
            [utc_now_iso(), identity.key_id, quiz.id],
        )
    return path


def _mismatch(path: Path, message: str) -> Refused:
    return Refused(RefusalReason.KEY_MISMATCH, f"{path.name}: {QUIZ_FILE}: {message}")


def receive(db: sqlite_utils.Database, media: MediaStore, path: Path) -> Quiz:
    """Verify a shipped quiz, check its key against its cases, import it; the quiz.

    :class:`Refused`, nothing written: a bundle refused (its reason), no quiz.json or an
    unreadable one (``schema``), a key that disagrees with the cases or a label outside
    the pack (``key-mismatch``), a quiz already received (``duplicate-name``).
    """
    verified = verify_case_batch(db, read_bundle_file(path))
    check_bundle_log(db, verified)
    raw = verified.payload.get(QUIZ_FILE)
    if raw is None:
        raise Refused(RefusalReason.SCHEMA, f"{path.name}: no {QUIZ_FILE}; not a quiz")
    try:
        meta = json.loads(raw)
        cases = [
            json.loads(line)["id"]
            for line in verified.payload["cases.jsonl"].splitlines()
            if line.strip()
        ]
        header = json.loads(verified.payload["batch.json"])
        pack = (header["guideline_pack"]["id"], header["guideline_pack"]["version"])
        items = [str(i) for i in meta["items"]]
        mode = meta["mode"]
        quiz_id, name = str(meta["id"]), str(meta["name"])
        pass_mark, max_attempts = float(meta["pass_mark"]), int(meta["max_attempts"])
    except (ValueError, KeyError, TypeError) as exc:
        raise Refused(
            RefusalReason.SCHEMA, f"{path.name}: {QUIZ_FILE} unreadable ({exc})"
        ) from None
    if mode not in MODES:
        raise Refused(RefusalReason.SCHEMA, f"{path.name}: {QUIZ_FILE}: mode {mode!r}")
    if sorted(items) != sorted(cases) or len(set(items)) != len(items):
        raise _mismatch(path, "its items are not the batch's cases")
    key: dict[str, dict[str, Any]] = {}
    if mode == "training":
        entries = meta.get("key")
        if not isinstance(entries, list):
            raise _mismatch(path, "a training quiz ships its answer key")
        key = {str(e.get("case_id")): e for e in entries if isinstance(e, dict)}
        if sorted(key) != sorted(items) or len(entries) != len(items):
            raise _mismatch(path, "the key does not answer exactly the quiz's cases")
        labels = {lab.id for lab in pack_labels(db, *pack)}
        bad = [k for k, e in key.items() if e.get("label") not in labels]
        if bad:
            raise _mismatch(
                path, f"the key gives case {bad[0]} a label that is not in {pack[0]} {pack[1]}"
            )
    elif "key" in meta:
        raise _mismatch(path, "an exam quiz must not ship its key")
    with transaction(db):
        if db.execute("SELECT 1 FROM quizzes WHERE id = ? OR name = ?", [quiz_id, name]).fetchone():
            raise Refused(
                RefusalReason.DUPLICATE_NAME, f"{path.name}: quiz {name!r} is already here"
            )
        import_batch(db, media, path, trust_unsigned=False)
        db.table("quizzes").insert(
            {
                "id": quiz_id,
                "name": name,
                "mode": mode,
                "market": str(meta.get("market", "")),
                "policy": str(meta.get("policy", "")),
                "pack_id": pack[0],
                "pack_version": pack[1],
                "pass_mark": pass_mark,
                "max_attempts": max_attempts,
                "batch_id": str(header["id"]),
                "author": verified.signer.signer_name,
                "created_at": str(header.get("created_at", "")),
                "shipped_at": None,
                "received_at": utc_now_iso(),
                "issuer_key_id": verified.signer.key_id,
            }
        )
        for position, case_id in enumerate(items):
            entry = key.get(case_id)
            db.table("quiz_items").insert(
                {
                    "quiz_id": quiz_id,
                    "case_id": case_id,
                    "position": position,
                    "gold_case_id": None,
                    "label": entry["label"] if entry else None,
                    "citations": json.dumps(entry.get("citations") or []) if entry else "[]",
                    "explanation": json.dumps(entry["explanation"])
                    if entry and entry.get("explanation")
                    else "",
                }
            )
    return load_quiz(db, quiz_id)


def _attempt_row(db: sqlite_utils.Database, attempt_id: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM quiz_attempts WHERE id = ?", [attempt_id]))
    if not rows:
        raise Refused(RefusalReason.UNKNOWN_QUIZ, f"there is no quiz attempt {attempt_id!r}")
    return rows[0]


def start(db: sqlite_utils.Database, reviewer_id: str, quiz_name: str) -> str:
    """Start an attempt of a received quiz; its id. ``attempt-limit`` past the quiz's
    allowance (an attempt not submitted yet is resumed instead)."""
    quiz = load_quiz(db, quiz_name)
    with transaction(db):
        open_attempt = db.execute(
            "SELECT id FROM quiz_attempts WHERE quiz_id = ? AND reviewer_id = ?"
            " AND submitted_at IS NULL",
            [quiz.id, reviewer_id],
        ).fetchone()
        if open_attempt:
            return str(open_attempt[0])
        done = db.execute(
            "SELECT count(*) FROM quiz_attempts WHERE quiz_id = ? AND reviewer_id = ?",
            [quiz.id, reviewer_id],
        ).fetchone()[0]
        if done >= quiz.max_attempts:
            raise Refused(
                RefusalReason.ATTEMPT_LIMIT,
                f"quiz {quiz.name!r} allows {quiz.max_attempts} attempt(s); you made {done}",
            )
        attempt_id = new_event_id()
        db.table("quiz_attempts").insert(
            {
                "id": attempt_id,
                "quiz_id": quiz.id,
                "reviewer_id": reviewer_id,
                "started_at": utc_now_iso(),
                "submitted_at": None,
                "exported": 0,
                "source": "local",
            }
        )
    return attempt_id


def answer(db: sqlite_utils.Database, attempt_id: str, case_id: str, label: str) -> Feedback | None:
    """Record (or change, until submitted) an answer; training feedback, None in an exam.

    :class:`Refused`, nothing written: a case not in the quiz (``not-in-quiz``), a label
    outside its pack (``unknown-label``), a submitted attempt (``attempt-limit``).
    """
    with transaction(db):
        attempt = _attempt_row(db, attempt_id)
        quiz = load_quiz(db, attempt["quiz_id"])
        if attempt["submitted_at"] is not None:
            raise Refused(RefusalReason.ATTEMPT_LIMIT, "this attempt is already submitted")
        items = {item.case_id: item for item in quiz.items}
        if case_id not in items:
            raise Refused(RefusalReason.NOT_IN_QUIZ, f"case {case_id} is not in quiz {quiz.name!r}")
        labels = [lab.id for lab in pack_labels(db, quiz.pack_id, quiz.pack_version)]
        if label not in labels:
            raise Refused(
                RefusalReason.UNKNOWN_LABEL,
                f"{label!r} is not a label of {quiz.pack_id} {quiz.pack_version}",
            )
        db.execute(
            "INSERT OR REPLACE INTO quiz_answers (attempt_id, case_id, label, answered_at)"
            " VALUES (?, ?, ?, ?)",
            [attempt_id, case_id, label, utc_now_iso()],
        )
    item = items[case_id]
    if quiz.mode != "training" or item.label is None or item.explanation is None:
        return None
    return Feedback(case_id, label, label == item.label, item.explanation)


def submit(db: sqlite_utils.Database, attempt_id: str) -> None:
    """Close an attempt: no more answers (an unanswered item counts as wrong)."""
    with transaction(db):
        _attempt_row(db, attempt_id)
        db.execute(
            "UPDATE quiz_attempts SET submitted_at = COALESCE(submitted_at, ?) WHERE id = ?",
            [utc_now_iso(), attempt_id],
        )


def _names(db: sqlite_utils.Database) -> dict[str, str]:
    names: dict[str, str] = {}
    for rid, name in db.execute(
        "SELECT reviewer_id, signer_name FROM trusted_keys WHERE reviewer_id IS NOT NULL"
        " UNION ALL SELECT id, display_name FROM reviewers"
    ):
        names.setdefault(rid, name)
    return names


def score(db: sqlite_utils.Database, attempt_id: str) -> Score | None:
    """An attempt scored against the key (None where the key is not known here)."""
    attempt = _attempt_row(db, attempt_id)
    quiz = load_quiz(db, attempt["quiz_id"])
    if not quiz.has_key:
        return None
    given = dict(
        db.execute(
            "SELECT case_id, label FROM quiz_answers WHERE attempt_id = ?", [attempt_id]
        ).fetchall()
    )
    sections: dict[str, list[int]] = {}
    correct = 0
    for item in quiz.items:
        ok = int(given.get(item.case_id) == item.label)
        correct += ok
        for c in item.citations or (Citation("", "", "(none)"),):
            counts = sections.setdefault(c.section_id, [0, 0])
            counts[0] += ok
            counts[1] += 1
    total = len(quiz.items)
    return Score(
        attempt_id=attempt_id,
        quiz_id=quiz.id,
        quiz_name=quiz.name,
        reviewer_id=attempt["reviewer_id"],
        reviewer=_names(db).get(attempt["reviewer_id"], attempt["reviewer_id"]),
        submitted_at=attempt["submitted_at"],
        correct=correct,
        total=total,
        passed=attempt["submitted_at"] is not None and correct >= quiz.pass_mark * total - 1e-9,
        by_section=tuple(SectionScore(s, c, n) for s, (c, n) in sorted(sections.items())),
    )


def history(db: sqlite_utils.Database, reviewer_id: str) -> list[Attempt]:
    """A reviewer's attempts, oldest first, scored where the key is known here."""
    result = []
    for r in db.query(
        "SELECT a.*, q.name, (SELECT count(*) FROM quiz_answers x WHERE x.attempt_id = a.id)"
        " AS answered FROM quiz_attempts a JOIN quizzes q ON q.id = a.quiz_id"
        " WHERE a.reviewer_id = ? ORDER BY a.started_at, a.id",
        [reviewer_id],
    ):
        result.append(
            Attempt(
                r["id"],
                r["quiz_id"],
                r["name"],
                r["started_at"],
                r["submitted_at"],
                r["answered"],
                score(db, r["id"]),
            )
        )
    return result


def results(db: sqlite_utils.Database) -> list[Score]:
    """The lead's table: every submitted attempt of the quizzes this database built,
    scored, by quiz name then reviewer then time."""
    scores = [
        score(db, r[0])
        for r in db.execute(
            "SELECT a.id FROM quiz_attempts a JOIN quizzes q ON q.id = a.quiz_id"
            " WHERE a.submitted_at IS NOT NULL ORDER BY q.name, a.reviewer_id, a.submitted_at"
        )
    ]
    return [s for s in scores if s is not None]


def import_attempts(db: sqlite_utils.Database, path: Path) -> int:
    """Verify a ``quiz-attempts`` bundle and add its attempts (all or nothing); how many
    were new. :class:`BundleRejected` (a :class:`Refused`) says why one is refused; an app
    that shipped no quiz refuses every attempt (``quiz-not-shipped``)."""
    if not issues_quizzes(db):
        raise Refused(
            RefusalReason.QUIZ_NOT_SHIPPED,
            f"{path.name}: this app shipped no quiz; attempts go to the lead who shipped it",
        )
    bundle = verify_bundle(db, read_bundle_file(path), kind=KIND_QUIZ_ATTEMPTS)
    with transaction(db):
        plan = check_merge(db, bundle)
        if plan.already_imported:
            return 0
        apply_attempts(db, bundle, plan)
    return len(parse_attempts(bundle.payload[ATTEMPTS_FILE])) - plan.already_known


class Quizzes:
    """The quizzes room (``ws.quizzes``): build and ship (lead); receive, take, export
    (reviewer); import attempts and score (lead)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        media: MediaStore,
        reviewer_id: Callable[[], str],
        reviewer_name: Callable[[], str],
    ) -> None:
        self._db = db
        self._media = media
        self._reviewer_id = reviewer_id
        self._reviewer_name = reviewer_name

    def build(self, name: str, **options: Any) -> Quiz:
        """Build a quiz from the gold pool (see :func:`build`)."""
        return build(self._db, self._reviewer_id(), name, **options)

    def quiz(self, quiz: str) -> Quiz:
        """The quiz with that id or name."""
        return load_quiz(self._db, quiz)

    def quizzes(self) -> list[Quiz]:
        """Every quiz here, oldest first."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM quizzes ORDER BY created_at, id")]
        return [load_quiz(self._db, i) for i in ids]

    def ship(self, quiz: str, identity: keys.Identity, out_dir: Path) -> Path:
        """Sign the quiz as a case batch for reviewers (see :func:`ship`)."""
        return ship(
            self._db,
            self._media,
            quiz,
            identity,
            self._reviewer_name(),
            out_dir,
        )

    def receive(self, path: Path) -> Quiz:
        """Verify and import a shipped quiz (see :func:`receive`)."""
        return receive(self._db, self._media, path)

    def start(self, quiz: str) -> str:
        """Start (or resume) the local reviewer's attempt; its id."""
        return start(self._db, self._reviewer_id(), quiz)

    def answer(self, attempt_id: str, case_id: str, label: str) -> Feedback | None:
        """Answer an item (training: the feedback)."""
        return answer(self._db, attempt_id, case_id, label)

    def answers(self, attempt_id: str) -> dict[str, str]:
        """The attempt's answers by case."""
        return dict(
            self._db.execute(
                "SELECT case_id, label FROM quiz_answers WHERE attempt_id = ?", [attempt_id]
            ).fetchall()
        )

    def submit(self, attempt_id: str) -> Score | None:
        """Submit an attempt; its score where the key is known here (training)."""
        submit(self._db, attempt_id)
        return score(self._db, attempt_id)

    def score(self, attempt_id: str) -> Score | None:
        """An attempt's score, where the key is known here."""
        return score(self._db, attempt_id)

    def history(self, reviewer_id: str | None = None) -> list[Attempt]:
        """A reviewer's attempts (default: the local reviewer's)."""
        return history(self._db, reviewer_id or self._reviewer_id())

    def results(self) -> list[Score]:
        """Who passed what: every submitted attempt, scored."""
        return results(self._db)

    def export_attempts(self, identity: keys.Identity, out_dir: Path) -> Path | None:
        """Sign the local reviewer's submitted attempts for the lead; None if none."""
        return export_attempts(self._db, identity, self._reviewer_id(), out_dir)

    def unsent(self) -> int:
        """The local reviewer's submitted attempts that the next sync (or export) sends."""
        return unsent_attempts(self._db, self._reviewer_id())

    def import_attempts(self, path: Path) -> int:
        """Import a reviewer's signed attempts (see :func:`import_attempts`)."""
        return import_attempts(self._db, path)
