"""The performance figures: how often the final verdict upholds the frontline decision.

Every figure is computed over the cases a :class:`ReportFilter` selects, from one definition
of a case's final verdict (the ``final_verdicts`` view) and one definition of the QA outcome
(:func:`qa_desktop.core.outcomes.outcome_sql`):

- **accuracy** ("QA score") = agreeing final verdicts / decided cases whose labels are in the
  pack, with a 95 % Wilson interval; *decided* means ``ruled`` or ``decided``. Disputed cases
  (SMEs disagree, nobody ruled), open cases and labels missing from the pack are counted in
  their own columns, never dropped silently. Cells with n < 30 are marked ``small``;
- the error taxonomy: over-enforcement among actioned frontline decisions, under-enforcement
  among non-actioned ones, wrong policy and wrong action (together "wrong selection") among
  all decided cases;
- the confusion matrix (frontline label x final label) per guideline pack;
- RCA escalations and policy gaps by cited section and ISO week; SME throughput per week
  and median time on case;
- weighted accuracy where batches declare sampling weights per stratum (post-stratified).

Weeks are ISO weeks (``2026-W44``) of the frontline decision (``orig_decided_at``) for the
accuracy figures and of the verdict (``created_at``) for throughput and flags::

    report = compute(db, ReportFilter(markets=("DE",)), by=("policy", "market"))
    report.overall.accuracy.value, report.overall.accuracy.interval
"""

from __future__ import annotations

import heapq
import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import sqlite_utils

from ..errors import QADesktopError, check_cancelled
from ..outcomes import OUTCOMES, outcome_sql
from ..vocab import Outcome
from .intervals import SMALL_N, Interval, wilson

HIDDEN_GOLD_SQL = (
    "SELECT case_id FROM shipped_cases WHERE gold_case_id IS NOT NULL"
    " UNION ALL SELECT case_id FROM quiz_items"
)
"""Hidden-gold copies and quiz items (``core/gold.py``, ``core/quizzes.py``): answers to a
known key, never counted as frontline decisions."""

DIMENSIONS = ("policy", "market", "moderator", "queue", "batch", "week")
"""What accuracy can be broken down by (any one, or two crossed)."""

NO_SECTION = "(no section)"

DECIDED = ("ruled", "decided")


class ReportError(QADesktopError):
    """A report cannot be made as asked (an unknown dimension, a bad date)."""


def iso_week_sql(timestamp: str) -> str:
    """A SQL expression giving the ISO week (``2026-W44``) of a timestamp expression.

    SQLite before 3.46 lacks ``%V``: the ISO week is the week of the Thursday of the same
    Monday-to-Sunday week, and its year is that Thursday's year.
    """
    thursday = (
        f"date({timestamp}, '-' || ((CAST(strftime('%w', {timestamp}) AS INTEGER) + 6) % 7)"
        " || ' days', '+3 days')"
    )
    return (
        f"(strftime('%Y', {thursday}) || '-W' ||"
        f" printf('%02d', (CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1))"
    )


@dataclass(frozen=True)
class ReportFilter:
    """Which cases a report covers; an empty field lets everything through.

    Dates are ``YYYY-MM-DD`` (inclusive) on the frontline decision's date (UTC).
    """

    date_from: str | None = None
    date_to: str | None = None
    batches: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    moderators: tuple[str, ...] = ()

    def describe(self) -> list[tuple[str, str]]:
        """(name, value) of each filter, "all" where none is set (for report headers)."""
        period = f"{self.date_from or 'start'} to {self.date_to or 'today'}"
        return [
            ("period", period),
            ("batch", ", ".join(self.batches) or "all"),
            ("market", ", ".join(self.markets) or "all"),
            ("policy", ", ".join(self.policies) or "all"),
            ("queue", ", ".join(self.queues) or "all"),
            ("moderator", ", ".join(self.moderators) or "all"),
        ]


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n`` with its 95 % Wilson interval (None when n is 0)."""

    k: int
    n: int

    @property
    def value(self) -> float | None:
        """k / n, or None when nothing was counted."""
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> Interval | None:
        """The Wilson interval of k / n."""
        return wilson(self.k, self.n)

    @property
    def small(self) -> bool:
        """Fewer than :data:`SMALL_N` decisions: greyed and marked, not to be read alone."""
        return self.n < SMALL_N


@dataclass(frozen=True)
class AccuracyRow:
    """One cell of an accuracy table: its key and every count behind it."""

    key: tuple[str, ...]
    outcomes: Mapping[str, int]
    """Decided cases by QA outcome (every :data:`OUTCOMES` key present)."""
    disputed: int
    open: int

    @property
    def decided(self) -> int:
        """Cases with a final verdict (ruled or decided), known labels or not."""
        return sum(self.outcomes.values())

    @property
    def accuracy(self) -> Rate:
        """Agreeing final verdicts among decided cases whose labels the pack knows."""
        known = self.decided - self.outcomes[Outcome.UNKNOWN_LABEL]
        return Rate(self.outcomes[Outcome.AGREE], known)


@dataclass(frozen=True)
class AccuracyTable:
    """Accuracy by one or two dimensions, biggest cells first, and the whole selection."""

    by: tuple[str, ...]
    rows: tuple[AccuracyRow, ...]
    total: AccuracyRow


@dataclass(frozen=True)
class Taxonomy:
    """The error taxonomy over the selection."""

    over_enforcement: Rate
    """Over-enforcement (false positives) among actioned frontline decisions."""
    under_enforcement: Rate
    """Under-enforcement (false negatives) among non-actioned frontline decisions."""
    wrong_policy: Rate
    wrong_action: Rate
    wrong_selection: Rate
    """Wrong policy or wrong action, among all decided cases with known labels."""
    disputed: int
    open: int
    unknown_label: int


@dataclass(frozen=True)
class ConfusionMatrix:
    """Frontline label (rows) x final label (columns) of one guideline pack."""

    pack_id: str
    pack_version: str
    labels: tuple[str, ...]
    """The pack's labels in pack order, then any frontline label the pack lacks."""
    counts: Mapping[tuple[str, str], int]

    def cell(self, original: str, final: str) -> int:
        """How many cases the frontline labelled ``original`` and the final verdict ``final``."""
        return self.counts.get((original, final), 0)


@dataclass(frozen=True)
class FlagRow:
    """RCA escalations or policy gaps citing one section in one ISO week."""

    kind: str
    """``rca`` or ``gap``."""
    section_id: str
    title: str
    week: str
    count: int


@dataclass(frozen=True)
class ThroughputRow:
    """Verdicts one reviewer recorded in one ISO week."""

    reviewer_id: str
    week: str
    verdicts: int
    name: str = ""
    """The reviewer's name where this machine knows it (the local profile, a trusted key)."""


@dataclass(frozen=True)
class ReviewerTime:
    """One reviewer's verdicts in the selection and their median time on case."""

    reviewer_id: str
    verdicts: int
    median_ms: float
    name: str = ""


@dataclass(frozen=True)
class StratumWeight:
    """A batch's sampling weight for one stratum, and the decisions sampled in it."""

    batch_id: str
    dimension: str
    stratum: str
    weight: float
    accuracy: Rate


@dataclass(frozen=True)
class WeightedAccuracy:
    """Post-stratified accuracy over batches that declare sampling weights.

    The estimate is ``Σ w·k / Σ w·n`` over strata (a case stands for ``w`` decisions);
    its interval is Wilson's at the effective sample size ``p(1-p) / Var``, with the
    stratified variance ``Σ W²·p(1-p)/n`` (``W`` the stratum's share of the weight).
    """

    value: float
    effective_n: float
    interval: Interval | None
    weights: tuple[StratumWeight, ...]


@dataclass(frozen=True)
class ExposureRow:
    """The local reviewer's own exposure in one content category (never anyone else's)."""

    category: str
    spans: int
    unblurred_ms: int
    weighted_ms: int


def my_exposure(
    db: sqlite_utils.Database, reviewer_id: str, flt: ReportFilter
) -> tuple[ExposureRow, ...]:
    """``reviewer_id``'s unblurred exposure by category, over the filter's dates (the span's
    start day) and the cases it selects. Private: shown to that reviewer, exported only when
    they ask (it is not part of :class:`Report`)."""
    where, params = _where(flt)
    where = where.replace("date(c.orig_decided_at)", "date(e.started_at)")
    params["me"] = reviewer_id
    rows = db.execute(
        "SELECT COALESCE(NULLIF(e.category, ''), '(none)'), count(*), sum(e.unblurred_ms),"
        " sum(e.weighted_ms) FROM exposure e JOIN review_sessions s ON s.id = e.session_id"
        f" JOIN cases c ON c.id = e.case_id WHERE s.reviewer_id = :me AND {where}"
        " GROUP BY 1 ORDER BY 4 DESC, 1",
        params,
    ).fetchall()
    return tuple(ExposureRow(*row) for row in rows)


@dataclass(frozen=True)
class Report:
    """Every figure of one report."""

    filter: ReportFilter
    by: tuple[str, ...]
    first_decision: str | None
    last_decision: str | None
    overall: AccuracyRow
    accuracy: AccuracyTable
    weekly: AccuracyTable
    taxonomy: Taxonomy
    confusion: tuple[ConfusionMatrix, ...]
    flags: tuple[FlagRow, ...]
    throughput: tuple[ThroughputRow, ...]
    reviewer_times: tuple[ReviewerTime, ...]
    weighted: WeightedAccuracy | None
    calibration: tuple[Any, ...] = field(default=())
    """Calibration agreement per market and policy per session (the drift line): empty
    until calibration sessions exist (``core/calibration.py`` fills it then)."""


_COLUMNS = {
    "policy": "policy",
    "market": "market",
    "moderator": "moderator",
    "queue": "queue",
    "batch": "batch",
    "week": "week",
}
_FILTER_COLUMNS = (
    ("batches", "c.batch_id"),
    ("markets", "c.market"),
    ("policies", "c.orig_policy"),
    ("queues", "c.orig_queue"),
    ("moderators", "c.orig_moderator"),
)
_table_numbers = count(1)


def check_by(by: Sequence[str]) -> tuple[str, ...]:
    """``by`` as a tuple of one or two known dimensions, or a ReportError naming the problem."""
    dims = tuple(by)
    if not 1 <= len(dims) <= 2:
        raise ReportError(f"--by takes one or two of {', '.join(DIMENSIONS)}, not {len(dims)}")
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ReportError(f"unknown dimension {dim!r}: choose from {', '.join(DIMENSIONS)}")
    if len(set(dims)) != len(dims):
        raise ReportError(f"--by names {dims[0]!r} twice")
    return dims


def _check_date(name: str, value: str | None) -> None:
    import datetime as dt

    if value is None:
        return
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from None


def _where(flt: ReportFilter) -> tuple[str, dict[str, object]]:
    clauses: list[str] = []
    params: dict[str, object] = {}
    _check_date("from", flt.date_from)
    _check_date("to", flt.date_to)
    if flt.date_from:
        clauses.append("date(c.orig_decided_at) >= :date_from")
        params["date_from"] = flt.date_from
    if flt.date_to:
        clauses.append("date(c.orig_decided_at) <= :date_to")
        params["date_to"] = flt.date_to
    for name, column in _FILTER_COLUMNS:
        values: tuple[str, ...] = getattr(flt, name)
        if values:
            params[name] = json.dumps(list(values))
            clauses.append(f"{column} IN (SELECT value FROM json_each(:{name}))")
    return (" AND ".join(clauses) or "1"), params


def select_rows_sql(flt: ReportFilter) -> tuple[str, dict[str, object]]:
    """The SELECT of one row a case (dimensions, final status, outcome) and its parameters.

    Hidden-gold copies of shipped batches are left out: their verdicts are answers to a
    known key, not sampled frontline decisions (``core/gold.py``).
    The final verdict is the ``final_verdicts`` view's, read from the table that keeps its
    rows (``case_finals``, migration 17: a case without a row is ``open``), so a report
    over a million cases reads one row a case instead of evaluating the view's correlated
    subqueries for each (the final label is then looked up by the final event's id).
    """
    where, params = _where(flt)
    sql = f"""
        WITH fv AS MATERIALIZED (
            SELECT c.id AS case_id, f.event_id AS event_id,
                COALESCE(f.status, 'open') AS status
            FROM cases c LEFT JOIN case_finals f ON f.case_id = c.id
            WHERE {where} AND c.id NOT IN ({HIDDEN_GOLD_SQL})
        )
        SELECT c.id AS case_id, c.batch_id AS batch, c.market AS market,
            c.orig_policy AS policy, c.orig_moderator AS moderator, c.orig_queue AS queue,
            {iso_week_sql("c.orig_decided_at")} AS week, c.orig_decided_at AS decided_at,
            fv.status AS status, fv.event_id AS event_id, v.label AS final_label,
            c.orig_label AS orig_label, b.pack_id AS pack_id, b.pack_version AS pack_version,
            o.action AS orig_action,
            CASE WHEN fv.status IN ('ruled', 'decided')
                 THEN {outcome_sql("v.label", "o", "f")} END AS outcome
        FROM fv
        JOIN cases c ON c.id = fv.case_id
        JOIN batches b ON b.id = c.batch_id
        LEFT JOIN verdicts v ON v.id = fv.event_id
        LEFT JOIN guideline_labels o ON o.pack_id = b.pack_id
            AND o.pack_version = b.pack_version AND o.id = c.orig_label
        LEFT JOIN guideline_labels f ON f.pack_id = b.pack_id
            AND f.pack_version = b.pack_version AND f.id = v.label
    """
    return sql, params


Cancelled = Callable[[], bool]


def compute(
    db: sqlite_utils.Database,
    flt: ReportFilter | None = None,
    by: Sequence[str] = ("policy",),
    cancelled: Cancelled | None = None,
) -> Report:
    """Every figure over the cases ``flt`` selects, accuracy broken down ``by`` one or two
    dimensions. Polls ``cancelled()`` between queries (raises Cancelled)."""
    flt = flt or ReportFilter()
    dims = check_by(by)
    select, params = select_rows_sql(flt)
    table = f"temp.report_rows_{next(_table_numbers)}"
    conn = db.conn
    conn.execute(f"CREATE TABLE {table} AS {select}", params)
    try:
        check_cancelled(cancelled)
        first, last = conn.execute(
            f"SELECT min(decided_at), max(decided_at) FROM {table}"
        ).fetchone()
        accuracy = _accuracy(conn, table, dims)
        check_cancelled(cancelled)
        weekly = _accuracy(conn, table, ("week",))
        check_cancelled(cancelled)
        taxonomy = _taxonomy(conn, table, accuracy.total)
        confusion = _confusion(conn, table)
        check_cancelled(cancelled)
        flags = _flags(conn, table)
        throughput, times = _throughput(conn, table)
        check_cancelled(cancelled)
        weighted = _weighted(conn, table)
    finally:
        conn.execute(f"DROP TABLE {table}")
    return Report(
        filter=flt,
        by=dims,
        first_decision=first,
        last_decision=last,
        overall=accuracy.total,
        accuracy=accuracy,
        weekly=AccuracyTable(
            weekly.by, tuple(sorted(weekly.rows, key=lambda r: r.key)), weekly.total
        ),
        taxonomy=taxonomy,
        confusion=confusion,
        flags=flags,
        throughput=throughput,
        reviewer_times=times,
        weighted=weighted,
    )


def _row(key: tuple[str, ...], counts: Mapping[str | None, int]) -> AccuracyRow:
    outcomes: dict[str, int] = {str(o): counts.get(o, 0) for o in OUTCOMES}
    return AccuracyRow(key, outcomes, counts.get("disputed", 0), counts.get("open", 0))


def _accuracy(conn: Any, table: str, dims: tuple[str, ...]) -> AccuracyTable:
    cols = ", ".join(_COLUMNS[d] for d in dims)
    sql = (
        f"SELECT {cols}, CASE WHEN status IN ('ruled', 'decided') THEN outcome ELSE status END,"
        f" count(*) FROM {table} GROUP BY {cols}, {len(dims) + 1}"
    )
    cells: dict[tuple[str, ...], dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    total: dict[str | None, int] = defaultdict(int)
    for *key, what, n in conn.execute(sql):
        cells[tuple(str(k) for k in key)][what] += n
        total[what] += n
    rows = [_row(key, counts) for key, counts in cells.items()]
    rows.sort(key=lambda r: (-r.accuracy.n, -r.decided, r.key))
    return AccuracyTable(dims, tuple(rows), _row(("all",), total))


def _taxonomy(conn: Any, table: str, total: AccuracyRow) -> Taxonomy:
    actioned = dict(
        conn.execute(
            f"SELECT orig_action <> 'no_action', count(*) FROM {table}"
            " WHERE status IN ('ruled', 'decided') AND outcome <> ? GROUP BY 1",
            [Outcome.UNKNOWN_LABEL],
        ).fetchall()
    )
    o = total.outcomes
    known = total.accuracy.n
    return Taxonomy(
        over_enforcement=Rate(o[Outcome.OVER_ENFORCEMENT], actioned.get(1, 0)),
        under_enforcement=Rate(o[Outcome.UNDER_ENFORCEMENT], actioned.get(0, 0)),
        wrong_policy=Rate(o[Outcome.WRONG_POLICY], known),
        wrong_action=Rate(o[Outcome.WRONG_ACTION], known),
        wrong_selection=Rate(o[Outcome.WRONG_POLICY] + o[Outcome.WRONG_ACTION], known),
        disputed=total.disputed,
        open=total.open,
        unknown_label=o[Outcome.UNKNOWN_LABEL],
    )


def _confusion(conn: Any, table: str) -> tuple[ConfusionMatrix, ...]:
    counts: dict[tuple[str, str], dict[tuple[str, str], int]] = defaultdict(dict)
    for pack_id, version, original, final, n in conn.execute(
        f"SELECT pack_id, pack_version, orig_label, final_label, count(*) FROM {table}"
        " WHERE status IN ('ruled', 'decided') GROUP BY 1, 2, 3, 4"
    ):
        counts[(pack_id, version)][(original, final)] = n
    matrices = []
    for (pack_id, version), cells in sorted(counts.items()):
        labels = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM guideline_labels WHERE pack_id = ? AND pack_version = ?"
                " ORDER BY position",
                [pack_id, version],
            )
        ]
        extra = sorted({lab for pair in cells for lab in pair if lab not in labels})
        matrices.append(ConfusionMatrix(pack_id, version, tuple(labels + extra), cells))
    return tuple(matrices)


def _flags(conn: Any, table: str) -> tuple[FlagRow, ...]:
    rows: list[FlagRow] = []
    for kind, column in (("rca", "rca_reason"), ("gap", "gap_kind")):
        sql = f"""
            SELECT COALESCE(json_extract(j.value, '$.section_id'), :none) AS section,
                MAX(COALESCE(s.title, '')), {iso_week_sql("ev.created_at")} AS week,
                count(DISTINCT ev.id)
            FROM {table} r
            JOIN effective_verdicts ev ON ev.case_id = r.case_id
            LEFT JOIN json_each(ev.citations) j
            LEFT JOIN guideline_sections s
                ON s.pack_id = json_extract(j.value, '$.pack_id')
                AND s.pack_version = json_extract(j.value, '$.pack_version')
                AND s.id = json_extract(j.value, '$.section_id')
            WHERE ev.{column} IS NOT NULL AND (ev.id = r.event_id
                OR (r.status = 'disputed' AND ev.role = 'sme' AND ev.label IS NOT NULL))
            GROUP BY section, week ORDER BY week, count(DISTINCT ev.id) DESC, section
        """
        for section, title, week, n in conn.execute(sql, {"none": NO_SECTION}):
            rows.append(FlagRow(kind, section, title, week, n))
    return tuple(rows)


def _throughput(
    conn: Any, table: str
) -> tuple[tuple[ThroughputRow, ...], tuple[ReviewerTime, ...]]:
    sql = f"""
        SELECT ev.reviewer_id, {iso_week_sql("ev.created_at")}, ev.time_on_case_ms
        FROM {table} r JOIN effective_verdicts ev ON ev.case_id = r.case_id
        WHERE ev.role IN ('sme', 'arbiter') AND ev.label IS NOT NULL
    """
    weeks: dict[tuple[str, str], int] = defaultdict(int)
    times: dict[str, SortedRuns] = defaultdict(SortedRuns)
    for reviewer, week, ms in conn.execute(sql):
        weeks[(reviewer, week)] += 1
        times[reviewer].add(ms)
    names = dict(
        conn.execute(
            "SELECT reviewer_id, MIN(signer_name) FROM trusted_keys"
            " WHERE reviewer_id IS NOT NULL GROUP BY 1"
            " UNION ALL SELECT id, display_name FROM reviewers"
        ).fetchall()
    )
    throughput = tuple(
        ThroughputRow(r, w, n, names.get(r, "")) for (r, w), n in sorted(weeks.items())
    )
    reviewer_times = tuple(
        ReviewerTime(r, len(ms), ms.median(), names.get(r, "")) for r, ms in sorted(times.items())
    )
    return throughput, reviewer_times


class SortedRuns:
    """Numbers kept as sorted runs of at most :data:`RUN` each, for their median.

    One ``sorted`` of a reviewer's million times held the GIL for 60-70 ms, the GUI thread
    waiting meanwhile (the Reports screen at 1M verdicts; issue 15): each run's sort is
    short, and the median walks the merged runs in Python, where threads take turns."""

    RUN = 32_768

    def __init__(self) -> None:
        self.runs: list[list[int]] = []
        self.pending: list[int] = []
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def add(self, value: int) -> None:
        """Take one more number."""
        self.pending.append(value)
        self.count += 1
        if len(self.pending) == self.RUN:
            self.pending.sort()
            self.runs.append(self.pending)
            self.pending = []

    def median(self) -> float:
        """The median of the numbers taken (:func:`statistics.median`'s: the mean of the
        middle two for an even count); ValueError when there are none."""
        if not self.count:
            raise ValueError("no numbers, no median")
        runs = [*self.runs, sorted(self.pending)]
        middle = list(
            itertools.islice(heapq.merge(*runs), (self.count - 1) // 2, self.count // 2 + 1)
        )
        return float(statistics.median(middle))


def _weighted(conn: Any, table: str) -> WeightedAccuracy | None:
    declared: dict[str, tuple[str, dict[str, float]]] = {}
    for batch_id, raw in conn.execute(
        f"SELECT id, sampling_weights FROM batches WHERE id IN (SELECT DISTINCT batch FROM {table})"
        " AND sampling_weights <> '{}' ORDER BY id"
    ):
        spec = json.loads(raw)
        declared[batch_id] = (spec["stratum"], {k: float(v) for k, v in spec["weights"].items()})
    if not declared:
        return None
    strata: list[StratumWeight] = []
    for batch_id, (dimension, weights) in declared.items():
        column = _COLUMNS[dimension]
        for stratum, known, agree in conn.execute(
            f"SELECT {column}, count(*), sum(outcome = ?) FROM {table}"
            " WHERE batch = ? AND status IN ('ruled', 'decided') AND outcome <> ?"
            f" GROUP BY {column} ORDER BY {column}",
            [Outcome.AGREE, batch_id, Outcome.UNKNOWN_LABEL],
        ):
            weight = weights.get(stratum, 1.0)
            strata.append(StratumWeight(batch_id, dimension, stratum, weight, Rate(agree, known)))
    return weighted_accuracy(strata)


def weighted_accuracy(strata: Iterable[StratumWeight]) -> WeightedAccuracy | None:
    """The post-stratified estimate over ``strata`` (see :class:`WeightedAccuracy`)."""
    strata = tuple(strata)
    mass = sum(s.weight * s.accuracy.n for s in strata)
    if mass <= 0:
        return None
    value = sum(s.weight * s.accuracy.k for s in strata) / mass
    variance = 0.0
    for s in strata:
        if s.accuracy.n:
            share = s.weight * s.accuracy.n / mass
            p = s.accuracy.k / s.accuracy.n
            variance += share * share * p * (1 - p) / s.accuracy.n
    if variance > 0:
        effective_n = value * (1 - value) / variance
    else:  # every stratum all-agree or all-disagree: Kish's effective size
        weights = [(s.weight, s.accuracy.n) for s in strata]
        effective_n = sum(w * n for w, n in weights) ** 2 / sum(w * w * n for w, n in weights)
    return WeightedAccuracy(
        value, effective_n, wilson(value * effective_n, effective_n), tuple(strata)
    )
