"""The reports' median time on case, kept as short sorted runs (issue 15: one sort of a
reviewer's million times held the GIL for 60-70 ms while the Reports screen waited)."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa_desktop.core.reports.figures import SortedRuns


class ShortRuns(SortedRuns):
    RUN = 3  # many runs from a few numbers


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=60))
def test_the_median_of_sorted_runs_is_the_statistics_median(values: list[int]) -> None:
    for runs in (SortedRuns(), ShortRuns()):
        for value in values:
            runs.add(value)
        assert len(runs) == len(values)
        assert runs.median() == float(statistics.median(values))


def test_a_million_times_are_sorted_a_run_at_a_time() -> None:
    runs = SortedRuns()
    for value in range(1_000_000, 0, -1):
        runs.add(value)
    assert max(map(len, runs.runs)) <= SortedRuns.RUN and len(runs.runs) >= 30
    assert runs.median() == 500_000.5


def test_no_times_no_median() -> None:
    with pytest.raises(ValueError, match="no median"):
        SortedRuns().median()
