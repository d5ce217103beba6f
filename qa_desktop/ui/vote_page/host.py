"""Runs the vote page server on a thread of its own, so a room voting at once never
stalls the GUI: the thread opens its own connection to the workspace (SQLite lets several
connections, and processes, share one data directory) and serves from its own event loop.

The GUI holds a :class:`VotePageHost`: ``start()`` and ``stop()`` wait for the thread (a
few milliseconds: binding sockets, reading the session), ``set_current`` does not, and
``changed`` arrives on the GUI thread with the public state after a change: the first at
once, then at most one every 50 ms, the newest (:class:`~.coalesce.Latest`), so a room
voting at once refreshes the screens a few times, not once per burst the page serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, Signal, Slot

from ...core.workspace import Workspace
from .addresses import url_host
from .coalesce import Latest
from .server import VotePageError, VotePageServer


class _Worker(QObject):
    """Lives on the page's thread: owns its workspace connection and the server."""

    changed = Signal(dict)
    stopped = Signal()

    def __init__(self, data_dir: Path, session: str, address: str, port: int) -> None:
        super().__init__()
        self._args = (data_dir, session, address, port)
        self.ws: Workspace | None = None
        self.server: VotePageServer | None = None
        self.error: Exception | None = None
        self.info: dict[str, Any] = {}

    @Slot()
    def start(self) -> None:
        data_dir, session, address, port = self._args
        try:
            self.ws = Workspace.open(data_dir)
            self.server = VotePageServer(self.ws, session, address, port, parent=self)
            self.server.changed.connect(self.changed)
            self.server.start()
        except Exception as error:  # handed to the GUI thread, raised there
            self.error = error
            self._close()
            return
        self.info = {
            "port": self.server.port,
            "ws_port": self.server.ws_port,
            "code": self.server.code,
            "session_name": self.server.desk.session.name,
            "state": self.server.desk.public_state(),
        }

    @Slot(str)
    def set_current(self, case_id: str) -> None:
        if self.server is not None and self.server.running:
            try:
                self.server.set_current(case_id)
            except Exception as error:  # a case not in the session: keep serving
                self.error = error

    @Slot()
    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self._close()
        self.stopped.emit()

    def _close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None


class VotePageHost(QObject):
    """The vote page of one live session, served from its own thread (see the module)."""

    changed = Signal(dict)
    """The page's public state (counts only before the reveal), on the GUI thread; at most
    one every 50 ms, the newest (see the module)."""
    stopped = Signal()

    _start = Signal()
    _stop = Signal()
    _current = Signal(str)

    def __init__(
        self,
        ws: Workspace,
        session: str,
        address: str,
        port: int = 0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.address = address
        self._thread = QThread()
        self._thread.setObjectName("vote-page")
        self._worker = _Worker(ws.data_dir, session, address, port)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        blocking = Qt.ConnectionType.BlockingQueuedConnection
        self._start.connect(self._worker.start, blocking)
        self._stop.connect(self._worker.stop, blocking)
        self._current.connect(self._worker.set_current)
        self._latest = Latest(parent=self)
        self._worker.changed.connect(self._latest.put)  # queued: arrives on this thread
        self._latest.delivered.connect(self.changed)
        self.running = False
        self.info: dict[str, Any] = {}
        if parent is not None:  # the window that owns the page closes: the page stops
            parent.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and watched is self.parent():
            self.stop()
        return False

    def start(self) -> None:
        """Serve; raises what the thread could not do (:class:`VotePageError`, a refusal)."""
        if self.running:
            return
        self._thread.start()
        self._start.emit()  # waits for the thread
        if self._worker.error is not None:
            error, self._worker.error = self._worker.error, None
            self._thread.quit()
            self._thread.wait()
            raise error
        self.info = dict(self._worker.info)
        self.running = True

    def stop(self) -> None:
        """Stop serving and end the thread (waits for it)."""
        if not self.running:
            return
        self.running = False
        self._stop.emit()
        self._thread.quit()
        self._thread.wait()
        QCoreApplication.sendPostedEvents(self._latest)  # states still queued to us
        self._latest.flush()
        self.stopped.emit()

    def set_current(self, case_id: str) -> None:
        """Follow the shared screen to ``case_id`` (does not wait)."""
        self._current.emit(case_id)

    @property
    def port(self) -> int:
        """The page's port (0 when not running)."""
        return int(self.info.get("port", 0)) if self.running else 0

    @property
    def ws_port(self) -> int:
        """The WebSocket's port."""
        return int(self.info.get("ws_port", 0)) if self.running else 0

    @property
    def code(self) -> str:
        """The session code as the room sees it."""
        return str(self.info.get("code", ""))

    @property
    def session_name(self) -> str:
        """The session's name."""
        return str(self.info.get("session_name", ""))

    @property
    def origin(self) -> str:
        """``http://host:port``."""
        return f"http://{url_host(self.address)}:{self.port}"

    @property
    def url(self) -> str:
        """The page's address."""
        return self.origin + "/"


__all__ = ["VotePageError", "VotePageHost"]
