"""The ``quiz-attempts`` payload: a reviewer's submitted quiz attempts, back to the lead.

``data/attempts.jsonl`` holds one attempt a line (canonical JSON)::

    {"answers": [{"answered_at": "...", "case_id": "c-...", "label": "vh_remove"}],
     "id": "...", "quiz_id": "...", "reviewer_id": "...", "started_at": "...",
     "submitted_at": "..."}

Only ``reviewer`` keys sign it, and every attempt must be the signer's own. The lead's
app checks each attempt against the quizzes it shipped before anything is written:
an attempt for a quiz never shipped (``quiz-not-shipped``), more attempts than the quiz
allows (``attempt-limit``), an answer for a case not in the quiz (``not-in-quiz``), a
label outside the quiz's pack (``unknown-label``), someone else's attempt
(``impersonation``). Attempts merge by id (a bundle imported twice adds nothing).

Attempts are addressed to the lead who shipped the quiz: a bundle holds the attempts for
one lead's quizzes and names that lead's key id in bag-info (``Quiz-Issuer``; a quiz received
before the issuer's key was recorded goes without it). A sync on an app that shipped no
quiz (a reviewer's), or on another lead's (the named key never signed anything it
exported), meets those attempts too: it verifies and logs the bundle (the signer's
sequence stays without gaps) and stores none of them (``unseen``), instead of refusing them
on every sync.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlite_utils

from ... import keys
from ...clock import utc_now_iso
from ...formats.canonical import StrictJSONError, dumps_canonical, loads_strict
from ...store import DatabaseBusy, transaction
from ...vocab import KeyRole, RefusalReason
from .. import ledger
from ..atomic_files import publish, write_temporary
from ..export import build_bag
from ..rejection import BundleRejected
from .kind import MergePlan, PayloadKind, SignedBag, VerifiedBundle

KIND_QUIZ_ATTEMPTS = "quiz-attempts"
QUIZ_ISSUER = "Quiz-Issuer"
"""Bag-info field: the key id of the lead whose quizzes the bundle's attempts answer."""
ATTEMPTS_FILE = "attempts.jsonl"
MAX_ANSWERS = 1000
"""Most answers one attempt may hold."""
_ATTEMPT_KEYS = {"id", "quiz_id", "reviewer_id", "started_at", "submitted_at", "answers"}
_ANSWER_KEYS = {"case_id", "label", "answered_at"}


_UNSENT = (
    "FROM quiz_attempts a LEFT JOIN quizzes q ON q.id = a.quiz_id WHERE a.reviewer_id = ?"
    " AND a.submitted_at IS NOT NULL AND a.exported = 0 AND a.source = 'local'"
)


def unsent_issuers(db: sqlite_utils.Database, reviewer_id: str) -> list[str]:
    """The key ids of the leads whose quizzes the reviewer's unexported attempts answer
    (``""`` for a quiz received before its issuer's key was recorded)."""
    return [
        row[0]
        for row in db.execute(
            f"SELECT DISTINCT COALESCE(q.issuer_key_id, '') {_UNSENT} ORDER BY 1", [reviewer_id]
        )
    ]


def attempts_payload(
    db: sqlite_utils.Database, reviewer_id: str, issuer: str | None = None
) -> list[dict[str, Any]]:
    """The local reviewer's submitted attempts not yet exported, as payload records (only
    those answering quizzes of the ``issuer`` key id, if given; ``""``: issuer unknown)."""
    attempts = []
    only = "" if issuer is None else " AND COALESCE(q.issuer_key_id, '') = ?"
    for a in db.query(
        f"SELECT a.* {_UNSENT}{only} ORDER BY a.started_at, a.id",
        [reviewer_id] if issuer is None else [reviewer_id, issuer],
    ):
        answers = [
            {"case_id": r["case_id"], "label": r["label"], "answered_at": r["answered_at"]}
            for r in db.query(
                "SELECT * FROM quiz_answers WHERE attempt_id = ? ORDER BY answered_at, case_id",
                [a["id"]],
            )
        ]
        attempts.append(
            {
                "id": a["id"],
                "quiz_id": a["quiz_id"],
                "reviewer_id": a["reviewer_id"],
                "started_at": a["started_at"],
                "submitted_at": a["submitted_at"],
                "answers": answers,
            }
        )
    return attempts


def export_attempts(
    db: sqlite_utils.Database, identity: keys.Identity, reviewer_id: str, out_dir: Path
) -> Path | None:
    """Sign the local reviewer's submitted, unexported attempts into ``out_dir``, one bundle
    per lead whose quizzes they answer (bag-info ``Quiz-Issuer``: that lead's key id); the
    last .zip written (None when there is nothing to send). The attempts are marked exported.
    """
    written = None
    for issuer in unsent_issuers(db, reviewer_id):
        written = _export_for(db, identity, reviewer_id, issuer, out_dir) or written
    return written


def _export_for(
    db: sqlite_utils.Database,
    identity: keys.Identity,
    reviewer_id: str,
    issuer: str,
    out_dir: Path,
) -> Path | None:
    """Export the unexported attempts answering ``issuer``'s quizzes as one bundle.

    The same crash-safe protocol as the verdict export: the bundle is written (fsynced)
    under a temporary name, then one transaction logs it, marks its attempts as carried by
    it and records it as a pending export, and only then is it renamed into place. A kill
    before that transaction leaves nothing recorded (the sequence number was never seen);
    a kill after it leaves a pending export that ``ledger.recover_exports`` adopts, or
    abandons (its attempts unexported again, its sequence number never reused).
    """
    for _ in range(3):  # another process exporting at the same moment: plan again
        attempts = attempts_payload(db, reviewer_id, issuer)
        if not attempts:
            return None
        data = b"".join(dumps_canonical(a) + b"\n" for a in attempts)
        addressed = {QUIZ_ISSUER: issuer} if issuer else {}
        bundle_id = str(uuid.uuid4())
        seq = ledger.next_seq(db, identity.key_id)
        bag = build_bag(
            identity,
            kind=KIND_QUIZ_ATTEMPTS,
            bundle_id=bundle_id,
            seq=seq,
            payload={f"data/{ATTEMPTS_FILE}": data},
            info={
                "Event-Count": str(len(attempts)),
                "Batch-Ids": ",".join(sorted({a["quiz_id"] for a in attempts})),
                **addressed,
            },
            created=utc_now_iso(),
        )
        name = f"{bundle_id}.zip"
        final = out_dir / name
        tmp = write_temporary(out_dir, name, bag.data)
        ids = json.dumps([a["id"] for a in attempts])
        try:
            with transaction(db):
                unchanged = (
                    ledger.next_seq(db, identity.key_id) == seq
                    and not db.execute(
                        "SELECT 1 FROM quiz_attempts WHERE id IN (SELECT value FROM json_each(?))"
                        " AND exported <> 0",
                        [ids],
                    ).fetchone()
                )
                if unchanged:
                    ledger.log_bundle(
                        db,
                        bundle_id,
                        identity.key_id,
                        seq,
                        KIND_QUIZ_ATTEMPTS,
                        bag.digest,
                        len(attempts),
                        "export",
                    )
                    db.execute(
                        "UPDATE quiz_attempts SET exported = 1, bundle_id = ?"
                        " WHERE id IN (SELECT value FROM json_each(?))",
                        [bundle_id, ids],
                    )
                    ledger.begin_export(db, bundle_id, tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if not unchanged:
            tmp.unlink(missing_ok=True)
            continue
        # Recorded: from here on a crash leaves a pending export that recover_exports settles.
        publish(tmp, final)
        ledger.finish_export(db, bundle_id)
        return final
    raise DatabaseBusy("other exports kept overtaking this one; nothing was sent, try again")


def issues_quizzes(db: sqlite_utils.Database) -> bool:
    """True when this app built a quiz (a lead's): attempts are scored here."""
    return (
        db.execute("SELECT 1 FROM quizzes WHERE received_at IS NULL LIMIT 1").fetchone() is not None
    )


def addressed_here(db: sqlite_utils.Database, bundle: VerifiedBundle) -> bool:
    """False when the bundle names the lead it is for (``Quiz-Issuer``) and that key never
    signed a bundle this app exported: another lead's attempts, not ours to score."""
    issuer = bundle.info.get(QUIZ_ISSUER, "")
    if not issuer:
        return True  # from an app that did not say: checked against our quizzes
    return (
        db.execute(
            "SELECT 1 FROM bundle_log WHERE key_id = ? AND direction = 'export' LIMIT 1",
            [issuer],
        ).fetchone()
        is not None
    )


def unsent_attempts(db: sqlite_utils.Database, reviewer_id: str) -> int:
    """How many submitted attempts of the local reviewer wait for the next export."""
    row = db.execute(
        "SELECT count(*) FROM quiz_attempts WHERE reviewer_id = ? AND submitted_at IS NOT NULL"
        " AND exported = 0 AND source = 'local'",
        [reviewer_id],
    ).fetchone()
    return int(row[0])


def _schema(message: str) -> BundleRejected:
    return BundleRejected(RefusalReason.SCHEMA, f"{ATTEMPTS_FILE}: {message}")


def parse_attempts(data: bytes) -> list[dict[str, Any]]:
    """The attempts of a payload, each checked for shape; :class:`BundleRejected` if not."""
    attempts = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            attempt = loads_strict(line)
        except StrictJSONError as exc:
            raise _schema(f"line {number}: {exc}") from None
        if not isinstance(attempt, dict) or set(attempt) != _ATTEMPT_KEYS:
            raise _schema(f"line {number}: an attempt has exactly {sorted(_ATTEMPT_KEYS)}")
        if not all(isinstance(attempt[k], str) and attempt[k] for k in _ATTEMPT_KEYS - {"answers"}):
            raise _schema(f"line {number}: ids and times must be non-empty text")
        answers = attempt["answers"]
        if not isinstance(answers, list) or len(answers) > MAX_ANSWERS:
            raise _schema(f"line {number}: answers must be a list of at most {MAX_ANSWERS}")
        for answer in answers:
            if (
                not isinstance(answer, dict)
                or set(answer) != _ANSWER_KEYS
                or not all(isinstance(v, str) and v for v in answer.values())
            ):
                raise _schema(f"line {number}: an answer has exactly {sorted(_ANSWER_KEYS)}")
        if len({a["case_id"] for a in answers}) != len(answers):
            raise _schema(f"line {number}: a case is answered twice")
        attempts.append(attempt)
    if not attempts:
        raise BundleRejected(RefusalReason.EMPTY, f"{ATTEMPTS_FILE} holds no attempt")
    return attempts


def read_attempts(bag: SignedBag) -> VerifiedBundle:
    """Check the payload's shape and that every attempt is the signer's own."""
    data = bag.files.get(f"data/{ATTEMPTS_FILE}")
    if data is None:
        raise BundleRejected(RefusalReason.MISSING_FILE, f"the bundle has no data/{ATTEMPTS_FILE}")
    for attempt in parse_attempts(data):
        if attempt["reviewer_id"] != bag.signer.reviewer_id:
            raise BundleRejected(
                RefusalReason.IMPERSONATION,
                f"attempt {attempt['id']} is by reviewer {attempt['reviewer_id']}, but the"
                f" bundle is signed by {bag.signer.signer_name}",
            )
    return bag.verified(payload={ATTEMPTS_FILE: data})


def plan_attempts(db: sqlite_utils.Database, bundle: VerifiedBundle, logged: bool) -> MergePlan:
    """Check every attempt against the quizzes this database shipped; what is new."""
    attempts = parse_attempts(bundle.payload[ATTEMPTS_FILE])
    if not issues_quizzes(db) or not addressed_here(db, bundle):
        return MergePlan(logged, (), 0, unseen=len(attempts))  # for a lead, not for us
    new = 0
    counted: dict[tuple[str, str], int] = {}
    for attempt in attempts:
        if db.execute("SELECT 1 FROM quiz_attempts WHERE id = ?", [attempt["id"]]).fetchone():
            continue
        quiz = db.execute(
            "SELECT name, shipped_at, max_attempts, pack_id, pack_version FROM quizzes"
            " WHERE id = ?",
            [attempt["quiz_id"]],
        ).fetchone()
        if quiz is None or quiz[1] is None:
            raise BundleRejected(
                RefusalReason.QUIZ_NOT_SHIPPED,
                f"attempt {attempt['id']} is for quiz {attempt['quiz_id']}, which this app"
                " never shipped",
            )
        name, _, max_attempts, pack_id, pack_version = quiz
        key = (attempt["quiz_id"], attempt["reviewer_id"])
        if key not in counted:
            counted[key] = db.execute(
                "SELECT count(*) FROM quiz_attempts WHERE quiz_id = ? AND reviewer_id = ?",
                list(key),
            ).fetchone()[0]
        counted[key] += 1
        if counted[key] > max_attempts:
            raise BundleRejected(
                RefusalReason.ATTEMPT_LIMIT,
                f"quiz {name!r} allows {max_attempts} attempt(s); attempt {attempt['id']}"
                f" would be number {counted[key]}",
            )
        items = {
            r[0]
            for r in db.execute(
                "SELECT case_id FROM quiz_items WHERE quiz_id = ?", [attempt["quiz_id"]]
            )
        }
        labels = {
            r[0]
            for r in db.execute(
                "SELECT id FROM guideline_labels WHERE pack_id = ? AND pack_version = ?",
                [pack_id, pack_version],
            )
        }
        for answer in attempt["answers"]:
            if answer["case_id"] not in items:
                raise BundleRejected(
                    RefusalReason.NOT_IN_QUIZ,
                    f"attempt {attempt['id']} answers case {answer['case_id']}, which is not"
                    f" in quiz {name!r}",
                )
            if answer["label"] not in labels:
                raise BundleRejected(
                    RefusalReason.UNKNOWN_LABEL,
                    f"attempt {attempt['id']} answers {answer['label']!r}, not a label of"
                    f" {pack_id} {pack_version}",
                )
        new += 1
    return MergePlan(logged, (), len(attempts) - new)


def apply_attempts(db: sqlite_utils.Database, bundle: VerifiedBundle, plan: MergePlan) -> None:
    """Log the bundle and add its new attempts and their answers."""
    attempts = parse_attempts(bundle.payload[ATTEMPTS_FILE])
    ledger.log_imported_bundle(db, bundle, len(attempts))
    if plan.unseen:
        return
    for attempt in attempts:
        if db.execute("SELECT 1 FROM quiz_attempts WHERE id = ?", [attempt["id"]]).fetchone():
            continue
        db.table("quiz_attempts").insert(
            {
                "id": attempt["id"],
                "quiz_id": attempt["quiz_id"],
                "reviewer_id": attempt["reviewer_id"],
                "started_at": attempt["started_at"],
                "submitted_at": attempt["submitted_at"],
                "exported": 1,
                "source": "bundle",
                "bundle_id": bundle.bundle_id,
            }
        )
        db.table("quiz_answers").insert_all(
            {"attempt_id": attempt["id"], **answer} for answer in attempt["answers"]
        )


QUIZ_ATTEMPTS = PayloadKind(
    name=KIND_QUIZ_ATTEMPTS,
    signer_roles=(KeyRole.REVIEWER,),
    write=export_attempts,
    read=read_attempts,
    plan_merge=plan_attempts,
    apply_merge=apply_attempts,
)
"""Quiz attempts: written by :func:`export_attempts`, imported by ``ws.quizzes``."""
