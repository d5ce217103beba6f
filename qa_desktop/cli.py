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
from .core import guidelines, paths
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
    from .core.demo import DEMO_BATCH_ID, DEMO_PACKS, generate_demo_batch

    ws = _open(ctx)
    try:
        if if_absent and ws.db["batches"].count_where("id = ?", [DEMO_BATCH_ID]):
            click.echo(f"demo data already in {ws.data_dir}")
            return
        try:
            ws.import_guideline_packs(DEMO_PACKS)
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


@cli.group("findings")
def findings_group() -> None:
    """RCA escalations and policy gaps from effective verdicts, grouped by cited section."""


def _show_findings(ctx: click.Context, which: str, csv_path: Path | None) -> None:
    """Print the finding groups as a table, or write them to ``csv_path``."""
    from .core import findings

    ws = _open(ctx)
    try:
        groups = ws.rca_escalations() if which == "rca" else ws.policy_gaps()
    finally:
        ws.close()
    if csv_path is not None:
        findings.write_csv(groups, csv_path)
        click.echo(f"{len(groups)} groups written to {csv_path}")
        return
    if not groups:
        click.echo("no RCA escalations" if which == "rca" else "no policy gaps")
        return
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(findings.CSV_FIELDS)
    for group in groups:
        out.writerow(group.to_csv_row().values())


@findings_group.command("rca")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the groups to this CSV file instead of printing them.")
@click.pass_context
def findings_rca_command(ctx: click.Context, csv_path: Path | None) -> None:
    """RCA escalations: count, reasons and example cases per cited section."""
    _show_findings(ctx, "rca", csv_path)


@findings_group.command("gaps")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the groups to this CSV file instead of printing them.")
@click.pass_context
def findings_gaps_command(ctx: click.Context, csv_path: Path | None) -> None:
    """Policy gaps: count, kinds and example cases per cited section."""
    _show_findings(ctx, "gaps", csv_path)


@cli.group("guidelines")
def guidelines_group() -> None:
    """Guideline packs: import, list, show the effective guideline for a market."""


@guidelines_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def guidelines_import_command(ctx: click.Context, path: Path) -> None:
    """Import a pack file, or every .json pack in a folder (global packs first).

    Every file is checked before anything is stored; a bad pack changes nothing.
    """
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise click.ClickException(f"{path}: no .json pack files")
    ws = _open(ctx)
    try:
        packs = [guidelines.load_pack(file) for file in files]
        added = guidelines.store_packs(ws.db, packs)
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    for pack, was_added in zip(packs, added, strict=True):
        what = f"{pack.market} overlay of {' '.join(pack.base)}" if pack.base else "global"
        state = "imported" if was_added else "already imported"
        click.echo(f"{pack.id} {pack.version} ({what}): {state}")


@guidelines_group.command("list")
@click.pass_context
def guidelines_list_command(ctx: click.Context) -> None:
    """List every stored pack version: id, version, market, language, effective date, base."""
    ws = _open(ctx)
    try:
        packs = ws.guideline_packs()
    finally:
        ws.close()
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(["id", "version", "market", "language", "effective_date", "base", "title"])
    for p in packs:
        base = f"{p.base[0]} {p.base[1]}" if p.base else ""
        out.writerow([p.id, p.version, p.market, p.language, p.effective_date, base, p.title])


@guidelines_group.command("show")
@click.argument("pack_id")
@click.argument("version")
@click.option("--market", default="global", show_default=True, help="Apply this market's overlay.")
@click.option("--on", "on_date", help="Resolve the overlay in force on this date (YYYY-MM-DD).")
@click.option("--section", "section_id", help="Print this section's title and body.")
@click.pass_context
def guidelines_show_command(
    ctx: click.Context, pack_id: str, version: str, market: str, on_date: str | None,
    section_id: str | None,
) -> None:
    """Print the effective guideline tree (id, title, status, source) or one section."""
    ws = _open(ctx)
    try:
        guideline = ws.guideline(pack_id, version, market, on_date)
    except PackError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    if section_id is not None:
        _echo_section(guideline, section_id)
        return
    overlay = f" + {' '.join(guideline.overlay)}" if guideline.overlay else ""
    click.echo(
        f"# {guideline.pack_id} {guideline.pack_version}{overlay}"
        f" (market {guideline.market}, {guideline.language})"
    )
    _echo_tree(guideline, None, 0)


def _echo_tree(guideline: guidelines.Guideline, parent: str | None, depth: int) -> None:
    for s in guideline.children(parent):
        status = f"{s.status}, localized" if s.localized else s.status
        click.echo(f"{'  ' * depth}{s.id}\t{s.title}\t{status}\t{s.pack_id} {s.pack_version}")
        _echo_tree(guideline, s.id, depth + 1)


def _echo_section(guideline: guidelines.Guideline, section_id: str) -> None:
    section = guideline.section(section_id)
    if section is None:
        raise click.ClickException(
            f"no section {section_id!r} in {guideline.pack_id} {guideline.pack_version}"
            f" for market {guideline.market}"
        )
    click.echo(f"{section.id} {section.title} ({section.status}; "
               f"{section.pack_id} {section.pack_version})")
    click.echo("")
    click.echo(section.body)
    for example in section.examples:
        click.echo(f"- {example}")


def main() -> None:
    """Console entry point."""
    cli(obj={})
