"""Reviewer wellbeing: default protection per harm type, exposure accounting, break rules.

Three independent pieces the wellbeing player is built from (pure Python, no Qt)::

    protection = protection_for(case.tags, prefs)         # filters, muted, warning screen
    meter = ExposureMeter()                               # unblurred time, weighted by area
    meter.start_reveal(case.id, "violence"); ...; span = meter.stop_reveal()
    record_exposure(db, session_id, span)                 # one transaction per reveal-stop
    advisor = BreakAdvisor(prefs.break_rules)
    advisor.observe_case(case.id, severe=True); advisor.due()  # a BreakSuggestion or None

Exposure is "unblurred time": how long sharp pixels were on screen. A region reveal counts
the same clock time as unblurred, and its *weighted* time is multiplied by the revealed
share of the picture.

Privacy: exposure records, review sessions and breaks stay in the local database. They are
about the reviewer, not the content; verdict bundles include them only when the reviewer
opts in, and no report or export reads them otherwise.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, TypeVar

import sqlite_utils

from .clock import utc_now_iso
from .content_warnings import SEVERE_HARM_TYPES, tag_key
from .ids import new_event_id
from .media import BLUR_KINDS, MAX_BLUR_LEVEL, FilterSettings
from .store import transaction

_T = TypeVar("_T")

Clock = Callable[[], float]
"""Monotonic seconds (``time.monotonic`` by default); tests inject a fake."""

# -- protection per harm type ----------------------------------------------------------------

TagOverride = Mapping[str, Any]
"""Changes a content-warning tag makes to the protection: any :class:`FilterSettings` field,
plus ``muted`` and ``warning_screen`` (booleans)."""

DEFAULT_HARM_OVERRIDES: dict[str, dict[str, Any]] = {
    **{kind: {"blur_level": 9, "grayscale": True, "muted": True} for kind in SEVERE_HARM_TYPES},
    "nudity": {"blur_level": 8},
    "sexual": {"blur_level": 8},
    "self-harm": {"blur_level": 8, "grayscale": True},
    "suicide": {"blur_level": 8, "grayscale": True},
}
"""Built-in protection for the content-warning tags that call for more than the default."""

_EXTRA_OVERRIDE_KEYS = ("muted", "warning_screen")
_FILTER_FIELDS = tuple(f.name for f in fields(FilterSettings))


@dataclass(frozen=True)
class HarmDefaults:
    """Protection per harm type: content-warning tag -> overrides (see :data:`TagOverride`)."""

    overrides: Mapping[str, TagOverride] = field(
        default_factory=lambda: dict(DEFAULT_HARM_OVERRIDES)
    )

    def override_for(self, tag: str) -> TagOverride | None:
        """The overrides for ``tag`` (full tag first, then its harm type), or None."""
        full = tag.strip().lower()
        return self.overrides.get(full) or self.overrides.get(tag_key(tag))


@dataclass(frozen=True)
class Protection:
    """How one case is shown: its filters, whether audio starts muted, a warning screen first."""

    filters: FilterSettings
    muted: bool = False
    warning_screen: bool = False


# -- break rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTimeRule:
    """Suggest a break after ``minutes`` of reviewing since the session start or last break."""

    minutes: float = 50.0
    kind: ClassVar[str] = "session_time"


@dataclass(frozen=True)
class SevereExposureRule:
    """Suggest a break after ``seconds`` of weighted unblurred severe content in a window."""

    seconds: float = 120.0
    window_minutes: float = 15.0
    kind: ClassVar[str] = "severe_exposure"


@dataclass(frozen=True)
class ConsecutiveSevereRule:
    """Suggest a break after ``cases`` severe cases in a row."""

    cases: int = 10
    kind: ClassVar[str] = "consecutive_severe"


BreakRule = SessionTimeRule | SevereExposureRule | ConsecutiveSevereRule
RULE_TYPES: dict[str, type[BreakRule]] = {
    r.kind: r for r in (SessionTimeRule, SevereExposureRule, ConsecutiveSevereRule)
}
DEFAULT_BREAK_RULES: tuple[BreakRule, ...] = (
    SessionTimeRule(),
    SevereExposureRule(),
    ConsecutiveSevereRule(),
)


def rule_to_dict(rule: BreakRule) -> dict[str, Any]:
    """A break rule as a plain dict with its ``kind``."""
    return {"kind": rule.kind, **asdict(rule)}


def rule_from_dict(data: object) -> BreakRule | None:
    """A break rule from :func:`rule_to_dict` output; None if it is not one."""
    if not isinstance(data, Mapping) or data.get("kind") not in RULE_TYPES:
        return None
    rule_type = RULE_TYPES[data["kind"]]
    default = rule_type()
    values: dict[str, Any] = {}
    for f in fields(rule_type):
        current = getattr(default, f.name)
        if isinstance(current, int):
            values[f.name] = _parse_int(data.get(f.name), current, 1, 10_000)
        else:
            values[f.name] = _parse_float(data.get(f.name), current, 0.1, 10_000.0)
    return rule_type(**values)


# -- preferences ---------------------------------------------------------------------------

PLAYBACK_SPEEDS = (0.25, 4.0)
JUMP_SECONDS = (1.0, 120.0)


@dataclass(frozen=True)
class Preferences:
    """The reviewer's own protection and playback choices (the UI keeps them in QSettings).

    ``tag_overrides`` replace the built-in :class:`HarmDefaults` entry for a tag.
    """

    filters: FilterSettings = field(default_factory=FilterSettings)
    muted: bool = False
    tag_overrides: Mapping[str, TagOverride] = field(default_factory=dict)
    playback_speed: float = 1.0
    jump_seconds: float = 5.0
    warning_screen_tags: frozenset[str] = SEVERE_HARM_TYPES
    break_rules: tuple[BreakRule, ...] = DEFAULT_BREAK_RULES

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly data: dicts, lists, strings, numbers, booleans."""
        return {
            "filters": asdict(self.filters),
            "muted": self.muted,
            "tag_overrides": {tag: dict(o) for tag, o in self.tag_overrides.items()},
            "playback_speed": self.playback_speed,
            "jump_seconds": self.jump_seconds,
            "warning_screen_tags": sorted(self.warning_screen_tags),
            "break_rules": [rule_to_dict(r) for r in self.break_rules],
        }

    @classmethod
    def from_dict(cls, data: object) -> Preferences:
        """Preferences from :meth:`to_dict` output, tolerantly: never raises.

        Unknown keys are ignored; a missing or bad value gets its default; numbers are
        clamped to their range; strings such as ``"true"`` or ``"7"`` (as QSettings may
        return them) are understood.
        """
        if not isinstance(data, Mapping):
            return cls()
        default = cls()
        return cls(
            filters=parse_filter_settings(data.get("filters"), default.filters),
            muted=_parse_bool(data.get("muted"), default.muted),
            tag_overrides=_parse_tag_overrides(data.get("tag_overrides")),
            playback_speed=_parse_float(
                data.get("playback_speed"), default.playback_speed, *PLAYBACK_SPEEDS
            ),
            jump_seconds=_parse_float(
                data.get("jump_seconds"), default.jump_seconds, *JUMP_SECONDS
            ),
            warning_screen_tags=_parse_tags(
                data.get("warning_screen_tags"), default.warning_screen_tags
            ),
            break_rules=_parse_rules(data.get("break_rules"), default.break_rules),
        )


def parse_filter_settings(data: object, default: FilterSettings | None = None) -> FilterSettings:
    """Filter settings from a plain dict, tolerantly (bad values -> ``default``'s)."""
    default = default or FilterSettings()
    if not isinstance(data, Mapping):
        return default
    return replace(default, **_parse_filter_fields(data))


def _parse_filter_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Only the filter fields in ``data`` with valid values, parsed; bad ones are left out."""
    parsed: dict[str, Any] = {}
    if "blur_kind" in data and str(data["blur_kind"]).lower() in BLUR_KINDS:
        parsed["blur_kind"] = str(data["blur_kind"]).lower()
    if "blur_level" in data:
        parsed["blur_level"] = _parse_int(data["blur_level"], None, 1, MAX_BLUR_LEVEL)
    for name in ("grayscale", "sepia", "reduced_detail"):
        if name in data:
            parsed[name] = _parse_bool(data[name], None)
    if "transparency" in data:
        parsed["transparency"] = _parse_float(data["transparency"], None, 0.0, 1.0)
    return {name: value for name, value in parsed.items() if value is not None}


def _parse_tag_overrides(data: object) -> dict[str, dict[str, Any]]:
    if not isinstance(data, Mapping):
        return {}
    overrides: dict[str, dict[str, Any]] = {}
    for tag, raw in data.items():
        if not isinstance(tag, str) or not tag.strip() or not isinstance(raw, Mapping):
            continue
        override = _parse_filter_fields(raw)
        for name in _EXTRA_OVERRIDE_KEYS:
            flag = _parse_bool(raw.get(name), None)
            if flag is not None:
                override[name] = flag
        overrides[tag.strip().lower()] = override
    return overrides


def _parse_tags(data: object, default: frozenset[str]) -> frozenset[str]:
    if not isinstance(data, list | tuple | set | frozenset):
        return default
    return frozenset(tag_key(t) for t in data if isinstance(t, str) and tag_key(t))


def _parse_rules(data: object, default: tuple[BreakRule, ...]) -> tuple[BreakRule, ...]:
    if not isinstance(data, list | tuple):
        return default
    return tuple(r for r in (rule_from_dict(item) for item in data) if r is not None)


def _parse_bool(value: object, default: _T) -> bool | _T:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
    return default


def _parse_float(value: object, default: _T, low: float, high: float) -> float | _T:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return default
    if not math.isfinite(number):
        return default
    return min(high, max(low, number))


def _parse_int(value: object, default: _T, low: int, high: int) -> int | _T:
    number = _parse_float(value, None, float(low), float(high))
    return default if number is None else round(number)


# -- protection for a case -------------------------------------------------------------------

HARM_DEFAULTS = HarmDefaults()


def protection_for(
    tags: Iterable[str],
    preferences: Preferences | None = None,
    harm_defaults: HarmDefaults = HARM_DEFAULTS,
) -> Protection:
    """How to show a case with these content-warning tags: the strongest protection wins.

    Each tag's overrides (the reviewer's own for that tag, else the built-in
    :class:`HarmDefaults`) are laid over the reviewer's default filters; the result
    combines them all field by field, keeping the most protective value (highest blur,
    grayscale if any asks, ...). The reviewer's default is the floor.
    """
    preferences = preferences or Preferences()
    base = preferences.filters
    candidates = [base]
    muted = preferences.muted
    warning = False
    for tag in tags:
        key = tag_key(tag)
        warning = warning or key in preferences.warning_screen_tags
        override = _override_for(tag, preferences, harm_defaults)
        if override is None:
            continue
        candidates.append(_apply_override(base, override))
        muted = muted or bool(override.get("muted", False))
        warning = warning or bool(override.get("warning_screen", False))
    return Protection(filters=strongest(candidates), muted=muted, warning_screen=warning)


def _override_for(
    tag: str, preferences: Preferences, harm_defaults: HarmDefaults
) -> TagOverride | None:
    own = preferences.tag_overrides
    full = tag.strip().lower()
    if full in own:
        return own[full]
    if tag_key(tag) in own:
        return own[tag_key(tag)]
    return harm_defaults.override_for(tag)


def _apply_override(base: FilterSettings, override: TagOverride) -> FilterSettings:
    """``base`` with the override's filter fields; a blur level turns blur on if it was off."""
    values = {k: v for k, v in override.items() if k in _FILTER_FIELDS}
    if "blur_level" in values and "blur_kind" not in values and base.blur_kind == "none":
        values["blur_kind"] = "gaussian"
    return replace(base, **values)


def strongest(candidates: list[FilterSettings]) -> FilterSettings:
    """The most protective combination of several filter settings, field by field."""
    blurring = [c for c in candidates if c.blur_kind != "none"]
    if blurring:
        top = max(blurring, key=lambda c: c.blur_level)
        kind, level = top.blur_kind, top.blur_level
    else:
        kind, level = "none", max(c.blur_level for c in candidates)
    return FilterSettings(
        blur_kind=kind,
        blur_level=level,
        grayscale=any(c.grayscale for c in candidates),
        sepia=any(c.sepia for c in candidates),
        transparency=max(c.transparency for c in candidates),
        reduced_detail=any(c.reduced_detail for c in candidates),
    )


# -- exposure accounting ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExposureTotals:
    """Unblurred time and the same weighted by the revealed share, in milliseconds."""

    unblurred_ms: float = 0.0
    weighted_ms: float = 0.0

    def __add__(self, other: ExposureTotals) -> ExposureTotals:
        return ExposureTotals(
            self.unblurred_ms + other.unblurred_ms, self.weighted_ms + other.weighted_ms
        )


@dataclass(frozen=True)
class ExposureSpan:
    """One reveal, from start to stop: what :func:`record_exposure` stores."""

    case_id: str
    category: str
    started_at: str
    unblurred_ms: float
    weighted_ms: float


ExposureListener = Callable[[str, str, float, float], None]
"""Called as time accrues: (case_id, category, unblurred_ms, weighted_ms) of the new slice."""


@dataclass
class _Reveal:
    case_id: str
    category: str
    started_at: str
    fraction: float
    last: float
    unblurred_ms: float = 0.0
    weighted_ms: float = 0.0


class ExposureMeter:
    """Counts unblurred viewing time per case, per category and for the session.

    Time accrues only between :meth:`start_reveal` and :meth:`stop_reveal`, and only while
    the revealed fraction is above zero; weighted time is multiplied by that fraction.
    Call :meth:`tick` to bring the totals up to now (e.g. for a live display).
    """

    def __init__(self, clock: Clock = time.monotonic, listener: ExposureListener | None = None):
        self._clock = clock
        self._listener = listener
        self._reveal: _Reveal | None = None
        self._by_case: dict[str, ExposureTotals] = {}
        self._by_category: dict[str, ExposureTotals] = {}
        self._session = ExposureTotals()

    @property
    def revealing(self) -> bool:
        """True while a reveal is running."""
        return self._reveal is not None

    def start_reveal(self, case_id: str, category: str = "", fraction: float = 1.0) -> None:
        """Sharp pixels of ``case_id`` are now on screen (``fraction`` of the picture).

        A reveal still running (another case, say) is stopped first.
        """
        if self._reveal is not None:
            self.stop_reveal()
        self._reveal = _Reveal(
            case_id, category, utc_now_iso(), _clamp_fraction(fraction), self._clock()
        )

    def set_fraction(self, fraction: float) -> None:
        """The revealed share changed (regions added or removed); no-op when not revealing."""
        if self._reveal is None:
            return
        self._accrue()
        self._reveal.fraction = _clamp_fraction(fraction)

    def tick(self) -> None:
        """Bring every total up to now."""
        if self._reveal is not None:
            self._accrue()

    def stop_reveal(self) -> ExposureSpan | None:
        """The content is protected again; returns the finished span (None if none ran)."""
        if self._reveal is None:
            return None
        self._accrue()
        reveal, self._reveal = self._reveal, None
        return ExposureSpan(
            reveal.case_id,
            reveal.category,
            reveal.started_at,
            reveal.unblurred_ms,
            reveal.weighted_ms,
        )

    @property
    def session_total_ms(self) -> float:
        """Unblurred milliseconds this session (up to the last accrual)."""
        return self._session.unblurred_ms

    @property
    def session_weighted_ms(self) -> float:
        """Area-weighted unblurred milliseconds this session."""
        return self._session.weighted_ms

    def by_case(self) -> dict[str, ExposureTotals]:
        """Totals per case id."""
        return dict(self._by_case)

    def by_category(self) -> dict[str, ExposureTotals]:
        """Totals per harm category."""
        return dict(self._by_category)

    def _accrue(self) -> None:
        reveal = self._reveal
        assert reveal is not None
        now = self._clock()
        elapsed_ms = max(0.0, now - reveal.last) * 1000.0
        reveal.last = now
        if elapsed_ms == 0.0 or reveal.fraction == 0.0:
            return
        part = ExposureTotals(elapsed_ms, elapsed_ms * reveal.fraction)
        reveal.unblurred_ms += part.unblurred_ms
        reveal.weighted_ms += part.weighted_ms
        self._session += part
        self._by_case[reveal.case_id] = self._by_case.get(reveal.case_id, ExposureTotals()) + part
        self._by_category[reveal.category] = (
            self._by_category.get(reveal.category, ExposureTotals()) + part
        )
        if self._listener is not None:
            self._listener(reveal.case_id, reveal.category, part.unblurred_ms, part.weighted_ms)


def _clamp_fraction(fraction: float) -> float:
    value = float(fraction)
    return 0.0 if not math.isfinite(value) else min(1.0, max(0.0, value))


# -- persistence -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """What a review session amounted to, for the end-of-session screen."""

    session_id: str
    started_at: str
    ended_at: str | None
    cases_seen: int
    decided: int
    unblurred_ms: int
    weighted_ms: int
    by_category: dict[str, ExposureTotals]
    longest_exposure_ms: int
    breaks_taken: int


def start_session(db: sqlite_utils.Database, reviewer_id: str | None) -> str:
    """Open a review session now; returns its id."""
    session_id = new_event_id()
    with transaction(db):
        db.table("review_sessions").insert(
            {"id": session_id, "reviewer_id": reviewer_id, "started_at": utc_now_iso()}
        )
    return session_id


def end_session(db: sqlite_utils.Database, session_id: str) -> None:
    """Close a review session now (a no-op if it is already closed)."""
    with transaction(db):
        db.execute(
            "UPDATE review_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
            [utc_now_iso(), session_id],
        )


def record_exposure(db: sqlite_utils.Database, session_id: str | None, span: ExposureSpan) -> int:
    """Store one finished reveal, in one transaction; returns the row id."""
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO exposure"
            " (session_id, case_id, category, started_at, unblurred_ms, weighted_ms)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                session_id,
                span.case_id,
                span.category,
                span.started_at,
                round(span.unblurred_ms),
                round(span.weighted_ms),
            ],
        )
        return int(cursor.lastrowid or 0)


def record_break(db: sqlite_utils.Database, session_id: str, reason: str = "") -> None:
    """Note that the reviewer took a break now (``reason``: the rule that suggested it)."""
    with transaction(db):
        db.table("session_breaks").insert(
            {"session_id": session_id, "taken_at": utc_now_iso(), "reason": reason}
        )


def exposure_for_case(db: sqlite_utils.Database, case_id: str) -> ExposureTotals:
    """All stored unblurred time on one case, across sessions."""
    row = db.execute(
        "SELECT COALESCE(SUM(unblurred_ms), 0), COALESCE(SUM(weighted_ms), 0)"
        " FROM exposure WHERE case_id = ?",
        [case_id],
    ).fetchone()
    return ExposureTotals(float(row[0]), float(row[1]))


def session_summary(db: sqlite_utils.Database, session_id: str) -> SessionSummary:
    """Cases seen and decided, unblurred time (per category), longest exposure, breaks.

    Cases seen are those revealed or decided in the session; decided counts the cases the
    session's reviewer gave a verdict (not an undo) between its start and end (or now).
    """
    session = db.execute(
        "SELECT started_at, ended_at, reviewer_id FROM review_sessions WHERE id = ?",
        [session_id],
    ).fetchone()
    if session is None:
        raise KeyError(f"no review session {session_id!r}")
    started_at, ended_at, reviewer_id = session
    until = ended_at or utc_now_iso()
    decided_ids = {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT case_id FROM verdicts WHERE reviewer_id = ? AND label IS NOT NULL"
            " AND role <> 'participant'"
            " AND created_at >= ? AND created_at <= ?",
            [reviewer_id, started_at, until],
        )
    }
    seen_ids = {
        r[0] for r in db.execute("SELECT case_id FROM exposure WHERE session_id = ?", [session_id])
    }
    totals = db.execute(
        "SELECT COALESCE(SUM(unblurred_ms), 0), COALESCE(SUM(weighted_ms), 0),"
        " COALESCE(MAX(unblurred_ms), 0) FROM exposure WHERE session_id = ?",
        [session_id],
    ).fetchone()
    by_category = {
        r[0]: ExposureTotals(float(r[1]), float(r[2]))
        for r in db.execute(
            "SELECT category, SUM(unblurred_ms), SUM(weighted_ms) FROM exposure"
            " WHERE session_id = ? GROUP BY category ORDER BY category",
            [session_id],
        )
    }
    breaks = db.execute(
        "SELECT COUNT(*) FROM session_breaks WHERE session_id = ?", [session_id]
    ).fetchone()[0]
    return SessionSummary(
        session_id=session_id,
        started_at=started_at,
        ended_at=ended_at,
        cases_seen=len(seen_ids | decided_ids),
        decided=len(decided_ids),
        unblurred_ms=int(totals[0]),
        weighted_ms=int(totals[1]),
        by_category=by_category,
        longest_exposure_ms=int(totals[2]),
        breaks_taken=int(breaks),
    )


# -- break suggestions -----------------------------------------------------------------------


@dataclass(frozen=True)
class BreakSuggestion:
    """A break is due: which rule asks for it, and a sentence to show the reviewer."""

    rule: BreakRule
    message: str


class BreakAdvisor:
    """Watches the session and says when a break is due, by the configured rules.

    Feed it with :meth:`observe_case` (each case shown) and :meth:`observe_exposure`
    (unblurred time as it accrues, e.g. as an :class:`ExposureMeter` listener), then ask
    :meth:`due`. :meth:`snooze` silences it for a while; :meth:`took_break` starts afresh.
    """

    def __init__(
        self, rules: Iterable[BreakRule] = DEFAULT_BREAK_RULES, clock: Clock = time.monotonic
    ):
        self.rules = tuple(rules)
        self._clock = clock
        self._since = clock()
        self._severe_exposure: deque[tuple[float, float]] = deque()  # (time, weighted ms)
        self._consecutive_severe = 0
        self._last_case: str | None = None
        self._snoozed_until = -math.inf
        self.breaks_taken = 0

    def observe_case(self, case_id: str, severe: bool) -> None:
        """A case is on screen; ``severe`` when its tags mark it severe or graphic."""
        if case_id == self._last_case:
            return
        self._last_case = case_id
        self._consecutive_severe = self._consecutive_severe + 1 if severe else 0

    def observe_exposure(self, weighted_ms: float, severe: bool) -> None:
        """Some unblurred (area-weighted) time just accrued; only severe content counts."""
        if severe and weighted_ms > 0:
            self._severe_exposure.append((self._clock(), float(weighted_ms)))

    def due(self) -> BreakSuggestion | None:
        """The first rule that asks for a break now, unless snoozed; else None."""
        now = self._clock()
        if now < self._snoozed_until:
            return None
        for rule in self.rules:
            message = self._check(rule, now)
            if message is not None:
                return BreakSuggestion(rule, message)
        return None

    def snooze(self, minutes: float) -> None:
        """No suggestion for ``minutes``; a rule still met afterwards asks again."""
        self._snoozed_until = self._clock() + max(0.0, minutes) * 60.0

    def took_break(self) -> None:
        """The reviewer took a break: session time, exposure window and streak restart."""
        self._since = self._clock()
        self._severe_exposure.clear()
        self._consecutive_severe = 0
        self._snoozed_until = -math.inf
        self.breaks_taken += 1

    def severe_exposure_ms(self, window_minutes: float) -> float:
        """Weighted severe exposure within the last ``window_minutes``."""
        start = self._clock() - window_minutes * 60.0
        return sum(ms for t, ms in self._severe_exposure if t >= start)

    def _check(self, rule: BreakRule, now: float) -> str | None:
        if isinstance(rule, SessionTimeRule):
            minutes = (now - self._since) / 60.0
            if minutes >= rule.minutes:
                return f"You have been reviewing for {minutes:.0f} minutes. Time for a break?"
        elif isinstance(rule, SevereExposureRule):
            self._forget_exposure_before(now - rule.window_minutes * 60.0)
            seconds = self.severe_exposure_ms(rule.window_minutes) / 1000.0
            if seconds >= rule.seconds:
                return (
                    f"{seconds:.0f} s of severe content unblurred in the last "
                    f"{rule.window_minutes:.0f} minutes. Step away for a moment?"
                )
        elif self._consecutive_severe >= rule.cases:
            return f"{self._consecutive_severe} severe cases in a row. A short break may help."
        return None

    def _forget_exposure_before(self, start: float) -> None:
        # Only the longest window matters for keeping entries.
        longest = max(
            (r.window_minutes * 60.0 for r in self.rules if isinstance(r, SevereExposureRule)),
            default=0.0,
        )
        horizon = min(start, self._clock() - longest)
        while self._severe_exposure and self._severe_exposure[0][0] < horizon:
            self._severe_exposure.popleft()


class Wellbeing:
    """The wellbeing room (``ws.wellbeing``): review sessions, exposure and breaks (local only)."""

    def __init__(self, db: sqlite_utils.Database, reviewer_id: Callable[[], str]) -> None:
        self._db = db
        self._reviewer_id = reviewer_id

    def start_session(self) -> str:
        """Open a review session for the local reviewer now; returns its id."""
        return start_session(self._db, self._reviewer_id())

    def end_session(self, session_id: str) -> None:
        """Close a review session now."""
        end_session(self._db, session_id)

    def record_exposure(self, session_id: str | None, span: ExposureSpan) -> int:
        """Store one finished reveal (stays local)."""
        return record_exposure(self._db, session_id, span)

    def record_break(self, session_id: str, reason: str = "") -> None:
        """Note a break taken in the session now."""
        record_break(self._db, session_id, reason)

    def session_summary(self, session_id: str) -> SessionSummary:
        """What a review session amounted to: cases, decisions, exposure, breaks."""
        return session_summary(self._db, session_id)

    def exposure_for_case(self, case_id: str) -> ExposureTotals:
        """All stored unblurred time on one case, across sessions."""
        return exposure_for_case(self._db, case_id)
