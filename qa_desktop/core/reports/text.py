"""The words of a report: headline figures and the methods paragraph (XLSX summary, PDF)."""

from __future__ import annotations

from .figures import Rate, Report
from .intervals import SMALL_N


def percent(value: float | None) -> str:
    """``0.8765`` as ``87.7%`` (``–`` for no value)."""
    return "–" if value is None else f"{value * 100:.1f}%"


def rate_text(rate: Rate) -> str:
    """``87.7% (95% CI 80.1–92.6%, n=120)``, marked when n is small."""
    interval = rate.interval
    if interval is None:
        return "– (n=0)"
    small = f", small n (<{SMALL_N})" if rate.small else ""
    return (
        f"{percent(rate.value)} (95% CI {percent(interval.low)}–{percent(interval.high)},"
        f" {rate.k} of {rate.n}{small})"
    )


def headline_lines(report: Report) -> list[tuple[str, str]]:
    """(name, text) of the headline figures."""
    t = report.taxonomy
    lines = [
        ("accuracy (QA score)", rate_text(report.overall.accuracy)),
        ("over-enforcement", rate_text(t.over_enforcement)),
        ("under-enforcement", rate_text(t.under_enforcement)),
        ("wrong selection", rate_text(t.wrong_selection)),
        ("disputed (counted apart)", str(t.disputed)),
        ("open (no verdict yet)", str(t.open)),
    ]
    if report.weighted is not None:
        w = report.weighted
        ci = (
            f"95% CI {percent(w.interval.low)}–{percent(w.interval.high)}"
            if w.interval
            else "no interval"
        )
        lines.insert(
            1,
            ("weighted accuracy", f"{percent(w.value)} ({ci}, effective n={w.effective_n:.1f})"),
        )
    return lines


def methods_text(report: Report) -> list[str]:
    """The methods paragraphs: what the figures mean and how they were computed."""
    return [
        "Accuracy (QA score) is the share of sampled frontline decisions that the final "
        "verdict upholds: agreeing final verdicts divided by decided cases (an arbiter's "
        "ruling, or SME verdicts that agree) whose labels are in the batch's guideline pack. "
        "Disputed cases (SMEs disagree and nobody ruled), open cases and labels missing from "
        "the pack are counted apart and never enter the rates.",
        "Over-enforcement is counted among frontline decisions that took an action, "
        "under-enforcement among those that did not; wrong policy and wrong action (together "
        "wrong selection) among all decided cases. Outcomes compare enforcement strength "
        "first, then policy, then the label.",
        "Every rate carries a 95% Wilson score interval (never the Wald interval, which "
        f"claims certainty at 0% and 100%). Cells with fewer than {SMALL_N} decisions are "
        "greyed and marked small n: 2 of 2 is not 100%.",
        "Weighted accuracy, where batches declare sampling weights per stratum, is "
        "post-stratified (each case counts for its stratum's weight); its interval is "
        "Wilson's at the effective sample size of the stratified variance. Weeks are ISO "
        "weeks of the frontline decision.",
    ]
