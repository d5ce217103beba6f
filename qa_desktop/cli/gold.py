"""The gold set: promote, list, retire gold cases; ship a batch with hidden gold; accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .base import _identity, _run, _tsv, cli

if TYPE_CHECKING:
    from ..core.workspace import Workspace


@cli.group("gold")
def gold_group() -> None:
    """The gold set: arbitrated cases with known answers (the lead's database).

    \b
    Example:
      qa-desktop gold promote demo-001
      qa-desktop gold list --market DE --policy VH
    """


@gold_group.command("promote")
@click.argument("case_ids", nargs=-1, required=True)
@click.pass_context
def gold_promote_command(ctx: click.Context, case_ids: tuple[str, ...]) -> None:
    """Make cases gold from their calibration ruling or decided SME verdict.

    \b
    Example:
      qa-desktop gold promote demo-001 demo-002
    """
    for case_id in case_ids:
        gold = _run(ctx, lambda ws, c=case_id: ws.gold.promote(c))
        cited = ", ".join(c.section_id for c in gold.citations)
        click.echo(
            f"{gold.case_id}: gold {gold.label} ({gold.source}; {gold.market} {gold.policy},"
            f" {gold.pack_id} {gold.pack_version}" + (f"; cites {cited})" if cited else ")")
        )


@gold_group.command("list")
@click.option("--market", help="Only this market's gold.")
@click.option("--policy", help="Only this policy's gold.")
@click.option("--active", is_flag=True, help="Leave retired and quiz-used cases out.")
@click.pass_context
def gold_list_command(
    ctx: click.Context, market: str | None, policy: str | None, active: bool
) -> None:
    """List the gold pool; retired cases are shown with why (a cited section changed).

    \b
    Example:
      qa-desktop gold list --market DE --active
    """
    pool = _run(
        ctx,
        lambda ws: ws.gold.cases(market=market, policy=policy, include_retired=not active),
    )
    if active:
        pool = [g for g in pool if g.active]
    out = _tsv(["case", "label", "policy", "market", "pack", "cites", "difficulty", "state"])
    for g in pool:
        state = (
            f"retired: {g.retired_reason}"
            if g.retired_at
            else (f"quiz {g.quiz_id}" if g.quiz_id else "active")
        )
        out.writerow(
            [
                g.case_id,
                g.label,
                g.policy,
                g.market,
                f"{g.pack_id} {g.pack_version}",
                ",".join(c.section_id for c in g.citations),
                "" if g.difficulty is None else f"{g.difficulty:.2f}",
                state,
            ]
        )


@gold_group.command("retire")
@click.argument("case_id")
@click.option("--why", required=True, help="Why the case leaves the pool.")
@click.pass_context
def gold_retire_command(ctx: click.Context, case_id: str, why: str) -> None:
    """Retire a gold case by hand, saying why (cases citing a changed section retire alone).

    \b
    Example:
      qa-desktop gold retire demo-001 --why "ruled under the old threat policy"
    """
    gold = _run(ctx, lambda ws: ws.gold.retire(case_id, why))
    click.echo(f"{gold.case_id}: retired ({gold.retired_reason})")


@gold_group.command("ship")
@click.argument("batch", type=click.Path(exists=True, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--share",
    type=click.FloatRange(0, 0.5),
    default=0.1,
    show_default=True,
    help="The share of the shipped cases that are hidden gold.",
)
@click.pass_context
def gold_ship_command(ctx: click.Context, batch: Path, out_dir: Path, share: float) -> None:
    """Sign a case batch for reviewers with hidden gold mixed in, unannounced.

    Every case gets a fresh id and its media fresh names, and the cases are shuffled:
    nothing in the batch marks the gold. The answer key stays in your database.

    \b
    Example:
      qa-desktop gold ship ./batch-2026-11 ~/outbox --share 0.1
    """

    def ship(ws: Workspace) -> Any:
        files = ws.batches.read_for_signing(batch)
        return ws.gold.ship_batch(_identity(ws), files, out_dir, share=share)

    result = _run(ctx, ship)
    click.echo(f"{result.path}: signed batch {result.batch_id}, {result.cases} cases")


@gold_group.command("accuracy")
@click.option("--misses", is_flag=True, help="List each gold miss with the ruling.")
@click.pass_context
def gold_accuracy_command(ctx: click.Context, misses: bool) -> None:
    """Each reviewer's accuracy against hidden gold, by policy and by week (Wilson 95 %).

    \b
    Example:
      qa-desktop gold accuracy --misses
    """
    result = _run(ctx, lambda ws: ws.gold.accuracy())
    out = _tsv(["reviewer", "by", "group", "correct", "total", "accuracy", "low", "high"])
    for by, rows in (("policy", result.by_policy), ("week", result.by_week)):
        for r in rows:
            low, high = (r.interval.low, r.interval.high) if r.interval else (0.0, 0.0)
            out.writerow(
                [
                    r.reviewer,
                    by,
                    r.group,
                    r.correct,
                    r.total,
                    f"{r.accuracy:.3f}",
                    f"{low:.3f}",
                    f"{high:.3f}",
                ]
            )
    if misses:
        for m in result.misses:
            cited = ", ".join(c.section_id for c in m.citations)
            click.echo(
                f"miss\t{m.reviewer}\t{m.case_id} (gold {m.gold_case_id})\tanswered"
                f" {m.answered}\truling {m.ruling}" + (f" ({cited})" if cited else "")
            )
