"""The root command, the lazy ``api`` accessor and the helpers every command group shares."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import __version__

if TYPE_CHECKING:
    from ..core import api
    from ..core.workspace import Workspace
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
    from ..core.workspace import Workspace

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
        from ..ui.app import run_gui  # Qt is only loaded for the GUI

        sys.exit(run_gui(api.data_dir(data_dir)))


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


CLI_PLACES = {
    "trust_key": "`qa-desktop keys trust`",
    "import_batch": "`qa-desktop import`",
    "import_bundles": "`qa-desktop bundle import`",
}


def _run(ctx: click.Context, action: Any) -> Any:
    """Run ``action(ws)`` on an open workspace; a refusal (or a problem core names) exits 1
    with its reason."""
    ws = _open(ctx)
    try:
        return action(ws)
    except api.Refused as exc:
        raise click.ClickException(f"refused ({exc.reason}): {exc}") from exc
    except (api.NoReviewer, api.BatchError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        ws.close()


def _advice(reason: str) -> str:
    """Core's advice about a refusal, pointing at the CLI's commands."""
    return api.what_to_do(reason, CLI_PLACES)


def _tsv(header: list[str] | tuple[str, ...]) -> Any:
    """A tab-separated writer on stdout (the CLI's tables), its header row written."""
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    out.writerow(header)
    return out


def _values(text: str | None) -> tuple[str, ...]:
    """``"DE,FR"`` as ``("DE", "FR")`` (empty: no filter)."""
    return tuple(v.strip() for v in (text or "").split(",") if v.strip())
