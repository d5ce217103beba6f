"""The test harness itself: ``answer_dialog`` answers in order and fails, never hangs."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from .windows import answer_dialog, note_and_close


def ask(parent: QWidget, text: str) -> int:
    box = QMessageBox(QMessageBox.Icon.Question, "Question", text, parent=parent)
    return box.exec()


@pytest.fixture
def parent(qtbot: QtBot) -> QWidget:
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def test_dialogs_are_answered_in_order(qtbot: QtBot, parent: QWidget) -> None:
    texts: list[str] = []
    with answer_dialog(
        qtbot, note_and_close(texts), note_and_close(texts), kind=QMessageBox
    ) as answered:
        ask(parent, "first")
        ask(parent, "second")
    assert texts == ["first", "second"] and len(answered) == 2


def test_no_dialog_fails_with_a_clear_message(qtbot: QtBot) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match=r"no QMessageBox \(dialog 1 of 1\) came up"),
        answer_dialog(qtbot, note_and_close([]), kind=QMessageBox, timeout_ms=200),
    ):
        pass


def test_an_unexpected_dialog_is_closed_and_fails(qtbot: QtBot, parent: QWidget) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match="expected no more than 0 dialog"),
        answer_dialog(qtbot, timeout_ms=200),
    ):
        ask(parent, "nobody answers this")  # returns: the watch closed it


def test_a_dialog_of_another_kind_is_closed_and_fails(qtbot: QtBot, parent: QWidget) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match=r"expected QMessageBox .* QInputDialog"),
        answer_dialog(qtbot, note_and_close([]), kind=QMessageBox, timeout_ms=200),
    ):
        QInputDialog.getText(parent, "Name", "Your name:")


def test_a_dialog_left_open_by_its_answer_is_closed_and_fails(
    qtbot: QtBot, parent: QWidget
) -> None:
    with (
        pytest.raises(pytest.fail.Exception, match="still open 200 ms after its answer"),
        answer_dialog(qtbot, lambda box: None, timeout_ms=200),
    ):
        ask(parent, "left open")


def test_a_failing_answer_fails_the_test_with_its_own_error(qtbot: QtBot, parent: QWidget) -> None:
    def wrong(box: QMessageBox) -> None:
        assert box.text() == "something else"

    with (
        pytest.raises(AssertionError, match="something else"),
        answer_dialog(qtbot, wrong, timeout_ms=200),
    ):
        ask(parent, "the question")
