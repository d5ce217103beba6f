"""A calibration session's report: per case what the room voted and ruled, per session how
well the participants agree; low-agreement cases as candidate policy gaps; the drift line.

Only revealed cases count: a case not yet revealed is listed as "not revealed", with no
distribution, no majority and no votes in any figure (its votes stay hidden in the report
too)::

    report = session_report(db, session)
    report.agreement.ac1.value, report.flagged        # low-agreement case rows
    write_session_xlsx(report, Path("session.xlsx"))  # a sheet a table
    file_policy_gaps(db, session, arbiter_id)          # the flagged cases as policy gaps

A case is flagged (:data:`LOW_AGREEMENT`) when its revealed votes' pairwise agreement is
below 0.6, or when the ruling drew less than 60 % of the votes. Filing it appends a new
ruling (the same label, citations and details, plus a policy-gap flag) through the same
rules as any ruling, so it shows in ``ws.reports.policy_gaps()`` like a gap flagged in the
review loop; a case whose ruling already flags a gap is left alone (filing twice files once).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
import xlsxwriter
import xlsxwriter.exceptions

from .agreement import (
    ALPHA_BANDS,
    KAPPA_BANDS,
    AgreementReport,
    Estimate,
    agreement,
    gwet_ac1,
    percent_agreement,
)
from .calibration import (
    Session,
    _effective_votes,
    _revealed_at,
    _ruling,
    load_session,
    rule_case,
)
from .errors import QADesktopError, check_cancelled
from .guidelines import pack_labels
from .reports.figures import ReportFilter, _where
from .reports.tables import Cell, Table
from .reports.xlsx import WORKBOOK_OPTIONS, _formats, _table_sheet
from .spreadsheet import safe_row
from .verdicts import VerdictDraft

LOW_AGREEMENT = 0.6
"""A revealed case whose pairwise percent agreement is below this is flagged."""
LOW_RULING_SHARE = 0.6
"""A ruled case whose ruling drew a smaller share of the votes than this is flagged."""
GAP_KIND = "ambiguous"
"""The policy-gap kind a filed low-agreement case gets (the guideline read two ways)."""
NOT_REVEALED = "not revealed"


class CalibrationReportError(QADesktopError):
    """A session report that cannot be written (the file named in the message)."""


@dataclass(frozen=True)
class CaseRow:
    """One case of a session in its report."""

    case_id: str
    position: int
    revealed: bool
    votes: int
    """Votes counted (0 for a case not revealed: its votes stay hidden)."""
    distribution: tuple[tuple[str, int], ...] | None
    """(label, votes) for every label of the pack; None until the reveal."""
    majority: str
    """The most voted label (``a / b`` for a tie); empty without votes or reveal."""
    majority_share: float | None
    agreement: float | None
    """The case's share of agreeing vote pairs (None with fewer than two votes)."""
    ruling: str | None
    ruling_sections: tuple[str, ...]
    ruling_share: float | None
    """The share of votes that match the ruling."""
    first_vote_at: str | None
    revealed_at: str | None
    ruled_at: str | None
    """The first ruling's time (a later gap filing re-rules, it does not restart the clock)."""
    voting_seconds: float | None
    """First vote to reveal."""
    discussion_seconds: float | None
    """Reveal to the first ruling."""
    total_seconds: float | None
    """First vote (or the reveal, without votes) to the first ruling."""
    flag_reason: str
    """Why the case is a candidate policy gap; empty when it is not flagged."""
    gap_filed: bool
    """The current ruling flags a policy gap."""

    @property
    def flagged(self) -> bool:
        """True when the case's agreement is low (a candidate policy gap)."""
        return bool(self.flag_reason)

    @property
    def status(self) -> str:
        """``not revealed``, ``revealed`` or ``ruled``."""
        if not self.revealed:
            return NOT_REVEALED
        return "ruled" if self.ruling else "revealed"


@dataclass(frozen=True)
class SessionReport:
    """A session's report: its cases and its agreement figures over revealed cases."""

    session: Session
    labels: tuple[str, ...]
    raters: tuple[str, ...]
    """How participants are named in the figures (``Participant n`` when anonymous)."""
    cases: tuple[CaseRow, ...]
    agreement: AgreementReport

    @property
    def flagged(self) -> tuple[CaseRow, ...]:
        """The low-agreement cases (candidate policy gaps)."""
        return tuple(c for c in self.cases if c.flagged)

    @property
    def revealed(self) -> int:
        """How many cases are revealed."""
        return sum(1 for c in self.cases if c.revealed)


@dataclass(frozen=True)
class FiledGaps:
    """What filing a session's low-agreement cases as policy gaps did."""

    filed: tuple[str, ...]
    already: tuple[str, ...]
    """Flagged cases whose ruling already flags a policy gap (left alone)."""
    unruled: tuple[str, ...]
    """Flagged cases without a ruling yet: nothing to file on (rule them first)."""


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    delta = dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)
    return round(max(0.0, delta.total_seconds()), 3)


def _pair_agreement(labels: Sequence[str]) -> float | None:
    n = len(labels)
    if n < 2:
        return None
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        counts[label] += 1
    return sum(k * (k - 1) for k in counts.values()) / (n * (n - 1))


def _flag_reason(agreed: float | None, ruling_share: float | None) -> str:
    reasons = []
    if agreed is not None and agreed < LOW_AGREEMENT:
        reasons.append(f"percent agreement {agreed:.3f} < {LOW_AGREEMENT}")
    if ruling_share is not None and ruling_share < LOW_RULING_SHARE:
        reasons.append(f"the ruling drew {ruling_share:.0%} of votes (< {LOW_RULING_SHARE:.0%})")
    return "; ".join(reasons)


def _rater_names(session: Session) -> dict[str, str]:
    if session.anonymous:
        return {p.id: f"Participant {i}" for i, p in enumerate(session.participants, 1)}
    return {p.id: p.name for p in session.participants}


def _first_time(db: sqlite_utils.Database, session_id: str, case_id: str, role: str) -> str | None:
    row = db.execute(
        "SELECT MIN(created_at) FROM verdicts WHERE session_id = ? AND case_id = ? AND role = ?",
        [session_id, case_id, role],
    ).fetchone()
    return row[0] if row and row[0] else None


def _hidden_row(case_id: str, position: int) -> CaseRow:
    """A case not revealed: its votes stay hidden, so the row says nothing about them."""
    return CaseRow(
        case_id=case_id,
        position=position,
        revealed=False,
        votes=0,
        distribution=None,
        majority="",
        majority_share=None,
        agreement=None,
        ruling=None,
        ruling_sections=(),
        ruling_share=None,
        first_vote_at=None,
        revealed_at=None,
        ruled_at=None,
        voting_seconds=None,
        discussion_seconds=None,
        total_seconds=None,
        flag_reason="",
        gap_filed=False,
    )


def session_report(
    db: sqlite_utils.Database, session: str, *, resamples: int = 1000, seed: int = 0
) -> SessionReport:
    """The report of the session with that id or name (``unknown-session`` if none)."""
    found = load_session(db, session)
    labels = tuple(lab.id for lab in pack_labels(db, found.pack_id, found.pack_version))
    names = _rater_names(found)
    votes: dict[str, dict[str, str | None]] = {}
    rulings: dict[str, str | None] = {}
    rows = []
    for position, case_id in enumerate(found.case_ids):
        revealed_at = _revealed_at(db, found.id, case_id)
        if revealed_at is None:
            rows.append(_hidden_row(case_id, position))
            continue
        ruling = _ruling(db, found.id, case_id)
        first_vote = _first_time(db, found.id, case_id, "participant")
        ruled_at = _first_time(db, found.id, case_id, "arbiter")
        cast = {
            names.get(rid, rid): v.label
            for rid, v in _effective_votes(db, found.id, case_id).items()
            if v.label is not None
        }
        votes[case_id] = dict(cast)
        rulings[case_id] = ruling.label if ruling else None
        counts = dict.fromkeys(labels, 0)
        for label in cast.values():
            counts[label] = counts.get(label, 0) + 1
        n = len(cast)
        top = max(counts.values()) if n else 0
        majority = " / ".join(label for label, k in counts.items() if k == top) if n else ""
        agreed = _pair_agreement(list(cast.values()))
        share = None
        if ruling is not None and n:
            share = sum(1 for label in cast.values() if label == ruling.label) / n
        rows.append(
            CaseRow(
                case_id=case_id,
                position=position,
                revealed=True,
                votes=n,
                distribution=tuple(counts.items()),
                majority=majority,
                majority_share=top / n if n else None,
                agreement=agreed,
                ruling=ruling.label if ruling else None,
                ruling_sections=tuple(c.section_id for c in ruling.citations) if ruling else (),
                ruling_share=share,
                first_vote_at=first_vote,
                revealed_at=revealed_at,
                ruled_at=ruled_at,
                voting_seconds=_seconds(first_vote, revealed_at),
                discussion_seconds=_seconds(revealed_at, ruled_at),
                total_seconds=_seconds(first_vote or revealed_at, ruled_at),
                flag_reason=_flag_reason(agreed, share),
                gap_filed=bool(ruling and ruling.gap_kind),
            )
        )
    figures = agreement(votes, labels, rulings, resamples=resamples, seed=seed)
    return SessionReport(
        found, labels, tuple(names[p.id] for p in found.participants), tuple(rows), figures
    )


def file_policy_gaps(
    db: sqlite_utils.Database, session: str, arbiter_id: str, kind: str = GAP_KIND
) -> FiledGaps:
    """File the session's low-agreement ruled cases as policy-gap findings.

    Each becomes a new ruling by the arbiter (the same label, citations and details, with
    the policy-gap ``kind`` and a note naming the session and why), checked like any ruling
    (:func:`~.calibration.rule_case`). Idempotent: a ruling that already flags a gap stays.
    """
    report = session_report(db, session, resamples=1)
    filed, already, unruled = [], [], []
    for row in report.flagged:
        current = _ruling(db, report.session.id, row.case_id)
        if current is None or current.label is None:
            unruled.append(row.case_id)
            continue
        if current.gap_kind is not None:
            already.append(row.case_id)
            continue
        draft = VerdictDraft(
            current.label,
            current.citations,
            current.notes,
            current.confidence,
            current.rca_reason,
            current.rca_note,
            gap_kind=kind,
            gap_note=f"calibration session {report.session.name}: {row.flag_reason}",
        )
        rule_case(db, report.session, row.case_id, arbiter_id, draft)
        filed.append(row.case_id)
    return FiledGaps(tuple(filed), tuple(already), tuple(unruled))


# --- tables --------------------------------------------------------------------------------


def _estimate_cells(e: Estimate) -> tuple[Cell, ...]:
    interval = e.interval
    bands = e.bands
    return (
        e.name,
        e.value,
        interval.low if interval else None,
        interval.high if interval else None,
        e.interval_method or "",
        e.band or "",
        bands.source if bands else "",
        e.reason or "",
    )


def session_tables(report: SessionReport) -> list[Table]:
    """The report as plain tables: session, metrics, cases, pairwise, with_ruling."""
    s = report.session
    a = report.agreement
    info: tuple[tuple[Cell, ...], ...] = (
        ("session", s.name),
        ("session_id", s.id),
        ("market", s.market),
        ("pack", f"{s.pack_id} {s.pack_version}"),
        ("mode", s.mode),
        ("created_at", s.created_at),
        ("participants", ", ".join(report.raters)),
        ("cases", len(report.cases)),
        ("revealed", report.revealed),
        ("flagged (candidate policy gaps)", len(report.flagged)),
        (
            "flag rule",
            f"percent agreement < {LOW_AGREEMENT} or the ruling drew < {LOW_RULING_SHARE:.0%}"
            " of the votes (revealed cases only)",
        ),
    )
    metric_rows = [_estimate_cells(e) for e in (a.percent, a.fleiss_kappa, a.alpha, a.ac1)]
    metric_rows += [_estimate_cells(p.kappa) for p in a.pairwise.pairs]
    metric_rows += [_estimate_cells(r.rate) for r in a.with_ruling]
    case_rows = []
    for c in report.cases:
        dist = dict(c.distribution or ())
        case_rows.append(
            (
                c.case_id,
                c.status,
                c.votes if c.revealed else None,
                *((dist.get(label) if c.revealed else None) for label in report.labels),
                c.majority,
                c.majority_share,
                c.agreement,
                c.ruling or "",
                "; ".join(c.ruling_sections),
                c.ruling_share,
                c.voting_seconds,
                c.discussion_seconds,
                c.total_seconds,
                "low agreement" if c.flagged else "",
                c.flag_reason,
                "yes" if c.gap_filed else "",
            )
        )
    n_labels = len(report.labels)
    base = 3 + n_labels
    return [
        Table("session", "Calibration session", ("field", "value"), info),
        Table(
            "metrics",
            "Agreement over revealed cases (95% intervals)",
            (
                "figure",
                "value",
                "ci_low",
                "ci_high",
                "interval",
                "band",
                "band_source",
                "undefined",
            ),
            tuple(metric_rows),
            frozenset({1, 2, 3}),
        ),
        Table(
            "cases",
            "Cases: votes per label, majority, ruling, time",
            (
                "case_id",
                "status",
                "votes",
                *report.labels,
                "majority",
                "majority_share",
                "agreement",
                "ruling",
                "ruling_sections",
                "ruling_share",
                "voting_seconds",
                "discussion_seconds",
                "total_seconds",
                "flag",
                "flag_reason",
                "gap_filed",
            ),
            tuple(case_rows),
            frozenset({base + 1, base + 2, base + 5}),
        ),
        Table(
            "pairwise",
            "Cohen's kappa per pair of participants",
            ("rater_a", "rater_b", "cases", "kappa", "ci_low", "ci_high", "band", "undefined"),
            tuple(
                (
                    p.rater_a,
                    p.rater_b,
                    p.cases,
                    p.kappa.value,
                    p.kappa.interval.low if p.kappa.interval else None,
                    p.kappa.interval.high if p.kappa.interval else None,
                    p.kappa.band or "",
                    p.kappa.reason or "",
                )
                for p in a.pairwise.pairs
            ),
        ),
        Table(
            "with_ruling",
            "Each participant's agreement with the ruling",
            ("participant", "matches", "ruled_cases", "rate", "ci_low", "ci_high", "undefined"),
            tuple(
                (
                    r.rater,
                    r.matches,
                    r.cases,
                    r.rate.value,
                    r.rate.interval.low if r.rate.interval else None,
                    r.rate.interval.high if r.rate.interval else None,
                    r.rate.reason or "",
                )
                for r in a.with_ruling
            ),
            frozenset({3, 4, 5}),
        ),
    ]


def write_session_xlsx(
    report: SessionReport, path: Path, cancelled: Callable[[], bool] | None = None
) -> Path:
    """The report as an Excel workbook, a sheet a table (text stays text); returns ``path``.

    Written to a temporary name and renamed: a failure leaves no half-written file.
    """
    part = path.with_name(path.name + ".part")
    try:
        workbook = xlsxwriter.Workbook(str(part), WORKBOOK_OPTIONS)
        formats = _formats(workbook)
        for table in session_tables(report):
            check_cancelled(cancelled)
            sheet = _table_sheet(workbook, table, formats)
            if table.name == "session":
                sheet.set_column(1, 1, 80)
        try:
            workbook.close()
        except xlsxwriter.exceptions.FileCreateError as exc:
            raise CalibrationReportError(
                f"{path}: cannot write the session report ({exc.args[0]})"
            ) from exc
        part.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return path


def write_tables_csv(
    tables: Sequence[Table], folder: Path, cancelled: Callable[[], bool] | None = None
) -> list[Path]:
    """One spreadsheet-safe CSV file a table in ``folder`` (made if needed), each written
    whole to a temporary name and renamed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CalibrationReportError(f"{folder}: cannot make the folder ({exc})") from exc
    if not folder.is_dir():
        raise CalibrationReportError(f"{folder}: not a folder")
    written = []
    for table in tables:
        check_cancelled(cancelled)
        path = folder / f"{table.name}.csv"
        part = path.with_name(path.name + ".part")
        try:
            with part.open("w", encoding="utf-8", newline="") as out:
                writer = csv.DictWriter(out, fieldnames=list(table.headers))
                writer.writeheader()
                for row in table.rows:
                    writer.writerow(safe_row(dict(zip(table.headers, row, strict=True))))
            part.replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink()
            raise
        written.append(path)
    return written


def write_session_csv(
    report: SessionReport, folder: Path, cancelled: Callable[[], bool] | None = None
) -> list[Path]:
    """The report as CSV files in ``folder``: session.csv, metrics.csv, cases.csv,
    pairwise.csv, with_ruling.csv."""
    return write_tables_csv(session_tables(report), folder, cancelled)


# --- the drift line ------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftRow:
    """Agreement of one session's revealed cases of one market and policy."""

    date: str
    """The session's date (UTC, ``YYYY-MM-DD``)."""
    session: str
    market: str
    policy: str
    cases: int
    percent: Estimate
    ac1: Estimate


def calibration_drift(
    db: sqlite_utils.Database, flt: ReportFilter | None = None, *, resamples: int = 1000
) -> tuple[DriftRow, ...]:
    """Percent agreement and Gwet's AC1 per session, market and policy (the frontline
    policy of the cases), over the revealed cases ``flt`` selects; by market and policy,
    then date (a line a market and policy)."""
    where, params = _where(flt or ReportFilter())
    sessions = db.execute("SELECT id FROM calibration_sessions ORDER BY created_at, id").fetchall()
    rows: list[DriftRow] = []
    for (session_id,) in sessions:
        found = load_session(db, session_id)
        labels = tuple(lab.id for lab in pack_labels(db, found.pack_id, found.pack_version))
        members = db.execute(
            "SELECT c.id, c.market, c.orig_policy FROM calibration_cases k"
            f" JOIN cases c ON c.id = k.case_id WHERE k.session_id = :session AND {where}"
            " ORDER BY k.position",
            {**params, "session": session_id},
        ).fetchall()
        groups: dict[tuple[str, str], dict[str, dict[str, str | None]]] = {}
        for case_id, market, policy in members:
            if _revealed_at(db, session_id, case_id) is None:
                continue
            cast: dict[str, str | None] = {
                rid: v.label for rid, v in _effective_votes(db, session_id, case_id).items()
            }
            groups.setdefault((market, policy), {})[case_id] = cast
        for (market, policy), votes in sorted(groups.items()):
            rows.append(
                DriftRow(
                    found.created_at[:10],
                    found.name,
                    market,
                    policy,
                    len(votes),
                    percent_agreement(votes, labels),
                    gwet_ac1(votes, labels, resamples=resamples),
                )
            )
    return tuple(sorted(rows, key=lambda r: (r.market, r.policy, r.date)))


def drift_table(rows: Sequence[DriftRow]) -> Table:
    """The drift line as a table (one row per session, market and policy)."""

    def cells(e: Estimate, digits: int | None = None) -> tuple[Cell, ...]:
        i = e.interval
        values = (e.value, i.low if i else None, i.high if i else None)
        if digits is None:
            return values
        return tuple(None if v is None else round(v, digits) for v in values)

    return Table(
        "calibration",
        "Calibration agreement per market and policy across sessions",
        (
            "date",
            "session",
            "market",
            "policy",
            "cases",
            "percent",
            "percent_low",
            "percent_high",
            "ac1",
            "ac1_low",
            "ac1_high",
            "ac1_band",
            "undefined",
        ),
        tuple(
            (
                r.date,
                r.session,
                r.market,
                r.policy,
                r.cases,
                *cells(r.percent),
                *cells(r.ac1, 3),
                r.ac1.band or "",
                "; ".join(x for x in (r.percent.reason, r.ac1.reason) if x),
            )
            for r in rows
        ),
        frozenset({5, 6, 7}),
    )


BANDS_SOURCES = (KAPPA_BANDS, ALPHA_BANDS)
"""The published interpretation scales the report's bands come from."""
