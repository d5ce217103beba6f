"""Calibration sessions: create, ship, vote, reveal, note, rule."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    _cite_option,
    _identity,
    _run,
    _tsv,
    api,
    cli,
)

if TYPE_CHECKING:
    from ..core.workspace import Workspace


@cli.group("calibration")
def calibration_group() -> None:
    """Calibration sessions: blind votes on cases, a reveal per case, the arbiter's ruling.

    Votes stay hidden until a case is revealed: before that, `show` says only how many
    participants voted. You, the SME who creates a session, are its arbiter. An async
    session goes to participants' laptops with `ship`; their votes come back in their
    signed bundles (`bundle import`, `sync`) and join the session once.

    \b
    Example:
      qa-desktop calibration create --name DE46 --cases demo-001,demo-002 -p Ana -p Bo
      qa-desktop calibration show DE46
    """


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
    session = _run(
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
    sessions = _run(ctx, lambda ws: ws.calibration.sessions())
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

    found, states = _run(ctx, show)
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

    state = _run(ctx, vote)
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
    state = _run(ctx, lambda ws: ws.calibration.reveal(session, case_id))
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
    _run(ctx, lambda ws: ws.calibration.note(session, case_id, text))
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

    event, warnings = _run(ctx, rule)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"ruled {event.label} on {event.case_id} (event {event.id})")


@calibration_group.command("ship")
@click.argument("session")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--expires",
    "expires_text",
    help="When the signed batch stops importing (a date or ISO time; default 30 days).",
)
@click.pass_context
def calibration_ship_command(
    ctx: click.Context, session: str, out_dir: Path, expires_text: str | None
) -> None:
    """Ship an async session: its cases and the session, signed with your key, in OUT_DIR.

    Each participant imports the .zip (`qa-desktop import`, having trusted your key with
    `--role lead`), votes blind (`calibration vote`) and sends their `bundle export`; you
    import those (`bundle import` or `sync`), then reveal and rule.

    \b
    Example:
      qa-desktop calibration ship DE46 ~/outbox
      qa-desktop calibration ship DE46 ~/outbox --expires 2026-12-31
    """
    from .bundles import _parse_expiry

    expires = _parse_expiry(expires_text) if expires_text else None

    def ship(ws: Workspace) -> Path:
        return ws.calibration.ship(session, _identity(ws), out_dir, expires=expires)

    path = _run(ctx, ship)
    click.echo(f"{path}: calibration session {session} shipped (signed case batch)")
