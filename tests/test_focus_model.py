"""The review loop never loses a keystroke: every key goes to the widget that has focus, as a
reviewer types it, and every field says how you leave it (issue 10).

Keys here are sent to whatever widget has focus at that moment (``QApplication.focusWidget``),
never to a widget the test picks, so a key that lands in the wrong place shows up as such.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from qa_desktop.core.verdicts import record_verdict
from qa_desktop.core.workspace import Workspace
from qa_desktop.demo import DEMO_PACKS
from qa_desktop.ui.main_window import MainWindow

from .factory import case_record, write_batch
from .windows import answer_dialog, note_and_close, open_window

NO = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def demo(workspace: Workspace, demo_batch: Path) -> Workspace:
    """Every demo pack and the demo batch (62 cases in DE, FR, BR and ID)."""
    workspace.guidelines.import_packs(DEMO_PACKS)
    workspace.batches.import_batch(demo_batch)
    return workspace


def focused(window: MainWindow) -> QWidget:
    return QApplication.focusWidget() or window


def press(
    qtbot: QtBot, window: MainWindow, key: Qt.Key, modifier: Qt.KeyboardModifier = NO
) -> None:
    """One key, as the reviewer presses it: to the widget with focus."""
    qtbot.keyClick(focused(window), key, modifier)


def type_text(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """Type ``text`` a character at a time, each to the widget with focus then."""
    for char in text:
        qtbot.keyClicks(focused(window), char)


def typing(window: MainWindow) -> bool:
    return isinstance(focused(window), QLineEdit | QPlainTextEdit | QTextEdit)


def on_case(qtbot: QtBot, window: MainWindow, case_id: str) -> None:
    window.review.open_case_by_id(case_id)
    assert window.review.case is not None and window.review.case.id == case_id
    window.review.leave_text_input()


def test_after_enter_adds_a_citation_keys_drive_the_review_loop_again(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-007")
    press(qtbot, window, Qt.Key.Key_3)
    press(qtbot, window, Qt.Key.Key_C)
    assert focused(window) is window.review.panel.citation_field
    assert "Esc" in window.review.panel.typing_hint.text()  # the field says how to leave it
    type_text(qtbot, window, "vh-2.1")
    press(qtbot, window, Qt.Key.Key_Return)
    assert not typing(window)
    assert window.review.panel.citation_field.text() == ""
    press(qtbot, window, Qt.Key.Key_N)
    assert focused(window) is window.review.panel.notes
    type_text(qtbot, window, "repro note")
    press(qtbot, window, Qt.Key.Key_Return, CTRL)

    event = demo.verdicts.mine("demo-007")
    assert event is not None and event.label == "vh_age_restrict"
    assert event.notes == "repro note"
    assert [c.section_id for c in event.citations] == ["VH-2.1"]
    assert window.review.case is not None and window.review.case.id == "demo-008"
    assert not typing(window)


def test_ctrl_enter_with_a_half_typed_citation_adds_the_highlighted_section(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-009")
    press(qtbot, window, Qt.Key.Key_1)
    press(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, window, "news")
    highlighted = window.review.panel.suggestions.currentItem()
    assert highlighted is not None and highlighted.text().startswith("VH-3.1")
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    event = demo.verdicts.mine("demo-009")
    assert event is not None and [c.section_id for c in event.citations] == ["VH-3.1"]


def test_ctrl_enter_with_a_citation_that_matches_nothing_refuses_and_keeps_it(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-009")
    press(qtbot, window, Qt.Key.Key_1)
    press(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, window, "zzqx")
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    panel = window.review.panel
    assert demo.verdicts.mine("demo-009") is None
    assert window.review.case is not None and window.review.case.id == "demo-009"
    assert panel.problem.isVisible() and "zzqx" in panel.problem.text()
    assert panel.citation_field.text() == "zzqx"


def test_a_localized_market_cites_the_section_whose_global_wording_matched(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-014")  # FR: the overlay retitled VH-2.1 in French
    press(qtbot, window, Qt.Key.Key_2)  # vh_remove
    press(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, window, "wounds")
    first = window.review.panel.suggestions.item(0)
    assert first is not None and first.text().startswith("VH-2.1")
    assert "global" in first.text()  # says which wording matched
    press(qtbot, window, Qt.Key.Key_Escape)
    press(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, window, "plaies")
    first = window.review.panel.suggestions.item(0)
    assert first is not None and first.text().startswith("VH-2.1") and "FR" in first.text()
    press(qtbot, window, Qt.Key.Key_Return)
    cited = [c for c, _ in window.review.panel._citations]
    assert [(c.pack_id, c.section_id) for c in cited] == [("demo-fr", "VH-2.1")]


def test_keys_in_the_guideline_browser_never_move_the_queue(qtbot: QtBot, demo: Workspace) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-005")
    press(qtbot, window, Qt.Key.Key_B)
    press(qtbot, window, Qt.Key.Key_Slash)
    assert focused(window) is window.browser.search
    type_text(qtbot, window, "recovery")
    press(qtbot, window, Qt.Key.Key_Down)
    assert window.review.case is not None and window.review.case.id == "demo-005"
    press(qtbot, window, Qt.Key.Key_Down)
    press(qtbot, window, Qt.Key.Key_Down)
    assert window.review.case.id == "demo-005"
    current = window.browser.tree.currentItem()
    assert current is not None
    press(qtbot, window, Qt.Key.Key_Return)
    assert window.review.case.id == "demo-005"
    assert len(window.review.panel._citations) == 1
    press(qtbot, window, Qt.Key.Key_Escape)
    assert not typing(window)
    press(qtbot, window, Qt.Key.Key_J)
    assert window.review.case.id == "demo-006"


def test_opening_the_guidelines_never_leaves_keys_in_the_citation_field(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    window.resize(1366, 768)
    window.review.set_sizes(1366)
    queue = window.review.queue
    rect = queue.visualRect(window.review.model.index(2, 1))
    qtbot.mouseClick(queue.viewport(), Qt.MouseButton.LeftButton, NO, rect.center())
    assert window.review.case is not None and window.review.case.id == "demo-003"
    press(qtbot, window, Qt.Key.Key_B)
    assert window.guideline_dock.isVisible()
    assert not typing(window)
    press(qtbot, window, Qt.Key.Key_J)
    press(qtbot, window, Qt.Key.Key_J)
    assert window.review.panel.citation_field.text() == ""
    assert window.review.case.id == "demo-005"
    press(qtbot, window, Qt.Key.Key_B)
    assert not typing(window)
    press(qtbot, window, Qt.Key.Key_K)
    assert window.review.case.id == "demo-004"


def test_a_citation_is_removed_by_key(qtbot: QtBot, demo: Workspace) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-007")
    panel = window.review.panel
    for words in ("vh-2.1", "vh-3.1"):
        press(qtbot, window, Qt.Key.Key_C)
        type_text(qtbot, window, words)
        press(qtbot, window, Qt.Key.Key_Return)
    assert panel.citation_list.count() == 2
    press(qtbot, window, Qt.Key.Key_Backspace)  # the selected one: the newest
    assert [c.section_id for c, _ in panel._citations] == ["VH-2.1"]
    press(qtbot, window, Qt.Key.Key_C)
    press(qtbot, window, Qt.Key.Key_Backspace, CTRL)  # in the (empty) field
    assert panel._citations == []
    assert focused(window) is panel.citation_field
    type_text(qtbot, window, "vh-2")
    press(qtbot, window, Qt.Key.Key_Backspace, CTRL)  # with words typed: deletes a word
    assert panel.citation_field.text() == "vh-"


def test_a_refused_verdict_says_why_in_the_panel_and_keeps_the_draft(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-007")
    press(qtbot, window, Qt.Key.Key_2)  # vh_remove, enforcing: needs a citation
    press(qtbot, window, Qt.Key.Key_N)
    type_text(qtbot, window, "keep me")
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    panel = window.review.panel
    assert demo.verdicts.mine("demo-007") is None
    assert panel.problem.isVisible()
    assert "citation" in panel.problem.text().lower()
    assert panel.notes.toPlainText() == "keep me"
    assert panel.selected_label() is not None and panel.selected_label().id == "vh_remove"  # type: ignore[union-attr]
    press(qtbot, window, Qt.Key.Key_Escape)
    press(qtbot, window, Qt.Key.Key_C)
    type_text(qtbot, window, "vh-2.3")
    press(qtbot, window, Qt.Key.Key_Return)
    assert not panel.problem.isVisible()  # a citation answers it
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    event = demo.verdicts.mine("demo-007")
    assert event is not None and event.notes == "keep me"


# -- stale or wrong state ---------------------------------------------------------------------


def test_under_the_open_filter_a_recorded_case_leaves_and_the_count_follows(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    bar = window.review.filter_bar
    bar.status.setCurrentIndex(bar.status.findData("open"))
    on_case(qtbot, window, "demo-003")
    assert "case 3 of 62" in window.status.text()
    press(qtbot, window, Qt.Key.Key_1)
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    assert demo.verdicts.mine("demo-003") is not None
    assert window.review.case is not None and window.review.case.id == "demo-004"
    assert window.review.model.row_of("demo-003") is None
    assert all(
        window.review.model.case_id_at(r) != "demo-003"
        for r in range(window.review.model.rowCount())
    )
    assert "case 3 of 61" in window.status.text()
    press(qtbot, window, Qt.Key.Key_K)  # back over the gap: the case before
    assert window.review.case.id == "demo-002"


def test_after_undo_the_header_shows_the_outcome_now(qtbot: QtBot, demo: Workspace) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-003")  # frontline: no_violation
    press(qtbot, window, Qt.Key.Key_1)
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    press(qtbot, window, Qt.Key.Key_K)
    assert "QA outcome: <b>agree" in window.review.header.text()
    press(qtbot, window, Qt.Key.Key_U)
    assert demo.verdicts.mine("demo-003") is None or not demo.verdicts.mine("demo-003").label  # type: ignore[union-attr]
    assert "agree" not in window.review.header.text()
    assert "not decided" in window.review.header.text()


def test_importing_a_batch_keeps_the_queue_position(
    qtbot: QtBot, demo: Workspace, tmp_path: Path
) -> None:
    window = open_window(qtbot, demo)
    on_case(qtbot, window, "demo-026")
    records = [case_record(f"zz-{i}", "text", [], tags=[]) for i in range(2)]
    with answer_dialog(qtbot, note_and_close([]), kind=QMessageBox):
        window.import_batch(write_batch(tmp_path / "more", records, batch_id="more"), True)
    assert window.review.case is not None and window.review.case.id == "demo-026"
    assert window.review.current_row() == window.review.model.row_of("demo-026")
    assert "case 26 of 64" in window.status.text()
    press(qtbot, window, Qt.Key.Key_J)
    assert window.review.case.id == "demo-027"


def test_the_verdict_column_names_whose_verdicts_it_shows(qtbot: QtBot, demo: Workspace) -> None:
    demo.database_for_tests()["reviewers"].insert(
        {"id": "r-ana", "display_name": "Ana", "created_at": "2026-11-25T00:00:00Z"}
    )
    record_verdict(
        demo.database_for_tests(), case_id="demo-003", reviewer_id="r-ana", label="no_violation"
    )
    window = open_window(qtbot, demo)
    model = window.review.model
    title = model.headerData(5, Qt.Orientation.Horizontal)
    assert title == "My verdict"
    bar = window.review.filter_bar
    bar.reviewer.setCurrentIndex(bar.reviewer.findData("r-ana"))
    assert model.headerData(5, Qt.Orientation.Horizontal) == "Ana's verdict"
    bar.clear()
    assert model.headerData(5, Qt.Orientation.Horizontal) == "My verdict"


def test_home_end_page_keys_and_next_undecided_move_through_the_queue(
    qtbot: QtBot, demo: Workspace
) -> None:
    window = open_window(qtbot, demo)
    review = window.review

    def at() -> str:
        assert review.case is not None
        return review.case.id

    on_case(qtbot, window, "demo-010")
    press(qtbot, window, Qt.Key.Key_End)
    assert at() == "demo-062"
    press(qtbot, window, Qt.Key.Key_Home)
    assert at() == "demo-001"
    press(qtbot, window, Qt.Key.Key_PageDown)
    page = review.page_rows()
    assert page > 1 and review.current_row() == page
    press(qtbot, window, Qt.Key.Key_PageUp)
    assert at() == "demo-001"

    for case_id in ("demo-002", "demo-003", "demo-005"):
        record_verdict(
            demo.database_for_tests(),
            case_id=case_id,
            reviewer_id=demo.reviewer.id,  # type: ignore[union-attr]
            label="no_violation",
        )
    window.changes.verdicts("demo-002", "demo-003", "demo-005")
    press(qtbot, window, Qt.Key.Key_A)
    assert at() == "demo-004"
    press(qtbot, window, Qt.Key.Key_A)
    assert at() == "demo-006"
    # the keys run from the review loop only: typed into a field they stay text
    press(qtbot, window, Qt.Key.Key_N)
    press(qtbot, window, Qt.Key.Key_End)
    press(qtbot, window, Qt.Key.Key_Home)
    assert at() == "demo-006"
    press(qtbot, window, Qt.Key.Key_Escape)
    assert not typing(window)
    press(qtbot, window, Qt.Key.Key_End)
    assert at() == "demo-062"
