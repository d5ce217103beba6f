"""Signed bundles, folder sync and signed case batches."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    _advice,
    _identity,
    _open,
    _tsv,
    api,
    cli,
)

if TYPE_CHECKING:
    pass


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
            if r.kept_aside:
                click.echo(
                    f"  {r.kept_aside} calibration votes kept aside until their session arrives"
                )
            if r.unseen:
                click.echo(
                    f"  {r.unseen} other participants' calibration votes left unseen"
                    " (votes are blind: only the arbiter takes them)"
                )
            for event_id, reason, message in r.refused_votes:
                click.echo(f"  vote {event_id} refused ({reason}): {message}")
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
@click.argument("folder", metavar="FOLDER|s3://BUCKET/PREFIX")
@click.option(
    "--endpoint-url", default=None, help="An S3-compatible store's URL (default: AWS S3)."
)
@click.pass_context
def sync_command(ctx: click.Context, folder: str, endpoint_url: str | None) -> None:
    """Export your new events into a shared FOLDER (or an S3 bucket) and import everyone
    else's bundles. S3 credentials come from the environment or ~/.aws/config profiles
    (docs/team-hub.md).

    \b
    Example:
      qa-desktop sync /mnt/team-share/qa-sync
      qa-desktop sync s3://team-qa/emea --endpoint-url https://s3.example.org
    """

    ws = _open(ctx)
    try:
        if folder.lower().startswith("s3://"):
            report = ws.sync.to(_identity(ws), folder, endpoint_url=endpoint_url)
        else:
            report = ws.sync.folder(_identity(ws), Path(folder))
        gaps = api.missing_summary(ws.bundles.deliveries())
    except KeyboardInterrupt as exc:
        raise click.ClickException("sync cancelled; nothing was half-written") from exc
    except OSError as exc:
        raise click.ClickException(f"sync failed: {exc}. Nothing was half-written.") from exc
    finally:
        ws.close()
    if report.exported is not None:
        click.echo(f"exported {report.exported.event_count} events to {report.exported.path}")
    if report.attempts_sent:
        click.echo(f"sent {report.attempts_sent} quiz attempt(s) to your lead")
    if report.attempts_received:
        click.echo(f"received {report.attempts_received} quiz attempt(s): `qa-desktop quiz score`")
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
