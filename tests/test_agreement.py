"""Agreement metrics against published worked examples, and their properties.

Every published figure is checked to 3 decimals. Sources, cited per test:
Fleiss (1971) via Wikipedia's "Fleiss' kappa" example; Krippendorff (2011) "Computing
Krippendorff's Alpha-Reliability"; Gwet (2014) "Handbook of Inter-Rater Reliability" (4th ed.)
examples as printed in the README of Gwet's own R package irrCAC; Wikipedia's "Cohen's kappa"
example.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_desktop.core.agreement import t_quantile
from qa_desktop.core.api import (
    ALPHA_BANDS,
    KAPPA_BANDS,
    AgreementError,
    AgreementReport,
    agreement,
    cohen_kappa,
    cohen_matrix,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    ruling_agreement,
    wilson,
)

Votes = dict[str, dict[str, str]]


def from_rows(rows: Mapping[str, str]) -> Votes:
    """Votes from one string per rater, one token per case, "." for a missing vote."""
    columns = {rater: text.split() for rater, text in rows.items()}
    cases = len(next(iter(columns.values())))
    return {
        f"u{i + 1:02d}": {r: col[i] for r, col in columns.items() if col[i] != "."}
        for i in range(cases)
    }


def from_table(table: list[list[int]], labels: list[str]) -> Votes:
    """Two raters' votes from a contingency table (rows rater A, columns rater B)."""
    votes: Votes = {}
    for a, row in enumerate(table):
        for b, count in enumerate(row):
            for _ in range(count):
                votes[f"c{len(votes):04d}"] = {"A": labels[a], "B": labels[b]}
    return votes


def from_distribution(table: list[list[int]], labels: str) -> Votes:
    """Votes from a subjects x categories count table (raters numbered within a subject)."""
    votes: Votes = {}
    for i, row in enumerate(table):
        labelled = [label for label, n in zip(labels, row, strict=True) for _ in range(n)]
        votes[f"s{i:02d}"] = {f"r{j:02d}": label for j, label in enumerate(labelled)}
    return votes


# Krippendorff (2011), section C ("nominal data, any number of observers, missing data"):
# 4 observers, 12 units, values 1-5. The same data is Gwet's cac.raw4raters.
KRIPPENDORFF_2011 = from_rows(
    {
        "A": "1 2 3 3 2 1 4 1 2 . . .",
        "B": "1 2 3 3 2 2 4 1 2 5 . 3",
        "C": ". 3 3 3 2 3 4 2 2 5 1 .",
        "D": "1 2 3 3 2 4 4 1 2 5 1 .",
    }
)
FIVE = ["1", "2", "3", "4", "5"]

# Gwet (2014), the 3x3 contingency table of two abstractors (irrCAC's cont3x3abstractors).
ABSTRACTORS = from_table([[13, 0, 0], [0, 20, 7], [0, 4, 56]], ["Ectopic", "AIU", "NIU"])
ABSTRACTOR_LABELS = ["Ectopic", "AIU", "NIU"]


def test_fleiss_kappa_matches_the_psychiatric_diagnosis_example() -> None:
    """Fleiss (1971), worked example of Wikipedia's "Fleiss' kappa" article: 10 subjects,
    14 raters, 5 categories; P-bar = 0.378, P_e = 0.213, kappa = 0.210."""
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    votes = from_distribution(table, "ABCDE")
    kappa = fleiss_kappa(votes, list("ABCDE"))
    assert kappa.value is not None
    assert round(kappa.value, 3) == 0.210
    assert kappa.band == "slight"  # 0.2099... sits just under Landis & Koch's 0.21
    percent = percent_agreement(votes, list("ABCDE"))
    assert percent.value is not None
    assert round(percent.value, 3) == 0.378  # Fleiss' P-bar


def test_krippendorff_alpha_matches_the_2011_nominal_example_with_missing_data() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", C: nominal data,
    4 observers, 12 units with missing values: alpha = 0.743."""
    alpha = krippendorff_alpha(KRIPPENDORFF_2011, FIVE, resamples=200, seed=7)
    assert alpha.value is not None
    assert round(alpha.value, 3) == 0.743
    assert alpha.band == "tentative"
    assert alpha.interval is not None
    assert alpha.interval.low < alpha.value <= alpha.interval.high
    assert alpha.interval_method is not None and "200 resamples, seed 7" in alpha.interval_method


def test_gwet_four_raters_with_missing_ratings() -> None:
    """Gwet (2014) Handbook, 4th ed., raw ratings of 4 raters with missing values (irrCAC's
    cac.raw4raters, printed in the irrCAC README): percent agreement 0.8181818,
    AC1 0.77544 (pe 0.1903212), Fleiss' kappa 0.76117 (pe 0.2387153), alpha 0.74342."""
    report = agreement(KRIPPENDORFF_2011, FIVE, resamples=200)
    assert isinstance(report, AgreementReport)
    assert report.cases == 12 and report.pairable_cases == 11
    assert report.raters == ("A", "B", "C", "D")
    values = (report.percent.value, report.ac1.value, report.fleiss_kappa.value, report.alpha.value)
    assert [round(v, 3) if v is not None else None for v in values] == [0.818, 0.775, 0.761, 0.743]


def test_gwet_two_abstractors_and_cohen_kappa_with_its_interval() -> None:
    """Gwet (2014) Handbook, 4th ed., two abstractors' 3x3 table (irrCAC cont3x3abstractors,
    irrCAC README): Cohen's kappa 0.7964094, se 0.05891072, 95 % CI (0.68, 0.913);
    Scott's pi 0.7962397; AC1 0.8493305; alpha 0.7972585; percent agreement 0.89."""
    pair = cohen_kappa(ABSTRACTORS, "A", "B", ABSTRACTOR_LABELS)
    kappa = pair.kappa
    assert pair.cases == 100
    assert kappa.value is not None and kappa.interval is not None
    assert round(kappa.value, 3) == 0.796
    assert (round(kappa.interval.low, 2), round(kappa.interval.high, 3)) == (0.68, 0.913)
    assert kappa.interval_method is not None and "0.0589" in kappa.interval_method
    report = agreement(ABSTRACTORS, ABSTRACTOR_LABELS, resamples=200)
    # Fleiss' kappa with two raters and no missing votes is Scott's pi.
    scott = report.fleiss_kappa.value
    assert scott is not None and round(scott, 3) == 0.796
    assert report.ac1.value is not None and round(report.ac1.value, 3) == 0.849
    assert report.alpha.value is not None and round(report.alpha.value, 3) == 0.797
    assert report.percent.value is not None and round(report.percent.value, 3) == 0.890
    assert report.percent.interval == wilson(89, 100)


def test_cohen_kappa_matches_wikipedia_worked_example() -> None:
    """Wikipedia "Cohen's kappa", simple example: 50 proposals, both yes 20, A yes B no 5,
    A no B yes 10, both no 15: p_o = 0.7, p_e = 0.5, kappa = 0.40."""
    votes = from_table([[20, 5], [10, 15]], ["yes", "no"])
    kappa = cohen_kappa(votes, "A", "B", ["yes", "no"]).kappa
    assert kappa.value is not None and round(kappa.value, 3) == 0.400
    assert kappa.band == "fair"
    assert kappa.interval is not None
    assert kappa.interval.low < 0.4 < kappa.interval.high


@pytest.mark.parametrize(
    ("df", "published"),
    [(1, 12.706), (2, 4.303), (5, 2.571), (30, 2.042), (99, 1.984), (5000, 1.960)],
)
def test_t_quantile_matches_the_t_table(df: int, published: float) -> None:
    """Two-sided 95 % Student t quantiles as printed in any t table."""
    assert round(t_quantile(df), 3) == published


def test_the_kappa_matrix_has_every_pair_once() -> None:
    matrix = cohen_matrix(KRIPPENDORFF_2011, FIVE)
    assert matrix.raters == ("A", "B", "C", "D")
    assert len(matrix.pairs) == 6
    ab = matrix.get("B", "A")
    assert ab is matrix.get("A", "B")
    assert ab.cases == 9  # A and B both voted on units 1-9
    with pytest.raises(KeyError):
        matrix.get("A", "A")


def test_agreement_with_the_ruling_has_wilson_intervals() -> None:
    votes = {
        "c1": {"ann": "allow", "bob": "remove"},
        "c2": {"ann": "remove", "bob": "remove"},
        "c3": {"ann": "remove"},
        "c4": {"bob": "allow"},  # no ruling yet: not counted
    }
    rulings = {"c1": "allow", "c2": "remove", "c3": "allow"}
    ann, bob = ruling_agreement(votes, rulings, ["allow", "remove"])
    assert (ann.rater, ann.matches, ann.cases) == ("ann", 2, 3)
    assert ann.rate.interval == wilson(2, 3)
    assert (bob.rater, bob.matches, bob.cases) == ("bob", 1, 2)
    none = ruling_agreement(votes, {}, ["allow", "remove"])
    assert all(r.rate.value is None and r.rate.reason for r in none)


def test_undefined_instead_of_nan() -> None:
    labels = ["allow", "remove"]
    one_rater = {"c1": {"ann": "allow"}, "c2": {"ann": "remove"}}
    report = agreement(one_rater, labels, resamples=10)
    for estimate in (report.percent, report.fleiss_kappa, report.alpha, report.ac1):
        assert estimate.value is None and estimate.reason == "one rater"
        assert not estimate.defined and estimate.band is None
    same = {f"c{i}": {"ann": "allow", "bob": "allow", "cy": "allow"} for i in range(5)}
    report = agreement(same, labels, resamples=10)
    assert report.fleiss_kappa.value is None and "same label" in (report.fleiss_kappa.reason or "")
    assert report.alpha.value is None and "same label" in (report.alpha.reason or "")
    assert report.pairwise.get("ann", "bob").kappa.value is None
    assert report.percent.value == 1.0
    assert report.ac1.value == 1.0  # AC1 stays defined: its chance term is 0
    no_pairs = {"c1": {"ann": "allow"}, "c2": {"bob": "remove"}}
    report = agreement(no_pairs, labels, resamples=10)
    assert report.alpha.reason == "no case has two votes"
    assert report.pairwise.get("ann", "bob").kappa.reason == "no case voted on by both"
    assert agreement({}, labels).percent.reason == "no votes"


def test_unused_labels_count_for_ac1_but_not_for_alpha() -> None:
    """All the pack's labels are categories: AC1's chance term divides by q - 1."""
    six = [*FIVE, "6"]
    assert gwet_ac1(KRIPPENDORFF_2011, FIVE).value != gwet_ac1(KRIPPENDORFF_2011, six).value
    assert krippendorff_alpha(KRIPPENDORFF_2011, six).value == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_2011, FIVE).value
    )


def test_bootstrap_is_deterministic_with_a_seed() -> None:
    first = agreement(KRIPPENDORFF_2011, FIVE, resamples=300, seed=3)
    again = agreement(dict(reversed(KRIPPENDORFF_2011.items())), FIVE, resamples=300, seed=3)
    other = agreement(KRIPPENDORFF_2011, FIVE, resamples=300, seed=4)
    assert first == again
    assert (first.alpha.interval, first.ac1.interval) != (other.alpha.interval, other.ac1.interval)


def test_bands_carry_their_source() -> None:
    assert "Landis" in KAPPA_BANDS.source and "1977" in KAPPA_BANDS.source
    assert "Krippendorff" in ALPHA_BANDS.source
    assert [b.low for b in ALPHA_BANDS.bands][1:] == [0.667, 0.800]
    assert [KAPPA_BANDS.label_for(v) for v in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "poor",
        "slight",
        "fair",
        "moderate",
        "substantial",
        "almost perfect",
    ]
    assert ALPHA_BANDS.label_for(0.8) == "reliable"
    assert ALPHA_BANDS.label_for(None) is None


def test_bad_input_is_refused_with_the_case_and_the_label() -> None:
    with pytest.raises(AgreementError, match=r"case c1: ann's vote 'spam' is not one of"):
        agreement({"c1": {"ann": "spam", "bob": "allow"}}, ["allow", "remove"])
    with pytest.raises(AgreementError, match="none were given"):
        agreement({"c1": {"ann": "allow"}}, [])
    with pytest.raises(AgreementError, match="case c1: the ruling 'spam'"):
        ruling_agreement({"c1": {"ann": "allow"}}, {"c1": "spam"}, ["allow"])
    with pytest.raises(AgreementError, match="resamples"):
        gwet_ac1(KRIPPENDORFF_2011, FIVE, resamples=0)


# --- properties ---------------------------------------------------------------------------

LABELS = ["allow", "remove", "escalate"]
RATERS = ["ann", "bob", "cy", "dee"]

votes_strategy = st.dictionaries(
    st.text("abcdefgh0123", min_size=1, max_size=4),
    st.dictionaries(st.sampled_from(RATERS), st.sampled_from(LABELS), max_size=4),
    max_size=12,
)


def _values(report: AgreementReport) -> list[float | None]:
    return [
        report.percent.value,
        report.fleiss_kappa.value,
        report.alpha.value,
        report.ac1.value,
        *(pair.kappa.value for pair in report.pairwise.pairs),
    ]


def _close(a: list[float | None], b: list[float | None]) -> bool:
    return len(a) == len(b) and all(
        (x is None and y is None) or (x is not None and y is not None and math.isclose(x, y))
        for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(votes=votes_strategy, order=st.randoms())
def test_permuting_raters_or_cases_changes_nothing(votes: Votes, order: random.Random) -> None:
    report = agreement(votes, LABELS, resamples=20)
    shuffled = list(votes.items())
    order.shuffle(shuffled)
    assert agreement(dict(shuffled), LABELS, resamples=20) == report
    # Renaming raters by a permutation: every figure stays; the pairwise matrix is the
    # same multiset of values.
    names = RATERS[:]
    order.shuffle(names)
    rename = dict(zip(RATERS, names, strict=True))
    renamed = {case: {rename[r]: v for r, v in unit.items()} for case, unit in votes.items()}
    other = agreement(renamed, LABELS, resamples=20)
    assert _close(_values(report)[:4], _values(other)[:4])
    assert (report.alpha.interval, report.ac1.interval) == (
        other.alpha.interval,
        other.ac1.interval,
    )
    key = lambda v: -9.0 if v is None else v  # noqa: E731
    assert _close(sorted(_values(report)[4:], key=key), sorted(_values(other)[4:], key=key))


@settings(max_examples=60, deadline=None)
@given(votes=votes_strategy)
def test_never_nan_and_a_reason_whenever_undefined(votes: Votes) -> None:
    report = agreement(votes, LABELS, resamples=20)
    estimates = [report.percent, report.fleiss_kappa, report.alpha, report.ac1]
    estimates += [pair.kappa for pair in report.pairwise.pairs]
    for estimate in estimates:
        if estimate.value is None:
            assert estimate.reason
        else:
            assert math.isfinite(estimate.value) and estimate.reason is None
            assert estimate.value <= 1.0 + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    cases=st.lists(st.sampled_from(LABELS), min_size=1, max_size=10),
    raters=st.integers(min_value=2, max_value=5),
)
def test_perfect_agreement_is_one_or_undefined(cases: list[str], raters: int) -> None:
    votes = {f"c{i}": {f"r{j}": label for j in range(raters)} for i, label in enumerate(cases)}
    report = agreement(votes, LABELS, resamples=20)
    assert report.percent.value == 1.0
    assert report.ac1.value == pytest.approx(1.0)
    for estimate in (report.fleiss_kappa, report.alpha):
        if len(set(cases)) > 1:
            assert estimate.value == pytest.approx(1.0)
        else:
            assert estimate.value is None and estimate.reason


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), min_size=1))
def test_alpha_with_two_raters_and_no_missing_votes_is_close_to_scotts_pi(
    pairs: list[tuple[str, str]],
) -> None:
    """Krippendorff (2011): with two observers and no missing data, alpha = 1 - (2N-1)/(2N)
    (1 - pi), Scott's pi corrected for small samples; they converge as N grows."""
    votes = {f"c{i:03d}": {"A": a, "B": b} for i, (a, b) in enumerate(pairs)}
    n = len(pairs)
    pi = fleiss_kappa(votes, LABELS).value
    alpha = krippendorff_alpha(votes, LABELS, resamples=10).value
    if pi is None:
        assert alpha is None
        return
    assert alpha is not None
    assert alpha == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))
    assert abs(alpha - pi) <= (1 - pi) / (2 * n) + 1e-12
