"""Cases as the reviewer sees them: the queue (paged, lazily, filtered) and one case in full.

Each queue row carries the QA outcome and the RCA / policy-gap flags of the reviewer's
effective verdict, computed in SQL, so filtering and keyset paging stay in the database::

    only = QueueFilter(status="done", outcome="under_enforcement")
    page = queue_page(db, me.id, filter=only, limit=200)
    more = queue_page(db, me.id, filter=only, after_seq=page[-1].seq)
    save_view(db, "missed removals", only)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlite_utils

from .clock import utc_now_iso
from .outcomes import OUTCOMES, outcome_sql
from .store import transaction


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
    batch_signer: str | None = None
    """Who signed the case's batch (the trust store's name), or None: imported unsigned."""

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
    outcome: str | None = None
    """The QA outcome (see :mod:`.outcomes`), None while the case is undecided."""
    rca: bool = False
    """The verdict is escalated for root-cause analysis."""
    gap: bool = False
    """The verdict flags a policy gap."""


STATUSES = ("all", "open", "done")
FLAGS = ("rca", "gap", "any")


@dataclass(frozen=True)
class QueueFilter:
    """Which cases the queue shows; every field left at its default lets everything through.

    ``reviewer`` names whose verdicts decide status, outcome and flags (None: the reviewer
    the queue is asked for, i.e. the local one). ``text`` matches a substring of the case id
    or text, ignoring ASCII case::

        QueueFilter(status="done", outcome="over_enforcement", market="DE")
    """

    status: str = "all"
    market: str | None = None
    policy: str | None = None
    original_label: str | None = None
    outcome: str | None = None
    flag: str | None = None
    reviewer: str | None = None
    text: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.flag is not None and self.flag not in FLAGS:
            raise ValueError(f"flag must be one of {', '.join(FLAGS)} or none, not {self.flag!r}")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(
                f"outcome must be one of {', '.join(OUTCOMES)} or none, not {self.outcome!r}"
            )

    def to_json(self) -> str:
        """The filter as a JSON object (what a saved view stores)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> QueueFilter:
        """Rebuild a filter from :meth:`to_json`'s output; unknown keys are ignored."""
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


_QUEUE_SQL = f"""
    SELECT c.seq, c.id, c.market, c.orig_policy, c.orig_label, c.content_type, ev.label,
        {outcome_sql("ev.label", "ol", "fl")} AS outcome,
        COALESCE(ev.rca_reason IS NOT NULL, 0) AS rca,
        COALESCE(ev.gap_kind IS NOT NULL, 0) AS gap,
        c.text
    FROM cases c
    JOIN batches b ON b.id = c.batch_id
    LEFT JOIN effective_verdicts ev ON ev.case_id = c.id AND ev.reviewer_id = :reviewer
    LEFT JOIN guideline_labels ol ON ol.pack_id = b.pack_id
        AND ol.pack_version = b.pack_version AND ol.id = c.orig_label
    LEFT JOIN guideline_labels fl ON fl.pack_id = b.pack_id
        AND fl.pack_version = b.pack_version AND fl.id = ev.label
"""
_ROW_COLUMNS = (
    "q.seq, q.id, q.market, q.orig_policy, q.orig_label, q.content_type, q.label, "
    "q.outcome, q.rca, q.gap"
)
_FILTERED_SQL = f"SELECT {_ROW_COLUMNS} FROM ({_QUEUE_SQL}) q"


def _row(values: tuple) -> QueueRow:
    *fields, rca, gap = values
    return QueueRow(*fields, rca=bool(rca), gap=bool(gap))


def _where(filter: QueueFilter | None, extra: list[str] | None = None) -> tuple[str, dict]:
    """The WHERE clause (over the queue subquery ``q``) and its parameters for ``filter``."""
    clauses, params = list(extra or []), {}
    if filter is not None:
        if filter.status == "open":
            clauses.append("q.label IS NULL")
        elif filter.status == "done":
            clauses.append("q.label IS NOT NULL")
        for name, column in (
            ("market", "q.market"),
            ("policy", "q.orig_policy"),
            ("original_label", "q.orig_label"),
            ("outcome", "q.outcome"),
        ):
            value = getattr(filter, name)
            if value is not None:
                clauses.append(f"{column} = :f_{name}")
                params[f"f_{name}"] = value
        if filter.flag == "rca":
            clauses.append("q.rca")
        elif filter.flag == "gap":
            clauses.append("q.gap")
        elif filter.flag == "any":
            clauses.append("(q.rca OR q.gap)")
        if filter.text:
            clauses.append("(q.id LIKE :f_text ESCAPE '\\' OR q.text LIKE :f_text ESCAPE '\\')")
            params["f_text"] = "%" + _escape_like(filter.text) + "%"
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _reviewer(filter: QueueFilter | None, reviewer_id: str) -> str:
    return filter.reviewer if filter is not None and filter.reviewer else reviewer_id


def case_count(
    db: sqlite_utils.Database, filter: QueueFilter | None = None, reviewer_id: str = ""
) -> int:
    """How many cases the queue holds (that pass ``filter``, judged by ``reviewer_id``)."""
    if filter is None or filter == QueueFilter():
        return int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])
    where, params = _where(filter)
    params["reviewer"] = _reviewer(filter, reviewer_id)
    sql = f"SELECT COUNT(*) FROM ({_QUEUE_SQL}) q{where}"
    return int(db.execute(sql, params).fetchone()[0])


def queue_page(
    db: sqlite_utils.Database,
    reviewer_id: str,
    *,
    after_seq: int | None = None,
    offset: int = 0,
    limit: int = 200,
    filter: QueueFilter | None = None,
) -> list[QueueRow]:
    """A page of queue rows in queue order, only those passing ``filter``.

    Keyset paging (``after_seq``) is used when the previous page is known; ``offset``
    when jumping straight into the middle of a long queue.
    """
    if after_seq is not None:
        where, params = _where(filter, ["q.seq > :after"])
        params["after"] = after_seq
        sql = f"{_FILTERED_SQL}{where} ORDER BY q.seq LIMIT :limit"
    else:
        where, params = _where(filter)
        params["offset"] = offset
        sql = f"{_FILTERED_SQL}{where} ORDER BY q.seq LIMIT :limit OFFSET :offset"
    params.update(reviewer=_reviewer(filter, reviewer_id), limit=limit)
    return [_row(row) for row in db.execute(sql, params).fetchall()]


def queue_row(
    db: sqlite_utils.Database,
    reviewer_id: str,
    case_id: str,
    filter: QueueFilter | None = None,
) -> QueueRow | None:
    """The queue row of one case (None if there is no such case or ``filter`` hides it)."""
    where, params = _where(filter, ["q.id = :id"])
    params.update(reviewer=_reviewer(filter, reviewer_id), id=case_id)
    found = db.execute(_FILTERED_SQL + where, params).fetchone()
    return _row(found) if found else None


def queue_index(
    db: sqlite_utils.Database,
    case_id: str,
    filter: QueueFilter | None = None,
    reviewer_id: str = "",
) -> int | None:
    """The 0-based position of a case in the (filtered) queue, or None if it is not there."""
    if filter is None:
        row = db.execute("SELECT seq FROM cases WHERE id = ?", [case_id]).fetchone()
        if row is None:
            return None
        return int(db.execute("SELECT COUNT(*) FROM cases WHERE seq < ?", [row[0]]).fetchone()[0])
    found = queue_row(db, reviewer_id, case_id, filter)
    if found is None:
        return None
    where, params = _where(filter, ["q.seq < :seq"])
    params.update(reviewer=_reviewer(filter, reviewer_id), seq=found.seq)
    return int(db.execute(f"SELECT COUNT(*) FROM ({_QUEUE_SQL}) q{where}", params).fetchone()[0])


# -- saved views ------------------------------------------------------------------------------


def save_view(db: sqlite_utils.Database, name: str, filter: QueueFilter) -> None:
    """Save ``filter`` under ``name``, replacing a view of that name."""
    name = name.strip()
    if not name:
        raise ValueError("a saved view needs a name")
    with transaction(db):
        db["saved_views"].upsert(
            {"name": name, "filter": filter.to_json(), "saved_at": utc_now_iso()}, pk="name"
        )


def saved_views(db: sqlite_utils.Database) -> list[tuple[str, QueueFilter]]:
    """Every saved view as (name, filter), by name."""
    rows = db.execute("SELECT name, filter FROM saved_views ORDER BY name").fetchall()
    return [(name, QueueFilter.from_json(text)) for name, text in rows]


def delete_view(db: sqlite_utils.Database, name: str) -> bool:
    """Delete the saved view ``name``; True if there was one."""
    with transaction(db):
        cursor = db.execute("DELETE FROM saved_views WHERE name = ?", [name])
    return cursor.rowcount > 0


def _signer_of(status: str, name: str | None) -> str | None:
    """The signer to show for a batch's ``signature_status`` (None when unsigned)."""
    if not status.startswith("signed:"):
        return None
    return name or f"key {status.removeprefix('signed:')} (no longer trusted)"


def load_case(db: sqlite_utils.Database, case_id: str) -> Case | None:
    """One case with its media and the guideline pack its batch names."""
    rows = list(
        db.query(
            "SELECT c.*, b.pack_id, b.pack_version, b.signature_status, k.signer_name"
            " FROM cases c JOIN batches b ON b.id = c.batch_id"
            " LEFT JOIN trusted_keys k ON b.signature_status = 'signed:' || k.key_id"
            " WHERE c.id = ?",
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
        batch_signer=_signer_of(r["signature_status"], r["signer_name"]),
    )
