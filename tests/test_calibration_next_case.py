"""Moving through a calibration session reads each case on the screen's reader thread (issue
15): the GUI thread's connection runs no statement while PgDn/PgUp move, and each case shows
its own id, its counts, its votes after the reveal, its notes and the drafts left on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace

from .factory import make_workspace
from .test_calibration_screen import ALT, key, open_screen

CASES = ["t-0", "t-1", "t-2", "t-3"]


@pytest.fixture
def session_ws(tmp_path: Path) -> Iterator[Workspace]:
    """Four text cases in a live session of Ana and Bo: t-1 has one vote, t-2 is revealed
    with two votes and a note, t-3 has none."""
    ws = make_workspace(tmp_path, "Lead", cases=4, key=False)
    session = ws.calibration.create("room", cases=CASES, participants=["Ana", "Bo"])
    ws.calibration.vote(session.id, "t-1", "Ana", "vh_remove")
    ws.calibration.vote(session.id, "t-2", "Ana", "no_violation")
    ws.calibration.vote(session.id, "t-2", "Bo", "vh_remove")
    ws.calibration.reveal(session.id, "t-2")
    ws.calibration.note(session.id, "t-2", "Split on the weapon")
    yield ws
    ws.close()


@contextmanager
def gui_statements(ws: Workspace) -> Iterator[list[str]]:
    """Every statement the GUI thread's connection runs inside the block."""
    seen: list[str] = []
    conn = ws.database_for_tests().conn
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


def test_page_keys_read_each_case_off_the_gui_thread_and_show_its_own_state(
    qtbot: QtBot, session_ws: Workspace
) -> None:
    _window, screen = open_screen(qtbot, session_ws)
    assert screen.state is not None and screen.state.case_id == "t-0"
    expected = {
        "t-0": ("0 of 2 voted", 0, False),
        "t-1": ("1 of 2 voted", 0, False),
        "t-2": ("2 of 2 voted · revealed", 1, True),
        "t-3": ("0 of 2 voted", 0, False),
    }
    with gui_statements(session_ws) as statements:
        for position, case_id in [(1, "t-1"), (2, "t-2"), (3, "t-3"), (2, "t-2"), (1, "t-1")]:
            forward = screen.position < position
            key(qtbot, screen.grid, Qt.Key.Key_PageDown if forward else Qt.Key.Key_PageUp)
            status, notes, revealed = expected[case_id]
            assert screen.position == position
            assert screen.case is not None and screen.case.id == case_id
            assert screen.state is not None and screen.state.case_id == case_id
            assert screen.header.text().endswith(f"case {position + 1} of 4: {case_id} · DE · text")
            assert screen.status.text() == status
            assert screen.notes_list.count() == notes
            assert screen.revealed_box.isVisibleTo(screen) is revealed
            if revealed:
                voted = {screen.votes_table.item(r, 1).text() for r in range(2)}
                assert voted == {"no_violation", "vh_remove"}
                assert screen.notes_list.item(0).text().endswith("Lead: Split on the weapon")
    assert statements == [], "the next case was read on the GUI thread"
    # A vote by keys lands on the case on screen, and the ruling draft stays with its case.
    key(qtbot, screen.grid, Qt.Key.Key_PageDown)  # t-2, revealed
    key(qtbot, screen.grid, Qt.Key.Key_2, ALT)
    key(qtbot, screen.grid, Qt.Key.Key_PageDown)  # t-3
    key(qtbot, screen.grid, Qt.Key.Key_1)
    key(qtbot, screen.grid, Qt.Key.Key_Return)
    assert screen.session is not None
    state = session_ws.calibration.case_state(screen.session.id, "t-3")
    assert state.voters == ("Ana",) and screen.status.text() == "1 of 2 voted"
    key(qtbot, screen.grid, Qt.Key.Key_PageUp)
    label = screen.ruling.selected_label()
    assert screen.case is not None and screen.case.id == "t-2"
    assert label is not None and label.id == "vh_remove"
    screen.shutdown()
