"""Starting and stopping the vote page from the GUI.

``open_vote_page(window)`` (the Review menu's action) asks which live session, then where to
listen; ``start_vote_page(window, session_id)`` is what a calibration screen calls directly
(and ``host.set_current(case_id)`` when it moves on). The page is served from its own
thread (:class:`VotePageHost`).
While the page runs a small window shows the join card and "n of m voted"; closing it (or
its Stop button, or quitting the app) stops the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtNetwork import QHostAddress, QNetworkInterface
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core.api import QADesktopError
from .addresses import LOOPBACK, default_address
from .host import VotePageHost
from .join_card import JoinCard
from .server import VotePageError

if TYPE_CHECKING:
    from ..main_window import MainWindow

DEFAULT_PORT = 8765
"""The page's port unless the SME picks another (the WebSocket takes the next one)."""


class AddressDialog(QDialog):
    """Where the page listens: an address of this machine and a port."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open the vote page")
        self.address = QComboBox()
        self.address.setEditable(True)
        choices = [default_address(), LOOPBACK]
        for found in QNetworkInterface.allAddresses():
            if found.isPrivateUse() and not found.scopeId():
                choices.append(found.toString())
        for choice in dict.fromkeys(choices):
            self.address.addItem(choice)
        self.port = QSpinBox()
        self.port.setRange(1024, 65534)
        self.port.setValue(DEFAULT_PORT)
        note = QLabel(
            "Participants on this network open the page shown on the join card. Use"
            f" {LOOPBACK} to try it on this machine only. The page uses this port and the"
            " next one."
        )
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Address", self.address)
        form.addRow("Port", self.port)
        form.addRow(note)
        form.addRow(buttons)

    def choice(self) -> tuple[str, int]:
        """The address and port chosen."""
        return self.address.currentText().strip(), self.port.value()


class VotePageWindow(QWidget):
    """The running page: the join card, the vote count, a Stop button."""

    def __init__(self, server: VotePageHost, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.server = server
        self.setWindowTitle(f"Vote page — {server.session_name}")
        self.card = JoinCard(server.url, server.code)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.stop_button = QPushButton("Stop the vote page")
        self.stop_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.card, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.stop_button)
        server.changed.connect(self._show)
        server.stopped.connect(self.close)
        self._show(server.info["state"])
        self.resize(820, 440)

    def _show(self, page: dict[str, Any]) -> None:
        text = f"Case {page['case_id']}: {page['voted']} of {page['participants']} voted"
        if page["distribution"] is not None:
            counts = ", ".join(
                f"{d['label']} {d['votes']}" for d in page["distribution"] if d["votes"]
            )
            text += f"; revealed: {counts or 'no votes'}"
        if page["ruling"] is not None:
            text += f"; ruled {page['ruling']['label']}"
        self.status.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.server.stop()
        super().closeEvent(event)


def start_vote_page(
    window: QWidget,
    session_id: str,
    address: str | None = None,
    port: int | None = None,
) -> VotePageHost | None:
    """Serve the session's vote page (asking where, when ``address`` is None) and show its
    join card; None when cancelled or refused (the reason is shown)."""
    if address is None:
        dialog = AddressDialog(window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        address, port = dialog.choice()
    if QHostAddress(address).isNull():
        QMessageBox.warning(window, "Vote page", f"{address!r} is not an IP address.")
        return None
    ws = window.ws  # type: ignore[attr-defined]
    try:
        server = VotePageHost(ws, session_id, address, port or 0, parent=window)
        server.start()
    except (QADesktopError, VotePageError) as error:
        QMessageBox.warning(window, "Vote page", str(error))
        return None
    shown = VotePageWindow(server, window)
    shown.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    shown.show()
    window.vote_page = shown  # type: ignore[attr-defined]
    return server


def open_vote_page(window: MainWindow) -> VotePageHost | None:
    """Ask for a live session (from ``ws.calibration.sessions()``), then start its page."""
    live = [s for s in window.ws.calibration.sessions() if s.mode == "live"]
    if not live:
        QMessageBox.information(
            window,
            "Vote page",
            "There is no live calibration session yet: create one first"
            " (qa-desktop calibration create … --mode live).",
        )
        return None
    names = [s.name for s in reversed(live)]  # newest first
    name, ok = QInputDialog.getItem(
        window, "Open the vote page", "Live calibration session:", names, 0, False
    )
    if not ok:
        return None
    session = next(s for s in live if s.name == name)
    return start_vote_page(window, session.id)
