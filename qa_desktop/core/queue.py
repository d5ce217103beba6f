"""The queue: cases paged lazily in queue order, filtered in SQL, and saved views of it.

Each row carries the judging reviewer's verdict and flags, the case's final verdict (the
``final_verdicts`` view, see :mod:`.store`) and the QA outcome computed against it, all in
SQL, so filtering and keyset paging stay in the database. Through the Workspace::

    only = QueueFilter(status="done", outcome="under_enforcement")
    page = ws.queue.page(filter=only, limit=200)
    more = ws.queue.page(filter=only, after_seq=page[-1].seq)
    ws.queue.save_view("missed removals", only)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import sqlite_utils

from .cases import Case, MediaFile, load_case
from .clock import utc_now_iso
from .errors import Refused
from .media_store import MediaStore, StoredMedia
from .outcomes import OUTCOMES, outcome_sql
from .store import transaction
from .vocab import ContentType, RefusalReason


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
    final_label: str | None = None
    """The case's final verdict (see ``final_verdicts`` in :mod:`.store`), None if none."""
    disputed: bool = False
    """Reviewers disagree and nobody has ruled: the case has no final verdict."""


STATUSES = ("all", "open", "done", "disputed")
"""``open``/``done``: the judging reviewer has (not) decided; ``disputed``: no final verdict
because reviewers disagree."""
FLAGS = ("rca", "gap", "any")

SET_ASIDE_SQL = (
    "SELECT case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL"
    " UNION ALL SELECT i.case_id FROM quiz_items i JOIN quizzes z ON z.id = i.quiz_id"
    " WHERE z.received_at IS NULL"
)
"""The cases a lead's app holds only because it shipped them as answers to a known key:
hidden-gold copies and the items of the quizzes it built (``core/gold.py``,
``core/quizzes.py``). They exist so reviewers' verdicts and attempts merge; they are not in
the lead's queue. (A reviewer's app has none: its quiz cases are received, not built.)"""


@dataclass(frozen=True)
class QueueFilter:
    """Which cases the queue shows; every field left at its default lets everything through.

    ``reviewer`` names whose verdicts decide status, outcome and flags (None: the reviewer
    the queue is asked for, i.e. the local one). ``moderator``, ``queue``, ``content_type``
    and ``batch_id`` match the original decision's frontline moderator and queue, the kind of
    content and the batch the case came in. ``text`` matches a substring of the case id,
    text or one of its tags, ignoring ASCII case::

        QueueFilter(status="done", outcome="over_enforcement", market="DE", moderator="m-007")

    A saved view from before a field existed loads with that field at its default.
    """

    status: str = "all"
    market: str | None = None
    policy: str | None = None
    original_label: str | None = None
    outcome: str | None = None
    flag: str | None = None
    reviewer: str | None = None
    text: str = ""
    moderator: str | None = None
    queue: str | None = None
    content_type: str | None = None
    batch_id: str | None = None
    case_ids: tuple[str, ...] = ()
    """Only these cases (the cases behind a report figure); empty lets every case through."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "case_ids", tuple(self.case_ids))  # JSON gives a list
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.flag is not None and self.flag not in FLAGS:
            raise ValueError(f"flag must be one of {', '.join(FLAGS)} or none, not {self.flag!r}")
        if self.content_type is not None and self.content_type not in set(ContentType):
            raise ValueError(
                f"content_type must be image, video or text, not {self.content_type!r}"
            )
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


def _queue_sql(driver: str = "") -> str:
    """The queue's rows (before filtering) as SQL, starting from ``driver``.

    The case's verdicts come from the maintained tables (migration 17): ``current_verdicts``
    holds the ``effective_verdicts`` row of each reviewer on each case, ``case_finals`` the
    ``final_verdicts`` row of each case that had a verdict (no row: ``open``). ``driver``
    says which index the query starts from (see :func:`_driver`): ``""`` walks the cases in
    seq order; ``"done"``, ``"rca"``, ``"gap"`` and ``"flagged"`` the judging reviewer's
    current verdicts of that kind; ``"disputed"`` and ``"decided"`` the case finals of that
    kind. Each walks its index in seq order, so a selective filter reads only its rows.
    """
    # Other than as the driver, the judging reviewer's verdict is read by its primary key
    # for each row (a LEFT JOIN gets a Bloom filter built over every verdict per query).
    mine = "FROM current_verdicts m WHERE m.case_id = c.id AND m.reviewer_id = :reviewer"
    label, rca, gap = (f"(SELECT m.{column} {mine})" for column in ("label", "rca", "gap"))
    if driver in ("done", "rca", "gap", "flagged"):
        start = "current_verdicts ev CROSS JOIN cases c ON c.seq = ev.seq"
        finals = "LEFT JOIN case_finals fv ON fv.case_id = c.id"
        seq = "ev.seq"
        label, rca, gap = "ev.label", "ev.rca", "ev.gap"
        condition = {
            "done": "ev.label IS NOT NULL",
            "rca": "ev.rca",
            "gap": "ev.gap",
            "flagged": "(ev.rca OR ev.gap)",
        }[driver]
        where = f"WHERE ev.reviewer_id = :reviewer AND {condition}"
    elif driver in ("disputed", "decided"):
        start = "case_finals fv CROSS JOIN cases c ON c.seq = fv.seq"
        finals, seq = "", "fv.seq"
        where = (
            "WHERE fv.status = 'disputed'" if driver == "disputed" else "WHERE fv.label IS NOT NULL"
        )
    else:
        start, seq, where = "cases c", "c.seq", ""
        finals = "LEFT JOIN case_finals fv ON fv.case_id = c.id"
    where = f"{where} {'AND' if where else 'WHERE'} c.id NOT IN ({SET_ASIDE_SQL})"
    return f"""
    SELECT {seq} AS seq, c.id, c.market, c.orig_policy, c.orig_label, c.content_type,
        {label} AS label,
        {outcome_sql("fv.label", "ol", "fl")} AS outcome,
        COALESCE({rca}, 0) AS rca,
        COALESCE({gap}, 0) AS gap,
        fv.label AS final_label,
        COALESCE(fv.status = 'disputed', 0) AS disputed,
        c.text, c.tags, c.orig_moderator, c.orig_queue, c.batch_id
    FROM {start}
    JOIN batches b ON b.id = c.batch_id
    {finals}
    LEFT JOIN guideline_labels ol ON ol.pack_id = b.pack_id
        AND ol.pack_version = b.pack_version AND ol.id = c.orig_label
    LEFT JOIN guideline_labels fl ON fl.pack_id = b.pack_id
        AND fl.pack_version = b.pack_version AND fl.id = fv.label
    {where}
"""


def _driver(filter: QueueFilter | None) -> str:
    """Which maintained index a query for ``filter`` starts from ("" for the cases).

    The most selective a filter implies: a dispute, then a flag, then the reviewer's
    decisions, then (an outcome needs a final label) the decided cases.
    """
    if filter is None:
        return ""
    if filter.status == "disputed":
        return "disputed"
    if filter.flag is not None:
        return {"rca": "rca", "gap": "gap", "any": "flagged"}[filter.flag]
    if filter.status == "done":
        return "done"
    if filter.outcome is not None:
        return "decided"
    return ""


_ROW_COLUMNS = (
    "q.seq, q.id, q.market, q.orig_policy, q.orig_label, q.content_type, q.label, "
    "q.outcome, q.rca, q.gap, q.final_label, q.disputed"
)


def _filtered_sql(filter: QueueFilter | None) -> str:
    """The queue's rows for ``filter`` (before its WHERE), from the filter's best index."""
    return f"SELECT {_ROW_COLUMNS} FROM ({_queue_sql(_driver(filter))}) q"


def _row(values: tuple) -> QueueRow:
    *fields, rca, gap, final_label, disputed = values
    seq, case_id, market, policy, original, content_type, my_label, outcome = fields
    return QueueRow(
        seq,
        case_id,
        market,
        policy,
        original,
        content_type,
        my_label,
        outcome,
        rca=bool(rca),
        gap=bool(gap),
        final_label=final_label,
        disputed=bool(disputed),
    )


def _where(filter: QueueFilter | None, extra: list[str] | None = None) -> tuple[str, dict]:
    """The WHERE clause (over the queue subquery ``q``) and its parameters for ``filter``."""
    clauses, params = list(extra or []), {}
    if filter is not None:
        if filter.status == "open":
            clauses.append("q.label IS NULL")
        elif filter.status == "done":
            clauses.append("q.label IS NOT NULL")
        elif filter.status == "disputed":
            clauses.append("q.disputed")
        for name, column in (
            ("market", "q.market"),
            ("policy", "q.orig_policy"),
            ("original_label", "q.orig_label"),
            ("outcome", "q.outcome"),
            ("moderator", "q.orig_moderator"),
            ("queue", "q.orig_queue"),
            ("content_type", "q.content_type"),
            ("batch_id", "q.batch_id"),
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
        if filter.case_ids:
            clauses.append("q.id IN (SELECT value FROM json_each(:f_case_ids))")
            params["f_case_ids"] = json.dumps(list(filter.case_ids))
        if filter.text:
            clauses.append(
                "(q.id LIKE :f_text ESCAPE '\\' OR q.text LIKE :f_text ESCAPE '\\'"
                " OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(q.tags)"
                " THEN q.tags END) t WHERE t.value LIKE :f_text ESCAPE '\\'))"
            )
            params["f_text"] = "%" + _escape_like(filter.text) + "%"
            if len(filter.text) >= FIND_INDEX_MIN:
                # The ids whose suffixes start with the text (exact), and the cases whose
                # text or tags the trigram index says could hold it (it folds case at least
                # as widely as LIKE does): the LIKE above keeps the exact meaning.
                low, high = id_suffix_range(filter.text)
                below = " AND suffix < :f_high" if high is not None else ""
                clauses.append(
                    "q.seq IN (SELECT seq FROM case_id_suffixes WHERE suffix >= :f_low"
                    f"{below} UNION ALL"
                    " SELECT rowid FROM case_find WHERE case_find MATCH :f_find)"
                )
                params.update(f_low=low, f_high=high)
                params["f_find"] = '"' + filter.text.replace('"', '""') + '"'
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


FIND_INDEX_MIN = 3
"""A find of this many characters or more is looked up in the id suffixes
(``case_id_suffixes``, migration 21) and the trigram index of texts and tags
(``case_find``, migration 18); a shorter one reads every case."""


def id_suffix_range(text: str) -> tuple[str, str | None]:
    """The range of ``case_id_suffixes`` (migration 21) whose suffixes start with ``text``
    folded as ``LIKE`` and SQLite's ``lower()`` fold it (ASCII letters only): ``low <=
    suffix < high``, no upper bound when ``high`` is None. Suffixes compare as UTF-8 bytes,
    in code point order, so the bound is ``text`` with its last character raised by one
    (past the surrogates, which UTF-8 cannot hold; a last U+10FFFF is dropped first)."""
    low = text.translate(_ASCII_LOWER)
    stem = low.rstrip("\U0010ffff")
    if not stem:
        return low, None
    after = ord(stem[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:
        after = 0xE000
    return low, stem[:-1] + chr(after)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _reviewer(filter: QueueFilter | None, reviewer_id: str) -> str:
    return filter.reviewer if filter is not None and filter.reviewer else reviewer_id


def case_count(
    db: sqlite_utils.Database, filter: QueueFilter | None = None, reviewer_id: str = ""
) -> int:
    """How many cases the queue holds (that pass ``filter``, judged by ``reviewer_id``)."""
    if filter is None or filter == QueueFilter():
        total = int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])
        return total - len(set_aside_seqs(db))
    return _count(db, filter, _reviewer(filter, reviewer_id))


def set_aside_seqs(db: sqlite_utils.Database) -> list[int]:
    """The seqs of the cases left out of the queue (:data:`SET_ASIDE_SQL`), ascending."""
    return [
        int(row[0])
        for row in db.execute(f"SELECT seq FROM cases WHERE id IN ({SET_ASIDE_SQL}) ORDER BY seq")
    ]


def _count(db: sqlite_utils.Database, filter: QueueFilter, reviewer: str, before: int = 0) -> int:
    """How many cases pass ``filter`` (only those with a seq below ``before``, if not 0).

    A filter on status and flags alone is counted in the maintained tables' indexes (an
    open case is one of the cases that is not done), so its cost is the number of matching
    verdicts, never the number of cases; any other filter counts its query's rows.
    """
    params: dict[str, object] = {"reviewer": reviewer, "before": before}
    bound = " AND seq < :before" if before else ""
    if replace(filter, status="all", flag=None, reviewer=None) == QueueFilter():
        flag = {None: "", "rca": " AND rca", "gap": " AND gap", "any": " AND (rca OR gap)"}
        status = filter.status
        if filter.flag is None and status in ("all", "open"):
            sql = f"SELECT COUNT(*) FROM cases WHERE 1{bound}"
            total = _count_in_queue(db, sql, params, "id")
            if status == "all":
                return total
            return total - _count(db, replace(filter, status="done"), reviewer, before)
        if status in ("all", "done"):
            done = " AND label IS NOT NULL" if status == "done" else ""
            sql = (
                "SELECT COUNT(*) FROM current_verdicts WHERE reviewer_id = :reviewer"
                f"{done}{flag[filter.flag]}{bound}"
            )
            return _count_in_queue(db, sql, params)
        if status == "disputed" and filter.flag is None:
            sql = f"SELECT COUNT(*) FROM case_finals WHERE status = 'disputed'{bound}"
            return _count_in_queue(db, sql, params)
    where, query = _where(filter, ["q.seq < :before"] if before else None)
    query.update(params)
    sql = f"SELECT COUNT(*) FROM ({_queue_sql(_driver(filter))}) q{where}"
    return int(db.execute(sql, query).fetchone()[0])


def _count_in_queue(
    db: sqlite_utils.Database, sql: str, params: dict[str, object], column: str = "case_id"
) -> int:
    """``sql`` (a ``SELECT COUNT(*) ... WHERE ...`` over the cases or a maintained table)
    less the set-aside cases it counts: the index count stays as it was, and the few
    set-aside cases are looked up by their keys."""
    total = int(db.execute(sql, params).fetchone()[0])
    aside = int(db.execute(f"{sql} AND {column} IN ({SET_ASIDE_SQL})", params).fetchone()[0])
    return total - aside


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
        sql = f"{_filtered_sql(filter)}{where} ORDER BY q.seq LIMIT :limit"
    else:
        where, params = _where(filter)
        params["offset"] = offset
        sql = f"{_filtered_sql(filter)}{where} ORDER BY q.seq LIMIT :limit OFFSET :offset"
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
    # One case by its id: start from it, whatever the filter (never from a filter's index).
    sql = f"SELECT {_ROW_COLUMNS} FROM ({_queue_sql()}) q{where}"
    found = db.execute(sql, params).fetchone()
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
        aside = set_aside_seqs(db)
        if row is None or row[0] in aside:
            return None
        before = int(db.execute("SELECT COUNT(*) FROM cases WHERE seq < ?", [row[0]]).fetchone()[0])
        return before - sum(1 for seq in aside if seq < row[0])
    found = queue_row(db, reviewer_id, case_id, filter)
    if found is None:
        return None
    return _count(db, filter, _reviewer(filter, reviewer_id), before=found.seq)


# -- saved views ------------------------------------------------------------------------------


def save_view(db: sqlite_utils.Database, name: str, filter: QueueFilter) -> None:
    """Save ``filter`` under ``name``, replacing a view of that name."""
    name = name.strip()
    if not name:
        raise ValueError("a saved view needs a name")
    with transaction(db):
        db.table("saved_views").upsert(
            {"name": name, "filter": filter.to_json(), "saved_at": utc_now_iso()}, pk="name"
        )


def saved_views(db: sqlite_utils.Database) -> list[tuple[str, QueueFilter]]:
    """Every saved view as (name, filter), by name."""
    rows = db.execute("SELECT name, filter FROM saved_views ORDER BY name").fetchall()
    return [(name, QueueFilter.from_json(text)) for name, text in rows]


def rename_view(db: sqlite_utils.Database, old: str, new: str) -> bool:
    """Rename the saved view ``old`` to ``new`` in one transaction; True if ``old`` existed.

    Refuses (``duplicate-name``) a new name another view already has: renaming never
    overwrites a view.
    """
    new = new.strip()
    if not new:
        raise ValueError("a saved view needs a name")
    with transaction(db):
        if db.execute("SELECT 1 FROM saved_views WHERE name = ?", [old]).fetchone() is None:
            return False
        if new != old and db.execute("SELECT 1 FROM saved_views WHERE name = ?", [new]).fetchone():
            raise Refused(
                RefusalReason.DUPLICATE_NAME, f"there is already a saved view named {new!r}"
            )
        db.execute("UPDATE saved_views SET name = ? WHERE name = ?", [new, old])
    return True


def delete_view(db: sqlite_utils.Database, name: str) -> bool:
    """Delete the saved view ``name``; True if there was one."""
    with transaction(db):
        cursor = db.execute("DELETE FROM saved_views WHERE name = ?", [name])
    return cursor.rowcount > 0


def facet_values(db: sqlite_utils.Database, column: str) -> list[str]:
    """The distinct values of one of :data:`FACET_COLUMNS` (all NOT NULL) among the cases of
    the queue, in order: a value only set-aside cases hold (:data:`SET_ASIDE_SQL`, such as
    the batch of a quiz the lead built) is left out.

    A loose index scan (each next value is one index seek past the previous one), so the
    cost grows with the number of distinct values, not of cases: ``SELECT DISTINCT`` reads
    every case.
    """
    if column not in FACET_COLUMNS:
        raise ValueError(f"not a facet column: {column!r}")
    return [
        row[0]
        for row in db.execute(
            f"""WITH RECURSIVE d(v) AS (
                SELECT MIN({column}) FROM cases
                UNION ALL
                SELECT (SELECT MIN({column}) FROM cases WHERE {column} > d.v) FROM d
                WHERE d.v IS NOT NULL
            ) SELECT v FROM d WHERE v IS NOT NULL AND {_in_queue(column, "d.v")}"""
        )
    ]


def _in_queue(column: str, value: str) -> str:
    """SQL: no set-aside case holds ``value`` in ``column``, or some case not set aside does.

    Only the few values set-aside cases hold are looked up case by case, through the
    column's index (named: with statistics, the planner read every case in rowid order to
    find one, and a quiz batch's cases are the newest)."""
    return (
        f"({value} NOT IN (SELECT s.{column} FROM cases s WHERE s.id IN ({SET_ASIDE_SQL}))"
        f" OR EXISTS (SELECT 1 FROM cases c INDEXED BY {_FACET_INDEXES[column]}"
        f" WHERE c.{column} = {value} AND c.id NOT IN ({SET_ASIDE_SQL})))"
    )


def dense_seq_base(db: sqlite_utils.Database) -> int | None:
    """The seq just before the first case if the cases' seqs have no gaps (position ``p``
    of the unfiltered queue is then seq ``base + 1 + p``), else None.

    Cases are never deleted and SQLite gives each new case the largest seq plus one, so
    the seqs are dense; this checks it (``MAX - MIN + 1 == COUNT``) rather than trusting it.
    """
    low, high = db.execute(
        "SELECT (SELECT MIN(seq) FROM cases), (SELECT MAX(seq) FROM cases)"
    ).fetchone()
    if low is None:
        return None
    count = int(db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])
    return int(low) - 1 if high - low + 1 == count else None


FACET_COLUMNS = (
    "market",
    "orig_policy",
    "orig_label",
    "orig_moderator",
    "orig_queue",
    "content_type",
    "batch_id",
)
"""Case columns whose distinct values the filter bar offers."""

_FACET_INDEXES = {column: f"cases_{column}" for column in FACET_COLUMNS} | {
    "batch_id": "cases_batch"
}
"""Each facet column's index (made by the migrations in ``store.py``)."""


class Queue:
    """The queue room (``ws.queue``): pages, rows, positions, facets, saved views, one case."""

    def __init__(
        self, db: sqlite_utils.Database, media: MediaStore, reviewer_id: Callable[[], str]
    ) -> None:
        self._db = db
        self._media = media
        self._reviewer_id = reviewer_id
        self._dense_key: tuple[int | None, int | None] = (None, None)
        self._dense_base: int | None = None

    def _seq_base(self) -> int | None:
        """:func:`dense_seq_base`, re-checked only when the first or last seq changed (cases
        are only ever added), so jumping into a long queue costs two index seeks."""
        low, high = self._db.execute(
            "SELECT (SELECT MIN(seq) FROM cases), (SELECT MAX(seq) FROM cases)"
        ).fetchone()
        if (low, high) != self._dense_key:
            old_low, old_high = self._dense_key
            if self._dense_base is not None and low == old_low and high > (old_high or 0):
                # Dense before and only cases after the old last seq added: count those.
                added = self._db.execute(
                    "SELECT COUNT(*) FROM cases WHERE seq > ?", [old_high]
                ).fetchone()[0]
                self._dense_base = self._dense_base if added == high - old_high else None
            else:
                self._dense_base = dense_seq_base(self._db)
            self._dense_key = (low, high)
        return self._dense_base

    def count(self, filter: QueueFilter | None = None) -> int:
        """How many cases the queue holds (that pass ``filter``).

        Without a filter, while the seqs are dense (:func:`dense_seq_base`), the count is
        the last seq less the base: two index seeks, not a walk over every case."""
        if filter is None:
            base = self._seq_base()
            if base is not None:
                return int(self._dense_key[1] or base) - base - len(set_aside_seqs(self._db))
            return case_count(self._db)
        return case_count(self._db, filter, reviewer_id=self._reviewer_id())

    def page(
        self,
        *,
        after_seq: int | None = None,
        offset: int = 0,
        limit: int = 200,
        filter: QueueFilter | None = None,
    ) -> list[QueueRow]:
        """A page of the queue (cases passing ``filter``) with the local reviewer's verdicts.

        Without a filter, a jump to ``offset`` becomes a keyset page from the seq at that
        position, so every page costs the same however deep in the queue it is."""
        if after_seq is None and offset > 0 and not _where(filter)[0]:
            base = self._seq_base()
            if base is not None:
                # The seq of the case at ``offset``: each set-aside case at or before it
                # pushes it one further.
                seq = base + 1 + offset
                for aside in set_aside_seqs(self._db):
                    if aside <= seq:
                        seq += 1
                after_seq, offset = seq - 1, 0
        return queue_page(
            self._db,
            self._reviewer_id(),
            after_seq=after_seq,
            offset=offset,
            limit=limit,
            filter=filter,
        )

    def row(self, case_id: str, filter: QueueFilter | None = None) -> QueueRow | None:
        """One queue row, fresh from the database (None if ``filter`` hides it)."""
        return queue_row(self._db, self._reviewer_id(), case_id, filter)

    def index(self, case_id: str, filter: QueueFilter | None = None) -> int | None:
        """Position of a case in the (filtered) queue.

        Without a filter it is arithmetic on the case's seq; with one it counts the cases
        before it that pass (a scan: not for the GUI thread on a long queue)."""
        if not _where(filter)[0]:
            row = self._db.execute("SELECT seq FROM cases WHERE id = ?", [case_id]).fetchone()
            base = self._seq_base() if row is not None else None
            if base is not None:
                aside = set_aside_seqs(self._db)
                if row[0] in aside:
                    return None
                return int(row[0]) - base - 1 - sum(1 for seq in aside if seq < row[0])
        if filter is None:
            return queue_index(self._db, case_id)
        return queue_index(self._db, case_id, filter, reviewer_id=self._reviewer_id())

    def case(self, case_id: str) -> Case | None:
        """One case in full."""
        return load_case(self._db, case_id)

    def media_path(self, media: MediaFile) -> Path:
        """Where a media file of a case is stored (encrypted: read it with
        :meth:`open_media`)."""
        return self._media.path(media.sha256)

    def open_media(self, media: MediaFile) -> StoredMedia:
        """A media file of a case, ready to be decrypted into memory by the ``core.api``
        media functions. Touches no database: safe to call from any thread.

        :class:`.MediaKeyError` when the store's key cannot be had (its OS keyring entry is
        missing)."""
        return self._media.media(media)

    def facets(self) -> dict[str, list[str]]:
        """The distinct values of each of :data:`FACET_COLUMNS` in the queue (for filters)."""
        return {column: facet_values(self._db, column) for column in FACET_COLUMNS}

    def save_view(self, name: str, filter: QueueFilter) -> None:
        """Save a queue filter under ``name`` (replacing one of that name)."""
        save_view(self._db, name, filter)

    def saved_views(self) -> list[tuple[str, QueueFilter]]:
        """Every saved queue view as (name, filter), by name."""
        return saved_views(self._db)

    def delete_view(self, name: str) -> bool:
        """Delete a saved queue view; True if there was one."""
        return delete_view(self._db, name)

    def rename_view(self, old: str, new: str) -> bool:
        """Rename a saved queue view (refused if ``new`` is taken); True if ``old`` existed."""
        return rename_view(self._db, old, new)

    def batch_names(self) -> dict[str, str]:
        """Every batch in the queue: id -> name, by name. A batch whose every case is set
        aside (:data:`SET_ASIDE_SQL`: a lead's quiz copies) is not in the queue."""
        rows = self._db.execute(
            f"SELECT b.id, b.name FROM batches b WHERE {_in_queue('batch_id', 'b.id')}"
            " ORDER BY b.name, b.id"
        ).fetchall()
        return {batch_id: name for batch_id, name in rows}

    def last_case_id(self) -> str | None:
        """The case that was on screen when the app last closed."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'last_case'").fetchone()
        return row[0] if row else None

    def set_last_case_id(self, case_id: str) -> None:
        """Remember the case on screen, to reopen there."""
        with transaction(self._db):
            self._db.table("meta").upsert({"key": "last_case", "value": case_id}, pk="key")
