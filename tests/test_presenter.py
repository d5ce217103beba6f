"""The calibration presenter (issue 11): the room's screen of a live session.

Real data directories, real rendered media, the real window driven by real key events.
"No vote visible before the reveal" is checked on the text of every widget of the window
and on the pixels of the chart, for two vote sets of the same count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QLabel, QMessageBox, QTextBrowser
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import RefusalReason, Refused, VerdictDraft
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.calibration.distribution_chart import Bar, chart_bars
from qa_desktop.ui.calibration.presenter import (
    PresenterWindow,
    case_text_px,
    pick_projector,
)

from .factory import case_record, make_workspace, tiny_png, write_batch
from .recording import supporting_citation
from .windows import answer_dialog

LABELS = (
    "no_violation",
    "vh_remove",
    "vh_age_restrict",
    "hs_remove",
    "an_remove",
    "an_age_restrict",
    "hb_remove",
    "sh_remove",
    "sp_reduce",
)
PEOPLE = ["Ana", "<b>Bo</b>", "Cy"]
CASE_TEXT = "Look at <b>this</b> & <img src='x'> now"


def room_workspace(root: Path, name: str) -> Workspace:
    """A lead's workspace with the demo pack and cases: txt-1 (text with markup-like
    characters), img-1 and img-2 (images), sev-1 (an image tagged graphic)."""
    ws = make_workspace(root, name, cases=0, key=False)
    folder = root / f"batch-{name}"
    for i in (1, 2, 3):
        tiny_png(folder / "media" / f"img{i}.png", seed=i, width=320, height=240)
    records = [
        case_record("txt-1", "text", [], text=CASE_TEXT, tags=[]),
        case_record("img-1", "image", ["media/img1.png"], text="A caption", tags=[]),
        case_record("img-2", "image", ["media/img2.png"], tags=[]),
        case_record("sev-1", "image", ["media/img3.png"], text="Graphic post", tags=["graphic"]),
    ]
    ws.batches.import_batch(write_batch(folder, records))
    return ws


@pytest.fixture
def lead(tmp_path: Path) -> Workspace:
    ws = room_workspace(tmp_path, "Lead")
    yield ws
    ws.close()


def open_presenter(
    qtbot: QtBot, ws: Workspace, session_id: str, size: tuple[int, int] = (1280, 720)
) -> PresenterWindow:
    """A shown, active presenter window of ``size``."""
    window = PresenterWindow(ws, session_id)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    return window


def widget_texts(window: PresenterWindow) -> list[str]:
    """The text of every label and text view of the window (the timer's aside: it shows
    time, not votes), and the window's title."""
    texts = [window.windowTitle()]
    texts += [w.text() for w in window.findChildren(QLabel) if w.objectName() != "caseTimer"]
    texts += [w.toPlainText() for w in window.findChildren(QTextBrowser)]
    return texts


def chart_pixels(window: PresenterWindow) -> QImage:
    return window.chart.grab().toImage()


def wait_rendered(qtbot: QtBot, window: PresenterWindow) -> None:
    window.renderer.wait()
    qtbot.waitUntil(lambda: window.media.rendered is not None)


def vote_session(ws: Workspace, votes: dict[str, str], anonymous: bool = False) -> str:
    session = ws.calibration.create(
        "DE week 49", cases=["txt-1", "img-1"], participants=PEOPLE, anonymous=anonymous
    )
    for who, label in votes.items():
        cited = supporting_citation(ws, "txt-1", label)
        ws.calibration.vote(session.id, "txt-1", who, label, cited)
    return session.id


# -- the chart's bars, without pixels ----------------------------------------------------------


def test_the_chart_has_no_bars_before_the_reveal_and_every_label_after(lead: Workspace) -> None:
    session = vote_session(lead, {"Ana": "vh_remove", "Cy": "vh_remove"})
    labels = list(LABELS)
    before = lead.calibration.case_state(session, "txt-1")
    assert chart_bars(before, labels) == []
    after = lead.calibration.reveal(session, "txt-1")
    bars = chart_bars(after, labels)
    assert [b.label for b in bars] == labels  # every label of the pack, zero votes too
    assert {b.label: b.votes for b in bars if b.votes} == {"vh_remove": 2}
    assert not any(b.ruled for b in bars)
    lead.calibration.rule(
        session, "txt-1", VerdictDraft("vh_remove", supporting_citation(lead, "txt-1", "vh_remove"))
    )
    ruled = chart_bars(lead.calibration.case_state(session, "txt-1"), labels)
    assert [b for b in ruled if b.ruled] == [Bar("vh_remove", 2, True)]


# -- no vote visible before the reveal ---------------------------------------------------------


def test_no_vote_is_visible_before_the_reveal_in_text_or_pixels(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Two rooms, the same people voted, different labels: the windows' text and the chart's
    pixels are identical before the reveal, and differ after it."""
    one = room_workspace(tmp_path, "One")
    two = room_workspace(tmp_path, "Two")
    try:
        s1 = vote_session(one, {"Ana": "vh_remove", "<b>Bo</b>": "no_violation"})
        s2 = vote_session(two, {"Ana": "hs_remove", "<b>Bo</b>": "hs_remove"})
        w1 = open_presenter(qtbot, one, s1)
        w2 = open_presenter(qtbot, two, s2)
        assert w1.chart.size() == w2.chart.size()

        texts = widget_texts(w1)
        assert texts == widget_texts(w2)
        shown = "\n".join(texts)
        assert "2 of 3 voted" in shown
        assert "Voted: Ana, <b>Bo</b>" in shown  # who, in the session's order, never what
        assert not [label for label in LABELS if label in shown], shown
        assert chart_pixels(w1) == chart_pixels(w2)

        one.calibration.reveal(s1, "txt-1")
        two.calibration.reveal(s2, "txt-1")
        w1.refresh()
        w2.refresh()
        assert widget_texts(w1) != widget_texts(w2)
        assert chart_pixels(w1) != chart_pixels(w2)
        after = "\n".join(widget_texts(w1))
        assert "Ana: vh_remove" in after
        assert "<b>Bo</b>: no_violation — no section cited" in after
    finally:
        one.close()
        two.close()


def test_an_anonymous_room_sees_participant_numbers_then_voters(
    qtbot: QtBot, lead: Workspace
) -> None:
    session = vote_session(lead, {"Ana": "vh_remove", "Cy": "no_violation"}, anonymous=True)
    window = open_presenter(qtbot, lead, session)
    shown = "\n".join(widget_texts(window))
    assert "Voted: participant 1, participant 3" in shown
    assert "Waiting for: participant 2" in shown
    assert not [name for name in PEOPLE if name in shown]
    lead.calibration.reveal(session, "txt-1")
    window.refresh()
    shown = "\n".join(widget_texts(window))
    assert "Voter 1: no_violation" in shown and "Voter 2: vh_remove" in shown
    assert not [name for name in PEOPLE if name in shown]


def test_the_ruling_shows_with_its_citations_and_marks_its_bar(
    qtbot: QtBot, lead: Workspace
) -> None:
    session = vote_session(lead, {"Ana": "vh_remove"})
    window = open_presenter(qtbot, lead, session)
    assert not window.ruling_label.isVisible()
    lead.calibration.reveal(session, "txt-1")
    cited = supporting_citation(lead, "txt-1", "vh_remove")
    lead.calibration.rule(session, "txt-1", VerdictDraft("vh_remove", cited))
    window.refresh()
    assert window.ruling_label.isVisible()
    assert window.ruling_label.text() == f"Ruling: vh_remove — § {cited[0].section_id}"
    assert [b.label for b in window.chart.bars if b.ruled] == ["vh_remove"]


def test_text_from_outside_is_shown_as_plain_text(qtbot: QtBot, lead: Workspace) -> None:
    session = vote_session(lead, {"<b>Bo</b>": "no_violation"})
    window = open_presenter(qtbot, lead, session)
    assert window.case_text.toPlainText() == CASE_TEXT
    assert window.voters_label.textFormat() == Qt.TextFormat.PlainText
    assert "Voted: <b>Bo</b>" in window.voters_label.text()
    labels = window.findChildren(QLabel)
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in labels)


# -- type size ------------------------------------------------------------------------------------


def test_type_is_large_at_1080p_readable_at_768_and_follows_ctrl_plus_minus(
    qtbot: QtBot, lead: Workspace
) -> None:
    session = vote_session(lead, {})
    window = open_presenter(qtbot, lead, session, size=(1920, 1080))
    assert window.case_text.font().pixelSize() >= 28  # 30 px
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window.height() == 768)
    small = window.case_text.font().pixelSize()
    assert small >= 20  # 21 px: readable from a few metres on a 768-line projector
    hint = window.layout().minimumSize()
    assert hint.width() <= 1366 and hint.height() <= 768  # nothing cut off

    qtbot.keyClick(window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    larger = window.case_text.font().pixelSize()
    assert larger > small
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.case_text.font().pixelSize() < small
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.case_text.font().pixelSize() == small
    assert case_text_px(1080) == 30 and case_text_px(768) == 21


def test_a_long_list_of_votes_scrolls_instead_of_growing_past_the_screen(
    qtbot: QtBot, lead: Workspace
) -> None:
    people = [f"Participant with a long name {i}" for i in range(40)]
    session = lead.calibration.create("Big room", cases=["txt-1"], participants=people)
    for who in people:
        lead.calibration.vote(session.id, "txt-1", who, "no_violation")
    lead.calibration.reveal(session.id, "txt-1")
    window = open_presenter(qtbot, lead, session.id, size=(1366, 768))
    assert window.votes_label.text().count("no_violation") == 40
    hint = window.layout().minimumSize()
    assert hint.height() <= 768 and hint.width() <= 1366


def test_the_presenter_goes_on_the_projector_full_screen(qtbot: QtBot, lead: Workspace) -> None:
    assert pick_projector(["laptop", "projector"], "laptop") == "projector"
    assert pick_projector(["projector", "laptop"], "laptop") == "projector"
    assert pick_projector(["laptop"], "laptop") == "laptop"
    window = PresenterWindow(lead, vote_session(lead, {}))
    qtbot.addWidget(window)
    screen = QGuiApplication.primaryScreen()
    window.place_on(screen)
    qtbot.waitUntil(window.isFullScreen)
    assert window.screen() is screen


# -- media: blurred, shown to the room only when confirmed ---------------------------------------


def exposure_rows(ws: Workspace, case_id: str) -> int:
    db = ws.database_for_tests()
    return int(
        db.execute("SELECT COUNT(*) FROM exposure WHERE case_id = ?", [case_id]).fetchone()[0]
    )


def press(button: QMessageBox.StandardButton) -> Callable[[QMessageBox], None]:
    """An answer for :func:`answer_dialog` that clicks ``button``."""
    return lambda box: box.button(button).click()


def test_media_are_blurred_and_shown_to_the_room_only_when_confirmed(
    qtbot: QtBot, lead: Workspace
) -> None:
    session = lead.calibration.create("Media", cases=["img-1", "img-2"], participants=["Ana", "Bo"])
    window = open_presenter(qtbot, lead, session.id)
    wait_rendered(qtbot, window)
    rendered = window.media.rendered
    assert rendered is not None and rendered.sharp is not None and rendered.blurred is not None
    assert window.media.current_image() is rendered.blurred
    blurred_pixels = window.media.grab().toImage()

    with answer_dialog(qtbot, press(QMessageBox.StandardButton.No), kind=QMessageBox):
        assert window.reveal_media_to_room() is False
    assert window.media.current_image() is rendered.blurred
    assert window.media.grab().toImage() == blurred_pixels
    assert lead.calibration.media_reveals(session.id) == []
    assert exposure_rows(lead, "img-1") == 0

    with answer_dialog(qtbot, press(QMessageBox.StandardButton.Yes), kind=QMessageBox):
        assert window.reveal_media_to_room() is True
    assert window.media.current_image() is rendered.sharp
    assert window.media.grab().toImage() != blurred_pixels
    [shown] = lead.calibration.media_reveals(session.id)
    assert (shown.case_id, shown.participants) == (
        "img-1",
        tuple(p.id for p in session.participants),
    )
    assert window.reveal_media_to_room() is True  # already shown: no second question

    window.show_case("img-2")
    assert exposure_rows(lead, "img-1") == 1  # the local reviewer's span, kept on leaving
    assert not window.media.revealed and not window.media_shown_to_room
    wait_rendered(qtbot, window)
    second = window.media.rendered
    assert second is not None and second.case_id == "img-2"
    assert window.media.current_image() is second.blurred
    window.show_case("img-1")  # coming back: blurred again too
    wait_rendered(qtbot, window)
    assert not window.media.revealed
    back = window.media.rendered
    assert back is not None and window.media.current_image() is back.blurred


def test_a_graphic_case_stays_behind_the_warning_screen(qtbot: QtBot, lead: Workspace) -> None:
    session = lead.calibration.create("Severe", cases=["sev-1"], participants=["Ana"])
    window = open_presenter(qtbot, lead, session.id)
    wait_rendered(qtbot, window)
    assert window.media.warning_tags == ("graphic",)
    assert window.media.current_image() is None  # neither blurred nor sharp pixels
    assert "Graphic post" not in window.case_text.toPlainText()
    assert "hidden from the room" in window.case_text.toPlainText()
    with answer_dialog(qtbot, press(QMessageBox.StandardButton.Yes), kind=QMessageBox):
        assert window.reveal_media_to_room() is True
    rendered = window.media.rendered
    assert rendered is not None and window.media.current_image() is rendered.sharp
    assert window.case_text.toPlainText() == "Graphic post"


def test_a_text_case_has_nothing_to_show_the_room(qtbot: QtBot, lead: Workspace) -> None:
    window = open_presenter(qtbot, lead, vote_session(lead, {}))
    assert window.reveal_media_to_room() is False  # no question asked: nothing is hidden
    assert not window.media.isVisible()


# -- core: the room's exposure record -------------------------------------------------------------


def test_showing_media_to_the_room_is_recorded_for_every_participant(lead: Workspace) -> None:
    session = lead.calibration.create("Core", cases=["img-1"], participants=["Ana", "Bo"])
    first = lead.calibration.reveal_media_to_room(session.id, "img-1")
    second = lead.calibration.reveal_media_to_room("Core", "img-1")
    assert lead.calibration.media_reveals(session.id) == [first, second]
    assert first.participants == tuple(p.id for p in session.participants)
    assert first.author_id == session.arbiter_id


def test_showing_a_case_outside_the_session_is_refused_and_writes_nothing(
    lead: Workspace,
) -> None:
    session = lead.calibration.create("Core", cases=["img-1"], participants=["Ana"])
    with pytest.raises(Refused) as caught:
        lead.calibration.reveal_media_to_room(session.id, "img-2")
    assert caught.value.reason == RefusalReason.NOT_IN_SESSION
    with pytest.raises(Refused) as unknown:
        lead.calibration.reveal_media_to_room("no such session", "img-1")
    assert unknown.value.reason == RefusalReason.UNKNOWN_SESSION
    assert lead.calibration.media_reveals(session.id) == []
    lead.calibration.reveal_media_to_room(session.id, "img-1")
    db = lead.database_for_tests()
    for statement in (
        "UPDATE calibration_media_reveals SET case_id = 'img-2'",
        "DELETE FROM calibration_media_reveals",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)
    assert len(lead.calibration.media_reveals(session.id)) == 1
