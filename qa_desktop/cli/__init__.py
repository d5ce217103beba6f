"""The command line: the same Workspace as the GUI, from a terminal.

``qa-desktop`` with no sub-command opens the GUI; ``qa-desktop --help`` lists the rest.
Each command group is a module of this package; importing it registers its commands.
"""

from __future__ import annotations

import sys

from . import (
    bundles,
    calibration,
    calibration_report,
    cases,
    findings,
    gold,
    guidelines,
    hub,
    keys,
    quizzes,
    reports,
)
from .base import _advice, cli

__all__ = ["_advice", "cli", "main"]
_COMMAND_GROUPS = (
    bundles,
    calibration,
    calibration_report,
    cases,
    findings,
    gold,
    guidelines,
    hub,
    keys,
    quizzes,
    reports,
)


def main() -> None:
    """Console entry point (a terminal gets no control characters from outside text)."""
    from ..terminal import guard_terminal_streams

    guarded = guard_terminal_streams({"stdout": sys.stdout, "stderr": sys.stderr})
    sys.stdout, sys.stderr = guarded["stdout"], guarded["stderr"]
    cli(obj={})
