"""The command line: the same Workspace as the GUI, from a terminal.

``qa-desktop`` with no sub-command opens the GUI; ``qa-desktop --help`` lists the rest.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__

if TYPE_CHECKING:
    from .core import api
    from .core.workspace import Workspace
else:

    class _LazyApi:
        """``qa_desktop.core.api``, imported on first use: ``qa-desktop --help`` then loads
        only click, not OpenCV, jsonschema and sqlite-utils behind core."""

        def __getattr__(self, name: str) -> Any:
            import importlib

            module = importlib.import_module("qa_desktop.core.api")
            globals()["api"] = module  # later lookups go straight to the module
            return getattr(module, name)

    api = _LazyApi()


def _open(ctx: click.Context) -> Workspace:
    from .core.workspace import Workspace

    try:
        return Workspace.open(api.data_dir(ctx.obj["data_dir"]))
    except api.DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    # The literal, not api.DATA_DIR_ENV: --help must not import core (a test keeps them equal).
    help="Data directory (default: $QA_DESKTOP_DATA_DIR, else the platform's user data dir).",
)
@click.version_option(__version__, prog_name="qa-desktop")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """QA Desktop: review sampled moderation decisions safely, from the keyboard.

    With no command, opens the GUI on the data directory.

    \b
    Example:
      qa-desktop                    # open the GUI on the default data directory
      qa-desktop --data-dir ~/qa-data cases --limit 20
    """
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    if ctx.invoked_subcommand is None:
        from .ui.app import run_gui  # Qt is only loaded for the GUI

        sys.exit(run_gui(api.data_dir(data_dir)))


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
        click.echo(f"signed by {report.signer_name} (issuer key {key_id})")
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


DISPLAY_NAME_ENV = "QA_DESKTOP_DISPLAY_NAME"
"""The local reviewer's display name for a CLI command that records, on first use."""


def _cite_option(what: str) -> Callable[[Any], Any]:
    """``--cite SECTION`` (repeatable): the guideline sections ``what`` cites."""
    return click.option(
        "--cite",
        "sections",
        multiple=True,
        metavar="SECTION",
        help=f"A guideline section id the {what} cites (repeat for several).",
    )


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
    from .demo import DEMO_BATCH_ID, DEMO_PACKS, generate_demo_batch

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
    finally:
        ws.close()


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


@cli.group("guidelines")
def guidelines_group() -> None:
    """Guideline packs: import, list, show the effective guideline for a market.

    \b
    Example:
      qa-desktop guidelines import ./packs
      qa-desktop guidelines show demo-global 1.0.0 --market DE
    """


@guidelines_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.pass_context
def guidelines_import_command(ctx: click.Context, path: Path) -> None:
    """Import a pack file, or every .json pack in a folder (global packs first).

    Every file is checked before anything is stored; a bad pack changes nothing.

    \b
    Example:
      qa-desktop guidelines import ./packs
      qa-desktop guidelines import demo-de-1.0.0.json
    """
    ws = _open(ctx)
    try:
        imported = ws.guidelines.import_packs([path])
    except api.PackError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    for pack, was_added in imported:
        what = f"{pack.market} overlay of {' '.join(pack.base)}" if pack.base else "global"
        state = "imported" if was_added else "already imported"
        click.echo(f"{pack.id} {pack.version} ({what}): {state}")


@guidelines_group.command("list")
@click.pass_context
def guidelines_list_command(ctx: click.Context) -> None:
    """List every stored pack version: id, version, market, language, effective date, base.

    \b
    Example:
      qa-desktop guidelines list
    """
    ws = _open(ctx)
    try:
        packs = ws.guidelines.packs()
    finally:
        ws.close()
    out = _tsv(["id", "version", "market", "language", "effective_date", "base", "title"])
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
    ctx: click.Context,
    pack_id: str,
    version: str,
    market: str,
    on_date: str | None,
    section_id: str | None,
) -> None:
    """Print the effective guideline tree (id, title, status, source) or one section.

    \b
    Example:
      qa-desktop guidelines show demo-global 1.0.0 --market DE
      qa-desktop guidelines show demo-global 1.0.0 --market DE --on 2026-11-01 --section VH-2.3
    """
    ws = _open(ctx)
    try:
        guideline = ws.guidelines.guideline(pack_id, version, market, on_date)
    except api.PackError as exc:
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


def _echo_tree(guideline: api.Guideline, parent: str | None, depth: int) -> None:
    for s in guideline.children(parent):
        status = f"{s.status}, localized" if s.localized else s.status
        click.echo(f"{'  ' * depth}{s.id}\t{s.title}\t{status}\t{s.pack_id} {s.pack_version}")
        _echo_tree(guideline, s.id, depth + 1)


def _echo_section(guideline: api.Guideline, section_id: str) -> None:
    section = guideline.section(section_id)
    if section is None:
        raise click.ClickException(
            f"no section {section_id!r} in {guideline.pack_id} {guideline.pack_version}"
            f" for market {guideline.market}"
        )
    click.echo(
        f"{section.id} {section.title} ({section.status}; {section.pack_id} {section.pack_version})"
    )
    click.echo("")
    click.echo(section.body)
    for example in section.examples:
        click.echo(f"- {example}")


# -- keys, bundles and sync (issue 5) ---------------------------------------------------------


def _passphrase(confirm: bool = False) -> str:
    """The key passphrase: $QA_DESKTOP_PASSPHRASE, else asked for (hidden)."""
    import os

    value = os.environ.get(api.PASSPHRASE_ENV)
    if value:
        return value
    return click.prompt("Key passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


def _identity(ws: Workspace) -> api.Identity:

    try:
        return ws.trust.identity(_passphrase())
    except api.KeyProblem as exc:
        raise click.ClickException(str(exc)) from exc


@cli.group("keys")
def keys_group() -> None:
    """Reviewer keys: make yours, export it, trust or revoke other signers' keys.

    \b
    Example:
      qa-desktop keys create --name "Ana Lima"
      qa-desktop keys trust bo.pub --name "Bo Berg" --role lead
    """


@keys_group.command("create")
@click.option("--name", help="Display name of the local profile, if none exists yet.")
@click.pass_context
def keys_create_command(ctx: click.Context, name: str | None) -> None:
    """Make the local reviewer's Ed25519 key, encrypted with a passphrase.

    \b
    Example:
      qa-desktop keys create --name "Ana Lima"
    """

    ws = _open(ctx)
    try:
        if ws.reviewer is None:
            if not name:
                raise click.ClickException("no local profile yet: pass --name")
            ws.ensure_reviewer(name)
        try:
            identity = ws.trust.create_identity(_passphrase(confirm=True))
        except (api.KeyProblem, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    click.echo(f"key {identity.key_id} made for {identity.display_name} ({identity.reviewer_id})")


@keys_group.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the public key to this file instead of printing it.",
)
@click.pass_context
def keys_export_command(ctx: click.Context, out: Path | None) -> None:
    """Print the local reviewer's public key (minisign format).

    \b
    Example:
      qa-desktop keys export --out ana.pub
    """

    ws = _open(ctx)
    try:
        public_key = ws.trust.public_key()
        text = public_key.to_minisign()
        reviewer_id = ws.reviewer.id if ws.reviewer else "-"
    except api.KeyProblem as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"public key written to {out}")
    # Whoever trusts the key binds it to a reviewer id: they hear both from you, not the file.
    click.echo(f"key id {public_key.key_id}, reviewer id {reviewer_id}", err=out is None)


@keys_group.command("trust")
@click.argument("public_key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", "signer_name", required=True, help="Who the key belongs to.")
@click.option(
    "--role",
    type=click.Choice(["reviewer", "lead", "issuer"]),
    default="reviewer",
    show_default=True,
)
@click.option(
    "--reviewer-id",
    help="Reviewer id the key signs for (reviewer and lead keys): ask the signer for it"
    " (`keys export` prints it) along with the key id.",
)
@click.pass_context
def keys_trust_command(
    ctx: click.Context,
    public_key_file: Path,
    signer_name: str,
    role: str,
    reviewer_id: str | None,
) -> None:
    """Trust a signer's public key. Compare its key id and reviewer id with the signer out
    of band. A reviewer or lead key needs --reviewer-id: the id is never taken from the
    file (its comment is not signed); your own id and one another key holds are refused.

    \b
    Example:
      qa-desktop keys trust bo.pub --name "Bo Berg" --role lead --reviewer-id 0190f3a2-...
      qa-desktop keys trust central.pub --name "Central QA" --role issuer
    """

    ws = _open(ctx)
    try:
        try:
            public_key = ws.trust.read_public_key(public_key_file)
        except api.KeyFormatError as exc:
            raise click.ClickException(str(exc)) from exc
        if role in ("reviewer", "lead") and not reviewer_id:
            suggested = public_key.suggested_reviewer_id
            hint = f" (the file's unsigned comment says {suggested!r})" if suggested else ""
            raise click.ClickException(
                f"key {public_key.key_id}: a {role} key signs for one reviewer id; pass"
                f" --reviewer-id after the signer has confirmed it to you{hint}."
            )
        trusted = ws.trust.trust(public_key, signer_name, role, reviewer_id)
    except api.TrustError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    click.echo(
        f"trusted key {trusted.key_id}: {trusted.signer_name} ({trusted.role},"
        f" signs for reviewer {trusted.reviewer_id or '-'})"
    )


@keys_group.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke_command(ctx: click.Context, key_id: str) -> None:
    """Revoke a key: its new bundles are refused; what it signed before stays.

    \b
    Example:
      qa-desktop keys revoke E2C8A7F6B1D04A39
    """

    ws = _open(ctx)
    try:
        revoked = ws.trust.revoke(key_id)
    except api.TrustError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    click.echo(f"revoked key {revoked.key_id} ({revoked.signer_name}) at {revoked.revoked_at}")


@keys_group.command("remove")
@click.argument("key_id")
@click.pass_context
def keys_remove_command(ctx: click.Context, key_id: str) -> None:
    """Forget a key trusted by mistake: its bundles are refused as from an unknown signer
    until you trust it again; what it signed before stays. To refuse it for good, revoke.

    \b
    Example:
      qa-desktop keys remove E2C8A7F6B1D04A39
    """

    ws = _open(ctx)
    try:
        removed = ws.trust.remove(key_id)
    except api.TrustError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    click.echo(f"removed key {removed.key_id} ({removed.signer_name}) from the trust store")


@keys_group.command("dismiss")
@click.argument("key_id")
@click.option("--undo", is_flag=True, help="Report this key's bundles on sync again.")
@click.pass_context
def keys_dismiss_command(ctx: click.Context, key_id: str, undo: bool) -> None:
    """Stop `sync` from reporting bundles signed by KEY_ID, a key you do not trust. Its
    bundles stay in the sync folder; trusting the key later takes them.

    \b
    Example:
      qa-desktop keys dismiss E2C8A7F6B1D04A39
    """
    ws = _open(ctx)
    try:
        if undo:
            was = ws.sync.undismiss_signer(key_id)
            click.echo(f"sync reports key {key_id} again" if was else f"{key_id} was not dismissed")
        else:
            ws.sync.dismiss_signer(key_id)
            click.echo(f"sync no longer reports bundles signed by key {key_id}")
    finally:
        ws.close()


@keys_group.command("list")
@click.pass_context
def keys_list_command(ctx: click.Context) -> None:
    """List the trust store: key id, signer, role, reviewer id, added, revoked.

    \b
    Example:
      qa-desktop keys list
    """
    ws = _open(ctx)
    try:
        rows = ws.trust.trusted_keys()
    finally:
        ws.close()
    out = _tsv(["key_id", "signer", "role", "reviewer_id", "added_at", "revoked_at"])
    for k in rows:
        out.writerow(
            [k.key_id, k.signer_name, k.role, k.reviewer_id or "", k.added_at, k.revoked_at or ""]
        )


@cli.group("bundle")
def bundle_group() -> None:
    """Signed verdict bundles (BagIt + minisign): export, verify, import.

    \b
    Example:
      qa-desktop bundle export ~/outbox
      qa-desktop bundle import ~/inbox/*.zip
    """


@bundle_group.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--since", help="Leave out events created before this ISO time.")
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Attach this file as data/evidence/<name> (repeatable; names must be unique).",
)
@click.pass_context
def bundle_export_command(
    ctx: click.Context, out_dir: Path, since: str | None, evidence: tuple[Path, ...]
) -> None:
    """Write your verdict events not yet exported as a signed bundle in OUT_DIR.

    \b
    Example:
      qa-desktop bundle export ~/outbox
      qa-desktop bundle export ~/outbox --since 2026-11-01T00:00:00Z --evidence note.txt
    """
    ws = _open(ctx)
    try:
        result = ws.bundles.export(_identity(ws), out_dir, since, evidence=list(evidence))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()
    if result is None:
        click.echo("nothing new to export")
    elif len(result.paths) > 1:
        click.echo(f"{result.event_count} events in {len(result.paths)} bundles:")
        for path in result.paths:
            click.echo(f"  {path}")
    else:
        click.echo(f"{result.path}: {result.event_count} events, sequence {result.seq}")
    if result is not None and result.undeliverable:
        click.echo(
            f"warning: {len(result.undeliverable)} events are too large for any bundle and"
            f" were not exported: {', '.join(result.undeliverable)}",
            err=True,
        )


@bundle_group.command("verify")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def bundle_verify_command(ctx: click.Context, path: Path) -> None:
    """Check a bundle completely (signature, hashes, events) without importing it.

    \b
    Example:
      qa-desktop bundle verify ~/inbox/from-bo.zip
    """

    ws = _open(ctx)
    try:
        verified = ws.bundles.verify(path)
    except api.BundleRejected as exc:
        raise click.ClickException(
            f"{path.name}: refused ({exc.reason}): {exc.message}\n{_advice(exc.reason)}"
        ) from exc
    finally:
        ws.close()
    click.echo(
        f"{path.name}: OK, {verified.kind} bundle {verified.bundle_id} by"
        f" {verified.signer.signer_name} (key {verified.signer.key_id}),"
        f" sequence {verified.seq}, {len(verified.events)} events"
    )


@bundle_group.command("import")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.pass_context
def bundle_import_command(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Verify and merge bundles; refused ones are quarantined with their reason.

    \b
    Example:
      qa-desktop bundle import ~/inbox/*.zip
    """

    ws = _open(ctx)
    try:
        reports = ws.bundles.import_files(list(paths))
    finally:
        ws.close()
    for r in reports:
        if r.refused:
            click.echo(
                f"{r.name}: refused ({r.refused_reason}): {r.refused_message}\n"
                f"  {_advice(r.refused_reason or '')}"
            )
        else:
            click.echo(f"{r.name}: {r.new_events} new events, {r.already_known} already known")
    if any(r.refused for r in reports):
        sys.exit(1)


@bundle_group.command("status")
@click.pass_context
def bundle_status_command(ctx: click.Context) -> None:
    """Per signing key: bundles received (sent, for yours), events, and missing sequence
    numbers, i.e. bundles that never arrived. Exits 1 when some are missing.

    \b
    Example:
      qa-desktop bundle status
    """

    ws = _open(ctx)
    try:
        rows = ws.bundles.deliveries()
    finally:
        ws.close()
    out = _tsv(["key_id", "signer", "role", "bundles", "events", "last_seq", "missing", "last_at"])
    for d in rows:
        role = "own" if d.own else d.role + (" (revoked)" if d.revoked else "")
        out.writerow(
            [
                d.key_id,
                d.signer_name,
                role,
                d.bundles,
                d.items,
                d.last_seq,
                api.format_ranges(d.missing),
                d.last_at or "",
            ]
        )
    if any(d.missing for d in rows):
        sys.exit(1)


@cli.command("sync")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def sync_command(ctx: click.Context, folder: Path) -> None:
    """Export your new events into a shared FOLDER and import everyone else's bundles.

    \b
    Example:
      qa-desktop sync /mnt/team-share/qa-sync
    """

    ws = _open(ctx)
    try:
        report = ws.sync.folder(_identity(ws), folder)
        gaps = api.missing_summary(ws.bundles.deliveries())
    except KeyboardInterrupt as exc:
        raise click.ClickException("sync cancelled; nothing was half-written") from exc
    except OSError as exc:
        raise click.ClickException(f"sync failed: {exc}. Nothing was half-written.") from exc
    finally:
        ws.close()
    if report.exported is not None:
        click.echo(f"exported {report.exported.event_count} events to {report.exported.path}")
    click.echo(
        f"imported {len(report.imported)} bundles ({report.new_events} new events),"
        f" {report.skipped_seen} already seen, {len(report.refused)} refused"
    )
    waiting = api.untrusted_summary(report.untrusted, "`qa-desktop keys trust`")
    if waiting:
        click.echo(f"{waiting}, or `qa-desktop keys dismiss KEY_ID` to stop hearing about them")
    if report.dismissed:
        click.echo(f"{report.dismissed} bundles from dismissed signers left alone")
    for r in report.refused:
        click.echo(
            f"  {r.name}: refused ({r.refused_reason}): {r.refused_message}\n"
            f"    {_advice(r.refused_reason or '')}"
        )
    if gaps:
        click.echo(gaps)


@cli.group("batch")
def batch_group() -> None:
    """Case batches signed by their issuer.

    \b
    Example:
      qa-desktop batch sign ./batch-2026-11 ~/outbox
    """


@batch_group.command("sign")
@click.argument("batch", type=click.Path(exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--seq",
    type=click.IntRange(min=1),
    default=None,
    help="Sequence number of this signed batch for your key (default: the next"
    " one this data directory has not used).",
)
@click.option(
    "--expires",
    "expires_text",
    metavar="DATE",
    help="When importers start refusing the batch: YYYY-MM-DD (the end of that day,"
    " UTC) or an ISO 8601 time with a zone. Default: 30 days from now.",
)
@click.pass_context
def batch_sign_command(
    ctx: click.Context, batch: Path, out_dir: Path, seq: int | None, expires_text: str | None
) -> None:
    """Sign a case batch FOLDER or .zip with your key (as its issuer) into OUT_DIR.

    Importers must trust your public key with the role `issuer` (`keys trust --role
    issuer`). Each signed batch takes your key's next sequence number; importers refuse a
    number used twice as a replay, and the batch after it expires. The batch is not
    validated here: try `import` on a scratch data directory.

    \b
    Example:
      qa-desktop batch sign ./batch-2026-11 ~/outbox
      qa-desktop batch sign batch-2026-11.zip ~/outbox --expires 2026-12-31
    """
    expires = _parse_expiry(expires_text) if expires_text else None
    ws = _open(ctx)
    try:
        try:
            files = ws.batches.read_for_signing(batch)
        except api.BatchError as exc:
            raise click.ClickException(str(exc)) from exc
        identity = _identity(ws)
        path = ws.batches.sign(identity, files, out_dir, seq=seq, expires=expires)
    except ValueError as exc:
        raise click.ClickException(f"{batch}: {exc}") from exc
    finally:
        ws.close()
    click.echo(f"{path}: signed case batch, {len(files)} files, key {identity.key_id}")


def _parse_expiry(text: str) -> datetime:
    """``--expires``: a date (the end of that day, UTC) or an ISO 8601 time with a zone."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not YYYY-MM-DD or an ISO 8601 time", param_hint="--expires"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(
            f"{text!r} has no time zone (add Z for UTC)", param_hint="--expires"
        )
    if moment <= datetime.now(UTC):
        raise click.BadParameter(f"{text!r} is in the past", param_hint="--expires")
    return moment


CLI_PLACES = {
    "trust_key": "`qa-desktop keys trust`",
    "import_batch": "`qa-desktop import`",
    "import_bundles": "`qa-desktop bundle import`",
}


# -- calibration sessions ---------------------------------------------------------------------


@cli.group("calibration")
def calibration_group() -> None:
    """Calibration sessions: blind votes on cases, a reveal per case, the arbiter's ruling.

    Votes stay hidden until a case is revealed: before that, `show` says only how many
    participants voted. You, the SME who creates a session, are its arbiter.

    \b
    Example:
      qa-desktop calibration create --name DE46 --cases demo-001,demo-002 -p Ana -p Bo
      qa-desktop calibration show DE46
    """


def _calibration(ctx: click.Context, action: Any) -> Any:
    """Run ``action(ws)`` on an open workspace; a refusal exits 1 with its reason."""
    ws = _open(ctx)
    try:
        return action(ws)
    except api.Refused as exc:
        raise click.ClickException(f"refused ({exc.reason}): {exc}") from exc
    except (api.NoReviewer, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()


def _echo_state(state: api.CalibrationCaseState, ruling_label: bool = True) -> None:
    """One case of a session: counts before the reveal, the votes after."""
    click.echo(f"{state.case_id}\t{state.status_text}")
    if state.revealed is not None:
        for vote in state.revealed.votes:
            cited = ", ".join(c.section_id for c in vote.citations)
            click.echo(f"  {vote.voter}: {vote.label}" + (f" (cites {cited})" if cited else ""))
    for note in state.notes:
        click.echo(f"  note: {note.text}")
    if ruling_label and state.ruling is not None:
        cited = ", ".join(c.section_id for c in state.ruling.citations)
        click.echo(f"  ruling: {state.ruling.label}" + (f" (cites {cited})" if cited else ""))


@calibration_group.command("create")
@click.option("--name", required=True, help="The session's name (unique).")
@click.option("--cases", "case_list", help="Comma-separated case ids.")
@click.option("--view", help="The cases of this saved queue view.")
@click.option("--batch", "batch_id", help="The cases of this batch.")
@click.option(
    "--participant",
    "-p",
    "participants",
    multiple=True,
    required=True,
    help="A participant: a known reviewer's name or id, or a name for the room (repeat).",
)
@click.option("--mode", type=click.Choice(["live", "async"]), default="live", show_default=True)
@click.option("--anonymous", is_flag=True, help="Show revealed votes without voters' names.")
@click.option("--market", help="The session's market (default: the cases' market).")
@click.pass_context
def calibration_create_command(
    ctx: click.Context,
    name: str,
    case_list: str | None,
    view: str | None,
    batch_id: str | None,
    participants: tuple[str, ...],
    mode: str,
    anonymous: bool,
    market: str | None,
) -> None:
    """Create a calibration session from cases, a saved view or a batch (give one).

    \b
    Example:
      qa-desktop calibration create --name DE46 --cases demo-001,demo-002 -p Ana -p Bo
      qa-desktop calibration create --name HS --view "hs cases" -p Ana -p Cy --anonymous
      qa-desktop calibration create --name B7 --batch demo-batch-1 -p Ana -p Bo --mode async
    """
    if sum(x is not None for x in (case_list, view, batch_id)) != 1:
        raise click.UsageError("give exactly one of --cases, --view and --batch")
    cases = [c for c in (case_list or "").split(",") if c.strip()]
    session = _calibration(
        ctx,
        lambda ws: ws.calibration.create(
            name,
            cases=cases,
            view=view,
            batch_id=batch_id,
            participants=participants,
            mode=mode,
            anonymous=anonymous,
            market=market,
        ),
    )
    click.echo(
        f"session {session.id} {session.name!r}: {len(session.case_ids)} cases,"
        f" {len(session.participants)} participants ({session.mode},"
        f" {session.pack_id} {session.pack_version}, market {session.market})"
    )


@calibration_group.command("list")
@click.pass_context
def calibration_list_command(ctx: click.Context) -> None:
    """List calibration sessions: id, name, mode, market, cases, participants, created.

    \b
    Example:
      qa-desktop calibration list
    """
    sessions = _calibration(ctx, lambda ws: ws.calibration.sessions())
    out = _tsv(["id", "name", "mode", "market", "cases", "participants", "created_at"])
    for s in sessions:
        out.writerow(
            [
                s.id,
                s.name,
                s.mode,
                s.market,
                len(s.case_ids),
                len(s.participants),
                s.created_at,
            ]
        )


@calibration_group.command("show")
@click.argument("session")
@click.pass_context
def calibration_show_command(ctx: click.Context, session: str) -> None:
    """Show a session (by id or name): each case's status, votes only once revealed.

    \b
    Example:
      qa-desktop calibration show DE46
    """

    def show(ws: Workspace) -> tuple[api.CalibrationSession, list[api.CalibrationCaseState]]:
        return ws.calibration.session(session), ws.calibration.states(session)

    found, states = _calibration(ctx, show)
    click.echo(
        f"{found.name} ({found.mode}, {found.pack_id} {found.pack_version},"
        f" market {found.market}{', anonymous' if found.anonymous else ''})"
    )
    click.echo("participants: " + ", ".join(p.name for p in found.participants))
    for state in states:
        _echo_state(state)


@calibration_group.command("vote")
@click.argument("session")
@click.argument("case_id")
@click.argument("participant")
@click.argument("label")
@_cite_option("vote")
@click.pass_context
def calibration_vote_command(
    ctx: click.Context,
    session: str,
    case_id: str,
    participant: str,
    label: str,
    sections: tuple[str, ...],
) -> None:
    """Record PARTICIPANT's vote LABEL on CASE_ID; voting again changes it until the reveal.

    The output says how many have voted, never what.

    \b
    Example:
      qa-desktop calibration vote DE46 demo-001 Ana vh_remove --cite VH-2.1
    """

    def vote(ws: Workspace) -> api.CalibrationCaseState:
        citations = tuple(ws.verdicts.citation(case_id, section) for section in sections)
        return ws.calibration.vote(session, case_id, participant, label, citations)

    state = _calibration(ctx, vote)
    click.echo(f"vote recorded on {case_id}: {state.voted} of {state.participants} voted")


@calibration_group.command("reveal")
@click.argument("session")
@click.argument("case_id")
@click.pass_context
def calibration_reveal_command(ctx: click.Context, session: str, case_id: str) -> None:
    """Reveal the votes on CASE_ID to the session and show them.

    \b
    Example:
      qa-desktop calibration reveal DE46 demo-001
    """
    state = _calibration(ctx, lambda ws: ws.calibration.reveal(session, case_id))
    _echo_state(state)


@calibration_group.command("note")
@click.argument("session")
@click.argument("case_id")
@click.argument("text")
@click.pass_context
def calibration_note_command(ctx: click.Context, session: str, case_id: str, text: str) -> None:
    """Add a discussion note to CASE_ID of the session.

    \b
    Example:
      qa-desktop calibration note DE46 demo-001 "VH-2.1 vs VH-2.3: needs an example"
    """
    _calibration(ctx, lambda ws: ws.calibration.note(session, case_id, text))
    click.echo(f"note added to {case_id}")


@calibration_group.command("rule")
@click.argument("session")
@click.argument("case_id")
@click.argument("label")
@_cite_option("ruling")
@click.option("--note", default="", help="The ruling's notes.")
@click.pass_context
def calibration_rule_command(
    ctx: click.Context,
    session: str,
    case_id: str,
    label: str,
    sections: tuple[str, ...],
    note: str,
) -> None:
    """Rule LABEL on revealed CASE_ID as the session's arbiter; it becomes the final verdict.

    The same rules as any verdict apply: a label of the case's pack, and for an enforcing
    label a citation of a section that supports it. A refused ruling exits with status 1.

    \b
    Example:
      qa-desktop calibration rule DE46 demo-001 vh_remove --cite VH-2.1
    """

    def rule(ws: Workspace) -> tuple[api.VerdictEvent, list[str]]:
        citations = tuple(ws.verdicts.citation(case_id, section) for section in sections)
        return ws.calibration.rule(session, case_id, api.VerdictDraft(label, citations, note))

    event, warnings = _calibration(ctx, rule)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"ruled {event.label} on {event.case_id} (event {event.id})")


def _advice(reason: str) -> str:
    """Core's advice about a refusal, pointing at the CLI's commands."""
    return api.what_to_do(reason, CLI_PLACES)


def _tsv(header: list[str] | tuple[str, ...]) -> Any:
    """A tab-separated writer on stdout (the CLI's tables), its header row written."""
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(header)
    return out


def main() -> None:
    """Console entry point (a terminal gets no control characters from outside text)."""
    from .terminal import guard_terminal_streams

    guarded = guard_terminal_streams({"stdout": sys.stdout, "stderr": sys.stderr})
    sys.stdout, sys.stderr = guarded["stdout"], guarded["stderr"]
    cli(obj={})


def _values(text: str | None) -> tuple[str, ...]:
    """``"DE,FR"`` as ``("DE", "FR")`` (empty: no filter)."""
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())


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
) -> None:
    """A QA performance report: accuracy with 95% Wilson intervals, errors, confusion,
    flags, throughput, over the frontline decisions the filters select.

    \b
    Example:
      qa-desktop report --by policy,market --format xlsx --out report.xlsx
      qa-desktop report --from 2026-10-01 --to 2026-10-31 --market DE --format pdf --out oct.pdf
      qa-desktop report --by moderator,week --format csv --out report-csv
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
        report = ws.reports.performance(flt, _values(by))
        if fmt == "xlsx":
            ws.reports.write_xlsx(report, out, include_my_exposure=include_my_exposure)
        elif fmt == "csv":
            ws.reports.write_csv(report, out, include_my_exposure=include_my_exposure)
        else:
            _write_pdf(report, out, page)
    except api.ReportError as exc:
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

    from .ui.reports.pdf import write_pdf

    _app = QGuiApplication.instance() or QGuiApplication([])
    write_pdf(report, out, page)
