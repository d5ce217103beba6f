"""Sync between reviewers who do not trust each other: one line per sync with the count of
bundles and the untrusted keys, no REFUSED line per bundle, each file quarantined once, and
silence after the reviewer dismisses the signer (until they trust the key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.cli import cli
from qa_desktop.core.api import UntrustedSigner
from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE, introduce, make_workspace
from .recording import record
from .windows import answer_dialog, note_and_close, open_window


@pytest.fixture
def strangers(tmp_path: Path) -> tuple[Workspace, Workspace, Path]:
    """Ana and Bo, each with a key, neither trusting the other; Bo has sent two bundles to
    the sync folder."""
    a = make_workspace(tmp_path, "Ana")
    b = make_workspace(tmp_path, "Bo")
    folder = tmp_path / "shared"
    folder.mkdir()
    for case_id in ("t-0", "t-1"):
        record(b, case_id, "vh_remove")
        b.sync.folder(b.trust.identity(PASSPHRASE), folder)
    yield a, b, folder
    a.close()
    b.close()


def _quarantined(ws: Workspace) -> dict[str, int]:
    folder = ws.bundles.quarantine_dir
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} if folder.is_dir() else {}


def test_untrusted_bundles_are_counted_per_signer_and_quarantined_once(
    strangers: tuple[Workspace, Workspace, Path],
) -> None:
    a, b, folder = strangers
    bo = b.trust.public_key().key_id
    identity = a.trust.identity(PASSPHRASE)
    first = a.sync.folder(identity, folder)
    assert first.refused == [] and first.new_events == 0
    assert [(s.key_id, s.bundles) for s in first.untrusted] == [(bo, 2)]
    quarantined = _quarantined(a)
    assert len(quarantined) == 4  # two bundles, each with its reason file

    again = a.sync.folder(identity, folder)
    assert again.untrusted == first.untrusted and again.refused == []
    assert _quarantined(a) == quarantined  # not written again

    a.sync.dismiss_signer(bo)
    quiet = a.sync.folder(identity, folder)
    assert quiet.untrusted == [] and quiet.refused == [] and quiet.dismissed == 2
    assert a.sync.dismissed_signers() == {bo}
    assert a.sync.undismiss_signer(bo) and not a.sync.undismiss_signer(bo)

    introduce(a, b)
    taken = a.sync.folder(identity, folder)
    assert taken.new_events == 2 and taken.untrusted == [] and taken.refused == []
    assert a.database_for_tests()["untrusted_bundles"].count == 0


def test_the_summary_line_names_the_count_and_the_keys() -> None:
    from qa_desktop.core.api import untrusted_summary

    one = [UntrustedSigner("ABCD1234ABCD1234", ("x.zip", "y.zip"))]
    assert untrusted_summary(one) == (
        "2 bundles from 1 signer you do not trust: key ABCD1234ABCD1234 — trust their key"
        " to take them"
    )
    two = [*one, UntrustedSigner("EF0123456789ABCD", ("z.zip",))]
    assert untrusted_summary(two, "here") == (
        "3 bundles from 2 signers you do not trust: keys ABCD1234ABCD1234, EF0123456789ABCD"
        " — trust their keys (here) to take them"
    )
    assert untrusted_summary([]) == ""


def test_the_sync_box_says_it_in_one_line_and_dismisses_with_a_click(
    qtbot: QtBot, strangers: tuple[Workspace, Workspace, Path]
) -> None:
    a, b, folder = strangers
    bo = b.trust.public_key().key_id
    window = open_window(qtbot, a)
    seen: list[tuple[str, str]] = []

    def note_then(button: str) -> object:
        def answer(box: QMessageBox) -> None:
            seen.append((box.text(), box.detailedText()))
            chosen = [b for b in box.buttons() if b.text() == button]
            assert chosen, [b.text() for b in box.buttons()]
            chosen[0].click()

        return answer

    for _ in range(2):  # every sync: one line, never a REFUSED line per bundle
        with answer_dialog(qtbot, note_then("OK"), kind=QMessageBox):
            assert window.sync_now(folder, PASSPHRASE)
        text, details = seen[-1]
        assert (
            f"2 bundles from 1 signer you do not trust: key {bo} — trust their key"
            " (Keys ▸ Trusted signers…) to take them, or dismiss them" in text
        )
        assert "REFUSED" not in text and text.count(bo) == 1
        assert details.count("NOT TRUSTED") == 2

    with answer_dialog(qtbot, note_then("Dismiss these signers"), kind=QMessageBox):
        assert window.sync_now(folder)
    assert a.sync.dismissed_signers() == {bo}
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window.sync_now(folder)
    assert "do not trust" not in messages[-1] and "REFUSED" not in messages[-1]


def test_the_cli_prints_one_line_and_dismisses(
    strangers: tuple[Workspace, Workspace, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, folder = strangers
    bo = b.trust.public_key().key_id
    data = str(a.data_dir)
    monkeypatch.setenv("QA_DESKTOP_PASSPHRASE", PASSPHRASE)

    def ok(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--data-dir", data, *args], obj={})
        assert result.exit_code == 0, result.output
        return result.output

    for _ in range(2):
        out = ok("sync", str(folder))
        assert f"2 bundles from 1 signer you do not trust: key {bo}" in out
        assert "refused (unknown-signer)" not in out and "0 refused" in out
    assert bo in ok("keys", "dismiss", bo)
    out = ok("sync", str(folder))
    assert "do not trust" not in out and "2 bundles from dismissed signers left alone" in out
    assert "reports key" in ok("keys", "dismiss", "--undo", bo)
    assert "do not trust" in ok("sync", str(folder))
