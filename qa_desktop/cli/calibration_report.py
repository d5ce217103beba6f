"""The calibration session report: export it, and file its low-agreement cases as gaps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import _run, api
from .calibration import calibration_group

if TYPE_CHECKING:
    from ..core.workspace import Workspace


@calibration_group.command("report")
@click.argument("session")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="xlsx: one workbook, a sheet a table; csv: a folder with a file a table.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The .xlsx file, or the folder for the CSV files (made if missing).",
)
@click.option(
    "--file-gaps",
    is_flag=True,
    help="Also file the low-agreement ruled cases as policy-gap findings (once each).",
)
@click.pass_context
def calibration_report_command(
    ctx: click.Context, session: str, fmt: str, out: Path, file_gaps: bool
) -> None:
    """Export a session's report (by id or name): per case the votes per label, majority,
    ruling with its cited sections and time; the agreement figures with 95% intervals and
    interpretation bands; the low-agreement cases flagged as candidate policy gaps.

    Only revealed cases count; the others are listed as "not revealed". The CSV files are
    session.csv, metrics.csv, cases.csv, pairwise.csv and with_ruling.csv in the --out folder.

    \b
    Example:
      qa-desktop calibration report DE46 --format xlsx --out de46.xlsx
      qa-desktop calibration report DE46 --format csv --out de46-tables/
      qa-desktop calibration report DE46 --out de46.xlsx --file-gaps
    """

    def run(ws: Workspace) -> tuple[api.CalibrationSessionReport, list[Path], object]:
        filed = ws.calibration.file_policy_gaps(session) if file_gaps else None
        report = ws.calibration.report(session)
        try:
            written = ws.calibration.write_report(report, out, fmt)
        except OSError as exc:
            raise click.ClickException(
                f"{out}: cannot write the report ({exc.strerror or exc})"
            ) from exc
        except api.CalibrationReportError as exc:
            raise click.ClickException(str(exc)) from exc
        return report, written, filed

    report, written, filed = _run(ctx, run)
    click.echo(
        f"{report.session.name}: {report.revealed} of {len(report.cases)} cases revealed,"
        f" {len(report.flagged)} flagged for low agreement"
    )
    if isinstance(filed, api.FiledGaps):
        _echo_filed(filed)
    for path in written:
        click.echo(f"wrote {path}")


def _echo_filed(filed: api.FiledGaps) -> None:
    click.echo(f"filed {len(filed.filed)} policy gap(s): {', '.join(filed.filed) or 'none'}")
    if filed.already:
        click.echo(f"already filed: {', '.join(filed.already)}")
    if filed.unruled:
        click.echo(f"not ruled yet (rule them, then file): {', '.join(filed.unruled)}")


@calibration_group.command("file-gaps")
@click.argument("session")
@click.pass_context
def calibration_file_gaps_command(ctx: click.Context, session: str) -> None:
    """File a session's low-agreement ruled cases as policy-gap findings (kind "ambiguous"),
    as its arbiter; a case already filed is left alone. They then show in `findings gaps`.

    \b
    Example:
      qa-desktop calibration file-gaps DE46
    """
    filed = _run(ctx, lambda ws: ws.calibration.file_policy_gaps(session))
    _echo_filed(filed)
