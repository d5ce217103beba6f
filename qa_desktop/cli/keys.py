"""The signing key and the trust store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .base import (
    _open,
    _passphrase,
    _tsv,
    api,
    cli,
)

if TYPE_CHECKING:
    pass


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
