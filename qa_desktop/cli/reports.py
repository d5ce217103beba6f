"""Performance reports as XLSX, CSV or PDF."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    _open,
    _values,
    api,
    cli,
)

if TYPE_CHECKING:
    pass


@cli.command("report")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="First frontline decision day.")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Last frontline decision day.")
@click.option("--market", help="Only these markets (comma-separated).")
@click.option("--policy", help="Only these frontline policies (comma-separated).")
@click.option("--batch", help="Only these batches (comma-separated).")
@click.option("--queue", help="Only these frontline queues (comma-separated).")
@click.option("--moderator", help="Only these frontline moderators (comma-separated).")
@click.option(
    "--by",
    default="policy",
    show_default=True,
    help="Accuracy by one or two of policy, market, moderator, queue, batch, week.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv", "pdf"]),
    default="xlsx",
    show_default=True,
    help="xlsx: one workbook with charts; csv: a folder of one file a table; pdf: for print.",
)
@click.option(
    "--page",
    type=click.Choice(["A4", "Letter"]),
    default="A4",
    show_default=True,
    help="The PDF's paper size.",
)
@click.option(
    "--include-my-exposure",
    is_flag=True,
    help="Add your own exposure summary (XLSX and CSV only; it is private and left out"
    " unless you ask).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="The file to write (a folder for --format csv).",
)
@click.option(
    "--source",
    metavar="postgresql://...",
    help="Report over the team hub's events (org-wide) instead of this laptop's.",
)
@click.pass_context
def report_command(
    ctx: click.Context,
    date_from: str | None,
    date_to: str | None,
    market: str | None,
    policy: str | None,
    batch: str | None,
    queue: str | None,
    moderator: str | None,
    by: str,
    fmt: str,
    page: str,
    include_my_exposure: bool,
    out: Path,
    source: str | None = None,
) -> None:
    """A QA performance report: accuracy with 95% Wilson intervals, errors, confusion,
    flags, throughput, over the frontline decisions the filters select.

    \b
    Example:
      qa-desktop report --by policy,market --format xlsx --out report.xlsx
      qa-desktop report --from 2026-10-01 --to 2026-10-31 --market DE --format pdf --out oct.pdf
      qa-desktop report --by moderator,week --format csv --out report-csv
      qa-desktop report --source postgresql://hub.example.org/qa --format csv --out org
    """
    flt = api.ReportFilter(
        date_from=date_from,
        date_to=date_to,
        batches=_values(batch),
        markets=_values(market),
        policies=_values(policy),
        queues=_values(queue),
        moderators=_values(moderator),
    )
    ws = _open(ctx)
    try:
        with contextlib.ExitStack() as stack:
            over = ws
            if source:
                over = stack.enter_context(api.hub_report_workspace(ws.data_dir, source))
            report = over.reports.performance(flt, _values(by))
            if fmt == "xlsx":
                over.reports.write_xlsx(report, out, include_my_exposure=include_my_exposure)
            elif fmt == "csv":
                over.reports.write_csv(report, out, include_my_exposure=include_my_exposure)
            else:
                _write_pdf(report, out, page)
    except (api.ReportError, api.HubDatabaseError) as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{out}: cannot write the report ({exc.strerror})") from exc
    finally:
        ws.close()
    accuracy = report.overall.accuracy
    click.echo(f"accuracy {api.rate_text(accuracy)}; written to {out}")


def _write_pdf(report: api.Report, out: Path, page: str) -> None:
    """The PDF needs Qt: import the UI's writer only now, on an offscreen platform."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    from ..ui.reports.pdf import write_pdf

    _app = QGuiApplication.instance() or QGuiApplication([])
    write_pdf(report, out, page)
