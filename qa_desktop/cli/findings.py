"""Findings: RCA escalations and policy gaps, as tables or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    _open,
    _tsv,
    api,
    cli,
)

if TYPE_CHECKING:
    pass


@cli.group("findings")
def findings_group() -> None:
    """RCA escalations and policy gaps from effective verdicts, grouped by cited section.

    \b
    Example:
      qa-desktop findings rca
      qa-desktop findings gaps --csv gaps.csv
      qa-desktop findings gaps --cases --csv gap-cases.csv
    """


def _show_findings(ctx: click.Context, which: str, csv_path: Path | None, cases: bool) -> None:
    """Print the finding groups (or with ``cases`` the flagged verdicts one row each) as a
    table, or write them to ``csv_path``."""
    ws = _open(ctx)
    try:
        if cases:
            rows = ws.reports.rca_cases() if which == "rca" else ws.reports.gap_cases()
        groups = ws.reports.rca_escalations() if which == "rca" else ws.reports.policy_gaps()
    finally:
        ws.close()
    if cases:
        if csv_path is not None:
            api.write_cases_csv(rows, csv_path)
            click.echo(f"{len(rows)} flagged verdicts written to {csv_path}")
            return
        out = _tsv(api.FINDING_CASE_CSV_FIELDS)
        for row in rows:
            out.writerow(api.safe_row(row.to_csv_row()).values())
        return
    if csv_path is not None:
        api.write_csv(groups, csv_path)
        click.echo(f"{len(groups)} groups written to {csv_path}")
        return
    if not groups:
        click.echo("no RCA escalations" if which == "rca" else "no policy gaps")
        return
    out = _tsv(api.FINDING_CSV_FIELDS)
    for group in groups:
        out.writerow(group.to_csv_row().values())


@findings_group.command("rca")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the groups to this CSV file instead of printing them.",
)
@click.option(
    "--cases",
    is_flag=True,
    help="One row per flagged verdict (notes, market, moderator, reviewer), not per section.",
)
@click.pass_context
def findings_rca_command(ctx: click.Context, csv_path: Path | None, cases: bool) -> None:
    """RCA escalations: count, reasons and example cases per cited section.

    \b
    Example:
      qa-desktop findings rca --csv rca.csv
      qa-desktop findings rca --cases --csv rca-cases.csv
    """
    _show_findings(ctx, "rca", csv_path, cases)


@findings_group.command("gaps")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the groups to this CSV file instead of printing them.",
)
@click.option(
    "--cases",
    is_flag=True,
    help="One row per flagged verdict (notes, market, moderator, reviewer), not per section.",
)
@click.pass_context
def findings_gaps_command(ctx: click.Context, csv_path: Path | None, cases: bool) -> None:
    """Policy gaps: count, kinds and example cases per cited section.

    \b
    Example:
      qa-desktop findings gaps
      qa-desktop findings gaps --cases
    """
    _show_findings(ctx, "gaps", csv_path, cases)
