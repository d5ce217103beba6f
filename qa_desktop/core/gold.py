"""The gold set: arbitrated cases with known answers, and hidden gold in shipped batches.

A gold case is a case whose final verdict was arbitrated (a calibration ruling) or an SME's
decided verdict the lead promotes, kept with its label, cited sections, the pack version and
market it was ruled under. The pool lives in the lead's database, per market and policy::

    ws.gold.promote("c-17")                 # the case's ruling (or decided verdict)
    ws.gold.cases(market="DE", policy="VH") # the pool, retired ones with why
    ws.gold.ship_batch(identity, files, out_dir, share=0.1)   # hidden gold mixed in
    ws.gold.accuracy()                       # each reviewer against gold, by policy and week

A gold case retires when a section it cites changed in a newer version of its pack (shown
in the pool with the reason, never silently dropped).

Hidden gold: when the lead ships a batch, gold cases are copied into it unannounced. Every
case of the shipped batch (gold or not) gets a fresh opaque id and its media fresh opaque
file names, and the cases are shuffled, so nothing in the batch tells a gold case from
another; the map from shipped ids to the cases they came from (and the answer key) stays in
the lead's ``shipped_cases`` table. Reviewers' verdicts on hidden gold come back in their
verdict bundles; they are scored here and left out of the frontline-accuracy reports.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import keys
from .batches.importer import import_batch_files
from .bundles.payloads.case_batches import sign_case_batch_files
from .cases import load_case
from .clock import utc_now_iso
from .errors import Refused
from .guidelines import _stored_versions, _version_key, pack_labels, pack_sections
from .media_store import MediaStore
from .reports.intervals import Interval, wilson
from .store import transaction
from .verdicts import Citation, VerdictEvent
from .vocab import RefusalReason

MAX_SHARE = 0.5
"""The largest share of a shipped batch that may be hidden gold."""


@dataclass(frozen=True)
class GoldCase:
    """One case of the gold pool with its answer key."""

    case_id: str
    label: str
    citations: tuple[Citation, ...]
    pack_id: str
    pack_version: str
    market: str
    policy: str
    source: str
    """``ruling`` (a calibration arbiter's) or ``verdict`` (an SME's decided verdict)."""
    event_id: str
    session_id: str | None
    difficulty: float | None
    """Share of wrong votes the case drew in calibration (None: never calibrated)."""
    promoted_at: str
    retired_at: str | None
    retired_reason: str | None
    quiz_id: str | None
    """The quiz the case was used in: burnt for hidden gold."""

    @property
    def active(self) -> bool:
        """True while the case is neither retired nor used in a quiz."""
        return self.retired_at is None and self.quiz_id is None


@dataclass(frozen=True)
class ShipResult:
    """A batch shipped with hidden gold."""

    path: Path
    batch_id: str
    cases: int
    gold: int


@dataclass(frozen=True)
class AccuracyRow:
    """One reviewer's answers on hidden gold in one group (a policy or a week)."""

    reviewer_id: str
    reviewer: str
    group: str
    correct: int
    total: int
    interval: Interval | None

    @property
    def accuracy(self) -> float:
        """Share of correct answers (0 when there are none)."""
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class GoldMiss:
    """A reviewer's wrong answer on hidden gold, with the ruling it missed."""

    reviewer_id: str
    reviewer: str
    case_id: str
    """The shipped case the reviewer saw."""
    gold_case_id: str
    answered: str
    ruling: str
    citations: tuple[Citation, ...]
    answered_at: str


@dataclass(frozen=True)
class GoldAccuracy:
    """Per-reviewer accuracy against hidden gold."""

    by_policy: tuple[AccuracyRow, ...]
    by_week: tuple[AccuracyRow, ...]
    misses: tuple[GoldMiss, ...]


def _citations_json(citations: Sequence[Citation]) -> str:
    return json.dumps(
        [
            {"pack_id": c.pack_id, "pack_version": c.pack_version, "section_id": c.section_id}
            for c in citations
        ]
    )


def citations_from_json(text: str) -> tuple[Citation, ...]:
    """Citations stored as JSON by this module."""
    return tuple(
        Citation(c["pack_id"], c["pack_version"], c["section_id"]) for c in json.loads(text or "[]")
    )


def _gold_from_row(r: dict[str, object]) -> GoldCase:
    difficulty = r["difficulty"]
    return GoldCase(
        case_id=str(r["case_id"]),
        label=str(r["label"]),
        citations=citations_from_json(str(r["citations"])),
        pack_id=str(r["pack_id"]),
        pack_version=str(r["pack_version"]),
        market=str(r["market"]),
        policy=str(r["policy"]),
        source=str(r["source"]),
        event_id=str(r["event_id"]),
        session_id=None if r["session_id"] is None else str(r["session_id"]),
        difficulty=None if difficulty is None else float(str(difficulty)),
        promoted_at=str(r["promoted_at"]),
        retired_at=None if r["retired_at"] is None else str(r["retired_at"]),
        retired_reason=None if r["retired_reason"] is None else str(r["retired_reason"]),
        quiz_id=None if r["quiz_id"] is None else str(r["quiz_id"]),
    )


def load_gold(db: sqlite_utils.Database, case_id: str) -> GoldCase | None:
    """The gold case with that id, or None."""
    rows = list(db.query("SELECT * FROM gold_cases WHERE case_id = ?", [case_id]))
    return _gold_from_row(rows[0]) if rows else None


def _difficulty(
    db: sqlite_utils.Database, session_id: str | None, case_id: str, label: str
) -> float | None:
    """Share of the session's current votes on the case that differ from the ruling."""
    if session_id is None:
        return None
    votes = [
        r[0]
        for r in db.execute(
            "SELECT v.label FROM verdicts v WHERE v.session_id = ? AND v.case_id = ?"
            " AND v.role = 'participant' AND v.label IS NOT NULL AND NOT EXISTS ("
            "  SELECT 1 FROM verdicts s WHERE s.supersedes = v.id"
            "  AND s.reviewer_id = v.reviewer_id AND s.session_id = v.session_id)",
            [session_id, case_id],
        )
    ]
    if not votes:
        return None
    return sum(1 for v in votes if v != label) / len(votes)


def _policy(
    db: sqlite_utils.Database, pack_id: str, version: str, event: VerdictEvent, frontline: str
) -> str:
    """The policy a gold case tests: its first cited section's, else its label's, else (a
    no-violation answer citing nothing) the frontline decision's policy."""
    sections = {s.id: s for s in pack_sections(db, pack_id, version)}
    for c in event.citations:
        if c.section_id in sections and sections[c.section_id].policy:
            return sections[c.section_id].policy
    labels = {lab.id: lab for lab in pack_labels(db, pack_id, version)}
    label = labels.get(event.label or "")
    if label is not None and label.enforces and label.policy:
        return label.policy
    return frontline


def _is_quiz_copy(db: sqlite_utils.Database, case_id: str) -> bool:
    return (
        db.execute("SELECT 1 FROM quiz_items WHERE case_id = ?", [case_id]).fetchone() is not None
    )


def promote(db: sqlite_utils.Database, case_id: str) -> GoldCase:
    """Make a case gold from its final verdict: an arbiter's ruling, or SMEs' decided verdict.

    :class:`Refused`, nothing written: an unknown case (``unknown-case``), a case already
    gold (``already-gold``), a case with no arbitrated answer (open or disputed,
    ``not-arbitrated``), a hidden-gold copy of a shipped batch (``already-gold``).
    """
    with transaction(db):
        case = load_case(db, case_id)
        if case is None:
            raise Refused(RefusalReason.UNKNOWN_CASE, f"there is no case {case_id!r}")
        if load_gold(db, case_id) is not None:
            raise Refused(RefusalReason.ALREADY_GOLD, f"case {case_id} is already gold")
        shipped = db.execute(
            "SELECT gold_case_id FROM shipped_cases WHERE case_id = ?", [case_id]
        ).fetchone()
        if _is_quiz_copy(db, case_id):
            raise Refused(RefusalReason.ALREADY_GOLD, f"case {case_id} is a quiz's copy of gold")
        if shipped is not None and shipped[0] is not None:
            raise Refused(
                RefusalReason.ALREADY_GOLD,
                f"case {case_id} is a hidden-gold copy of gold case {shipped[0]}",
            )
        final = db.execute(
            "SELECT event_id, status FROM final_verdicts WHERE case_id = ?", [case_id]
        ).fetchone()
        if final is None or final[1] not in ("ruled", "decided") or final[0] is None:
            status = final[1] if final else "open"
            raise Refused(
                RefusalReason.NOT_ARBITRATED,
                f"case {case_id} has no arbitrated answer ({status}): only a calibration"
                " ruling or a decided SME verdict becomes gold",
            )
        event = VerdictEvent.from_row(
            next(iter(db.query("SELECT * FROM verdicts WHERE id = ?", [final[0]])))
        )
        assert event.label is not None
        policy = _policy(db, case.pack_id, case.pack_version, event, case.original.policy)
        source = "ruling" if final[1] == "ruled" else "verdict"
        row = {
            "case_id": case_id,
            "label": event.label,
            "citations": _citations_json(event.citations),
            "pack_id": case.pack_id,
            "pack_version": case.pack_version,
            "market": case.market,
            "policy": policy,
            "source": source,
            "event_id": event.id,
            "session_id": event.session_id,
            "difficulty": _difficulty(db, event.session_id, case_id, event.label),
            "promoted_at": utc_now_iso(),
            "retired_at": None,
            "retired_reason": None,
            "quiz_id": None,
        }
        db.table("gold_cases").insert(row)
    gold = load_gold(db, case_id)
    assert gold is not None
    return gold


def retire(db: sqlite_utils.Database, case_id: str, reason: str) -> GoldCase:
    """Retire a gold case by hand with a reason (``not-gold`` if it is not gold)."""
    reason = reason.strip()
    if not reason:
        raise Refused(RefusalReason.EMPTY, "say why the gold case retires")
    with transaction(db):
        gold = load_gold(db, case_id)
        if gold is None:
            raise Refused(RefusalReason.NOT_GOLD, f"case {case_id} is not a gold case")
        if gold.retired_at is None:
            db.execute(
                "UPDATE gold_cases SET retired_at = ?, retired_reason = ? WHERE case_id = ?",
                [utc_now_iso(), reason, case_id],
            )
    gold = load_gold(db, case_id)
    assert gold is not None
    return gold


def section_change(db: sqlite_utils.Database, citation: Citation) -> tuple[str, str] | None:
    """(newer version, what changed) when the cited section changed in a newer stored
    version of its pack; None while every newer version keeps it as it was."""
    cited = {s.id: s for s in pack_sections(db, citation.pack_id, citation.pack_version)}
    before = cited.get(citation.section_id)
    if before is None:
        return None
    for version in _stored_versions(db, citation.pack_id):
        if _version_key(version) <= _version_key(citation.pack_version):
            continue
        after = {s.id: s for s in pack_sections(db, citation.pack_id, version)}.get(
            citation.section_id
        )
        if after is None:
            return version, "removed"
        for what, old, new in (
            ("retired", before.status, after.status),
            ("text", before.body, after.body),
            ("title", before.title, after.title),
            ("labels", before.labels, after.labels),
        ):
            if old != new:
                return version, "retired" if what == "retired" else f"{what} changed"
    return None


def retire_changed(db: sqlite_utils.Database) -> list[GoldCase]:
    """Retire every active gold case citing a section that changed in a newer pack version;
    the cases retired now (each with the section, the version and what changed)."""
    retired: list[GoldCase] = []
    with transaction(db):
        for r in list(db.query("SELECT * FROM gold_cases WHERE retired_at IS NULL")):
            gold = _gold_from_row(r)
            for citation in gold.citations:
                change = section_change(db, citation)
                if change is None:
                    continue
                version, what = change
                reason = (
                    f"section {citation.section_id} {what} in {citation.pack_id} {version}"
                    f" (ruled under {citation.pack_version})"
                )
                db.execute(
                    "UPDATE gold_cases SET retired_at = ?, retired_reason = ? WHERE case_id = ?",
                    [utc_now_iso(), reason, gold.case_id],
                )
                retired.append(gold)
                break
    return retired


def gold_cases(
    db: sqlite_utils.Database,
    *,
    market: str | None = None,
    policy: str | None = None,
    include_retired: bool = True,
) -> list[GoldCase]:
    """The gold pool, oldest first, optionally of one market and policy."""
    where, params = ["1"], []
    if market:
        where.append("upper(market) = upper(?)")
        params.append(market)
    if policy:
        where.append("upper(policy) = upper(?)")
        params.append(policy)
    if not include_retired:
        where.append("retired_at IS NULL")
    return [
        _gold_from_row(r)
        for r in db.query(
            f"SELECT * FROM gold_cases WHERE {' AND '.join(where)} ORDER BY promoted_at, case_id",
            params,
        )
    ]


# -- hidden gold ----------------------------------------------------------------------------


def _new_case_id() -> str:
    return "c-" + secrets.token_hex(8)


def _media_name(original: str) -> str:
    suffix = Path(original).suffix.lower()
    return f"media/{secrets.token_hex(8)}{suffix}"


def case_record(
    db: sqlite_utils.Database, media: MediaStore, case_id: str
) -> tuple[dict[str, object], dict[str, bytes]]:
    """A stored case as a cases.jsonl record (its own id and media names) and its media
    files' bytes by name, decrypted into memory."""
    case = load_case(db, case_id)
    if case is None:
        raise Refused(RefusalReason.UNKNOWN_CASE, f"there is no case {case_id!r}")
    files = {m.name: media.media(m).read_bytes() for m in case.media}
    record: dict[str, object] = {
        "id": case.id,
        "content_type": case.content_type,
        "media": [m.name for m in case.media],
        "text": case.text,
        "market": case.market,
        "language": case.language,
        "tags": list(case.tags),
        "metadata": dict(case.metadata),
        "decision": {
            "label": case.original.label,
            "policy": case.original.policy,
            "moderator_id": case.original.moderator_id,
            "queue": case.original.queue,
            "decided_at": case.original.decided_at,
        },
    }
    return record, files


_DECISION_KEYS = ("label", "policy", "moderator_id", "queue", "decided_at")


def _normal_record(record: dict[str, object]) -> dict[str, object]:
    """Every record written with the same keys in the same order (no tell in the layout)."""
    decision = record.get("decision")
    assert isinstance(decision, dict)
    out: dict[str, object] = {
        "id": record["id"],
        "content_type": record["content_type"],
        "media": list(record.get("media") or []),  # type: ignore[call-overload]
        "text": record.get("text") or "",
        "market": record["market"],
        "language": record["language"],
        "tags": list(record.get("tags") or []),  # type: ignore[call-overload]
        "metadata": dict(record.get("metadata") or {}),  # type: ignore[call-overload]
        "decision": {k: decision[k] for k in _DECISION_KEYS},
    }
    return out


def _read_records(files: dict[str, bytes]) -> tuple[dict[str, object], list[dict[str, object]]]:
    try:
        header = json.loads(files["batch.json"])
    except (KeyError, ValueError) as exc:
        raise ValueError(f"batch.json: not a readable batch header ({exc})") from None
    if "cases.jsonl" not in files:
        raise ValueError(
            "cases.jsonl: hidden gold is mixed into batches whose cases are in cases.jsonl"
            " (a cases.csv batch: convert it first)"
        )
    records = []
    for number, line in enumerate(files["cases.jsonl"].decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"cases.jsonl line {number}: not JSON ({exc})") from None
        if not isinstance(record, dict) or not isinstance(record.get("decision"), dict):
            raise ValueError(f"cases.jsonl line {number}: not a case record")
        records.append(record)
    if not isinstance(header, dict):
        raise ValueError("batch.json: not a JSON object")
    return header, records


def ship_batch(
    db: sqlite_utils.Database,
    media: MediaStore,
    identity: keys.Identity,
    files: dict[str, bytes],
    out_dir: Path,
    *,
    share: float,
    seed: int | None = None,
) -> ShipResult:
    """Sign a case batch for reviewers with hidden gold mixed in; the signed .zip.

    About ``share`` of the shipped cases are active gold cases of the batch's pack (and its
    market, unless the batch is ``global``). Every case gets a fresh opaque id and media
    names, the cases are shuffled, and the records are written alike; the lead's database
    imports the shipped batch (so reviewers' verdicts merge) and keeps which shipped case is
    which gold case. All or nothing: :class:`Refused` (``not-enough-gold``) when the pool
    has no gold for a share above 0; ValueError for a batch that cannot be read or signed.
    """
    if not 0 <= share <= MAX_SHARE:
        raise ValueError(f"the hidden-gold share must be between 0 and {MAX_SHARE}, not {share}")
    header, records = _read_records(files)
    pack = header.get("guideline_pack")
    if not isinstance(pack, dict):
        raise ValueError("batch.json: no guideline_pack")
    market = str(header.get("market", ""))
    pool = [
        g
        for g in gold_cases(db, include_retired=False)
        if g.quiz_id is None
        and g.pack_id == pack.get("id")
        and g.pack_version == pack.get("version")
        and (market.lower() == "global" or g.market.lower() == market.lower())
    ]
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    wanted = round(share * len(records) / (1 - share)) if share else 0
    if share and wanted == 0:
        wanted = 1
    if wanted and not pool:
        raise Refused(
            RefusalReason.NOT_ENOUGH_GOLD,
            f"no active gold case of {pack.get('id')} {pack.get('version')} for market"
            f" {market}: promote some first",
        )
    chosen = rng.sample(pool, min(wanted, len(pool)))
    out_files: dict[str, bytes] = {"batch.json": files["batch.json"]}
    shipped: list[tuple[dict[str, object], str, str | None]] = []
    for record in records:
        shipped.append((_rename(record, files, out_files), str(record["id"]), None))
    for gold in chosen:
        record, media_files = case_record(db, media, gold.case_id)
        record["decision"] = _disguised_decision(record["decision"], records, rng)
        shipped.append((_rename(record, media_files, out_files), gold.case_id, gold.case_id))
    rng.shuffle(shipped)
    out_files["cases.jsonl"] = b"".join(
        json.dumps(r, ensure_ascii=False, separators=(", ", ": ")).encode() + b"\n"
        for r, _, _ in shipped
    )
    batch_id = str(header.get("id", ""))
    with transaction(db):
        _import_own(db, media, out_files)
        now = utc_now_iso()
        db.table("shipped_cases").insert_all(
            {
                "case_id": r["id"],
                "source_case_id": source,
                "gold_case_id": gold_id,
                "batch_id": batch_id,
                "shipped_at": now,
            }
            for r, source, gold_id in shipped
        )
        path = sign_case_batch_files(identity, out_files, out_dir, db=db)
    return ShipResult(path, batch_id, len(shipped), len(chosen))


def _disguised_decision(
    decision: object, ordinary: list[dict[str, object]], rng: random.Random
) -> dict[str, object]:
    """A gold copy's frontline decision as one of this batch's: its label and policy kept,
    the moderator and queue of a random ordinary case, and a decision time drawn uniformly
    between the ordinary cases' earliest and latest, written the way theirs are (a gold case
    kept its months-old time, a plain tell)."""
    assert isinstance(decision, dict)
    out = dict(decision)
    if not ordinary:
        return out
    model = rng.choice(ordinary)["decision"]
    assert isinstance(model, dict)
    out["moderator_id"], out["queue"] = model.get("moderator_id"), model.get("queue")
    out["decided_at"] = _drawn_time(
        [str(r["decision"]["decided_at"]) for r in ordinary],  # type: ignore[index]
        rng,
    )
    return out


def _drawn_time(times: list[str], rng: random.Random) -> str:
    """A time uniformly between the earliest and latest of ``times`` (ISO 8601), to the
    second, written like them (``Z`` or an offset); one of them if any cannot be read."""
    try:
        parsed = [datetime.fromisoformat(t) for t in times]
        low, high = min(parsed), max(parsed)
        drawn = low + (high - low) * rng.random()
    except (TypeError, ValueError):  # naive and aware mixed, or not ISO 8601
        return rng.choice(times)
    drawn = drawn.replace(microsecond=0)
    text = drawn.isoformat()
    if all(t.endswith("Z") for t in times) and text.endswith("+00:00"):
        text = text[: -len("+00:00")] + "Z"
    return text


def _rename(
    record: dict[str, object], media_files: dict[str, bytes], out_files: dict[str, bytes]
) -> dict[str, object]:
    """The record with a fresh id and fresh media names, its media added to ``out_files``."""
    record = _normal_record(record)
    names = []
    for name in record["media"]:  # type: ignore[attr-defined]
        if name not in media_files:
            raise ValueError(
                f"cases.jsonl: case {record['id']!r} names media {name!r}, not in the batch"
            )
        new = _media_name(str(name))
        out_files[new] = media_files[name]
        names.append(new)
    record["media"] = names
    record["id"] = _new_case_id()
    return record


def _import_own(db: sqlite_utils.Database, media: MediaStore, files: dict[str, bytes]) -> None:
    """Import the shipped batch into the lead's own database from memory (its cases' media
    go into the sealed store; nothing else touches the disk)."""
    header = files.get("batch.json", b"")
    import_batch_files(db, media, f"shipped batch {_batch_id(header)}", files)


def _batch_id(header: bytes) -> str:
    try:
        found = json.loads(header)
    except ValueError:
        return "?"
    return str(found.get("id", "?")) if isinstance(found, dict) else "?"


def _names(db: sqlite_utils.Database) -> dict[str, str]:
    names: dict[str, str] = {}
    for rid, name in db.execute(
        "SELECT reviewer_id, signer_name FROM trusted_keys WHERE reviewer_id IS NOT NULL"
        " UNION ALL SELECT id, display_name FROM reviewers"
    ):
        names.setdefault(rid, name)
    return names


def accuracy(db: sqlite_utils.Database) -> GoldAccuracy:
    """Each reviewer's verdicts on hidden gold against the gold answer: by policy, by ISO
    week of the verdict, with Wilson intervals; and every miss with the ruling."""
    rows = list(
        db.query(
            "SELECT ev.reviewer_id, ev.label AS answered, ev.created_at, s.case_id,"
            " g.case_id AS gold_case_id, g.label AS gold_label, g.policy, g.citations"
            " FROM shipped_cases s JOIN gold_cases g ON g.case_id = s.gold_case_id"
            " JOIN effective_verdicts ev ON ev.case_id = s.case_id"
            " WHERE ev.label IS NOT NULL AND ev.role = 'sme'"
            " ORDER BY ev.created_at, s.case_id"
        )
    )
    names = _names(db)
    by_policy: dict[tuple[str, str], list[int]] = {}
    by_week: dict[tuple[str, str], list[int]] = {}
    misses: list[GoldMiss] = []
    for r in rows:
        ok = int(r["answered"] == r["gold_label"])
        year, week, _ = datetime.fromisoformat(
            str(r["created_at"]).replace("Z", "+00:00")
        ).isocalendar()
        for counter, group in ((by_policy, str(r["policy"])), (by_week, f"{year}-W{week:02d}")):
            counts = counter.setdefault((str(r["reviewer_id"]), group), [0, 0])
            counts[0] += ok
            counts[1] += 1
        if not ok:
            misses.append(
                GoldMiss(
                    reviewer_id=str(r["reviewer_id"]),
                    reviewer=names.get(str(r["reviewer_id"]), str(r["reviewer_id"])),
                    case_id=str(r["case_id"]),
                    gold_case_id=str(r["gold_case_id"]),
                    answered=str(r["answered"]),
                    ruling=str(r["gold_label"]),
                    citations=citations_from_json(str(r["citations"])),
                    answered_at=str(r["created_at"]),
                )
            )

    def table(counts: dict[tuple[str, str], list[int]]) -> tuple[AccuracyRow, ...]:
        return tuple(
            AccuracyRow(rid, names.get(rid, rid), group, c, n, wilson(c, n))
            for (rid, group), (c, n) in sorted(
                counts.items(), key=lambda kv: (names.get(kv[0][0], kv[0][0]), kv[0][1])
            )
        )

    return GoldAccuracy(table(by_policy), table(by_week), tuple(misses))


class Gold:
    """The gold room (``ws.gold``): promote, list and retire gold cases; ship hidden gold;
    score reviewers against it."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        media: MediaStore,
    ) -> None:
        self._db = db
        self._media = media

    def promote(self, case_id: str) -> GoldCase:
        """Make a case gold from its ruling or decided verdict (see :func:`promote`)."""
        return promote(self._db, case_id)

    def retire(self, case_id: str, reason: str) -> GoldCase:
        """Retire a gold case by hand, saying why."""
        return retire(self._db, case_id, reason)

    def case(self, case_id: str) -> GoldCase | None:
        """The gold case with that id, or None."""
        return load_gold(self._db, case_id)

    def cases(
        self, *, market: str | None = None, policy: str | None = None, include_retired: bool = True
    ) -> list[GoldCase]:
        """The pool (retiring first the cases whose cited sections changed)."""
        retire_changed(self._db)
        return gold_cases(self._db, market=market, policy=policy, include_retired=include_retired)

    def retire_changed(self) -> list[GoldCase]:
        """Retire the cases whose cited sections changed in a newer pack version."""
        return retire_changed(self._db)

    def ship_batch(
        self,
        identity: keys.Identity,
        files: dict[str, bytes],
        out_dir: Path,
        *,
        share: float,
        seed: int | None = None,
    ) -> ShipResult:
        """Sign a batch for reviewers with hidden gold mixed in (see :func:`ship_batch`)."""
        retire_changed(self._db)
        return ship_batch(
            self._db,
            self._media,
            identity,
            files,
            out_dir,
            share=share,
            seed=seed,
        )

    def accuracy(self) -> GoldAccuracy:
        """Per-reviewer accuracy against hidden gold (see :func:`accuracy`)."""
        return accuracy(self._db)
