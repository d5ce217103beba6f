"""The vote page in the GUI: the join card (its QR code read back by OpenCV), opening the
page from the Review menu, the address it picks, and a load test of a room of 50."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtNetwork import QHostAddress
from PySide6.QtWidgets import QApplication, QInputDialog, QWidget
from pytestqt.qtbot import QtBot

from qa_desktop.core.workspace import Workspace
from qa_desktop.ui.vote_page.addresses import LOOPBACK, choose_address, url_host
from qa_desktop.ui.vote_page.host import VotePageHost
from qa_desktop.ui.vote_page.join_card import JoinCard, qr_matrix
from qa_desktop.ui.vote_page.launcher import AddressDialog, VotePageWindow, start_vote_page

from .factory import make_workspace
from .vote_clients import Client, in_thread
from .vote_load_client import LABELS
from .vote_room import Heartbeat, Room, participant_votes
from .windows import answer_dialog, open_window


@pytest.fixture
def lead(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path, "Lead", key=False)
    yield ws
    ws.close()


def to_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), np.uint8).reshape(height, stride)
    return data[:, : width * 3].reshape(height, width, 3).copy()


def test_the_join_card_shows_address_code_and_a_readable_qr(qtbot: QtBot) -> None:
    url = "http://192.168.1.20:8765/"
    card = JoinCard(url, "K7Q-M2X")
    qtbot.addWidget(card)
    card.resize(820, 400)
    card.show()
    qtbot.waitExposed(card)
    assert card.address.text() == url and card.code.text() == "K7Q-M2X"
    pixels = to_array(card.qr.grab().toImage())
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(pixels)
    assert decoded == url
    matrix = qr_matrix(url)
    assert len(matrix) == len(matrix[0]) and matrix[4][4] and not matrix[0][0]


def test_the_qr_code_is_painted_whole_modules_black_on_white(qtbot: QtBot) -> None:
    """Drawn as one scaled image of its modules: every pixel of every module is the module's
    colour (no smoothing at the edges), centred, white round it."""
    url = "http://192.168.1.20:8765/"
    card = JoinCard(url, "K7Q-M2X")
    qtbot.addWidget(card)
    card.resize(820, 400)
    card.show()
    qtbot.waitExposed(card)
    pixels = to_array(card.qr.grab().toImage()).min(axis=2)
    matrix = np.array(qr_matrix(url))
    count = len(matrix)
    height, width = pixels.shape
    module = min(height, width) // count
    top, left = (height - module * count) // 2, (width - module * count) // 2
    symbol = pixels[top : top + module * count, left : left + module * count]
    want = np.repeat(np.repeat(np.where(matrix, 0, 255), module, 0), module, 1)
    assert module >= 1 and (symbol == want).all()
    assert set(np.unique(pixels)) <= {0, 255} and (pixels.sum() // 255) == (
        pixels.size - int(matrix.sum()) * module * module
    )


def test_text_on_the_card_is_never_markup(qtbot: QtBot) -> None:
    card = JoinCard("http://10.0.0.2:8765/", "<b>X</b>")
    qtbot.addWidget(card)
    assert card.code.text() == "<b>X</b>" and card.code.textFormat().name == "PlainText"


def test_the_default_address_is_a_private_lan_one_else_loopback() -> None:
    pick = [QHostAddress(a) for a in ("127.0.0.1", "203.0.113.9", "fd00::2", "192.168.4.7")]
    assert choose_address(pick) == "192.168.4.7"
    assert choose_address([QHostAddress("fd00::2"), QHostAddress("10.1.2.3")]) == "10.1.2.3"
    assert choose_address([QHostAddress("fd00::2")]) == "fd00::2"
    assert choose_address([QHostAddress("203.0.113.9"), QHostAddress("::1")]) == LOOPBACK
    assert url_host("fd00::2") == "[fd00::2]"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    # the page takes this port and the next; make sure the next is free too
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port + 1))
    return port


def test_opening_the_page_from_the_review_menu(qtbot: QtBot, lead: Workspace) -> None:
    lead.calibration.create("old", cases=["t-0"], participants=["Ana"], mode="async")
    lead.calibration.create("room", cases=["t-0", "t-1"], participants=["Ana", "Bo", "Cy"])
    window = open_window(qtbot, lead)
    port = free_port()

    def pick_session(dialog: QWidget) -> None:
        assert isinstance(dialog, QInputDialog)
        assert dialog.comboBoxItems() == ["room"]  # live sessions only
        dialog.setTextValue("room")
        dialog.accept()

    def pick_address(dialog: QWidget) -> None:
        assert isinstance(dialog, AddressDialog)
        dialog.address.setEditText(LOOPBACK)
        dialog.port.setValue(port)
        dialog.accept()

    with answer_dialog(qtbot, pick_session, pick_address, kind=QDialog_kind()):
        window.trigger("open_vote_page")
    shown = window.findChild(VotePageWindow)
    assert shown is not None and shown.isVisible()
    server = shown.server
    assert server.running and (server.port, server.ws_port) == (port, port + 1)
    assert shown.card.address.text() == f"http://127.0.0.1:{port}/"
    assert shown.card.code.text() == server.code
    assert shown.status.text() == "Case t-0: 0 of 3 voted"
    client = Client(server)
    assert in_thread(qtbot, lambda: client.join("Bo")).status == 200
    assert in_thread(qtbot, lambda: client.vote("t-0", "vh_remove")).status == 200
    qtbot.waitUntil(lambda: shown.status.text() == "Case t-0: 1 of 3 voted")
    shown.stop_button.click()
    assert not server.running


def QDialog_kind() -> type[QWidget]:
    from PySide6.QtWidgets import QDialog

    return QDialog


@pytest.mark.slow
def test_a_room_of_50_votes_on_20_cases_without_losing_a_vote_or_stalling_the_gui(
    qtbot: QtBot, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """50 participants (another process, each from its own address 127.0.0.x) vote at once
    on each of 20 cases; a heartbeat timer on the GUI thread measures its longest stall
    (reported, not asserted: no timed assertions)."""
    ws = make_workspace(tmp_path, "Lead", cases=20, key=False)
    people = [f"P{i:02d}" for i in range(50)]
    cases = [f"t-{i}" for i in range(20)]
    ws.calibration.create("load", cases=cases, participants=people)
    server = VotePageHost(ws, "load", "127.0.0.1", 0)
    server.start()
    seen: list[dict[str, object]] = [{"case_id": "t-0"}]
    server.changed.connect(seen.append)
    room = Room(qtbot, server.port, server.code, 50)
    heartbeat = Heartbeat()
    reveal_ms: list[float] = []
    try:
        heartbeat.start()  # gaps count from here, joins too
        assert set(room.command("join")) == {200}
        started = time.perf_counter()
        for n, case in enumerate(cases):
            server.set_current(case)
            qtbot.waitUntil(lambda case=case: seen[-1]["case_id"] == case)
            assert set(room.command(f"vote {case} {n}")) == {200}
            t0 = time.perf_counter()
            state = ws.calibration.reveal("load", case)
            reveal_ms.append((time.perf_counter() - t0) * 1000)
            assert state.voted == 50 and state.revealed is not None
            expected = {lab: sum(1 for i in range(50) if (i + n) % 3 == k)
                        for k, lab in enumerate(LABELS)}  # fmt: skip
            assert {k: v for k, v in state.revealed.distribution if v} == expected
        elapsed = time.perf_counter() - started
        heartbeat.stop()
        assert participant_votes(ws) == 1000  # no vote lost, none doubled
    finally:
        heartbeat.stop()
        room.close()
        server.stop()
        ws.close()
    record_property("gui_longest_stall_ms", round(heartbeat.longest_ms, 1))
    record_property("load_seconds", round(elapsed, 2))
    print(f"\n1000 votes from 50 addresses on 20 cases in {elapsed:.2f} s ({1000 / elapsed:.0f}"
          f" votes/s); {heartbeat.summary()}; the test's own reveals on the GUI"
          f" thread took up to {max(reveal_ms):.0f} ms")  # fmt: skip


def test_closing_the_window_or_quitting_stops_the_page(qtbot: QtBot, lead: Workspace) -> None:
    session = lead.calibration.create("room", cases=["t-0"], participants=["Ana"])
    window = open_window(qtbot, lead)
    host = start_vote_page(window, session.id, LOOPBACK, 0)
    assert host is not None and host.running
    port = host.port
    window.close()
    assert not host.running

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except OSError:
            return True
        return False

    assert in_thread(qtbot, refused)
    again = VotePageHost(lead, session.id, LOOPBACK, 0)
    again.start()
    with qtbot.waitSignal(again.stopped):
        QApplication.instance().aboutToQuit.emit()  # type: ignore[union-attr]
    assert not again.running
