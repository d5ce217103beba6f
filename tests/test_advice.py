"""Core's advice about a refusal names no front end; the GUI and the CLI each say where."""

from __future__ import annotations

import pytest

from qa_desktop.cli import _advice
from qa_desktop.core.api import RefusalReason, what_to_do
from qa_desktop.ui.advice import advice


@pytest.mark.parametrize("reason", [r.value for r in RefusalReason])
def test_core_advice_names_no_menu_and_no_command(reason: str) -> None:
    text = what_to_do(reason)
    assert text and "▸" not in text and "qa-desktop" not in text and "{" not in text


def test_the_gui_points_at_its_menus_and_the_cli_at_its_commands() -> None:
    assert "Keys ▸ Trusted signers" in advice("unknown-signer")
    assert "`qa-desktop keys trust`" in _advice("unknown-signer")
    assert "File ▸ Import batch" in advice("wrong-kind")
    assert "`qa-desktop bundle import`" in _advice("wrong-kind")
    assert "qa-desktop" not in advice("unknown-signer")
