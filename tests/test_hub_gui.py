"""The GUI's sync takes an s3:// URL where a folder is chosen today."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace

from .factory import PASSPHRASE
from .hub_services import new_bucket, s3_endpoint
from .recording import record
from .test_bundles import verdict_rows
from .windows import answer_dialog, note_and_close, open_window

__all__ = ["s3_endpoint"]


def type_url(url: str):  # type: ignore[no-untyped-def]
    def answer(dialog: QInputDialog) -> None:
        dialog.setTextValue(url)
        dialog.accept()

    return answer


@pytest.mark.slow
def test_sync_now_with_a_typed_s3_url_then_remembered(
    qtbot: QtBot,
    keyed_pair: tuple[Workspace, Workspace],
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    a, b = keyed_pair
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # as a profile's endpoint_url would
    url = f"s3://{new_bucket(s3_endpoint)}/team"
    record(a, "t-0", "vh_remove")
    window = open_window(qtbot, a)
    messages: list[str] = []
    with (
        answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox),
        answer_dialog(qtbot, type_url(url), kind=QInputDialog),
    ):
        assert window.sync_now(None, PASSPHRASE)
    assert "Sent 1 event of yours" in messages[-1]
    shown: list[str] = []

    def keep(dialog: QInputDialog) -> None:
        shown.append(dialog.textValue())
        dialog.accept()

    with (
        answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox),
        answer_dialog(qtbot, keep, kind=QInputDialog),
    ):
        assert window.sync_now()
    assert shown == [url]  # remembered
    taken = b.sync.to(b.trust.identity(PASSPHRASE), url)
    assert taken.new_events == 1 and verdict_rows(a) == verdict_rows(b)


def test_a_missing_bucket_typed_in_the_gui_is_shown_by_name(
    qtbot: QtBot,
    keyed_pair: tuple[Workspace, Workspace],
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = keyed_pair
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    window = open_window(qtbot, a)
    messages: list[str] = []
    with (
        answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox),
        answer_dialog(qtbot, type_url("s3://qa-not-there/x"), kind=QInputDialog),
    ):
        assert not window.sync_now(None, PASSPHRASE)
    assert "qa-not-there" in messages[-1] and "does not exist" in messages[-1]
