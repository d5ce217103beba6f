"""The command line: the same Workspace as the GUI, from a terminal.

``qa-desktop`` with no sub-command opens the GUI; ``qa-desktop --help`` lists the rest.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path

import click

from . import __version__
from .core import paths
from .core.batches import BatchError, ImportCancelled
from .core.guidelines import PackError
from .core.store import DatabaseError
from .core.workspace import Workspace


def _open(ctx: click.Context) -> Workspace:
    try:
        return Workspace.open(paths.data_dir(ctx.obj["data_dir"]))
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Data directory (default: ${paths.DATA_DIR_ENV}, else the platform's user data dir).",
)
@click.version_option(__version__, prog_name="qa-desktop")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """QA Desktop: review sampled moderation decisions safely, from the keyboard.

    With no command, opens the GUI on the data directory.
    """
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    if ctx.invoked_subcommand is None:
        from .ui.app import run_gui  # Qt is only loaded for the GUI

        sys.exit(run_gui(paths.data_dir(data_dir)))


@cli.command("import")
@click.argument("path", type=click.Path(exists=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, path: Path) -> None:
    """Import a case batch: a folder or .zip (batch.json, cases.jsonl, media/) or a .csv.

    Everything is checked before anything is written; a bad batch changes nothing.
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

        report = ws.import_batch(path, progress=progress)
    except BatchError as exc:
        raise click.ClickException(str(exc)) from exc
    except (ImportCancelled, KeyboardInterrupt) as exc:
        raise click.ClickException("import cancelled; nothing was written") from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        ws.close()
    click.echo(
        f"batch {report.batch_id}: {report.cases_added} cases added, "
        f"{report.cases_already_present} already present, {report.media_added} media files added"
    )


@cli.command("cases")
@click.option("--limit", type=int, default=0, help="Show at most this many (0: all).")
@click.pass_context
def cases_command(ctx: click.Context, limit: int) -> None:
    """List the queue: case id, type, market, policy, original decision, my verdict."""
    ws = _open(ctx)
    try:
        reviewer_id = ws.reviewer.id if ws.reviewer else ""
        from .core.cases import queue_page

        out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
        out.writerow(["case_id", "type", "market", "policy", "original", "my_verdict"])
        after, shown = None, 0
        while True:
            page = queue_page(ws.db, reviewer_id, after_seq=after, limit=500)
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
    """Print every verdict event (append-only, oldest first) as JSON lines or CSV."""
    ws = _open(ctx)
    try:
        events = ws.verdict_events()
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
    ]
    out = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
    out.writeheader()
    for event in events:
        row = event.to_json()
        row["citations"] = ";".join(
            f"{c['pack_id']}@{c['pack_version']}#{c['section_id']}" for c in row["citations"]
        )
        out.writerow({k: row[k] for k in fields})


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
    """Generate the synthetic demo batch and guideline pack, and import both."""
    from .core.demo import DEMO_BATCH_ID, DEMO_PACK, generate_demo_batch

    ws = _open(ctx)
    try:
        if if_absent and ws.db["batches"].count_where("id = ?", [DEMO_BATCH_ID]):
            click.echo(f"demo data already in {ws.data_dir}")
            return
        try:
            ws.import_guideline_pack(DEMO_PACK)
        except PackError as exc:
            raise click.ClickException(str(exc)) from exc
        ws.ensure_reviewer(reviewer)
        # The generated files are only the import's source: the media store keeps its own copy.
        with tempfile.TemporaryDirectory(prefix="qa-demo-") as tmp:
            click.echo("generating the synthetic demo batch ...", err=True)
            batch = generate_demo_batch(Path(tmp) / "demo-batch")
            try:
                report = ws.import_batch(batch)
            except BatchError as exc:
                raise click.ClickException(str(exc)) from exc
        click.echo(
            f"demo batch {report.batch_id}: {report.cases_added} cases added "
            f"({report.cases_already_present} already present) in {ws.data_dir}"
        )
    finally:
        ws.close()


def main() -> None:
    """Console entry point."""
    cli(obj={})
