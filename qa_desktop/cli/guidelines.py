"""Guideline packs: import, list, show a section."""

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
