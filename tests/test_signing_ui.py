"""Signing keys, trusted signers and sync through real widgets: two reviewers, one folder."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox
from pytestqt.qtbot import QtBot

from qa_desktop.core import bundles, keys
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.main_window import MainWindow
from qa_desktop.ui.signing import TrustDialog, sync_summary

from .factory import case_record, write_batch
from .recording import record
from .test_bundles import flip_a_content_byte
from .windows import answer_dialog, note_and_close, open_window

PASS_A, PASS_B = "correct horse", "battery staple"
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def keyed_windows(
    qtbot: QtBot, a: Workspace, b: Workspace, tmp_path: Path, b_trusts_a_as: str | None = None
) -> tuple[MainWindow, MainWindow]:
    """Windows on ``a`` and ``b``, each with a signing key; ``b`` trusts ``a`` if asked."""
    window_a, window_b = open_window(qtbot, a), open_window(qtbot, b)
    assert window_a.create_key(PASS_A) and window_b.create_key(PASS_B)
    if b_trusts_a_as is not None:
        pub = tmp_path / "a.pub"
        TrustDialog(a).export_mine(pub)
        assert TrustDialog(b, window_b).add_key(
            pub, a.reviewer.display_name, b_trusts_a_as, a.reviewer.id, confirm=False
        )
    return window_a, window_b


def test_two_reviewers_sync_through_one_folder(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = pair
    folder = tmp_path / "shared"
    folder.mkdir()
    window_a, window_b = open_window(qtbot, a), open_window(qtbot, b)
    assert window_a.create_key(PASS_A) and window_b.create_key(PASS_B)

    # Each trusts the other through the trust dialog, from the exported public key file.
    for mine, theirs, their_name in ((window_a, b, "Bo"), (window_b, a, "Ana")):
        pub = tmp_path / f"{their_name}.pub"
        TrustDialog(theirs).export_mine(pub)
        dialog = TrustDialog(mine.ws, mine)
        qtbot.addWidget(dialog)
        assert dialog.add_key(pub, their_name, "reviewer", theirs.reviewer.id, confirm=False)
        signers = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
        assert their_name in signers

    record(a, "t-0", "no_violation")
    record(b, "t-0", "sp_reduce", notes="looks like spam")
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_a.sync_now(folder, PASS_A)
    assert "Sent 1 event of yours" in messages[-1]
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_b.sync_now(folder)  # the passphrase is remembered for the session
    assert "Sent 1 event of yours" in messages[-1]
    assert "Received 1 new event from 1 bundle" in messages[-1]
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_a.sync_now(folder)
    assert "Received 1 new event from 1 bundle" in messages[-1]

    # Both verdicts on t-0 are kept on both machines; each shows under its reviewer's name.
    for ws in (a, b):
        labels = sorted(e.label for e in ws.verdicts.events())
        assert labels == ["no_violation", "sp_reduce"]
    bar = window_a.review.filter_bar
    bar.reviewer.setCurrentIndex(bar.reviewer.findText("Bo's verdicts"))
    bar.status.setCurrentIndex(bar.status.findData("done"))
    assert window_a.review.model.rowCount() == 1 and window_a.review.model.case_id_at(0) == "t-0"

    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_a.sync_now(folder)
    assert "Received 0 new events" in messages[-1]  # nothing twice


def test_wrong_passphrase_and_missing_key_say_what_to_do(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, _ = pair
    window = open_window(qtbot, a)
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.sync_now(tmp_path, "anything")
    assert "Create your signing key first" in messages[-1]
    assert window.create_key(PASS_A)
    window._identity = None
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.sync_now(tmp_path, "not the passphrase")
    assert "Wrong passphrase" in messages[-1]


def test_a_tampered_bundle_is_refused_with_its_reason(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = pair
    window_a = open_window(qtbot, a)
    window_b = open_window(qtbot, b)
    window_a.create_key(PASS_A)
    window_b.create_key(PASS_B)
    pub = tmp_path / "ana.pub"
    pub.write_text(a.trust.public_key().to_minisign(), encoding="utf-8")
    b.trust.trust(
        keys.PublicKey.from_minisign(pub.read_text()),
        "Ana",
        "reviewer",
        keys.PublicKey.from_minisign(pub.read_text()).suggested_reviewer_id,
    )
    record(a, "t-1", "no_violation")
    out = tmp_path / "out"
    out.mkdir()
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_a.export_bundle(out)
    bundle = next(out.glob("*.zip"))
    bad = tmp_path / "tampered.zip"
    bad.write_bytes(flip_a_content_byte(bundle))
    before = b.verdicts.events()
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window_b.import_bundles([bad])
    assert "REFUSED (corrupt): tampered.zip" in messages[-1]
    assert "What to do: The file was changed after it was signed" in messages[-1]
    assert b.verdicts.events() == before
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_b.import_bundles([bundle])
    assert "Imported 1 bundle: 1 new event, 0 already known" in messages[-1]


def test_an_expired_signed_batch_gets_a_dialog_saying_what_to_do(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, _ = pair
    issuer = keys.generate_identity("", "Issuer")
    a.trust.trust(issuer.public_key, "Central QA", "issuer", None)
    batch = write_batch(tmp_path / "late", [case_record("late-1", "text", [], tags=[])], "late")
    signed = bundles.sign_case_batch(
        issuer, batch, tmp_path / "signed", expires=datetime.now(UTC) - timedelta(minutes=1)
    )
    window = open_window(qtbot, a)
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        window.import_batch(signed)
    assert "refused (expired)" in messages[-1]
    assert "Ask the issuer for a freshly signed copy" in messages[-1]
    assert str(a.bundles.quarantine_dir) in messages[-1]
    assert a.database_for_tests()["batches"].count == 1  # only the batch the fixture imported


def test_a_sync_report_from_many_reviewers_stays_short_with_every_bundle_in_the_details() -> None:
    from qa_desktop.core.bundles import ImportReport
    from qa_desktop.core.sync import SyncReport

    report = SyncReport(
        imported=[ImportReport(f"r{i}.zip", new_events=3, signer=f"R{i}") for i in range(10)],
        refused=[
            ImportReport(
                f"bad{i}.zip", refused_reason="unknown-signer", refused_message="not trusted"
            )
            for i in range(12)
        ]
        + [ImportReport("late.zip", refused_reason="replay", refused_message="seq 1 again")],
    )
    text, details = sync_summary(report)
    assert "Received 30 new events from 10 bundles." in text
    assert (
        "REFUSED (unknown-signer): bad0.zip, bad1.zip, bad2.zip, bad3.zip, bad4.zip and 7 more"
    ) in text
    assert text.count("What to do:") == 2 and "REFUSED (replay): late.zip" in text
    assert len(text.splitlines()) < 12
    assert len(details.splitlines()) == 23 and "REFUSED bad11.zip" in details


def test_the_trust_dialog_removes_a_key_added_by_mistake_but_not_your_own(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = pair
    _, window_a = keyed_windows(qtbot, b, a, tmp_path, b_trusts_a_as="lead")  # a trusts b
    dialog = TrustDialog(a, window_a)
    qtbot.addWidget(dialog)

    def select(signer: str) -> None:
        rows = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
        dialog.table.selectRow(rows.index(signer))

    select("Bo")
    assert dialog.remove_selected(confirm=False)
    assert [k.signer_name for k in a.trust.trusted_keys()] == ["Ana"]
    select("Ana")
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not dialog.remove_selected(confirm=False)
    assert "your own signing key" in messages[-1]
    assert [k.signer_name for k in a.trust.trusted_keys()] == ["Ana"]


def test_a_sync_says_which_bundles_never_arrived(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = pair
    window_a, window_b = keyed_windows(qtbot, a, b, tmp_path, b_trusts_a_as="reviewer")
    folder = tmp_path / "shared"
    folder.mkdir()
    messages: list[str] = []
    for case in ("t-0", "t-1"):
        record(a, case, "no_violation")
        with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
            assert window_a.sync_now(folder, PASS_A)
    (first,) = (
        a.database_for_tests().execute("SELECT bundle_id FROM bundle_log WHERE seq = 1").fetchone()
    )
    (folder / a.trust.public_key().key_id / f"{first}.zip").rename(tmp_path / "lost.zip")
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window_b.sync_now(folder, PASS_B)
    assert "Received 1 new event from 1 bundle" in messages[-1]
    assert "Missing from Ana" in messages[-1] and "bundle(s) 1 " in messages[-1]


def test_syncing_to_a_folder_that_is_not_there_says_so(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, _ = pair
    window = open_window(qtbot, a)
    assert window.create_key(PASS_A)
    record(a, "t-0", "no_violation")
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.sync_now(tmp_path / "unmounted-share", PASS_A)
    assert "does not exist or cannot be reached" in messages[-1]
    assert "Nothing was half-written" in messages[-1]
    assert not (tmp_path / "unmounted-share").exists()


def test_export_with_evidence_from_the_window_and_its_errors(
    qtbot: QtBot, pair: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = pair
    window = open_window(qtbot, a)
    assert window.create_key(PASS_A)
    evidence = tmp_path / "note.txt"
    evidence.write_text("the account posted the same clip 40 times\n", encoding="utf-8")
    messages: list[str] = []
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.export_bundle(tmp_path / "out", evidence=[evidence])
    assert "Nothing new to export" in messages[-1] and "evidence files travel" in messages[-1]

    record(a, "t-0", "no_violation")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.export_bundle(blocker / "out", evidence=[evidence])
    assert "Nothing was written" in messages[-1]
    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert not window.export_bundle(tmp_path / "out", evidence=[tmp_path / "missing.bin"])
    assert "not a regular file" in messages[-1]
    assert a.database_for_tests()["bundle_log"].count == 0

    with answer_dialog(qtbot, note_and_close(messages), kind=QMessageBox):
        assert window.export_bundle(tmp_path / "out", evidence=[evidence])
    assert "Wrote 1 event and 1 evidence file to" in messages[-1]
    (bundle,) = (tmp_path / "out").glob("*.zip")
    pub = tmp_path / "ana.pub"
    TrustDialog(a).export_mine(pub)
    assert TrustDialog(b).add_key(pub, "Ana", "reviewer", a.reviewer.id, confirm=False)
    verified = b.bundles.verify(bundle)
    assert list(verified.evidence) == ["note.txt"]


@pytest.mark.slow
def test_the_signing_key_opens_off_the_gui_thread_at_its_real_cost_from_the_keyboard(
    qtbot: QtBot,
    pair: tuple[Workspace, Workspace],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15: scrypt (~0.5 s at the real cost) ran on the GUI thread on the first sync or
    export. It runs in the worker now (the GUI thread keeps turning meanwhile), the key is
    kept for the session, and Ctrl+Shift+S with the passphrase typed still syncs."""
    monkeypatch.setattr(keys, "SCRYPT_N", 2**17)  # the real cost, not the tests' tiny one
    derived: list[tuple[threading.Thread, float, float]] = []
    real_scrypt = keys.Scrypt

    class WatchedScrypt:
        def __init__(self, **kwargs: int | bytes) -> None:
            self.real = real_scrypt(**kwargs)  # type: ignore[arg-type]

        def derive(self, material: bytes) -> bytes:
            started = time.monotonic()
            key = self.real.derive(material)
            derived.append((threading.current_thread(), started, time.monotonic()))
            return key

    monkeypatch.setattr(keys, "Scrypt", WatchedScrypt)
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start()

    a, _ = pair
    window = open_window(qtbot, a)
    assert window.create_key(PASS_A)
    window._identity = None  # as after a restart: the next sync opens the key again
    window.activateWindow()  # the key's progress dialog had it
    qtbot.waitUntil(window.isActiveWindow)
    record(a, "t-0", "no_violation")
    folder = tmp_path / "shared"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    messages: list[str] = []

    def passphrase(dialog: QInputDialog) -> None:
        field = dialog.findChild(QLineEdit)
        qtbot.keyClicks(field, PASS_A)
        qtbot.keyClick(field, Qt.Key.Key_Return)

    def no_bucket(dialog: QInputDialog) -> None:  # empty: choose a folder
        qtbot.keyClick(dialog.findChild(QLineEdit), Qt.Key.Key_Return)

    answers = (passphrase, no_bucket, note_and_close(messages))
    with answer_dialog(qtbot, *answers, kind=(QInputDialog, QMessageBox), timeout_ms=30000):
        qtbot.keyClick(window, Qt.Key.Key_S, CTRL_SHIFT)
    heartbeat.stop()
    assert "Sent 1 event of yours" in messages[-1]
    (made_in, _, _), (opened_in, started, ended) = derived
    assert made_in is not threading.main_thread() and opened_in is not threading.main_thread()
    assert any(started < tick < ended for tick in ticks)  # the GUI turned while scrypt ran
    # The key stays open for the session: the next sync asks nothing and derives nothing.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    with answer_dialog(
        qtbot, no_bucket, note_and_close(messages), kind=(QInputDialog, QMessageBox)
    ):
        qtbot.keyClick(window, Qt.Key.Key_S, CTRL_SHIFT)
    assert "Nothing new of yours to send" in messages[-1] and len(derived) == 2
