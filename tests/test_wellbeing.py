"""Wellbeing: protection per harm type, preferences, exposure accounting, break rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core import wellbeing
from qa_desktop.core.media import BLUR_KINDS, FilterSettings
from qa_desktop.core.store import schema_version
from qa_desktop.core.wellbeing import (
    BreakAdvisor,
    ConsecutiveSevereRule,
    ExposureMeter,
    ExposureSpan,
    ExposureTotals,
    Preferences,
    SessionTimeRule,
    SevereExposureRule,
    protection_for,
)
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK

from .factory import case_record, write_batch
from .recording import record


class FakeClock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- protection -------------------------------------------------------------------------------


def test_untagged_cases_get_the_reviewers_defaults() -> None:
    prefs = Preferences(filters=FilterSettings(blur_kind="pixelate", blur_level=3))
    assert protection_for([], prefs) == wellbeing.Protection(prefs.filters, False, False)
    assert protection_for(["violence"], prefs).filters == prefs.filters


@pytest.mark.parametrize("tag", ["severe", "graphic", "gore", "Severe:Violence"])
def test_severe_tags_blur_hard_grey_mute(tag: str) -> None:
    protection = protection_for([tag])
    assert protection.filters.blur_level == 9 and protection.filters.grayscale
    assert protection.muted


def test_nudity_and_self_harm_defaults() -> None:
    assert protection_for(["nudity"]).filters == FilterSettings(blur_level=8)
    assert protection_for(["self-harm"]).filters == FilterSettings(blur_level=8, grayscale=True)
    assert not protection_for(["nudity"]).muted


def test_strongest_protection_wins_field_by_field() -> None:
    prefs = Preferences(
        filters=FilterSettings(blur_level=4, transparency=0.2),
        tag_overrides={"hate": {"sepia": True, "transparency": 0.5, "blur_level": 2}},
    )
    protection = protection_for(["hate", "nudity", "self-harm"], prefs)
    assert protection.filters == FilterSettings(
        blur_level=8, grayscale=True, sepia=True, transparency=0.5
    )
    assert not protection.muted and not protection.warning_screen


def test_reviewer_override_replaces_the_built_in_but_not_below_their_default() -> None:
    prefs = Preferences(
        filters=FilterSettings(blur_level=3),
        tag_overrides={"nudity": {"blur_level": 1}, "severe": {"blur_level": 6, "muted": False}},
    )
    assert protection_for(["nudity"], prefs).filters.blur_level == 3
    severe = protection_for(["severe"], prefs)
    assert severe.filters.blur_level == 6 and not severe.filters.grayscale and not severe.muted


def test_a_tag_turns_blur_on_even_when_the_reviewer_prefers_none() -> None:
    prefs = Preferences(filters=FilterSettings(blur_kind="none"))
    assert protection_for([], prefs).filters.blur_kind == "none"
    assert protection_for(["gore"], prefs).filters.blur_kind == "gaussian"


def test_warning_screen_by_tag_list_or_override() -> None:
    assert protection_for(["graphic"]).warning_screen
    assert protection_for(["severe:weapons"]).warning_screen
    assert not protection_for(["nudity"]).warning_screen
    prefs = Preferences(
        warning_screen_tags=frozenset(), tag_overrides={"nudity": {"warning_screen": True}}
    )
    assert protection_for(["nudity"], prefs).warning_screen
    assert not protection_for(["graphic"], prefs).warning_screen


# -- preferences ------------------------------------------------------------------------------


def test_preferences_round_trip_through_a_plain_dict() -> None:
    prefs = Preferences(
        filters=FilterSettings("pixelate", 7, True, False, 0.25, True),
        muted=True,
        tag_overrides={"nudity": {"blur_level": 10, "muted": True}},
        playback_speed=1.5,
        jump_seconds=10.0,
        warning_screen_tags=frozenset({"gore"}),
        break_rules=(SessionTimeRule(30.0), ConsecutiveSevereRule(4)),
    )
    data = prefs.to_dict()
    assert data["warning_screen_tags"] == ["gore"]
    assert data["break_rules"][1] == {"kind": "consecutive_severe", "cases": 4}
    assert Preferences.from_dict(data) == prefs
    assert Preferences.from_dict(Preferences().to_dict()) == Preferences()


def test_preferences_parsing_is_tolerant() -> None:
    data = {
        "filters": {"blur_kind": "smudge", "blur_level": "7", "grayscale": "true", "x": 1},
        "muted": "maybe",
        "playback_speed": 99,
        "jump_seconds": float("nan"),
        "warning_screen_tags": "graphic",
        "break_rules": [{"kind": "nap"}, {"kind": "session_time", "minutes": "20"}, 3],
        "tag_overrides": {"gore": {"blur_level": "high", "sepia": 1}, "": {}, "x": 2},
        "unknown": True,
    }
    prefs = Preferences.from_dict(data)
    assert prefs.filters == FilterSettings(blur_level=7, grayscale=True)
    assert not prefs.muted
    assert prefs.playback_speed == 4.0
    assert prefs.jump_seconds == 5.0
    assert prefs.warning_screen_tags == Preferences().warning_screen_tags
    assert prefs.break_rules == (SessionTimeRule(20.0),)
    assert prefs.tag_overrides == {"gore": {"sepia": True}}
    assert Preferences.from_dict(None) == Preferences()
    assert Preferences.from_dict(["not", "a", "dict"]) == Preferences()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "filters",
        "muted",
        "tag_overrides",
        "playback_speed",
        "jump_seconds",
        "warning_screen_tags",
        "break_rules",
        "blur_level",
        "kind",
    ]
)
_filter_dicts = st.fixed_dictionaries(
    {},
    optional={
        "blur_kind": _json | st.sampled_from(BLUR_KINDS),
        "blur_level": _json,
        "grayscale": _json,
        "transparency": _json,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(_keys, _json | _filter_dicts, max_size=7)
    | st.fixed_dictionaries(
        {
            "filters": _filter_dicts,
            "tag_overrides": st.dictionaries(st.text(max_size=6), _filter_dicts, max_size=3),
        }
    )
)
def test_any_plain_data_parses_to_valid_preferences(data: dict) -> None:
    prefs = Preferences.from_dict(data)
    f = prefs.filters
    assert f.blur_kind in BLUR_KINDS and 1 <= f.blur_level <= 10
    assert 0.0 <= f.transparency <= 1.0
    assert 0.25 <= prefs.playback_speed <= 4.0 and 1.0 <= prefs.jump_seconds <= 120.0
    assert Preferences.from_dict(prefs.to_dict()) == prefs
    protection_for(["severe", "nudity", *prefs.tag_overrides], prefs)


@settings(max_examples=60, deadline=None)
@given(
    blur_kind=st.sampled_from(BLUR_KINDS),
    blur_level=st.integers(1, 10),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    transparency=st.floats(0, 1),
    speed=st.floats(0.25, 4),
)
def test_valid_preferences_survive_the_round_trip(
    blur_kind: str,
    blur_level: int,
    flags: tuple[bool, bool, bool],
    transparency: float,
    speed: float,
) -> None:
    filters = FilterSettings(blur_kind, blur_level, *flags[:2], transparency, flags[2])
    prefs = Preferences(filters=filters, playback_speed=speed)
    assert Preferences.from_dict(prefs.to_dict()) == prefs


# -- exposure ---------------------------------------------------------------------------------


def test_exposure_grows_only_while_revealed() -> None:
    clock = FakeClock()
    meter = ExposureMeter(clock)
    clock.advance(5)
    meter.tick()
    assert meter.session_total_ms == 0
    meter.start_reveal("c-1", "violence")
    clock.advance(2)
    meter.tick()
    assert meter.session_total_ms == pytest.approx(2000)
    clock.advance(1.5)
    span = meter.stop_reveal()
    assert span is not None and span.case_id == "c-1" and span.unblurred_ms == pytest.approx(3500)
    clock.advance(60)
    meter.tick()
    assert meter.session_total_ms == pytest.approx(3500)
    assert meter.stop_reveal() is None and not meter.revealing


def test_exposure_is_weighted_by_the_revealed_fraction() -> None:
    clock = FakeClock()
    meter = ExposureMeter(clock)
    meter.start_reveal("c-1", "violence", fraction=0.25)
    clock.advance(4)
    meter.set_fraction(0.5)
    clock.advance(2)
    meter.set_fraction(0.0)
    clock.advance(10)
    span = meter.stop_reveal()
    assert span is not None
    assert span.unblurred_ms == pytest.approx(6000)
    assert span.weighted_ms == pytest.approx(4 * 250 + 2 * 500)
    assert meter.session_weighted_ms == pytest.approx(2000)


def test_exposure_totals_by_case_and_category_and_listener() -> None:
    clock = FakeClock()
    slices: list[tuple[str, str, float, float]] = []
    meter = ExposureMeter(clock, listener=lambda *a: slices.append(a))
    meter.start_reveal("c-1", "violence")
    clock.advance(1)
    meter.start_reveal("c-2", "nudity", fraction=0.5)  # stops c-1 first
    clock.advance(2)
    meter.start_reveal("c-1", "violence")
    clock.advance(3)
    meter.stop_reveal()
    assert meter.by_case() == {"c-1": ExposureTotals(4000, 4000), "c-2": ExposureTotals(2000, 1000)}
    assert meter.by_category()["nudity"] == ExposureTotals(2000, 1000)
    assert meter.session_total_ms == pytest.approx(6000)
    assert sum(s[3] for s in slices) == pytest.approx(5000)


@pytest.fixture
def text_cases(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The workspace with three text cases (c-1 .. c-3) imported."""
    workspace.guidelines.import_pack(DEMO_PACK)
    records = [case_record(f"c-{i}", "text", [], tags=["severe"]) for i in (1, 2, 3)]
    workspace.batches.import_batch(write_batch(tmp_path / "batch", records))
    return workspace


def span(case_id: str, category: str, unblurred: float, weighted: float) -> ExposureSpan:
    return ExposureSpan(case_id, category, "2026-11-01T10:00:00.000Z", unblurred, weighted)


def test_migration_4_makes_the_exposure_tables(workspace: Workspace) -> None:
    assert schema_version(workspace.database_for_tests()) >= 4
    assert {"exposure", "review_sessions", "session_breaks"} <= set(
        workspace.database_for_tests().table_names()
    )


def test_exposure_is_persisted_and_summarized(text_cases: Workspace) -> None:
    ws = text_cases
    session = ws.wellbeing.start_session()
    ws.wellbeing.record_exposure(session, span("c-1", "violence", 3000.4, 1500.2))
    ws.wellbeing.record_exposure(session, span("c-1", "violence", 1000, 1000))
    ws.wellbeing.record_exposure(session, span("c-2", "self-harm", 5000, 1250))
    record(ws, "c-3", "vh_remove")
    ws.wellbeing.record_break(session, "session_time")
    other = ws.wellbeing.start_session()
    ws.wellbeing.record_exposure(other, span("c-1", "violence", 700, 700))
    ws.wellbeing.end_session(session)

    summary = ws.wellbeing.session_summary(session)
    assert summary.ended_at is not None and summary.started_at <= summary.ended_at
    assert (summary.cases_seen, summary.decided) == (3, 1)
    assert (summary.unblurred_ms, summary.weighted_ms) == (9000, 3750)
    assert summary.by_category == {
        "self-harm": ExposureTotals(5000, 1250),
        "violence": ExposureTotals(4000, 2500),
    }
    assert summary.longest_exposure_ms == 5000 and summary.breaks_taken == 1
    assert ws.wellbeing.exposure_for_case("c-1") == ExposureTotals(4700, 3200)
    assert ws.wellbeing.exposure_for_case("c-3") == ExposureTotals(0, 0)


def test_a_meter_span_goes_straight_into_the_store(text_cases: Workspace) -> None:
    clock = FakeClock()
    meter = ExposureMeter(clock)
    session = text_cases.wellbeing.start_session()
    meter.start_reveal("c-2", "gore", fraction=0.5)
    clock.advance(2.5)
    stopped = meter.stop_reveal()
    assert stopped is not None
    text_cases.wellbeing.record_exposure(session, stopped)
    summary = text_cases.wellbeing.session_summary(session)
    assert (summary.unblurred_ms, summary.weighted_ms, summary.cases_seen) == (2500, 1250, 1)
    assert summary.ended_at is None and summary.decided == 0


def test_exposure_must_name_a_known_case(text_cases: Workspace) -> None:
    session = text_cases.wellbeing.start_session()
    with pytest.raises(Exception, match="FOREIGN KEY"):
        text_cases.wellbeing.record_exposure(session, span("nope", "", 1, 1))
    assert text_cases.wellbeing.session_summary(session).unblurred_ms == 0


def test_unknown_session_summary_raises(workspace: Workspace) -> None:
    with pytest.raises(KeyError):
        workspace.wellbeing.session_summary("missing")


# -- breaks -----------------------------------------------------------------------------------


def test_session_time_rule_fires_after_n_minutes() -> None:
    clock = FakeClock()
    advisor = BreakAdvisor([SessionTimeRule(minutes=50)], clock)
    clock.advance(49 * 60)
    assert advisor.due() is None
    clock.advance(60)
    suggestion = advisor.due()
    assert suggestion is not None and suggestion.rule == SessionTimeRule(50)
    assert "50 minutes" in suggestion.message


def test_severe_exposure_rule_counts_a_rolling_window() -> None:
    clock = FakeClock()
    advisor = BreakAdvisor([SevereExposureRule(seconds=60, window_minutes=10)], clock)
    advisor.observe_exposure(40_000, severe=True)
    advisor.observe_exposure(500_000, severe=False)  # not severe: not counted
    assert advisor.due() is None
    clock.advance(9 * 60)
    advisor.observe_exposure(15_000, severe=True)
    assert advisor.due() is None
    clock.advance(30)
    advisor.observe_exposure(5_000, severe=True)
    assert advisor.due() is not None  # 40 + 15 + 5 = 60 s within 10 min
    clock.advance(90)  # the first 40 s leave the window
    assert advisor.due() is None
    assert advisor.severe_exposure_ms(10) == pytest.approx(20_000)


def test_consecutive_severe_rule_counts_distinct_cases_in_a_row() -> None:
    advisor = BreakAdvisor([ConsecutiveSevereRule(cases=3)], FakeClock())
    for case_id in ("a", "a", "b"):
        advisor.observe_case(case_id, severe=True)
    assert advisor.due() is None
    advisor.observe_case("c", severe=False)
    advisor.observe_case("d", severe=True)
    advisor.observe_case("e", severe=True)
    assert advisor.due() is None
    advisor.observe_case("f", severe=True)
    suggestion = advisor.due()
    assert suggestion is not None and suggestion.rule.kind == "consecutive_severe"


def test_snooze_silences_until_it_runs_out() -> None:
    clock = FakeClock()
    advisor = BreakAdvisor([SessionTimeRule(minutes=1)], clock)
    clock.advance(61)
    assert advisor.due() is not None
    advisor.snooze(5)
    clock.advance(4 * 60)
    assert advisor.due() is None
    clock.advance(61)
    assert advisor.due() is not None


def test_taking_a_break_resets_every_counter() -> None:
    clock = FakeClock()
    rules = [SessionTimeRule(10), SevereExposureRule(30, 5), ConsecutiveSevereRule(2)]
    advisor = BreakAdvisor(rules, clock)
    advisor.observe_case("a", severe=True)
    advisor.observe_case("b", severe=True)
    advisor.observe_exposure(31_000, severe=True)
    clock.advance(11 * 60)
    first = advisor.due()
    assert first is not None and first.rule == rules[0]  # rules are asked in order
    advisor.snooze(60)
    advisor.took_break()
    assert advisor.due() is None and advisor.breaks_taken == 1
    clock.advance(9 * 60)
    assert advisor.due() is None


def test_no_rules_never_suggest_a_break() -> None:
    clock = FakeClock()
    advisor = BreakAdvisor([], clock)
    clock.advance(10_000)
    assert advisor.due() is None
