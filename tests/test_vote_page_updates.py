"""How the vote page's updates reach the GUI thread: a burst of states becomes the first and
the newest (never one refresh per vote the page serves), the counts stay right, and a room of
50 voting through the calibration screen and its presenter loses no vote."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from pytestqt.qtbot import QtBot

from qa_desktop.core.api import VerdictDraft
from qa_desktop.ui.vote_page.coalesce import Latest
from qa_desktop.ui.vote_page.host import VotePageHost

from .factory import make_workspace
from .recording import supporting_citation
from .test_calibration_screen import key, open_screen, open_vote_page_on_loopback, reactivate
from .vote_clients import Client
from .vote_room import Heartbeat, Room, participant_votes


def test_a_burst_of_states_is_delivered_as_the_first_and_the_newest(qtbot: QtBot) -> None:
    latest = Latest()
    got: list[dict[str, Any]] = []
    latest.delivered.connect(got.append)
    for n in range(100):
        latest.put({"voted": n})
    assert got == [{"voted": 0}] and latest.holding  # the first at once, the rest held
    qtbot.waitUntil(lambda: not latest.holding)
    assert got == [{"voted": 0}, {"voted": 99}]  # then only the newest
    latest.put({"voted": 100})  # a window with nothing held ends it: the next one waits
    latest.flush()
    assert got[-1] == {"voted": 100} and not latest.holding


def test_votes_that_arrive_while_the_gui_is_busy_refresh_it_once_with_the_right_count(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Ten votes served one after another (one push each from the page's thread) while the
    GUI thread handles no events: when it does, it hears at most twice, the last with all
    ten counted."""
    ws = make_workspace(tmp_path, "Lead", cases=1, key=False)
    people = [f"P{i}" for i in range(10)]
    ws.calibration.create("room", cases=["t-0"], participants=people)
    host = VotePageHost(ws, "room", "127.0.0.1", 0)
    host.start()
    heard: list[dict[str, Any]] = []
    host.changed.connect(heard.append)
    clients = [Client(host, f"127.0.0.{i + 2}") for i in range(len(people))]
    statuses: list[int] = []

    def room() -> None:
        for client, name in zip(clients, people, strict=True):
            statuses.append(client.join(name).status)
            statuses.append(client.vote("t-0", "vh_remove").status)
            time.sleep(0.02)  # let the page's thread push after each vote

    try:
        voting = threading.Thread(target=room)
        voting.start()
        voting.join(60)  # the GUI thread is busy: nothing delivered to it meanwhile
        assert not voting.is_alive() and set(statuses) == {200}
        assert heard == []
        qtbot.waitUntil(lambda: bool(heard) and heard[-1]["voted"] == 10)
        QCoreApplication.processEvents()
        qtbot.waitUntil(lambda: not host._latest.holding)
        assert len(heard) <= 2
        assert heard[-1]["voted"] == 10 and heard[-1]["participants"] == 10
    finally:
        host.stop()
        ws.close()


def test_the_presenter_marks_rulings_read_once_then_kept_from_the_states_it_shows(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The ruled cells of the presenter's strip: read once a case, kept by the ruling given on
    the case on screen."""
    ws = make_workspace(tmp_path, "Lead", cases=3, key=False)
    session = ws.calibration.create("room", cases=["t-0", "t-1", "t-2"], participants=["Ana"])
    ws.calibration.vote(session.id, "t-1", "Ana", "vh_remove")
    ws.calibration.reveal(session.id, "t-1")
    cited = supporting_citation(ws, "t-1", "vh_remove")
    ws.calibration.rule(session.id, "t-1", VerdictDraft("vh_remove", cited))
    window, screen = open_screen(qtbot, ws)
    key(qtbot, screen.grid, Qt.Key.Key_P)
    presenter = screen.presenter
    assert presenter is not None
    assert presenter.progress.ruled == frozenset({1})
    reactivate(qtbot, window)
    key(qtbot, screen.grid, Qt.Key.Key_PageDown)
    key(qtbot, screen.grid, Qt.Key.Key_PageDown)
    ws.calibration.vote(session.id, "t-2", "Ana", "no_violation")
    ws.calibration.reveal(session.id, "t-2")
    cited = supporting_citation(ws, "t-2", "no_violation")
    ws.calibration.rule(session.id, "t-2", VerdictDraft("no_violation", cited))
    presenter.refresh()
    assert presenter.progress.ruled == frozenset({1, 2})
    presenter.hide()  # hidden, it hears of nothing: shown again, it reads the rulings again
    ws.calibration.vote(session.id, "t-0", "Ana", "no_violation")
    ws.calibration.reveal(session.id, "t-0")
    ws.calibration.rule(session.id, "t-0", VerdictDraft("no_violation", cited))
    key(qtbot, screen.grid, Qt.Key.Key_P)
    assert presenter.progress.ruled == frozenset({0, 1, 2})
    screen.shutdown()


@pytest.mark.slow
def test_a_room_of_50_through_the_calibration_screen_and_presenter(
    qtbot: QtBot, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """The app's own path for page votes: the screen and the presenter refresh from them.
    50 participants (another process) vote on each of 20 cases; the laptop and the presenter
    show 50 of 50 before each reveal, no vote is lost; the GUI thread's longest gap between
    5 ms heartbeats is printed (not asserted: no timed assertions)."""
    ws = make_workspace(tmp_path, "Lead", cases=20, key=False)
    people = [f"P{i:02d}" for i in range(50)]
    cases = [f"t-{i}" for i in range(20)]
    ws.calibration.create("load", cases=cases, participants=people)
    window, screen = open_screen(qtbot, ws)
    key(qtbot, screen.grid, Qt.Key.Key_P)
    presenter = screen.presenter
    assert presenter is not None
    reactivate(qtbot, window)
    port = open_vote_page_on_loopback(qtbot, window, screen)
    host = screen.vote_page
    assert host is not None and host.running
    seen: list[dict[str, Any]] = [{"case_id": "t-0"}]
    host.changed.connect(seen.append)
    room = Room(qtbot, port, host.code, 50)
    heartbeat = Heartbeat()
    try:
        heartbeat.start()
        assert set(room.command("join")) == {200}
        for n, case in enumerate(cases):
            assert screen.state is not None and screen.state.case_id == case
            qtbot.waitUntil(lambda case=case: seen[-1]["case_id"] == case)
            assert set(room.command(f"vote {case} {n}")) == {200}
            qtbot.waitUntil(lambda: screen.status.text() == "50 of 50 voted")
            assert presenter.voted_label.text() == "50 of 50 voted"
            assert screen.reveal(confirm=False)
            assert presenter.state is not None and presenter.state.revealed is not None
            shown = {k: v for k, v in presenter.state.revealed.distribution if v}
            assert sum(shown.values()) == 50
            key(qtbot, screen.grid, Qt.Key.Key_PageDown)
        heartbeat.stop()
        assert participant_votes(ws) == 1000
    finally:
        heartbeat.stop()
        room.close()
        screen.shutdown()
    record_property("gui_longest_stall_ms", round(heartbeat.longest_ms, 1))
    print(f"\nthe screen and presenter under a room of 50 on 20 cases: {heartbeat.summary()}")
