"""The calibration screen's writes a room's votes contend with (the reveal, the ruling) run
on a thread of their own: while another connection holds the write lock the GUI thread keeps
serving events, and the result is shown when it lands. The vote grid redraws only the rows
whose state changed, and shows the same as a grid drawn afresh."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import CalibrationCaseState, Revealed, Vote
from qa_desktop.ui.calibration.vote_grid import VoteGrid

from .factory import make_workspace
from .recording import supporting_citation
from .test_calibration_screen import key, open_screen


def hold_write_lock(data_dir: Path) -> sqlite3.Connection:
    """Another connection (as the vote page's thread is) in the middle of a write."""
    other = sqlite3.connect(data_dir / "qa.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_the_reveal_waits_for_the_write_lock_off_the_gui_thread(
    qtbot: QtBot, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path, "Lead", cases=2, key=False)
    session = ws.calibration.create("room", cases=["t-0", "t-1"], participants=["Ana", "Bo"])
    ws.calibration.vote(session.id, "t-0", "Ana", "vh_remove")
    _window, screen = open_screen(qtbot, ws)
    key(qtbot, screen.grid, Qt.Key.Key_P)
    presenter = screen.presenter
    assert presenter is not None
    other = hold_write_lock(ws.data_dir)
    order: list[str] = []
    beats: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: beats.append(1))

    def release() -> None:
        order.append("released")  # only possible while the GUI thread serves events
        other.execute("COMMIT")

    try:
        heartbeat.start()
        QTimer.singleShot(150, release)
        assert screen.reveal(confirm=False)
        order.append("revealed")
    finally:
        heartbeat.stop()
        other.close()
    assert order == ["released", "revealed"] and beats
    assert screen.status.text() == "1 of 2 voted · revealed"
    assert presenter.state is not None and presenter.state.revealed is not None
    assert ws.calibration.case_state(session.id, "t-0").revealed is not None
    assert not screen.reveal(confirm=False)  # once
    screen.shutdown()


def test_the_ruling_lands_after_the_lock_and_a_refusal_keeps_the_draft(
    qtbot: QtBot, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path, "Lead", cases=1, key=False)
    session = ws.calibration.create("room", cases=["t-0"], participants=["Ana"])
    ws.calibration.vote(session.id, "t-0", "Ana", "vh_remove")
    _window, screen = open_screen(qtbot, ws)
    assert screen.reveal(confirm=False)
    screen.ruling.select_label(2)  # vh_remove: enforcing, needs a citation
    assert not screen.rule()  # refused in the writer's thread: shown, draft kept
    assert "citation-required" in screen.ruling.problem.text()
    assert screen.ruling.draft() is not None
    assert ws.calibration.case_state(session.id, "t-0").ruling is None
    section = supporting_citation(ws, "t-0", "vh_remove")[0].section_id
    key(qtbot, screen.grid, Qt.Key.Key_C)
    qtbot.keyClicks(screen.ruling.citation_field, section)
    key(qtbot, screen.ruling.citation_field, Qt.Key.Key_Return)
    other = hold_write_lock(ws.data_dir)
    released: list[bool] = []

    def release() -> None:
        released.append(True)
        other.execute("COMMIT")

    try:
        QTimer.singleShot(150, release)
        assert screen.rule()
    finally:
        other.close()
    assert released and screen.state is not None and screen.state.ruling is not None
    assert screen.state.ruling.label == "vh_remove"
    assert "ruled" in screen.status.text()
    screen.shutdown()


LABEL_IDS = ("no_violation", "vh_remove", "hs_remove")


def _state(voters: list[str], votes: dict[str, str] | None) -> CalibrationCaseState:
    revealed = None
    if votes is not None:
        revealed = Revealed(
            "2026-01-01T00:00:00Z",
            tuple((lab, sum(v == lab for v in votes.values())) for lab in LABEL_IDS),
            tuple(Vote(name, votes[name], ()) for name in voters if name in votes),
        )
    return CalibrationCaseState(
        session_id="s",
        case_id="t-0",
        position=0,
        voted=len(voters),
        participants=4,
        voters=tuple(voters),
        revealed=revealed,
        ruling=None,
        notes=(),
    )


def _cells(grid: VoteGrid) -> list[list[str]]:
    rows = []
    for row in range(grid.rowCount()):
        header = grid.verticalHeaderItem(row)
        cells = [header.text() if header else ""]
        for column in range(grid.columnCount()):
            item = grid.item(row, column)
            cells.append(item.text() if item else "")
        rows.append(cells)
    return rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sets(st.sampled_from(["Ana", "Bo", "Cy", "Di"])),
            st.booleans(),
            st.lists(st.sampled_from(LABEL_IDS), min_size=4, max_size=4),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_the_grid_redrawn_row_by_row_shows_what_a_fresh_grid_shows(
    qtbot: QtBot, tmp_path: Path, states: list[tuple[set[str], bool, list[str]]]
) -> None:
    ws = make_workspace(tmp_path / str(len(list(tmp_path.iterdir()))), "Lead", cases=1, key=False)
    try:
        session = ws.calibration.create("g", cases=["t-0"], participants=["Ana", "Bo", "Cy", "Di"])
        case = ws.queue.case("t-0")
        assert case is not None
        labels = [lab for lab in ws.guidelines.labels_for(case) if lab.id in LABEL_IDS]
    finally:
        ws.close()
    grid, fresh = VoteGrid(), VoteGrid()
    qtbot.addWidget(grid)
    qtbot.addWidget(fresh)
    grid.set_session(session.participants, labels)
    for voted, revealed, chosen in states:
        voters = [p.name for p in session.participants if p.name in voted]
        votes = dict(zip(["Ana", "Bo", "Cy", "Di"], chosen, strict=True)) if revealed else None
        shown = None if votes is None else {k: v for k, v in votes.items() if k in voted}
        state = _state(voters, shown)
        grid.show_state(state)
        fresh.set_session(session.participants, labels)
        fresh.show_state(state)
        assert _cells(grid) == _cells(fresh)
