"""The team hub: load a bucket's signed bundles into PostgreSQL (docs/team-hub.md)."""

from __future__ import annotations

from pathlib import Path

import click

from .base import api, cli


@cli.group("hub")
def hub_group() -> None:
    """The team hub: verify the bundles of an S3 bucket once and load their events into
    PostgreSQL for org-wide reports (no GUI).

    \b
    Example:
      qa-desktop hub ingest --bucket s3://qa/emea --database postgresql://hub/qa --trust /srv/trust
    """


def _options(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--bucket", required=True, metavar="s3://BUCKET/PREFIX"),
            click.option("--database", required=True, metavar="postgresql://..."),
            click.option(
                "--trust",
                "trust_dir",
                required=True,
                type=click.Path(file_okay=False, exists=True, path_type=Path),
                help="A QA Desktop data directory whose trust store says whom to believe.",
            ),
            click.option("--endpoint-url", default=None, help="An S3-compatible store's URL."),
        ]
    ):
        command = option(command)
    return command


def _print(report: api.IngestReport) -> None:
    click.echo(
        f"loaded {len(report.loaded)} bundles ({report.events} new events),"
        f" {len(report.refused)} refused, {report.already} done before,"
        f" {report.busy} held by another worker"
    )
    for key, reason in report.refused:
        click.echo(f"refused {key}: {reason} (see {key}.reason)")


@hub_group.command("ingest")
@_options
def ingest_command(bucket: str, database: str, trust_dir: Path, endpoint_url: str | None) -> None:
    """Verify and load every new bundle of the bucket; safe to rerun and to run in several
    processes at once.

    \b
    Example:
      qa-desktop hub ingest --bucket s3://qa/emea --database postgresql://hub/qa --trust /srv/trust
    """
    try:
        report = api.hub_ingest(trust_dir, bucket, database, endpoint_url=endpoint_url)
    except api.QADesktopError as exc:
        raise click.ClickException(str(exc)) from exc
    _print(report)


@hub_group.command("rebuild")
@_options
def rebuild_command(bucket: str, database: str, trust_dir: Path, endpoint_url: str | None) -> None:
    """Drop the hub's tables and load the whole bucket again (the bucket is the truth).

    \b
    Example:
      qa-desktop hub rebuild --bucket s3://qa/emea --database postgresql://hub/qa --trust /srv/trust
    """
    try:
        report = api.hub_rebuild(trust_dir, bucket, database, endpoint_url=endpoint_url)
    except api.QADesktopError as exc:
        raise click.ClickException(str(exc)) from exc
    _print(report)
