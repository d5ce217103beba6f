"""Cases and verdicts from a terminal: import, list, record, export; the demo batch."""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    DISPLAY_NAME_ENV,
    _cite_option,
    _open,
    _tsv,
    api,
    cli,
)

if TYPE_CHECKING:
    pass


@cli.command("import")
@click.argument("path", type=click.Path(exists=False, path_type=Path))
@click.option(
    "--trust-unsigned",
    is_flag=True,
    help="Import a batch not signed by a trusted issuer (it shows as unsigned).",
)
@click.pass_context
def import_command(ctx: click.Context, path: Path, trust_unsigned: bool) -> None:
    """Import a case batch: a folder or .zip (batch.json, cases.jsonl, media/) or a .csv.

    A batch signed by an issuer (`batch sign`) is verified against the trusted keys first.
    An unsigned batch is refused unless --trust-unsigned is given. Everything is checked
    before anything is written; a bad batch changes nothing.

    \b
    Example:
      qa-desktop import ~/Downloads/batch-2026-11-de.zip
      qa-desktop import --trust-unsigned ./spot-check.csv
    """
    ws = _open(ctx)
    bar = None
    try:

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = click.progressbar(
                    length=total, label=f"Importing {path.name}", file=sys.stderr
                )
                bar.__enter__()
            bar.update(done - bar.pos)

        report = ws.batches.import_batch(path, progress=progress, trust_unsigned=trust_unsigned)
    except api.UnsignedBatch as exc:
        raise click.ClickException(
            f"{exc} Nothing was imported. To import it anyway, run again with --trust-unsigned."
        ) from exc
    except api.BatchError as exc:
        raise click.ClickException(str(exc)) from exc
    except (api.ImportCancelled, KeyboardInterrupt) as exc:
        raise click.ClickException("import cancelled; nothing was written") from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        ws.close()
    click.echo(
        f"batch {report.batch_id}: {report.cases_added} cases added, "
        f"{report.cases_already_present} already present, {report.media_added} media files added"
    )
    if report.signed:
        key_id = report.signature_status.split(":", 1)[1]
        click.echo(f"signed by {report.signer_name} (key {key_id})")
    if report.calibration_session:
        click.echo(
            f"calibration session {report.calibration_session} (async): vote with"
            f" `qa-desktop calibration vote {report.calibration_session} CASE_ID ME LABEL`"
        )
    else:
        click.echo("unsigned: imported because --trust-unsigned was given")


@cli.command("cases")
@click.option("--limit", type=int, default=0, help="Show at most this many (0: all).")
@click.pass_context
def cases_command(ctx: click.Context, limit: int) -> None:
    """List the queue: case id, type, market, policy, original decision, my verdict.

    \b
    Example:
      qa-desktop cases --limit 20
    """
    ws = _open(ctx)
    try:
        out = _tsv(["case_id", "type", "market", "policy", "original", "my_verdict"])
        after, shown = None, 0
        while True:
            page = ws.queue.page(after_seq=after, limit=500)
            for row in page:
                if limit and shown >= limit:
                    return
                out.writerow(
                    [
                        row.id,
                        row.content_type,
                        row.market,
                        row.policy,
                        row.original_label,
                        row.my_label or "",
                    ]
                )
                shown += 1
            if not page:
                return
            after = page[-1].seq
    finally:
        ws.close()


@cli.command("verdicts")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.pass_context
def verdicts_command(ctx: click.Context, fmt: str) -> None:
    """Print every verdict event (append-only, oldest first) as JSON lines or CSV.

    \b
    Example:
      qa-desktop verdicts --format csv > verdicts.csv
    """
    ws = _open(ctx)
    try:
        events = ws.verdicts.events()
    finally:
        ws.close()
    if fmt == "jsonl":
        for event in events:
            click.echo(json.dumps(event.to_json(), ensure_ascii=False, sort_keys=True))
        return
    fields = [
        "id",
        "case_id",
        "reviewer_id",
        "role",
        "session_id",
        "label",
        "citations",
        "notes",
        "time_on_case_ms",
        "created_at",
        "supersedes",
        "restores",
        "confidence",
        "rca_reason",
        "rca_note",
        "gap_kind",
        "gap_note",
    ]

    out = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
    out.writeheader()
    for event in events:
        row = event.to_json()
        row["citations"] = ";".join(
            f"{c['pack_id']}@{c['pack_version']}#{c['section_id']}" for c in row["citations"]
        )
        out.writerow(api.safe_row({k: row[k] for k in fields}))


@cli.group("verdict")
def verdict_group() -> None:
    """Record verdicts from a script, under the same rules as the GUI.

    \b
    Example:
      qa-desktop verdict record demo-007 vh_remove --cite VH-2.1 --note "clear case"
    """


@verdict_group.command("record")
@click.argument("case_id")
@click.argument("label")
@_cite_option("verdict")
@click.option("--note", default="", help="The verdict's notes.")
@click.option(
    "--reviewer",
    default=None,
    help=f"Your display name, if this data directory has no profile yet"
    f" (default: ${DISPLAY_NAME_ENV}).",
)
@click.pass_context
def verdict_record_command(
    ctx: click.Context,
    case_id: str,
    label: str,
    sections: tuple[str, ...],
    note: str,
    reviewer: str | None,
) -> None:
    """Record your verdict LABEL on CASE_ID, citing sections of the case's guidelines.

    The same rules as the GUI apply: the label must be one of the case's guideline pack,
    and an enforcing label needs a citation of a section that supports it. A refused
    verdict exits with status 1 and the reason; nothing is written.

    \b
    Example:
      qa-desktop verdict record demo-007 vh_remove --cite VH-2.1
      qa-desktop verdict record demo-009 no_violation --note "satire" --reviewer Ana
    """
    import os

    ws = _open(ctx)
    try:
        if ws.reviewer is None:
            name = reviewer or os.environ.get(DISPLAY_NAME_ENV, "")
            if not name.strip():
                raise click.ClickException(
                    f"no local profile yet: pass --reviewer NAME or set ${DISPLAY_NAME_ENV}"
                )
            ws.ensure_reviewer(name.strip())
        try:
            citations = tuple(ws.verdicts.citation(case_id, section) for section in sections)
            draft = api.VerdictDraft(label, citations, note)
            warnings = ws.verdicts.check(case_id, draft)
            event = ws.verdicts.record(case_id, draft)
        except api.Refused as exc:
            raise click.ClickException(f"not recorded ({exc.reason}): {exc}") from exc
    finally:
        ws.close()
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"recorded {event.label} on {event.case_id} (event {event.id})")


@cli.command("demo")
@click.option("--if-absent", is_flag=True, help="Do nothing if the demo batch is already there.")
@click.option(
    "--reviewer",
    default="Demo Reviewer",
    show_default=True,
    help="Display name of the local profile, if none exists yet.",
)
@click.pass_context
def demo_command(ctx: click.Context, if_absent: bool, reviewer: str) -> None:
    """Generate the synthetic demo batch and guideline pack, and import both.

    \b
    Example:
      qa-desktop demo --if-absent --reviewer "Ana Lima"
    """
    from ..demo import DEMO_BATCH_ID, DEMO_PACKS, add_demo_calibration, generate_demo_batch

    ws = _open(ctx)
    try:
        if if_absent and ws.batches.has(DEMO_BATCH_ID):
            click.echo(f"demo data already in {ws.data_dir}")
            return
        try:
            ws.guidelines.import_packs(DEMO_PACKS)
        except api.PackError as exc:
            raise click.ClickException(str(exc)) from exc
        ws.ensure_reviewer(reviewer)
        # The generated files are only the import's source: the media store keeps its own copy.
        with tempfile.TemporaryDirectory(prefix="qa-demo-") as tmp:
            click.echo("generating the synthetic demo batch ...", err=True)
            batch = generate_demo_batch(Path(tmp) / "demo-batch")
            try:
                report = ws.batches.import_batch(batch)
            except api.BatchError as exc:
                raise click.ClickException(str(exc)) from exc
        click.echo(
            f"demo batch {report.batch_id}: {report.cases_added} cases added "
            f"({report.cases_already_present} already present) in {ws.data_dir}"
        )
        if add_demo_calibration(ws) is not None:
            click.echo("demo calibration session: 5 DE violence cases ruled (see README: Quizzes)")
    finally:
        ws.close()
