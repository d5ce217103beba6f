"""Inter-rater agreement for calibration votes: percent, Fleiss, Krippendorff, Gwet, Cohen.

Votes come as ``{case_id: {rater: label}}`` (a rater who did not vote on a case is simply
absent, or None); the categories are all of the pack's labels, not only those observed, so
chance agreement counts the labels nobody picked. Every figure follows Gwet's (2014) framework
for missing ratings: agreement is measured on the cases with at least two votes, the label
shares on every case with a vote::

    report = agreement(votes, categories=("allow", "remove", "escalate"), rulings=rulings)
    report.alpha.value, report.alpha.interval, report.alpha.band

A figure that cannot be computed (one rater, no case with two votes, every vote the same
label for a chance-corrected coefficient) is an :class:`Estimate` with value None and a
reason, never NaN. Intervals: Wilson for proportions (percent agreement, agreement with the
ruling), a seeded bootstrap over cases for Krippendorff's alpha and Gwet's AC1 (the same seed
gives the same interval), Gwet's linearised variance with a Student t quantile for Cohen's
kappa.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import QADesktopError
from .reports.intervals import Z95, Interval, wilson

Votes = Mapping[str, Mapping[str, str | None]]
"""``{case_id: {rater: label}}``; a missing vote is an absent rater or None."""

Unit = dict[str, str]
"""One case's votes: rater -> label (missing votes dropped)."""

DEFAULT_RESAMPLES = 1000
"""Bootstrap resamples over cases for the alpha and AC1 intervals."""


class AgreementError(QADesktopError, ValueError):
    """Votes that cannot be measured: a label outside the categories, no categories."""


@dataclass(frozen=True)
class Band:
    """One interpretation band: values from ``low`` (inclusive) up to the next band."""

    low: float
    label: str


@dataclass(frozen=True)
class Bands:
    """A published scale for reading a coefficient, with where it comes from."""

    source: str
    bands: tuple[Band, ...]

    def label_for(self, value: float | None) -> str | None:
        """The band ``value`` falls in (None for an undefined value)."""
        if value is None:
            return None
        found = self.bands[0].label
        for band in self.bands:
            if value >= band.low:
                found = band.label
        return found


KAPPA_BANDS = Bands(
    source=(
        "Landis, J. R. & Koch, G. G. (1977). The measurement of observer agreement for "
        "categorical data. Biometrics 33(1), 159-174."
    ),
    bands=(
        Band(-math.inf, "poor"),
        Band(0.0, "slight"),
        Band(0.21, "fair"),
        Band(0.41, "moderate"),
        Band(0.61, "substantial"),
        Band(0.81, "almost perfect"),
    ),
)
"""Landis & Koch's benchmarks, used for Fleiss' kappa, Cohen's kappa and Gwet's AC1."""

ALPHA_BANDS = Bands(
    source=(
        "Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology "
        "(2nd ed.), p. 241: rely on alpha >= 0.800; 0.667 <= alpha < 0.800 for tentative "
        "conclusions only."
    ),
    bands=(
        Band(-math.inf, "unreliable"),
        Band(0.667, "tentative"),
        Band(0.800, "reliable"),
    ),
)
"""Krippendorff's thresholds for alpha."""


@dataclass(frozen=True)
class Estimate:
    """One agreement figure: a value or the reason it is undefined, an interval, a band."""

    name: str
    value: float | None
    reason: str | None = None
    interval: Interval | None = None
    interval_method: str | None = None
    bands: Bands | None = None

    @property
    def defined(self) -> bool:
        """True when there is a value (otherwise ``reason`` says why not)."""
        return self.value is not None

    @property
    def band(self) -> str | None:
        """The interpretation band of the value, when the figure has a published scale."""
        return self.bands.label_for(self.value) if self.bands else None


@dataclass(frozen=True)
class PairKappa:
    """Cohen's kappa between two raters on the cases both voted on."""

    rater_a: str
    rater_b: str
    cases: int
    kappa: Estimate


@dataclass(frozen=True)
class KappaMatrix:
    """Cohen's kappa for every pair of raters (raters sorted, ``a`` before ``b``)."""

    raters: tuple[str, ...]
    pairs: tuple[PairKappa, ...]

    def get(self, a: str, b: str) -> PairKappa:
        """The pair of ``a`` and ``b`` in either order (KeyError for an unknown pair)."""
        for pair in self.pairs:
            if {pair.rater_a, pair.rater_b} == {a, b} and a != b:
                return pair
        raise KeyError((a, b))


@dataclass(frozen=True)
class RulingAgreement:
    """How often one participant's vote matched the arbiter's ruling."""

    rater: str
    matches: int
    cases: int
    rate: Estimate


@dataclass(frozen=True)
class AgreementReport:
    """Every agreement figure of one set of votes."""

    categories: tuple[str, ...]
    raters: tuple[str, ...]
    cases: int
    pairable_cases: int
    percent: Estimate
    fleiss_kappa: Estimate
    alpha: Estimate
    ac1: Estimate
    pairwise: KappaMatrix
    with_ruling: tuple[RulingAgreement, ...]


# --- input -------------------------------------------------------------------------------


def _units(votes: Votes, categories: Sequence[str]) -> tuple[list[Unit], tuple[str, ...]]:
    """The cases as vote dicts in case-id order (so input order never matters), and raters."""
    if not categories:
        raise AgreementError("agreement needs the pack's labels as categories; none were given")
    known = set(categories)
    units: list[Unit] = []
    raters: set[str] = set()
    for case_id in sorted(votes, key=str):
        unit: Unit = {}
        for rater, label in votes[case_id].items():
            if label is None:
                continue
            if label not in known:
                raise AgreementError(
                    f"case {case_id}: {rater}'s vote {label!r} is not one of the labels "
                    f"{', '.join(categories)}"
                )
            unit[rater] = label
            raters.add(rater)
        units.append(unit)
    return units, tuple(sorted(raters))


def _counts(unit: Unit) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label in unit.values():
        counts[label] = counts.get(label, 0) + 1
    return counts


def _undefined_reason(units: Sequence[Unit]) -> str | None:
    """Why no agreement can be measured at all, or None."""
    raters = {rater for unit in units for rater in unit}
    if len(raters) < 2:
        return "one rater" if raters else "no votes"
    if not any(len(unit) >= 2 for unit in units):
        return "no case has two votes"
    return None


# --- the coefficients on units (also what the bootstrap resamples) -----------------------


def _observed(units: Sequence[Unit]) -> tuple[float, int]:
    """Gwet's percent agreement (pairs agreeing, averaged over cases with two votes)."""
    total = 0.0
    pairable = 0
    for unit in units:
        r = len(unit)
        if r < 2:
            continue
        pairable += 1
        total += sum(c * (c - 1) for c in _counts(unit).values()) / (r * (r - 1))
    return (total / pairable if pairable else 0.0), pairable


def _shares(units: Sequence[Unit], categories: Sequence[str]) -> dict[str, float]:
    """Each label's share, averaged over the cases with at least one vote (Gwet's pi_k)."""
    shares = dict.fromkeys(categories, 0.0)
    rated = [unit for unit in units if unit]
    for unit in rated:
        for label, count in _counts(unit).items():
            shares[label] += count / len(unit) / len(rated)
    return shares


def _fleiss(units: Sequence[Unit], categories: Sequence[str]) -> tuple[float | None, str | None]:
    reason = _undefined_reason(units)
    if reason:
        return None, reason
    pa, _ = _observed(units)
    pe = sum(p * p for p in _shares(units, categories).values())
    if math.isclose(pe, 1.0):
        return None, "every vote is the same label (chance agreement is 1)"
    return (pa - pe) / (1 - pe), None


def _ac1(units: Sequence[Unit], categories: Sequence[str]) -> tuple[float | None, str | None]:
    reason = _undefined_reason(units)
    if reason:
        return None, reason
    if len(categories) < 2:
        return None, "only one label to choose from"
    pa, _ = _observed(units)
    pe = sum(p * (1 - p) for p in _shares(units, categories).values()) / (len(categories) - 1)
    return (pa - pe) / (1 - pe), None


def _alpha(units: Sequence[Unit], categories: Sequence[str]) -> tuple[float | None, str | None]:
    """Krippendorff's nominal alpha through the coincidence matrix (Krippendorff 2011)."""
    reason = _undefined_reason(units)
    if reason:
        return None, reason
    n_c = dict.fromkeys(categories, 0.0)
    disagreeing = 0.0  # the off-diagonal sum of the coincidence matrix
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        counts = _counts(unit)
        for label, count in counts.items():
            n_c[label] += count
            disagreeing += count * (m - count) / (m - 1)
    n = sum(n_c.values())
    expected = n * n - sum(v * v for v in n_c.values())
    if expected <= 0:
        return None, "every vote is the same label (no disagreement is expected by chance)"
    return 1 - (n - 1) * disagreeing / expected, None


# --- intervals ---------------------------------------------------------------------------


def _bootstrap(
    units: Sequence[Unit],
    categories: Sequence[str],
    statistic: Callable[[Sequence[Unit], Sequence[str]], tuple[float | None, str | None]],
    resamples: int,
    seed: int,
) -> tuple[Interval | None, str]:
    """A percentile interval from resampling cases with replacement (undefined draws skipped)."""
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(resamples):
        draw = [units[rng.randrange(len(units))] for _ in units]
        value, _ = statistic(draw, categories)
        if value is not None:
            values.append(value)
    method = f"bootstrap over cases, {resamples} resamples, seed {seed}"
    if len(values) < max(2, resamples // 2):
        return None, f"{method}: too few resamples were defined"
    values.sort()
    if len(values) < resamples:
        method += f" ({resamples - len(values)} undefined skipped)"
    return Interval(_quantile(values, 0.025), _quantile(values, 0.975)), method


def _quantile(ordered: Sequence[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def t_quantile(df: int, confidence: float = 0.95) -> float:
    """The two-sided Student t quantile for ``df`` degrees of freedom (normal above 1000)."""
    if df < 1:
        raise ValueError("df must be at least 1")
    if df > 1000:
        return Z95 if math.isclose(confidence, 0.95) else _normal_quantile(confidence)
    low, high = 0.0, 1.0
    while _t_central(high, df) < confidence:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        if _t_central(mid, df) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _t_central(t: float, df: int) -> float:
    """P(|T| < t) for integer df, by the finite series of Abramowitz & Stegun 26.7.3-4."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        if df == 1:
            return 2 * theta / math.pi
        term = total = 1.0
        for k in range(2, df - 1, 2):  # 1 + (2/3)c² + (2·4)/(3·5)c⁴ + ...
            term *= k / (k + 1) * c2
            total += term
        return 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    term = total = 1.0
    for k in range(1, df - 2, 2):  # 1 + (1/2)c² + (1·3)/(2·4)c⁴ + ...
        term *= k / (k + 1) * c2
        total += term
    return math.sin(theta) * total


def _normal_quantile(confidence: float) -> float:
    low, high = 0.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        if math.erf(mid / math.sqrt(2)) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


# --- public functions --------------------------------------------------------------------


def percent_agreement(votes: Votes, categories: Sequence[str]) -> Estimate:
    """The share of agreeing rater pairs, averaged over cases with two votes; Wilson interval.

    The interval treats each pairable case as one trial whose success is its share of
    agreeing pairs (an effective count, as :func:`wilson` allows).
    """
    units, _ = _units(votes, categories)
    reason = _undefined_reason(units)
    if reason:
        return Estimate("percent agreement", None, reason)
    pa, pairable = _observed(units)
    return Estimate(
        "percent agreement",
        pa,
        interval=wilson(pa * pairable, pairable),
        interval_method=f"Wilson, {pairable} cases with two or more votes",
    )


def fleiss_kappa(votes: Votes, categories: Sequence[str]) -> Estimate:
    """Fleiss' (1971) kappa, with Gwet's (2014) handling of missing votes (no interval)."""
    units, _ = _units(votes, categories)
    value, reason = _fleiss(units, categories)
    return Estimate("Fleiss' kappa", value, reason, bands=KAPPA_BANDS)


def krippendorff_alpha(
    votes: Votes,
    categories: Sequence[str],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Krippendorff's alpha for nominal data, missing votes allowed; bootstrap interval."""
    return _with_bootstrap(
        "Krippendorff's alpha", _alpha, ALPHA_BANDS, votes, categories, resamples, seed
    )


def gwet_ac1(
    votes: Votes,
    categories: Sequence[str],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """Gwet's AC1 (2008), stable when most votes agree; bootstrap interval."""
    return _with_bootstrap("Gwet's AC1", _ac1, KAPPA_BANDS, votes, categories, resamples, seed)


def _with_bootstrap(
    name: str,
    statistic: Callable[[Sequence[Unit], Sequence[str]], tuple[float | None, str | None]],
    bands: Bands,
    votes: Votes,
    categories: Sequence[str],
    resamples: int,
    seed: int,
) -> Estimate:
    if resamples < 1:
        raise AgreementError(f"resamples must be at least 1, not {resamples}")
    units, _ = _units(votes, categories)
    value, reason = statistic(units, categories)
    if value is None:
        return Estimate(name, None, reason, bands=bands)
    interval, method = _bootstrap(units, categories, statistic, resamples, seed)
    return Estimate(name, value, None, interval, method, bands)


def cohen_kappa(votes: Votes, a: str, b: str, categories: Sequence[str]) -> PairKappa:
    """Cohen's (1960) kappa of raters ``a`` and ``b`` on the cases both voted on.

    The interval is ``kappa ± t(n-1) · se`` with Gwet's (2014) linearised standard error.
    """
    units, _ = _units(votes, categories)
    pairs = [(u[a], u[b]) for u in units if a in u and b in u]
    n = len(pairs)
    name = f"Cohen's kappa {a} / {b}"
    if a == b:
        return PairKappa(a, b, n, Estimate(name, None, "one rater", bands=KAPPA_BANDS))
    if n == 0:
        return PairKappa(
            a, b, 0, Estimate(name, None, "no case voted on by both", bands=KAPPA_BANDS)
        )
    share_a = dict.fromkeys(categories, 0.0)
    share_b = dict.fromkeys(categories, 0.0)
    for x, y in pairs:
        share_a[x] += 1 / n
        share_b[y] += 1 / n
    pa = sum(1 for x, y in pairs if x == y) / n
    pe = sum(share_a[k] * share_b[k] for k in categories)
    if math.isclose(pe, 1.0):
        reason = "both raters gave one and the same label throughout (chance agreement is 1)"
        return PairKappa(a, b, n, Estimate(name, None, reason, bands=KAPPA_BANDS))
    kappa = (pa - pe) / (1 - pe)
    interval = None
    method = None
    if n >= 2:
        # Gwet's per-case contributions; their spread gives the variance.
        linear = [
            ((1.0 if x == y else 0.0) - pe) / (1 - pe)
            - 2 * (1 - kappa) * ((share_b[x] + share_a[y]) / 2 - pe) / (1 - pe)
            for x, y in pairs
        ]
        se = math.sqrt(sum((v - kappa) ** 2 for v in linear) / (n * n))
        half = t_quantile(n - 1) * se
        interval = Interval(max(-1.0, kappa - half), min(1.0, kappa + half))
        method = f"Gwet's linearised standard error {se:.4f}, t with {n - 1} df"
    return PairKappa(a, b, n, Estimate(name, kappa, None, interval, method, KAPPA_BANDS))


def cohen_matrix(votes: Votes, categories: Sequence[str]) -> KappaMatrix:
    """Cohen's kappa for every pair of raters who voted in these cases."""
    _, raters = _units(votes, categories)
    pairs = tuple(
        cohen_kappa(votes, a, b, categories) for i, a in enumerate(raters) for b in raters[i + 1 :]
    )
    return KappaMatrix(raters, pairs)


def ruling_agreement(
    votes: Votes, rulings: Mapping[str, str | None], categories: Sequence[str]
) -> tuple[RulingAgreement, ...]:
    """Each rater's share of votes matching the ruling, on the ruled cases they voted on."""
    _units(votes, categories)  # validates the labels
    known = set(categories)
    for case_id, ruling in rulings.items():
        if ruling is not None and ruling not in known:
            raise AgreementError(f"case {case_id}: the ruling {ruling!r} is not one of the labels")
    tallies: dict[str, list[int]] = {}
    for case_id in sorted(votes, key=str):
        ruling = rulings.get(case_id)
        for rater, label in votes[case_id].items():
            if label is None:
                continue
            tally = tallies.setdefault(rater, [0, 0])
            if ruling is not None:
                tally[0] += label == ruling
                tally[1] += 1
    results = []
    for rater in sorted(tallies):
        matches, cases = tallies[rater]
        name = f"{rater} with the ruling"
        if cases == 0:
            rate = Estimate(name, None, "no ruled case with this rater's vote")
        else:
            rate = Estimate(
                name, matches / cases, None, wilson(matches, cases), f"Wilson, {cases} ruled cases"
            )
        results.append(RulingAgreement(rater, matches, cases, rate))
    return tuple(results)


def agreement(
    votes: Votes,
    categories: Iterable[str],
    rulings: Mapping[str, str | None] | None = None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> AgreementReport:
    """Every agreement figure for ``votes`` over the pack's ``categories``.

    ``rulings`` (case id -> the arbiter's label) adds each participant's agreement with it.
    The same ``seed`` and ``resamples`` always give the same bootstrap intervals.
    """
    cats = tuple(dict.fromkeys(categories))
    units, raters = _units(votes, cats)
    return AgreementReport(
        categories=cats,
        raters=raters,
        cases=len(units),
        pairable_cases=sum(1 for unit in units if len(unit) >= 2),
        percent=percent_agreement(votes, cats),
        fleiss_kappa=fleiss_kappa(votes, cats),
        alpha=krippendorff_alpha(votes, cats, resamples=resamples, seed=seed),
        ac1=gwet_ac1(votes, cats, resamples=resamples, seed=seed),
        pairwise=cohen_matrix(votes, cats),
        with_ruling=ruling_agreement(votes, rulings or {}, cats),
    )
