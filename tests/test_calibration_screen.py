"""The calibration screen (issue 11, the laptop side of a live session), driven by real keys.

A whole live session runs through the real main window: the session dialog, votes on the
grid with arrows and digits, the reveal (confirmed), a note, a refused and a recorded
ruling, the next case and its ruling. Before a reveal, no widget of the window says what
anyone voted: the text of every visible widget (labels, buttons, table items, list items,
tooltips, text fields) is collected and searched for the pack's label ids and names.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QTableWidget,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACK
from qa_desktop.ui.calibration.screen import CalibrationScreen
from qa_desktop.ui.calibration.session_dialog import SessionDialog
from qa_desktop.ui.calibration.vote_grid import VOTED_COLUMN
from qa_desktop.ui.main_window import MainWindow
from qa_desktop.ui.vote_page.launcher import AddressDialog

from .factory import PASSPHRASE, case_record, introduce, make_workspace, tiny_png, write_batch
from .recording import supporting_citation
from .vote_clients import Client, in_thread
from .windows import answer_dialog, open_window

CTRL, SHIFT, ALT = (
    Qt.KeyboardModifier.ControlModifier,
    Qt.KeyboardModifier.ShiftModifier,
    Qt.KeyboardModifier.AltModifier,
)
CASES = ("t-0", "img-1", "g-2")


@pytest.fixture
def lead(tmp_path: Path) -> Workspace:
    """The SME's workspace: the demo pack; a text case, an image, a graphic image (DE)."""
    ws = Workspace.open(tmp_path / "lead")
    ws.ensure_reviewer("Lead")
    ws.guidelines.import_pack(DEMO_PACK)
    folder = tmp_path / "batch"
    tiny_png(folder / "media" / "a.png", seed=1)
    tiny_png(folder / "media" / "b.png", seed=2)
    records = [
        case_record("t-0", "text", [], tags=[]),
        case_record("img-1", "image", ["media/a.png"], tags=[]),
        case_record("g-2", "image", ["media/b.png"], tags=["graphic"]),
    ]
    ws.batches.import_batch(write_batch(folder, records))
    yield ws
    ws.close()


def pack_words(ws: Workspace) -> set[str]:
    """Every label id and name of the cases' pack (what a vote would show)."""
    case = ws.queue.case("t-0")
    assert case is not None
    labels = ws.guidelines.labels_for(case)
    return {lab.id for lab in labels} | {lab.name for lab in labels}


def visible_texts(window: QWidget, screen: CalibrationScreen) -> list[str]:
    """The text of every visible widget of the window, tooltips included, except the grid's
    column headers (the choices, shown to vote)."""
    texts = [window.windowTitle(), window.toolTip()]
    for widget in window.findChildren(QWidget):
        if not widget.isVisible():
            continue
        texts.append(widget.toolTip())
        if isinstance(widget, (QLabel, QAbstractButton, QLineEdit)):
            texts.append(widget.text())
        elif isinstance(widget, (QPlainTextEdit, QTextEdit)):
            texts.append(widget.toPlainText())
        if isinstance(widget, QTableWidget):
            for row in range(widget.rowCount()):
                head = widget.verticalHeaderItem(row)
                texts += [head.text(), head.toolTip()] if head else []
                for column in range(widget.columnCount()):
                    item = widget.item(row, column)
                    texts += [item.text(), item.toolTip()] if item else []
            if widget is not screen.grid:
                for column in range(widget.columnCount()):
                    head = widget.horizontalHeaderItem(column)
                    texts += [head.text(), head.toolTip()] if head else []
        if isinstance(widget, QListWidget):
            for row in range(widget.count()):
                texts += [widget.item(row).text(), widget.item(row).toolTip()]
    return [t for t in texts if t]


def shown_labels(window: MainWindow, screen: CalibrationScreen, words: set[str]) -> set[str]:
    """The label ids and names any visible widget shows."""
    everything = "\n".join(visible_texts(window, screen))
    return {word for word in words if word in everything}


def fill_dialog(dialog: SessionDialog) -> None:
    """Name the session, take the queue's filter, type three participants, create."""
    filtered = dialog.source.findText("The cases the queue's filter shows")
    assert filtered >= 0
    dialog.source.setCurrentIndex(filtered)
    assert "demo-global" in dialog.pack.text()
    dialog.name.setFocus()
    QtBot.keyClicks(dialog.name, "DE week 46")
    QtBot.keyClicks(dialog.typed, "Ana, Bo, Cy")
    QtBot.keyClick(dialog.typed, Qt.Key.Key_Return)


def yes(box: QMessageBox) -> None:
    box.button(QMessageBox.StandardButton.Yes).click()


def counts(ws: Workspace) -> tuple[int, int]:
    db = ws.database_for_tests()
    return (
        db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0],
        db.execute("SELECT COUNT(*) FROM calibration_events").fetchone()[0],
    )


def reactivate(qtbot: QtBot, window: MainWindow) -> None:
    """After a modal dialog: the window active again (the offscreen platform does not)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def key(qtbot: QtBot, widget: QWidget, k: Qt.Key, mods: Qt.KeyboardModifier | None = None) -> None:
    if mods is None:
        qtbot.keyClick(widget, k)
    else:
        qtbot.keyClick(widget, k, mods)


@pytest.mark.slow
def test_a_whole_live_session_with_keys_and_no_vote_visible_before_reveal(
    qtbot: QtBot, lead: Workspace
) -> None:
    window = open_window(qtbot, lead)
    words = pack_words(lead)
    window.review.apply_filter(QueueFilter(case_ids=CASES))
    key(qtbot, window.review.queue, Qt.Key.Key_C, CTRL | SHIFT)
    screen = window.calibration
    assert screen is not None and window.screens.currentWidget() is screen
    told: list[str] = []  # what a presenter window would hear
    screen.presenter_case_changed.connect(told.append)

    with answer_dialog(qtbot, fill_dialog, kind=SessionDialog):
        key(qtbot, screen.grid, Qt.Key.Key_N, CTRL)
    reactivate(qtbot, window)
    session = lead.calibration.session("DE week 46")
    assert session.case_ids == CASES
    assert [p.name for p in session.participants] == ["Ana", "Bo", "Cy"]
    assert screen.state is not None and screen.state.case_id == "t-0"
    qtbot.waitUntil(lambda: all(s is not None for s in screen.strip.states))
    grid = screen.grid
    assert grid.hasFocus()
    assert not shown_labels(window, screen, words)

    # P puts the presenter on the room's screen; it follows the laptop's case.
    key(qtbot, grid, Qt.Key.Key_P)
    presenter = screen.presenter
    assert presenter is not None and presenter.isVisible() and presenter.isFullScreen()
    assert presenter.state is not None and presenter.state.case_id == "t-0"
    reactivate(qtbot, window)
    grid.setFocus()

    # Ana: digit 2 (vh_remove), Enter. Bo: arrows to column 2, Space. Cy: digit 1, Enter.
    key(qtbot, grid, Qt.Key.Key_2)
    assert (grid.currentRow(), grid.currentColumn()) == (0, 2)
    key(qtbot, grid, Qt.Key.Key_Return)
    assert (grid.currentRow(), grid.currentColumn()) == (1, VOTED_COLUMN)
    assert not grid.selectedItems() or grid.selectedItems()[0].column() == VOTED_COLUMN
    assert screen.status.text() == "1 of 3 voted"
    assert not shown_labels(window, screen, words)
    key(qtbot, grid, Qt.Key.Key_Right)
    key(qtbot, grid, Qt.Key.Key_Right)
    key(qtbot, grid, Qt.Key.Key_Space)
    key(qtbot, grid, Qt.Key.Key_1)
    key(qtbot, grid, Qt.Key.Key_Enter)
    assert screen.status.text() == "3 of 3 voted"
    assert grid.currentColumn() == VOTED_COLUMN
    assert told[-3:] == ["t-0"] * 3  # once per vote
    ticks = [grid.verticalHeaderItem(r).text() for r in range(3)]
    assert ticks == ["✓ Ana", "✓ Bo", "✓ Cy"]
    assert [grid.item(r, VOTED_COLUMN).text() for r in range(3)] == ["✓"] * 3
    assert not shown_labels(window, screen, words), "a vote is visible before the reveal"
    assert presenter.state.voted == 3 and presenter.voted_label.text() == "3 of 3 voted"
    room_texts = " ".join(visible_texts(presenter, screen))
    assert not {w for w in words if w in room_texts}, "the room sees a vote before the reveal"
    assert presenter.chart.bars == [] and screen.chart.bars == []
    assert lead.calibration.case_state(session.id, "t-0").voted == 3
    assert lead.verdicts.mine("t-0") is None  # a vote is nobody's verdict

    # A note typed before the reveal survives a trip to the next case and back.
    key(qtbot, grid, Qt.Key.Key_N)
    assert screen.note_draft.hasFocus()
    qtbot.keyClicks(screen.note_draft, "Weapon visible at 0:03")
    key(qtbot, screen.note_draft, Qt.Key.Key_Escape)
    key(qtbot, grid, Qt.Key.Key_PageDown)
    assert screen.state.case_id == "img-1"
    assert screen.note_draft.toPlainText() == ""
    key(qtbot, grid, Qt.Key.Key_PageUp)
    assert screen.note_draft.toPlainText() == "Weapon visible at 0:03"

    with answer_dialog(qtbot, yes, kind=QMessageBox):
        key(qtbot, grid, Qt.Key.Key_R)
    reactivate(qtbot, window)
    assert screen.state.revealed is not None
    told.clear()
    revealed_words = shown_labels(window, screen, words)
    assert {"vh_remove", "no_violation"} <= revealed_words
    votes = {
        screen.votes_table.item(r, 0).text(): screen.votes_table.item(r, 1).text()
        for r in range(screen.votes_table.rowCount())
    }
    assert votes == {"Ana": "vh_remove", "Bo": "vh_remove", "Cy": "no_violation"}
    assert "vh_remove" in screen.distribution.text()
    for chart in (screen.chart, presenter.chart):
        assert {b.label: b.votes for b in chart.bars if b.votes} == {
            "vh_remove": 2,
            "no_violation": 1,
        }
        assert len(chart.bars) == len(screen.labels)  # every label of the pack, zeros too

    # The note: Ctrl+Enter adds it (never the review's record shortcut).
    key(qtbot, grid, Qt.Key.Key_N)
    key(qtbot, screen.note_draft, Qt.Key.Key_Return, CTRL)
    assert [n.text for n in lead.calibration.case_state(session.id, "t-0").notes] == [
        "Weapon visible at 0:03"
    ]
    assert screen.notes_list.count() == 1 and screen.note_draft.toPlainText() == ""

    # A ruling on an enforcing label without a citation: refused, shown, nothing written.
    before = counts(lead)
    key(qtbot, grid, Qt.Key.Key_2, ALT)
    key(qtbot, grid, Qt.Key.Key_Return, CTRL)
    assert counts(lead) == before
    assert screen.ruling.problem.isVisible()
    assert "citation-required" in screen.ruling.problem.text()
    assert screen.ruling.selected_label() is not None  # the draft is kept
    assert lead.verdicts.final("t-0").status == "open"

    # With the citation the ruling is recorded and becomes the case's final verdict.
    section = supporting_citation(lead, "t-0", "vh_remove")[0].section_id
    key(qtbot, grid, Qt.Key.Key_C)
    assert screen.ruling.citation_field.hasFocus()
    qtbot.keyClicks(screen.ruling.citation_field, section)
    key(qtbot, screen.ruling.citation_field, Qt.Key.Key_Return)
    key(qtbot, grid, Qt.Key.Key_Return, CTRL)
    final = lead.verdicts.final("t-0")
    assert (final.status, final.label) == ("ruled", "vh_remove")
    assert screen.state.ruling is not None and "ruled" in screen.status.text()
    assert told == ["t-0", "t-0"]  # the note, the ruling

    # A vote after the ruling: refused with core's reason, nothing written.
    before = counts(lead)
    grid.setFocus()
    key(qtbot, grid, Qt.Key.Key_1)
    key(qtbot, grid, Qt.Key.Key_Return)
    assert counts(lead) == before
    assert screen.problem.isVisible() and "already-ruled" in screen.problem.text()

    # Next case: the image, blurred, nothing of the last case's votes on screen.
    key(qtbot, grid, Qt.Key.Key_PageDown)
    assert screen.state.case_id == "img-1" and screen.state.voted == 0
    assert told[-1] == "img-1"
    assert presenter.state.case_id == "img-1" and presenter.chart.bars == []
    assert not shown_labels(window, screen, words)
    qtbot.waitUntil(lambda: screen.viewer.image_view.current_image() is not None)
    assert not screen.viewer.image_view.revealed  # blurred by default
    image_view = screen.viewer.image_view
    qtbot.mousePress(image_view, Qt.MouseButton.LeftButton)
    assert not image_view.revealed  # the laptop never reveals
    qtbot.mouseRelease(image_view, Qt.MouseButton.LeftButton)
    qtbot.mousePress(image_view, Qt.MouseButton.LeftButton, SHIFT, image_view.rect().topLeft())
    qtbot.mouseRelease(image_view, Qt.MouseButton.LeftButton, SHIFT, image_view.rect().center())
    assert image_view.regions == [] and image_view.current_image() is not None
    for digit in (Qt.Key.Key_1, Qt.Key.Key_1, Qt.Key.Key_1):
        key(qtbot, grid, digit)
        key(qtbot, grid, Qt.Key.Key_Return)
    assert screen.status.text() == "3 of 3 voted"
    assert not shown_labels(window, screen, words)
    with answer_dialog(qtbot, yes, kind=QMessageBox):
        key(qtbot, grid, Qt.Key.Key_R)
    reactivate(qtbot, window)
    assert "no_violation" in shown_labels(window, screen, words)
    key(qtbot, grid, Qt.Key.Key_1, ALT)
    key(qtbot, grid, Qt.Key.Key_Return, CTRL)
    final = lead.verdicts.final("img-1")
    assert (final.status, final.label) == ("ruled", "no_violation")

    # M shows the image to the room once confirmed (recorded for every participant); the
    # next case is blurred again.
    with answer_dialog(qtbot, yes, kind=QMessageBox):
        key(qtbot, grid, Qt.Key.Key_M)
    reactivate(qtbot, window)
    assert presenter.media_shown_to_room
    shown = lead.calibration.media_reveals(session.id)
    assert [r.case_id for r in shown] == ["img-1"]

    # The graphic case opens on the warning screen; W shows it, still blurred.
    key(qtbot, grid, Qt.Key.Key_PageDown)
    assert screen.viewer.currentWidget() is screen.viewer.warning_view
    key(qtbot, grid, Qt.Key.Key_W)
    qtbot.waitUntil(lambda: screen.viewer.image_view.current_image() is not None)
    assert not screen.viewer.image_view.revealed
    stages = [s.ruling is not None for s in lead.calibration.states(session.id)]
    assert stages == [True, True, False]
    assert lead.verdicts.mine("t-0") is not None  # the ruling is the lead's own event
    assert window.review.case is not None  # the review screen recorded nothing meanwhile
    assert presenter.state.case_id == "g-2" and not presenter.media_shown_to_room

    # A opens the session's agreement report.
    key(qtbot, grid, Qt.Key.Key_A)
    report = screen.report_window
    assert report is not None
    qtbot.waitUntil(lambda: report.report is not None)
    assert report.report.session.id == session.id
    screen.shutdown()
    assert screen.presenter is None


@pytest.fixture
def small(tmp_path: Path) -> Workspace:
    """Reviewer Lead, the demo pack, text cases t-0, t-1, t-2."""
    ws = make_workspace(tmp_path, "Lead", key=False)
    yield ws
    ws.close()


def open_screen(qtbot: QtBot, ws: Workspace) -> tuple[MainWindow, CalibrationScreen]:
    window = open_window(qtbot, ws)
    key(qtbot, window.review.queue, Qt.Key.Key_C, CTRL | SHIFT)
    assert window.calibration is not None
    return window, window.calibration


def test_a_refused_session_says_why_keeps_the_form_and_writes_nothing(
    qtbot: QtBot, small: Workspace
) -> None:
    _window, screen = open_screen(qtbot, small)
    seen: list[str] = []

    def without_participants(dialog: SessionDialog) -> None:
        QtBot.keyClicks(dialog.name, "No people")
        QtBot.keyClick(dialog.name, Qt.Key.Key_Return)
        seen.append(dialog.problem.text())
        assert dialog.isVisible() and dialog.name.text() == "No people"
        dialog.reject()

    with answer_dialog(qtbot, without_participants, kind=SessionDialog):
        key(qtbot, screen.grid, Qt.Key.Key_N, CTRL)
    assert seen and "needs participants" in seen[0]
    assert small.calibration.sessions() == []
    assert screen.session is None


def test_an_anonymous_reveal_names_no_voter(qtbot: QtBot, small: Workspace) -> None:
    session = small.calibration.create(
        "Blind", cases=["t-0"], participants=["Ana", "Bo"], anonymous=True
    )
    small.calibration.vote(session.id, "t-0", "Ana", "sp_reduce")
    small.calibration.vote(session.id, "t-0", "Bo", "no_violation")
    window, screen = open_screen(qtbot, small)
    assert screen.session is not None and screen.session.id == session.id
    assert screen.status.text() == "2 of 2 voted"
    assert not shown_labels(window, screen, pack_words(small))
    with answer_dialog(qtbot, yes, kind=QMessageBox):
        key(qtbot, screen.grid, Qt.Key.Key_R)
    voters = [screen.votes_table.item(r, 0).text() for r in range(2)]
    assert voters == ["Voter 1", "Voter 2"]
    cells = [screen.grid.item(r, c).text() for r in range(2) for c in range(1, 10)]
    assert not any(cells), "an anonymous session's grid must not say who voted what"


def test_an_async_session_on_a_participants_laptop_shows_only_their_row(
    qtbot: QtBot, small: Workspace
) -> None:
    from qa_desktop.core import calibration

    assert small.reviewer is not None
    session = calibration.create_session(
        small.database_for_tests(),
        "the-lead-elsewhere",
        "Shipped",
        cases=["t-0", "t-1"],
        participants=["Bo", "Lead", "Cy"],
        mode="async",
    )
    _window, screen = open_screen(qtbot, small)
    grid = screen.grid
    assert grid.rowCount() == 1 and grid.verticalHeaderItem(0).text().endswith("Lead")
    key(qtbot, grid, Qt.Key.Key_1)
    key(qtbot, grid, Qt.Key.Key_Return)
    state = small.calibration.case_state(session.id, "t-0")
    assert state.voters == ("Lead",)
    assert screen.status.text() == "1 of 3 voted"


def test_a_note_draft_survives_leaving_the_screen_and_a_refused_note_stays(
    qtbot: QtBot, small: Workspace
) -> None:
    small.calibration.create("Notes", cases=["t-0", "t-1"], participants=["Ana"])
    window, screen = open_screen(qtbot, small)
    key(qtbot, screen.grid, Qt.Key.Key_N)
    qtbot.keyClicks(screen.note_draft, "Half a thought")
    key(qtbot, screen.note_draft, Qt.Key.Key_Escape)
    window.show_review()
    key(qtbot, window.review.queue, Qt.Key.Key_C, CTRL | SHIFT)
    assert screen.note_draft.toPlainText() == "Half a thought"
    # A blank note is refused with core's reason; nothing is written.
    screen.note_draft.setPlainText("   ")
    screen.note_draft.setFocus()
    key(qtbot, screen.note_draft, Qt.Key.Key_Return, CTRL)
    assert "empty" in screen.problem.text() and screen.problem.isVisible()
    assert small.calibration.case_state("Notes", "t-0").notes == ()
    assert screen.note_draft.toPlainText() == "   "


def test_a_ruling_draft_stays_with_its_case(qtbot: QtBot, small: Workspace) -> None:
    session = small.calibration.create("Drafts", cases=["t-0", "t-1"], participants=["Ana"])
    small.calibration.vote(session.id, "t-0", "Ana", "no_violation")
    small.calibration.reveal(session.id, "t-0")
    window, screen = open_screen(qtbot, small)
    key(qtbot, screen.grid, Qt.Key.Key_2, ALT)
    screen.ruling.notes.setFocus()
    qtbot.keyClicks(screen.ruling.notes, "Weapon in frame")
    key(qtbot, screen.ruling.notes, Qt.Key.Key_Escape)
    key(qtbot, screen.grid, Qt.Key.Key_PageDown)
    assert screen.ruling.notes.toPlainText() == ""
    window.show_review()
    key(qtbot, window.review.queue, Qt.Key.Key_C, CTRL | SHIFT)
    key(qtbot, screen.grid, Qt.Key.Key_PageUp)
    assert screen.ruling.notes.toPlainText() == "Weapon in frame"
    label = screen.ruling.selected_label()
    assert label is not None and label.id == "vh_remove"
    assert screen.ruling.current.text() == "Not decided yet"  # a draft, not a ruling


def test_a_session_from_a_saved_view_with_a_known_reviewer_ticked(
    qtbot: QtBot, small: Workspace
) -> None:
    small.queue.save_view("two cases", QueueFilter(case_ids=("t-0", "t-1")))
    _window, screen = open_screen(qtbot, small)

    def from_view(dialog: SessionDialog) -> None:
        dialog.source.setCurrentIndex(dialog.source.findText("Saved view: two cases"))
        lead = dialog.known.findItems("Lead", Qt.MatchFlag.MatchExactly)[0]
        lead.setCheckState(Qt.CheckState.Checked)
        QtBot.keyClicks(dialog.name, "From a view")
        QtBot.keyClicks(dialog.typed, "Room guest")
        dialog.mode.setCurrentIndex(dialog.mode.findData("async"))
        QtBot.keyClick(dialog.name, Qt.Key.Key_Return)

    with answer_dialog(qtbot, from_view, kind=SessionDialog):
        key(qtbot, screen.grid, Qt.Key.Key_N, CTRL)
    session = small.calibration.session("From a view")
    assert (session.source, session.case_ids, session.mode) == (
        "view:two cases",
        ("t-0", "t-1"),
        "async",
    )
    assert [(p.name, p.known) for p in session.participants] == [
        ("Lead", True),
        ("Room guest", False),
    ]
    assert screen.session is not None and screen.session.id == session.id
    assert screen.grid.rowCount() == 2  # the arbiter's own laptop shows every row


def _free_port_pair() -> int:
    """A port whose next one is free too (the vote page serves HTTP on P, WebSocket on P+1)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port < 65534:
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise AssertionError("no free pair of ports")


def open_vote_page_on_loopback(qtbot: QtBot, window: MainWindow, screen: CalibrationScreen) -> int:
    """Press V on the grid and answer the address dialog with 127.0.0.1 and a free pair of
    ports; the window active again. Returns the port chosen."""
    port = _free_port_pair()

    def where(dialog: AddressDialog) -> None:
        dialog.address.setEditText("127.0.0.1")
        dialog.port.setValue(port)
        dialog.accept()

    with answer_dialog(qtbot, where, kind=AddressDialog):
        key(qtbot, screen.grid, Qt.Key.Key_V)
    reactivate(qtbot, window)
    return port


def test_the_vote_page_follows_the_screen_and_its_votes_show_as_counts(
    qtbot: QtBot, small: Workspace
) -> None:
    """V serves the live session's page, the presenter shows its join card, a participant's
    vote from a browser shows on the laptop and the presenter as a count only, and the page
    stops with the screen."""
    session = small.calibration.create("room", cases=["t-0", "t-1"], participants=["Ana", "Bo"])
    window, screen = open_screen(qtbot, small)
    assert screen.session is not None and screen.session.id == session.id
    key(qtbot, screen.grid, Qt.Key.Key_P)
    presenter = screen.presenter
    assert presenter is not None and not presenter.join_card.isVisible()
    reactivate(qtbot, window)
    port = open_vote_page_on_loopback(qtbot, window, screen)
    host = screen.vote_page
    assert host is not None and host.running and host.port == port
    assert presenter.join_card.isVisible()
    assert presenter.join_card.code.text() == host.code
    assert presenter.join_card.address.text() == host.url

    ana = Client(host, "127.0.0.1")
    assert in_thread(qtbot, lambda: ana.join("Ana")).status == 200
    assert in_thread(qtbot, lambda: ana.vote("t-0", "vh_remove")).status == 200
    qtbot.waitUntil(lambda: screen.status.text() == "1 of 2 voted", timeout=10_000)
    assert presenter.voted_label.text() == "1 of 2 voted"
    assert "vh_remove" not in " ".join(visible_texts(presenter, screen))

    key(qtbot, screen.grid, Qt.Key.Key_PageDown)  # the page follows the shared screen
    qtbot.waitUntil(lambda: in_thread(qtbot, ana.state).json()["case_id"] == "t-1")
    screen.shutdown()
    assert not host.running and screen.vote_page is None


def ok(box: QMessageBox) -> None:
    box.button(QMessageBox.StandardButton.Ok).click()


@pytest.mark.slow
def test_an_async_session_across_three_laptops_in_the_gui(qtbot: QtBot, tmp_path: Path) -> None:
    """The lead ships an async session from the screen (S), Ana and Bo import it and vote on
    their own laptops' grids (only their own row), their signed bundles bring the votes back,
    and the lead's screen counts them, reveals and rules."""
    lead = make_workspace(tmp_path, "Lead", cases=3)
    ana = make_workspace(tmp_path, "Ana", cases=0)
    bo = make_workspace(tmp_path, "Bo", cases=3)
    for participant in (ana, bo):
        introduce(lead, participant)
        introduce(participant, lead, role="lead")
    session = lead.calibration.create(
        "Async DE", cases=["t-0", "t-1"], participants=["Ana", "Bo"], mode="async"
    )
    window, screen = open_screen(qtbot, lead)
    asked: list[str] = []
    screen.ship_requested.connect(asked.append)
    screen.ship_requested.disconnect(window.ship_calibration)  # the folder: given below
    key(qtbot, screen.grid, Qt.Key.Key_S)
    assert asked == [session.id]
    with answer_dialog(qtbot, ok, kind=QMessageBox):
        shipped = window.ship_calibration(session.id, tmp_path / "shipped", PASSPHRASE)
    assert shipped is not None and shipped.exists()
    reactivate(qtbot, window)

    bundles: list[Path] = []
    for ws, digit in ((ana, Qt.Key.Key_2), (bo, Qt.Key.Key_1)):
        ws.batches.import_batch(shipped, trust_unsigned=False)  # File ▸ Import's core path
        laptop, their_screen = open_screen(qtbot, ws)
        assert their_screen.session is not None and their_screen.session.id == session.id
        grid = their_screen.grid
        assert grid.rowCount() == 1  # only their own row: nobody else's votes are here
        key(qtbot, grid, digit)
        key(qtbot, grid, Qt.Key.Key_Return)
        assert their_screen.status.text() == "1 of 2 voted"
        assert ws.reviewer is not None
        assert ws.calibration.case_state(session.id, "t-0").voters == (ws.reviewer.display_name,)
        exported = ws.bundles.export(ws.trust.identity(PASSPHRASE), tmp_path / "outbox")
        assert exported is not None
        bundles += list(exported.paths)
        laptop.close()

    for path in [*bundles, *bundles]:  # twice: attached once
        lead.bundles.import_files([path])
    screen.open_screen()
    assert screen.status.text() == "2 of 2 voted"
    assert not shown_labels(window, screen, pack_words(lead))  # counts only before reveal
    with answer_dialog(qtbot, yes, kind=QMessageBox):
        key(qtbot, screen.grid, Qt.Key.Key_R)
    reactivate(qtbot, window)
    votes = {
        screen.votes_table.item(r, 0).text(): screen.votes_table.item(r, 1).text()
        for r in range(screen.votes_table.rowCount())
    }
    assert votes == {"Ana": "vh_remove", "Bo": "no_violation"}
    key(qtbot, screen.grid, Qt.Key.Key_1, ALT)
    key(qtbot, screen.grid, Qt.Key.Key_Return, CTRL)
    final = lead.verdicts.final("t-0")
    assert (final.status, final.label) == ("ruled", "no_violation")
    for ws in (ana, bo):
        ws.close()


def test_ctrl_page_keys_move_between_sessions(qtbot: QtBot, small: Workspace) -> None:
    first = small.calibration.create("first", cases=["t-0"], participants=["Ana"])
    second = small.calibration.create("second", cases=["t-1"], participants=["Bo"])
    _window, screen = open_screen(qtbot, small)
    assert screen.session is not None and screen.session.id == second.id  # the newest
    key(qtbot, screen.grid, Qt.Key.Key_PageUp, CTRL)
    assert screen.session.id == first.id and screen.state is not None
    assert screen.state.case_id == "t-0" and screen.grid.hasFocus()
    key(qtbot, screen.grid, Qt.Key.Key_PageUp, CTRL)  # stays on the first
    assert screen.session.id == first.id
    key(qtbot, screen.grid, Qt.Key.Key_PageDown, CTRL)
    assert screen.session.id == second.id
