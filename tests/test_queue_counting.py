"""Under a filter the queue's count and a case's position are worked out by the model's
worker thread (its own connection), never on the GUI thread: the first page shows at once,
the other rows when the count arrives, and an answer to an older filter is dropped. The
GUI connection's statements are traced to prove no count runs on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import QueueFilter
from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.queue_view import PAGE_SIZE, QueueModel

from .factory import make_workspace
from .windows import open_window

CASES = 450
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def many(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path, "many", cases=CASES)
    yield ws
    ws.close()


@pytest.fixture
def counts_on_gui(many: Workspace) -> Iterator[list[str]]:
    """Every COUNT statement run on the GUI thread's connection while the test runs."""
    seen: list[str] = []
    many.queue.count()  # the room checks once that the seqs are dense (one count at open)
    conn = many.database_for_tests().conn
    conn.set_trace_callback(lambda sql: seen.append(sql) if "COUNT(" in sql.upper() else None)
    yield seen
    conn.set_trace_callback(None)


def _ids(ws: Workspace) -> list[str]:
    return [row.id for row in ws.queue.page(limit=CASES)]


def test_a_filter_shows_its_first_page_at_once_and_the_rest_once_counted(
    qtbot: QtBot, qtmodeltester: ModelTester, many: Workspace, counts_on_gui: list[str]
) -> None:
    model = QueueModel(many)
    qtmodeltester.check(model)  # checks the rows inserted when the count arrives
    try:
        model.set_filter(QueueFilter(text="t-"))
        assert model.rowCount() == PAGE_SIZE and model.counting
        assert model.case_id_at(0) == _ids(many)[0]
        qtbot.waitUntil(lambda: not model.counting)
        assert model.rowCount() == CASES
        assert model.case_id_at(CASES - 1) == _ids(many)[-1]
        assert counts_on_gui == []
    finally:
        model.shutdown()


def test_the_count_of_an_older_filter_is_dropped(
    qtbot: QtBot, many: Workspace, counts_on_gui: list[str]
) -> None:
    model = QueueModel(many)
    try:
        some = QueueFilter(case_ids=tuple(_ids(many)[:300]))
        model.set_filter(QueueFilter(text="t-"))
        model.set_filter(some)  # before the first count can have arrived
        qtbot.waitUntil(lambda: not model.counting)
        qtbot.wait(100)  # the first filter's answer, if it was not skipped, comes and goes
        assert model.rowCount() == 300
        model.set_filter(QueueFilter(text="t-"))
        qtbot.waitUntil(lambda: not model.counting)
        assert model.rowCount() == CASES
        assert counts_on_gui == []
    finally:
        model.shutdown()


def test_a_filter_keeps_the_case_on_screen_at_its_row_found_by_the_worker(
    qtbot: QtBot, many: Workspace, counts_on_gui: list[str]
) -> None:
    window = open_window(qtbot, many)
    review = window.review
    target = _ids(many)[350]
    review.open_case_by_id(target)
    assert review.case is not None and review.case.id == target
    review.apply_filter(QueueFilter(text="t-"))
    qtbot.waitUntil(lambda: review.current_row() == 350)
    assert review.case.id == target
    assert "case 351 of 450" in window.status.text()
    assert counts_on_gui == []


def test_record_and_next_under_a_filter_at_the_end_of_a_page(
    qtbot: QtBot, many: Workspace, counts_on_gui: list[str]
) -> None:
    """The recorded case leaves the open queue; the next one (first of the next page) moves
    up into its row: exact, with no count."""
    window = open_window(qtbot, many)
    review = window.review
    ids = _ids(many)
    review.apply_filter(QueueFilter(status="open"))
    qtbot.waitUntil(lambda: not review.model.counting)
    review.go_to_row(PAGE_SIZE - 1)
    assert review.case is not None and review.case.id == ids[PAGE_SIZE - 1]
    review.leave_text_input()
    qtbot.keyClick(review.queue, Qt.Key.Key_1)
    qtbot.keyClick(review.queue, Qt.Key.Key_Return, CTRL)
    assert many.verdicts.mine(ids[PAGE_SIZE - 1]) is not None
    qtbot.waitUntil(lambda: review.case is not None and review.case.id == ids[PAGE_SIZE])
    assert review.current_row() == PAGE_SIZE - 1
    assert review.model.rowCount() == CASES - 1
    assert [review.model.case_id_at(r) for r in range(CASES - 1)] == [
        i for i in ids if i != ids[PAGE_SIZE - 1]
    ]
    assert f"case {PAGE_SIZE} of {CASES - 1}" in window.status.text()
    assert counts_on_gui == []
